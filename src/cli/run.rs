//! `runner run PIPELINE`: plan the pipeline and run what is not fresh, here
//! (`--executor local`, the default) or as Slurm jobs (`--executor slurm`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::{load, load_checked, PipelineArgs, EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK};
use crate::dag::executor::{check_inputs, describe_plan, Executor};
use crate::dag::gpu::GpuSlots;
use crate::dag::local::LocalExecutor;
use crate::dag::slurm::{preflight, submit_driver, DriverRecord, SlurmExecutor, SlurmOptions};
use crate::dag::work::{cores_per_node, NodeContext};
use crate::dag::{execute, NodeKind, RunOptions, Store};
use crate::device;
use crate::inspect::text::count;
use crate::interrupt::StopReason;
use crate::pipeline::load::LoadedPipeline;
use crate::pipeline::schema::{ConfigIssue, DeviceChoice, ResolvedPipeline};
use crate::pipeline::select::select_cells;
use crate::progress::Progress;
use crate::slurm::batch::shell_quote;
use crate::slurm::{Profile, Slurm};
use crate::work::PipelineWork;

/// Where nodes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecutorKind {
    /// Worker threads of this process (`-j N` at once).
    Local,
    /// One Slurm batch job per node; this process submits and watches them.
    Slurm,
}

/// `runner run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// List every node as fresh / stale / missing with the reason; run nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Re-run every node even if fresh.
    #[arg(short, long)]
    force: bool,
    /// Run only the cells with these swept values, e.g. `--only
    /// loss.alpha=0.5,model.upsampler=n15` (all pairs must match; repeat to
    /// select more cells). The pipeline, its keys and its report stay the same.
    #[arg(long, value_name = "KEY=VALUE,...")]
    only: Vec<String>,
    /// Nodes to run at once (local executor).
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// No progress bars (plain lines only).
    #[arg(long)]
    no_progress: bool,
    /// Where nodes run: here, or as Slurm batch jobs.
    #[arg(long, value_enum, env = "RUNNER_EXECUTOR", default_value = "local")]
    executor: ExecutorKind,
    /// Cluster profile for --executor slurm: partition, account, resources per
    /// node kind (never part of a key).
    #[arg(long, env = "RUNNER_PROFILE", value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Submit the driver itself as a Slurm job and return at once (--executor
    /// slurm); running the same command without it later re-attaches.
    #[arg(long)]
    detach: bool,
    /// Times a node's job is submitted again after a preemption, a node failure
    /// or a time limit reached without a checkpoint (--executor slurm).
    #[arg(long, default_value_t = 2, value_name = "N")]
    retries: u32,
    /// GPUs the local executor hands out, one per running node (default: every
    /// GPU of this machine), e.g. `--gpus 0,1`.
    #[arg(long, value_delimiter = ',', value_name = "N,N")]
    gpus: Vec<usize>,
    /// Nodes that may share one GPU (local executor).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    per_gpu: u16,
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

/// Loads the pipeline to run it. Locally the device each cell asks for must
/// exist here (an error at `train.device`, exit 2, before anything is written);
/// on Slurm it is the compute nodes' business.
fn load_for_run(args: &RunArgs) -> Result<LoadedPipeline, i32> {
    if args.executor == ExecutorKind::Slurm {
        return load(&args.pipeline);
    }
    load_checked(&args.pipeline, &|cfg: &ResolvedPipeline| {
        device::resolve(cfg.train.device)
            .map(drop)
            .map_err(|e| ConfigIssue::new("train.device", e.to_string()))
    })
}

/// Checks the options that only one executor takes.
fn check_options(args: &RunArgs) -> Result<(), String> {
    match args.executor {
        ExecutorKind::Local if args.detach => {
            Err("--detach submits the driver to Slurm: add --executor slurm".to_string())
        }
        ExecutorKind::Slurm if !args.gpus.is_empty() => Err(
            "--gpus hands out this machine's GPUs to local nodes; Slurm jobs get theirs from \
             the profile (train.gpus, eval.gpus)"
                .to_string(),
        ),
        ExecutorKind::Local => {
            let count = device::gpu_count();
            match args.gpus.iter().find(|&&g| g >= count) {
                Some(g) => Err(format!(
                    "--gpus {g}: this machine has {count} CUDA GPU(s){}",
                    if count > 0 {
                        format!(" (0 to {})", count - 1)
                    } else {
                        String::new()
                    }
                )),
                None => Ok(()),
            }
        }
        ExecutorKind::Slurm => Ok(()),
    }
}

/// The command that re-runs this pipeline: the same file, overrides and
/// folders (the executor adds `--only` for a failed node's cells).
fn rerun_command(args: &RunArgs, store: &Store) -> String {
    let mut rerun = format!(
        "runner run {}",
        shell_quote(&args.pipeline.pipeline.display().to_string())
    );
    for o in &args.pipeline.overrides {
        let _ = write!(rerun, " -o {}", shell_quote(o));
    }
    for (flag, path) in [
        ("--results-dir", &store.results_dir),
        ("--cache-dir", &store.cache_dir),
    ] {
        let _ = write!(
            rerun,
            " {flag} {}",
            shell_quote(&path.display().to_string())
        );
    }
    if args.executor == ExecutorKind::Slurm {
        rerun.push_str(" --executor slurm");
        if let Some(profile) = &args.profile {
            let _ = write!(
                rerun,
                " --profile {}",
                shell_quote(&profile.display().to_string())
            );
        }
    }
    rerun
}

/// `path` made absolute against the working folder.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The Slurm options of this run: the profile, the binary, and the folders
/// as the jobs see them (absolute).
fn slurm_options(args: &RunArgs, store: &Store) -> Result<SlurmOptions, i32> {
    let profile = match &args.profile {
        Some(path) => Profile::load(path).map_err(|e| {
            eprintln!("error: {e}");
            EXIT_INPUT
        })?,
        None => Profile::default(),
    };
    let runner = match &profile.runner {
        Some(path) => path.clone(),
        None => std::env::current_exe().map_err(|e| {
            eprintln!(
                "error: cannot tell where this runner binary is ({e}); set runner: in the profile"
            );
            EXIT_INPUT
        })?,
    };
    let workdir = std::env::current_dir().map_err(|e| {
        eprintln!("error: cannot read the working folder: {e}");
        EXIT_INPUT
    })?;
    Ok(SlurmOptions {
        profile,
        retries: args.retries,
        force: args.force,
        runner,
        workdir,
        store: Store::new(absolute(&store.cache_dir), absolute(&store.results_dir)),
    })
}

/// The `runner run` arguments a detached driver job runs with.
fn driver_arguments(args: &RunArgs) -> Vec<String> {
    let mut out = vec![absolute(&args.pipeline.pipeline).display().to_string()];
    for o in &args.pipeline.overrides {
        out.push("-o".into());
        out.push(o.clone());
    }
    for only in &args.only {
        out.push("--only".into());
        out.push(only.clone());
    }
    out.extend(["--executor".to_string(), "slurm".to_string()]);
    if let Some(profile) = &args.profile {
        out.push("--profile".into());
        out.push(absolute(profile).display().to_string());
    }
    out.push(format!("--retries={}", args.retries));
    if args.force {
        out.push("--force".into());
    }
    out.push("--no-progress".into());
    out
}

/// `runner run`.
pub fn run(args: &RunArgs, store: &Store) -> i32 {
    if let Err(message) = check_options(args) {
        eprintln!("error: {message}");
        return EXIT_INPUT;
    }
    let loaded = match load_for_run(args) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let notice = auto_device_notice(&loaded);
    let selected = match select_cells(&loaded, &args.only) {
        Ok(selected) => selected,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_INPUT;
        }
    };
    let mut plan = match super::plan(loaded, store) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    plan.select(selected);
    // What a run checks before it starts, a dry run checks too.
    if let Err(code) = super::check_writable_store(store) {
        return code;
    }
    let work = Arc::new(PipelineWork::new(store.clone()));
    if let Err(message) = check_inputs(&plan, work.as_ref(), args.force) {
        eprintln!("error: {message}");
        return EXIT_INPUT;
    }
    if args.dry_run {
        print!("{}", describe_plan(&plan, args.force));
        return EXIT_OK;
    }
    let progress = Progress::new(!args.no_progress);
    let mut executor: Box<dyn Executor> = match args.executor {
        ExecutorKind::Local => {
            let gpus = if args.gpus.is_empty() {
                (0..device::gpu_count()).collect()
            } else {
                args.gpus.clone()
            };
            let ctx = NodeContext {
                progress: progress.clone(),
                gpu: None,
                force: args.force,
                cpu_threads: cores_per_node(args.jobs as usize),
                // The scheduler decides per node (busy nodes are put back).
                wait_for_lock: false,
            };
            Box::new(LocalExecutor::new(
                work.clone(),
                store.clone(),
                args.jobs as usize,
                GpuSlots::new(&gpus, args.per_gpu as usize),
                ctx,
            ))
        }
        ExecutorKind::Slurm => {
            let opts = match slurm_options(args, store) {
                Ok(opts) => opts,
                Err(code) => return code,
            };
            let slurm = Slurm::new();
            if let Err(message) = preflight(&plan, args.force, &opts, &slurm) {
                let origin = args
                    .profile
                    .as_ref()
                    .map_or(String::new(), |p| format!("{}: ", p.display()));
                eprintln!("error: {origin}{message}");
                return EXIT_INPUT;
            }
            let name = &plan.pipeline.name;
            if args.detach {
                return match submit_driver(&opts, store, &slurm, name, &driver_arguments(args)) {
                    Ok(record) => {
                        eprintln!(
                            "submitted the driver of {name} as Slurm job {} (log {})\n\
                             it submits and watches the nodes; `runner ls` shows them, and \
                             running the same command without --detach re-attaches",
                            record.job_id,
                            record.log.display()
                        );
                        EXIT_OK
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        EXIT_INPUT
                    }
                };
            }
            if let Some(driver) = DriverRecord::read(store, name) {
                if std::env::var("SLURM_JOB_ID").ok().as_deref() != Some(driver.job_id.as_str())
                    && driver.is_live(&slurm)
                {
                    eprintln!(
                        "note: the detached driver (Slurm job {}) is running too; both watch \
                         the same jobs and never submit a node twice",
                        driver.job_id
                    );
                }
            }
            let mut executor = SlurmExecutor::new(opts, store.clone(), progress.clone(), slurm);
            executor.learn_recorded_jobs(&plan);
            Box::new(executor)
        }
    };
    crate::interrupt::install();
    let opts = RunOptions {
        force: args.force,
        rerun_command: rerun_command(args, store),
        only: args.only.clone(),
    };
    let to_run = plan.to_run(args.force);
    let trains = plan
        .nodes
        .iter()
        .zip(&to_run)
        .any(|(node, run)| *run && matches!(node.kind, NodeKind::Train | NodeKind::Eval));
    if let (true, Some(notice), ExecutorKind::Local) = (trains, notice, args.executor) {
        eprintln!("{notice}");
    }
    if !to_run.iter().any(|r| *r) {
        eprintln!(
            "all {} nodes of {} are fresh; nothing to run",
            plan.nodes.len(),
            plan.pipeline.name
        );
    }
    let summary = execute(&plan, work.as_ref(), executor.as_mut(), &opts, &progress);
    drop(executor);
    let table = store
        .pipeline_dir(&plan.pipeline.name)
        .join(crate::dag::store::PIPELINE_SUMMARY_FILE);
    if let Some(err) = &summary.input_error {
        eprintln!("error: {err}");
        return EXIT_INPUT;
    }
    if summary.interrupted {
        let jobs_left = args.executor == ExecutorKind::Slurm
            && crate::interrupt::reason() != Some(StopReason::Interrupt);
        eprintln!(
            "interrupted: {} finished; {}",
            count(summary.ran, "node"),
            if jobs_left {
                "submitted jobs keep running: re-run the same command to re-attach"
            } else {
                "re-run the same command to continue"
            }
        );
        return match crate::interrupt::reason() {
            Some(StopReason::Terminate) => crate::exit::TERMINATED,
            _ => EXIT_INTERRUPTED,
        };
    }
    eprintln!(
        "{}: {} ran, {} fresh, {} failed, {} skipped{}",
        plan.pipeline.name,
        summary.ran,
        summary.fresh,
        summary.failed.len(),
        summary.skipped,
        if summary.left_out > 0 {
            format!(", {} left out by --only", summary.left_out)
        } else {
            String::new()
        }
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
