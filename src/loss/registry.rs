//! The list of reconstruction terms: the one place a term is named outside its
//! own file.
//!
//! `loss.terms` in a pipeline file is a list of one-key maps (`{ffl: {...}}`),
//! which serde reads as an externally tagged enum; an enum needs its variants
//! spelled out, so the list below is a macro that writes the enum [`LossTerm`]
//! and the few dispatching methods from one line per term. Everything about a
//! term lives in its file (see [`super::term`]); to add one, write the file and
//! add its line here.

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::term::{Domain, ImageShape, LearnedParameter, TermLoss, TermOptions};
use crate::pipeline::schema::ConfigIssue;

/// Writes [`LossTerm`] (one variant per term, named as the term's snake_case key)
/// and its dispatch to each variant's [`TermOptions`].
macro_rules! loss_terms {
    ($($(#[$doc:meta])* $variant:ident($options:ty),)*) => {
        /// One reconstruction term as written in `loss.terms`, e.g.
        /// `{bce: {weight: 0.5}}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        pub enum LossTerm {
            $($(#[$doc])* $variant($options),)*
        }

        impl LossTerm {
            /// Every registered term with its default options, in registry order.
            pub fn all_defaults() -> Vec<LossTerm> {
                vec![$(LossTerm::$variant(<$options>::default()),)*]
            }

            /// The term's name as written in the file.
            pub fn name(&self) -> &'static str {
                match self { $(LossTerm::$variant(_) => <$options as TermOptions>::NAME,)* }
            }

            /// Spatial or frequency (its factor under `loss.alpha`).
            pub fn domain(&self) -> Domain {
                match self { $(LossTerm::$variant(_) => <$options as TermOptions>::DOMAIN,)* }
            }

            /// Version of the term's code (part of the train keys).
            pub fn version(&self) -> u32 {
                match self { $(LossTerm::$variant(_) => <$options as TermOptions>::VERSION,)* }
            }

            /// One line on what the term computes.
            pub fn summary(&self) -> &'static str {
                match self { $(LossTerm::$variant(_) => <$options as TermOptions>::SUMMARY,)* }
            }

            /// The term's own weight.
            pub fn weight(&self) -> f64 {
                match self { $(LossTerm::$variant(o) => o.weight(),)* }
            }

            /// Checks the options against the image size (see [`TermOptions::check`]).
            pub fn check(&self, image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
                match self { $(LossTerm::$variant(o) => o.check(image, at),)* }
            }

            /// The trainable parameter the options ask for, if any.
            pub fn learned_parameter(&self) -> Option<(LearnedParameter, &'static str)> {
                match self { $(LossTerm::$variant(o) => o.learned_parameter(),)* }
            }

            /// Builds the term for images of `image`.
            pub fn build<B: Backend>(
                &self,
                image: ImageShape,
                device: &B::Device,
            ) -> Box<dyn TermLoss<B>> {
                match self { $(LossTerm::$variant(o) => o.build::<B>(image, device),)* }
            }
        }
    };
}

loss_terms! {
    /// Binary cross-entropy.
    Bce(super::bce::BceTerm),
    /// Gaussian likelihood / MSE.
    Mse(super::mse::MseTerm),
    /// L1 / Laplace likelihood.
    L1(super::l1::L1Term),
    /// Björk's 2-D FFT agreement.
    Fft(super::fft::FftTerm),
    /// 1 - SSIM.
    Ssim(super::ssim::SsimTerm),
    /// Durall's azimuthal-integration spectrum loss.
    Ai(super::ai::AiTerm),
    /// Czolbe's Watson-DFT perceptual loss.
    WatsonDft(super::watson::WatsonDftTerm),
    /// Focal frequency loss.
    Ffl(super::ffl::FflTerm),
    /// Fuoli's amplitude + phase Fourier loss.
    Fuoli(super::fuoli::FuoliTerm),
    /// Dalal's short-time Fourier loss.
    Stft(super::stft::StftTerm),
    /// Bredell's Wiener-weighted likelihood.
    Wiener(super::wiener::WienerTerm),
    /// Amplitude-only spectral L1 (the example of docs/extending.md).
    SpectralL1(super::spectral_l1::SpectralL1Term),
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Tensor, TensorData};

    use super::*;
    use crate::loss::params::LossParams;
    use crate::loss::term::TermInput;
    use crate::loss::testing::{scalar, Ad};
    use crate::model::vae::VaeOutput;
    use crate::pipeline::schema::LossConfig;

    /// Each term's `NAME` is the key serde reads and writes for its variant.
    #[test]
    fn every_term_is_written_under_its_name() {
        for term in LossTerm::all_defaults() {
            let written = serde_json::to_value(&term).unwrap();
            let keys: Vec<&String> = written.as_object().unwrap().keys().collect();
            assert_eq!(keys, [term.name()], "{term:?}");
            let read: LossTerm = serde_json::from_value(written).unwrap();
            assert_eq!(read, term);
        }
    }

    /// Names are unique (a copied file whose NAME was not changed is caught).
    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = LossTerm::all_defaults().iter().map(|t| t.name()).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    /// Deterministic values in [0, 1), independent of any backend's generator.
    fn uniform(n: usize, seed: u64) -> Vec<f32> {
        crate::spectral::dft::test_values(seed, n)
            .into_iter()
            .map(|v| v as f32)
            .collect()
    }

    fn tensor(values: Vec<f32>, shape: [usize; 4]) -> Tensor<Ad, 4> {
        Tensor::from_data(TensorData::new(values, shape), &Default::default())
    }

    /// The term's value and its gradient with respect to the logits, evaluated as
    /// training does (reconstruction = sigmoid(logits)).
    fn value_and_gradient(
        term: &LossTerm,
        logits: &[f32],
        target: &[f32],
        shape: [usize; 4],
    ) -> (f64, Vec<f32>) {
        let device = Default::default();
        let image = ImageShape {
            channels: shape[1],
            height: shape[2],
            width: shape[3],
        };
        let cfg = LossConfig {
            terms: vec![term.clone()],
            ..LossConfig::default()
        };
        let latent = 2;
        let params = LossParams::<Ad>::new(&cfg, latent, &device);
        let built = term.build::<Ad>(image, &device);
        let logits = tensor(logits.to_vec(), shape).require_grad();
        let code = Tensor::<Ad, 2>::zeros([shape[0], latent], &device);
        let out = VaeOutput {
            logits: logits.clone(),
            mu: code.clone(),
            logvar: code.clone(),
            z: code,
        };
        let recon = burn::tensor::activation::sigmoid(logits.clone());
        let target = tensor(target.to_vec(), shape);
        let value = built.forward(&TermInput {
            out: &out,
            recon: &recon,
            target: &target,
            params: &params,
            step: 3,
            seed: 0,
        });
        let grads = value.backward();
        let gradient = logits
            .grad(&grads)
            .map(|g| g.into_data().to_vec::<f32>().unwrap())
            .unwrap_or_else(|| vec![0.0; logits.dims().iter().product()]);
        (scalar(value), gradient)
    }

    /// The image shapes every term is tried on, where its checks accept them.
    const SHAPES: [[usize; 4]; 2] = [[2, 1, 32, 32], [2, 3, 32, 32]];

    fn accepted(term: &LossTerm, shape: [usize; 4]) -> bool {
        let image = ImageShape {
            channels: shape[1],
            height: shape[2],
            width: shape[3],
        };
        term.check(image, "t").is_ok()
    }

    /// Every term's value and gradient stay finite on the hard cases: all-zero
    /// images, constant images, a perfect reconstruction, saturated logits.
    #[test]
    fn every_term_is_finite_on_the_robustness_cases() {
        let mut failures = vec![];
        for term in LossTerm::all_defaults() {
            for shape in SHAPES.into_iter().filter(|s| accepted(&term, *s)) {
                let n: usize = shape.iter().product();
                let noise = uniform(n, 7);
                let perfect: Vec<f32> = noise.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect();
                let binary: Vec<f32> = noise.iter().map(|&x| (x > 0.5) as u8 as f32).collect();
                let saturated: Vec<f32> = binary.iter().map(|&b| 60.0 * b - 30.0).collect();
                let cases = [
                    ("zeros", vec![-30.0; n], vec![0.0; n]),
                    ("constant", vec![0.0; n], vec![0.5; n]),
                    ("perfect", noise.clone(), perfect),
                    ("saturated", saturated, binary),
                ];
                for (case, logits, target) in cases {
                    let (value, gradient) = value_and_gradient(&term, &logits, &target, shape);
                    if !value.is_finite() || gradient.iter().any(|g| !g.is_finite()) {
                        failures.push(format!("{} {shape:?} {case}: {value}", term.name()));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    /// Every term's autodiff gradient is non-zero and a descent direction, and
    /// does not understate the slope: with `h` a small step along -g/|g|,
    /// (L(x) - L(x - h g/|g|)) / h <= 1.25 |g|. This catches a term whose output
    /// does not depend on the reconstruction or a path dropped from its graph.
    /// The slope may be smaller than |g|: the focal frequency loss treats its
    /// weights as constants and Fuoli's raw phase difference has kinks, so the
    /// exact comparison with finite differences of an f64 reference lives in each
    /// term's own tests.
    #[test]
    fn every_term_descends_along_its_gradient() {
        let mut failures = vec![];
        for term in LossTerm::all_defaults() {
            for shape in SHAPES.into_iter().filter(|s| accepted(&term, *s)) {
                let n: usize = shape.iter().product();
                let logits: Vec<f32> = uniform(n, 1).iter().map(|x| 4.0 * x - 2.0).collect();
                let target = uniform(n, 2);
                let (value, gradient) = value_and_gradient(&term, &logits, &target, shape);
                let norm = gradient
                    .iter()
                    .map(|g| (*g as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                if norm == 0.0 {
                    failures.push(format!("{} {shape:?}: zero gradient", term.name()));
                    continue;
                }
                let h = 1e-2;
                let stepped: Vec<f32> = logits
                    .iter()
                    .zip(&gradient)
                    .map(|(x, g)| x - (h * *g as f64 / norm) as f32)
                    .collect();
                let (lower, _) = value_and_gradient(&term, &stepped, &target, shape);
                let slope = (value - lower) / h;
                let ratio = slope / norm;
                if lower >= value || ratio > 1.25 {
                    failures.push(format!(
                        "{} {shape:?}: value {value}, after the step {lower}, slope {slope} vs |g| {norm} (ratio {ratio})",
                        term.name()
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
