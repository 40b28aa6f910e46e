//! Command-line interface: `runner [run] PIPELINE`, `runner config PIPELINE`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::dag::executor::describe_plan;
use crate::dag::{build_plan, execute, RunOptions, Store};
use crate::pipeline::load::{load_pipeline, LoadedPipeline};

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: a node failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: bad input (pipeline file, data files, command line).
pub const EXIT_INPUT: i32 = 2;
/// Exit code: interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Declarative pipelines for spectral-loss VAE experiments.
///
/// `runner PIPELINE.yaml` plans the pipeline as a DAG (dataset -> train -> eval ->
/// report), runs only what is not already in the cache, and writes
/// results/<pipeline>/summary.csv.
#[derive(Debug, Parser)]
#[command(name = "runner", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Dataset cache folder.
    #[arg(
        long,
        global = true,
        env = "RUNNER_CACHE_DIR",
        default_value = ".runner/cache"
    )]
    cache_dir: PathBuf,
    /// Results folder.
    #[arg(
        long,
        global = true,
        env = "RUNNER_RESULTS_DIR",
        default_value = "results"
    )]
    results_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a pipeline (the default: `runner PIPELINE` means `runner run PIPELINE`).
    Run(RunArgs),
    /// Print every resolved cell of a pipeline with its keys.
    Config(ConfigArgs),
}

/// The pipeline file and its overrides.
#[derive(Debug, Args)]
struct PipelineArgs {
    /// Pipeline YAML file.
    pipeline: PathBuf,
    /// Override a key: `-o train.epochs=5`; `-o model.upsampler=convt,n15` sweeps.
    #[arg(short = 'o', long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// List every node as fresh / stale / missing with the reason; run nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Re-run every node even if fresh.
    #[arg(short, long)]
    force: bool,
    /// Nodes to run at once.
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// No progress bars (plain lines only).
    #[arg(long)]
    no_progress: bool,
}

#[derive(Debug, Args)]
struct ConfigArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// `runner FILE ...` is `runner run FILE ...`.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let known = ["run", "config", "help", "-h", "--help", "-V", "--version"];
    if let Some(first) = args.get(1).and_then(|a| a.to_str()) {
        if !known.contains(&first) && !first.starts_with('-') {
            args.insert(1, OsString::from("run"));
        }
    }
    args
}

/// Loads the pipeline or prints its error; `Err` carries the exit code.
fn load(args: &PipelineArgs) -> Result<LoadedPipeline, i32> {
    load_pipeline(&args.pipeline, &args.overrides).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INPUT
    })
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let args = with_default_subcommand(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_INPUT } else { EXIT_OK };
        }
    };
    let store = Store::new(&cli.cache_dir, &cli.results_dir);
    match cli.command {
        Command::Config(args) => config(&args, &store),
        Command::Run(args) => run(&args, &store),
    }
}

/// `runner config`: every resolved cell with its keys.
fn config(args: &ConfigArgs, store: &Store) -> i32 {
    let loaded = match load(&args.pipeline) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let plan = build_plan(loaded, store);
    let total = plan.pipeline.cells.len();
    let mut out = String::new();
    for (i, cell) in plan.pipeline.cells.iter().enumerate() {
        let nodes = plan.cell_nodes[i];
        let _ = writeln!(
            out,
            "# cell {}/{total}: {}",
            i + 1,
            crate::dag::plan::label_string(cell)
        );
        let _ = writeln!(
            out,
            "# keys: dataset {}  train {}  eval {}",
            plan.nodes[nodes.dataset].key.short(),
            plan.nodes[nodes.train].key.short(),
            plan.nodes[nodes.eval].key.short()
        );
        match serde_saphyr::to_string(&cell.config) {
            Ok(yaml) => out.push_str(&yaml),
            Err(e) => {
                eprintln!("error: cannot print cell {}: {e}", i + 1);
                return EXIT_FAILED;
            }
        }
        out.push_str("---\n");
    }
    print!("{out}");
    EXIT_OK
}

/// Shell-quotes one argument for the re-run command.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `runner run`.
fn run(args: &RunArgs, store: &Store) -> i32 {
    let loaded = match load(&args.pipeline) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let plan = build_plan(loaded, store);
    if args.dry_run {
        print!("{}", describe_plan(&plan, args.force));
        return EXIT_OK;
    }
    if let Err(message) = crate::dag::executor::check_inputs(&plan, args.force) {
        eprintln!("error: {message}");
        return EXIT_INPUT;
    }
    crate::interrupt::install();
    // Overrides that sweep are replaced by each cell's own values in re-run commands.
    let swept: Vec<&String> = plan.pipeline.swept_keys.iter().collect();
    let mut rerun = format!(
        "runner run {}",
        shell_word(&args.pipeline.pipeline.display().to_string())
    );
    for o in &args.pipeline.overrides {
        let key = o.split('=').next().unwrap_or("");
        if !swept.iter().any(|k| k.as_str() == key) {
            let _ = write!(rerun, " -o {}", shell_word(o));
        }
    }
    let opts = RunOptions {
        force: args.force,
        jobs: args.jobs as usize,
        progress: !args.no_progress,
        rerun_command: rerun,
    };
    let to_run = plan.to_run(args.force).iter().filter(|r| **r).count();
    if to_run == 0 {
        eprintln!(
            "all {} nodes of {} are fresh; nothing to run",
            plan.nodes.len(),
            plan.pipeline.name
        );
    }
    let summary = execute(&plan, store, &opts);
    let table = store.pipeline_dir(&plan.pipeline.name).join("summary.csv");
    if let Some(err) = &summary.input_error {
        eprintln!("error: {err}");
        return EXIT_INPUT;
    }
    if summary.interrupted {
        eprintln!(
            "interrupted: {} nodes finished; re-run the same command to continue",
            summary.ran
        );
        return EXIT_INTERRUPTED;
    }
    eprintln!(
        "{}: {} ran, {} fresh, {} failed, {} skipped",
        plan.pipeline.name,
        summary.ran,
        summary.fresh,
        summary.failed.len(),
        summary.skipped
    );
    if table.exists() {
        eprintln!("results table: {}", table.display());
    }
    if summary.failed.is_empty() {
        return EXIT_OK;
    }
    eprintln!("failures:");
    for (what, err, cmd) in &summary.failed {
        eprintln!("  {what}: {err}\n    re-run: {cmd}");
    }
    EXIT_FAILED
}
