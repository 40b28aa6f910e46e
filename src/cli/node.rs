//! `runner node KEY`: run one planned node in this process, as a batch job
//! does, and leave its exit record (`job_exit.json`) for the driver.

use clap::Args;

use super::{EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RESUBMIT};
use crate::dag::job::{ExitRecord, JobSpec};
use crate::dag::provenance::{hostname, rfc3339_utc, unix_now};
use crate::dag::work::{cores_per_node, run_job, NodeContext, Outcome};
use crate::dag::Store;
use crate::interrupt::StopReason;
use crate::progress::Progress;
use crate::work::PipelineWork;

/// `runner node` options.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The node's key: in full (as a driver writes it) or a unique prefix.
    key: String,
    /// The pipeline whose results folder holds the node, when several do.
    #[arg(long, value_name = "NAME")]
    pipeline: Option<String>,
    /// Recompute the node even when it is complete.
    #[arg(short, long)]
    force: bool,
}

/// What an outcome means as an exit record: (exit code, outcome, message, step).
fn exit_of(outcome: Outcome) -> (i32, String, Option<String>, Option<u64>) {
    match outcome {
        Outcome::Ran => (EXIT_OK, "done".into(), None, None),
        Outcome::AlreadyDone => (
            EXIT_OK,
            "fresh".into(),
            Some("already complete".into()),
            None,
        ),
        Outcome::Failed(e) => (EXIT_FAILED, "failed".into(), Some(e), None),
        // Never with `wait_for_lock`; kept apart from a failure all the same.
        Outcome::Busy => (
            EXIT_FAILED,
            "busy".into(),
            Some("another process holds its lock".into()),
            None,
        ),
        Outcome::InputError(e) => (EXIT_INPUT, "input error".into(), Some(e), None),
        Outcome::Stopped { message, step } => match crate::interrupt::reason() {
            Some(StopReason::Resubmit) => {
                (EXIT_RESUBMIT, "checkpointed".into(), Some(message), step)
            }
            reason => (
                EXIT_INTERRUPTED,
                format!(
                    "stopped by {}",
                    reason.map_or("a stop request", StopReason::signal_name)
                ),
                Some(message),
                step,
            ),
        },
    }
}

/// `runner node`.
pub fn node(args: &NodeArgs, store: &Store) -> i32 {
    crate::interrupt::install();
    let started = rfc3339_utc(unix_now());
    let (job, dir) = match JobSpec::find(store, &args.key, args.pipeline.as_deref()) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_INPUT;
        }
    };
    let this_version = env!("CARGO_PKG_VERSION");
    if job.runner_version != this_version {
        eprintln!(
            "error: {} was planned by runner {}, this is runner {this_version}: run the same \
             runner binary as the driver",
            dir.display(),
            job.runner_version
        );
        return EXIT_INPUT;
    }
    let job_id = std::env::var("SLURM_JOB_ID").ok();
    let host = hostname();
    eprintln!(
        "runner node: {} on {}{}",
        job.describe(),
        host.as_deref().unwrap_or("this host"),
        job_id
            .as_ref()
            .map_or(String::new(), |id| format!(" (Slurm job {id})"))
    );
    let work = PipelineWork::new(store.clone());
    let ctx = NodeContext {
        progress: Progress::new(false),
        gpu: None,
        force: args.force,
        cpu_threads: cores_per_node(1),
        wait_for_lock: true,
    };
    let (code, outcome, message, step) = exit_of(run_job(&job, store, &work, &ctx));
    let record = ExitRecord {
        job_id,
        exit_code: code,
        outcome: outcome.clone(),
        message: message.clone(),
        step,
        host,
        started,
        finished: rfc3339_utc(unix_now()),
    };
    if let Err(e) = record.write(&dir) {
        eprintln!("warning: {e:#}");
    }
    match message {
        Some(m) => eprintln!("runner node: {outcome}: {m} (exit {code})"),
        None => eprintln!("runner node: {outcome} (exit {code})"),
    }
    code
}
