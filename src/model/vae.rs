//! The VAE: encoder to (mu, log sigma^2), reparameterised sample, decoder.

use std::sync::Mutex;

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

use super::init::{keras_init, materialize};
use super::irmae::{Decoder, Encoder};
use crate::pipeline::schema::{InitScheme, ModelSpec};

/// Backend RNG seeding and weight initialisation are process-global in burn: every
/// model construction takes this lock, so a seeded one is never interleaved with
/// another thread's draws.
static MODEL_RNG: Mutex<()> = Mutex::new(());

/// A variational auto-encoder made of an IRMAE encoder and decoder.
#[derive(Module, Debug)]
pub struct Vae<B: Backend> {
    /// q(z | x).
    pub encoder: Encoder<B>,
    /// p(x | z), as logits.
    pub decoder: Decoder<B>,
    #[module(skip)]
    latent: usize,
}

/// What one forward pass produces.
#[derive(Debug, Clone)]
pub struct VaeOutput<B: Backend> {
    /// Decoder logits `[B, C, H, W]`.
    pub logits: Tensor<B, 4>,
    /// Posterior mean `[B, n]`.
    pub mu: Tensor<B, 2>,
    /// Posterior log-variance `[B, n]`.
    pub logvar: Tensor<B, 2>,
}

impl<B: Backend> Vae<B> {
    /// Builds the networks of `spec`, drawing initial weights from the backend's
    /// global RNG.
    pub fn new(spec: &ModelSpec, device: &B::Device) -> Self {
        let _guard = MODEL_RNG.lock().unwrap_or_else(|e| e.into_inner());
        Self::build(spec, device)
    }

    /// Builds the networks of `spec` with the backend RNG seeded by `seed`: the same
    /// seed gives the same weights, also while other threads build models.
    pub fn seeded(spec: &ModelSpec, seed: u64, device: &B::Device) -> Self {
        let _guard = MODEL_RNG.lock().unwrap_or_else(|e| e.into_inner());
        B::seed(device, seed);
        Self::build(spec, device)
    }

    /// Builds the networks; the caller holds `MODEL_RNG`.
    fn build(spec: &ModelSpec, device: &B::Device) -> Self {
        let vae = Vae {
            encoder: Encoder::new(spec, device),
            decoder: Decoder::new(spec, device),
            latent: spec.latent as usize,
        };
        match spec.init {
            InitScheme::Keras => keras_init(vae),
            // burn's defaults are PyTorch's (see init.rs).
            InitScheme::Pytorch | InitScheme::Auto => materialize(vae),
        }
    }

    /// Latent size n.
    pub fn latent(&self) -> usize {
        self.latent
    }

    /// (mu, logvar) of q(z | x).
    pub fn encode(&self, x: Tensor<B, 4>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let h = self.encoder.forward(x);
        let [b, _] = h.dims();
        let n = self.latent;
        let mu = h.clone().slice([0..b, 0..n]);
        let logvar = h.slice([0..b, n..2 * n]);
        (mu, logvar)
    }

    /// Full pass with z = mu + exp(logvar / 2) * noise; `noise` is `[B, n]` standard
    /// normal, drawn by the caller so that runs are reproducible per node.
    pub fn forward(&self, x: Tensor<B, 4>, noise: Tensor<B, 2>) -> VaeOutput<B> {
        let (mu, logvar) = self.encode(x);
        let z = mu.clone() + (logvar.clone() * 0.5).exp() * noise;
        VaeOutput {
            logits: self.decoder.forward(z),
            mu,
            logvar,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::upsampler::{decompose, double, Doubling};
    use crate::pipeline::schema::{Arch, ReplaceLayer, UpsamplerName as U};
    use crate::spectral::fft::Fft2;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::TensorData;

    const ALL: [U; 13] = [
        U::Convt,
        U::N13,
        U::N15,
        U::N17,
        U::B13,
        U::B15,
        U::B17,
        U::Z13,
        U::Z15,
        U::Z17,
        U::N35,
        U::B35,
        U::Z35,
    ];

    fn spec(
        arch: Arch,
        upsampler: U,
        replace: ReplaceLayer,
        channels: u32,
        latent: u32,
    ) -> ModelSpec {
        let size = match arch {
            Arch::IrmaeCeleba => 64,
            Arch::DalalMnist => 28,
            _ => 32,
        };
        ModelSpec {
            arch,
            latent,
            upsampler,
            replace,
            init: InitScheme::Pytorch,
            channels,
            size,
        }
    }

    /// Parameters of Conv(i -> o, k x k) with bias (also ConvT and Linear with k = 1).
    fn conv(i: usize, o: usize, k: usize) -> usize {
        i * o * k * k + o
    }

    /// Parameters of the up-sampling stage `kind` from i to o channels, where the
    /// network's own transposed conv has kernel `baseline_k`.
    fn up(kind: U, i: usize, o: usize, baseline_k: usize) -> usize {
        match decompose(kind) {
            None => conv(i, o, baseline_k),
            Some((_, 1, k)) => conv(i, o, k),
            Some((_, _, k)) => 2 * conv(i, i, k) + conv(i, o, k),
        }
    }

    /// (encoder, decoder) parameter counts from the layer tables of EXPERIMENTS.md §1,
    /// computed independently of the model code.
    fn expected(arch: Arch, kind: U, replace: ReplaceLayer, c: usize, n: usize) -> (usize, usize) {
        let straight = replace == ReplaceLayer::Output && kind != U::Convt;
        match arch {
            Arch::IrmaeShape => (
                conv(c, 32, 4)
                    + conv(32, 64, 4)
                    + conv(64, 128, 4)
                    + conv(128, 256, 4)
                    + conv(256, 2 * n, 2),
                conv(n, 256, 2)
                    + conv(256, 128, 4)
                    + conv(128, 64, 4)
                    + conv(64, 32, 4)
                    + up(kind, 32, c, 4),
            ),
            Arch::IrmaeMnist => (
                conv(1, 32, 4)
                    + conv(32, 64, 4)
                    + conv(64, 128, 4)
                    + conv(128, 256, 4)
                    + conv(1024, 2 * n, 1),
                conv(n, 8192, 1)
                    + conv(128, 64, 4)
                    + if straight {
                        up(kind, 64, 1, 4)
                    } else {
                        up(kind, 64, 32, 4) + conv(32, 1, 1)
                    },
            ),
            Arch::IrmaeCeleba => (
                conv(3, 128, 4)
                    + conv(128, 256, 4)
                    + conv(256, 512, 4)
                    + conv(512, 1024, 4)
                    + conv(16384, 2 * n, 1),
                conv(n, 65536, 1)
                    + conv(1024, 512, 4)
                    + conv(512, 256, 4)
                    + if straight {
                        up(kind, 256, 3, 4)
                    } else {
                        up(kind, 256, 128, 4) + conv(128, 3, 1)
                    },
            ),
            Arch::DalalMnist => (
                conv(1, 32, 3) + conv(32, 64, 3) + conv(2304, 2 * n, 1),
                conv(n, 1568, 1)
                    + conv(32, 64, 3)
                    + if straight {
                        up(kind, 64, 1, 3)
                    } else {
                        up(kind, 64, 32, 3) + conv(32, 1, 3)
                    },
            ),
            Arch::Auto => unreachable!(),
        }
    }

    /// The reference counts of EXPERIMENTS.md §1 (n = 128; Dalal n = 2).
    #[test]
    fn parameter_counts_match_the_reference_networks() {
        let device = Default::default();
        let last = ReplaceLayer::LastStride2;
        for (arch, up, n, encoder, decoder) in [
            (Arch::IrmaeShape, U::Convt, 128, 951_520, 820_193),
            (Arch::IrmaeShape, U::N15, 128, 951_520, 820_481),
            (Arch::IrmaeMnist, U::Convt, 128, 951_520, 1_220_737),
            (Arch::IrmaeMnist, U::N15, 128, 951_520, 1_239_169),
            (Arch::IrmaeCeleba, U::Convt, 128, 15_212_672, 19_465_475),
            (Arch::IrmaeCeleba, U::N15, 128, 15_212_672, 19_760_387),
            (Arch::DalalMnist, U::Convt, 2, 28_036, 41_953),
        ] {
            let c = if arch == Arch::IrmaeCeleba { 3 } else { 1 };
            let vae = Vae::<Flex>::new(&spec(arch, up, last, c, n), &device);
            assert_eq!(vae.encoder.num_params(), encoder, "{arch:?} {up:?} encoder");
            assert_eq!(vae.decoder.num_params(), decoder, "{arch:?} {up:?} decoder");
        }
    }

    /// Every architecture x up-sampler x placement: counts from the layer arithmetic,
    /// and logits of the image's shape.
    #[test]
    fn every_combination_has_the_right_size_and_shape() {
        let device = Default::default();
        for (arch, c, n) in [
            (Arch::IrmaeShape, 1, 128),
            (Arch::IrmaeShape, 3, 128),
            (Arch::IrmaeMnist, 1, 128),
            (Arch::DalalMnist, 1, 2),
            (Arch::IrmaeCeleba, 3, 8),
        ] {
            for kind in ALL {
                // CelebA nets are large: a sample of the up-samplers is enough there.
                if arch == Arch::IrmaeCeleba && ![U::Convt, U::Z13, U::B15, U::N35].contains(&kind)
                {
                    continue;
                }
                for replace in [ReplaceLayer::LastStride2, ReplaceLayer::Output] {
                    let s = spec(arch, kind, replace, c, n);
                    let vae = Vae::<Flex>::new(&s, &device);
                    let (enc, dec) = expected(arch, kind, replace, c as usize, n as usize);
                    assert_eq!(
                        (vae.encoder.num_params(), vae.decoder.num_params()),
                        (enc, dec),
                        "{arch:?} {kind:?} {replace:?}"
                    );
                    let size = s.size as usize;
                    let x = Tensor::<Flex, 4>::zeros([2, c as usize, size, size], &device);
                    let out = vae.forward(x, Tensor::zeros([2, n as usize], &device));
                    assert_eq!(
                        out.logits.dims(),
                        [2, c as usize, size, size],
                        "{arch:?} {kind:?} {replace:?}"
                    );
                    assert_eq!(out.mu.dims(), [2, n as usize]);
                }
            }
        }
    }

    /// Share of spectral energy outside the central low-frequency quarter.
    fn high_frequency_share(img: &[f32], size: usize) -> f64 {
        let (re, im) = Fft2::new(size, size).forward(img);
        let (mut high, mut total) = (0.0, 0.0);
        for u in 0..size {
            for v in 0..size {
                let e = re[u * size + v].powi(2) + im[u * size + v].powi(2);
                let fu = u.min(size - u);
                let fv = v.min(size - v);
                total += e;
                if fu.max(fv) >= size / 4 {
                    high += e;
                }
            }
        }
        high / total
    }

    /// Zero insertion leaves the spectral replicas in place, nearest damps them,
    /// bilinear damps them most (Chandrasegaran et al.'s motivation).
    #[test]
    fn up_samplers_order_the_high_frequency_energy() {
        let device = Default::default();
        let values = crate::spectral::dft::test_values(7, 16 * 16);
        let x = Tensor::<Flex, 4>::from_data(
            TensorData::new(
                values.iter().map(|v| *v as f32).collect::<Vec<_>>(),
                [1, 1, 16, 16],
            ),
            &device,
        );
        let share = |how| {
            let y = double(x.clone(), how).into_data().to_vec::<f32>().unwrap();
            high_frequency_share(&y, 32)
        };
        let (zero, nearest, bilinear) = (
            share(Doubling::ZeroInsertion),
            share(Doubling::Nearest),
            share(Doubling::Bilinear),
        );
        assert!(
            zero > nearest && nearest > bilinear,
            "zero {zero:.3}, nearest {nearest:.3}, bilinear {bilinear:.3}"
        );
    }

    /// Uniform weights: every |w| within the bound and the largest close to it.
    fn check_bound(values: &[f32], bound: f64, what: &str) {
        let max = values.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
        assert!(
            max <= bound * (1.0 + 1e-6) && max > 0.9 * bound,
            "{what}: max {max} vs bound {bound}"
        );
    }

    #[test]
    fn initialisation_follows_each_framework() {
        let device = Default::default();
        let build = |init, seed| {
            let mut s = spec(Arch::DalalMnist, U::Convt, ReplaceLayer::LastStride2, 1, 2);
            s.init = init;
            Vae::<Flex>::seeded(&s, seed, &device)
        };
        let params = |vae: &Vae<Flex>| -> Vec<(String, Vec<usize>, Vec<f32>)> {
            use burn::store::ModuleSnapshot;
            vae.collect(None, None, false)
                .into_iter()
                .map(|s| {
                    (
                        s.full_path(),
                        s.shape.to_vec(),
                        s.to_data().unwrap().to_vec::<f32>().unwrap(),
                    )
                })
                .collect()
        };
        let keras = params(&build(InitScheme::Keras, 3));
        assert_eq!(
            keras,
            params(&build(InitScheme::Keras, 3)),
            "same seed, same weights"
        );
        for (path, shape, values) in &keras {
            match shape.len() {
                1 => assert!(
                    values.iter().all(|v| *v == 0.0),
                    "{path}: Keras biases are zero"
                ),
                2 => check_bound(values, (6.0 / (shape[0] + shape[1]) as f64).sqrt(), path),
                _ => check_bound(
                    values,
                    (6.0 / ((shape[0] + shape[1]) * shape[2] * shape[3]) as f64).sqrt(),
                    path,
                ),
            }
        }
        // PyTorch: weights and biases uniform in +-1/sqrt(fan_in); for ConvT PyTorch's
        // fan_in is out_channels * k * k (weight dim 1).
        for (path, shape, values) in params(&build(InitScheme::Pytorch, 3)) {
            let fan_in = match (path.as_str(), shape.len()) {
                (p, 2) if p.contains("linear") => shape[0],
                (p, _) if p.contains("stages") || p.contains("output") => continue,
                (_, 4) => shape[1] * shape[2] * shape[3],
                _ => continue,
            };
            check_bound(&values, 1.0 / (fan_in as f64).sqrt(), &path);
        }
    }

    /// The optimizer finds every parameter of the new networks (FRAMEWORK.md pitfall).
    #[test]
    fn gradients_reach_every_parameter() {
        type Ad = Autodiff<Flex>;
        let device = Default::default();
        for (arch, c, n, init) in [
            (Arch::DalalMnist, 1, 2, InitScheme::Keras),
            (Arch::DalalMnist, 1, 2, InitScheme::Pytorch),
            (Arch::IrmaeCeleba, 3, 4, InitScheme::Pytorch),
        ] {
            let mut s = spec(arch, U::N15, ReplaceLayer::LastStride2, c, n);
            s.init = init;
            let vae = Vae::<Ad>::new(&s, &device);
            let size = s.size as usize;
            let x = Tensor::<Ad, 4>::ones([1, c as usize, size, size], &device);
            let out = vae.forward(x, Tensor::zeros([1, n as usize], &device));
            let loss =
                out.logits.powi_scalar(2).mean() + out.mu.powi_scalar(2).mean() + out.logvar.mean();
            let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &vae);
            use burn::store::ModuleSnapshot;
            let tensors = vae.collect(None, None, false).len();
            assert_eq!(grads.len(), tensors, "{arch:?}");
        }
    }
}
