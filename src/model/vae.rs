//! The VAE: encoder to (mu, log sigma^2), reparameterised sample, decoder.

use std::sync::Mutex;

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

use super::decoder::Decoder;
use super::encoder::Encoder;
use super::init::{keras_init, materialize};
use crate::pipeline::schema::{Arch, InitScheme, ModelSpec};

/// Backend RNG seeding and weight initialisation are process-global in burn: every
/// model construction takes this lock, so a seeded one is never interleaved with
/// another thread's draws.
static MODEL_RNG: Mutex<()> = Mutex::new(());

/// A variational auto-encoder: one of the networks of docs/methods.md#networks with the
/// configured up-sampler and initialisation.
#[derive(Module, Debug)]
pub struct Vae<B: Backend> {
    /// q(z | x).
    pub encoder: Encoder<B>,
    /// p(x | z), as logits.
    pub decoder: Decoder<B>,
    /// Latent size n.
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
    /// The sampled code that was decoded `[B, n]`.
    pub z: Tensor<B, 2>,
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
        // `auto` is resolved before this point; should it get here, it means the
        // reference code's framework, as in the resolver.
        let keras = match spec.init {
            InitScheme::Keras => true,
            InitScheme::Pytorch => false,
            InitScheme::Auto => spec.arch == Arch::DalalMnist,
        };
        if keras {
            keras_init(vae)
        } else {
            // burn's defaults are PyTorch's (see init.rs).
            materialize(vae)
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
            logits: self.decoder.forward(z.clone()),
            mu,
            logvar,
            z,
        }
    }
}
