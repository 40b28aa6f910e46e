//! What a node folder says about batch jobs: whether one is queued or running
//! for the node (from `job.json`, `job_exit.json` and the node lock), and the
//! history of its submissions. Reads only what is on disk.

use std::fmt::Write as _;
use std::path::Path;

use super::text::aligned;
use crate::dag::job::{ExitRecord, JobRecord};
use crate::dag::lock::NodeLock;

/// A node being computed or waiting to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// A process holds its lock (a local runner, or the batch job named).
    Running(Option<String>),
    /// A batch job was submitted for it and has not started or ended.
    Queued(String),
}

impl Activity {
    /// `running`, `running (job 12)` or `queued (job 12)`.
    pub fn label(&self) -> String {
        match self {
            Activity::Running(None) => "running".to_string(),
            Activity::Running(Some(id)) => format!("running (job {id})"),
            Activity::Queued(id) => format!("queued (job {id})"),
        }
    }
}

/// What is happening to the node in `dir`, if anything.
pub fn activity(dir: &Path) -> Option<Activity> {
    let current = JobRecord::read(dir)
        .current()
        .and_then(|attempt| attempt.job_id.clone());
    if NodeLock::is_held(dir) {
        return Some(Activity::Running(current));
    }
    let id = current?;
    // The job's own exit record says it is over, whatever the record says.
    let exited = ExitRecord::read(dir).is_some_and(|e| e.job_id.as_deref() == Some(id.as_str()));
    (!exited).then_some(Activity::Queued(id))
}

/// The `jobs:` section of `runner show`: every submission with its state and
/// log, then how the last `runner node` ended; empty without batch jobs.
pub fn history(dir: &Path) -> String {
    let record = JobRecord::read(dir);
    let exit = ExitRecord::read(dir);
    if record.attempts.is_empty() && exit.is_none() {
        return String::new();
    }
    let mut out = String::from("\njobs:\n");
    let mut rows = vec![vec![
        "job".to_string(),
        "submitted".to_string(),
        "state".to_string(),
        "exit".to_string(),
        "log".to_string(),
    ]];
    for attempt in &record.attempts {
        let id = attempt.job_id.clone().unwrap_or_else(|| "-".into());
        let state = match (&attempt.state, &attempt.job_id) {
            (Some(state), _) => state.clone(),
            (None, Some(id)) if exit.as_ref().is_some_and(|e| e.job_id.as_ref() == Some(id)) => {
                "ended".to_string()
            }
            (None, Some(_)) if NodeLock::is_held(dir) => "running".to_string(),
            (None, Some(_)) => "queued".to_string(),
            (None, None) => "submitting".to_string(),
        };
        rows.push(vec![
            id,
            attempt.submitted.clone(),
            state,
            attempt.exit_code.map_or("-".to_string(), |c| c.to_string()),
            attempt
                .log
                .as_ref()
                .map_or("-".to_string(), |l| l.display().to_string()),
        ]);
    }
    if rows.len() > 1 {
        out.push_str(&aligned(&rows, "  "));
    }
    if let Some(exit) = exit {
        let _ = writeln!(
            out,
            "  last exit: {} (exit {}) on {} at {}{}",
            exit.outcome,
            exit.exit_code,
            exit.host.as_deref().unwrap_or("?"),
            exit.finished,
            exit.message
                .as_ref()
                .map_or(String::new(), |m| format!(": {m}"))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::job::Attempt;

    fn attempt(id: Option<&str>, state: Option<&str>) -> Attempt {
        Attempt {
            job_id: id.map(str::to_string),
            submitted: "2026-12-01T00:00:00Z".into(),
            submit_host: Some("login1".into()),
            driver_pid: 1,
            log: Some("results/p/logs/train-abc-7.log".into()),
            state: state.map(str::to_string),
            exit_code: None,
        }
    }

    fn exit(id: &str, code: i32) -> ExitRecord {
        ExitRecord {
            job_id: Some(id.into()),
            exit_code: code,
            outcome: "checkpointed".into(),
            message: Some("stopped at step 40".into()),
            step: Some(40),
            host: Some("node3".into()),
            started: "2026-12-01T00:00:01Z".into(),
            finished: "2026-12-01T00:01:00Z".into(),
        }
    }

    #[test]
    fn queued_until_the_job_leaves_its_exit_record_and_running_while_locked() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("n");
        std::fs::create_dir_all(&node).unwrap();
        assert_eq!(activity(&node), None, "nothing recorded");
        let mut record = JobRecord {
            attempts: vec![
                attempt(Some("6"), Some("PREEMPTED")),
                attempt(Some("7"), None),
            ],
        };
        record.write(&node).unwrap();
        assert_eq!(activity(&node), Some(Activity::Queued("7".into())));
        assert_eq!(activity(&node).unwrap().label(), "queued (job 7)");
        {
            let _lock = NodeLock::acquire(&node, || {}).unwrap();
            // The lock is held by this process: is_held asks from a new handle.
            assert_eq!(activity(&node), Some(Activity::Running(Some("7".into()))));
        }
        exit("6", 75).write(&node).unwrap();
        assert_eq!(
            activity(&node),
            Some(Activity::Queued("7".into())),
            "old exit"
        );
        exit("7", 75).write(&node).unwrap();
        assert_eq!(activity(&node), None, "job 7 ended");
        record.attempts[1].state = Some("COMPLETED".into());
        record.write(&node).unwrap();
        let text = history(&node);
        assert!(text.contains("PREEMPTED"), "{text}");
        assert!(text.contains("train-abc-7.log"), "{text}");
        assert!(
            text.contains("last exit: checkpointed (exit 75) on node3"),
            "{text}"
        );
    }
}
