//! Stopping a run: SIGTERM (what `kill`, `timeout`, systemd and Slurm send) is
//! handled like Ctrl-C, and what a killed process left is cleaned up. The
//! tests synchronise on what the runner prints, never on sleeps.

mod common;

use common::{only_subdir, stderr, stdout, Project, Running};

/// A pipeline whose training takes many short epochs.
const LONG: &str = "\
name: long
dataset: {name: shapes, train_images: 64, test_images: 16}
train: {epochs: 40, batch: 16}
eval: {images: 8}
";

/// The one run folder of pipeline `long` in `p`.
fn run_dir(p: &Project) -> std::path::PathBuf {
    only_subdir(&p.path().join("results/long/runs"))
}

#[test]
fn sigterm_stops_at_a_checkpoint_and_exits_143() {
    let p = Project::new();
    p.write("p.yaml", LONG);
    let mut run = Running::start(&p, &["p.yaml", "--no-progress"]);
    run.wait_for("epoch 2/40 done");
    run.signal("TERM");
    let (status, log) = run.finish();
    assert_eq!(status.code(), Some(143), "{log}");
    assert!(log.contains("terminated (SIGTERM): stopping"), "{log}");
    assert!(log.contains("stopped train"), "{log}");
    assert!(log.contains("re-run the same command to continue"), "{log}");
    assert!(!log.contains("epoch 40/40"), "{log}");

    let run = run_dir(&p);
    assert!(run.join("checkpoint.safetensors").is_file());
    assert!(!run.join("DONE").exists());

    // Shown as resumable, and gc keeps it unless asked.
    let ls = stdout(&p.run(&["ls"]));
    assert!(ls.contains("resumable"), "{ls}");
    assert!(!ls.contains("orphan"), "{ls}");
    let gc = stdout(&p.run(&["gc"]));
    assert!(gc.contains("resumable: a re-run continues"), "{gc}");
    let gc = stdout(&p.run(&["gc", "--include-resumable"]));
    assert!(gc.contains("incomplete"), "{gc}");
    assert!(
        run.join("checkpoint.safetensors").is_file(),
        "listing deletes nothing"
    );

    let out = p.run(&["p.yaml", "--no-progress"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming after"), "{err}");
}

/// A process killed while writing leaves a `.tmp*` file; the next run of that
/// node removes it before it computes (it holds the node's lock, so no other
/// writer can own it).
#[test]
fn a_node_removes_the_temporary_files_a_killed_run_left() {
    let p = Project::new();
    p.write("p.yaml", LONG);
    let mut running = Running::start(&p, &["p.yaml", "--no-progress"]);
    running.wait_for("epoch 1/40 done");
    running.child.kill().unwrap();
    running.finish();
    let run = run_dir(&p);
    // What a kill during an atomic write leaves (the name tempfile gives it).
    std::fs::write(run.join(".tmpAbC123"), vec![0u8; 4096]).unwrap();
    let out = p.run(&["p.yaml", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !run.join(".tmpAbC123").exists(),
        "stale temporary file kept"
    );
    assert!(run.join("DONE").exists());
}
