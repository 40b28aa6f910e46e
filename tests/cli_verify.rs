//! Every node's outputs are verified: DONE records each file's size and
//! blake3; planning checks sizes, a result is hashed before a later node, the
//! report or `diff` uses it, and `runner verify` hashes everything.

mod common;

use std::path::{Path, PathBuf};

use common::{only_subdir, stderr, stdout, Project, TINY};

/// The one run folder of `tiny` and its one eval folder.
fn run_and_eval(p: &Project) -> (PathBuf, PathBuf) {
    let runs = p.path().join("results/tiny/runs");
    let run = only_subdir(&runs);
    let eval = only_subdir(&run.join("eval"));
    (run, eval)
}

/// Flips one bit in the middle of `path` (same size).
fn flip_a_bit(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

/// Runs `tiny` in a new project; returns it, its run folder and the model's bytes.
fn finished_tiny() -> (Project, PathBuf, Vec<u8>) {
    let p = Project::new();
    p.write("p.yaml", TINY);
    ok(&p, &["p.yaml", "--no-progress"]);
    let (run, _) = run_and_eval(&p);
    let model = std::fs::read(run.join("model.safetensors")).unwrap();
    (p, run, model)
}

fn ok(p: &Project, args: &[&str]) -> String {
    let out = p.run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    err
}

#[test]
fn done_records_every_output_with_size_and_hash() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    ok(&p, &["p.yaml", "--no-progress"]);
    let (run, eval) = run_and_eval(&p);
    for (dir, names) in [
        (
            &run,
            &[
                "model.safetensors",
                "train_log.csv",
                "config.yaml",
                "provenance.json",
            ][..],
        ),
        (
            &eval,
            &[
                "metrics.csv",
                "summary.csv",
                "spectrum.csv",
                "recon.png",
                "provenance.json",
            ][..],
        ),
    ] {
        let done: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("DONE")).unwrap()).unwrap();
        for name in names {
            let record = &done["files"][name];
            let bytes = std::fs::read(dir.join(name)).unwrap();
            assert_eq!(record["size"], bytes.len() as u64, "{name}");
            assert_eq!(
                record["blake3"].as_str().unwrap(),
                blake3::hash(&bytes).to_hex().as_str(),
                "{name}"
            );
        }
    }
    let out = p.run(&["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("all intact"), "{text}");
}

/// A truncated model makes its training stale already in the plan, and the
/// next run recomputes it to the same bytes.
#[test]
fn a_truncated_model_is_stale_and_recomputed() {
    let (p, run, intact) = finished_tiny();
    let model = run.join("model.safetensors");
    std::fs::write(&model, &intact[..intact.len() / 3]).unwrap();

    let dry = stdout(&p.run(&["p.yaml", "--dry-run"]));
    assert!(dry.contains("stale    train"), "{dry}");
    assert!(
        dry.contains(&format!(
            "model.safetensors altered: {} bytes, DONE recorded {}",
            intact.len() / 3,
            intact.len()
        )),
        "{dry}"
    );
    let verify = p.run(&["verify", "p.yaml"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(stdout(&verify).contains("model.safetensors altered"));

    ok(&p, &["p.yaml", "--no-progress"]);
    assert_eq!(std::fs::read(&model).unwrap(), intact, "retrained exactly");
    assert_eq!(p.run(&["verify", "p.yaml"]).status.code(), Some(0));
}

/// Flipped bits keep the size: the plan hashes the model because a new eval
/// will read it, so the training is recomputed rather than used.
#[test]
fn a_bit_flipped_model_is_never_evaluated() {
    let (p, run, intact) = finished_tiny();
    let model = run.join("model.safetensors");
    flip_a_bit(&model);

    // Nothing reads the model when everything is fresh.
    let dry = stdout(&p.run(&["p.yaml", "--dry-run"]));
    assert!(dry.contains("0 to run"), "{dry}");
    // A new eval would: the training is stale, by its hash.
    let dry = stdout(&p.run(&["p.yaml", "--dry-run", "-o", "eval.images=6"]));
    assert!(dry.contains("stale    train"), "{dry}");
    assert!(dry.contains("model.safetensors altered: blake3"), "{dry}");

    let err = ok(&p, &["p.yaml", "--no-progress", "-o", "eval.images=6"]);
    assert!(err.contains("done    train"), "retrained: {err}");
    assert_eq!(std::fs::read(&model).unwrap(), intact);
    let key = run.file_name().unwrap().to_str().unwrap().to_string();
    let verify = p.run(&["verify", &key]);
    assert_eq!(verify.status.code(), Some(0), "{}", stdout(&verify));
}

/// A damaged eval summary: the report, which reads it, makes the eval stale;
/// `diff` refuses the altered file and a table whose numbers do not parse.
#[test]
fn damaged_tables_are_recomputed_and_never_compared() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    ok(&p, &["p.yaml", "--no-progress"]);
    let (_, eval) = run_and_eval(&p);
    let summary = eval.join("summary.csv");
    let intact = std::fs::read_to_string(&summary).unwrap();
    let garbage = intact.replacen("rmse", "rmsx", 1);
    std::fs::write(&summary, &garbage).unwrap();

    let out = p.run(&[
        "diff",
        &summary.display().to_string(),
        "results/tiny/summary.csv",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("summary.csv was altered after runner wrote it"),
        "{err}"
    );

    // Unrecorded copies are compared, but numbers that do not parse are an error.
    let broken = intact.replacen("\nrmse_spatial,", "\nrmse_spatial,x", 1);
    assert_ne!(broken, intact);
    let copy = p.write("copy.csv", &broken);
    let out = p.run(&[
        "diff",
        &copy.display().to_string(),
        &copy.display().to_string(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not a number"), "{err}");

    // A report that must run again reads the eval: the eval is redone first.
    std::fs::remove_file(p.path().join("results/tiny/.report/DONE")).unwrap();
    let dry = stdout(&p.run(&["p.yaml", "--dry-run"]));
    assert!(dry.contains("stale    eval"), "{dry}");
    let err = ok(&p, &["p.yaml", "--no-progress"]);
    assert!(err.contains("done    eval"), "{err}");
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), intact);
}

/// A report that fails removes its earlier tables instead of leaving them
/// looking current.
#[test]
fn a_failed_report_leaves_no_stale_table() {
    let p = Project::new();
    p.write(
        "p.yaml",
        &format!("{TINY}sweep:\n  train.seed: [0, 1]\nreport:\n  table:\n    rows: [train.seed]\n"),
    );
    ok(&p, &["p.yaml", "--no-progress"]);
    let dir = p.path().join("results/tiny");
    assert!(dir.join("table.md").is_file());
    // Make summary.csv impossible to write: a folder in its place.
    std::fs::remove_file(dir.join("summary.csv")).unwrap();
    std::fs::create_dir(dir.join("summary.csv")).unwrap();
    let out = p.run(&["p.yaml", "--no-progress", "-o", "eval.images=6"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("FAILED  report"), "{err}");
    assert!(!dir.join("table.md").exists(), "stale table.md left: {err}");
    assert!(!dir.join("table.csv").exists());
}

/// A fresh result computed from a dirty tree at another revision than HEAD
/// is noted by `--dry-run` (its code may not be what that revision says).
#[test]
fn dry_run_notes_results_computed_from_uncommitted_code() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(p.path())
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    git(&["init", "-q"]);
    p.write(".gitignore", "results/\n.runner/\n");
    git(&["add", "p.yaml", ".gitignore"]);
    git(&["commit", "-qm", "first"]);
    p.write("edit.txt", "uncommitted");
    ok(&p, &["p.yaml", "--no-progress"]);
    let dry = stdout(&p.run(&["p.yaml", "--dry-run"]));
    assert!(!dry.contains("uncommitted"), "same revision: {dry}");
    git(&["add", "edit.txt"]);
    git(&["commit", "-qm", "second"]);
    let dry = stdout(&p.run(&["p.yaml", "--dry-run"]));
    assert!(dry.contains("0 to run"), "{dry}");
    assert!(dry.contains("note: computed at "), "{dry}");
    assert!(dry.contains("with uncommitted changes (HEAD is "), "{dry}");
}

/// Two trainings at once (`-j 2`) that need a dataset whose cache fails its
/// hash: it is rebuilt once, and neither node waits on the other as if it were
/// another runner.
#[test]
fn a_damaged_dataset_is_rebuilt_once_per_process() {
    let p = Project::new();
    p.write("p.yaml", &format!("{TINY}sweep:\n  train.seed: [0, 1]\n"));
    ok(&p, &["p.yaml", "--no-progress", "-o", "train.epochs=1"]);
    let datasets = p.path().join(".runner/cache/datasets");
    let entry = only_subdir(&datasets);
    flip_a_bit(&entry.join("train.bin"));
    let err = ok(
        &p,
        &["p.yaml", "--no-progress", "-j", "2", "-o", "train.batch=8"],
    );
    assert_eq!(err.matches("unusable").count(), 1, "{err}");
    assert!(!err.contains("waiting for another runner"), "{err}");
    assert_eq!(err.matches("done    train").count(), 2, "{err}");
}
