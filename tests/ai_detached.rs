//! `ai: {gradient: detached}` adds a logged term and no gradient: added to BCE at full
//! weight, the model trains exactly as the vanilla VAE (docs/methods.md#ai-loss), which
//! is the reading of Björk's AI rows that docs/results.md tests.

mod common;

use common::{stderr, Project};

/// A pipeline whose two cells differ only by a detached AI term.
const PIPELINE: &str = "\
name: detached
dataset: {name: shapes, channels: 1, train_images: 96, test_images: 16}
model: {upsampler: convt}
train: {epochs: 2, batch: 32}
eval: {images: 16}
sweep:
  loss.terms:
    - [{bce: {}}]
    - [{bce: {}}, {ai: {gradient: detached}}]
";

#[test]
fn a_detached_ai_term_trains_exactly_as_the_vanilla_vae() {
    let p = Project::new();
    let file = p.write("detached.yaml", PIPELINE);
    let out = p.run(&["run", file.to_str().unwrap(), "-j", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = std::fs::read_to_string(p.path().join("results/detached/summary.csv")).unwrap();
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{summary}");
    assert_ne!(rows[0][0], rows[1][0], "two different cells: {summary}");
    let metrics: Vec<usize> = (0..header.len())
        .filter(|&i| header[i].ends_with("_mean") || header[i].ends_with("_std"))
        .collect();
    assert!(metrics.len() >= 12, "{header:?}");
    for i in metrics {
        // Bit for bit: the same gradients give the same weights and metrics.
        assert_eq!(rows[0][i], rows[1][i], "{} differs:\n{summary}", header[i]);
    }
}
