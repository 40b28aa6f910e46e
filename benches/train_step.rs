//! CPU training-throughput benchmark: runner's training step (forward, loss,
//! backward, Adam; loss of docs/methods.md#irmae-defaults: BCE + 0.1 KL, Adam lr 1e-4) for
//! the IRMAE MNIST VAE (§1.2, n = 128) at batch 32 and 64 and the IRMAE CelebA
//! VAE (§1.3, n = 128) at batch 32, each on 1 and 2 threads, side by side with
//! the same network in PyTorch (`bench/torch_irmae_mnist.py`, `--net`) run in
//! the same invocation with `torch.set_num_threads` at the same count. Target:
//! runner's step time at most 1.5x PyTorch's in every case.
//!
//! After the table, each layer of the MNIST net is timed on its own (forward,
//! then backward) at the batch-64 shapes on both sides, to show where the time
//! goes; then each convolution's backward is split into its input, weight and
//! bias gradients, timed on the backend without autodiff.
//!
//! Run with `cargo bench --bench train_step` (a few minutes on 2 cores). Environment:
//! - `RUNNER_BENCH_PYTHON`: the Python that has torch (default `python3`);
//! - `RUNNER_BENCH_STEPS`: timed steps per MNIST case (default 30);
//! - `RUNNER_BENCH_WARMUP`: untimed steps first (default 5);
//! - `RUNNER_BENCH_CELEBA_STEPS`: timed steps of the CelebA case (default 6,
//!   after 2 untimed ones).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::activation::relu;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, FloatTensor, ModuleOps};
use burn::tensor::{Distribution, ElementConversion, Tensor};
use runner::backend::{on_threads, CpuBackend, TrainBackend};
use runner::loss::{LossMix, LossParams};
use runner::model::vae::VaeOutput;
use runner::model::Vae;
use runner::pipeline::load::load_pipeline_str;
use runner::pipeline::schema::ResolvedPipeline;
use runner::train::run::adam_for;
use serde_json::Value;

use common::env_usize;

type B = TrainBackend;

/// Latent size n of the benchmarked net.
const LATENT: usize = 128;
/// Parameters of the IRMAE MNIST VAE at n = 128: encoder 951,520 + decoder 1,220,737.
const PARAMS: usize = 2_172_257;
/// Thread counts of the table (the per-layer breakdown uses the last one).
const THREADS: [usize; 2] = [1, 2];
/// The net's images are 1 x 32 x 32 (MNIST resized, docs/methods.md#irmae-mnist).
const SIDE: usize = 32;
/// Adam learning rate (docs/methods.md#irmae-defaults).
const LR: f64 = 1e-4;
/// Runner's step time may be at most this multiple of PyTorch's.
const TARGET_RATIO: f64 = 1.5;
/// The batch sizes of the table; the per-layer breakdown uses the last one.
const BATCHES: [usize; 2] = [32, 64];
/// The PyTorch side, relative to the crate root.
const SCRIPT: &str = "bench/torch_irmae_mnist.py";
/// How to get torch into a virtual environment (PyPI only).
const INSTALL_HINT: &str = "python3 -m venv .bench-venv && .bench-venv/bin/pip install torch, \
then RUNNER_BENCH_PYTHON=.bench-venv/bin/python cargo bench --bench train_step";

/// The benchmarked cells: the IRMAE MNIST net with the BCE + KL loss, FFT term
/// off. Going through the pipeline loader keeps this file independent of the
/// exact fields of `ModelSpec` and `LossConfig`; resolution only reads this text
/// (no data files are opened).
const PIPELINE: &str = "\
name: bench_train_step
dataset: {name: mnist, size: 32}
model: {arch: irmae_mnist, latent: 128, upsampler: convt}
train: {batch: 32, optimizer: {adam: {lr: 1.0e-4}}}
loss: {kl: {beta: 0.1}, terms: [{bce: {}}]}
";
/// The same cell on the IRMAE CelebA net (3 x 64 x 64).
const CELEBA_PIPELINE: &str = "\
name: bench_train_step_celeba
dataset: {name: celeba, size: 64}
model: {arch: irmae_celeba, latent: 128, upsampler: convt}
train: {batch: 32, optimizer: {adam: {lr: 1.0e-4}}}
loss: {kl: {beta: 0.1}, terms: [{bce: {}}]}
";

/// A network of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    /// IRMAE MNIST, 1 x 32 x 32.
    Mnist,
    /// IRMAE CelebA, 3 x 64 x 64.
    Celeba,
}

impl Net {
    /// The name the PyTorch script takes (`--net`) and the table prints.
    fn name(self) -> &'static str {
        match self {
            Net::Mnist => "mnist",
            Net::Celeba => "celeba",
        }
    }

    /// Image shape `[C, H, W]`.
    fn image(self) -> [usize; 3] {
        match self {
            Net::Mnist => [1, SIDE, SIDE],
            Net::Celeba => [3, 64, 64],
        }
    }

    /// The resolved benchmark cell.
    fn config(self) -> ResolvedPipeline {
        let text = match self {
            Net::Mnist => PIPELINE,
            Net::Celeba => CELEBA_PIPELINE,
        };
        let mut loaded = load_pipeline_str(Path::new("train_step.yaml"), text, &[])
            .unwrap_or_else(|e| panic!("benchmark pipeline does not resolve: {e}"));
        assert_eq!(loaded.cells.len(), 1, "no sweep in the benchmark pipeline");
        loaded.cells.remove(0).config
    }
}

/// The 1-, 5- and 15-minute load averages, to judge whether the machine was busy.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Median of `v` (in whatever unit it holds).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Time since `t`, in milliseconds.
fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// The resolved MNIST benchmark cell (per-layer breakdown).
fn bench_config() -> ResolvedPipeline {
    Net::Mnist.config()
}

/// One side's training-step timings, in ms (medians over the timed steps).
#[derive(Debug, Clone, Default)]
struct StepTimes {
    /// Whole step.
    step: f64,
    /// Mean whole step, to show outliers next to the median.
    step_mean: f64,
    /// Noise + forward + loss + reading the loss back.
    forward_loss: f64,
    /// Backward and collecting the parameter gradients.
    backward: f64,
    /// The Adam update.
    optimizer: f64,
}

/// Times runner's training step (forward + loss + backward + Adam) of `net`
/// at `batch`, on the current rayon pool.
fn time_runner_training(net: Net, batch: usize, steps: usize, warmup: usize) -> StepTimes {
    let cfg = net.config();
    let device = Default::default();
    let mut model = Vae::<B>::new(&cfg.model, &device);
    if net == Net::Mnist {
        // Encoder + decoder of docs/methods.md#irmae-mnist; the PyTorch script checks the same.
        assert_eq!(model.num_params(), PARAMS, "not the IRMAE MNIST net");
    }
    // runner's own optimizer (the fused Adam of training), with PyTorch's defaults.
    let mut optim = adam_for::<B>(&cfg);
    let [c, h, w] = net.image();
    let mix = LossMix::<B>::new(&cfg.loss, [c, h, w], 0, &device);
    let loss_params = LossParams::<B>::new(&cfg.loss, LATENT, &device);
    let x = Tensor::<B, 4>::random([batch, c, h, w], Distribution::Uniform(0.0, 1.0), &device);
    let (mut step, mut fwd, mut bwd, mut opt) = (vec![], vec![], vec![], vec![]);
    for i in 0..warmup + steps {
        let t0 = Instant::now();
        let noise =
            Tensor::<B, 2>::random([batch, LATENT], Distribution::Normal(0.0, 1.0), &device);
        let out = model.forward(x.clone(), noise);
        let total = mix.compute(&out, x.clone(), &loss_params, i as u64).total;
        // The training loop reads the loss every step (log, divergence check);
        // it also makes sure the forward pass has really been computed here.
        let value: f64 = total.clone().into_scalar().elem();
        assert!(value.is_finite(), "loss diverged in the benchmark");
        let t1 = Instant::now();
        let grads = GradientsParams::from_grads(total.backward(), &model);
        let t2 = Instant::now();
        model = optim.step(LR, model, grads);
        let t3 = Instant::now();
        if i >= warmup {
            step.push((t3 - t0).as_secs_f64() * 1e3);
            fwd.push((t1 - t0).as_secs_f64() * 1e3);
            bwd.push((t2 - t1).as_secs_f64() * 1e3);
            opt.push((t3 - t2).as_secs_f64() * 1e3);
        }
    }
    StepTimes {
        step_mean: step.iter().sum::<f64>() / step.len() as f64,
        step: median(&mut step),
        forward_loss: median(&mut fwd),
        backward: median(&mut bwd),
        optimizer: median(&mut opt),
    }
}

/// What the PyTorch script printed, or why it could not run.
struct TorchRun {
    /// The training-step timings.
    times: StepTimes,
    /// (layer, forward ms, backward ms), when asked for.
    per_layer: Vec<(String, f64, f64)>,
    /// (convolution, [forward, grad x, grad w + b] ms), when asked for.
    op_split: Vec<(String, [f64; 3])>,
}

/// What to ask the PyTorch script for besides the training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    /// Nothing.
    None,
    /// Per-layer forward/backward and the convolutions' backward split.
    Breakdown,
}

/// Runs the PyTorch script for `batch`; `Err` holds a note for the reader.
fn run_torch(
    net: Net,
    batch: usize,
    steps: usize,
    warmup: usize,
    threads: usize,
    extra: Extra,
) -> Result<TorchRun, String> {
    let python = std::env::var("RUNNER_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCRIPT);
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .args(["--net", net.name()])
        .args(["--batch", &batch.to_string()])
        .args(["--steps", &steps.to_string()])
        .args(["--warmup", &warmup.to_string()])
        .args(["--threads", &threads.to_string()]);
    if extra == Extra::Breakdown {
        cmd.args(["--per-layer", "--op-split"]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {python:?}: {e}. Install torch: {INSTALL_HINT}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // The script exits with 3 when `import torch` fails.
        let why = if out.status.code() == Some(3) {
            format!("{python} has no torch ({})", stderr.trim())
        } else {
            format!(
                "{python} {SCRIPT} failed ({}): {}",
                out.status,
                stderr.trim()
            )
        };
        return Err(format!("{why}. Install torch: {INSTALL_HINT}"));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut run = TorchRun {
        times: StepTimes::default(),
        per_layer: Vec::new(),
        op_split: Vec::new(),
    };
    let num = |v: &Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("unreadable line from {SCRIPT}: {e}: {line}"))?;
        if let Some(rows) = v["per_layer"].as_array() {
            run.per_layer = rows
                .iter()
                .map(|r| {
                    let name = r["name"].as_str().unwrap_or("?").to_string();
                    (name, num(r, "forward_ms"), num(r, "backward_ms"))
                })
                .collect();
        } else if let Some(rows) = v["op_split"].as_array() {
            run.op_split = rows
                .iter()
                .map(|r| {
                    let name = r["name"].as_str().unwrap_or("?").to_string();
                    let t = ["forward_ms", "grad_x_ms", "grad_wb_ms"].map(|k| num(r, k));
                    (name, t)
                })
                .collect();
        } else {
            let phases = &v["phases_ms"];
            run.times = StepTimes {
                step: num(&v, "ms_per_step"),
                step_mean: num(&v, "ms_per_step_mean"),
                forward_loss: num(phases, "forward_loss"),
                backward: num(phases, "backward"),
                optimizer: num(phases, "optimizer"),
            };
        }
    }
    if run.times.step.is_nan() || run.times.step == 0.0 {
        return Err(format!("{SCRIPT} printed no timing: {stdout}"));
    }
    Ok(run)
}

/// Median forward and backward time (ms) of `layer` on an input of `shape`.
///
/// The backward pass is that of `(out * g).sum()` for a fixed random `g`, so the
/// incoming gradient is dense like a real one; the PyTorch script does the same.
/// `needs_grad` is false for the first layer, whose input is the data.
fn time_layer<const D: usize, const E: usize>(
    shape: [usize; D],
    needs_grad: bool,
    reps: usize,
    warmup: usize,
    layer: impl Fn(Tensor<B, D>) -> Tensor<B, E>,
) -> (f64, f64) {
    let device = Default::default();
    let mut x = Tensor::<B, D>::random(shape, Distribution::Uniform(0.0, 1.0), &device);
    if needs_grad {
        x = x.require_grad();
    }
    let out_shape = layer(x.clone()).dims();
    let g = Tensor::<B, E>::random(out_shape, Distribution::Normal(0.0, 1.0), &device);
    let (mut fwd, mut bwd) = (vec![], vec![]);
    for i in 0..warmup + reps {
        let t0 = Instant::now();
        let out = layer(x.clone());
        let f = ms_since(t0);
        let loss = (out * g.clone()).sum();
        let t1 = Instant::now();
        let grads = loss.backward();
        let b = ms_since(t1);
        drop(grads);
        if i >= warmup {
            fwd.push(f);
            bwd.push(b);
        }
    }
    (median(&mut fwd), median(&mut bwd))
}

/// Conv(k4, s2, p1), as in the encoder.
fn down_conv(cin: usize, cout: usize) -> Conv2d<B> {
    Conv2dConfig::new([cin, cout], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&Default::default())
}

/// ConvT(k, s, p), as in the decoder.
fn convt(cin: usize, cout: usize, k: usize, s: usize, p: usize) -> ConvTranspose2d<B> {
    ConvTranspose2dConfig::new([cin, cout], [k, k])
        .with_stride([s, s])
        .with_padding([p, p])
        .init(&Default::default())
}

/// Linear with bias.
fn linear(din: usize, dout: usize) -> Linear<B> {
    LinearConfig::new(din, dout).init(&Default::default())
}

/// (layer, forward ms, backward ms) for each layer of the net at `batch`, plus
/// the loss. The layers are built with burn's modules and the same
/// hyper-parameters as runner's model (docs/methods.md#irmae-mnist).
fn runner_per_layer(
    cfg: &ResolvedPipeline,
    batch: usize,
    reps: usize,
    warmup: usize,
) -> Vec<(String, f64, f64)> {
    let b = batch;
    let mut rows = Vec::new();
    let mut add = |name: &str, t: (f64, f64)| rows.push((name.to_string(), t.0, t.1));

    let conv = down_conv(1, 32);
    add(
        "enc conv1 1->32 +relu",
        time_layer([b, 1, SIDE, SIDE], false, reps, warmup, |x| {
            relu(conv.forward(x))
        }),
    );
    let conv = down_conv(32, 64);
    add(
        "enc conv2 32->64 +relu",
        time_layer([b, 32, 16, 16], true, reps, warmup, |x| {
            relu(conv.forward(x))
        }),
    );
    let conv = down_conv(64, 128);
    add(
        "enc conv3 64->128 +relu",
        time_layer([b, 64, 8, 8], true, reps, warmup, |x| relu(conv.forward(x))),
    );
    let conv = down_conv(128, 256);
    add(
        "enc conv4 128->256 +relu",
        time_layer([b, 128, 4, 4], true, reps, warmup, |x| {
            relu(conv.forward(x))
        }),
    );
    let fc = linear(1024, 2 * LATENT);
    add(
        "enc linear 1024->256",
        time_layer([b, 1024], true, reps, warmup, |x| fc.forward(x)),
    );
    let fc = linear(LATENT, 128 * 8 * 8);
    add(
        "dec linear 128->8192 +relu",
        time_layer([b, LATENT], true, reps, warmup, |z| {
            relu(fc.forward(z).reshape([b, 128, 8, 8]))
        }),
    );
    let up = convt(128, 64, 4, 2, 1);
    add(
        "dec convT 128->64 +relu",
        time_layer([b, 128, 8, 8], true, reps, warmup, |x| relu(up.forward(x))),
    );
    let up = convt(64, 32, 4, 2, 1);
    add(
        "dec convT 64->32 +relu",
        time_layer([b, 64, 16, 16], true, reps, warmup, |x| relu(up.forward(x))),
    );
    let out = convt(32, 1, 1, 1, 0);
    add(
        "dec convT 32->1 k1",
        time_layer([b, 32, 32, 32], true, reps, warmup, |x| out.forward(x)),
    );

    // The loss alone, through runner's LossMix, backward into (mu, logvar, logits).
    let device = Default::default();
    let mix = LossMix::<B>::new(&cfg.loss, [1, SIDE, SIDE], 0, &device);
    let loss_params = LossParams::<B>::new(&cfg.loss, LATENT, &device);
    let normal = || Distribution::Normal(0.0, 1.0);
    let mu = Tensor::<B, 2>::random([b, LATENT], normal(), &device).require_grad();
    let logvar = Tensor::<B, 2>::random([b, LATENT], normal(), &device).require_grad();
    let logits = Tensor::<B, 4>::random([b, 1, SIDE, SIDE], normal(), &device).require_grad();
    let target =
        Tensor::<B, 4>::random([b, 1, SIDE, SIDE], Distribution::Uniform(0.0, 1.0), &device);
    let (mut fwd, mut bwd) = (vec![], vec![]);
    for i in 0..warmup + reps {
        let t0 = Instant::now();
        let out = VaeOutput {
            logits: logits.clone(),
            mu: mu.clone(),
            logvar: logvar.clone(),
            z: mu.clone(),
        };
        let total = mix
            .compute(&out, target.clone(), &loss_params, i as u64)
            .total;
        let f = ms_since(t0);
        let t1 = Instant::now();
        let grads = total.backward();
        let bw = ms_since(t1);
        drop(grads);
        if i >= warmup {
            fwd.push(f);
            bwd.push(bw);
        }
    }
    add("loss (BCE + KL)", (median(&mut fwd), median(&mut bwd)));
    rows
}

/// One convolution of the net, for the backward split.
struct ConvCase {
    /// Row label, as in the PyTorch script's `CONV_CASES`.
    name: &'static str,
    /// Transposed convolution.
    transposed: bool,
    /// Input channels.
    cin: usize,
    /// Output channels.
    cout: usize,
    /// Square kernel side.
    kernel: usize,
    /// Stride.
    stride: usize,
    /// Padding.
    pad: usize,
    /// Input side (height = width).
    side: usize,
}

/// Every convolution of the IRMAE MNIST net (docs/methods.md#irmae-mnist).
const CONVS: [ConvCase; 7] = [
    conv_case("enc conv1 1->32", false, 1, 32, 4, 2, 1, 32),
    conv_case("enc conv2 32->64", false, 32, 64, 4, 2, 1, 16),
    conv_case("enc conv3 64->128", false, 64, 128, 4, 2, 1, 8),
    conv_case("enc conv4 128->256", false, 128, 256, 4, 2, 1, 4),
    conv_case("dec convT 128->64", true, 128, 64, 4, 2, 1, 8),
    conv_case("dec convT 64->32", true, 64, 32, 4, 2, 1, 16),
    conv_case("dec convT 32->1 k1", true, 32, 1, 1, 1, 0, 32),
];

/// A [`ConvCase`] from positional values (keeps the table above one line a row).
#[allow(clippy::too_many_arguments)]
const fn conv_case(
    name: &'static str,
    transposed: bool,
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    side: usize,
) -> ConvCase {
    ConvCase {
        name,
        transposed,
        cin,
        cout,
        kernel,
        stride,
        pad,
        side,
    }
}

/// A random backend tensor (no autodiff) of `shape`.
fn random_primitive<const D: usize>(shape: [usize; D]) -> FloatTensor<CpuBackend> {
    let dist = Distribution::Normal(0.0, 0.05);
    Tensor::<CpuBackend, D>::random(shape, dist, &Default::default())
        .into_primitive()
        .tensor()
}

/// Median wall time of `f` in ms over `reps` calls after `warmup` calls.
fn median_ms<T>(reps: usize, warmup: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut v = Vec::with_capacity(reps);
    for i in 0..warmup + reps {
        let t = Instant::now();
        let out = f();
        let ms = ms_since(t);
        drop(out);
        if i >= warmup {
            v.push(ms);
        }
    }
    median(&mut v)
}

/// (convolution, [forward, grad x, grad w, grad b] ms) at `batch`, calling the
/// backend's ops directly: autodiff calls the same ops in backward, so this
/// says which of the three gradients is slow.
fn runner_op_split(batch: usize, reps: usize, warmup: usize) -> Vec<(String, [f64; 4])> {
    type C = CpuBackend;
    CONVS
        .iter()
        .map(|c| {
            let (k, s, p) = (c.kernel, c.stride, c.pad);
            let out_side = if c.transposed {
                (c.side - 1) * s + k - 2 * p
            } else {
                (c.side + 2 * p - k) / s + 1
            };
            let x = random_primitive([batch, c.cin, c.side, c.side]);
            let w_shape = if c.transposed {
                [c.cin, c.cout, k, k]
            } else {
                [c.cout, c.cin, k, k]
            };
            let w = random_primitive(w_shape);
            let b = random_primitive([c.cout]);
            let g = random_primitive([batch, c.cout, out_side, out_side]);
            let times = if c.transposed {
                let o = ConvTransposeOptions::new([s, s], [p, p], [0, 0], [1, 1], 1);
                [
                    median_ms(reps, warmup, || {
                        C::conv_transpose2d(x.clone(), w.clone(), Some(b.clone()), o.clone())
                    }),
                    median_ms(reps, warmup, || {
                        C::conv_transpose2d_x_backward(w.clone(), g.clone(), o.clone())
                    }),
                    median_ms(reps, warmup, || {
                        C::conv_transpose2d_weight_backward(
                            x.clone(),
                            w.clone(),
                            g.clone(),
                            o.clone(),
                        )
                    }),
                    median_ms(reps, warmup, || {
                        C::conv_transpose2d_bias_backward(x.clone(), b.clone(), g.clone())
                    }),
                ]
            } else {
                let o = ConvOptions::new([s, s], [p, p], [1, 1], 1);
                [
                    median_ms(reps, warmup, || {
                        C::conv2d(x.clone(), w.clone(), Some(b.clone()), o.clone())
                    }),
                    median_ms(reps, warmup, || {
                        C::conv2d_x_backward(x.clone(), w.clone(), g.clone(), o.clone())
                    }),
                    median_ms(reps, warmup, || {
                        C::conv2d_weight_backward(x.clone(), w.clone(), g.clone(), o.clone())
                    }),
                    median_ms(reps, warmup, || {
                        C::conv2d_bias_backward(x.clone(), b.clone(), g.clone())
                    }),
                ]
            };
            (c.name.to_string(), times)
        })
        .collect()
}

/// Prints the per-phase split of one batch size.
fn print_phases(case: &str, runner: &StepTimes, torch: Option<&StepTimes>) {
    let phases = [
        (
            "forward + loss",
            runner.forward_loss,
            torch.map(|t| t.forward_loss),
        ),
        ("backward", runner.backward, torch.map(|t| t.backward)),
        ("Adam step", runner.optimizer, torch.map(|t| t.optimizer)),
    ];
    for (name, r, t) in phases {
        match t {
            Some(t) => println!(
                "  {case} {name:<16} runner {r:>8.2} ms   torch {t:>8.2} ms   ratio {:>5.2}",
                r / t
            ),
            None => println!("  {case} {name:<16} runner {r:>8.2} ms"),
        }
    }
}

fn main() {
    let steps = env_usize("RUNNER_BENCH_STEPS", 30).max(1);
    let warmup = env_usize("RUNNER_BENCH_WARMUP", 5);
    let celeba_steps = env_usize("RUNNER_BENCH_CELEBA_STEPS", 6).max(1);
    let cfg = bench_config();
    println!(
        "training step (forward + BCE/KL loss + backward + Adam) of runner and PyTorch at the \
         same thread count; MNIST: {steps} timed steps after {warmup} warm-up, CelebA: \
         {celeba_steps} after 2; median step time"
    );
    println!("load average at start: {}", load_average());

    let cases = [(Net::Mnist, 32), (Net::Mnist, 64), (Net::Celeba, 32)];
    let mut results = Vec::new();
    let mut torch_note = None;
    for &threads in &THREADS {
        for &(net, batch) in &cases {
            let (steps, warmup) = match net {
                Net::Mnist => (steps, warmup),
                Net::Celeba => (celeba_steps, 2),
            };
            let runner = on_threads(threads, || time_runner_training(net, batch, steps, warmup))
                .expect("a thread pool for the benchmark");
            let torch = match run_torch(net, batch, steps, warmup, threads, Extra::None) {
                Ok(run) => Some(run.times),
                Err(note) => {
                    torch_note = Some(note);
                    None
                }
            };
            results.push((
                format!("{:<6} {batch:>3} {threads:>2}", net.name()),
                runner,
                torch,
            ));
        }
    }

    println!();
    println!(
        "{:<13} | {:>14} | {:>12} | {:>13} | {:>11} | {:>12} | target",
        "net batch thr",
        "runner ms/step",
        "runner img/s",
        "torch ms/step",
        "torch img/s",
        "runner/torch"
    );
    for (case, runner, torch) in &results {
        let batch: f64 = case
            .split_whitespace()
            .nth(1)
            .and_then(|b| b.parse().ok())
            .unwrap_or(1.0);
        let img_s = |ms: f64| batch / (ms / 1e3);
        match torch {
            Some(t) => {
                let ratio = runner.step / t.step;
                let verdict = if ratio <= TARGET_RATIO {
                    "met"
                } else {
                    "MISSED"
                };
                println!(
                    "{case:<13} | {:>14.2} | {:>12.1} | {:>13.2} | {:>11.1} | {ratio:>12.2} | <= {TARGET_RATIO} {verdict}",
                    runner.step,
                    img_s(runner.step),
                    t.step,
                    img_s(t.step)
                );
            }
            None => println!(
                "{case:<13} | {:>14.2} | {:>12.1} | {:>13} | {:>11} | {:>12} | <= {TARGET_RATIO} (no torch)",
                runner.step,
                img_s(runner.step),
                "-",
                "-",
                "-"
            ),
        }
    }
    println!();
    println!("mean step time (ms), to spot outliers:");
    for (case, runner, torch) in &results {
        match torch {
            Some(t) => println!(
                "  {case} runner {:.2}   torch {:.2}",
                runner.step_mean, t.step_mean
            ),
            None => println!("  {case} runner {:.2}", runner.step_mean),
        }
    }
    println!("phases (median ms):");
    for (case, runner, torch) in &results {
        print_phases(case, runner, torch.as_ref());
    }
    if let Some(note) = &torch_note {
        println!();
        println!("NOTE: PyTorch side skipped: {note}");
    }

    // Per-layer breakdown of the MNIST net at the largest batch and thread count.
    let batch = *BATCHES.last().expect("a batch size");
    let threads = *THREADS.last().expect("a thread count");
    println!();
    println!(
        "per layer at batch {batch}, {threads} threads (each timed alone, median of {steps}; \
         backward of (out * g).sum())"
    );
    let runner_rows = on_threads(threads, || runner_per_layer(&cfg, batch, steps, warmup))
        .expect("a thread pool for the benchmark");
    let breakdown = run_torch(Net::Mnist, batch, steps, warmup, threads, Extra::Breakdown);
    let (torch_rows, torch_split) = match breakdown {
        Ok(run) => (run.per_layer, run.op_split),
        Err(note) => {
            // The install hint was printed above when the training run failed too.
            match torch_note {
                Some(_) => println!("(PyTorch per-layer timings skipped, see the NOTE above)"),
                None => println!("(PyTorch per-layer timings skipped: {note})"),
            }
            (Vec::new(), Vec::new())
        }
    };
    println!(
        "{:<28} | {:>9} {:>9} | {:>9} {:>9} | {:>12}",
        "layer (ms)", "runner fw", "runner bw", "torch fw", "torch bw", "runner/torch"
    );
    let (mut sum_r, mut sum_t) = ((0.0, 0.0), (0.0, 0.0));
    for (name, rf, rb) in &runner_rows {
        sum_r = (sum_r.0 + rf, sum_r.1 + rb);
        match torch_rows.iter().find(|(n, _, _)| n == name) {
            Some((_, tf, tb)) => {
                sum_t = (sum_t.0 + tf, sum_t.1 + tb);
                println!(
                    "{name:<28} | {rf:>9.2} {rb:>9.2} | {tf:>9.2} {tb:>9.2} | {:>12.2}",
                    (rf + rb) / (tf + tb)
                );
            }
            None => println!("{name:<28} | {rf:>9.2} {rb:>9.2} |"),
        }
    }
    if torch_rows.is_empty() {
        println!("{:<28} | {:>9.2} {:>9.2} |", "sum", sum_r.0, sum_r.1);
    } else {
        println!(
            "{:<28} | {:>9.2} {:>9.2} | {:>9.2} {:>9.2} | {:>12.2}",
            "sum",
            sum_r.0,
            sum_r.1,
            sum_t.0,
            sum_t.1,
            (sum_r.0 + sum_r.1) / (sum_t.0 + sum_t.1)
        );
    }
    println!();
    println!(
        "convolution backward split at batch {batch} (backend ops without autodiff, median ms; \
         torch computes grad w and b in one oneDNN call)"
    );
    println!(
        "{:<22} | {:>7} {:>7} {:>7} {:>7} | {:>7} {:>7} {:>7}",
        "conv", "r fwd", "r gx", "r gw", "r gb", "t fwd", "t gx", "t gw+b"
    );
    let split = on_threads(threads, || runner_op_split(batch, steps, warmup))
        .expect("a thread pool for the benchmark");
    for (name, [f, gx, gw, gb]) in split {
        let unused = if name == CONVS[0].name { " *" } else { "" };
        match torch_split.iter().find(|(n, _)| *n == name) {
            Some((_, [tf, tgx, tgwb])) => println!(
                "{name:<22} | {f:>7.2} {gx:>7.2} {gw:>7.2} {gb:>7.2} | {tf:>7.2} {tgx:>7.2} {tgwb:>7.2}{unused}"
            ),
            None => println!("{name:<22} | {f:>7.2} {gx:>7.2} {gw:>7.2} {gb:>7.2} |{unused}"),
        }
    }
    println!("* grad x of the first conv is not needed in training (its input is the data)");
    println!();
    println!("load average at end: {}", load_average());
}
