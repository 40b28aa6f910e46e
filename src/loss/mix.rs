//! The pipeline's loss: sum_i w_i * term_i + beta * KL, where `alpha` (when set)
//! scales spatial terms by (1 - alpha) and frequency terms by alpha.
//!
//! Every term but `bce` compares `sigmoid(logits)` (pixel values in [0, 1]) with
//! the data; `bce` works on the logits for stability.

use burn::tensor::{backend::Backend, Tensor};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::ai::AiLoss;
use super::bce::bce_mean;
use super::ffl::FflLoss;
use super::fft::FftLoss;
use super::fuoli::FuoliLoss;
use super::kl::kl_divergence;
use super::params::LossParams;
use super::pixel::{l1, mse, mse_learned_sigma, mse_optimal_sigma};
use super::ssim::SsimLoss;
use super::stft::StftLoss;
use super::watson::WatsonDftLoss;
use super::wiener::WienerLoss;
use crate::model::vae::VaeOutput;
use crate::pipeline::schema::{
    KlConfig, L1Term, LossConfig, LossTerm, MseTerm, SigmaMode, WienerKernel,
};

/// Version of the weighted mix of the terms (weights, `alpha`).
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// One term ready to evaluate, with its constant matrices.
#[derive(Debug, Clone)]
enum Term<B: Backend> {
    Bce,
    Mse(MseTerm),
    L1(L1Term),
    Fft(FftLoss<B>),
    Ssim(SsimLoss<B>),
    Ai(AiLoss<B>),
    Ffl(FflLoss<B>),
    Fuoli(FuoliLoss<B>),
    WatsonDft { loss: WatsonDftLoss<B>, shift: bool },
    Stft(StftLoss<B>),
    Wiener { loss: WienerLoss<B>, learned: bool },
}

/// The loss terms of one pipeline cell, with their constant matrices built once.
#[derive(Debug, Clone)]
pub struct LossMix<B: Backend> {
    terms: Vec<(&'static str, f64, Term<B>)>,
    kl: KlConfig,
    /// Seeds the per-step random shifts of the Watson-DFT wrapper.
    shift_seed: u64,
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
        let terms = cfg
            .terms
            .iter()
            .enumerate()
            .map(|(i, term)| {
                let built = match term {
                    LossTerm::Bce(_) => Term::Bce,
                    LossTerm::Mse(opts) => Term::Mse(opts.clone()),
                    LossTerm::L1(opts) => Term::L1(opts.clone()),
                    LossTerm::Fft(opts) => {
                        Term::Fft(FftLoss::new(height, width, opts.norm, device))
                    }
                    LossTerm::Ssim(opts) => Term::Ssim(SsimLoss::new(opts, height, width, device)),
                    LossTerm::Ai(opts) => {
                        Term::Ai(AiLoss::new(opts, channels, height, width, device))
                    }
                    LossTerm::WatsonDft(opts) => Term::WatsonDft {
                        loss: WatsonDftLoss::new(opts, channels, height, width, device),
                        shift: opts.shift,
                    },
                    LossTerm::Ffl(opts) => Term::Ffl(FflLoss::new(opts, height, width, device)),
                    LossTerm::Fuoli(opts) => {
                        Term::Fuoli(FuoliLoss::new(opts, height, width, device))
                    }
                    LossTerm::Stft(opts) => Term::Stft(StftLoss::new(opts, height, width, device)),
                    LossTerm::Wiener(opts) => Term::Wiener {
                        loss: WienerLoss::new(opts, height, width, device),
                        learned: opts.kernel == WienerKernel::Learned,
                    },
                };
                (term.name(), cfg.effective_weight(i), built)
            })
            .collect();
        LossMix {
            terms,
            kl: cfg.kl.clone(),
            shift_seed: seed ^ 0x5817_f7ed,
        }
    }

    /// Names of the reconstruction terms, in order (for log columns).
    pub fn term_names(&self) -> Vec<&'static str> {
        self.terms.iter().map(|(name, _, _)| *name).collect()
    }

    /// The random crop offset of step `step` for shift-wrapped terms: a function
    /// of the seed and the step only, so a resumed run draws the same shifts.
    fn shift_for_step(&self, step: u64) -> (usize, usize) {
        let mut rng = Pcg64::seed_from_u64(self.shift_seed ^ step.wrapping_mul(0x9e37_79b9));
        (rng.random_range(0..8), rng.random_range(0..8))
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
        let recon = burn::tensor::activation::sigmoid(out.logits.clone());
        let mut values = Vec::with_capacity(self.terms.len());
        for (name, weight, term) in &self.terms {
            let (r, t) = (recon.clone(), target.clone());
            let value = match term {
                Term::Bce => bce_mean(out.logits.clone(), t),
                Term::Mse(o) => match o.sigma_mode {
                    SigmaMode::Fixed => mse(r, t, o.sigma, o.reduction),
                    SigmaMode::Optimal => mse_optimal_sigma(r, t, o.reduction),
                    SigmaMode::Learned => {
                        let log_sigma = params
                            .log_sigma()
                            .expect("learned sigma without its parameter");
                        mse_learned_sigma(r, t, log_sigma, o.reduction)
                    }
                },
                Term::L1(o) => l1(r, t, o.reduction),
                Term::Fft(fft) => fft.forward(r, t),
                Term::Ssim(ssim) => ssim.forward(r, t),
                Term::Stft(stft) => stft.forward(r, t),
                Term::Ai(ai) => ai.forward(r, t),
                Term::WatsonDft { loss, shift } => {
                    loss.forward(r, t, shift.then(|| self.shift_for_step(step)))
                }
                Term::Ffl(ffl) => ffl.forward(r, t),
                Term::Fuoli(fuoli) => fuoli.forward(r, t),
                Term::Wiener { loss, learned } => {
                    let kernels = self.kernels(*learned, params, out);
                    loss.forward(r, t, kernels)
                }
            };
            total = total + value.clone().mul_scalar(*weight);
            values.push((*name, value));
        }
        LossValues {
            total,
            terms: values,
            kl,
        }
    }

    /// Per-image kernels from G(z) for a learned-kernel term, else the fixed one.
    fn kernels(
        &self,
        learned: bool,
        params: &LossParams<B>,
        out: &VaeOutput<B>,
    ) -> Option<Tensor<B, 4>> {
        let head = params.kernel_head.as_ref().filter(|_| learned)?;
        Some(head.forward(out.z.clone()))
    }

    /// The objective of the kernel head's half of the alternation: the weighted
    /// learned-kernel Wiener terms with the VAE's outputs detached, so only G gets
    /// gradients. `None` when no term learns a kernel.
    pub fn kernel_objective(
        &self,
        out: &VaeOutput<B>,
        target: Tensor<B, 4>,
        params: &LossParams<B>,
    ) -> Option<Tensor<B, 1>> {
        let head = params.kernel_head.as_ref()?;
        let recon = burn::tensor::activation::sigmoid(out.logits.clone()).detach();
        let kernels = head.forward(out.z.clone().detach());
        self.terms
            .iter()
            .filter_map(|(_, weight, term)| match term {
                Term::Wiener {
                    loss,
                    learned: true,
                } => Some(
                    loss.forward(recon.clone(), target.clone(), Some(kernels.clone()))
                        .mul_scalar(*weight),
                ),
                _ => None,
            })
            .reduce(|a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use crate::data::shapes;
    use crate::pipeline::load::load_pipeline_str;
    use crate::progress::Progress;
    use crate::train::train;

    /// A short training run with each term alone lowers that term's loss.
    #[test]
    fn a_short_run_with_each_term_lowers_it() {
        let data = shapes::generate(64, 32, 1, None, 1);
        let mut failures = vec![];
        for term in [
            "{bce: {}}",
            "{mse: {}}",
            "{mse: {sigma_mode: optimal}}",
            "{mse: {sigma_mode: learned, reduction: sum_per_image}}",
            "{l1: {}}",
            "{fft: {}}",
            "{ssim: {}}",
            "{ssim: {variant: zero_padded}}",
            "{ai: {}}",
            "{watson_dft: {}}",
            "{ffl: {}}",
            "{fuoli: {}}",
            "{stft: {}}",
            "{stft: {mode: code_rows, hann: false}}",
            "{wiener: {log_det: false}}",
            "{wiener: {kernel: learned}}",
        ] {
            // SSIM is badly conditioned on the mostly black Shape images (the
            // luminance term's gradient is ~C1 / mu^2 while the reconstruction is
            // grey), so it gets more steps; plain gradient descent on the pixels
            // lowers it steadily, it is only slow through the network.
            let epochs = if term.starts_with("{ssim") { 24 } else { 6 };
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
            // Likelihood terms can be negative, so the drop is relative to |first|;
            // 5% is well above step-to-step noise for every term.
            if last >= first - 0.05 * first.abs() {
                failures.push(format!("{term}: {first} -> {last}"));
            }
        }
        assert!(
            failures.is_empty(),
            "terms that did not go down: {failures:#?}"
        );
    }
}
