//! The Slurm executor. runner is the driver, as in Snakemake's Slurm plugin
//! and Nextflow: each ready node becomes one `sbatch` job that runs
//! `runner node KEY`; the driver watches the jobs and submits the next ones.
//! The DAG logic stays here, the cluster only runs single nodes.
//!
//! - **Submission** happens under the node lock: the driver writes `node.json`
//!   (what to run) and `job.json` (an attempt "submitting", then the job id)
//!   before the job can do anything (it waits for the lock). A second driver, or
//!   a restarted one, finds the recorded job queued or running and attaches to
//!   it instead of submitting again.
//! - **Status**: the job's `job_exit.json` is the source of truth, checked
//!   every second (a cheap read); `squeue` runs once per interval for all jobs
//!   (growing while nothing changes) to notice jobs that ended without writing
//!   it; `sacct`, where the cluster keeps accounting, tells their final state
//!   once squeue has forgotten them. A job that is gone and left no exit
//!   record is waited for `latency_wait` seconds (shared file systems lag) and
//!   is never taken as a success unless its DONE is there.
//! - **Resubmission**: a training job told its time limit is near (SIGUSR2)
//!   saves its checkpoint and exits with [`exit::RESUBMIT`]; it is submitted
//!   again and resumes. A job preempted or lost with its node is submitted
//!   again up to `--retries` times.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::executor::{Executor, Finished};
use super::job::{Attempt, ExitRecord, JobRecord, JobSpec};
use super::lock::NodeLock;
use super::plan::{NodeKind, Plan};
use super::provenance::{hostname, rfc3339_utc, unix_now};
use super::store::{is_done, Store};
use super::work::{DeviceNeed, Outcome};
use crate::exit;
use crate::interrupt::StopReason;
use crate::pipeline::schema::DeviceChoice;
use crate::progress::Progress;
use crate::slurm::batch::{job_name, resource_args, sbatch_args, shell_quote, BatchJob};
use crate::slurm::state::QueueEntry;
use crate::slurm::{JobState, Profile, Slurm};

/// How the driver submits and where the jobs find everything.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// The cluster profile.
    pub profile: Profile,
    /// Submissions again after a preemption, a node failure or a time limit
    /// reached without a checkpoint, per node.
    pub retries: u32,
    /// Recompute fresh nodes too (`runner node --force`).
    pub force: bool,
    /// The runner binary the jobs run.
    pub runner: PathBuf,
    /// The jobs' working folder (absolute): where the pipeline's relative data
    /// paths are found.
    pub workdir: PathBuf,
    /// The results and cache folders, absolute, as the jobs see them.
    pub store: Store,
}

/// Checks, before anything is submitted, that Slurm is there, that it takes
/// jobs of each kind this plan will submit (`sbatch --test-only` with the
/// profile's partition, account, QOS and resources), and that the cells that
/// ask for a GPU get one from the profile.
pub fn preflight(
    plan: &Plan,
    force: bool,
    opts: &SlurmOptions,
    slurm: &Slurm,
) -> Result<(), String> {
    slurm.check_installed()?;
    let to_run = plan.to_run(force);
    let mut kinds: Vec<&str> = Vec::new();
    for (i, node) in plan.nodes.iter().enumerate() {
        if !to_run[i] || node.kind == NodeKind::Report {
            continue;
        }
        let kind = node.kind.name();
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
        if matches!(node.kind, NodeKind::Train | NodeKind::Eval) {
            let cell = &plan.pipeline.cells[node.cells[0]].config;
            let wants_gpu = matches!(
                cell.train.device,
                DeviceChoice::AnyCuda | DeviceChoice::Cuda(_)
            );
            let gets_gpu = opts
                .profile
                .resources(kind)
                .gpus
                .as_ref()
                .is_some_and(|g| g.any());
            if wants_gpu && !gets_gpu {
                return Err(format!(
                    "train.device is {} but the profile gives {kind} jobs no GPU: set \
                     {kind}.gpus in the profile (or train.device: auto)",
                    cell.train.device
                ));
            }
        }
    }
    for kind in kinds {
        let args = resource_args(&opts.profile, opts.profile.resources(kind));
        slurm
            .test_submit(&args)
            .map_err(|e| format!("sbatch refuses {kind} jobs with this profile: {e}"))?;
    }
    Ok(())
}

/// A node the driver watches.
struct Tracked {
    index: usize,
    job: JobSpec,
    /// Its folder, as this process sees it.
    dir: PathBuf,
    /// The job running it; `None` while another process holds the node (it is
    /// checked again every tick).
    job_id: Option<String>,
    /// Submitted by this driver (cancelled on Ctrl-C).
    own: bool,
    /// The job's log file.
    log: Option<PathBuf>,
    /// When the driver started watching the node.
    since: Instant,
    /// Resubmissions spent on transient failures.
    retries_used: u32,
    /// Steps saved by the last checkpointed attempt.
    last_step: Option<u64>,
    /// The job's state as squeue last said.
    state: Option<JobState>,
    /// Since when the job is ended or gone from the queue without the node
    /// being resolved (waiting out `latency_wait`).
    gone_since: Option<Instant>,
}

/// Where a node stands after trying to hand it to Slurm.
enum Placement {
    /// Complete already.
    Done,
    /// A job submitted earlier is queued or running it.
    Attached(String, Option<PathBuf>),
    /// Submitted now.
    Submitted(String, PathBuf),
    /// Another process holds the node; look again later.
    Busy,
}

/// What a node's watch keeps across its resubmissions.
#[derive(Debug, Clone, Copy)]
struct Carry {
    since: Instant,
    retries_used: u32,
    last_step: Option<u64>,
}

/// What to do with a node whose job ended.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// It is finished: this is how.
    Finished(Outcome),
    /// Submit it again; `counted`: spends one of the retries.
    Resubmit { why: String, counted: bool },
}

/// What the driver knows of a job that ran a node.
#[derive(Debug, Clone)]
struct Evidence<'a> {
    /// The node's kind.
    kind: NodeKind,
    /// The job's own exit record, if it wrote one.
    exit: Option<&'a ExitRecord>,
    /// Whether the node's DONE (with its key) is there.
    done: bool,
    /// The job's state as squeue (or, once it is forgotten there, sacct) said.
    state: Option<JobState>,
    /// Whether the job has ended or left the queue.
    gone: bool,
    /// Whether it did so more than `latency_wait` ago.
    waited_out: bool,
    /// Steps saved by the previous attempt's checkpoint.
    last_step: Option<u64>,
}

/// How a node's job ended, from `e`; `None` while it runs or its files may
/// still be on their way. The job's exit record is the source of truth; the
/// scheduler's state is used when there is none, and a state runner cannot
/// read is never a success.
fn judge(e: &Evidence) -> Option<Verdict> {
    let failed = |why: String| Some(Verdict::Finished(Outcome::Failed(why)));
    let made_progress = |step: Option<u64>| step.is_some() && step > e.last_step;
    let final_state = e.state.as_ref().filter(|s| s.is_final());
    if let Some(record) = e.exit {
        let message = record.message.clone().unwrap_or_default();
        return match record.exit_code {
            exit::OK if e.done => Some(Verdict::Finished(if record.outcome == "fresh" {
                Outcome::AlreadyDone
            } else {
                Outcome::Ran
            })),
            // DONE may still be on its way through the shared file system.
            exit::OK if !e.waited_out => None,
            exit::OK => failed("the job ended with exit code 0 but its DONE is missing".into()),
            exit::RESUBMIT => Some(Verdict::Resubmit {
                why: format!("checkpointed: {message}"),
                // A checkpoint that made no progress spends a retry.
                counted: !made_progress(record.step),
            }),
            exit::INTERRUPTED => match final_state {
                Some(s) if s.is_transient() => Some(Verdict::Resubmit {
                    why: format!("{}: {message}", s.name()),
                    counted: true,
                }),
                // Its checkpoint moved on: as good as the SIGUSR2 path.
                Some(JobState::Timeout) if e.kind == NodeKind::Train => Some(Verdict::Resubmit {
                    why: format!("TIMEOUT: {message}"),
                    counted: !made_progress(record.step),
                }),
                Some(_) => failed(format!("{}: {message}", record.outcome)),
                None if e.waited_out => failed(format!("{}: {message}", record.outcome)),
                None => None,
            },
            // A failure: reported once Slurm's final state can be named with
            // it (or the wait for it is over).
            _ if final_state.is_none() && !e.waited_out => None,
            exit::INPUT => failed(format!("input error on the compute node: {message}")),
            _ => failed(message),
        };
    }
    // No exit record: only the scheduler's word, once the files had time.
    if !e.waited_out {
        return None;
    }
    if e.done {
        return Some(Verdict::Finished(Outcome::Ran));
    }
    let kind = e.kind.name();
    match final_state {
        Some(s) if s.is_transient() => Some(Verdict::Resubmit {
            why: s.name().to_string(),
            counted: true,
        }),
        Some(JobState::Timeout) if e.kind == NodeKind::Train => Some(Verdict::Resubmit {
            why: "TIMEOUT before a checkpoint was asked for".to_string(),
            counted: true,
        }),
        Some(JobState::Timeout) => failed(format!(
            "reached its time limit: raise {kind}.time in the profile"
        )),
        Some(JobState::OutOfMemory) => failed(format!(
            "ran out of memory: raise {kind}.mem in the profile"
        )),
        Some(JobState::Cancelled) => {
            failed("cancelled before it could write its exit record".into())
        }
        Some(_) => failed("the job ended without an exit record (see its log)".into()),
        None if e.gone => failed(
            "the job left the queue without an exit record and Slurm keeps no accounting \
             to say why"
                .into(),
        ),
        None => None,
    }
}

/// Runs nodes as Slurm batch jobs.
pub struct SlurmExecutor {
    slurm: Slurm,
    opts: SlurmOptions,
    /// The results and cache folders as this process sees them.
    local: Store,
    progress: Progress,
    tracked: Vec<Tracked>,
    /// Nodes resolved at start (fresh, or failed to submit), returned by the
    /// next `wait`.
    ready: Vec<Finished>,
    /// squeue's last answer.
    known: HashMap<String, QueueEntry>,
    /// Whether sacct works here (`None`: not tried yet).
    accounting: Option<bool>,
    next_queue_check: Instant,
    queue_interval: Duration,
    done: usize,
    failed: usize,
    last_status: String,
    status_bar: Option<ProgressBar>,
    /// The last warning printed (a failing command is reported once, not
    /// every tick).
    last_warning: String,
}

impl SlurmExecutor {
    /// A driver with `opts`, reading and writing node folders through `local`.
    pub fn new(opts: SlurmOptions, local: Store, progress: Progress, slurm: Slurm) -> Self {
        let queue_interval = Duration::from_secs(u64::from(opts.profile.poll_seconds));
        let status_bar = progress.interactive().then(|| progress.status_line());
        SlurmExecutor {
            slurm,
            opts,
            local,
            progress,
            tracked: Vec::new(),
            ready: Vec::new(),
            known: HashMap::new(),
            accounting: None,
            next_queue_check: Instant::now() + queue_interval,
            queue_interval,
            done: 0,
            failed: 0,
            last_status: String::new(),
            status_bar,
            last_warning: String::new(),
        }
    }

    /// Asks squeue once about every job recorded for the nodes of `plan` that
    /// will run, so that starting them re-attaches without a call each.
    pub fn learn_recorded_jobs(&mut self, plan: &Plan) {
        let to_run = plan.to_run(self.opts.force);
        let ids: Vec<String> = (0..plan.nodes.len())
            .filter(|&i| to_run[i])
            .filter_map(|i| JobSpec::of(plan, i))
            .filter_map(|job| {
                let record = JobRecord::read(&job.dir(&self.local));
                record.current().and_then(|a| a.job_id.clone())
            })
            .collect();
        if ids.is_empty() {
            return;
        }
        match self.slurm.queue(&ids) {
            Ok(known) => self.known.extend(known),
            Err(e) => self.warn(&e),
        }
    }

    /// The job recorded in `dir` if it is still queued or running. squeue is
    /// asked when its last answer does not know the job, or, with `recheck`,
    /// when it last saw the job alive (an ended job stays ended).
    fn live_job(
        &mut self,
        dir: &Path,
        recheck: bool,
    ) -> Result<Option<(String, Option<PathBuf>)>, String> {
        let record = JobRecord::read(dir);
        let Some(attempt) = record.current() else {
            return Ok(None);
        };
        let Some(id) = attempt.job_id.clone() else {
            return Ok(None);
        };
        let stale = match self.known.get(&id) {
            None => true,
            Some(entry) => recheck && !entry.state.is_final(),
        };
        if stale {
            self.known.remove(&id);
            let answer = self.slurm.queue(std::slice::from_ref(&id))?;
            self.known.extend(answer);
        }
        let alive = self.known.get(&id).is_some_and(|e| !e.state.is_final());
        // Its own exit record also says it is over (the queue may lag).
        let exited = ExitRecord::read(dir).is_some_and(|e| e.job_id.as_ref() == Some(&id));
        Ok((alive && !exited).then(|| (id, attempt.log.clone())))
    }

    /// Where `job` stands without a new submission: complete, or attached to
    /// its live job (`recheck`: see [`SlurmExecutor::live_job`]), or to be
    /// looked at again when squeue fails (never submit on a guess); `None`
    /// when it needs a job.
    fn placed_already(&mut self, job: &JobSpec, dir: &Path, recheck: bool) -> Option<Placement> {
        if !self.opts.force && is_done(dir, &job.key) {
            return Some(Placement::Done);
        }
        match self.live_job(dir, recheck) {
            Ok(Some((id, log))) => Some(Placement::Attached(id, log)),
            Ok(None) => None,
            Err(e) => {
                self.warn(&e);
                Some(Placement::Busy)
            }
        }
    }

    /// Hands `job` to Slurm: attaches to a job already running it, or submits
    /// one under the node lock.
    fn place(&mut self, job: &JobSpec, dir: &Path) -> Result<Placement, String> {
        if let Some(placed) = self.placed_already(job, dir, false) {
            return Ok(placed);
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let Some(_lock) = NodeLock::try_acquire(dir).map_err(|e| format!("{e:#}"))? else {
            return Ok(Placement::Busy);
        };
        // Under the lock: another driver may have finished or submitted it.
        if let Some(placed) = self.placed_already(job, dir, true) {
            return Ok(placed);
        }
        let mut record = JobRecord::read(dir);
        if let Some(attempt) = record.current_mut() {
            if attempt.job_id.is_none() {
                // A driver died while submitting: its job may exist under the name.
                let name = job_name(&job.pipeline, job.kind.name(), &job.key.short());
                if let Some(id) = self.slurm.find_by_name(&name)?.into_iter().next() {
                    attempt.job_id = Some(id.clone());
                    record.write(dir).map_err(|e| format!("{e:#}"))?;
                    return Ok(Placement::Attached(id, None));
                }
            }
            let id = attempt.job_id.clone().unwrap_or_default();
            attempt.state = Some(
                self.known
                    .get(&id)
                    .map_or("ENDED".to_string(), |e| e.state.name().to_string()),
            );
        }
        let (id, log) = self.submit(job, dir, record)?;
        Ok(Placement::Submitted(id, log))
    }

    /// Submits `job` (the caller holds its lock), recording the attempt in
    /// `record` first and the job id right after.
    fn submit(
        &mut self,
        job: &JobSpec,
        dir: &Path,
        mut record: JobRecord,
    ) -> Result<(String, PathBuf), String> {
        job.write(dir).map_err(|e| format!("{e:#}"))?;
        record.attempts.push(Attempt {
            job_id: None,
            submitted: rfc3339_utc(unix_now()),
            submit_host: hostname(),
            driver_pid: std::process::id(),
            log: None,
            state: None,
            exit_code: None,
        });
        record.write(dir).map_err(|e| format!("{e:#}"))?;
        let logs = self.opts.store.logs_dir(&job.pipeline);
        std::fs::create_dir_all(self.local.logs_dir(&job.pipeline))
            .map_err(|e| format!("creating {}: {e}", logs.display()))?;
        let kind = job.kind.name();
        let short = job.key.short();
        let log_pattern = logs.join(format!("{kind}-{short}-%j.log"));
        let mut command = format!(
            "{} --results-dir {} --cache-dir {} node {} --pipeline {}",
            shell_quote(&self.opts.runner.display().to_string()),
            shell_quote(&self.opts.store.results_dir.display().to_string()),
            shell_quote(&self.opts.store.cache_dir.display().to_string()),
            job.key,
            shell_quote(&job.pipeline),
        );
        if self.opts.force {
            command.push_str(" --force");
        }
        let batch = BatchJob {
            name: job_name(&job.pipeline, kind, &short),
            log: log_pattern,
            workdir: self.opts.workdir.clone(),
            resources: self.opts.profile.resources(kind),
            signal_grace: (job.kind == NodeKind::Train).then_some(self.opts.profile.signal_grace),
            command,
        };
        let id = match self.slurm.submit(&sbatch_args(&self.opts.profile, &batch)) {
            Ok(id) => id,
            Err(e) => {
                record.attempts.pop();
                let _ = record.write(dir);
                return Err(e);
            }
        };
        let log = logs.join(format!("{kind}-{short}-{id}.log"));
        if let Some(attempt) = record.attempts.last_mut() {
            attempt.job_id = Some(id.clone());
            attempt.log = Some(log.clone());
        }
        if let Err(e) = record.write(dir) {
            // Unrecorded, it could be submitted twice: take it back.
            let _ = self.slurm.cancel(std::slice::from_ref(&id));
            return Err(format!("{e:#}"));
        }
        Ok((id, log))
    }

    /// Records the final `state` (and exit code) of job `id` in `dir`'s
    /// job.json, when no other process holds the node (it is informative: a
    /// job that is not live is treated as ended whatever the record says).
    fn record_end(dir: &Path, id: &str, state: &str, exit_code: Option<i32>) {
        let Ok(Some(_lock)) = NodeLock::try_acquire(dir) else {
            return;
        };
        let mut record = JobRecord::read(dir);
        if let Some(attempt) = record
            .attempts
            .iter_mut()
            .rev()
            .find(|a| a.job_id.as_deref() == Some(id))
        {
            if attempt.state.is_none() {
                attempt.state = Some(state.to_string());
                attempt.exit_code = exit_code;
                let _ = record.write(dir);
            }
        }
    }

    /// Places `job` and starts watching it (or reports it at once).
    fn track(&mut self, index: usize, job: JobSpec, what: &str, carry: Carry) {
        let tracked = Tracked {
            index,
            dir: job.dir(&self.local),
            job_id: None,
            own: false,
            log: None,
            since: carry.since,
            retries_used: carry.retries_used,
            last_step: carry.last_step,
            state: None,
            gone_since: None,
            job,
        };
        self.place_and_watch(tracked, what, true);
    }

    /// Places `t` and watches its job, or reports the node through `ready`
    /// (complete already, or failed to submit); `first`: the driver sees the
    /// node for the first time (it then says when another runner holds it).
    fn place_and_watch(&mut self, mut t: Tracked, what: &str, first: bool) {
        let outcome = match self.place(&t.job, &t.dir) {
            Ok(Placement::Done) => Outcome::AlreadyDone,
            Err(e) => Outcome::Failed(e),
            Ok(Placement::Busy) => {
                if first {
                    self.progress
                        .println(format!("{what}: another runner holds it; waiting"));
                }
                self.tracked.push(t);
                return;
            }
            Ok(Placement::Attached(id, log)) => {
                self.progress
                    .println(format!("{what}: attached to job {id}, submitted earlier"));
                t.job_id = Some(id);
                t.log = log;
                self.tracked.push(t);
                return;
            }
            Ok(Placement::Submitted(id, log)) => {
                self.progress.println(format!(
                    "{what}: submitted as job {id}, log {}",
                    log.display()
                ));
                t.job_id = Some(id);
                t.own = true;
                t.log = Some(log);
                self.tracked.push(t);
                return;
            }
        };
        self.ready.push(Finished {
            index: t.index,
            outcome,
            secs: t.since.elapsed().as_secs_f64(),
        });
    }

    /// The verdict on `t` from its files and the scheduler's state, or `None`
    /// while it is still running (or its files may still be on their way).
    fn verdict(&mut self, t: &Tracked) -> Option<Verdict> {
        let id = t.job_id.as_deref()?;
        let exit = ExitRecord::read(&t.dir).filter(|e| e.job_id.as_deref() == Some(id));
        let latency = Duration::from_secs(u64::from(self.opts.profile.latency_wait));
        let done = is_done(&t.dir, &t.job.key);
        let mut evidence = Evidence {
            kind: t.job.kind,
            exit: exit.as_ref(),
            done,
            state: t.state.clone(),
            gone: t.gone_since.is_some(),
            waited_out: t.gone_since.is_some_and(|g| g.elapsed() >= latency),
            last_step: t.last_step,
        };
        // Only when the job is gone without a word: ask the accounting.
        let unknown = !evidence.state.as_ref().is_some_and(JobState::is_final);
        if exit.is_none() && !done && evidence.waited_out && unknown {
            evidence.state = self.accounted_state(id);
        }
        let Some(verdict) = judge(&evidence) else {
            if exit.is_some() {
                // The job has ended by its own word: ask squeue soon for its state.
                self.next_queue_check = self.next_queue_check.min(Instant::now());
            }
            return None;
        };
        // Name the job, its state and its log in every failure.
        Some(match verdict {
            Verdict::Finished(Outcome::Failed(why)) => {
                let state = evidence
                    .state
                    .as_ref()
                    .map_or("state unknown", JobState::name);
                let log = t
                    .log
                    .as_ref()
                    .map_or(String::new(), |l| format!(", log {}", l.display()));
                let code = exit
                    .as_ref()
                    .map_or(String::new(), |e| format!(", exit code {}", e.exit_code));
                Verdict::Finished(Outcome::Failed(format!(
                    "{why} (Slurm job {id}, {state}{log}{code})"
                )))
            }
            other => other,
        })
    }

    /// The final state of `id` from sacct, when the cluster keeps accounting.
    fn accounted_state(&mut self, id: &str) -> Option<JobState> {
        if self.accounting == Some(false) {
            return None;
        }
        match self.slurm.accounting(&[id.to_string()]) {
            Ok(Some(records)) => {
                self.accounting = Some(true);
                records.get(id).map(|r| r.state.clone())
            }
            Ok(None) => {
                self.accounting = Some(false);
                None
            }
            Err(e) => {
                self.warn(&e);
                None
            }
        }
    }

    /// One squeue call for every watched job; marks the ones that ended or
    /// left the queue. Returns whether any state changed.
    fn poll_queue(&mut self) -> bool {
        let ids: Vec<String> = self
            .tracked
            .iter()
            .filter_map(|t| t.job_id.clone())
            .collect();
        if ids.is_empty() {
            return false;
        }
        let known = match self.slurm.queue(&ids) {
            Ok(known) => known,
            Err(e) => {
                // Never a verdict from a failed query: keep waiting.
                self.warn(&e);
                return false;
            }
        };
        let mut changed = false;
        for t in &mut self.tracked {
            let Some(id) = &t.job_id else { continue };
            let state = known.get(id).map(|e| e.state.clone());
            if state != t.state {
                changed = true;
            }
            let gone = state.as_ref().is_none_or(JobState::is_final);
            if !gone {
                // Running, or back in the queue (Slurm requeued it).
                t.gone_since = None;
            } else if t.gone_since.is_none() {
                t.gone_since = Some(Instant::now());
            }
            t.state = state.or(t.state.take().filter(JobState::is_final));
        }
        self.known = known;
        changed
    }

    /// Prints `message` as a warning unless it was the last one printed.
    fn warn(&mut self, message: &str) {
        if message != self.last_warning {
            self.progress.println(format!("warning: {message}"));
            self.last_warning = message.to_string();
        }
    }

    /// Prints the counts when they changed (a status line on a terminal).
    fn show_status(&mut self) {
        let (mut queued, mut running, mut waiting) = (0, 0, 0);
        for t in &self.tracked {
            match (&t.job_id, &t.state) {
                (None, _) => waiting += 1,
                (_, None) => queued += 1,
                (_, Some(s)) if s.is_queued() => queued += 1,
                _ => running += 1,
            }
        }
        let mut text = format!(
            "slurm: {queued} queued, {running} running, {} done, {} failed",
            self.done, self.failed
        );
        if waiting > 0 {
            text.push_str(&format!(", {waiting} held by another runner"));
        }
        if text == self.last_status {
            return;
        }
        match &self.status_bar {
            Some(bar) => bar.set_message(text.clone()),
            None => self.progress.println(&text),
        }
        self.last_status = text;
    }
}

impl SlurmExecutor {
    /// Calls squeue, then sets when to call it next: soon after a change,
    /// later and later (up to six times `poll_seconds`) while nothing changes.
    fn poll_on_schedule(&mut self) {
        let changed = self.poll_queue();
        let base = Duration::from_secs(u64::from(self.opts.profile.poll_seconds));
        self.queue_interval = if changed {
            base
        } else {
            self.queue_interval.mul_f64(1.5).min(base * 6)
        };
        self.next_queue_check = Instant::now() + self.queue_interval;
    }

    /// Acts on the verdict on `t`'s job: keeps watching it, reports the node
    /// finished, or submits it again.
    fn settle(&mut self, t: Tracked, finished: &mut Vec<Finished>) {
        let Some(verdict) = self.verdict(&t) else {
            self.tracked.push(t);
            return;
        };
        let id = t.job_id.clone().unwrap_or_default();
        let exit = ExitRecord::read(&t.dir).filter(|e| e.job_id.as_deref() == Some(id.as_str()));
        let code = exit.as_ref().map(|e| e.exit_code);
        let slurm_state = t.state.as_ref().map_or("ENDED", JobState::name).to_string();
        let secs = t.since.elapsed().as_secs_f64();
        match verdict {
            Verdict::Finished(outcome) => {
                let state = if outcome.succeeded() {
                    "COMPLETED".to_string()
                } else {
                    slurm_state
                };
                Self::record_end(&t.dir, &id, &state, code);
                finished.push(Finished {
                    index: t.index,
                    outcome,
                    secs,
                });
            }
            Verdict::Resubmit { why, counted }
                if counted && t.retries_used >= self.opts.retries =>
            {
                Self::record_end(&t.dir, &id, &slurm_state, code);
                finished.push(Finished {
                    index: t.index,
                    outcome: Outcome::Failed(format!(
                        "{why} (Slurm job {id}; {} resubmission(s) spent, --retries {})",
                        t.retries_used, self.opts.retries
                    )),
                    secs,
                });
            }
            Verdict::Resubmit { why, counted } => {
                let state = if code == Some(exit::RESUBMIT) {
                    "CHECKPOINTED".to_string()
                } else {
                    slurm_state
                };
                Self::record_end(&t.dir, &id, &state, code);
                let what = format!("  {}", t.job.describe());
                self.progress
                    .println(format!("{what}: job {id} {why}; submitting it again"));
                let carry = Carry {
                    since: t.since,
                    retries_used: t.retries_used + u32::from(counted),
                    last_step: exit.and_then(|e| e.step).or(t.last_step),
                };
                self.track(t.index, t.job, &what, carry);
            }
        }
    }
}

impl Executor for SlurmExecutor {
    fn has_room(&self, _need: DeviceNeed) -> bool {
        self.tracked.len() < self.opts.profile.max_jobs as usize
    }

    /// A batch job waits for its node's lock itself (`runner node`).
    fn start(
        &mut self,
        index: usize,
        job: JobSpec,
        _need: DeviceNeed,
        what: &str,
        _wait_for_lock: bool,
    ) {
        let carry = Carry {
            since: Instant::now(),
            retries_used: 0,
            last_step: None,
        };
        self.track(index, job, what, carry);
        self.show_status();
    }

    fn in_flight(&self) -> usize {
        self.tracked.len() + self.ready.len()
    }

    fn wait(&mut self) -> Vec<Finished> {
        let tick = Duration::from_secs(1).min(self.queue_interval);
        loop {
            let mut finished = std::mem::take(&mut self.ready);
            if finished.is_empty() {
                if crate::interrupt::requested() {
                    return Vec::new();
                }
                if Instant::now() >= self.next_queue_check {
                    self.poll_on_schedule();
                }
                for t in std::mem::take(&mut self.tracked) {
                    match t.job_id {
                        // Held by another process when last tried.
                        None => {
                            let what = format!("  {}", t.job.describe());
                            self.place_and_watch(t, &what, false);
                        }
                        Some(_) => self.settle(t, &mut finished),
                    }
                }
                finished.append(&mut self.ready);
            }
            for f in &finished {
                if f.outcome.succeeded() {
                    self.done += 1;
                } else {
                    self.failed += 1;
                }
            }
            self.show_status();
            if !finished.is_empty() {
                // A node ended: the next ones may be ready; look at the queue soon.
                self.queue_interval =
                    Duration::from_secs(u64::from(self.opts.profile.poll_seconds));
                return finished;
            }
            // Sleep a tick, waking early on a stop request.
            let until = Instant::now() + tick;
            while Instant::now() < until && !crate::interrupt::requested() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn stop(&mut self, reason: StopReason) -> Vec<Finished> {
        let tracked = std::mem::take(&mut self.tracked);
        let cancel: Vec<String> = if reason == StopReason::Interrupt {
            tracked
                .iter()
                .filter(|t| t.own)
                .filter_map(|t| t.job_id.clone())
                .collect()
        } else {
            Vec::new()
        };
        if !cancel.is_empty() {
            match self.slurm.cancel(&cancel) {
                Ok(()) => self.progress.println(format!(
                    "cancelled {} job(s) submitted by this run: {}",
                    cancel.len(),
                    cancel.join(" ")
                )),
                Err(e) => self.progress.println(format!("warning: {e}")),
            }
        }
        if let Some(bar) = &self.status_bar {
            bar.finish_and_clear();
        }
        tracked
            .into_iter()
            .map(|t| {
                let message = match &t.job_id {
                    Some(id) if cancel.contains(id) => {
                        Self::record_end(&t.dir, id, "CANCELLED", None);
                        format!("job {id} cancelled")
                    }
                    Some(id) => format!("job {id} keeps running; run again to re-attach"),
                    None => "not submitted".to_string(),
                };
                Finished {
                    index: t.index,
                    outcome: Outcome::Stopped {
                        message,
                        step: None,
                    },
                    secs: t.since.elapsed().as_secs_f64(),
                }
            })
            .collect()
    }
}

impl Drop for SlurmExecutor {
    fn drop(&mut self) {
        if let Some(bar) = &self.status_bar {
            bar.finish_and_clear();
        }
    }
}

/// `results/<pipeline>/driver.json`: the driver job of `run --detach`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DriverRecord {
    /// Its Slurm job id.
    pub job_id: String,
    /// When it was submitted (RFC 3339, UTC).
    pub submitted: String,
    /// Its log file.
    pub log: PathBuf,
}

impl DriverRecord {
    /// The record of `pipeline` in `store`, if there is one.
    pub fn read(store: &Store, pipeline: &str) -> Option<DriverRecord> {
        let path = store.pipeline_dir(pipeline).join(super::store::DRIVER_FILE);
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether its job is still queued or running.
    pub fn is_live(&self, slurm: &Slurm) -> bool {
        slurm
            .queue(std::slice::from_ref(&self.job_id))
            .ok()
            .and_then(|known| known.get(&self.job_id).map(|e| !e.state.is_final()))
            .unwrap_or(false)
    }
}

/// Submits the driver of `pipeline` itself as a Slurm job (`run --detach`):
/// one CPU unless the profile's `driver:` says otherwise, running `runner
/// run ARGS` with the results and cache folders of `opts`; records it in
/// `driver.json` (through `local`) and returns the record.
pub fn submit_driver(
    opts: &SlurmOptions,
    local: &Store,
    slurm: &Slurm,
    pipeline: &str,
    run_args: &[String],
) -> Result<DriverRecord, String> {
    let mut resources = opts.profile.driver.clone();
    resources.cpus.get_or_insert(1);
    let mut command = format!(
        "{} --results-dir {} --cache-dir {} run",
        shell_quote(&opts.runner.display().to_string()),
        shell_quote(&opts.store.results_dir.display().to_string()),
        shell_quote(&opts.store.cache_dir.display().to_string()),
    );
    for arg in run_args {
        command.push(' ');
        command.push_str(&shell_quote(arg));
    }
    std::fs::create_dir_all(local.logs_dir(pipeline))
        .map_err(|e| format!("creating {}: {e}", local.logs_dir(pipeline).display()))?;
    let logs = opts.store.logs_dir(pipeline);
    let batch = BatchJob {
        name: job_name(pipeline, "driver", "")
            .trim_end_matches('-')
            .to_string(),
        log: logs.join("driver-%j.log"),
        workdir: opts.workdir.clone(),
        resources: &resources,
        signal_grace: None,
        command,
    };
    let id = slurm.submit(&sbatch_args(&opts.profile, &batch))?;
    let record = DriverRecord {
        job_id: id.clone(),
        submitted: rfc3339_utc(unix_now()),
        log: logs.join(format!("driver-{id}.log")),
    };
    let path = local.pipeline_dir(pipeline).join(super::store::DRIVER_FILE);
    let text = serde_json::to_string_pretty(&record).map_err(|e| e.to_string())?;
    crate::atomic::write_atomic(&path, text.as_bytes())
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(code: i32, outcome: &str, step: Option<u64>) -> ExitRecord {
        ExitRecord {
            job_id: Some("7".into()),
            exit_code: code,
            outcome: outcome.into(),
            message: Some("what happened".into()),
            step,
            host: Some("node1".into()),
            started: "2026-12-01T00:00:00Z".into(),
            finished: "2026-12-01T00:01:00Z".into(),
        }
    }

    /// Evidence of a training job that is gone and waited for.
    fn gone(exit: Option<&ExitRecord>, state: Option<JobState>) -> Evidence<'_> {
        Evidence {
            kind: NodeKind::Train,
            exit,
            done: false,
            state,
            gone: true,
            waited_out: true,
            last_step: Some(100),
        }
    }

    fn resubmit(counted: bool) -> impl Fn(&Option<Verdict>) -> bool {
        move |v| matches!(v, Some(Verdict::Resubmit { counted: c, .. }) if *c == counted)
    }

    fn failed_with(text: &'static str) -> impl Fn(&Option<Verdict>) -> bool {
        move |v| matches!(v, Some(Verdict::Finished(Outcome::Failed(m))) if m.contains(text))
    }

    #[test]
    fn the_exit_record_decides_when_there_is_one() {
        let ok = record(0, "done", None);
        let mut e = gone(Some(&ok), Some(JobState::Completed));
        e.done = true;
        assert_eq!(judge(&e), Some(Verdict::Finished(Outcome::Ran)));
        let fresh = record(0, "fresh", None);
        e.exit = Some(&fresh);
        assert_eq!(judge(&e), Some(Verdict::Finished(Outcome::AlreadyDone)));
        // Exit 0 without DONE: wait for the file system, then fail; never done.
        e.done = false;
        e.waited_out = false;
        assert_eq!(judge(&e), None);
        e.waited_out = true;
        assert!(failed_with("DONE is missing")(&judge(&e)));

        // SIGUSR2: free while the checkpoint moves on, a retry when it does not.
        let moved = record(75, "checkpointed", Some(160));
        assert!(resubmit(false)(&judge(&gone(Some(&moved), None))));
        let stuck = record(75, "checkpointed", Some(100));
        assert!(resubmit(true)(&judge(&gone(Some(&stuck), None))));

        // A failure waits for Slurm's final state, to name it.
        let diverged = record(1, "failed", None);
        let mut e = gone(Some(&diverged), Some(JobState::Running));
        e.waited_out = false;
        assert_eq!(judge(&e), None);
        e.state = Some(JobState::Failed);
        assert!(failed_with("what happened")(&judge(&e)));
        assert!(failed_with("what happened")(&judge(&gone(
            Some(&diverged),
            None
        ))));
        let input = record(2, "input error", None);
        assert!(failed_with("input error on the compute node")(&judge(
            &gone(Some(&input), None)
        )));
    }

    #[test]
    fn a_stopped_job_is_read_with_its_final_state() {
        let stopped = record(130, "stopped by SIGTERM", Some(150));
        let with = |state| judge(&gone(Some(&stopped), Some(state)));
        assert!(resubmit(true)(&with(JobState::Preempted)));
        assert!(resubmit(true)(&with(JobState::NodeFail)));
        assert!(resubmit(false)(&with(JobState::Timeout)), "progress made");
        assert!(failed_with("stopped by SIGTERM")(&with(
            JobState::Cancelled
        )));
        // The state is not known yet: wait, then fail rather than guess.
        let mut e = gone(Some(&stopped), Some(JobState::Completing));
        e.waited_out = false;
        assert_eq!(judge(&e), None);
        e.waited_out = true;
        assert!(failed_with("stopped by SIGTERM")(&judge(&e)));
        // An eval's time limit is not resumable: it fails.
        let mut e = gone(Some(&stopped), Some(JobState::Timeout));
        e.kind = NodeKind::Eval;
        assert!(failed_with("stopped by SIGTERM")(&judge(&e)));
    }

    /// Jobs that died without a word, including the states a single-node test
    /// cluster cannot produce (out of memory, node failure, preemption).
    #[test]
    fn without_an_exit_record_the_state_decides_and_never_as_success() {
        let with = |state| judge(&gone(None, Some(state)));
        assert!(resubmit(true)(&with(JobState::Preempted)));
        assert!(resubmit(true)(&with(JobState::NodeFail)));
        assert!(resubmit(true)(&with(JobState::BootFail)));
        assert!(resubmit(true)(&with(JobState::Timeout)), "training resumes");
        assert!(failed_with("raise train.mem")(&with(JobState::OutOfMemory)));
        assert!(failed_with("cancelled")(&with(JobState::Cancelled)));
        assert!(failed_with("without an exit record")(&with(
            JobState::Completed
        )));
        assert!(failed_with("without an exit record")(&with(
            JobState::Failed
        )));
        let mut eval = gone(None, Some(JobState::Timeout));
        eval.kind = NodeKind::Eval;
        assert!(failed_with("raise eval.time")(&judge(&eval)));
        // Forgotten by squeue, no accounting: a failure, not a success.
        assert!(failed_with("keeps no accounting")(&judge(&gone(
            None, None
        ))));
        // Still running, or just gone: no verdict yet.
        let mut running = gone(None, Some(JobState::Running));
        running.gone = false;
        running.waited_out = false;
        assert_eq!(judge(&running), None);
        let mut just_gone = gone(None, None);
        just_gone.waited_out = false;
        assert_eq!(judge(&just_gone), None);
        // DONE with its key is the result itself, whatever else is missing.
        let mut done = gone(None, None);
        done.done = true;
        assert_eq!(judge(&done), Some(Verdict::Finished(Outcome::Ran)));
    }
}
