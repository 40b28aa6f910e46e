//! `--only`: running some cells of a pipeline without changing it, the
//! `re-run:` command printed for a failed cell, and several runners sharing
//! one pipeline's report.

mod common;

use std::path::Path;
use std::process::Command;

use common::{stderr, stdout, Project, Running, TINY};

/// A 2 x 2 grid with a paper table on `loss.alpha`; the lr 1e30 cells diverge.
fn grid() -> String {
    format!(
        "{TINY}sweep:\n  loss.alpha: [0.0, 0.5]\n  train.optimizer.adam.lr: [1.0e-4, 1.0e+30]\n\
         report:\n  table:\n    rows: [loss.alpha]\n"
    )
}

/// The `re-run:` commands a failed run printed.
fn rerun_lines(err: &str) -> Vec<String> {
    err.lines()
        .filter_map(|l| l.trim().strip_prefix("re-run: "))
        .map(str::to_string)
        .collect()
}

/// Runs `line` in a shell in `dir`, with this build of runner first on PATH.
fn paste(dir: &Path, line: &str) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_runner")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("RUNNER_CACHE_DIR")
        .env_remove("RUNNER_RESULTS_DIR")
        .output()
        .unwrap()
}

#[test]
fn the_printed_rerun_command_works_when_pasted() {
    let p = Project::new();
    p.write("p.yaml", &grid());
    let out = p.run(&[
        "p.yaml",
        "--no-progress",
        "--results-dir",
        "res",
        "--cache-dir",
        "cache",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines = rerun_lines(&err);
    assert_eq!(lines.len(), 2, "one per diverged cell: {err}");
    // `ls` lists each cell once (a failed cell's run folder is its row), and
    // `show` says why a node failed.
    let ls = stdout(&p.run(&["ls", "--results-dir", "res"]));
    assert_eq!(ls.matches("failed").count(), 2, "{ls}");
    assert!(!ls.contains("orphan"), "{ls}");
    let failed = err
        .lines()
        .find(|l| l.contains("FAILED  train"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap();
    let show = stdout(&p.run(&["show", failed, "--results-dir", "res"]));
    assert!(
        show.contains("(failed)") && show.contains("failed:   loss diverged"),
        "{show}"
    );
    let summary = std::fs::read_to_string(p.path().join("res/tiny/summary.csv")).unwrap();
    for line in &lines {
        assert!(line.contains("--only"), "{line}");
        let again = paste(p.path(), line);
        let again_err = stderr(&again);
        // The same cell diverges again: a node failure, never bad input.
        assert_eq!(again.status.code(), Some(1), "{line}: {again_err}");
        assert_eq!(again_err.matches("FAILED  train").count(), 1, "{again_err}");
        assert!(!again_err.contains("done    train"), "{again_err}");
        assert!(again_err.contains("left out by --only"), "{again_err}");
        assert_eq!(
            &rerun_lines(&again_err),
            std::slice::from_ref(line),
            "{again_err}"
        );
    }
    // Same folders as the first run: nothing new appeared in the defaults, and
    // the table still has both cells that finished.
    assert!(!p.path().join("results").exists());
    assert!(!p.path().join(".runner").exists());
    let after = std::fs::read_to_string(p.path().join("res/tiny/summary.csv")).unwrap();
    let done = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains(",done,"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(done(&after).len(), 2, "{after}");
    assert_eq!(done(&after), done(&summary));
}

#[test]
fn only_runs_the_named_cells_and_the_report_shows_the_rest_as_not_run() {
    let p = Project::new();
    p.write(
        "p.yaml",
        &format!("{TINY}sweep:\n  train.seed: [0, 1, 2]\n"),
    );
    let dry = stdout(&p.run(&["p.yaml", "--dry-run", "--only", "train.seed=1"]));
    assert!(dry.contains("left out by --only"), "{dry}");
    assert_eq!(dry.matches("left out train").count(), 2, "{dry}");
    let out = p.run(&["p.yaml", "--no-progress", "--only", "train.seed=1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("done    train").count(), 1, "{err}");
    let summary = std::fs::read_to_string(p.path().join("results/tiny/summary.csv")).unwrap();
    assert_eq!(summary.matches(",not_run,").count(), 2, "{summary}");
    assert_eq!(summary.matches(",done,").count(), 1, "{summary}");
    assert!(!p.path().join("results/tiny/.report/DONE").exists());

    let out = p.run(&["p.yaml", "--only", "train.seed=5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--only train.seed=5: no cell"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["p.yaml", "--only", "train.epochs=1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a swept key"),
        "{}",
        stderr(&out)
    );

    // The rest: the report is complete, its DONE written.
    let out = p.run(&["p.yaml", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out).matches("done    train").count(), 2);
    assert!(p.path().join("results/tiny/.report/DONE").exists());
}

/// Four runners at once on overlapping selections of one pipeline: every
/// cell ends up in cells.json and in summary.csv (the reports take turns
/// under a lock, each merging what is on disk).
#[test]
fn four_runners_on_overlapping_selections_keep_every_cell() {
    let p = Project::new();
    p.write(
        "p.yaml",
        &format!("{TINY}sweep:\n  train.seed: [0, 1, 2, 3]\n"),
    );
    let selections = [[0, 1], [1, 2], [2, 3], [3, 0]];
    let children: Vec<_> = selections
        .iter()
        .map(|pair| {
            let mut args = vec!["p.yaml".to_string(), "--no-progress".to_string()];
            for seed in pair {
                args.extend(["--only".to_string(), format!("train.seed={seed}")]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut cmd = p.command(&args);
            std::thread::spawn(move || cmd.output().unwrap())
        })
        .collect();
    let mut trained = 0;
    for child in children {
        let out = child.join().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        trained += err.matches("done    train").count();
    }
    assert_eq!(trained, 4, "each training ran in exactly one runner");
    let cells: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.path().join("results/tiny/cells.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cells.as_object().unwrap().len(), 4, "{cells}");
    let summary = std::fs::read_to_string(p.path().join("results/tiny/summary.csv")).unwrap();
    assert_eq!(summary.matches(",done,").count(), 4, "{summary}");
    assert!(p.path().join("results/tiny/.report/DONE").exists());
    let dry = stdout(&p.run(&["p.yaml", "--dry-run"]));
    assert!(dry.contains("0 to run"), "{dry}");
}

/// A grid beyond `--max-cells` (10,000 by default) is one clear input error
/// before it is expanded; raising the limit plans it.
#[test]
fn sweep_size_is_bounded() {
    let p = Project::new();
    let seeds = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    p.write(
        "p.yaml",
        &format!(
            "{TINY}sweep:\n  train.seed: [{}]\n  eval.seed: [{}]\n",
            seeds(1000),
            seeds(1000)
        ),
    );
    let out = p.run(&["p.yaml", "--dry-run"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim(),
        "error: p.yaml:8:1: the sweep has 1000000 cells (train.seed (1000) x eval.seed \
         (1000)), more than the limit of 10000; raise it with --max-cells if you mean it"
    );
    assert!(!p.wrote_results());
    let out = p.run(&[
        "p.yaml",
        "--dry-run",
        "-o",
        "eval.seed=0,1",
        "--max-cells",
        "1999",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = p.run(&[
        "p.yaml",
        "--dry-run",
        "-o",
        "eval.seed=0,1",
        "--max-cells",
        "2000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("2000 cells"), "{}", stdout(&out));
}

/// A runner that finds a node locked by another process runs the other ready
/// nodes first and comes back to it, waiting only when nothing else is left.
#[test]
fn a_locked_node_does_not_hold_up_the_other_cells() {
    let p = Project::new();
    p.write("p.yaml", &format!("{TINY}sweep:\n  train.seed: [0, 1]\n"));
    let plan = stdout(&p.run(&["p.yaml", "--dry-run"]));
    let first_train = plan
        .lines()
        .find(|l| l.contains("train ") && l.contains("train.seed=0"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap()
        .to_string();
    // This test plays the other runner: it holds cell 0's training lock.
    let runs = p.path().join("results/tiny/runs");
    std::fs::create_dir_all(&runs).unwrap();
    let lock = std::fs::File::create(runs.join(format!("{first_train}.lock"))).unwrap();
    lock.lock().unwrap();

    let mut run = Running::start(&p, &["p.yaml", "--no-progress", "-j", "1"]);
    run.wait_for(&format!(
        "waiting for another runner on train   {first_train}"
    ));
    let log = run.seen.join("\n");
    assert!(
        log.contains(&format!("busy    train   {first_train}")),
        "{log}"
    );
    // Cell 1 was trained and evaluated while cell 0 was locked.
    assert_eq!(log.matches("done    train").count(), 1, "{log}");
    assert_eq!(log.matches("done    eval").count(), 1, "{log}");
    drop(lock);
    let (status, log) = run.finish();
    assert_eq!(status.code(), Some(0), "{log}");
    assert_eq!(log.matches("done    train").count(), 2, "{log}");
}

/// Unusable folders are one input error before anything runs: a results or
/// cache folder that is a file, `gc` without a results folder (it would take
/// every cached dataset for unused), `ls` on a file.
#[test]
fn unusable_results_folders_are_refused_up_front() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    p.write("afile", "x");
    for (flag, what) in [("--results-dir", "afile"), ("--cache-dir", "afile/sub")] {
        for dry in [false, true] {
            let mut args = vec!["p.yaml", flag, what];
            if dry {
                args.push("--dry-run");
            }
            let out = p.run(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.contains(&format!("{flag} {what}: afile is not a folder")),
                "{err}"
            );
        }
    }
    assert!(!p.wrote_results());
    let out = p.run(&["gc", "--results-dir", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    let out = p.run(&["ls", "--results-dir", "afile"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a file"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(p.path().join("afile")).unwrap(),
        "x"
    );
}

/// `--dry-run` checks what a run checks: raw data that is missing is an input
/// error, not a plan.
#[test]
fn dry_run_reports_missing_raw_data() {
    let p = Project::new();
    p.write(
        "p.yaml",
        "dataset: {name: mnist, root: nowhere, train_images: 6, test_images: 6}\neval: {images: 4}\n",
    );
    let out = p.run(&["p.yaml", "--dry-run"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nowhere"), "{err}");
    assert!(!p.wrote_results());
}
