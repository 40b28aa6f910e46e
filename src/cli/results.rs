//! The commands on finished results — `config`, `diff`, `ls`, `show`, `gc` —
//! as thin shells over [`crate::inspect`].

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::{load, PipelineArgs, EXIT_FAILED, EXIT_INPUT, EXIT_OK};
use crate::dag::Store;
use crate::inspect::diff::{diff_tables, DiffOptions};
use crate::inspect::diff_format::{render, DiffFormat};
use crate::inspect::gc::{apply, plan_gc, render_plan};
use crate::inspect::listing::{list, target_dirs, LsOptions};
use crate::inspect::show::show as show_node;
use crate::inspect::source::resolve_table;
use crate::inspect::table::Table;

#[derive(Debug, Args)]
pub struct DiffArgs {
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
pub struct LsArgs {
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
pub struct VerifyArgs {
    /// A pipeline YAML file, a results/<pipeline> folder or a node key prefix;
    /// default: everything.
    target: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A train or eval key: in full or a unique prefix (as `runner ls` prints).
    pub key: String,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Delete (without it, only list what would go and the bytes it would free).
    #[arg(short = 'y', long, visible_alias = "delete")]
    yes: bool,
    /// Also delete interrupted trainings that a re-run would continue from
    /// their checkpoint (kept by default).
    #[arg(long)]
    include_resumable: bool,
}

/// Parses `COLUMN=VALUE`.
fn parse_filter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected COLUMN=VALUE, got `{text}`")),
    }
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// Prints `text` (exit 0) or the error (exit 2).
pub fn print_or_input_error(text: anyhow::Result<String>) -> i32 {
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
pub fn diff(args: &DiffArgs, store: &Store) -> i32 {
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

/// `runner verify [TARGET]`.
pub fn verify(args: &VerifyArgs, store: &Store) -> i32 {
    match crate::inspect::verify::verify(store, args.target.as_deref()) {
        Ok(report) => {
            print!("{}", report.render());
            if report.altered() {
                EXIT_FAILED
            } else {
                EXIT_OK
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_INPUT
        }
    }
}

/// `runner show KEY`.
pub fn show(args: &ShowArgs, store: &Store) -> i32 {
    print_or_input_error(show_node(store, &args.key))
}

/// `runner ls`.
pub fn ls(args: &LsArgs, store: &Store) -> i32 {
    if store.results_dir.exists() && !store.results_dir.is_dir() {
        eprintln!(
            "error: --results-dir {} is a file, not a results folder",
            store.results_dir.display()
        );
        return EXIT_INPUT;
    }
    let opts = LsOptions {
        filters: args.filters.clone(),
        sort: args.sort.clone(),
    };
    print_or_input_error(
        target_dirs(args.target.as_deref(), store).and_then(|dirs| list(&dirs, &opts)),
    )
}

/// `runner gc [--yes]`.
pub fn gc(args: &GcArgs, store: &Store) -> i32 {
    // Cached datasets are kept when a results folder uses them: without one,
    // every dataset would look unused.
    if !store.results_dir.is_dir() {
        eprintln!(
            "error: --results-dir {} {}; gc needs the results folder to know which cached \
             datasets are in use, so it deletes nothing",
            store.results_dir.display(),
            if store.results_dir.exists() {
                "is not a folder"
            } else {
                "does not exist"
            }
        );
        return EXIT_INPUT;
    }
    let plan = plan_gc(store, args.include_resumable);
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
pub fn config(args: &ConfigArgs, store: &Store) -> i32 {
    let loaded = match load(&args.pipeline) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let plan = match super::plan(loaded, store) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
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
