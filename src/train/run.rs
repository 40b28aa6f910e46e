//! The training loop: Adam on the loss mix, seeded, with a progress bar, a CSV
//! log, a checkpoint after every epoch and at any step where a stop is asked
//! for (Ctrl-C, SIGTERM, Slurm's time-limit warning), and divergence detection.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use burn::optim::{GradientsParams, Optimizer};

use super::adam::FusedAdam;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_pcg::Pcg64;

use super::checkpoint::{
    load_checkpoint, save_checkpoint, LossAdam, TrainState, Trainables, VaeAdam, CHECKPOINT_FILE,
};
use super::schedule::learning_rate;
use crate::atomic::write_atomic;
use crate::backend::{batch_tensor, dispatch, normal_noise, BackendJob, CpuBackend};
use crate::data::ImageSet;
use crate::device::Device;
use crate::loss::{LossMix, LossParams};
use crate::model::Vae;
use crate::pipeline::schema::{OptimizerConfig, ResolvedPipeline};
use crate::progress::Progress;
use crate::weights::{copy_parameters, save_model, MODEL_FILE};

/// Version of the training loop (batches, shuffling, steps, divergence checks).
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The loss became NaN or infinite.
    #[error("loss diverged at epoch {epoch}, step {step} (last finite loss: {last_finite})")]
    Diverged {
        /// 1-based epoch.
        epoch: u32,
        /// 1-based step within the run.
        step: u64,
        /// Last finite total loss, or "none".
        last_finite: String,
    },
    /// A stop was asked for ([`crate::interrupt`]); the checkpoint of the last
    /// finished step is saved, so a re-run continues from there.
    #[error("stopped at step {step}; the checkpoint is saved")]
    Stopped {
        /// Steps completed and saved.
        step: u64,
    },
    /// Anything else (I/O, serialisation).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// File name of the training log inside a run directory.
pub const TRAIN_LOG: &str = "train_log.csv";

/// How many steps each train_log.csv row averages.
const LOG_EVERY: u64 = 10;

/// Images trained in steps `from + 1..=to` (1-based, counted across epochs) of
/// a run on `n` images in batches of `batch`: each epoch is cut into batches as
/// the loop cuts it, full ones and then the remainder. For the images/s of a log
/// row, which train_log.csv does not store.
pub fn images_in_steps(n: usize, batch: u32, from: u64, to: u64) -> u64 {
    let n = n as u64;
    let batch = u64::from(batch).min(n).max(1);
    let steps_per_epoch = n.div_ceil(batch).max(1);
    let last = n - (steps_per_epoch - 1) * batch;
    (from + 1..=to)
        .map(|step| {
            if step.is_multiple_of(steps_per_epoch) {
                last
            } else {
                batch
            }
        })
        .sum()
}

/// Builds the initial network of `cfg` on `device`. The weights are drawn on the
/// CPU with the RNG seeded by `train.seed` and copied over, so one seed gives the
/// same starting network on every backend (a GPU's RNG draws other numbers).
pub fn init_model<B: Backend>(cfg: &ResolvedPipeline, device: &B::Device) -> Vae<B> {
    let drawn = Vae::<CpuBackend>::seeded(&cfg.model, cfg.train.seed, &Default::default());
    copy_parameters(&drawn, Vae::new(&cfg.model, device))
        .expect("two networks of one spec have the same parameters")
}

/// Adam with the options of `cfg`.
fn adam_config(cfg: &ResolvedPipeline) -> FusedAdam {
    let OptimizerConfig::Adam(adam) = &cfg.train.optimizer;
    FusedAdam {
        beta_1: adam.betas[0] as f32,
        beta_2: adam.betas[1] as f32,
        epsilon: adam.eps as f32,
    }
}

/// Adam for the network, with the options of `cfg`.
pub fn adam_for<B: AutodiffBackend>(cfg: &ResolvedPipeline) -> VaeAdam<B> {
    adam_config(cfg).init::<B, Vae<B>>()
}

/// Adam for the loss's own parameters (same options as the network's).
fn loss_adam_for<B: AutodiffBackend>(cfg: &ResolvedPipeline) -> LossAdam<B> {
    adam_config(cfg).init::<B, LossParams<B>>()
}

/// The state of a run that starts from scratch.
fn fresh_state(cfg: &ResolvedPipeline, n: usize, names: &[&str]) -> TrainState {
    let mut log = String::from("epoch,step,loss");
    for name in names {
        let _ = write!(log, ",{name}");
    }
    log.push_str(",kl,lr,wall_s\n");
    TrainState {
        epoch: 0,
        step: 0,
        noise_rng: Pcg64::seed_from_u64(cfg.train.seed.wrapping_add(0x9e37_79b9_7f4a_7c15)),
        shuffle_rng: Pcg64::seed_from_u64(cfg.train.seed ^ 0x5eed_5eed),
        order: (0..n).collect(),
        log,
        wall_s: 0.0,
        last_finite: None,
        window: vec![0.0; names.len() + 2],
        window_steps: 0,
    }
}

/// Trains the VAE of `cfg` on `data` in `dir` on `device`: a checkpoint after
/// every epoch and when a stop is asked for (resumed from when present, also on
/// another device), then `model.safetensors` and `train_log.csv`. `label` names
/// the node on the progress bar; on the CPU it trains on `threads` threads.
pub fn train(
    cfg: &ResolvedPipeline,
    data: &ImageSet,
    dir: &Path,
    label: &str,
    progress: &Progress,
    device: Device,
    threads: usize,
) -> Result<(), TrainError> {
    let job = TrainJob {
        cfg,
        data,
        dir,
        label,
        progress,
    };
    dispatch(device, threads, job)
}

/// [`train`]'s arguments, run by [`dispatch`] on the backend of the device.
struct TrainJob<'a> {
    cfg: &'a ResolvedPipeline,
    data: &'a ImageSet,
    dir: &'a Path,
    label: &'a str,
    progress: &'a Progress,
}

impl BackendJob for TrainJob<'_> {
    type Output = ();
    type Error = TrainError;

    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Result<(), TrainError> {
        let TrainJob {
            cfg,
            data,
            dir,
            label,
            progress,
        } = self;
        train_on::<B>(cfg, data, dir, label, progress, device)
    }
}

/// [`train`] with backend `B` on `device`, on the current thread pool.
fn train_on<B: AutodiffBackend>(
    cfg: &ResolvedPipeline,
    data: &ImageSet,
    dir: &Path,
    label: &str,
    progress: &Progress,
    device: &B::Device,
) -> Result<(), TrainError> {
    let mix = LossMix::<B>::new(
        &cfg.loss,
        [data.channels, data.height, data.width],
        cfg.train.seed,
        device,
    );
    let names = mix.term_names();
    let fresh = fresh_trainables(cfg, device);
    let checkpoint = dir.join(CHECKPOINT_FILE);
    let (mut t, mut state) = if checkpoint.exists() {
        let (t, mut state) = load_checkpoint(fresh, &checkpoint, device)?;
        if state.window_steps == 0 {
            // Written at an epoch end by an earlier runner: no window stored.
            state.window = vec![0.0; names.len() + 2];
        }
        progress.println(format!(
            "{label}: resuming after epoch {}, step {}",
            state.epoch, state.step
        ));
        (t, state)
    } else {
        (fresh, fresh_state(cfg, data.len(), &names))
    };

    let n = data.len();
    let batch = (cfg.train.batch as usize).min(n);
    let steps_per_epoch = n.div_ceil(batch) as u64;
    let epochs = cfg.train.epochs;
    let bar = progress.bar(label, n as u64 * u64::from(epochs));
    // Steps of the current epoch already done (a checkpoint taken mid-epoch).
    let mut done_in_epoch = state.step - u64::from(state.epoch) * steps_per_epoch;
    bar.set_position(
        n as u64 * u64::from(state.epoch) + (done_in_epoch * batch as u64).min(n as u64),
    );
    // Wall time continues across resumes.
    let (start, wall_before) = (Instant::now(), state.wall_s);
    let wall = |start: Instant| wall_before + start.elapsed().as_secs_f64();

    for epoch in state.epoch + 1..=epochs {
        // A resumed epoch keeps the order it was shuffled into.
        if cfg.train.shuffle && done_in_epoch == 0 {
            state.order.shuffle(&mut state.shuffle_rng);
        }
        let order = state.order.clone();
        for chunk in order.chunks(batch).skip(done_in_epoch as usize) {
            if crate::interrupt::requested() {
                state.wall_s = wall(start);
                save_checkpoint(&t, &state, &checkpoint)?;
                bar.abandon_with_message("stopped");
                return Err(TrainError::Stopped { step: state.step });
            }
            let lr = learning_rate(&cfg.train, state.step);
            state.step += 1;
            let step = state.step;
            let x = batch_tensor::<B>(data, chunk, device);
            let noise =
                normal_noise::<B>(&mut state.noise_rng, chunk.len(), t.model.latent(), device);
            let scalars = train_step(&mut t, &mix, x, noise, step, lr)?;
            let total = scalars[0];
            if !total.is_finite() {
                bar.abandon_with_message("diverged");
                return Err(TrainError::Diverged {
                    epoch,
                    step,
                    last_finite: state
                        .last_finite
                        .map_or("none".into(), |v| format!("{v:.6}")),
                });
            }
            state.last_finite = Some(total);
            for (slot, value) in state.window.iter_mut().zip(&scalars) {
                *slot += value;
            }
            state.window_steps += 1;

            if step.is_multiple_of(LOG_EVERY) || step.is_multiple_of(steps_per_epoch) {
                let k = state.window_steps as f64;
                let _ = write!(state.log, "{epoch},{step}");
                for v in &state.window {
                    let _ = write!(state.log, ",{:.6}", v / k);
                }
                let _ = writeln!(state.log, ",{lr:e},{:.3}", wall(start));
                bar.set_message(format!(
                    "epoch {epoch}/{epochs} step {step} loss {:.4}",
                    state.window[0] / k
                ));
                state.window.iter_mut().for_each(|v| *v = 0.0);
                state.window_steps = 0;
            }
            bar.inc(chunk.len() as u64);
        }
        done_in_epoch = 0;
        state.epoch = epoch;
        state.wall_s = wall(start);
        save_checkpoint(&t, &state, &checkpoint)?;
        if !progress.interactive() {
            progress.println(format!(
                "{label}: epoch {epoch}/{epochs} done, loss {:.4}, {:.1}s",
                state.last_finite.unwrap_or(f64::NAN),
                state.wall_s
            ));
        }
    }
    bar.finish_and_clear();
    save_model(&t.model, &t.loss, &dir.join(MODEL_FILE))?;
    write_atomic(&dir.join(TRAIN_LOG), state.log.as_bytes())
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", dir.join(TRAIN_LOG).display()))?;
    // The final weights are in model.safetensors; the checkpoint (weights and
    // Adam moments) is only needed to resume an unfinished run.
    let _ = std::fs::remove_file(&checkpoint);
    Ok(())
}

/// The network, the loss's parameters and their optimizers for `cfg`, at their
/// starting values, on `device`.
pub fn fresh_trainables<B: AutodiffBackend>(
    cfg: &ResolvedPipeline,
    device: &B::Device,
) -> Trainables<B> {
    let model = init_model::<B>(cfg, device);
    Trainables {
        loss: LossParams::new(&cfg.loss, model.latent(), device),
        model,
        optim: adam_for(cfg),
        loss_optim: loss_adam_for(cfg),
    }
}

/// One training step on batch `x` with reparameterisation noise `noise`: the
/// forward pass, the loss mix, the update (see [`optimisation_step`]). Returns
/// the total loss, each term and the KL of the step (before the update), read
/// back together (one device sync per step). A non-finite total is for the
/// caller to act on: the step then stops training, and the updated weights are
/// never saved.
pub fn train_step<B: AutodiffBackend>(
    t: &mut Trainables<B>,
    mix: &LossMix<B>,
    x: Tensor<B, 4>,
    noise: Tensor<B, 2>,
    step: u64,
    lr: f64,
) -> Result<Vec<f64>, TrainError> {
    let out = t.model.forward(x.clone(), noise);
    let values = mix.compute(&out, x.clone(), &t.loss, step);
    let scalars = read_scalars(&values)?;
    optimisation_step(t, mix, &values, &out, x, lr);
    Ok(scalars)
}

/// The total loss, each term and the KL of one step, as numbers on the host.
fn read_scalars<B: Backend>(values: &crate::loss::LossValues<B>) -> Result<Vec<f64>, TrainError> {
    let mut parts = vec![values.total.clone().reshape([1])];
    parts.extend(values.terms.iter().map(|(_, v)| v.clone().reshape([1])));
    parts.push(values.kl.clone().reshape([1]));
    let data = Tensor::cat(parts, 0).into_data().convert::<f64>();
    let numbers = data
        .to_vec::<f64>()
        .map_err(|e| anyhow::anyhow!("reading the loss values: {e:?}"))?;
    Ok(numbers)
}

/// One update from the loss `values` of batch `x`:
///
/// 1. the network (and a learned sigma, which is part of the same likelihood) takes
///    an Adam step on the full objective, with the kernel head G held fixed;
/// 2. when a Wiener term learns its kernel, G then takes its own Adam step on that
///    term with the network's outputs held fixed (Bredell et al.'s alternation).
fn optimisation_step<B: AutodiffBackend>(
    t: &mut Trainables<B>,
    mix: &LossMix<B>,
    values: &crate::loss::LossValues<B>,
    out: &crate::model::vae::VaeOutput<B>,
    x: Tensor<B, 4>,
    lr: f64,
) {
    let mut grads = values.total.backward();
    let network = GradientsParams::from_module(&mut grads, &t.model);
    t.model = t.optim.step(lr, t.model.clone(), network);
    if let Some(log_sigma) = &t.loss.log_sigma {
        let sigma = GradientsParams::from_module(&mut grads, log_sigma);
        t.loss = t.loss_optim.step(lr, t.loss.clone(), sigma);
    }
    if let Some(objective) = mix.kernel_objective(out, x, &t.loss) {
        let mut grads = objective.backward();
        let head = GradientsParams::from_module(&mut grads, &t.loss);
        t.loss = t.loss_optim.step(lr, t.loss.clone(), head);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::{self, GrayMode, ShapesSpec};

    #[test]
    fn images_in_steps_counts_each_epochs_short_last_batch() {
        // 10 images in batches of 4: steps of 4, 4, 2 images each epoch.
        assert_eq!(images_in_steps(10, 4, 0, 3), 10);
        assert_eq!(images_in_steps(10, 4, 2, 4), 2 + 4);
        assert_eq!(images_in_steps(10, 4, 0, 30), 100);
        // A batch larger than the data trains on all of it each step.
        assert_eq!(images_in_steps(6, 16, 0, 5), 30);
    }
    use crate::pipeline::schema::{
        Arch, DatasetSpec, EvalConfig, LossConfig, ModelSpec, TrainConfig, UpsamplerName,
    };

    fn tiny_config(upsampler: UpsamplerName, loss: LossConfig) -> ResolvedPipeline {
        ResolvedPipeline {
            name: "t".into(),
            dataset: DatasetSpec::Shapes(ShapesSpec {
                size: 32,
                channels: 1,
                gray: Some(GrayMode::Luminance),
                train_images: 64,
                test_images: 8,
                train_seed: 1,
                test_seed: 2,
            }),
            model: ModelSpec {
                arch: Arch::IrmaeShape,
                latent: 16,
                upsampler,
                replace: crate::pipeline::schema::ReplaceLayer::LastStride2,
                init: crate::pipeline::schema::InitScheme::Pytorch,
                convt_alignment: Default::default(),
                channels: 1,
                size: 32,
            },
            train: TrainConfig {
                epochs: 8,
                batch: 16,
                optimizer: crate::pipeline::schema::OptimizerConfig::Adam(
                    crate::pipeline::schema::AdamConfig {
                        lr: 1e-3,
                        ..Default::default()
                    },
                ),
                ..TrainConfig::default()
            },
            loss,
            eval: EvalConfig::default(),
        }
    }

    /// Mean of the `loss` column over the first and the last log rows.
    fn first_and_last_loss(log: &str) -> (f64, f64) {
        let losses: Vec<f64> = log
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
            .collect();
        (losses[0], *losses.last().unwrap())
    }

    /// A model whose optimizer silently updates nothing (see
    /// docs/architecture.md#burn-pitfalls) fails here.
    #[test]
    fn training_lowers_the_loss_and_is_reproducible() {
        let data = shapes::generate(64, 32, 1, Some(GrayMode::Luminance), 1);
        let loss = LossConfig {
            alpha: Some(0.5),
            terms: vec![
                crate::loss::LossTerm::Bce(Default::default()),
                crate::loss::LossTerm::Fft(Default::default()),
            ],
            ..LossConfig::default()
        };
        for upsampler in [UpsamplerName::CONVT, UpsamplerName::named("n15").unwrap()] {
            let cfg = tiny_config(upsampler, loss.clone());
            let dir = tempfile::tempdir().unwrap();
            train(
                &cfg,
                &data,
                dir.path(),
                "test",
                &Progress::new(false),
                Device::Cpu,
                1,
            )
            .unwrap();
            let log = std::fs::read_to_string(dir.path().join(TRAIN_LOG)).unwrap();
            let (first, last) = first_and_last_loss(&log);
            assert!(last < 0.8 * first, "{upsampler:?}: loss {first} -> {last}");

            let again = tempfile::tempdir().unwrap();
            train(
                &cfg,
                &data,
                again.path(),
                "test",
                &Progress::new(false),
                Device::Cpu,
                2,
            )
            .unwrap();
            let log2 = std::fs::read_to_string(again.path().join(TRAIN_LOG)).unwrap();
            let strip = |s: &str| {
                s.lines()
                    .map(|l| l.rsplit_once(',').unwrap().0.to_string())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                strip(&log),
                strip(&log2),
                "1 and 2 threads: same loss curve"
            );
            let weights = |d: &Path| std::fs::read(d.join(crate::weights::MODEL_FILE)).unwrap();
            assert!(
                weights(dir.path()) == weights(again.path()),
                "1 and 2 threads: bit-identical weights"
            );
        }
    }
}

#[cfg(test)]
mod learned_loss_tests {
    use super::*;
    use crate::backend::{on_threads, TrainBackend};
    use crate::data::shapes;
    use crate::pipeline::load::load_pipeline_str;
    use burn::module::Module;

    fn config(loss: &str) -> ResolvedPipeline {
        let text = format!(
            "dataset: {{name: shapes}}\nmodel: {{latent: 8}}\n\
             train: {{epochs: 1, batch: 8, optimizer: {{adam: {{lr: 1.0e-2}}}}}}\n\
             loss: {{terms: [{loss}]}}\n"
        );
        let loaded = load_pipeline_str(Path::new("t.yaml"), &text, &[]).unwrap();
        loaded.cells[0].config.clone()
    }

    fn flat<M: Module<TrainBackend>>(m: &M) -> Vec<f32> {
        use burn::store::ModuleSnapshot;
        m.collect(None, None, false)
            .into_iter()
            .flat_map(|s| s.to_data().unwrap().to_vec::<f32>().unwrap())
            .collect()
    }

    /// Runs `steps` updates on a fixed batch.
    fn steps(t: &mut Trainables<TrainBackend>, mix: &LossMix<TrainBackend>, n: u64, from: u64) {
        let data = shapes::generate(8, 32, 1, None, 3);
        let device = Default::default();
        let x = batch_tensor::<TrainBackend>(&data, &(0..8).collect::<Vec<_>>(), &device);
        let mut rng = Pcg64::seed_from_u64(from);
        for step in from..from + n {
            let noise = normal_noise::<TrainBackend>(&mut rng, 8, t.model.latent(), &device);
            train_step(t, mix, x.clone(), noise, step, 1e-2).unwrap();
        }
    }

    /// The loss columns of `dir`'s training log (every column but lr and wall_s).
    fn loss_columns(dir: &Path) -> Vec<Vec<f64>> {
        let text = std::fs::read_to_string(dir.join(TRAIN_LOG)).unwrap();
        text.lines()
            .skip(1)
            .map(|l| {
                let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
                v[..v.len() - 2].to_vec()
            })
            .collect()
    }

    /// Asserts that the training logs in `flex` and `reference` agree by
    /// numpy.isclose's rule (rtol 5e-3, atol 1e-5): float summation order differs
    /// between the backends, which moves the curves apart by up to a few 1e-4
    /// relative (the KL, near 6e-4, by a few 1e-6 absolute). Returns the rows.
    fn assert_same_curve(flex: &Path, reference: &Path) -> usize {
        let (a, b) = (loss_columns(flex), loss_columns(reference));
        assert_eq!(a.len(), b.len(), "as many log rows");
        let (rtol, atol) = (5e-3, 1e-5);
        let mut worst = 0f64;
        for (ra, rb) in a.iter().zip(&b) {
            for (x, y) in ra.iter().zip(rb) {
                worst = worst.max((x - y).abs() / (atol + rtol * y.abs()));
            }
        }
        eprintln!("worst |flex - ndarray| / (atol + rtol |ndarray|) = {worst:.3}");
        assert!(worst <= 1.0, "flex {a:?}\nndarray {b:?}");
        a.len()
    }

    /// Trains `cfg` on `data` on flex (runner's kernels, 2 threads) and on
    /// ndarray, asserts the same curve ([`assert_same_curve`]) and returns both
    /// run folders and the number of log rows.
    fn train_on_both(
        cfg: &ResolvedPipeline,
        data: &ImageSet,
    ) -> (tempfile::TempDir, tempfile::TempDir, usize) {
        type Nd = burn::backend::Autodiff<burn::backend::NdArray>;
        let progress = Progress::new(false);
        let (flex_dir, nd_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        on_threads(2, || {
            train_on::<TrainBackend>(
                cfg,
                data,
                flex_dir.path(),
                "flex",
                &progress,
                &Default::default(),
            )
        })
        .unwrap()
        .unwrap();
        train_on::<Nd>(
            cfg,
            data,
            nd_dir.path(),
            "ndarray",
            &progress,
            &Default::default(),
        )
        .unwrap();
        let rows = assert_same_curve(flex_dir.path(), nd_dir.path());
        (flex_dir, nd_dir, rows)
    }

    /// `steps` steps (2 per epoch, batch `batch`) of the network `arch` (for
    /// `dataset`, whose files are not read: the images are Shape drawings of the
    /// net's size and channels) on flex (runner's convolution kernels and fused
    /// Adam, 2 threads) and on ndarray (burn's generic convolution gradients, Adam
    /// as tensor operations): the same loss curve, a log row every 2 steps.
    fn steps_follow_the_reference(dataset: &str, arch: &str, steps: usize, batch: usize, lr: f64) {
        let text = format!(
            "dataset: {dataset}\nmodel: {{arch: {arch}, latent: 8}}\n\
             train: {{epochs: {}, batch: {batch}, optimizer: {{adam: {{lr: {lr:e}}}}}}}\n\
             loss: {{terms: [{{bce: {{}}}}, {{fft: {{}}}}]}}\n",
            steps / 2
        );
        let loaded = load_pipeline_str(Path::new("t.yaml"), &text, &[]).unwrap();
        let cfg = &loaded.cells[0].config;
        let m = &cfg.model;
        let data = shapes::generate(2 * batch, m.size as usize, m.channels as usize, None, 5);
        let (_flex, _nd, rows) = train_on_both(cfg, &data);
        assert_eq!(rows, steps / 2, "a row every 2 steps");
    }

    #[test]
    fn irmae_shape_trains_along_the_reference_curve() {
        steps_follow_the_reference("{name: shapes}", "irmae_shape", 50, 4, 1e-3);
    }

    #[test]
    fn irmae_mnist_trains_along_the_reference_curve() {
        steps_follow_the_reference("{name: shapes}", "irmae_mnist", 50, 4, 1e-3);
    }

    #[test]
    fn dalal_mnist_trains_along_the_reference_curve() {
        steps_follow_the_reference("{name: mnist, size: 28}", "dalal_mnist", 50, 4, 1e-3);
    }

    /// The CelebA net for 10 steps at batch 2: the reference backend takes tens of
    /// seconds per step on it (50 steps did not finish in 18 minutes on 2 cores).
    /// At the paper's lr 1e-4: at 1e-3 its KL jumps to ~8e3 by step 4, and the
    /// two backends' rounding then parts the curves by a few percent.
    #[test]
    #[ignore = "slow: a few minutes of the reference backend on the CelebA net; CI runs it with the ignored tests"]
    fn irmae_celeba_trains_along_the_reference_curve() {
        steps_follow_the_reference("{name: celeba, size: 64}", "irmae_celeba", 10, 2, 1e-4);
    }

    /// Training and the eval forward pass are generic over the backend: a second
    /// CPU backend (ndarray, standing in for CUDA, which runs the same code) trains
    /// every loss term along the same curve up to float rounding, and decodes the
    /// saved model to the same pixels.
    #[test]
    fn a_second_backend_follows_the_same_curve() {
        type Nd = burn::backend::NdArray;
        let text = "dataset: {name: shapes}\nmodel: {latent: 8, upsampler: n15}\n\
                    train: {epochs: 3, batch: 8}\n\
                    loss: {terms: [{bce: {}}, {mse: {sigma_mode: learned}}, {l1: {}}, \
                    {fft: {}}, {ssim: {}}, {ai: {}}, {watson_dft: {}}, {ffl: {}}, \
                    {fuoli: {}}, {stft: {}}, {wiener: {kernel: learned, kernel_size: 5}}]}\n";
        let loaded = load_pipeline_str(Path::new("t.yaml"), text, &[]).unwrap();
        let cfg = &loaded.cells[0].config;
        let data = shapes::generate(32, 32, 1, None, 5);
        let device = Default::default();
        let (flex_dir, _nd, rows) = train_on_both(cfg, &data);
        assert_eq!(rows, 4, "rows at steps 4, 8, 10, 12");
        let images = shapes::generate(8, 32, 1, None, 9);
        let decode = |f: &dyn Fn() -> anyhow::Result<(Vec<f32>, Vec<f32>)>| f().unwrap().0;
        let on_flex = decode(&|| {
            crate::eval::run::decode_on::<CpuBackend>(cfg, &images, flex_dir.path(), &device)
        });
        let on_nd = decode(&|| {
            crate::eval::run::decode_on::<Nd>(cfg, &images, flex_dir.path(), &Default::default())
        });
        assert_eq!(on_flex.len(), 8 * 32 * 32);
        let worst = on_flex
            .iter()
            .zip(&on_nd)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "reconstructions differ by {worst}");
    }

    /// The starting network is drawn on the CPU and copied, so every backend
    /// starts from the same weights; copying between different networks is an
    /// error, not a panic.
    #[test]
    fn init_model_copies_the_cpu_draw_exactly() {
        let cfg = config("{bce: {}}");
        let drawn = Vae::<CpuBackend>::seeded(&cfg.model, cfg.train.seed, &Default::default());
        let on_autodiff = init_model::<TrainBackend>(&cfg, &Default::default());
        use burn::store::ModuleSnapshot;
        let cpu: Vec<f32> = drawn
            .collect(None, None, false)
            .into_iter()
            .flat_map(|s| s.to_data().unwrap().to_vec::<f32>().unwrap())
            .collect();
        assert!(!cpu.is_empty());
        assert_eq!(flat(&on_autodiff), cpu);
        // The same numbers as drawing on the autodiff backend directly (how runs
        // were initialised before), so CPU results are unchanged.
        let direct = Vae::<TrainBackend>::seeded(&cfg.model, cfg.train.seed, &Default::default());
        assert_eq!(flat(&direct), cpu);
        let mut other = cfg.model.clone();
        other.latent = 4;
        let wrong = Vae::<TrainBackend>::new(&other, &Default::default());
        let err = copy_parameters(&drawn, wrong).unwrap_err();
        assert!(format!("{err:#}").contains("shape"), "{err:#}");
    }

    /// Both the learned sigma and the kernel head move; the network's step does not
    /// touch G and G's step does not touch the network (alternation); a checkpoint
    /// restores both optimizers so that the next step is identical.
    #[test]
    fn learned_sigma_and_kernel_head_train_alternate_and_resume() {
        let cfg = config(
            "{mse: {sigma_mode: learned, reduction: sum_per_image}}, \
             {wiener: {kernel: learned, kernel_size: 5}}",
        );
        let device = Default::default();
        let mix = LossMix::<TrainBackend>::new(&cfg.loss, [1, 32, 32], 0, &device);
        let fresh = || fresh_trainables::<TrainBackend>(&cfg, &device);
        let mut t = fresh();
        let sigma0 = flat(t.loss.log_sigma.as_ref().unwrap());
        let head0 = flat(t.loss.kernel_head.as_ref().unwrap());
        steps(&mut t, &mix, 3, 0);
        assert_ne!(
            flat(t.loss.log_sigma.as_ref().unwrap()),
            sigma0,
            "sigma trained"
        );
        assert_ne!(
            flat(t.loss.kernel_head.as_ref().unwrap()),
            head0,
            "G trained"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CHECKPOINT_FILE);
        let state = fresh_state(&cfg, 8, &mix.term_names());
        save_checkpoint(&t, &state, &path).unwrap();
        let (mut restored, _) = load_checkpoint(fresh(), &path, &device).unwrap();
        assert_eq!(flat(&restored.loss), flat(&t.loss));
        steps(&mut t, &mix, 1, 3);
        steps(&mut restored, &mix, 1, 3);
        assert_eq!(
            flat(&restored.model),
            flat(&t.model),
            "network continues exactly"
        );
        assert_eq!(
            flat(&restored.loss),
            flat(&t.loss),
            "loss params continue exactly"
        );

        // The kernel objective alone updates G only.
        let x = batch_tensor::<TrainBackend>(
            &shapes::generate(8, 32, 1, None, 3),
            &(0..8).collect::<Vec<_>>(),
            &device,
        );
        let out = t.model.forward(x.clone(), Tensor::zeros([8, 8], &device));
        let objective = mix.kernel_objective(&out, x, &t.loss).unwrap();
        let mut grads = objective.backward();
        let network = GradientsParams::from_module(&mut grads, &t.model);
        assert!(
            network.is_empty(),
            "G's objective must not reach the network"
        );
    }
}
