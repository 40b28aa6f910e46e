//! Stopping a run: SIGTERM (what `kill`, `timeout`, systemd and Slurm send) is
//! handled like Ctrl-C, and what a killed process left is cleaned up. The
//! tests synchronise on what the runner prints, never on sleeps.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};

use common::{stderr, Project};

/// A pipeline whose training takes many short epochs.
const LONG: &str = "\
name: long
dataset: {name: shapes, train_images: 64, test_images: 16}
train: {epochs: 40, batch: 16}
eval: {images: 8}
";

/// Starts `runner` with `args` in `p`, its stderr read line by line on a thread.
fn spawn(p: &Project, args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = p
        .command(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Reads lines until one contains `what`; returns everything read.
fn wait_for(rx: &Receiver<String>, what: &str) -> String {
    let mut seen = String::new();
    for line in rx.iter() {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(what) {
            return seen;
        }
    }
    panic!("the runner ended without printing `{what}`:\n{seen}");
}

/// Sends `signal` (`TERM`, `INT`) to `child`.
fn signal(child: &Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_stops_at_a_checkpoint_and_exits_143() {
    let p = Project::new();
    p.write("p.yaml", LONG);
    let (mut child, rx) = spawn(&p, &["p.yaml", "--no-progress"]);
    let mut log = wait_for(&rx, "epoch 2/40 done");
    signal(&child, "TERM");
    log.extend(rx.iter().map(|l| l + "\n"));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{log}");
    assert!(log.contains("terminated (SIGTERM): stopping"), "{log}");
    assert!(log.contains("stopped train"), "{log}");
    assert!(log.contains("re-run the same command to continue"), "{log}");
    assert!(!log.contains("epoch 40/40"), "{log}");

    let runs = p.path().join("results/long/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    assert!(run.join("checkpoint.safetensors").is_file());
    assert!(!run.join("DONE").exists());

    // Shown as resumable, and gc keeps it unless asked.
    let ls = common::stdout(&p.run(&["ls"]));
    assert!(ls.contains("resumable"), "{ls}");
    assert!(!ls.contains("orphan"), "{ls}");
    let gc = common::stdout(&p.run(&["gc"]));
    assert!(gc.contains("resumable: a re-run continues"), "{gc}");
    let gc = common::stdout(&p.run(&["gc", "--include-resumable"]));
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
    let (mut child, rx) = spawn(&p, &["p.yaml", "--no-progress"]);
    let _ = wait_for(&rx, "epoch 1/40 done");
    child.kill().unwrap();
    child.wait().unwrap();
    let runs = p.path().join("results/long/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
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
