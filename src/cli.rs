//! Command-line interface: `runner [run] PIPELINE`, `runner config PIPELINE`, and
//! the commands on finished results: `diff`, `ls`, `show`, `gc` (their logic is
//! in [`crate::inspect`]).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::dag::executor::describe_plan;
use crate::dag::{build_plan, execute, NodeKind, RunOptions, Store};
use crate::inspect::diff::{diff_tables, DiffOptions};
use crate::inspect::diff_format::{render, DiffFormat};
use crate::inspect::gc::{apply, plan_gc, render_plan};
use crate::inspect::listing::{list, target_dirs, LsOptions};
use crate::inspect::show::show;
use crate::inspect::source::resolve_table;
use crate::inspect::table::Table;
use crate::pipeline::load::{load_pipeline_checked, CellCheck, LoadedPipeline};
use crate::pipeline::schema::{ConfigIssue, DeviceChoice, ResolvedPipeline};
use crate::train::device;

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
/// results/<pipeline>/summary.csv. `runner ls`, `show`, `diff` and `gc` inspect,
/// compare and clean up those results.
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
    /// Compare two result tables row by row, with a tolerance.
    ///
    /// A and B are each: a CSV file (results/<p>/summary.csv, or an eval's
    /// summary.csv / metrics.csv); a pipeline results folder (results/<p>); a run
    /// folder (results/<p>/runs/<T>: its eval's summary) or an eval folder; a
    /// pipeline YAML file (its results/<name>/summary.csv under --results-dir); or a
    /// train/eval key prefix. Rows are matched on the swept-parameter columns of a
    /// pipeline summary (`metric` for an eval summary, `image` for metrics.csv, the
    /// first column otherwise) or on --key. Values match when
    /// |a - b| <= atol + rtol * |b| (numpy.isclose; NaN equals NaN).
    ///
    /// Exit status: 0 when the tables match; 1 when a value differs beyond the
    /// tolerance, a status changed (done vs failed) or a row is only on one side;
    /// 2 on bad input. Changed node keys are shown but do not count as differences.
    Diff(DiffArgs),
    /// List the cells of each pipeline's results: state, swept params, keys, metric means.
    ///
    /// State is done, failed, missing (summary says done but the files are gone),
    /// running (its node lock is held) or orphan (a run or eval folder that no
    /// summary row mentions). Reads only what is on disk.
    Ls(LsArgs),
    /// Show one train or eval node: config, provenance, metrics and files.
    Show(ShowArgs),
    /// Delete unreferenced and incomplete results (dry run unless --yes).
    ///
    /// Candidates: run and eval folders that no pipeline's cells.json references
    /// (results of old configs), node folders without DONE (including interrupted
    /// training that could resume), temporary files of atomic writes older than 10
    /// minutes, lock files of vanished folders, and cached datasets that no
    /// cells.json under --results-dir references. A node whose lock is held is never
    /// touched; nor, while a pipeline runs, are its unreferenced folders.
    Gc(GcArgs),
}

#[derive(Debug, Args)]
struct DiffArgs {
    /// The old side.
    a: String,
    /// The new side.
    b: String,
    /// Column that identifies a row (repeatable); default: see above.
    #[arg(long = "key", value_name = "COLUMN")]
    keys: Vec<String>,
    /// Metric columns to compare, comma-separated (`psnr` means psnr_mean and
    /// psnr_std); default: every numeric column in both (for a pipeline summary,
    /// every *_mean and *_std).
    #[arg(long, value_delimiter = ',', value_name = "M1,M2")]
    metrics: Vec<String>,
    /// Relative tolerance.
    #[arg(long, default_value_t = crate::inspect::diff::DEFAULT_RTOL)]
    rtol: f64,
    /// Absolute tolerance.
    #[arg(long, default_value_t = crate::inspect::diff::DEFAULT_ATOL)]
    atol: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: DiffFormat,
}

#[derive(Debug, Args)]
struct LsArgs {
    /// A pipeline YAML file or a results/<pipeline> folder; default: every pipeline.
    target: Option<PathBuf>,
    /// Keep rows where COLUMN (state, a swept param, or a metric) equals VALUE (repeatable).
    #[arg(long = "filter", value_name = "COLUMN=VALUE", value_parser = parse_filter)]
    filters: Vec<(String, String)>,
    /// Sort on a metric or param; a leading `-` sorts descending (`--sort=-psnr`).
    #[arg(long, value_name = "COLUMN", allow_hyphen_values = true)]
    sort: Option<String>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// A train or eval key: in full or a unique prefix (as `runner ls` prints).
    key: String,
}

#[derive(Debug, Args)]
struct GcArgs {
    /// Delete (without it, only list what would go and the bytes it would free).
    #[arg(short = 'y', long, visible_alias = "delete")]
    yes: bool,
}

/// Parses `COLUMN=VALUE`.
fn parse_filter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected COLUMN=VALUE, got `{text}`")),
    }
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

/// `runner FILE ...` is `runner run FILE ...`, also after the global options
/// (`runner --results-dir R FILE`).
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let known = [
        "run",
        "config",
        "diff",
        "ls",
        "show",
        "gc",
        "help",
        "-h",
        "--help",
        "-V",
        "--version",
    ];
    // Skip the global options that come before the subcommand (with their values).
    let global_with_value = ["--cache-dir", "--results-dir"];
    let mut i = 1;
    while let Some(arg) = args.get(i).and_then(|a| a.to_str()) {
        if global_with_value.contains(&arg) {
            i += 2;
        } else if global_with_value
            .iter()
            .any(|g| arg.starts_with(&format!("{g}=")))
        {
            i += 1;
        } else {
            break;
        }
    }
    if let Some(first) = args.get(i).and_then(|a| a.to_str()) {
        if !known.contains(&first) && !first.starts_with('-') {
            args.insert(i, OsString::from("run"));
        }
    }
    args
}

/// Loads the pipeline or prints its error; `Err` carries the exit code.
fn load(args: &PipelineArgs) -> Result<LoadedPipeline, i32> {
    load_checked(args, &|_| Ok(()))
}

/// Loads the pipeline to run it: also checks that the device each cell asks for
/// exists here (an error at `train.device`, exit 2, before anything is written).
fn load_for_run(args: &PipelineArgs) -> Result<LoadedPipeline, i32> {
    load_checked(args, &|cfg: &ResolvedPipeline| {
        device::resolve(cfg.train.device)
            .map(drop)
            .map_err(|e| ConfigIssue::new("train.device", e.to_string()))
    })
}

/// [`load`] with `check` run on every resolved cell.
fn load_checked(args: &PipelineArgs, check: CellCheck) -> Result<LoadedPipeline, i32> {
    load_pipeline_checked(&args.pipeline, &args.overrides, check).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INPUT
    })
}

/// The one-line notice that `train.device: auto` means the CPU here, when a cell
/// of `loaded` asks for `auto`.
fn auto_device_notice(loaded: &LoadedPipeline) -> Option<String> {
    let auto = loaded
        .cells
        .iter()
        .any(|c| c.config.train.device == DeviceChoice::Auto);
    let reason = device::auto_fallback_reason()?;
    auto.then(|| format!("note: train.device is auto and {reason}: running on the CPU"))
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
        Command::Diff(args) => diff(&args, &store),
        Command::Ls(args) => ls(&args, &store),
        Command::Show(args) => print_or_input_error(show(&store, &args.key)),
        Command::Gc(args) => gc(&args, &store),
    }
}

/// Prints `text` (exit 0) or the error (exit 2).
fn print_or_input_error(text: anyhow::Result<String>) -> i32 {
    match text {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_INPUT
        }
    }
}

/// `runner diff A B`.
fn diff(args: &DiffArgs, store: &Store) -> i32 {
    let report = (|| {
        let a = Table::read(&resolve_table(&args.a, store)?)?;
        let b = Table::read(&resolve_table(&args.b, store)?)?;
        let opts = DiffOptions {
            keys: args.keys.clone(),
            metrics: args.metrics.clone(),
            rtol: args.rtol,
            atol: args.atol,
        };
        diff_tables(&a, &b, &opts)
    })();
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_INPUT;
        }
    };
    match render(&report, args.format) {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("error: cannot format the diff: {e:#}");
            return EXIT_FAILED;
        }
    }
    if args.format == DiffFormat::Csv {
        eprintln!("{}", report.summary_line());
    }
    if report.differs() {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// `runner ls`.
fn ls(args: &LsArgs, store: &Store) -> i32 {
    let opts = LsOptions {
        filters: args.filters.clone(),
        sort: args.sort.clone(),
    };
    print_or_input_error(
        target_dirs(args.target.as_deref(), store).and_then(|dirs| list(&dirs, &opts)),
    )
}

/// `runner gc [--yes]`.
fn gc(args: &GcArgs, store: &Store) -> i32 {
    let plan = plan_gc(store);
    print!("{}", render_plan(&plan, !args.yes));
    if !args.yes {
        return EXIT_OK;
    }
    let outcome = apply(&plan);
    println!(
        "deleted {} item(s), freed {}",
        outcome.deleted,
        crate::inspect::text::bytes(outcome.freed)
    );
    for (path, why) in &outcome.failed {
        eprintln!("error: could not delete {}: {why}", path.display());
    }
    if outcome.failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
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
    let loaded = match load_for_run(&args.pipeline) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let notice = auto_device_notice(&loaded);
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
    let to_run = plan.to_run(args.force);
    let trains = plan
        .nodes
        .iter()
        .zip(&to_run)
        .any(|(node, run)| *run && matches!(node.kind, NodeKind::Train | NodeKind::Eval));
    if let (true, Some(notice)) = (trains, notice) {
        eprintln!("{notice}");
    }
    let to_run = to_run.iter().filter(|r| **r).count();
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
    let paper_table = table.with_file_name(crate::report::table::TABLE_MD);
    if plan.pipeline.report.table.is_some() && paper_table.exists() {
        eprintln!("paper table:   {}", paper_table.display());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str]) -> Vec<String> {
        with_default_subcommand(args.iter().map(OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn a_pipeline_file_means_run_also_after_global_options() {
        assert_eq!(words(&["runner", "p.yaml"]), ["runner", "run", "p.yaml"]);
        assert_eq!(
            words(&["runner", "--results-dir", "r", "p.yaml", "-j", "2"]),
            ["runner", "--results-dir", "r", "run", "p.yaml", "-j", "2"]
        );
        assert_eq!(
            words(&["runner", "--cache-dir=c", "p.yaml"]),
            ["runner", "--cache-dir=c", "run", "p.yaml"]
        );
        assert_eq!(words(&["runner", "ls"]), ["runner", "ls"]);
        assert_eq!(
            words(&["runner", "--results-dir", "r", "gc"]),
            ["runner", "--results-dir", "r", "gc"]
        );
        assert_eq!(words(&["runner", "--help"]), ["runner", "--help"]);
    }
}
