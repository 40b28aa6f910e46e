//! The pipelines shipped in pipelines/ (the papers' experiments) all load, resolve
//! and plan, and every quick or medium variant runs the same grid as its full pipeline.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{repo, stderr, stdout, yaml_files, Project, SHIPPED_PIPELINE_DIRS};

/// `runner config FILE` output: the cell label lines (`# cell i/n: ...`).
fn cell_labels(p: &Project, file: &Path) -> Vec<String> {
    let out = p.run(&["config", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        file.display(),
        stderr(&out)
    );
    stdout(&out)
        .lines()
        .filter(|l| l.starts_with("# cell "))
        .map(|l| l.split_once(": ").unwrap().1.to_string())
        .collect()
}

#[test]
fn every_shipped_pipeline_plans_and_has_a_quick_variant() {
    let p = Project::new();
    let full = yaml_files(&repo().join("pipelines"));
    let quick = yaml_files(&repo().join("pipelines/quick"));
    let names = |files: &[PathBuf]| -> BTreeSet<String> {
        files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    for required in [
        "bjork_shape.yaml",
        "bjork_mnist.yaml",
        "bjork_celeba.yaml",
        "celeba_n15_fft.yaml",
        "dalal_mnist.yaml",
        "bredell_celeba.yaml",
    ] {
        assert!(names(&full).contains(required), "missing {required}");
        assert!(names(&quick).contains(required), "no quick {required}");
    }
    for file in &full {
        let labels = cell_labels(&p, file);
        assert!(!labels.is_empty(), "{}", file.display());
        for sibling in SHIPPED_PIPELINE_DIRS[1..]
            .iter()
            .map(|dir| repo().join(dir).join(file.file_name().unwrap()))
            .filter(|sibling| sibling.exists())
        {
            // Same grid apart from the seeds: the quick run is the same experiment, smaller.
            let without_seed = |labels: Vec<String>| -> BTreeSet<String> {
                labels
                    .into_iter()
                    .map(|l| {
                        l.split(' ')
                            .filter(|w| !w.starts_with("train.seed="))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect()
            };
            assert_eq!(
                without_seed(cell_labels(&p, &sibling)),
                without_seed(labels.clone()),
                "{} and {} sweep different grids",
                file.display(),
                sibling.display()
            );
        }
    }
    let medium = yaml_files(&repo().join("pipelines/medium"));
    assert!(medium.len() >= 3, "found only {medium:?}");
    for file in quick.iter().chain(&medium) {
        cell_labels(&p, file);
    }
    // Planning reads no data and writes nothing.
    assert!(!p.wrote_results());
}
