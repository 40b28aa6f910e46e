//! The pipeline's loss: sum_i w_i * term_i + beta * KL, where `alpha` (when set)
//! scales spatial terms by (1 - alpha) and frequency terms by alpha.

use burn::tensor::{backend::Backend, Tensor};

use super::bce::bce_mean;
use super::fft::FftLoss;
use super::kl::kl_divergence;
use super::pixel::{l1, mse};
use crate::model::vae::VaeOutput;
use crate::pipeline::schema::{KlConfig, L1Term, LossConfig, LossTerm, MseTerm};

/// One term ready to evaluate.
#[derive(Debug, Clone)]
enum Term<B: Backend> {
    Bce,
    Mse(MseTerm),
    L1(L1Term),
    Fft(FftLoss<B>),
}

/// The loss terms of one pipeline cell, with their constant matrices built once.
#[derive(Debug, Clone)]
pub struct LossMix<B: Backend> {
    terms: Vec<(&'static str, f64, Term<B>)>,
    kl: KlConfig,
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
    /// Builds the mix for images of `height` x `width`.
    pub fn new(cfg: &LossConfig, height: usize, width: usize, device: &B::Device) -> Self {
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
                    other => todo!("loss term {} is not wired yet", other.name()),
                };
                (term.name(), cfg.effective_weight(i), built)
            })
            .collect();
        LossMix {
            terms,
            kl: cfg.kl.clone(),
        }
    }

    /// Names of the reconstruction terms, in order (for log columns).
    pub fn term_names(&self) -> Vec<&'static str> {
        self.terms.iter().map(|(name, _, _)| *name).collect()
    }

    /// Evaluates every term on a forward pass against `target` (pixel values).
    pub fn compute(&self, out: &VaeOutput<B>, target: Tensor<B, 4>) -> LossValues<B> {
        let kl = kl_divergence(out.mu.clone(), out.logvar.clone(), self.kl.convention);
        let mut total = kl.clone().mul_scalar(self.kl.beta);
        let recon = burn::tensor::activation::sigmoid(out.logits.clone());
        let mut values = Vec::with_capacity(self.terms.len());
        for (name, weight, term) in &self.terms {
            let value = match term {
                Term::Bce => bce_mean(out.logits.clone(), target.clone()),
                Term::Mse(o) => mse(recon.clone(), target.clone(), o.sigma, o.reduction),
                Term::L1(o) => l1(recon.clone(), target.clone(), o.reduction),
                Term::Fft(fft) => fft.forward(recon.clone(), target.clone()),
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
        for term in ["{bce: {}}", "{mse: {}}", "{l1: {}}", "{fft: {}}"] {
            let text = format!(
                "dataset: {{name: shapes}}\nmodel: {{latent: 16}}\n\
                 train: {{epochs: 6, batch: 16, optimizer: {{adam: {{lr: 1.0e-3}}}}}}\n\
                 loss: {{terms: [{term}]}}\n"
            );
            let loaded = load_pipeline_str(std::path::Path::new("t.yaml"), &text, &[]).unwrap();
            let cfg = &loaded.cells[0].config;
            let dir = tempfile::tempdir().unwrap();
            train(cfg, &data, dir.path(), "test", &Progress::new(false)).unwrap();
            let log = std::fs::read_to_string(dir.path().join("train_log.csv")).unwrap();
            // Column 3 is the (only) term's own value.
            let values: Vec<f64> = log
                .lines()
                .skip(1)
                .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
                .collect();
            let (first, last) = (values[0], *values.last().unwrap());
            assert!(last < 0.9 * first, "{term}: {first} -> {last}");
        }
    }
}
