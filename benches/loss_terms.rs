//! Cost of each loss term (issue 4): forward + backward of one term on a batch
//! of 64 single-channel 32x32 images (MNIST at the IRMAE size), as a fraction of
//! one IRMAE MNIST training step (forward, BCE + KL, backward, Adam) measured in
//! the same run on the same single thread (training runs each node on one
//! thread). Target: no term adds more than 20% to a step.
//!
//! Run with `cargo bench --bench loss_terms` (about a minute on 2 cores).
//! `RUNNER_BENCH_REPS` sets the timed repetitions (default 7, median reported).

use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::{Distribution, ElementConversion, Tensor};
use runner::backend::TrainBackend;
use runner::loss::{LossMix, LossParams, LossTerm};
use runner::model::vae::VaeOutput;
use runner::model::Vae;
use runner::pipeline::load::load_pipeline_str;
use runner::pipeline::schema::ResolvedPipeline;

type B = TrainBackend;

const BATCH: usize = 64;
const SIDE: usize = 32;
const TARGET_FRACTION: f64 = 0.20;

/// The terms measured, as written in a pipeline file: every registered term
/// with its defaults, then options that take another code path.
fn terms() -> Vec<String> {
    let mut terms: Vec<String> = LossTerm::all_defaults()
        .iter()
        .map(|t| serde_json::to_string(t).expect("term options serialise"))
        .collect();
    terms.extend(
        [
            "{mse: {sigma_mode: optimal}}",
            "{mse: {sigma_mode: learned}}",
            "{ssim: {variant: zero_padded}}",
            "{ffl: {patch_factor: 2}}",
            "{stft: {mode: code_rows, hann: false}}",
            "{stft: {window: 8, stride: 2}}",
            "{wiener: {kernel: learned}}",
        ]
        .map(String::from),
    );
    terms
}

/// The pipeline cell for the IRMAE MNIST net at 32x32 with `terms`.
fn config(terms: &str) -> ResolvedPipeline {
    let text = format!(
        "dataset: {{name: mnist, size: 32}}\nmodel: {{latent: 128}}\n\
         loss: {{kl: {{beta: 0.1}}, terms: [{terms}]}}\n"
    );
    let loaded = load_pipeline_str(Path::new("bench.yaml"), &text, &[])
        .unwrap_or_else(|e| panic!("benchmark pipeline: {e}"));
    loaded.cells[0].config.clone()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Median milliseconds of one full training step with BCE + KL.
fn step_ms(reps: usize) -> f64 {
    let cfg = config("{bce: {}}");
    let device = Default::default();
    let mut model = Vae::<B>::new(&cfg.model, &device);
    let mut optim = AdamConfig::new().init::<B, Vae<B>>();
    let mix = LossMix::<B>::new(&cfg.loss, [1, SIDE, SIDE], 0, &device);
    let params = LossParams::<B>::new(&cfg.loss, 128, &device);
    let x = Tensor::<B, 4>::random(
        [BATCH, 1, SIDE, SIDE],
        Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let mut times = vec![];
    for i in 0..reps + 2 {
        let t0 = Instant::now();
        let noise = Tensor::<B, 2>::random([BATCH, 128], Distribution::Normal(0.0, 1.0), &device);
        let out = model.forward(x.clone(), noise);
        let total = mix.compute(&out, x.clone(), &params, i as u64).total;
        let _: f64 = total.clone().into_scalar().elem();
        let grads = GradientsParams::from_grads(total.backward(), &model);
        model = optim.step(1e-4, model, grads);
        if i >= 2 {
            times.push(ms_since(t0));
        }
    }
    median(times)
}

/// Median milliseconds of forward + backward of the loss `terms` alone, from
/// decoder logits (and mu, logvar) to their gradients.
fn term_ms(terms: &str, reps: usize) -> f64 {
    let cfg = config(terms);
    let device = Default::default();
    let mix = LossMix::<B>::new(&cfg.loss, [1, SIDE, SIDE], 0, &device);
    let params = LossParams::<B>::new(&cfg.loss, 128, &device);
    let normal = || Distribution::Normal(0.0, 1.0);
    let mu = Tensor::<B, 2>::random([BATCH, 128], normal(), &device).require_grad();
    let logvar = Tensor::<B, 2>::random([BATCH, 128], normal(), &device).require_grad();
    let logits = Tensor::<B, 4>::random([BATCH, 1, SIDE, SIDE], normal(), &device).require_grad();
    // Binarised digits-like targets: mostly zeros, some ones.
    let target = Tensor::<B, 4>::random(
        [BATCH, 1, SIDE, SIDE],
        Distribution::Uniform(0.0, 1.0),
        &device,
    )
    .greater_elem(0.8)
    .float();
    let mut times = vec![];
    for i in 0..reps + 2 {
        let t0 = Instant::now();
        let out = VaeOutput {
            logits: logits.clone(),
            mu: mu.clone(),
            logvar: logvar.clone(),
            z: mu.clone(),
        };
        let values = mix.compute(&out, target.clone(), &params, i as u64);
        let total = values.total;
        let _: f64 = total.clone().into_scalar().elem();
        let grads = total.backward();
        let g = logits.grad(&grads).expect("logits gradient");
        let _: f64 = g.sum().into_scalar().elem();
        if i >= 2 {
            times.push(ms_since(t0));
        }
    }
    median(times)
}

fn main() {
    let reps: usize = std::env::var("RUNNER_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let step = step_ms(reps);
        // Each measurement includes the (negligible) KL term every mix carries.
        println!("IRMAE MNIST training step (batch {BATCH}, 1 thread): {step:.1} ms (reference)");
        println!();
        println!(
            "{:<42} {:>10} {:>12} {:>8}",
            "term", "fwd+bwd ms", "of a step", "target"
        );
        let mut worst: f64 = 0.0;
        for terms in terms() {
            let ms = term_ms(&terms, reps);
            let fraction = ms / step;
            worst = worst.max(fraction);
            let verdict = if fraction <= TARGET_FRACTION {
                "ok"
            } else {
                "OVER"
            };
            println!(
                "{terms:<42} {ms:>10.2} {:>11.1}% {verdict:>8}",
                100.0 * fraction
            );
        }
        println!();
        println!(
            "largest term: {:.1}% of a step (target <= {:.0}%)",
            100.0 * worst,
            100.0 * TARGET_FRACTION
        );
    });
}
