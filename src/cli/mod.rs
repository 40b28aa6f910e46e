//! Command-line interface: `runner [run] PIPELINE` ([`run`]), `runner node KEY`
//! ([`node`]), `config`, `diff`, `ls`, `show`, `verify`, `gc` ([`results`], their
//! logic in [`crate::inspect`]), `terms` ([`terms`]) and `data` ([`data`]).

mod data;
mod node;
pub mod reference;
mod results;
mod run;
mod schema;
mod terms;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use data::DataArgs;

use crate::dag::Store;
use crate::pipeline::load::{load_pipeline_limited, CellCheck, LoadedPipeline};
use node::NodeArgs;
use reference::CompletionsArgs;
use results::{ConfigArgs, DiffArgs, GcArgs, LsArgs, ShowArgs, VerifyArgs};
use run::RunArgs;
use terms::TermsArgs;

/// Exit code: success.
pub const EXIT_OK: i32 = crate::exit::OK;
/// Exit code: a node failed.
pub const EXIT_FAILED: i32 = crate::exit::FAILED;
/// Exit code: bad input (pipeline file, data files, command line).
pub const EXIT_INPUT: i32 = crate::exit::INPUT;
/// Exit code: interrupted (Ctrl-C, SIGTERM).
pub const EXIT_INTERRUPTED: i32 = crate::exit::INTERRUPTED;
/// Exit code of `runner node`: stopped at a checkpoint, run it again.
pub const EXIT_RESUBMIT: i32 = crate::exit::RESUBMIT;

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
    /// Run one planned node in this process (what a Slurm job runs).
    ///
    /// The node is found by its key in the node.json a driver wrote into its
    /// folder (under --results-dir, or --cache-dir for a dataset), so any host
    /// that sees those folders can run it. It runs under the node lock and
    /// writes its files, DONE and job_exit.json. Exit status: 0 done (or already
    /// complete), 1 the node failed, 2 bad input, 75 stopped at a checkpoint on
    /// SIGUSR2 (submit it again to continue), 130 stopped by SIGINT or SIGTERM
    /// (its checkpoint is saved).
    Node(NodeArgs),
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
    /// State is done, failed, not_run (left out by --only), missing (summary
    /// says done but the files are gone), running (its node lock is held),
    /// queued (a batch job was submitted for it), resumable (an interrupted
    /// training a re-run continues from its checkpoint), or orphan (a run or
    /// eval folder that no summary row mentions).
    /// Reads only what is on disk.
    Ls(LsArgs),
    /// Show one train or eval node: config, provenance, metrics and files.
    Show(ShowArgs),
    /// Hash every file finished nodes wrote and list those altered since.
    ///
    /// Each node's DONE records the size and blake3 of the files it wrote.
    /// TARGET is a pipeline YAML file or results folder (its runs, evals,
    /// report and the cached datasets its cells use), a node key prefix, or
    /// nothing (everything under --results-dir and --cache-dir). Exit status: 0
    /// all intact, 1 some file is missing or altered (the next run of its
    /// pipeline recomputes it), 2 bad input.
    Verify(VerifyArgs),
    /// Delete unreferenced and incomplete results (dry run unless --yes).
    ///
    /// Candidates: run and eval folders that no pipeline's cells.json references
    /// (results of old configs), node folders without DONE (interrupted training
    /// that could resume only with --include-resumable), temporary files of atomic writes older than 10
    /// minutes, lock files of vanished folders, and cached datasets that no
    /// cells.json under --results-dir references. A node whose lock is held is never
    /// touched; nor, while a pipeline runs, are its unreferenced folders.
    Gc(GcArgs),
    /// List the reconstruction loss terms: name, domain, version, what each computes.
    ///
    /// The domain decides a term's factor under `loss.alpha` (spatial terms get
    /// 1 - alpha, frequency terms alpha). `--defaults` prints each term with its
    /// default options, ready to paste into `loss.terms`.
    Terms(TermsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Bash: `runner completions bash > ~/.local/share/bash-completion/completions/runner`;
    /// zsh: write `_runner` into a folder of `$fpath`; fish:
    /// `runner completions fish > ~/.config/fish/completions/runner.fish`.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `runner man > runner.1; man ./runner.1`.
    Man,
    /// Print the JSON Schema of pipeline files, for editors.
    ///
    /// The same schema is in the repository as `docs/pipeline.schema.json`, and
    /// each shipped pipeline names it on its first line
    /// (`# yaml-language-server: $schema=...`), which editors with a YAML
    /// language server (VS Code's YAML extension, Neovim, Helix, ...) use to
    /// complete and check keys. It checks the shape of a file; `runner config`
    /// and `runner --dry-run` also check ranges and the rules between keys.
    Schema,
    /// Download the raw datasets (`data get mnist|cifar10|celeba`), verified
    /// against their published checksums, or list them (`data list`).
    Data(DataArgs),
}

/// The pipeline file and its overrides.
#[derive(Debug, Args)]
struct PipelineArgs {
    /// Pipeline YAML file.
    pipeline: PathBuf,
    /// Override a key: `-o train.epochs=5`; `-o model.upsampler=convt,n15` sweeps.
    #[arg(short = 'o', long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// The most cells a sweep may have (a larger grid is refused before it is
    /// expanded).
    #[arg(long, value_name = "N", default_value_t = crate::pipeline::load::DEFAULT_MAX_CELLS)]
    max_cells: usize,
}

/// `runner FILE ...` is `runner run FILE ...`, also after the global options
/// (`runner --results-dir R FILE`).
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    // The subcommands as clap knows them (so a new one needs no edit here), plus
    // the flags that must not be read as a pipeline file.
    let command = Cli::command();
    let mut known: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    known.extend(["help", "-h", "--help", "-V", "--version"]);
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

/// [`load`] with `check` run on every resolved cell.
fn load_checked(args: &PipelineArgs, check: CellCheck) -> Result<LoadedPipeline, i32> {
    load_pipeline_limited(&args.pipeline, &args.overrides, check, args.max_cells).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_INPUT
    })
}

/// Why `dir` (given as `flag`) cannot hold results: it is not a folder, or
/// neither it nor the folder it would be created in can be written. Probes
/// with a temporary file that is removed at once; creates nothing.
fn unusable_folder(flag: &str, dir: &std::path::Path) -> Option<String> {
    // The folder itself, or the nearest one above it that exists.
    let existing = dir
        .ancestors()
        .map(|a| {
            if a.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                a
            }
        })
        .find(|a| a.exists())
        .unwrap_or(std::path::Path::new("."));
    if !existing.is_dir() {
        return Some(format!(
            "{flag} {}: {} is not a folder",
            dir.display(),
            existing.display()
        ));
    }
    match tempfile::Builder::new()
        .prefix(".runner-probe")
        .tempfile_in(existing)
    {
        Ok(_) => None,
        Err(e) => Some(format!(
            "{flag} {}: cannot write in {}: {e}",
            dir.display(),
            existing.display()
        )),
    }
}

/// Checks up front that the results and cache folders can be written, so that
/// a mistyped or read-only folder is one error (exit 2), not one failure per
/// node.
fn check_writable_store(store: &Store) -> Result<(), i32> {
    for (flag, dir) in [
        ("--results-dir", &store.results_dir),
        ("--cache-dir", &store.cache_dir),
    ] {
        if let Some(message) = unusable_folder(flag, dir) {
            eprintln!("error: {message}");
            return Err(EXIT_INPUT);
        }
    }
    Ok(())
}

/// Plans `loaded` against `store` with runner's code versions, or prints why
/// the keys cannot be formed; `Err` carries the exit code.
fn plan(loaded: LoadedPipeline, store: &Store) -> Result<crate::dag::Plan, i32> {
    crate::dag::build_plan(loaded, store, &crate::code_version::current).map_err(|e| {
        eprintln!("error: {e:#}");
        EXIT_FAILED
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
        Command::Config(args) => results::config(&args, &store),
        Command::Run(args) => run::run(&args, &store),
        Command::Node(args) => node::node(&args, &store),
        Command::Diff(args) => results::diff(&args, &store),
        Command::Ls(args) => results::ls(&args, &store),
        Command::Show(args) => results::show(&args, &store),
        Command::Verify(args) => results::verify(&args, &store),
        Command::Gc(args) => results::gc(&args, &store),
        Command::Terms(args) => terms::terms(&args),
        Command::Completions(args) => reference::completions(&args),
        Command::Man => reference::man(),
        Command::Schema => schema::schema(),
        Command::Data(args) => data::data(&args),
    }
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
