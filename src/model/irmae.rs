//! IRMAE's VAE networks (Jing et al.; EXPERIMENTS.md §1.1–1.2), layer for layer.
//!
//! The decoders return logits; the sigmoid of the published nets is applied by
//! the caller (losses use the stable logit form of BCE).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

use super::upsampler::Upsample2x;
use crate::pipeline::schema::{Arch, ModelSpec, UpsamplerName};

/// Conv(k4, s2, p1): the down-sampling step of every IRMAE encoder.
fn down_conv<B: Backend>(cin: usize, cout: usize, device: &B::Device) -> Conv2d<B> {
    Conv2dConfig::new([cin, cout], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// Encoder: four Conv(k4, s2, p1) + ReLU, then a head giving 2n numbers
/// (first n = mu, last n = log sigma^2).
#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    convs: Vec<Conv2d<B>>,
    /// Shape net: Conv(256 -> 2n, k2).
    head_conv: Option<Conv2d<B>>,
    /// MNIST net: flatten then Linear(1024 -> 2n).
    head_linear: Option<Linear<B>>,
}

impl<B: Backend> Encoder<B> {
    /// Builds the encoder of `spec`.
    pub fn new(spec: &ModelSpec, device: &B::Device) -> Self {
        let c = spec.channels as usize;
        let n = spec.latent as usize;
        let widths = [c, 32, 64, 128, 256];
        let convs = widths
            .windows(2)
            .map(|p| down_conv(p[0], p[1], device))
            .collect();
        let (head_conv, head_linear) = match spec.arch {
            Arch::IrmaeMnist => (
                None,
                Some(LinearConfig::new(256 * 2 * 2, 2 * n).init(device)),
            ),
            _ => (
                Some(Conv2dConfig::new([256, 2 * n], [2, 2]).init(device)),
                None,
            ),
        };
        Encoder {
            convs,
            head_conv,
            head_linear,
        }
    }

    /// `[B, C, 32, 32]` -> `[B, 2n]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut h = x;
        for conv in &self.convs {
            h = relu(conv.forward(h));
        }
        let batch = h.dims()[0];
        match (&self.head_conv, &self.head_linear) {
            (Some(conv), _) => conv.forward(h).reshape([batch as i32, -1]),
            (None, Some(linear)) => linear.forward(h.reshape([batch as i32, -1])),
            (None, None) => unreachable!("encoder has a head"),
        }
    }
}

/// Decoder: an input layer from z, x2 up-sampling stages with ReLU, and an output
/// layer giving logits.
#[derive(Module, Debug)]
pub struct Decoder<B: Backend> {
    /// Shape net: ConvT(n -> 256, k2) on z as n x 1 x 1.
    input_convt: Option<ConvTranspose2d<B>>,
    /// MNIST net: Linear(n -> 128*8*8), reshaped, then ReLU.
    input_linear: Option<Linear<B>>,
    /// Stride-2 stages, each followed by ReLU.
    stages: Vec<Upsample2x<B>>,
    /// Shape net: the final stride-2 stage to C channels (no ReLU after it).
    output_upsample: Option<Upsample2x<B>>,
    /// MNIST net: ConvT(32 -> 1, k1) to C channels.
    output_pointwise: Option<ConvTranspose2d<B>>,
}

impl<B: Backend> Decoder<B> {
    /// Builds the decoder of `spec`; the up-sampler replaces the last stride-2
    /// transposed convolution (EXPERIMENTS.md §1.4).
    pub fn new(spec: &ModelSpec, device: &B::Device) -> Self {
        let c = spec.channels as usize;
        let n = spec.latent as usize;
        let convt = UpsamplerName::Convt;
        match spec.arch {
            Arch::IrmaeMnist => Decoder {
                input_convt: None,
                input_linear: Some(LinearConfig::new(n, 128 * 8 * 8).init(device)),
                stages: vec![
                    Upsample2x::new(convt, 128, 64, device),
                    Upsample2x::new(spec.upsampler, 64, 32, device),
                ],
                output_upsample: None,
                output_pointwise: Some(ConvTranspose2dConfig::new([32, c], [1, 1]).init(device)),
            },
            _ => Decoder {
                input_convt: Some(ConvTranspose2dConfig::new([n, 256], [2, 2]).init(device)),
                input_linear: None,
                stages: vec![
                    Upsample2x::new(convt, 256, 128, device),
                    Upsample2x::new(convt, 128, 64, device),
                    Upsample2x::new(convt, 64, 32, device),
                ],
                output_upsample: Some(Upsample2x::new(spec.upsampler, 32, c, device)),
                output_pointwise: None,
            },
        }
    }

    /// `[B, n]` -> logits `[B, C, 32, 32]`.
    pub fn forward(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        let [batch, n] = z.dims();
        let mut h = match (&self.input_convt, &self.input_linear) {
            (Some(convt), _) => relu(convt.forward(z.reshape([batch, n, 1, 1]))),
            (None, Some(linear)) => relu(linear.forward(z).reshape([batch, 128, 8, 8])),
            (None, None) => unreachable!("decoder has an input layer"),
        };
        for stage in &self.stages {
            h = relu(stage.forward(h));
        }
        match (&self.output_upsample, &self.output_pointwise) {
            (Some(up), _) => up.forward(h),
            (None, Some(pointwise)) => pointwise.forward(h),
            (None, None) => unreachable!("decoder has an output layer"),
        }
    }
}
