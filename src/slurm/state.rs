//! Slurm job states and the output of `squeue` and `sacct` that carries them.
//!
//! Both are asked for machine-readable output: `squeue --noheader
//! --states=all --format=%i|%T|%r` (id, long state, reason) and `sacct
//! --noheader --parsable2 --allocations --format=JobIDRaw,State,ExitCode`.
//! squeue knows a finished job only for `MinJobAge` seconds (300 by default)
//! after it ends; sacct knows it as long as the accounting database does, and
//! fails on clusters without accounting.

use std::collections::HashMap;

/// A job's state, as Slurm names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// PENDING (PD): waiting for resources or held.
    Pending,
    /// CONFIGURING (CF): nodes are being readied.
    Configuring,
    /// RUNNING (R).
    Running,
    /// COMPLETING (CG): ended, processes being cleaned up.
    Completing,
    /// SUSPENDED (S) or STOPPED (ST).
    Suspended,
    /// REQUEUED (RQ), REQUEUE_HOLD (RH), REQUEUE_FED (RF), SPECIAL_EXIT (SE),
    /// RESV_DEL_HOLD (RD): back in the queue.
    Requeued,
    /// RESIZING (RS), SIGNALING (SI), STAGE_OUT (SO): running, in transition.
    Transition,
    /// COMPLETED (CD): exit code 0.
    Completed,
    /// FAILED (F): non-zero exit code.
    Failed,
    /// CANCELLED (CA): by a user or an administrator (`CANCELLED by <uid>`).
    Cancelled,
    /// TIMEOUT (TO): reached its time limit.
    Timeout,
    /// OUT_OF_MEMORY (OOM).
    OutOfMemory,
    /// NODE_FAIL (NF): a node it ran on failed.
    NodeFail,
    /// PREEMPTED (PR).
    Preempted,
    /// BOOT_FAIL (BF): its node did not boot.
    BootFail,
    /// DEADLINE (DL): not started before its deadline.
    Deadline,
    /// REVOKED (RV): another cluster of a federation took it.
    Revoked,
    /// Anything else, as written.
    Other(String),
}

impl JobState {
    /// Reads a long name (squeue's `%T`, sacct's `State`, with sacct's
    /// `CANCELLED by 1234` and a truncation mark `+` allowed) or a short code
    /// (squeue's `%t`).
    pub fn parse(text: &str) -> JobState {
        let word = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('+')
            .to_ascii_uppercase();
        match word.as_str() {
            "PENDING" | "PD" => JobState::Pending,
            "CONFIGURING" | "CF" => JobState::Configuring,
            "RUNNING" | "R" => JobState::Running,
            "COMPLETING" | "CG" => JobState::Completing,
            "SUSPENDED" | "S" | "STOPPED" | "ST" => JobState::Suspended,
            "REQUEUED" | "RQ" | "REQUEUE_HOLD" | "RH" | "REQUEUE_FED" | "RF" | "SPECIAL_EXIT"
            | "SE" | "RESV_DEL_HOLD" | "RD" => JobState::Requeued,
            "RESIZING" | "RS" | "SIGNALING" | "SI" | "STAGE_OUT" | "SO" => JobState::Transition,
            "COMPLETED" | "CD" => JobState::Completed,
            "FAILED" | "F" => JobState::Failed,
            "CANCELLED" | "CA" => JobState::Cancelled,
            "TIMEOUT" | "TO" => JobState::Timeout,
            "OUT_OF_MEMORY" | "OOM" => JobState::OutOfMemory,
            "NODE_FAIL" | "NF" => JobState::NodeFail,
            "PREEMPTED" | "PR" => JobState::Preempted,
            "BOOT_FAIL" | "BF" => JobState::BootFail,
            "DEADLINE" | "DL" => JobState::Deadline,
            "REVOKED" | "RV" => JobState::Revoked,
            _ => JobState::Other(text.trim().to_string()),
        }
    }

    /// Slurm's long name.
    pub fn name(&self) -> &str {
        match self {
            JobState::Pending => "PENDING",
            JobState::Configuring => "CONFIGURING",
            JobState::Running => "RUNNING",
            JobState::Completing => "COMPLETING",
            JobState::Suspended => "SUSPENDED",
            JobState::Requeued => "REQUEUED",
            JobState::Transition => "RUNNING",
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
            JobState::Cancelled => "CANCELLED",
            JobState::Timeout => "TIMEOUT",
            JobState::OutOfMemory => "OUT_OF_MEMORY",
            JobState::NodeFail => "NODE_FAIL",
            JobState::Preempted => "PREEMPTED",
            JobState::BootFail => "BOOT_FAIL",
            JobState::Deadline => "DEADLINE",
            JobState::Revoked => "REVOKED",
            JobState::Other(text) => text,
        }
    }

    /// Whether the job has ended: it will not run (again) by itself. A state
    /// runner cannot read is not an end (it keeps waiting for the job's own
    /// exit record).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobState::Completed
                | JobState::Failed
                | JobState::Cancelled
                | JobState::Timeout
                | JobState::OutOfMemory
                | JobState::NodeFail
                | JobState::Preempted
                | JobState::BootFail
                | JobState::Deadline
                | JobState::Revoked
        )
    }

    /// Whether it waits in the queue (counted as queued).
    pub fn is_queued(&self) -> bool {
        matches!(self, JobState::Pending | JobState::Requeued)
    }

    /// Whether the job ended through no fault of its own (its node failed or
    /// it was preempted), so that submitting it again is worth it.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            JobState::Preempted | JobState::NodeFail | JobState::BootFail
        )
    }
}

/// One job as squeue lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// Its state.
    pub state: JobState,
    /// Why it is in that state (`Resources`, `JobHeldUser`, `NonZeroExitCode`).
    pub reason: String,
}

/// Reads `squeue --noheader --format=%i|%T|%r` output. Lines that do not have
/// that shape (warnings, errors) are skipped.
pub fn parse_squeue(text: &str) -> HashMap<String, QueueEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split('|');
            let (id, state, reason) = (fields.next()?, fields.next()?, fields.next()?);
            if fields.next().is_some() || !is_job_id(id) {
                return None;
            }
            Some((
                id.to_string(),
                QueueEntry {
                    state: JobState::parse(state),
                    reason: reason.to_string(),
                },
            ))
        })
        .collect()
}

/// One job as sacct records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEntry {
    /// Its state.
    pub state: JobState,
    /// The batch script's exit code, when sacct gives one.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
}

/// Reads `sacct --noheader --parsable2 --allocations
/// --format=JobIDRaw,State,ExitCode` output. Step lines (`123.batch`,
/// `123.extern`), which `--allocations` normally leaves out, are skipped; so are
/// lines of another shape.
pub fn parse_sacct(text: &str) -> HashMap<String, AccountEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split('|');
            let (id, state, exit) = (fields.next()?, fields.next()?, fields.next()?);
            if !is_job_id(id) {
                return None;
            }
            let (code, signal) = match exit.split_once(':') {
                Some((c, s)) => (c.parse().ok(), s.parse().ok().filter(|&s| s != 0)),
                None => (exit.parse().ok(), None),
            };
            Some((
                id.to_string(),
                AccountEntry {
                    state: JobState::parse(state),
                    exit_code: code,
                    signal,
                },
            ))
        })
        .collect()
}

/// Whether `id` is a job id (digits, or an array task `123_4`), not a step.
pub fn is_job_id(id: &str) -> bool {
    let mut parts = id.splitn(2, '_');
    let head = parts.next().unwrap_or("");
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    digits(head) && parts.next().is_none_or(digits)
}

/// The job id in `sbatch --parsable` output: `123` or, on a multi-cluster
/// installation, `123;cluster`.
pub fn parse_sbatch_id(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let id = line.split(';').next()?.trim();
    is_job_id(id).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `squeue --noheader --states=all --format=%i|%T|%r --jobs=250,...,256`,
    /// recorded from Slurm 22.05.8 (Debian's slurm-wlm, the single-node cluster
    /// of scripts/slurm-up.sh, no accounting): a finished, a failed, a timed
    /// out and a cancelled job, one held, one waiting for resources, one running.
    const SQUEUE: &str = include_str!("testdata/squeue-22.05.txt");

    /// `sacct --noheader --parsable2 --allocations
    /// --format=JobIDRaw,State,ExitCode --jobs=257,...,262`, recorded from the
    /// same Slurm with accounting (slurmdbd and MariaDB added for the
    /// recording): finished, failed with exit 3, timed out, cancelled while
    /// running, cancelled while held, and killed by signal 9.
    const SACCT: &str = include_str!("testdata/sacct-22.05.txt");

    /// The same without `--allocations`: each job followed by its batch step.
    const SACCT_STEPS: &str = include_str!("testdata/sacct-steps-22.05.txt");

    #[test]
    fn squeue_lines_read_as_states() {
        let jobs = parse_squeue(SQUEUE);
        assert_eq!(jobs.len(), 7);
        assert_eq!(jobs["250"].state, JobState::Completed);
        assert_eq!(jobs["251"].state, JobState::Failed);
        assert_eq!(jobs["251"].reason, "NonZeroExitCode");
        assert_eq!(jobs["252"].state, JobState::Timeout);
        assert_eq!(jobs["253"].state, JobState::Running);
        assert_eq!(jobs["254"].reason, "JobHeldUser");
        assert_eq!(jobs["255"].state, JobState::Pending);
        assert_eq!(jobs["256"].state, JobState::Cancelled);
        for id in ["250", "251", "252", "256"] {
            assert!(jobs[id].state.is_final(), "{id}");
        }
        for id in ["253", "254", "255"] {
            assert!(!jobs[id].state.is_final(), "{id}");
        }
        assert!(jobs["254"].state.is_queued() && jobs["255"].state.is_queued());
        // What squeue prints for ids it no longer knows (on stderr, exit 1),
        // and a header, are not jobs.
        let noisy = "slurm_load_jobs error: Invalid job id specified\nJOBID|STATE|REASON\n";
        assert!(parse_squeue(noisy).is_empty());
    }

    #[test]
    fn sacct_lines_read_as_states_and_exit_codes() {
        let jobs = parse_sacct(SACCT);
        assert_eq!(jobs.len(), 6);
        assert_eq!(jobs["257"].state, JobState::Completed);
        assert_eq!(jobs["257"].exit_code, Some(0));
        assert_eq!(jobs["258"].state, JobState::Failed);
        assert_eq!(jobs["258"].exit_code, Some(3));
        assert_eq!(jobs["259"].state, JobState::Timeout);
        assert_eq!(jobs["260"].state, JobState::Cancelled, "`CANCELLED by 0`");
        assert_eq!(jobs["261"].state, JobState::Cancelled);
        assert_eq!(jobs["262"].state, JobState::Failed);
        assert_eq!(jobs["262"].signal, Some(9));
        assert_eq!(jobs["257"].signal, None);
        // Step lines are skipped: the same jobs, the allocations' states.
        let with_steps = parse_sacct(SACCT_STEPS);
        assert_eq!(with_steps.len(), 4);
        assert_eq!(with_steps["259"].state, JobState::Timeout);
        assert_eq!(with_steps["260"].state, JobState::Cancelled);
        // Other forms sacct documents: a truncation mark, an array task.
        let other = parse_sacct("109|CANCELLED+|0:9\n108_3|RUNNING|0:0\n");
        assert_eq!(other["109"].state, JobState::Cancelled);
        assert_eq!(other["108_3"].state, JobState::Running);
        assert!(JobState::parse("NODE_FAIL").is_transient());
        assert!(JobState::parse("PREEMPTED").is_transient());
        assert!(!JobState::parse("OUT_OF_MEMORY").is_transient());
        assert!(JobState::parse("OUT_OF_MEMORY").is_final());
    }

    #[test]
    fn every_documented_state_and_code_is_known() {
        let pairs = [
            ("PENDING", "PD"),
            ("CONFIGURING", "CF"),
            ("RUNNING", "R"),
            ("COMPLETING", "CG"),
            ("SUSPENDED", "S"),
            ("STOPPED", "ST"),
            ("REQUEUED", "RQ"),
            ("REQUEUE_HOLD", "RH"),
            ("REQUEUE_FED", "RF"),
            ("SPECIAL_EXIT", "SE"),
            ("RESV_DEL_HOLD", "RD"),
            ("RESIZING", "RS"),
            ("SIGNALING", "SI"),
            ("STAGE_OUT", "SO"),
            ("COMPLETED", "CD"),
            ("FAILED", "F"),
            ("CANCELLED", "CA"),
            ("TIMEOUT", "TO"),
            ("OUT_OF_MEMORY", "OOM"),
            ("NODE_FAIL", "NF"),
            ("PREEMPTED", "PR"),
            ("BOOT_FAIL", "BF"),
            ("DEADLINE", "DL"),
            ("REVOKED", "RV"),
        ];
        for (long, short) in pairs {
            let state = JobState::parse(long);
            assert!(!matches!(state, JobState::Other(_)), "{long}");
            assert_eq!(JobState::parse(short), state, "{short}");
            assert_eq!(JobState::parse(&long.to_lowercase()), state);
        }
        let odd = JobState::parse("LAUNCH_FAILED_SOMEHOW");
        assert_eq!(odd, JobState::Other("LAUNCH_FAILED_SOMEHOW".into()));
        assert!(!odd.is_final(), "an unknown state is never taken as an end");
    }

    #[test]
    fn job_ids_and_sbatch_output() {
        assert!(is_job_id("123"));
        assert!(is_job_id("123_4"));
        assert!(!is_job_id("123.batch"));
        assert!(!is_job_id("JOBID"));
        assert!(!is_job_id(""));
        assert_eq!(parse_sbatch_id("4242\n"), Some("4242".into()));
        assert_eq!(parse_sbatch_id("4242;cluster2\n"), Some("4242".into()));
        assert_eq!(
            parse_sbatch_id("sbatch: warning: x\n77\n"),
            Some("77".into())
        );
        assert_eq!(parse_sbatch_id("Submitted batch job 5\n"), None);
    }
}
