//! `runner node KEY`: one planned node run in its own process, as a batch job
//! runs it, from what is on disk alone: its exit codes and exit record, and a
//! training stopped by SIGUSR2 (Slurm's time-limit warning) that resumes in a
//! new process to the very result of an uninterrupted run.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{stderr, Project, TINY};
use runner::dag::job::{ExitRecord, JobSpec};
use runner::dag::{build_plan, NodeKind, Store};
use runner::pipeline::load::load_pipeline;

/// Plans `p.yaml` in `p` and writes every job's node.json, as a driver does
/// before submitting; returns the jobs in plan order (dataset, train, eval).
fn plan_jobs(p: &Project) -> Vec<JobSpec> {
    let store = Store::new(p.path().join(".runner/cache"), p.path().join("results"));
    let loaded = load_pipeline(&p.path().join("p.yaml"), &[]).unwrap();
    let plan = build_plan(loaded, &store, &runner::code_version::current).unwrap();
    (0..plan.nodes.len())
        .filter_map(|i| JobSpec::of(&plan, i))
        .inspect(|job| job.write(&job.dir(&store)).unwrap())
        .collect()
}

fn node(p: &Project, job: &JobSpec) -> Output {
    p.run(&["node", &job.key.to_string()])
}

fn dir(p: &Project, job: &JobSpec) -> std::path::PathBuf {
    job.dir(&Store::new(
        p.path().join(".runner/cache"),
        p.path().join("results"),
    ))
}

/// A training of 4 shuffled epochs of 50 steps.
fn training() -> String {
    TINY.replace("train_images: 64", "train_images: 800")
        .replace(
            "train: {epochs: 1, batch: 16}",
            "train: {epochs: 4, batch: 16, shuffle: true}",
        )
}

/// train_log.csv without its wall-time column.
fn curve(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("train_log.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

#[test]
fn nodes_run_one_by_one_from_their_node_json() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    let jobs = plan_jobs(&p);
    let kinds: Vec<NodeKind> = jobs.iter().map(|j| j.kind).collect();
    assert_eq!(kinds, [NodeKind::Dataset, NodeKind::Train, NodeKind::Eval]);
    // The eval before its training: the node fails and says why.
    let early = node(&p, &jobs[2]);
    assert_eq!(early.status.code(), Some(1), "{}", stderr(&early));
    assert!(
        stderr(&early).contains("is not complete"),
        "{}",
        stderr(&early)
    );
    let record = ExitRecord::read(&dir(&p, &jobs[2])).unwrap();
    assert_eq!((record.exit_code, record.outcome.as_str()), (1, "failed"));
    for job in &jobs {
        let out = node(&p, job);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let done = dir(&p, job);
        assert!(done.join("DONE").is_file());
        let record = ExitRecord::read(&done).unwrap();
        assert_eq!((record.exit_code, record.outcome.as_str()), (0, "done"));
        assert_eq!(record.job_id, None, "not in a Slurm job");
    }
    // Complete: a second run does nothing and says so.
    let again = node(&p, &jobs[1]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        ExitRecord::read(&dir(&p, &jobs[1])).unwrap().outcome,
        "fresh"
    );
    // A key prefix works too.
    let short = jobs[1].key.to_string()[..10].to_string();
    assert_eq!(p.run(&["node", &short]).status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn sigusr2_checkpoints_exits_75_and_the_next_process_resumes_exactly() {
    let whole = Project::new();
    whole.write("p.yaml", &training());
    let jobs = plan_jobs(&whole);
    for job in &jobs[..2] {
        let out = node(&whole, job);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }

    let split = Project::new();
    split.write("p.yaml", &training());
    let jobs = plan_jobs(&split);
    assert_eq!(node(&split, &jobs[0]).status.code(), Some(0));
    let mut child = split
        .command(&["node", &jobs[1].key.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // After the first epoch, mid-way through the second one.
    let first = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("epoch 1/4 done"));
    assert!(first.is_some(), "no epoch line");
    let sent = Command::new("kill")
        .args(["-USR2", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(75), "{rest:?}");
    let run = dir(&split, &jobs[1]);
    assert!(run.join("checkpoint.safetensors").is_file());
    assert!(!run.join("DONE").exists());
    let record = ExitRecord::read(&run).unwrap();
    assert_eq!(record.outcome, "checkpointed");
    let step = record.step.unwrap();
    assert!(step > 50 && step < 200, "stopped at step {step}");

    let resumed = node(&split, &jobs[1]);
    let err = stderr(&resumed);
    assert_eq!(resumed.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("step {step}")) && err.contains("resuming after epoch"),
        "{err}"
    );
    let whole_run = dir(&whole, &jobs[1]);
    assert_eq!(curve(&run), curve(&whole_run), "same loss curve");
    assert_eq!(
        std::fs::read(run.join("model.safetensors")).unwrap(),
        std::fs::read(whole_run.join("model.safetensors")).unwrap(),
        "same final weights, bit for bit"
    );
}
