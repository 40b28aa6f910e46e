//! Runs the nodes of a [`Plan`] that are not fresh, parents first, through an
//! [`Executor`] that decides where each runs: worker threads here
//! ([`super::local`]) or batch jobs on a cluster ([`super::slurm`]). A failed
//! node skips its dependents while the other cells go on; the report runs
//! here, last, with whatever cells have results.

use std::fmt::Write as _;
use std::time::Instant;

use super::job::JobSpec;
use super::plan::{node_line, NodeKind, NodeState, Plan};
use super::provenance::{git_state, read_provenance, GitState};
use super::work::{DeviceNeed, NodeWork, Outcome};
use crate::interrupt::StopReason;
use crate::pipeline::select::only_argument;
use crate::progress::Progress;
use crate::slurm::batch::shell_quote;

/// A node that finished (or was given up on).
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// Its index in the plan.
    pub index: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// Seconds from its start to its end, as the executor saw them.
    pub secs: f64,
}

/// Where nodes run. The scheduler in [`execute`] starts every ready node the
/// executor has room for, then waits for it to report finished nodes.
pub trait Executor {
    /// Whether a node asking for `need` can start now.
    fn has_room(&self, need: DeviceNeed) -> bool;

    /// Starts `job` as plan node `index`; `what` names it in messages
    /// (`[3/9] train 3fa9c2e81b07  [label]`). Unless `wait_for_lock`, a node
    /// whose lock another process holds finishes at once as [`Outcome::Busy`].
    fn start(
        &mut self,
        index: usize,
        job: JobSpec,
        need: DeviceNeed,
        what: &str,
        wait_for_lock: bool,
    );

    /// Nodes started and not yet returned by [`Executor::wait`].
    fn in_flight(&self) -> usize;

    /// Blocks until some started node finishes, or a stop is asked for, and
    /// returns the nodes that finished (none when woken by a stop request).
    fn wait(&mut self) -> Vec<Finished>;

    /// A stop was asked for (`reason`): stops what it can and returns the nodes
    /// it gives up waiting for. Local threads stop by themselves at their next
    /// safe point and are still waited for.
    fn stop(&mut self, reason: StopReason) -> Vec<Finished>;
}

/// How to execute a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Re-run every node even when fresh.
    pub force: bool,
    /// The command line that re-runs this pipeline, without `--only`.
    pub rerun_command: String,
    /// The `--only` arguments of this run (empty: every cell).
    pub only: Vec<String>,
}

/// What happened, for the final summary and the exit code.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// Nodes computed in this invocation.
    pub ran: usize,
    /// Nodes found fresh (including ones another runner finished meanwhile).
    pub fresh: usize,
    /// (node description, error, command that re-runs it).
    pub failed: Vec<(String, String, String)>,
    /// Nodes not run because a parent failed.
    pub skipped: usize,
    /// A stop was asked for (Ctrl-C, SIGTERM).
    pub interrupted: bool,
    /// A problem with the user's input data (exit code 2).
    pub input_error: Option<String>,
    /// Nodes not run because their cells were not selected (`--only`).
    pub left_out: usize,
}

/// One line describing node `i`: kind, short key and cell label.
pub fn describe(plan: &Plan, i: usize) -> String {
    let node = &plan.nodes[i];
    node_line(node.kind, &node.key, &plan.node_label(i))
}

/// The command that re-runs the cells of node `i`: the same pipeline, folders
/// and overrides, with `--only` naming its cells (the pipeline and so the
/// report table are unchanged).
fn rerun_command(plan: &Plan, i: usize, opts: &RunOptions) -> String {
    let node = &plan.nodes[i];
    let mut cmd = opts.rerun_command.clone();
    let some_cells = node.kind != NodeKind::Report && node.cells.len() < plan.pipeline.cells.len();
    let only: Vec<String> = if some_cells {
        node.cells
            .iter()
            .map(|&c| only_argument(&plan.pipeline.cells[c]))
            .collect()
    } else {
        opts.only.clone()
    };
    for arg in only {
        let _ = write!(cmd, " --only {}", shell_quote(&arg));
    }
    cmd
}

/// Checks the input files of every dataset node that will run, before anything
/// is written; the first problem is returned as a message.
pub fn check_inputs(plan: &Plan, work: &dyn NodeWork, force: bool) -> Result<(), String> {
    let to_run = plan.to_run(force);
    for (i, node) in plan.nodes.iter().enumerate() {
        if node.kind == NodeKind::Dataset && to_run[i] {
            if let Some(job) = JobSpec::of(plan, i) {
                work.check_inputs(&job)?;
            }
        }
    }
    Ok(())
}

/// The scheduler's bookkeeping of one run.
struct Tally<'a> {
    plan: &'a Plan,
    opts: &'a RunOptions,
    progress: &'a Progress,
    /// Some(true): result available; Some(false): failed or skipped; None: pending.
    outcomes: Vec<Option<bool>>,
    summary: RunSummary,
    /// A stop or an input error: start nothing more.
    stop: bool,
}

impl Tally<'_> {
    /// Records how node `f.index` ended and prints it.
    fn record(&mut self, f: Finished) {
        let i = f.index;
        let what = describe(self.plan, i);
        self.outcomes[i] = Some(f.outcome.succeeded());
        match f.outcome {
            Outcome::Ran => {
                self.summary.ran += 1;
                self.progress
                    .println(format!("  done    {what} ({:.1}s)", f.secs));
            }
            Outcome::AlreadyDone => {
                self.summary.fresh += 1;
                self.progress
                    .println(format!("  fresh   {what} (finished by another runner)"));
            }
            Outcome::Failed(err) => {
                self.progress.println(format!("  FAILED  {what}: {err}"));
                let cmd = rerun_command(self.plan, i, self.opts);
                self.summary.failed.push((what, err, cmd));
            }
            Outcome::Stopped { message, .. } => {
                self.progress
                    .println(format!("  stopped {what}: {message}"));
                self.summary.interrupted = true;
                self.stop = true;
            }
            Outcome::InputError(err) => {
                self.summary.input_error.get_or_insert(err);
                self.stop = true;
            }
            // The scheduler takes bounced nodes back before recording.
            Outcome::Busy => {
                self.outcomes[i] = None;
            }
        }
    }
}

/// Executes `plan` with `executor`: runs every node that is not fresh (all
/// with `force`), the report last and here.
pub fn execute(
    plan: &Plan,
    work: &dyn NodeWork,
    executor: &mut dyn Executor,
    opts: &RunOptions,
    progress: &Progress,
) -> RunSummary {
    let to_run = plan.to_run(opts.force);
    let n = plan.nodes.len();
    // A node not selected (`--only`) and not fresh has no result here: it is
    // never started (its outcome is settled) and the report sees it as not run.
    let left_out: Vec<bool> = (0..n)
        .map(|i| !to_run[i] && plan.nodes[i].state != NodeState::Fresh)
        .collect();
    let mut tally = Tally {
        plan,
        opts,
        progress,
        outcomes: (0..n)
            .map(|i| (!to_run[i]).then_some(!left_out[i]))
            .collect(),
        summary: RunSummary {
            fresh: (0..n).filter(|&i| !to_run[i] && !left_out[i]).count(),
            left_out: left_out.iter().filter(|l| **l).count(),
            ..Default::default()
        },
        stop: false,
    };
    let total = to_run.iter().filter(|r| **r).count();
    let mut started = vec![false; n];
    // The `[k/total]` number of each node, given when it first starts.
    let mut number = vec![0usize; n];
    let mut launched = 0usize;
    // A node another runner holds is tried again only after some node of this
    // run finished (`busy[i]`: how many had finished when it bounced); until
    // then this run works on other nodes.
    let mut busy: Vec<Option<usize>> = vec![None; n];
    let mut finished = 0usize;
    let mut stopped_executor = false;

    loop {
        if !tally.stop {
            // A ready node that bounced: waited on when nothing else can run.
            let mut fallback = None;
            for (i, node) in plan.nodes.iter().enumerate() {
                if started[i] || tally.outcomes[i].is_some() {
                    continue;
                }
                if !node.deps.iter().all(|&d| tally.outcomes[d].is_some()) {
                    continue;
                }
                let deps_ok = node.deps.iter().all(|&d| tally.outcomes[d] == Some(true));
                // The report runs with whatever cells have results.
                if !deps_ok && node.kind != NodeKind::Report {
                    tally.outcomes[i] = Some(false);
                    tally.summary.skipped += 1;
                    continue;
                }
                if busy[i] == Some(finished) {
                    fallback.get_or_insert(i);
                    continue;
                }
                if number[i] == 0 {
                    launched += 1;
                    number[i] = launched;
                }
                let what = format!("[{}/{total}] {}", number[i], describe(plan, i));
                let Some(job) = JobSpec::of(plan, i) else {
                    // The report: every other node has an outcome by now.
                    started[i] = true;
                    progress.println(format!("{what} ..."));
                    let clock = Instant::now();
                    let seen: Vec<Option<bool>> = (0..n)
                        .map(|d| if left_out[d] { None } else { tally.outcomes[d] })
                        .collect();
                    let outcome = match work.report(plan, &seen) {
                        Ok(warnings) => {
                            for warning in warnings {
                                progress.println(format!("  warning: {warning}"));
                            }
                            Outcome::Ran
                        }
                        Err(e) => Outcome::Failed(e),
                    };
                    let secs = clock.elapsed().as_secs_f64();
                    tally.record(Finished {
                        index: i,
                        outcome,
                        secs,
                    });
                    continue;
                };
                let need = work.device_need(&job);
                if !executor.has_room(need) {
                    continue;
                }
                started[i] = true;
                executor.start(i, job, need, &what, false);
            }
            if let (0, Some(i)) = (executor.in_flight(), fallback) {
                if let Some(job) = JobSpec::of(plan, i) {
                    let need = work.device_need(&job);
                    let what = format!("[{}/{total}] {}", number[i], describe(plan, i));
                    started[i] = true;
                    executor.start(i, job, need, &what, true);
                }
            }
        }
        if executor.in_flight() == 0 {
            break;
        }
        for done in executor.wait() {
            if done.outcome == Outcome::Busy {
                let i = done.index;
                started[i] = false;
                if busy[i].is_none() {
                    progress.println(format!(
                        "  busy    {}: another runner is computing it; running other nodes \
                         meanwhile",
                        describe(plan, i)
                    ));
                }
                busy[i] = Some(finished);
                continue;
            }
            finished += 1;
            tally.record(done);
        }
        if let (Some(reason), false) = (crate::interrupt::reason(), stopped_executor) {
            stopped_executor = true;
            tally.stop = true;
            tally.summary.interrupted = true;
            for done in executor.stop(reason) {
                tally.record(done);
            }
        }
    }
    tally.summary
}

/// A note for a fresh result computed from uncommitted code at another
/// revision than `head`: its keys name component versions, but uncommitted
/// edits may not have bumped them.
fn uncommitted_code_note(dir: &std::path::Path, head: &GitState) -> Option<String> {
    let git = read_provenance(dir)?.git;
    if git.dirty != Some(true) || git.revision == head.revision {
        return None;
    }
    let short = |r: &Option<String>| {
        r.as_deref()
            .map_or("no revision".to_string(), |r| r.chars().take(12).collect())
    };
    Some(format!(
        "computed at {} with uncommitted changes (HEAD is {}): its code may differ \
         from what the revision says",
        short(&git.revision),
        short(&head.revision)
    ))
}

/// Prints the plan (used by `--dry-run`): every node with its state and reason.
pub fn describe_plan(plan: &Plan, force: bool) -> String {
    let to_run = plan.to_run(force);
    let head = git_state();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for {} ({} cells, {} nodes) from {}",
        plan.pipeline.name,
        plan.pipeline.cells.len(),
        plan.nodes.len(),
        plan.pipeline.file.display()
    );
    let mut left_out = 0;
    for (i, node) in plan.nodes.iter().enumerate() {
        if !plan.is_selected(i) && node.state != NodeState::Fresh {
            left_out += 1;
            let _ = writeln!(out, "  {:<8} {}", "left out", describe(plan, i));
            continue;
        }
        let state = match (&node.state, to_run[i]) {
            (NodeState::Fresh, true) if force => "forced".to_string(),
            (NodeState::Fresh, true) => "stale".to_string(),
            (state, _) => state.name().to_string(),
        };
        let _ = writeln!(out, "  {state:<8} {}", describe(plan, i));
        match &node.state {
            NodeState::Stale(reasons) => {
                for reason in reasons {
                    let _ = writeln!(out, "             changed: {reason}");
                }
            }
            NodeState::Fresh if to_run[i] && !force => {
                let _ = writeln!(out, "             an input is being recomputed");
            }
            NodeState::Fresh => {
                if let Some(note) = uncommitted_code_note(&node.dir, &head) {
                    let _ = writeln!(out, "             note: {note}");
                }
            }
            _ => {}
        }
    }
    let count = to_run.iter().filter(|r| **r).count();
    let _ = write!(
        out,
        "{count} to run, {} fresh",
        plan.nodes.len() - count - left_out
    );
    if left_out > 0 {
        let _ = write!(out, ", {left_out} left out by --only");
    }
    out.push('\n');
    out
}
