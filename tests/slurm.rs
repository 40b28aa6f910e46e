//! The Slurm executor against a real Slurm: a single-node cluster started by
//! `scripts/slurm-up.sh` (CI starts it; `.ci/run`). Every test runs the real
//! binary, which submits real batch jobs that run `runner node`; the tests
//! synchronise on what the driver prints and on what the jobs write into their
//! logs and node folders.
//!
//! Ignored by default (a laptop has no Slurm): run them with
//! `scripts/slurm-up.sh && cargo test --release --test slurm -- --ignored
//! --test-threads=1` (one at a time: the cluster has as many CPUs as the
//! machine).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::{stderr, stdout, Project, TINY};

/// A short training: two cells of the tiny pipeline, a few seconds each.
const SWEEP: &str = "sweep:\n  model.upsampler: [convt, n15]\n  train.seed: [0, 1]\n";

/// The profile every test starts from: quick polls, a short wait for files.
const PROFILE: &str = "poll_seconds: 1\nlatency_wait: 5\n";

/// A training long enough to be stopped in the middle: `epochs` epochs of
/// 50 steps (shuffled, so that resuming must restore the order too).
fn long_training(epochs: u32) -> String {
    TINY.replace("train_images: 64", "train_images: 800")
        .replace(
            "train: {epochs: 1, batch: 16}",
            &format!("train: {{epochs: {epochs}, batch: 16, shuffle: true}}"),
        )
}

/// The directory of the real `sbatch`.
fn real_sbatch() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v sbatch"])
        .output()
        .expect("sh runs");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "sbatch is not on PATH: run scripts/slurm-up.sh"
    );
    PathBuf::from(path)
}

/// A project whose `bin/sbatch` logs every call (one line of arguments to
/// `sbatch.log`) before running the real sbatch; `runner` runs with `bin/`
/// first on PATH.
struct Cluster {
    project: Project,
}

impl Cluster {
    fn new(pipeline: &str, profile_extra: &str) -> Self {
        let project = Project::new();
        project.write("p.yaml", pipeline);
        project.write("cluster.yaml", &format!("{PROFILE}{profile_extra}"));
        let wrapper = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            project.path().join("sbatch.log").display(),
            real_sbatch().display()
        );
        let bin = project.write("bin/sbatch", &wrapper);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Cluster { project }
    }

    fn path(&self) -> &Path {
        self.project.path()
    }

    /// `runner ARGS` with the logging sbatch first on PATH.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.project.command(args);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env(
            "PATH",
            format!("{}:{path}", self.path().join("bin").display()),
        )
        .env_remove("RUNNER_EXECUTOR")
        .env_remove("RUNNER_PROFILE");
        cmd
    }

    /// `runner run p.yaml --executor slurm --profile cluster.yaml ARGS`.
    fn driver(&self, args: &[&str]) -> Command {
        let mut all = vec![
            "run",
            "p.yaml",
            "--executor",
            "slurm",
            "--profile",
            "cluster.yaml",
            "--no-progress",
        ];
        all.extend_from_slice(args);
        self.command(&all)
    }

    /// Runs a driver to its end.
    fn run_driver(&self, args: &[&str]) -> Output {
        self.driver(args).output().expect("runner starts")
    }

    /// The sbatch calls that submitted a job (not `--test-only` checks).
    fn submissions(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("sbatch.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains("--test-only"))
            .map(str::to_string)
            .collect()
    }

    /// The job names of the submissions.
    fn submitted_names(&self) -> Vec<String> {
        self.submissions()
            .iter()
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|a| a.strip_prefix("--job-name="))
                    .map(str::to_string)
            })
            .collect()
    }
}

/// A driver running in the background, its stderr read line by line on a
/// thread (so it never blocks on a full pipe).
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("runner starts");
        let err = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to `secs`) for a line containing `text`; returns it.
    fn expect(&mut self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with `{text}` within {secs} s; so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends `signal` (`-INT`, `-TERM`).
    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits for the end; returns the exit code and every line printed.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        (status.code(), self.seen.join("\n"))
    }
}

/// The job id in a line `...: submitted as job N, log ...`.
fn job_id(line: &str) -> String {
    line.split("submitted as job ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no job id in `{line}`"))
        .to_string()
}

/// Ids of jobs that squeue lists as pending or running among `ids`.
fn active_jobs(ids: &[String]) -> Vec<String> {
    let out = Command::new("squeue")
        .args([
            "--noheader",
            "--format=%i",
            &format!("--jobs={}", ids.join(",")),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|id| ids.contains(id))
        .collect()
}

/// Polls (every 100 ms, up to `secs`) until `done()`; panics with `what`.
fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `pipeline` locally (the reference) in its own project.
fn local_reference(pipeline: &str) -> Project {
    let p = Project::new();
    p.write("p.yaml", pipeline);
    let out = p.run(&["p.yaml", "--no-progress", "-j", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    p
}

/// `runner diff` of the two projects' summaries: exit 0 means equal metrics.
fn assert_same_results(slurm: &Path, local: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_runner"))
        .args([
            "diff",
            &slurm.join("results/tiny").display().to_string(),
            &local.join("results/tiny").display().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "Slurm and local results differ:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Every run (train) folder of the project with its eval folders.
fn run_dirs(root: &Path) -> Vec<PathBuf> {
    let runs = root.join("results/tiny/runs");
    let mut out: Vec<PathBuf> = std::fs::read_dir(runs)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The sub-folders of `dir/eval`.
fn eval_dirs(run: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(run.join("eval"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// The `status` column of the project's summary.csv (done / failed per cell).
fn statuses(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join("results/tiny/summary.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "status").unwrap();
    lines
        .map(|l| l.split(',').nth(at).unwrap().to_string())
        .collect()
}

/// A field of a JSON file.
fn json_field(path: &Path, field: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value[field].clone()
}

#[test]
#[ignore = "needs Slurm: scripts/slurm-up.sh"]
fn a_sweep_on_slurm_equals_the_same_sweep_run_locally() {
    let pipeline = format!("{TINY}{SWEEP}");
    let local = local_reference(&pipeline);
    let cluster = Cluster::new(&pipeline, "");
    let out = cluster.run_driver(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("tiny: 10 ran, 0 fresh, 0 failed"), "{err}");
    assert_same_results(cluster.path(), local.path());
    // One job per node: 1 dataset, 4 train, 4 eval.
    let names = cluster.submitted_names();
    assert_eq!(names.len(), 9, "{names:?}");
    assert_eq!(names.iter().filter(|n| n.contains("-train-")).count(), 4);
    // Each eval started after its training had finished, in jobs of their own.
    for run in run_dirs(cluster.path()) {
        let train = run.join("provenance.json");
        let evals = eval_dirs(&run);
        assert_eq!(evals.len(), 1);
        let eval = evals[0].join("provenance.json");
        let finished = json_field(&train, "finished");
        let started = json_field(&eval, "started");
        assert!(
            started.as_str() >= finished.as_str(),
            "eval started {started} before its training finished {finished}"
        );
        let train_job = json_field(&train, "slurm_job_id");
        let eval_job = json_field(&eval, "slurm_job_id");
        assert!(train_job.is_string() && eval_job.is_string());
        assert_ne!(train_job, eval_job);
        assert!(json_field(&train, "slurm_node").is_string());
        // The job that computed it is the one recorded at submission.
        let record = json_field(&run.join("job.json"), "attempts");
        assert_eq!(record[0]["job_id"], train_job);
        assert_eq!(record[0]["state"], "COMPLETED");
        let log = PathBuf::from(record[0]["log"].as_str().unwrap());
        let log_text = std::fs::read_to_string(&log).unwrap();
        assert!(
            log_text.contains("runner node: done (exit 0)"),
            "{log_text}"
        );
    }
    // Run again: everything is fresh, nothing is submitted.
    let before = cluster.submissions().len();
    let again = cluster.run_driver(&[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stderr(&again).contains("are fresh; nothing to run"));
    assert_eq!(cluster.submissions().len(), before);
    // ls and show read the same results.
    let ls = cluster.command(&["ls", "p.yaml"]).output().unwrap();
    let listing = stdout(&ls);
    let done = listing
        .lines()
        .filter(|l| l.trim_start().starts_with("done "))
        .count();
    assert_eq!(done, 4, "{listing}");
}

#[test]
#[ignore = "needs Slurm: scripts/slurm-up.sh"]
fn a_diverging_cell_fails_alone_and_its_eval_is_never_submitted() {
    let pipeline = format!("{TINY}sweep:\n  train.optimizer.adam.lr: [1.0e-4, 1.0e+30]\n");
    let cluster = Cluster::new(&pipeline, "");
    let out = cluster.run_driver(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("loss diverged at epoch 1"), "{err}");
    let failure = err
        .lines()
        .find(|l| l.contains("loss diverged") && l.contains("Slurm job"))
        .unwrap_or_else(|| panic!("no failure line naming the job:\n{err}"));
    assert!(failure.contains("FAILED"), "{failure}");
    assert!(
        failure.contains("log ") && failure.contains("/logs/train-"),
        "{failure}"
    );
    assert!(
        err.contains(
            "re-run: runner run p.yaml --results-dir results --cache-dir .runner/cache \
             --executor slurm --profile cluster.yaml --only train.optimizer.adam.lr=1e+30"
        ),
        "{err}"
    );
    assert!(
        err.contains("tiny: 4 ran, 0 fresh, 1 failed, 1 skipped"),
        "{err}"
    );
    let names = cluster.submitted_names();
    assert_eq!(
        names.iter().filter(|n| n.contains("-eval-")).count(),
        1,
        "only the healthy cell's eval: {names:?}"
    );
    let mut cells = statuses(cluster.path());
    cells.sort();
    assert_eq!(cells, ["done", "failed"]);
}

#[test]
#[ignore = "needs Slurm: scripts/slurm-up.sh"]
fn a_second_run_re_attaches_to_queued_and_running_jobs() {
    let cluster = Cluster::new(&format!("{}{SWEEP}", long_training(4)), "");
    let mut first = Running::start(cluster.driver(&[]));
    let mut trains = Vec::new();
    for _ in 0..4 {
        trains.push(job_id(&first.expect("submitted as job", 120)));
    }
    trains.remove(0); // the dataset's
    let last = first.expect("train", 120);
    if last.contains("submitted as job") {
        trains.push(job_id(&last));
    }
    // Stop the driver without cancelling anything (SIGTERM: its jobs go on).
    first.signal("-TERM");
    let (code, text) = first.finish();
    assert_eq!(code, Some(143), "{text}");
    assert!(text.contains("keep running"), "{text}");
    assert!(!active_jobs(&trains).is_empty(), "the jobs still run");
    let submitted_before = cluster.submitted_names();

    let second = cluster.run_driver(&[]);
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(0), "{err}");
    assert!(err.contains("attached to job"), "{err}");
    let new_names: Vec<String> = cluster.submitted_names()[submitted_before.len()..].to_vec();
    for name in &new_names {
        assert!(
            !submitted_before.contains(name),
            "{name} was submitted again; new submissions: {new_names:?}"
        );
    }
    assert_eq!(
        cluster
            .submitted_names()
            .iter()
            .filter(|n| n.contains("-train-"))
            .count(),
        4,
        "each training submitted once"
    );
}

#[test]
#[ignore = "needs Slurm: scripts/slurm-up.sh"]
fn a_cancelled_training_resumes_from_its_checkpoint_on_the_next_run() {
    let pipeline = long_training(6);
    let local = local_reference(&pipeline);
    let cluster = Cluster::new(&pipeline, "");
    let mut driver = Running::start(cluster.driver(&[]));
    driver.expect("dataset", 60);
    let train_line = driver.expect("train ", 120);
    let id = job_id(&train_line);
    let run = run_dirs(cluster.path()).pop().expect("a run folder");
    let log = cluster.path().join(format!(
        "results/tiny/logs/train-{}-{id}.log",
        run.file_name().unwrap().to_string_lossy()
    ));
    // Cancel once it has finished an epoch (and so is well under way).
    wait_until(120, "the first epoch", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("epoch 1/6 done"))
    });
    assert!(Command::new("scancel").arg(&id).status().unwrap().success());
    let (code, text) = driver.finish();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("CANCELLED"), "{text}");
    assert!(run.join("checkpoint.safetensors").is_file(), "{text}");
    let exit = run.join("job_exit.json");
    assert_eq!(json_field(&exit, "exit_code"), 130);
    assert_eq!(json_field(&exit, "outcome"), "stopped by SIGTERM");

    let again = cluster.run_driver(&[]);
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(0), "{err}");
    let attempts = json_field(&run.join("job.json"), "attempts");
    let attempts = attempts.as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["state"], "CANCELLED");
    let new_log = PathBuf::from(attempts[1]["log"].as_str().unwrap());
    let resumed = std::fs::read_to_string(new_log).unwrap();
    assert!(resumed.contains("resuming after epoch"), "{resumed}");
    assert_same_results(cluster.path(), local.path());
}

#[test]
#[ignore = "needs Slurm: scripts/slurm-up.sh"]
fn a_training_longer_than_its_time_limit_finishes_through_resubmission() {
    // About two and a half minutes of training (on 2 cores) in jobs of one
    // minute, warned 30 s before their end.
    let pipeline = long_training(3).replace("train_images: 800", "train_images: 48000");
    let local = std::thread::spawn({
        let pipeline = pipeline.clone();
        move || local_reference(&pipeline)
    });
    let cluster = Cluster::new(&pipeline, "signal_grace: 30\ntrain: {time: \"1\"}\n");
    let out = cluster.run_driver(&["--retries", "10"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let resubmits = err.matches("checkpointed").count();
    assert!(resubmits >= 2, "expected several resubmissions:\n{err}");
    let run = run_dirs(cluster.path()).pop().unwrap();
    let attempts = json_field(&run.join("job.json"), "attempts");
    assert!(attempts.as_array().unwrap().len() >= 3, "{attempts:?}");
    assert!(!run.join("checkpoint.safetensors").exists());
    let local = local.join().unwrap();
    assert_same_results(cluster.path(), local.path());
    // The same loss curve as the uninterrupted run (wall time aside).
    let curve = |root: &Path| -> Vec<String> {
        let run = run_dirs(root).pop().unwrap();
        std::fs::read_to_string(run.join("train_log.csv"))
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(curve(cluster.path()), curve(local.path()));
}

#[test]
#[ignore = "needs Slurm: scripts/slurm-up.sh"]
fn ctrl_c_cancels_the_jobs_and_a_detached_driver_finishes_the_grid() {
    let cluster = Cluster::new(&format!("{}{SWEEP}", long_training(4)), "");
    let mut driver = Running::start(cluster.driver(&[]));
    let mut ids = vec![job_id(&driver.expect("submitted as job", 120))];
    ids.push(job_id(&driver.expect("submitted as job", 120)));
    driver.signal("-INT");
    let (code, text) = driver.finish();
    assert_eq!(code, Some(130), "{text}");
    assert!(text.contains("cancelled"), "{text}");
    wait_until(60, "the cancelled jobs to leave the queue", || {
        active_jobs(&ids).is_empty()
    });

    let detached = cluster.run_driver(&["--detach"]);
    let err = stderr(&detached);
    assert_eq!(detached.status.code(), Some(0), "{err}");
    assert!(err.contains("as Slurm job"), "{err}");
    let driver_job = json_field(&cluster.path().join("results/tiny/driver.json"), "job_id");
    assert!(driver_job.is_string());
    // The re-run watches the same jobs until the grid is done.
    let rerun = cluster.run_driver(&[]);
    let err = stderr(&rerun);
    assert_eq!(rerun.status.code(), Some(0), "{err}");
    assert_eq!(statuses(cluster.path()), ["done"; 4]);
    let names = cluster.submitted_names();
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for n in &names {
        *counts.entry(n).or_default() += 1;
    }
    // After the cancel, every node was submitted once more at most (by one of
    // the two drivers).
    assert!(counts.values().all(|&c| c <= 2), "{counts:?}");
    let driver_id = driver_job.as_str().unwrap().to_string();
    wait_until(60, "the detached driver to end", || {
        active_jobs(std::slice::from_ref(&driver_id)).is_empty()
    });
    let driver_log = cluster
        .path()
        .join(format!("results/tiny/logs/driver-{driver_id}.log"));
    let log = std::fs::read_to_string(driver_log).unwrap();
    assert!(log.contains("tiny: "), "{log}");
}

#[test]
#[ignore = "needs Slurm: scripts/slurm-up.sh"]
fn two_drivers_at_once_submit_every_node_once() {
    let cluster = Cluster::new(&format!("{TINY}{SWEEP}"), "");
    let a = Running::start(cluster.driver(&[]));
    let b = Running::start(cluster.driver(&[]));
    let (code_a, text_a) = a.finish();
    let (code_b, text_b) = b.finish();
    assert_eq!(code_a, Some(0), "{text_a}");
    assert_eq!(code_b, Some(0), "{text_b}");
    let names = cluster.submitted_names();
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for n in &names {
        *counts.entry(n).or_default() += 1;
    }
    assert_eq!(counts.len(), 9, "{names:?}");
    assert!(
        counts.values().all(|&c| c == 1),
        "a node submitted twice: {counts:?}"
    );
}

#[test]
#[ignore = "needs Slurm: scripts/slurm-up.sh"]
fn a_partition_sbatch_refuses_is_an_input_error_before_anything_is_submitted() {
    let cluster = Cluster::new(TINY, "partition: nosuchpartition\n");
    let out = cluster.run_driver(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cluster.yaml: sbatch refuses dataset jobs"),
        "{err}"
    );
    assert!(err.contains("invalid partition"), "{err}");
    assert!(cluster.submissions().is_empty());
    assert!(!cluster.path().join("results").exists());
}
