//! Pipeline-engine benchmarks (issue 2): prints each timing next to its target
//! and the ratio time/target (below 1.0 meets the target).
//!
//! Run with `cargo bench --bench pipeline`. The MNIST part reads data/mnist/
//! (skipped with a note when the files are not there).

use std::path::Path;
use std::process::Command;

mod common;

use common::median_secs;
use runner::data::shapes::{self, GrayMode};
use runner::data::{mnist, Split};

fn report(what: &str, secs: f64, target: f64) {
    println!(
        "{what:<48} {secs:>8.3} s   target < {target:.1} s   ratio {:.3}",
        secs / target
    );
}

fn main() {
    println!(
        "runner pipeline benchmarks ({} threads)",
        rayon::current_num_threads()
    );

    let (secs, ()) = median_secs(3, || {
        let set = shapes::generate(60_000, 32, 1, Some(GrayMode::Luminance), 1);
        assert_eq!(set.len(), 60_000);
    });
    report("Shape generation, 60,000 grey 32x32 images", secs, 2.0);

    let root = Path::new("data/mnist");
    if root.is_dir() {
        let (secs, ()) = median_secs(3, || {
            let train =
                mnist::load_split(root, Split::Train, 60_000, 32, false).expect("MNIST train");
            let test = mnist::load_split(root, Split::Test, 10_000, 32, false).expect("MNIST test");
            assert_eq!(train.len() + test.len(), 70_000);
        });
        report("MNIST load + resize to 32x32, 70,000 images", secs, 2.0);
    } else {
        println!("MNIST load + resize: skipped (put the IDX files in data/mnist/)");
    }

    // A 12-cell sweep of tiny cells, run once, then timed fully cached.
    let dir = tempfile::tempdir().expect("temp dir");
    let pipeline = "\
name: bench12
dataset: {name: shapes, train_images: 32, test_images: 8}
train: {epochs: 1, batch: 16}
loss: {alpha: 0.5, terms: [{bce: {}}, {fft: {}}]}
eval: {images: 4}
sweep:
  model.upsampler: [convt, n15]
  loss.alpha: [0.0, 0.5]
  train.seed: [0, 1, 2]
";
    std::fs::write(dir.path().join("p.yaml"), pipeline).unwrap();
    let runner = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_runner"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("runner starts");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    runner(&["p.yaml", "--no-progress", "-j", "2"]);
    let (secs, ()) = median_secs(5, || {
        let out = runner(&["p.yaml", "--no-progress"]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to run"));
    });
    report("fully cached re-run of a 12-cell sweep", secs, 1.0);
}
