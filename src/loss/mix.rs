//! The pipeline's loss: sum_i w_i * term_i + beta * KL, where `alpha` (when set)
//! scales spatial terms by (1 - alpha) and frequency terms by alpha.
//!
//! Every term but `bce` compares the reconstruction with the data: by default
//! `sigmoid(logits)` (pixel values in [0, 1]), with `loss.input: logits` the raw
//! decoder output, as Dalal's code (docs/methods.md#loss-input). `bce` works on
//! the logits for stability either way: it is the cross-entropy of
//! `sigmoid(logits)`, whatever `loss.input` says.

use burn::tensor::{backend::Backend, Tensor};

use super::kl::kl_divergence;
use super::params::LossParams;
use super::term::{ImageShape, TermInput, TermLoss};
use crate::model::vae::VaeOutput;
use crate::pipeline::schema::{KlConfig, LossConfig, LossInput};

/// Version of the weighted mix of the terms (weights, `alpha`).
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// One term of the mix: its name, its effective weight and the built term.
#[derive(Debug)]
struct WeightedTerm<B: Backend> {
    name: &'static str,
    weight: f64,
    term: Box<dyn TermLoss<B>>,
}

/// The loss terms of one pipeline cell, with their constant matrices built once.
#[derive(Debug)]
pub struct LossMix<B: Backend> {
    terms: Vec<WeightedTerm<B>>,
    kl: KlConfig,
    /// The training seed, for terms with per-step randomness.
    seed: u64,
    /// What the image-comparing terms receive.
    input: LossInput,
}

/// The values of one evaluation of the mix.
#[derive(Debug, Clone)]
pub struct LossValues<B: Backend> {
    /// The objective that is minimised.
    pub total: Tensor<B, 1>,
    /// Each reconstruction term, unweighted, in declaration order.
    pub terms: Vec<(&'static str, Tensor<B, 1>)>,
    /// The KL term, unweighted.
    pub kl: Tensor<B, 1>,
}

impl<B: Backend> LossMix<B> {
    /// Builds the mix for images of `channels` x `height` x `width`; `seed` (the
    /// training seed) drives the random shifts of terms that use them.
    pub fn new(
        cfg: &LossConfig,
        [channels, height, width]: [usize; 3],
        seed: u64,
        device: &B::Device,
    ) -> Self {
        let image = ImageShape {
            channels,
            height,
            width,
        };
        let terms = cfg
            .terms
            .iter()
            .enumerate()
            .map(|(i, term)| WeightedTerm {
                name: term.name(),
                weight: cfg.effective_weight(i),
                term: term.build::<B>(image, device),
            })
            .collect();
        LossMix {
            terms,
            kl: cfg.kl.clone(),
            seed,
            input: cfg.input,
        }
    }

    /// Names of the reconstruction terms, in order (for log columns).
    pub fn term_names(&self) -> Vec<&'static str> {
        self.terms.iter().map(|t| t.name).collect()
    }

    /// Evaluates every term on a forward pass against `target` (pixel values) at
    /// training step `step`, with the loss's own trainable `params`.
    pub fn compute(
        &self,
        out: &VaeOutput<B>,
        target: Tensor<B, 4>,
        params: &LossParams<B>,
        step: u64,
    ) -> LossValues<B> {
        let kl = kl_divergence(out.mu.clone(), out.logvar.clone(), self.kl.convention);
        let mut total = kl.clone().mul_scalar(self.kl.beta);
        let recon = reconstruction(self.input, out.logits.clone());
        let input = TermInput {
            out,
            recon: &recon,
            target: &target,
            params,
            step,
            seed: self.seed,
        };
        let mut values = Vec::with_capacity(self.terms.len());
        for t in &self.terms {
            let value = t.term.forward(&input);
            total = total + value.clone().mul_scalar(t.weight);
            values.push((t.name, value));
        }
        LossValues {
            total,
            terms: values,
            kl,
        }
    }

    /// The objective of the kernel head's half of the alternation: the weighted
    /// learned-kernel terms with the VAE's outputs detached, so only G gets
    /// gradients. `None` when no term learns a kernel.
    pub fn kernel_objective(
        &self,
        out: &VaeOutput<B>,
        target: Tensor<B, 4>,
        params: &LossParams<B>,
    ) -> Option<Tensor<B, 1>> {
        let head = params.kernel_head.as_ref()?;
        let recon = reconstruction(self.input, out.logits.clone()).detach();
        let kernels = head.forward(out.z.clone().detach());
        self.terms
            .iter()
            .filter_map(|t| {
                let value =
                    t.term
                        .kernel_objective(recon.clone(), target.clone(), kernels.clone())?;
                Some(value.mul_scalar(t.weight))
            })
            .reduce(|a, b| a + b)
    }
}

/// The reconstruction the image-comparing terms (and the eval) read from the
/// decoder's output: `sigmoid(logits)` or, with `loss.input: logits`, the
/// logits themselves (docs/methods.md#loss-input).
pub fn reconstruction<B: Backend>(input: LossInput, logits: Tensor<B, 4>) -> Tensor<B, 4> {
    match input {
        LossInput::Sigmoid => burn::tensor::activation::sigmoid(logits),
        LossInput::Logits => logits,
    }
}

#[cfg(test)]
mod tests {
    use crate::data::shapes;
    use crate::loss::LossTerm;
    use crate::pipeline::load::load_pipeline_str;
    use crate::progress::Progress;
    use crate::train::train;

    /// `loss.input` decides what the image terms see (l1 here); `bce` reads the
    /// logits either way.
    #[test]
    fn loss_input_feeds_the_image_terms_the_logits_or_their_sigmoid() {
        use burn::backend::Flex;
        use burn::tensor::{Tensor, TensorData};

        use crate::loss::mix::LossMix;
        use crate::loss::params::LossParams;
        use crate::model::vae::VaeOutput;
        use crate::pipeline::schema::{LossConfig, LossInput};

        let device = Default::default();
        let logits = [-2.0f32, -0.5, 0.0, 0.3, 1.5, 3.0];
        let target = [0.0f32, 0.2, 0.5, 0.5, 1.0, 0.9];
        let t = |v: &[f32]| {
            Tensor::<Flex, 4>::from_data(TensorData::new(v.to_vec(), [1, 1, 2, 3]), &device)
        };
        let code = Tensor::<Flex, 2>::zeros([1, 2], &device);
        let out = VaeOutput {
            logits: t(&logits),
            mu: code.clone(),
            logvar: code.clone(),
            z: code,
        };
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let bce: f64 = logits
            .iter()
            .zip(&target)
            .map(|(&z, &x)| {
                let (z, x) = (z as f64, x as f64);
                -(x * sigmoid(z).ln() + (1.0 - x) * (1.0 - sigmoid(z)).ln())
            })
            .sum::<f64>()
            / 6.0;
        for input in [LossInput::Sigmoid, LossInput::Logits] {
            let cfg = LossConfig {
                terms: vec![
                    LossTerm::Bce(Default::default()),
                    LossTerm::L1(Default::default()),
                ],
                input,
                ..LossConfig::default()
            };
            let mix = LossMix::<Flex>::new(&cfg, [1, 2, 3], 0, &device);
            let params = LossParams::<Flex>::new(&cfg, 2, &device);
            let values = mix.compute(&out, t(&target), &params, 0);
            let value = |i: usize| values.terms[i].1.clone().into_scalar() as f64;
            let seen = |z: f32| match input {
                LossInput::Sigmoid => sigmoid(z as f64),
                LossInput::Logits => z as f64,
            };
            let l1: f64 = logits
                .iter()
                .zip(&target)
                .map(|(&z, &x)| (seen(z) - x as f64).abs())
                .sum::<f64>()
                / 6.0;
            assert!((value(0) - bce).abs() < 1e-5, "{input:?} bce {}", value(0));
            assert!((value(1) - l1).abs() < 1e-5, "{input:?} l1 {}", value(1));
        }
    }

    /// A short training run with each term alone lowers that term's loss.
    #[test]
    fn a_short_run_with_each_term_lowers_it() {
        let data = shapes::generate(64, 32, 1, None, 1);
        let mut failures = vec![];
        // Every registered term with its defaults, then the options that take
        // another code path.
        let mut terms: Vec<String> = LossTerm::all_defaults()
            .iter()
            .map(|t| serde_json::to_string(t).unwrap())
            .collect();
        terms.extend(
            [
                "{mse: {sigma_mode: optimal}}",
                "{mse: {sigma_mode: learned, reduction: sum_per_image}}",
                "{ssim: {variant: zero_padded}}",
                "{stft: {mode: code_rows, hann: false}}",
                "{wiener: {log_det: false}}",
                "{wiener: {kernel: learned}}",
            ]
            .map(String::from),
        );
        for term in &terms {
            // SSIM is badly conditioned on the mostly black Shape images (the
            // luminance term's gradient is ~C1 / mu^2 while the reconstruction is
            // grey), so it gets more steps; plain gradient descent on the pixels
            // lowers it steadily, it is only slow through the network.
            let epochs = if term.contains("ssim") { 24 } else { 6 };
            let text = format!(
                "dataset: {{name: shapes}}\nmodel: {{latent: 16}}\n\
                 train: {{epochs: {epochs}, batch: 8, optimizer: {{adam: {{lr: 3.0e-3}}}}}}\n\
                 loss: {{terms: [{term}]}}\n"
            );
            let loaded = load_pipeline_str(std::path::Path::new("t.yaml"), &text, &[]).unwrap();
            let cfg = &loaded.cells[0].config;
            let dir = tempfile::tempdir().unwrap();
            train(
                cfg,
                &data,
                dir.path(),
                "test",
                &Progress::new(false),
                crate::device::Device::Cpu,
                1,
            )
            .unwrap();
            let log = std::fs::read_to_string(dir.path().join("train_log.csv")).unwrap();
            // Column 3 is the (only) term's own value.
            let values: Vec<f64> = log
                .lines()
                .skip(1)
                .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
                .collect();
            let (first, last) = (values[0], *values.last().unwrap());
            // Likelihood terms can be negative or carry a constant (the Wiener
            // term's log-determinant is ~98% of its value with a fixed kernel), so
            // the drop is relative to |first|; 1% is above step-to-step noise for
            // every term.
            if last >= first - 0.01 * first.abs() {
                failures.push(format!("{term}: {first} -> {last}"));
            }
        }
        assert!(
            failures.is_empty(),
            "terms that did not go down: {failures:#?}"
        );
    }
}
