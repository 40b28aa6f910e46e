//! Training throughput on a device, side by side with PyTorch (issue 6).
//!
//! Images per second of runner's real training step (`train::run::train_step`:
//! forward, loss mix, loss values read back, Adam update; the batch copied from
//! the host each step, as in training) for the IRMAE MNIST net (1x32x32, batch
//! 32 and 256) and the IRMAE CelebA net (3x64x64, batch 32 and 128), each with
//! BCE, BCE + FFT and BCE + AI (the heavier spectral term), all + 0.1 KL, Adam lr
//! 1e-4. Then `bench/torch_device_step.py` runs the same networks, losses,
//! batches and optimizer in PyTorch eager on the same device in the same
//! invocation, and the table prints runner / PyTorch. Target: ratio >= 1.
//!
//! On the GPU machine (no cargo there): build here with
//! `CUDARC_CUDA_VERSION=13000 cargo bench --features cuda --bench device_step --no-run`
//! and run `bench/gpu_vs_pytorch.sh` there (docs/gpu.md).
//!
//! Environment:
//! - `RUNNER_BENCH_DEVICE`: `cuda` (default where this build has CUDA) or `cpu`;
//! - `RUNNER_BENCH_STEPS` (default 50) timed steps and `RUNNER_BENCH_WARMUP`
//!   (default 10) untimed ones first (GPU kernels are compiled and tuned then);
//! - `RUNNER_BENCH_CASES`: only cases whose name contains this text
//!   (e.g. `mnist`, `celeba/32`, `bce+ai`);
//! - `RUNNER_BENCH_PYTHON`: the Python that has torch (default `python3`).

mod common;

use std::process::Command;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use runner::backend::{dispatch, normal_noise, BackendJob};
use runner::loss::LossMix;
use runner::pipeline::load::load_pipeline_str;
use runner::pipeline::schema::ResolvedPipeline;
use runner::train::run::{fresh_trainables, train_step};
use serde_json::Value;

use common::env_usize;

/// The PyTorch side, relative to the crate root.
const SCRIPT: &str = "bench/torch_device_step.py";
/// Adam learning rate (docs/methods.md#irmae-defaults).
const LR: f64 = 1e-4;

/// One benchmark case.
#[derive(Debug, Clone)]
struct Case {
    /// `mnist` or `celeba`.
    net: &'static str,
    batch: usize,
    /// `bce`, `bce+fft` or `bce+ai`.
    loss: &'static str,
}

impl Case {
    fn name(&self) -> String {
        format!("{}/{}/{}", self.net, self.batch, self.loss)
    }

    /// The pipeline cell of this case (resolution reads no data files).
    fn config(&self) -> ResolvedPipeline {
        let (dataset, arch) = match self.net {
            "mnist" => ("{name: mnist, size: 32}", "irmae_mnist"),
            _ => ("{name: celeba}", "irmae_celeba"),
        };
        let terms = match self.loss {
            "bce" => "[{bce: {}}]",
            "bce+fft" => "[{bce: {weight: 0.5}}, {fft: {weight: 0.5}}]",
            _ => "[{bce: {weight: 0.5}}, {ai: {weight: 0.5}}]",
        };
        let text = format!(
            "name: bench_device_step\ndataset: {dataset}\n\
             model: {{arch: {arch}, latent: 128, upsampler: convt}}\n\
             train: {{batch: {}, optimizer: {{adam: {{lr: {LR:e}}}}}}}\n\
             loss: {{kl: {{beta: 0.1}}, terms: {terms}}}\n",
            self.batch
        );
        let loaded = load_pipeline_str(std::path::Path::new("bench.yaml"), &text, &[])
            .unwrap_or_else(|e| panic!("bench pipeline: {e}"));
        loaded.cells[0].config.clone()
    }

    /// Image shape `[C, H, W]`.
    fn shape(&self) -> [usize; 3] {
        match self.net {
            "mnist" => [1, 32, 32],
            _ => [3, 64, 64],
        }
    }
}

/// Every case of the table, filtered by `RUNNER_BENCH_CASES`.
fn cases() -> Vec<Case> {
    let filter = std::env::var("RUNNER_BENCH_CASES").unwrap_or_default();
    let mut out = Vec::new();
    for (net, batches) in [("mnist", [32, 256]), ("celeba", [32, 128])] {
        for batch in batches {
            for loss in ["bce", "bce+fft", "bce+ai"] {
                out.push(Case { net, batch, loss });
            }
        }
    }
    out.retain(|c| c.name().contains(&filter));
    out
}

/// Median seconds per training step of `case` with backend `B` on `device`.
fn time_case<B: AutodiffBackend>(
    case: &Case,
    device: &B::Device,
    steps: usize,
    warmup: usize,
) -> f64 {
    let cfg = case.config();
    let [c, h, w] = case.shape();
    let mix = LossMix::<B>::new(&cfg.loss, [c, h, w], cfg.train.seed, device);
    let mut t = fresh_trainables::<B>(&cfg, device);
    let mut rng = Pcg64::seed_from_u64(7);
    let pixels: Vec<f32> = (0..case.batch * c * h * w)
        .map(|_| rng.random::<f32>())
        .collect();
    let mut times = Vec::with_capacity(steps);
    for step in 0..(warmup + steps) as u64 {
        let start = Instant::now();
        // From the host each step, as the training loop does.
        let x = Tensor::<B, 4>::from_data(
            TensorData::new(pixels.clone(), [case.batch, c, h, w]),
            device,
        );
        let noise = normal_noise::<B>(&mut rng, case.batch, 128, device);
        // The loss values are read back inside: the step has finished on the device.
        let values = train_step(&mut t, &mix, x, noise, step + 1, LR).expect("training step");
        assert!(values[0].is_finite(), "{}: loss {}", case.name(), values[0]);
        if step as usize >= warmup {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// [`time_case`]'s arguments, run by [`dispatch`] on the backend of the device.
struct TimeJob<'a> {
    case: &'a Case,
    steps: usize,
    warmup: usize,
}

impl BackendJob for TimeJob<'_> {
    type Output = f64;
    type Error = anyhow::Error;

    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<f64> {
        Ok(time_case::<B>(self.case, device, self.steps, self.warmup))
    }
}

/// Runs every case on the chosen device; returns (device name, seconds per step).
fn time_runner(cases: &[Case], steps: usize, warmup: usize) -> (String, Vec<f64>) {
    let wanted = std::env::var("RUNNER_BENCH_DEVICE").unwrap_or_else(|_| {
        if cfg!(feature = "cuda") {
            "cuda".into()
        } else {
            "cpu".into()
        }
    });
    let choice = wanted
        .parse()
        .unwrap_or_else(|e| panic!("RUNNER_BENCH_DEVICE: {e}"));
    let device = runner::device::resolve(choice)
        .unwrap_or_else(|e| panic!("RUNNER_BENCH_DEVICE={wanted}: {e}"));
    let mut out = Vec::new();
    for case in cases {
        let job = TimeJob {
            case,
            steps,
            warmup,
        };
        // On the CPU, a pool as large as the global one.
        let secs = dispatch(device, rayon::current_num_threads(), job).expect("timing a case");
        eprintln!(
            "runner {:<18} {:>9.1} images/s",
            case.name(),
            case.batch as f64 / secs
        );
        out.push(secs);
    }
    (device.description(), out)
}

/// PyTorch's seconds per step for every case (None where the script failed).
fn time_torch(cases: &[Case], device: &str, steps: usize, warmup: usize) -> Vec<Option<f64>> {
    let python = std::env::var("RUNNER_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let names: Vec<String> = cases.iter().map(Case::name).collect();
    let out = Command::new(&python)
        .arg(SCRIPT)
        .args(["--device", if device == "cpu" { "cpu" } else { "cuda" }])
        .args([
            "--steps",
            &steps.to_string(),
            "--warmup",
            &warmup.to_string(),
        ])
        .args(["--cases", &names.join(",")])
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            eprintln!(
                "PyTorch side failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return vec![None; cases.len()];
        }
        Err(e) => {
            eprintln!("cannot run {python}: {e}");
            return vec![None; cases.len()];
        }
    };
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    names
        .iter()
        .map(|name| {
            rows.iter()
                .find(|r| r["case"] == name.as_str())
                .and_then(|r| r["ms_per_step"].as_f64())
                .map(|ms| ms / 1e3)
        })
        .collect()
}

fn main() {
    let steps = env_usize("RUNNER_BENCH_STEPS", 50).max(1);
    let warmup = env_usize("RUNNER_BENCH_WARMUP", 10);
    let cases = cases();
    assert!(!cases.is_empty(), "RUNNER_BENCH_CASES matches no case");
    let (device, runner) = time_runner(&cases, steps, warmup);
    let torch = time_torch(&cases, &device, steps, warmup);
    println!("device: {device}; median of {steps} steps after {warmup} warm-up steps");
    println!(
        "{:<20} {:>14} {:>14} {:>8}",
        "case", "runner img/s", "torch img/s", "ratio"
    );
    for ((case, secs), torch_secs) in cases.iter().zip(&runner).zip(&torch) {
        let ours = case.batch as f64 / secs;
        let (theirs, ratio) = match torch_secs {
            Some(t) => {
                let theirs = case.batch as f64 / t;
                (format!("{theirs:.1}"), format!("{:.2}", ours / theirs))
            }
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<20} {:>14.1} {:>14} {:>8}",
            case.name(),
            ours,
            theirs,
            ratio
        );
    }
    println!("ratio = runner images/s / PyTorch eager images/s (target >= 1)");
}
