//! The VAE: encoder to (mu, log sigma^2), reparameterised sample, decoder.

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

use super::irmae::{Decoder, Encoder};
use crate::pipeline::schema::ModelSpec;

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
    /// Builds the networks of `spec` with the backend's (seeded) initialisers.
    pub fn new(spec: &ModelSpec, device: &B::Device) -> Self {
        Vae {
            encoder: Encoder::new(spec, device),
            decoder: Decoder::new(spec, device),
            latent: spec.latent as usize,
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
    use crate::pipeline::schema::{Arch, UpsamplerName};
    use burn::backend::Flex;

    fn spec(arch: Arch, upsampler: UpsamplerName, channels: u32) -> ModelSpec {
        ModelSpec {
            arch,
            latent: 128,
            upsampler,
            replace: crate::pipeline::schema::ReplaceLayer::LastStride2,
            init: crate::pipeline::schema::InitScheme::Pytorch,
            channels,
            size: 32,
        }
    }

    /// Parameter counts of EXPERIMENTS.md §1.1–1.2 (n = 128).
    #[test]
    fn parameter_counts_match_the_reference_networks() {
        let device = Default::default();
        for (arch, up, c, encoder, decoder) in [
            (Arch::IrmaeShape, UpsamplerName::Convt, 1, 951_520, 820_193),
            (Arch::IrmaeShape, UpsamplerName::N15, 1, 951_520, 820_481),
            (
                Arch::IrmaeMnist,
                UpsamplerName::Convt,
                1,
                951_520,
                1_220_737,
            ),
            (Arch::IrmaeMnist, UpsamplerName::N15, 1, 951_520, 1_239_169),
        ] {
            let vae = Vae::<Flex>::new(&spec(arch, up, c), &device);
            assert_eq!(vae.encoder.num_params(), encoder, "{arch:?} {up:?} encoder");
            assert_eq!(vae.decoder.num_params(), decoder, "{arch:?} {up:?} decoder");
        }
    }

    #[test]
    fn shapes_flow_through_every_network() {
        let device = Default::default();
        for (arch, c) in [
            (Arch::IrmaeShape, 1),
            (Arch::IrmaeShape, 3),
            (Arch::IrmaeMnist, 1),
        ] {
            for up in [
                UpsamplerName::Convt,
                UpsamplerName::N13,
                UpsamplerName::N15,
                UpsamplerName::N17,
            ] {
                let vae = Vae::<Flex>::new(&spec(arch, up, c), &device);
                let x = Tensor::<Flex, 4>::zeros([2, c as usize, 32, 32], &device);
                let out = vae.forward(x, Tensor::zeros([2, 128], &device));
                assert_eq!(out.logits.dims(), [2, c as usize, 32, 32]);
                assert_eq!(out.mu.dims(), [2, 128]);
            }
        }
    }
}
