//! The node keys of every shipped pipeline (and of the pipelines in
//! `tests/keys/`, which use every component and option), against the list
//! committed in `tests/shipped_keys.txt`.
//!
//! A key names a result: when a change moves a shipped pipeline's keys, every
//! user's cached results of that pipeline are recomputed. That must be a
//! decision (a component's version bumped because its numbers change), never
//! the side effect of a refactor. When the change is deliberate, regenerate the
//! list with `RUNNER_BLESS_KEYS=1 cargo test --release --test shipped_keys` and
//! say why in the commit.

mod common;

use std::fmt::Write as _;

use runner::dag::{build_plan, Store};
use runner::pipeline::load::load_pipeline;

use common::{repo, shipped_pipelines, yaml_files};

/// One line per node of every shipped pipeline: file, kind, key, cell label.
fn planned_keys() -> String {
    let root = repo();
    let store_dir = tempfile::tempdir().unwrap();
    let store = Store::new(
        store_dir.path().join("cache"),
        store_dir.path().join("results"),
    );
    let mut listing = String::new();
    let files = [shipped_pipelines(), yaml_files(&root.join("tests/keys"))].concat();
    for file in files {
        let shown = file.strip_prefix(&root).unwrap().display().to_string();
        let loaded = load_pipeline(&file, &[]).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let plan = build_plan(loaded, &store, &runner::code_version::current)
            .unwrap_or_else(|e| panic!("{shown}: {e:#}"));
        for (i, node) in plan.nodes.iter().enumerate() {
            writeln!(
                listing,
                "{shown} {} {} {}",
                node.kind.name(),
                node.key,
                plan.node_label(i)
            )
            .unwrap();
        }
    }
    listing
}

#[test]
fn shipped_pipelines_plan_the_committed_keys() {
    let expected_file = repo().join("tests/shipped_keys.txt");
    let planned = planned_keys();
    if std::env::var_os("RUNNER_BLESS_KEYS").is_some() {
        std::fs::write(&expected_file, &planned).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_file).unwrap();
    let missing: Vec<&str> = expected
        .lines()
        .filter(|l| !planned.lines().any(|p| p == *l))
        .collect();
    let new: Vec<&str> = planned
        .lines()
        .filter(|l| !expected.lines().any(|e| e == *l))
        .collect();
    assert!(
        missing.is_empty() && new.is_empty(),
        "shipped pipelines plan other keys than tests/shipped_keys.txt \
         (if deliberate, rerun with RUNNER_BLESS_KEYS=1 and say why in the commit)\n\
         no longer planned:\n{}\nnewly planned:\n{}",
        missing.join("\n"),
        new.join("\n")
    );
}
