//! Regression against committed results: `reference/regression.yaml` is run
//! through the real binary and its `summary.csv` and `table.csv` are compared
//! with `reference/regression/` by `runner diff`. Any change that moves a
//! number fails here and must update the reference deliberately (see
//! reference/README.md).

mod common;

use std::path::Path;

use common::{repo, stderr, stdout, Project};

/// Relative tolerance of the comparison. Training is bit-reproducible on a given
/// CPU; the margin is for CPUs whose matrix kernels add in another order
/// (AVX2 vs AVX-512), which moves these numbers by far less. A change to what a
/// component computes moves them by far more.
const RTOL: &str = "1e-4";
/// Absolute tolerance, for values near zero (SSIM of a blank reconstruction).
const ATOL: &str = "1e-8";

/// `runner diff` of one committed file against the fresh one; the diff's report
/// on failure.
fn diff(p: &Project, committed: &Path, fresh: &Path, keys: &[&str]) -> Result<(), String> {
    let mut args = vec![
        "diff".to_string(),
        committed.to_str().unwrap().to_string(),
        fresh.to_str().unwrap().to_string(),
        "--rtol".to_string(),
        RTOL.to_string(),
        "--atol".to_string(),
        ATOL.to_string(),
    ];
    for key in keys {
        args.push("--key".to_string());
        args.push(key.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = p.run(&args);
    match out.status.code() {
        Some(0) => Ok(()),
        _ => Err(format!("{}{}", stdout(&out), stderr(&out))),
    }
}

#[test]
fn regression_pipeline_reproduces_the_reference() {
    let p = Project::new();
    let pipeline = repo().join("reference/regression.yaml");
    let out = p.run(&["run", pipeline.to_str().unwrap(), "-j", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fresh = p.path().join("results/regression");
    let committed = repo().join("reference/regression");

    if std::env::var_os("RUNNER_BLESS_REFERENCE").is_some() {
        std::fs::create_dir_all(&committed).unwrap();
        for name in ["summary.csv", "table.csv"] {
            std::fs::copy(fresh.join(name), committed.join(name)).unwrap();
        }
        return;
    }

    let row = ["loss.terms", "model.upsampler"];
    let mut failures = Vec::new();
    for (name, keys) in [("summary.csv", &[][..]), ("table.csv", &row[..])] {
        if let Err(report) = diff(&p, &committed.join(name), &fresh.join(name), keys) {
            failures.push(format!("reference/regression/{name}:\n{report}"));
        }
    }
    assert!(
        failures.is_empty(),
        "results differ from the committed reference (rtol {RTOL}, atol {ATOL}).\n{}\n\
         If the change is intended, update the reference with \
         RUNNER_BLESS_REFERENCE=1 cargo test --release --test reference \
         and give the reason in the commit message (reference/README.md).",
        failures.join("\n")
    );
}
