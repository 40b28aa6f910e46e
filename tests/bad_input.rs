//! Malformed input through the real binary, one table per class of mistake.
//!
//! Every case must end with exit code 2, print exactly one `error: ...` line on
//! stderr that contains the case's expected text (the key path, or the file for
//! file-level problems), and write nothing: each case runs with `--results-dir`
//! and `--cache-dir` inside its own scratch folder, and those folders (and the
//! default `results/` and `.runner/`) must not exist or be empty afterwards.
//!
//! A case that wrongly runs trains a tiny Shapes pipeline (64 images, one epoch),
//! so even a regression fails in seconds. Only the `-o` cases use `--dry-run`.
//! All failing cases of a class are reported in one assertion message.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Project;

/// A valid pipeline: Shapes, 64/32 images, one epoch, a two-cell sweep.
const BASE: &str = "\
name: p
dataset: {name: shapes, train_images: 64, test_images: 32}
train: {epochs: 1, batch: 32}
loss:
  alpha: 0.5
  terms: [{bce: {}}, {fft: {}}]
eval: {images: 8}
sweep:
  model.upsampler: [convt, n15]
";

/// The dataset, train and eval lines of [`BASE`], for cases that write the rest.
const D: &str = "dataset: {name: shapes, train_images: 64, test_images: 32}\n";
const T: &str = "train: {epochs: 1, batch: 32}\n";
const E: &str = "eval: {images: 8}\n";

/// The options every case runs with: its results and cache folders in the scratch
/// folder, plain output.
const FOLDERS: [&str; 5] = [
    "--results-dir",
    "res",
    "--cache-dir",
    "cache",
    "--no-progress",
];

/// Whether `line` starts with `error: p.yaml:LINE:COLUMN: `.
fn is_located(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("error: p.yaml:") else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let number = |part: Option<&str>| {
        part.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    number(parts.next()) && number(parts.next()) && parts.next().is_some_and(|r| r.starts_with(' '))
}

/// How a case's message must begin.
#[derive(Clone, Copy)]
enum Start {
    /// `error: p.yaml:LINE:COLUMN: ` (a problem inside the pipeline file).
    Located,
    /// This text (`error: p.yaml: -o `, or just `error: `).
    With(&'static str),
}

/// What a case shows beside exit 2, the start of its message, one line (when
/// `whole_line`), the expected text and no writes.
fn problems(
    out: &Output,
    project: &Path,
    start: Start,
    expected: &str,
    whole_line: bool,
) -> Vec<String> {
    let mut found = Vec::new();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(2) {
        found.push(format!("exit {:?}, not 2", out.status.code()));
    }
    let lines: Vec<&str> = err.lines().collect();
    if whole_line && lines.len() != 1 {
        found.push(format!("{} stderr lines, not 1", lines.len()));
    }
    let first = lines.first().copied().unwrap_or_default();
    match start {
        Start::Located if !is_located(first) => {
            found.push("stderr does not start with `error: p.yaml:LINE:COLUMN: `".to_string())
        }
        Start::With(text) if !first.starts_with(text) => {
            found.push(format!("stderr does not start with `{text}`"))
        }
        _ => {}
    }
    if !err.contains(expected) {
        found.push(format!("stderr lacks `{expected}`"));
    }
    for dir in ["res", "cache", "results", ".runner"] {
        let path = project.join(dir);
        let wrote = std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some());
        if wrote {
            found.push(format!("wrote under {dir}/"));
        }
    }
    if !found.is_empty() {
        found.push(format!("stderr: {}", err.trim_end()));
    }
    found
}

/// Runs `runner` in a fresh scratch folder that holds `p.yaml` with `text`, with
/// `args` and [`FOLDERS`]; returns the case's problems.
fn run_case(
    text: &[u8],
    args: &[&str],
    start: Start,
    expected: &str,
    whole_line: bool,
) -> Vec<String> {
    let p = Project::new();
    std::fs::write(p.path().join("p.yaml"), text).unwrap();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(FOLDERS);
    let out = p.run(&all);
    problems(&out, p.path(), start, expected, whole_line)
}

/// Fails with every failing case of `class` listed.
fn report(class: &str, total: usize, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} of {total} {class} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs each (name, pipeline text, expected text) case as `runner p.yaml`.
fn check_files(class: &str, cases: &[(&str, String, &str)]) {
    let mut failures = Vec::new();
    for (name, text, expected) in cases {
        let found = run_case(text.as_bytes(), &["p.yaml"], Start::Located, expected, true);
        if !found.is_empty() {
            failures.push(format!("- {name}: {}", found.join("; ")));
        }
    }
    report(class, cases.len(), failures);
}

#[test]
fn file_level_problems() {
    let mut failures = Vec::new();
    let mut total = 0;
    // (name, arguments, expected): files that are not pipeline files at all.
    let cases: [(&str, &[&str], &str); 4] = [
        (
            "missing file",
            &["nope.yaml"],
            "error: nope.yaml: pipeline file not found",
        ),
        (
            "directory",
            &["sub"],
            "error: sub: is a directory, not a pipeline file",
        ),
        (
            "directory with a trailing slash",
            &["sub/"],
            "error: sub/: is a directory, not a pipeline file",
        ),
        (
            "/dev/null",
            &["/dev/null"],
            "error: /dev/null: not a regular file (a character device); give the pipeline file itself",
        ),
    ];
    for (name, args, expected) in cases {
        total += 1;
        let p = Project::new();
        std::fs::create_dir_all(p.path().join("sub")).unwrap();
        let mut all = args.to_vec();
        all.extend(FOLDERS);
        let found = problems(
            &p.run(&all),
            p.path(),
            Start::With("error: "),
            expected,
            true,
        );
        if !found.is_empty() {
            failures.push(format!("- {name}: {}", found.join("; ")));
        }
    }

    let mut binary: Vec<u8> = b"name: p\n".to_vec();
    binary.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let garbage = "QUJD".repeat(50_000);
    // (name, file content, expected)
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", Vec::new(), "error: p.yaml: pipeline file is empty"),
        (
            "only comments and blank lines",
            b"# nothing here\n\n   \n# still nothing\n".to_vec(),
            "error: p.yaml: pipeline file is empty",
        ),
        ("binary data", binary, "error: p.yaml:2:2: not UTF-8 text (byte 0xbb); a pipeline file is YAML text"),
        (
            "a scalar document",
            b"hello\n".to_vec(),
            "p.yaml:1:1: the top level must be a mapping of sections (dataset:, model:, train:, ...), got a string",
        ),
        (
            "a list document",
            b"- dataset\n- train\n".to_vec(),
            "p.yaml:1:1: the top level must be a mapping of sections (dataset:, model:, train:, ...), got a list",
        ),
        (
            "a null document",
            b"~\n".to_vec(),
            "got null",
        ),
        (
            "one long line of base64 garbage",
            garbage.into_bytes(),
            "p.yaml:1:1: the top level must be a mapping of sections",
        ),
        (
            "no dataset section",
            format!("name: p\n{T}{E}").into_bytes(),
            "p.yaml:1:1: missing required key `dataset`",
        ),
    ];
    for (name, text, expected) in &cases {
        total += 1;
        let found = run_case(
            text,
            &["p.yaml"],
            Start::With("error: p.yaml:"),
            expected,
            true,
        );
        if !found.is_empty() {
            failures.push(format!("- {name}: {}", found.join("; ")));
        }
    }

    // A file name that is not a valid pipeline name, with no `name:` to replace it.
    total += 1;
    let p = Project::new();
    let text = BASE.replace("name: p\n", "");
    std::fs::write(p.path().join("形状_ü.yaml"), text).unwrap();
    let mut all = vec!["形状_ü.yaml"];
    all.extend(FOLDERS);
    let found = problems(
        &p.run(&all),
        p.path(),
        Start::With("error: 形状_ü.yaml:1:1: "),
        "contains '形'; use only A-Z, a-z, 0-9, `_`, `.` and `-` (taken from the file name; set `name:` to choose another)",
        true,
    );
    if !found.is_empty() {
        failures.push(format!(
            "- unicode file name without name: {}",
            found.join("; ")
        ));
    }

    // A Unix socket: not a regular file, refused before it is opened.
    total += 1;
    let p = Project::new();
    let socket = p.path().join("p.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let mut all = vec!["p.yaml"];
    all.extend(FOLDERS);
    let found = problems(
        &p.run(&all),
        p.path(),
        Start::With("error: p.yaml: "),
        "error: p.yaml: not a regular file (a socket); give the pipeline file itself",
        true,
    );
    if !found.is_empty() {
        failures.push(format!("- socket: {}", found.join("; ")));
    }
    report("file-level", total, failures);
}

/// A FIFO as the pipeline file is refused at once: opening it for reading would
/// block until something writes to it.
#[test]
fn fifo_is_refused_without_blocking() {
    let p = Project::new();
    let status = Command::new("mkfifo")
        .arg(p.path().join("p.yaml"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let mut all = vec!["p.yaml"];
    all.extend(FOLDERS);
    let mut child = p
        .command(&all)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("runner blocked on a FIFO for 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let err = reader.join().unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "error: p.yaml: not a regular file (a FIFO); give the pipeline file itself"
    );
    for dir in ["res", "cache", "results", ".runner"] {
        assert!(!p.path().join(dir).exists(), "{dir} written");
    }
}

/// A UTF-8 byte-order mark and CRLF line ends are fine, not bad input.
#[test]
fn byte_order_mark_and_crlf_are_accepted() {
    let p = Project::new();
    let text = format!("\u{feff}{}", BASE.replace('\n', "\r\n"));
    p.write("p.yaml", &text);
    let out = p.run(&["p.yaml", "--dry-run"]);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn yaml_syntax_problems() {
    let alias_bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n\
                      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n\
                      h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    let seeds: Vec<String> = (0..300_000).map(|i| i.to_string()).collect();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a colon in the wrong place",
            format!("{D}train:\n  epochs: 1\n    batch: 3: 4\n"),
            "p.yaml:4:10: invalid YAML: mapping values are not allowed in this context",
        ),
        (
            "tab indentation",
            format!("{D}train:\n\tepochs: 1\n"),
            "p.yaml:3:",
        ),
        (
            "unclosed flow list",
            format!("{D}train:\n  epochs: [1, 2\n  batch: 3\n"),
            "p.yaml:4:8: invalid YAML: illegal placement of ':' indicator",
        ),
        (
            "unclosed quote",
            format!("name: \"p\n{D}"),
            "p.yaml:1:7: invalid YAML: unclosed quote",
        ),
        (
            "duplicate top-level key",
            format!("{D}{T}{T}"),
            "p.yaml:3:1: duplicate key `train` (first written at line 2)",
        ),
        (
            "duplicate nested key",
            format!("{D}train:\n  epochs: 1\n  epochs: 2\n"),
            "p.yaml:4:3: train.epochs: duplicate key `epochs` (first written at line 3)",
        ),
        (
            "duplicate sweep axis",
            format!("{D}{T}{E}sweep:\n  model.upsampler: [convt]\n  model.upsampler: [n15]\n"),
            "p.yaml:6:3: sweep.model.upsampler: duplicate key `model.upsampler` (first written at line 5)",
        ),
        (
            "alias bomb",
            format!("{D}{T}{E}x:\n  {}", alias_bomb.replace('\n', "\n  ")),
            "too many YAML nodes once aliases are expanded: more than 250000 values, lists and mappings (a pipeline needs a few hundred)",
        ),
        (
            "100000 nested lists",
            format!("{D}x: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
            "p.yaml:2:259: lists or mappings are nested too deeply",
        ),
        (
            "300000 sweep values",
            format!("{D}{T}{E}sweep:\n  train.seed: [{}]\n", seeds.join(", ")),
            "too many YAML nodes: more than 250000 values, lists and mappings (a pipeline needs a few hundred)",
        ),
        (
            "an alias to no anchor",
            format!("{D}train: *nothing\n"),
            "p.yaml:2:8: invalid YAML: alias references unknown anchor",
        ),
        (
            "two documents",
            format!("{D}---\n{T}"),
            "p.yaml:3:1: a second YAML document starts here; a pipeline file holds one",
        ),
    ];
    check_files("YAML syntax", &cases);
}

#[test]
fn unknown_keys_in_every_section() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "top level",
            format!("{BASE}sweeps: {{}}\n"),
            "p.yaml:10:1: unknown key `sweeps` (did you mean `sweep`?); valid keys: name,",
        ),
        (
            "misspelt section",
            format!("{D}trian: {{epochs: 1}}\n"),
            "p.yaml:2:1: unknown key `trian` (did you mean `train`?)",
        ),
        (
            "dataset",
            format!("dataset: {{name: shapes, train_imgs: 64, test_images: 32}}\n{T}{E}"),
            "dataset.train_imgs: unknown key `train_imgs` for dataset shapes (did you mean `train_images`?)",
        ),
        (
            "model",
            format!("{D}model: {{latnet: 8}}\n"),
            "p.yaml:2:9: model.latnet: unknown key `latnet` (did you mean `latent`?)",
        ),
        (
            "train",
            format!("{D}train:\n  epocs: 1\n"),
            "p.yaml:3:3: train.epocs: unknown key `epocs` (did you mean `epochs`?)",
        ),
        (
            "optimizer",
            format!("{D}train: {{optimizer: {{adam: {{lrr: 0.1}}}}}}\n"),
            "train.optimizer.adam.lrr: unknown key `lrr` (did you mean `lr`?)",
        ),
        (
            "optimizer kind",
            format!("{D}train: {{optimizer: {{sgd: {{}}}}}}\n"),
            "train.optimizer.sgd: unknown key `sgd`",
        ),
        (
            "loss",
            format!("{D}loss: {{alpah: 0.5}}\n"),
            "loss.alpah: unknown key `alpah` (did you mean `alpha`?)",
        ),
        (
            "kl",
            format!("{D}loss: {{kl: {{bta: 1}}}}\n"),
            "loss.kl.bta: unknown key `bta` (did you mean `beta`?)",
        ),
        (
            "eval",
            format!("{D}eval: {{imagse: 8}}\n"),
            "eval.imagse: unknown key `imagse` (did you mean `images`?)",
        ),
        (
            "report",
            format!("{BASE}report: {{tabel: {{}}}}\n"),
            "report.tabel: unknown key `tabel` (did you mean `table`?)",
        ),
        (
            "report table",
            format!("{BASE}report: {{table: {{rowz: [model.upsampler]}}}}\n"),
            "report.table.rowz: unknown key `rowz` (did you mean `rows`?)",
        ),
        (
            "sweep key",
            format!("{D}{T}{E}sweep:\n  model.upsamplr: [convt, n15]\n"),
            "model.upsamplr: unknown key `upsamplr` (did you mean `upsampler`?)",
        ),
    ];
    check_files("unknown-key", &cases);
}

#[test]
fn wrong_types() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "word for a count",
            format!("{D}train:\n  epochs: three\n"),
            "p.yaml:3:3: train.epochs: invalid type: string \"three\", expected a whole number",
        ),
        (
            "fraction for a count",
            format!("{D}train:\n  epochs: 1.5\n"),
            "p.yaml:3:3: train.epochs: must be a whole number, got 1.5",
        ),
        (
            "yes for a boolean",
            format!("{D}train:\n  shuffle: yes\n"),
            "train.shuffle: invalid type: string \"yes\", expected a boolean (only true and false are booleans, got `yes`)",
        ),
        (
            "dataset as a string",
            format!("dataset: garbage\n{T}"),
            "p.yaml:1:1: dataset: invalid type: string \"garbage\", expected a mapping",
        ),
        (
            "model as a list",
            format!("{D}model: [1, 2]\n"),
            "p.yaml:2:1: model: invalid type: list, expected a mapping",
        ),
        (
            "optimizer as a word",
            format!("{D}train: {{optimizer: adam}}\n"),
            "write `{adam: {}}`",
        ),
        (
            "loss terms as a word",
            format!("{D}loss: {{terms: bce}}\n"),
            "loss.terms: invalid type: string \"bce\", expected a list",
        ),
        (
            "metrics as a word",
            format!("{D}eval: {{metrics: rmse_ai}}\n"),
            "eval.metrics: invalid type: string \"rmse_ai\", expected a list",
        ),
        (
            "betas as one number",
            format!("{D}train: {{optimizer: {{adam: {{betas: 0.9}}}}}}\n"),
            "train.optimizer.adam.betas: invalid type: floating point `0.9`, expected a list of 2 items",
        ),
        (
            "betas with one number",
            format!("{D}train: {{optimizer: {{adam: {{betas: [0.9]}}}}}}\n"),
            "train.optimizer.adam.betas: invalid length 1, expected a list of 2 items",
        ),
        (
            "dataset name as a number",
            "dataset: {name: 3}\n".to_string(),
            "dataset.name: invalid type: integer `3`",
        ),
        (
            "alpha as a word",
            format!("{D}loss: {{alpha: half}}\n"),
            "loss.alpha: invalid type: string \"half\", expected a number",
        ),
        (
            "latent as a boolean",
            format!("{D}model: {{latent: true}}\n"),
            "model.latent: invalid type: boolean `true`, expected a whole number",
        ),
        (
            "whole number with a decimal point",
            format!("{D}train: {{epochs: 2.0}}\n"),
            "train.epochs: must be a whole number written without a decimal point or exponent, got 2.0",
        ),
        (
            "null for a count",
            format!("{D}train: {{epochs: null}}\n"),
            "train.epochs: invalid type: null, expected a whole number",
        ),
        (
            "optimizer as a list",
            format!("{D}train: {{optimizer: [adam]}}\n"),
            "train.optimizer: invalid type: list, expected a name or a mapping",
        ),
        (
            "loss terms as a mapping",
            format!("{D}loss: {{terms: {{bce: {{}}}}}}\n"),
            "loss.terms: invalid type: mapping, expected a list",
        ),
        (
            "train as a number",
            format!("{D}train: 5\n"),
            "p.yaml:2:1: train: invalid type: integer `5`, expected a mapping",
        ),
        (
            "unknown upsampler",
            format!("{D}model: {{upsampler: n16}}\n"),
            "unknown value `n16` for model.upsampler (did you mean `n15`?)",
        ),
    ];
    check_files("wrong-type", &cases);
}

#[test]
fn out_of_range_values() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "zero epochs",
            format!("{D}train:\n  epochs: 0\n"),
            "p.yaml:3:3: train.epochs must be >= 1, got 0",
        ),
        (
            "negative epochs",
            format!("{D}train:\n  epochs: -1\n"),
            "p.yaml:3:3: train.epochs: must be a whole number from 0 to 4294967295, got -1",
        ),
        (
            "zero batch",
            format!("{D}train: {{epochs: 1, batch: 0}}\n"),
            "train.batch must be >= 1, got 0",
        ),
        (
            "zero threads",
            format!("{D}train: {{threads: 0}}\n"),
            "train.threads must be >= 1",
        ),
        (
            "size 64 on shapes",
            format!("dataset: {{name: shapes, size: 64, train_images: 64, test_images: 32}}\n{T}{E}"),
            "dataset.size must be 32 for dataset 'shapes'",
        ),
        (
            "two channels",
            format!("dataset: {{name: shapes, channels: 2, train_images: 64, test_images: 32}}\n{T}{E}"),
            "dataset.channels must be 1 (grey) or 3 (RGB), got 2",
        ),
        (
            "zero training images",
            format!("dataset: {{name: shapes, train_images: 0, test_images: 32}}\n{T}{E}"),
            "dataset.train_images must be >= 1, got 0",
        ),
        (
            "same train and test seed",
            format!("dataset: {{name: shapes, train_images: 64, test_images: 32, train_seed: 3, test_seed: 3}}\n{T}{E}"),
            "dataset.test_seed must differ from dataset.train_seed",
        ),
        (
            "a network for other images",
            format!("{D}model: {{arch: irmae_celeba}}\n"),
            "model.arch: model irmae_celeba needs 3x64x64 images, but the dataset gives 1x32x32",
        ),
        (
            "more eval images than test images",
            format!("{D}eval: {{images: 5000}}\n"),
            "eval.images must be at most dataset.test_images (32), got 5000",
        ),
        (
            "alpha above 1",
            format!("{D}loss: {{alpha: 1.5}}\n"),
            "loss.alpha must be in [0, 1], got 1.5",
        ),
        (
            "zero learning rate",
            format!("{D}train: {{optimizer: {{adam: {{lr: 0}}}}}}\n"),
            "train.optimizer.adam.lr must be > 0, got 0",
        ),
        (
            "negative learning rate",
            format!("{D}train: {{optimizer: {{adam: {{lr: -0.1}}}}}}\n"),
            "train.optimizer.adam.lr must be > 0, got -0.1",
        ),
        (
            "beta of 1",
            format!("{D}train: {{optimizer: {{adam: {{betas: [0.9, 1.0]}}}}}}\n"),
            "train.optimizer.adam.betas.1",
        ),
        (
            "negative KL weight",
            format!("{D}loss: {{kl: {{beta: -1}}}}\n"),
            "loss.kl.beta must be >= 0, got -1",
        ),
        (
            "negative term weight",
            format!("{D}loss: {{terms: [{{bce: {{}}}}, {{fft: {{weight: -1}}}}]}}\n"),
            "loss.terms.1.fft.weight must be >= 0, got -1",
        ),
    ];
    check_files("out-of-range", &cases);
}

#[test]
fn non_finite_numbers() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "NaN term weight",
            format!("{D}loss:\n  terms: [{{bce: {{}}}}, {{fft: {{weight: .nan}}}}]\n"),
            "p.yaml:3:29: loss.terms.1.fft.weight: must be a finite number, got .nan",
        ),
        (
            "infinite term weight",
            format!("{D}loss:\n  terms: [{{bce: {{}}}}, {{fft: {{weight: .inf}}}}]\n"),
            "loss.terms.1.fft.weight: must be a finite number, got .inf",
        ),
        (
            "NaN alpha",
            format!("{D}loss:\n  alpha: .nan\n"),
            "p.yaml:3:3: loss.alpha: must be a finite number, got .nan",
        ),
        (
            "infinite learning rate",
            format!("{D}train: {{optimizer: {{adam: {{lr: .inf}}}}}}\n"),
            "train.optimizer.adam.lr: must be a finite number, got .inf",
        ),
        (
            "minus infinite KL weight",
            format!("{D}loss: {{kl: {{beta: -.Inf}}}}\n"),
            "loss.kl.beta: must be a finite number, got -.inf",
        ),
        (
            "overflowing literal",
            format!("{D}loss: {{kl: {{beta: 1e999}}}}\n"),
            "loss.kl.beta: must be a finite number, got .inf",
        ),
        (
            "infinite epochs",
            format!("{D}train: {{epochs: .inf}}\n"),
            "train.epochs: must be a whole number",
        ),
        (
            "NaN in a sweep",
            format!("{D}{T}{E}sweep:\n  loss.alpha: [0.5, .nan]\n"),
            "p.yaml:5:21: loss.alpha: must be a finite number, got .nan (sweep value",
        ),
    ];
    check_files("non-finite", &cases);
}

#[test]
fn huge_integers() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "10^12 training images",
            format!("dataset: {{name: shapes, train_images: 1000000000000, test_images: 32}}\n{T}{E}"),
            "dataset.train_images: must be a whole number from 0 to 4294967295, got 1000000000000",
        ),
        (
            "10^12 test images",
            format!("dataset: {{name: shapes, train_images: 64, test_images: 1000000000000}}\n{T}{E}"),
            "dataset.test_images: must be a whole number from 0 to 4294967295, got 1000000000000",
        ),
        (
            "10^12 epochs",
            format!("{D}train: {{epochs: 1000000000000}}\n"),
            "train.epochs: must be a whole number from 0 to 4294967295",
        ),
        (
            "10^12 batch",
            format!("{D}train: {{batch: 1000000000000}}\n"),
            "train.batch: must be a whole number from 0 to 4294967295",
        ),
        (
            "10^11 latent",
            format!("{D}model: {{latent: 100000000000}}\n"),
            "model.latent: must be a whole number from 0 to 4294967295",
        ),
        (
            "1e23 training images",
            format!("dataset: {{name: shapes, train_images: 1e23, test_images: 32}}\n{T}{E}"),
            "dataset.train_images: must be a whole number from 0 to 4294967295, got 1e+23",
        ),
        (
            "2^64 seed",
            format!("{D}train: {{seed: 18446744073709551616}}\n"),
            "train.seed: must be a whole number from 0 to 18446744073709551615, got 1.8446744073709552e+19",
        ),
        (
            "negative seed",
            format!("{D}train: {{seed: -1}}\n"),
            "train.seed: must be a whole number from 0 to 18446744073709551615, got -1",
        ),
    ];
    check_files("huge-integer", &cases);
}

#[test]
fn sweep_problems() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "empty value list",
            format!("{D}{T}{E}sweep:\n  model.upsampler: []\n"),
            "p.yaml:5:3: sweep.model.upsampler must list at least one value",
        ),
        (
            "a value twice",
            format!("{D}{T}{E}sweep:\n  model.upsampler: [convt, n15, convt]\n"),
            "sweep.model.upsampler lists the value convt twice",
        ),
        (
            "values not a list",
            format!("{D}{T}{E}sweep:\n  model.upsampler: convt\n"),
            "p.yaml:5:3: sweep.model.upsampler must be a list of values, e.g. [convt], got a string",
        ),
        (
            "sweep not a mapping",
            format!("{D}{T}{E}sweep: [model.upsampler]\n"),
            "p.yaml:4:1: sweep must be a mapping of key path to a list of values",
        ),
        (
            "unknown value",
            format!("{D}{T}{E}sweep:\n  model.upsampler: [convt, n16]\n"),
            "p.yaml:5:28: unknown value `n16` for model.upsampler",
        ),
        (
            "wrong type",
            format!("{D}{T}{E}sweep:\n  train.epochs: [1, two]\n"),
            "train.epochs: invalid type: string \"two\"",
        ),
        (
            "out of range",
            format!("{D}{T}{E}sweep:\n  loss.alpha: [0.5, 1.5]\n"),
            "p.yaml:5:21: loss.alpha must be in [0, 1], got 1.5 (sweep value 1.5)",
        ),
        (
            "the name",
            format!("{D}{T}{E}sweep:\n  name: [a, b]\n"),
            "the pipeline name cannot be swept",
        ),
        (
            "the report",
            format!("{D}{T}{E}sweep:\n  report.table.rows: [[a], [b]]\n"),
            "the report section cannot be swept",
        ),
    ];
    check_files("sweep", &cases);
}

#[test]
fn report_problems() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "row not swept",
            format!("{BASE}report:\n  table:\n    rows: [loss.alpha]\n"),
            "p.yaml:12:12: report.table.rows.0: `loss.alpha` is not a swept key (swept keys: model.upsampler)",
        ),
        (
            "row when nothing is swept",
            format!("{D}{T}{E}report: {{table: {{rows: [train.seed]}}}}\n"),
            "this pipeline sweeps nothing",
        ),
        (
            "no rows",
            format!("{BASE}report:\n  table:\n    rows: []\n"),
            "report.table.rows",
        ),
        (
            "label for no value",
            format!("{BASE}report:\n  table:\n    rows: [model.upsampler]\n    labels: {{n17: N17}}\n"),
            "report.table.labels: label `n17` matches no value",
        ),
        (
            "metric not evaluated",
            format!("{D}{T}eval: {{images: 8, metrics: [rmse_ai]}}\nsweep: {{model.upsampler: [convt, n15]}}\nreport:\n  table:\n    rows: [model.upsampler]\n    metrics: [psnr]\n"),
            "p.yaml:8:15: report.table.metrics.0: psnr is not in eval.metrics (rmse_ai)",
        ),
        (
            "table as a list",
            format!("{BASE}report:\n  table: [model.upsampler]\n"),
            "p.yaml:11:3: report.table: invalid type: list, expected a mapping",
        ),
    ];
    check_files("report", &cases);
}

#[test]
fn metric_problems() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown metric",
            format!("{D}eval: {{images: 8, metrics: [rmse_ai, rmse_foo]}}\n"),
            "unknown value `rmse_foo` for eval.metrics.1; expected one of rmse_spatial",
        ),
        (
            "misspelt metric",
            format!("{D}eval: {{images: 8, metrics: [rmse_spacial]}}\n"),
            "(did you mean `rmse_spatial`?)",
        ),
        (
            "no metrics",
            format!("{D}eval: {{images: 8, metrics: []}}\n"),
            "eval.metrics must list at least one metric",
        ),
        (
            "a metric twice",
            format!("{D}eval: {{images: 8, metrics: [psnr, rmse_ai, psnr]}}\n"),
            "eval.metrics lists psnr twice",
        ),
        (
            "zero eval images",
            format!("{D}eval: {{images: 0}}\n"),
            "eval.images must be >= 1",
        ),
    ];
    check_files("metric", &cases);
}

#[test]
fn loss_term_problems() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown term",
            format!("{D}loss: {{terms: [{{bce: {{}}}}, {{fftt: {{}}}}]}}\n"),
            "loss.terms.1.fftt: unknown key `fftt` (did you mean `fft`?); valid keys: bce, mse",
        ),
        (
            "unknown term option",
            format!("{D}loss: {{terms: [{{fft: {{nrom: ortho}}}}]}}\n"),
            "loss.terms.0.fft.nrom: unknown key `nrom` (did you mean `norm`?)",
        ),
        (
            "no terms",
            format!("{D}loss: {{terms: []}}\n"),
            "loss.terms must list at least one term",
        ),
        (
            "two keys in one term",
            format!("{D}loss: {{terms: [{{bce: {{}}, fft: {{}}}}]}}\n"),
            "loss.terms.0: each entry takes exactly one key, e.g. `{bce: {}}`, got 2: bce, fft",
        ),
        (
            "a term as a bare word",
            format!("{D}loss: {{terms: [bce]}}\n"),
            "`bce` takes its options as a mapping: write `{bce: {}}`",
        ),
        (
            "odd STFT window",
            format!("{D}loss: {{terms: [{{stft: {{window: 7}}}}]}}\n"),
            "loss.terms.0.stft.window",
        ),
        (
            "even Wiener kernel",
            format!("{D}loss: {{terms: [{{wiener: {{kernel_size: 4}}}}]}}\n"),
            "loss.terms.0.wiener.kernel_size",
        ),
        (
            "two learned sigmas",
            format!("{D}loss: {{terms: [{{mse: {{sigma_mode: learned}}}}, {{mse: {{sigma_mode: learned}}}}]}}\n"),
            "at most one mse term with sigma_mode: learned",
        ),
    ];
    check_files("loss-term", &cases);
}

#[test]
fn pipeline_name_problems() {
    let with_name = |name: &str| format!("name: {name}\n{D}{T}{E}");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unicode",
            with_name("形状_fft_ü😀"),
            "p.yaml:1:1: the pipeline name `形状_fft_ü😀` contains '形'",
        ),
        (
            "parent folder",
            with_name("../escape"),
            "the pipeline name `../escape` contains '/'",
        ),
        (
            "absolute path",
            with_name("/tmp/escape"),
            "the pipeline name `/tmp/escape` contains '/'",
        ),
        (
            "a sub-folder",
            with_name("a/b"),
            "the pipeline name `a/b` contains '/'",
        ),
        (
            "empty",
            with_name("''"),
            "the pipeline name must not be empty",
        ),
        ("dot", with_name("."), "the pipeline name cannot be `.`"),
        (
            "dot dot",
            with_name(".."),
            "the pipeline name cannot be `..`",
        ),
        (
            "a space",
            with_name("'my run'"),
            "the pipeline name `my run` contains ' '",
        ),
        (
            "a list",
            with_name("[a, b]"),
            "p.yaml:1:1: name: invalid type: list, expected a string",
        ),
    ];
    check_files("pipeline-name", &cases);
}

#[test]
fn bad_overrides() {
    // (name, -o arguments, expected); run with --dry-run on the valid BASE.
    let cases: [(&str, &[&str], &str); 22] = [
        (
            "word for a count",
            &["train.epochs=abc"],
            "p.yaml: -o train.epochs=abc: train.epochs: invalid type: string \"abc\", expected a whole number",
        ),
        (
            "misspelt key",
            &["train.epocs=2"],
            "-o train.epocs=2: train.epocs: unknown key `epocs` (did you mean `epochs`?)",
        ),
        (
            "unknown section",
            &["nonexist.key=1"],
            "-o nonexist.key=1: unknown key `nonexist`; valid keys: name,",
        ),
        (
            "no =",
            &["train.epochs"],
            "-o train.epochs: expected KEY=VALUE",
        ),
        ("empty key", &["=5"], "-o =5: the key is empty"),
        (
            "empty value",
            &["model.upsampler="],
            "-o model.upsampler=: no value after `model.upsampler=`",
        ),
        (
            "empty value in a list",
            &["model.upsampler=convt,,n15"],
            "empty value in the list `convt,,n15`",
        ),
        (
            "a value twice",
            &["model.upsampler=convt,convt"],
            "the value convt is listed twice",
        ),
        (
            "negative count",
            &["train.epochs=-3"],
            "-o train.epochs=-3: train.epochs: must be a whole number from 0 to 4294967295, got -3",
        ),
        (
            "zero count",
            &["train.epochs=0"],
            "-o train.epochs=0: train.epochs must be >= 1, got 0",
        ),
        (
            "nan as a word",
            &["loss.alpha=nan"],
            "-o loss.alpha=nan: loss.alpha: invalid type: string \"nan\", expected a number",
        ),
        (
            "YAML NaN",
            &["loss.alpha=.nan"],
            "-o loss.alpha=.nan: loss.alpha: must be a finite number, got .nan",
        ),
        (
            "index out of range",
            &["loss.terms.5.fft.weight=1"],
            "index 5 is out of range, loss.terms has 2 items",
        ),
        (
            "unknown term in a list",
            &["loss.terms=[{bce: {}}, {fftt: {}}]"],
            "loss.terms.1.fftt: unknown key `fftt` (did you mean `fft`?)",
        ),
        (
            "name escaping",
            &["name=../x"],
            "-o name=../x: the pipeline name `../x` contains '/'",
        ),
        (
            "unknown metric",
            &["eval.metrics=[rmse_foo]"],
            "unknown value `rmse_foo` for eval.metrics.0",
        ),
        (
            "unclosed bracket",
            &["train={epochs: 2"],
            "-o train={epochs: 2: unclosed bracket",
        ),
        (
            "the sweep block",
            &["sweep.model.upsampler=convt"],
            "overrides cannot change the sweep block",
        ),
        (
            "yes for a boolean",
            &["train.shuffle=yes"],
            "train.shuffle: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "a section as a word",
            &["dataset=garbage"],
            "-o dataset=garbage: dataset: invalid type: string \"garbage\", expected a mapping",
        ),
        (
            "the same key twice",
            &["train.epochs=2", "train.epochs=3"],
            "-o train.epochs=3: train.epochs is already set by -o train.epochs=2",
        ),
        (
            "an empty key segment",
            &["train..epochs=2"],
            "the key `train..epochs` has an empty segment",
        ),
    ];
    let mut failures = Vec::new();
    for (name, overrides, expected) in cases {
        let mut args = vec!["p.yaml", "--dry-run"];
        for o in overrides {
            args.extend(["-o", o]);
        }
        let found = run_case(
            BASE.as_bytes(),
            &args,
            Start::With("error: p.yaml: -o "),
            expected,
            true,
        );
        if !found.is_empty() {
            failures.push(format!("- {name}: {}", found.join("; ")));
        }
    }
    report("-o override", cases.len(), failures);
}

/// Bad command-line arguments are clap's: exit 2 and an `error: ` first line
/// (clap adds a usage block after it, so only the first line is checked).
#[test]
fn bad_command_line_arguments() {
    let cases: [(&str, &[&str], &str); 6] = [
        (
            "zero jobs",
            &["p.yaml", "-j", "0"],
            "error: invalid value '0' for '--jobs <JOBS>'",
        ),
        (
            "too many jobs",
            &["p.yaml", "-j", "100000"],
            "error: invalid value '100000' for '--jobs <JOBS>'",
        ),
        (
            "unknown option",
            &["p.yaml", "--epochs", "3"],
            "error: unexpected argument '--epochs' found",
        ),
        (
            "no pipeline file",
            &["run"],
            "error: the following required arguments were not provided",
        ),
        (
            "unknown executor",
            &["p.yaml", "--executor", "pbs"],
            "error: invalid value 'pbs' for '--executor <EXECUTOR>'",
        ),
        (
            "-o without a value",
            &["p.yaml", "-o"],
            "error: a value is required for '--override <KEY=VALUE>'",
        ),
    ];
    let mut failures = Vec::new();
    for (name, args, expected) in cases {
        let found = run_case(
            BASE.as_bytes(),
            args,
            Start::With("error: "),
            expected,
            false,
        );
        if !found.is_empty() {
            failures.push(format!("- {name}: {}", found.join("; ")));
        }
    }
    report("command-line", cases.len(), failures);
}
