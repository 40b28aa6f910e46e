//! Metrics benchmark (issue 5): every eval metric and the spectrum file for the
//! 10,000 MNIST test images (32×32), side by side with a NumPy implementation of the
//! same AI profile run in the same invocation (bench/numpy_ai_profile.py).
//!
//! Run with `cargo bench --bench metrics`. Needs data/mnist/ (skipped with a note
//! otherwise) and, for the NumPy side, a Python with numpy: `RUNNER_BENCH_PYTHON`
//! (default `.bench-venv/bin/python`; `python3 -m venv .bench-venv &&
//! .bench-venv/bin/pip install numpy`).
//!
//! The "reconstructions" are the test images blurred by a 3×3 box filter: the
//! metrics' cost does not depend on where the images come from, and a blur gives
//! realistic, non-zero errors at every frequency.

use std::path::Path;
use std::process::Command;

mod common;

use common::median_secs;
use runner::data::{mnist, ImageSet, Split};
use runner::eval::run::score;
use runner::pipeline::schema::{AiScale, Metric};

/// 3×3 box blur with edge replication, per channel.
fn box_blur(set: &ImageSet) -> Vec<f32> {
    let (h, w) = (set.height, set.width);
    let mut out = Vec::with_capacity(set.pixels.len());
    for plane in set.pixels.chunks(h * w) {
        for y in 0..h {
            for x in 0..w {
                let mut sum = 0.0;
                for dy in [-1i64, 0, 1] {
                    for dx in [-1i64, 0, 1] {
                        let yy = (y as i64 + dy).clamp(0, h as i64 - 1) as usize;
                        let xx = (x as i64 + dx).clamp(0, w as i64 - 1) as usize;
                        sum += plane[yy * w + xx];
                    }
                }
                out.push(sum / 9.0);
            }
        }
    }
    out
}

fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("writing benchmark input");
}

/// The `key` number of a flat JSON line.
fn json_number(line: &str, key: &str) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get(key)?.as_f64()
}

fn main() {
    let root = Path::new("data/mnist");
    let images = match mnist::load_split(root, Split::Test, 10_000, 32, false) {
        Ok(images) => images,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    let recon = box_blur(&images);
    let samples = recon[..64 * images.image_len()].to_vec();
    println!(
        "metrics benchmark: {} MNIST test images 32×32, {} threads",
        images.len(),
        rayon::current_num_threads()
    );

    // Every metric runner has.
    let all = runner::eval::metric::ALL.to_vec();
    // Warm up the thread pool and the allocator before timing.
    score(&all, &images, &recon, &samples, AiScale::Ln);
    let (all_secs, scores) = median_secs(5, || score(&all, &images, &recon, &samples, AiScale::Ln));
    let rmse_ai = Metric::named("rmse_ai").expect("runner has rmse_ai");
    let (ai_secs, ai_scores) =
        median_secs(5, || score(&[rmse_ai], &images, &recon, &[], AiScale::Ln));
    println!("runner, all metrics + spectrum.csv          {all_secs:>8.3} s");
    println!("runner, AI RMSE + spectrum.csv only         {ai_secs:>8.3} s");
    // Where the time goes: each metric alone, minus the spectrum file (computed
    // whatever the metrics are).
    let (base_secs, _) = median_secs(5, || score(&[], &images, &recon, &samples, AiScale::Ln));
    println!("  of which spectrum.csv (3 profile sets)   {base_secs:>8.3} s");
    for &metric in &all {
        let (secs, _) = median_secs(3, || {
            score(&[metric], &images, &recon, &samples, AiScale::Ln)
        });
        println!(
            "  of which {:<31} {:>8.3} s",
            metric.column(),
            (secs - base_secs).max(0.0)
        );
    }
    let runner_ai = ai_scores.summary.metrics[0].1;
    let ai_in_all = scores
        .summary
        .metrics
        .iter()
        .find(|(m, _, _)| *m == rmse_ai)
        .map(|(_, mean, _)| *mean);
    assert_eq!(ai_in_all, Some(runner_ai), "same AI RMSE both ways");

    let python = std::env::var("RUNNER_BENCH_PYTHON")
        .unwrap_or_else(|_| ".bench-venv/bin/python".to_string());
    let dir = tempfile::tempdir().expect("temp dir");
    let (real_path, recon_path) = (dir.path().join("real.f32"), dir.path().join("recon.f32"));
    write_f32(&real_path, &images.pixels);
    write_f32(&recon_path, &recon);
    let mut numpy_secs = Vec::new();
    let mut numpy_ai = None;
    for _ in 0..3 {
        let out = Command::new(&python)
            .arg("bench/numpy_ai_profile.py")
            .arg(&real_path)
            .arg(&recon_path)
            .args(["10000", "1", "32", "32"])
            .output();
        match out {
            Ok(out) if out.status.success() => {
                let line = String::from_utf8_lossy(&out.stdout).into_owned();
                numpy_secs.extend(json_number(&line, "seconds"));
                numpy_ai = json_number(&line, "rmse_ai_mean");
            }
            Ok(out) => {
                println!(
                    "NumPy reference failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                return;
            }
            Err(e) => {
                println!(
                    "NumPy reference not run ({python}: {e}); create it with \
                     `python3 -m venv .bench-venv && .bench-venv/bin/pip install numpy`"
                );
                return;
            }
        }
    }
    numpy_secs.sort_by(|a, b| a.total_cmp(b));
    let numpy = numpy_secs[numpy_secs.len() / 2];
    println!("NumPy, AI RMSE + profile mean/std (1 thread) {numpy:>8.3} s");
    println!(
        "ratio NumPy AI / runner all metrics: {:.1}x   (target >= 5x)",
        numpy / all_secs
    );
    println!(
        "ratio NumPy AI / runner AI only:     {:.1}x",
        numpy / ai_secs
    );
    if let Some(numpy_ai) = numpy_ai {
        println!(
            "mean AI RMSE: runner {runner_ai:.9}  NumPy {numpy_ai:.9}  relative difference {:.2e}",
            ((runner_ai - numpy_ai) / numpy_ai).abs()
        );
    }
}
