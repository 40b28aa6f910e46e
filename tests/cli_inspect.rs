//! The commands on finished results, through the real binary: provenance.json,
//! `runner diff`, `runner ls`, `runner show` and `runner gc`.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};

use common::{stderr, stdout, Project, TINY};

/// TINY swept over two training seeds.
fn sweep() -> String {
    format!("{TINY}sweep:\n  train.seed: [0, 1]\n")
}

/// Runs `runner ARGS` and checks it exits 0.
fn ok(p: &Project, args: &[&str]) -> String {
    let out = p.run(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// The sub-folders of `dir`, sorted.
fn dirs_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// A JSON file as a value.
fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Holds the OS lock of node folder `dir` as a running runner would.
fn hold_lock(dir: &Path) -> File {
    let mut name = dir.file_name().unwrap().to_os_string();
    name.push(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.with_file_name(name))
        .unwrap();
    file.try_lock().unwrap();
    file
}

#[test]
fn tiny_run_writes_provenance_next_to_each_result() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    ok(
        &p,
        &[
            "p.yaml",
            "--no-progress",
            "-o",
            "train.seed=3",
            "-o",
            "eval.seed=7",
        ],
    );
    let runs = dirs_in(&p.path().join("results/tiny/runs"));
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let eval = &dirs_in(&run.join("eval"))[0];
    let dataset = &dirs_in(&p.path().join(".runner/cache/datasets"))[0];
    let key_of = |dir: &Path| json(&dir.join("DONE"))["key"].clone();

    let train = json(&run.join("provenance.json"));
    assert_eq!(train["kind"], "train");
    assert_eq!(train["key"], key_of(run));
    assert_eq!(train["seed"], 3);
    assert_eq!(train["device"], "cpu");
    assert_eq!(train["runner_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(train["parents"]["dataset"], key_of(dataset));
    assert_eq!(train["parents"].as_object().unwrap().len(), 1);
    // The project folder is no git repository: recorded as null, the run still works.
    assert_eq!(train["git"]["revision"], serde_json::Value::Null);
    assert_eq!(train["git"]["dirty"], serde_json::Value::Null);
    for field in ["started", "finished"] {
        let t = train[field].as_str().unwrap();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    }
    assert!(train["started"].as_str() <= train["finished"].as_str());

    let ev = json(&eval.join("provenance.json"));
    assert_eq!(ev["kind"], "eval");
    assert_eq!(ev["key"], key_of(eval));
    assert_eq!(ev["seed"], 7);
    assert_eq!(ev["parents"]["train"], key_of(run));
    assert_eq!(ev["parents"]["dataset"], key_of(dataset));

    // Provenance is no part of any key: the same command finds everything fresh.
    let dry = ok(
        &p,
        &["p.yaml", "-n", "-o", "train.seed=3", "-o", "eval.seed=7"],
    );
    assert!(dry.contains("0 to run"), "{dry}");
}

#[test]
fn diff_matches_a_rerun_and_flags_a_changed_loss_weight() {
    let p = Project::new();
    p.write("p.yaml", &sweep());
    ok(&p, &["p.yaml", "--no-progress"]);
    ok(&p, &["p.yaml", "--no-progress", "--results-dir", "again"]);

    // The same config run twice gives the same table; also via the YAML file.
    let same = p.run(&["diff", "results/tiny", "again/tiny"]);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    let text = stdout(&same);
    assert!(
        text.contains("tables match: 0 value(s) changed in 0 of 2 matched row(s)"),
        "{text}"
    );
    assert!(!text.contains("changed ("), "{text}");
    let via_yaml = p.run(&["diff", "p.yaml", "again/tiny/summary.csv"]);
    assert_eq!(via_yaml.status.code(), Some(0), "{}", stderr(&via_yaml));

    let weight = ["-o", "loss.terms.1.fft.weight=100"];
    ok(
        &p,
        &[
            &["p.yaml", "--no-progress", "--results-dir", "heavy"][..],
            &weight,
        ]
        .concat(),
    );
    let changed = p.run(&["diff", "results/tiny", "heavy/tiny"]);
    assert_eq!(changed.status.code(), Some(1), "{}", stderr(&changed));
    let text = stdout(&changed);
    assert!(text.contains("changed ("), "{text}");
    assert!(text.contains("rmse_ai_mean"), "{text}");
    assert!(text.contains("note: train_key changed for 0:"), "{text}");
    assert!(text.contains("tables differ:"), "{text}");

    // JSON: every change names its row and column, and parses.
    let out = p.run(&["diff", "results/tiny", "heavy/tiny", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["differs"], true);
    assert_eq!(report["key_columns"], serde_json::json!(["train.seed"]));
    let rows: Vec<&str> = report["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"][0].as_str().unwrap())
        .collect();
    assert!(rows.contains(&"0") && rows.contains(&"1"), "{rows:?}");

    // A loose enough tolerance on one metric accepts the change... of a table
    // against itself only: here rtol 10 (1000%) on rmse_spatial must match.
    let loose = p.run(&[
        "diff",
        "results/tiny",
        "heavy/tiny",
        "--metrics",
        "rmse_spatial",
        "--rtol",
        "10",
    ]);
    assert_eq!(loose.status.code(), Some(0), "{}", stdout(&loose));

    // A different sweep: one row only in A, one only in B.
    ok(
        &p,
        &[
            "p.yaml",
            "--no-progress",
            "--results-dir",
            "other",
            "-o",
            "train.seed=0,2",
        ],
    );
    let sides = p.run(&["diff", "results/tiny", "other/tiny", "--format", "csv"]);
    assert_eq!(sides.status.code(), Some(1));
    let csv_text = stdout(&sides);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let sided: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r[0].starts_with("only_in"))
        .map(|r| (&r[0], &r[1]))
        .collect();
    assert_eq!(
        sided,
        [("only_in_a", "1"), ("only_in_b", "2")],
        "{csv_text}"
    );
    assert!(stderr(&sides).contains("1 row(s) only in A, 1 only in B"));

    // An eval folder against itself, and a run folder (its one eval).
    let run = &dirs_in(&p.path().join("results/tiny/runs"))[0];
    let eval = &dirs_in(&run.join("eval"))[0];
    let out = p.run(&["diff", run.to_str().unwrap(), eval.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("eval/"), "{}", stdout(&out));
}

#[test]
fn diff_rejects_bad_input_with_exit_2_naming_the_file() {
    let p = Project::new();
    p.write("a.csv", "x,y\n1,2\n");
    p.write("bad.csv", "x,y\n1,2,3\n");
    let missing = p.run(&["diff", "a.csv", "nope.csv"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("nope.csv"),
        "{}",
        stderr(&missing)
    );
    let bad = p.run(&["diff", "a.csv", "bad.csv"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("bad.csv"), "{}", stderr(&bad));
    p.write("p.yaml", TINY);
    let no_results = p.run(&["diff", "p.yaml", "a.csv"]);
    assert_eq!(no_results.status.code(), Some(2));
    assert!(
        stderr(&no_results).contains("results/tiny/summary.csv"),
        "{}",
        stderr(&no_results)
    );
    let key = p.run(&["diff", "a.csv", "a.csv", "--key", "z"]);
    assert_eq!(key.status.code(), Some(2));
    assert!(!p.wrote_results());
}

#[test]
fn ls_lists_cells_orphans_and_running_nodes() {
    let p = Project::new();
    p.write("p.yaml", &sweep());
    ok(&p, &["p.yaml", "--no-progress"]);
    let first = ok(&p, &["ls"]);
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines[0], "tiny (results/tiny): 2 row(s)", "{first}");
    assert!(
        lines[1].split_whitespace().eq([
            "state",
            "train.seed",
            "train",
            "eval",
            "rmse_spatial",
            "sq_err_pixel",
            "rmse_fft2",
            "rmse_ai",
            "psnr",
            "ssim"
        ]),
        "{first}"
    );
    let cells: Vec<Vec<&str>> = lines[2..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(cells.len(), 2, "{first}");
    assert_eq!(cells[0][..2], ["done", "0"], "{first}");
    assert_eq!(cells[1][..2], ["done", "1"], "{first}");

    // A changed loss: the new cells are done, the old run folders are orphans.
    ok(
        &p,
        &[
            "p.yaml",
            "--no-progress",
            "-o",
            "loss.terms.1.fft.weight=100",
        ],
    );
    let out = ok(&p, &["ls", "results/tiny"]);
    let states: Vec<&str> = out
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(states, ["done", "done", "orphan", "orphan"], "{out}");
    let orphans = ok(&p, &["ls", "p.yaml", "--filter", "state=orphan"]);
    assert!(
        orphans.starts_with("tiny (results/tiny): 2 row(s)"),
        "{orphans}"
    );
    let seed1 = ok(&p, &["ls", "--filter", "seed=1", "--filter", "state=done"]);
    assert!(
        seed1.starts_with("tiny (results/tiny): 1 row(s)"),
        "{seed1}"
    );

    // Sorting on a metric, both ways.
    let metric = |text: &str| -> Vec<f64> {
        text.lines()
            .skip(2)
            .map(|l| l.split_whitespace().last().unwrap().parse().unwrap())
            .collect()
    };
    // (The last column is the last default metric, ssim.)
    let up = metric(&ok(&p, &["ls", "--sort", "ssim"]));
    let down = metric(&ok(&p, &["ls", "--sort", "-ssim"]));
    assert_eq!(up.len(), 4);
    assert!(up.windows(2).all(|w| w[0] <= w[1]), "{up:?}");
    assert!(down.windows(2).all(|w| w[0] >= w[1]), "{down:?}");

    // A held node lock shows as running.
    let summary = std::fs::read_to_string(p.path().join("results/tiny/summary.csv")).unwrap();
    let train_key = summary.lines().nth(1).unwrap().split(',').nth(3).unwrap();
    let _lock = hold_lock(&p.path().join("results/tiny/runs").join(train_key));
    let running = ok(&p, &["ls", "--filter", "state=running"]);
    assert!(
        running.starts_with("tiny (results/tiny): 1 row(s)"),
        "{running}"
    );
    assert!(running.contains(&train_key[..8]), "{running}");

    let bad = p.run(&["ls", "--filter", "nope=1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--filter nope"), "{}", stderr(&bad));
}

#[test]
fn show_prints_a_node_and_rejects_ambiguous_or_unknown_keys() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    ok(&p, &["p.yaml", "--no-progress"]);
    let run = dirs_in(&p.path().join("results/tiny/runs")).remove(0);
    let train_key = run.file_name().unwrap().to_str().unwrap().to_string();
    let eval = dirs_in(&run.join("eval")).remove(0);
    let eval_key = eval.file_name().unwrap().to_str().unwrap().to_string();

    let out = ok(&p, &["show", &train_key[..6]]);
    let full = json(&run.join("DONE"))["key"].as_str().unwrap().to_string();
    assert!(out.starts_with(&format!("train {full} (done)")), "{out}");
    for part in [
        "config (",
        "  train:",
        "provenance:",
        "\"kind\": \"train\"",
        "metrics:",
        "rmse_ai",
        "files:",
        "model.safetensors",
        "config.yaml",
        "train_log.csv",
    ] {
        assert!(out.contains(part), "missing {part}:\n{out}");
    }
    let out = ok(&p, &["show", &eval_key]);
    assert!(out.starts_with("eval "), "{out}");
    for part in [
        "\"kind\": \"eval\"",
        "samples.png",
        "spectrum.csv",
        "  model:",
    ] {
        assert!(out.contains(part), "missing {part}:\n{out}");
    }

    // The same config under a second pipeline name: the same keys, twice.
    p.write("q.yaml", &TINY.replace("name: tiny", "name: twin"));
    ok(&p, &["q.yaml", "--no-progress"]);
    let ambiguous = p.run(&["show", &train_key]);
    assert_eq!(ambiguous.status.code(), Some(2));
    let err = stderr(&ambiguous);
    assert!(
        err.contains("ambiguous") && err.contains("in tiny") && err.contains("in twin"),
        "{err}"
    );
    let unknown = p.run(&["show", "0000000"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no train or eval node"),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(p.run(&["show", "xyz"]).status.code(), Some(2));
}

#[test]
fn gc_lists_old_results_then_deletes_them_and_keeps_current_ones() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    ok(&p, &["p.yaml", "--no-progress"]);
    let old_run = dirs_in(&p.path().join("results/tiny/runs")).remove(0);
    let old_dataset = dirs_in(&p.path().join(".runner/cache/datasets")).remove(0);
    // A new dataset size: new dataset, train and eval keys.
    let changed = ["p.yaml", "--no-progress", "-o", "dataset.train_images=48"];
    ok(&p, &changed);
    let runs = dirs_in(&p.path().join("results/tiny/runs"));
    assert_eq!(runs.len(), 2);
    let new_run = runs.into_iter().find(|r| *r != old_run).unwrap();
    // A leftover of an interrupted atomic write, an hour old.
    let temp = p.write("results/tiny/.tmpAbC123", "partial");
    File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();

    let dry = ok(&p, &["gc"]);
    let name = |path: &Path| path.file_name().unwrap().to_str().unwrap().to_string();
    for (what, path) in [
        ("orphan", &old_run),
        ("unused dataset", &old_dataset),
        ("temp file", &temp),
    ] {
        let line = dry.lines().find(|l| l.ends_with(&name(path))).unwrap_or("");
        assert!(
            line.trim_start().starts_with(what),
            "{what} {}:\n{dry}",
            path.display()
        );
    }
    assert!(!dry.contains(&name(&new_run)), "{dry}");
    assert!(
        dry.contains("3 item(s)") && dry.contains("dry run"),
        "{dry}"
    );
    assert!(old_run.is_dir() && old_dataset.is_dir() && temp.is_file());

    // A held lock keeps the old run, even with --yes, and while a runner is
    // active unreferenced datasets stay too (they may be about to be recorded).
    let lock = hold_lock(&old_run);
    let kept = ok(&p, &["gc", "--yes"]);
    assert!(kept.contains("locked"), "{kept}");
    assert!(kept.contains("deleted 1 item(s)"), "{kept}");
    assert!(
        old_run.is_dir() && old_dataset.is_dir() && !temp.exists(),
        "{kept}"
    );
    drop(lock);

    let gone = ok(&p, &["gc", "--yes"]);
    assert!(gone.contains("deleted 2 item(s)"), "{gone}");
    assert!(!old_run.exists() && !old_dataset.exists());
    assert!(new_run.join("model.safetensors").is_file());
    let dry = ok(&p, &["p.yaml", "-n", "-o", "dataset.train_images=48"]);
    assert!(dry.contains("0 to run"), "{dry}");
    assert!(ok(&p, &["gc"]).starts_with("nothing to delete"));
}
