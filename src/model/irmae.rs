//! The networks of the papers, layer for layer (EXPERIMENTS.md §1): IRMAE's Shape,
//! MNIST and CelebA VAEs and Dalal's 28x28 MNIST VAE. Each is an [`Encoder`] and a
//! [`Decoder`] built from a short table in [`EncoderLayout`] / [`DecoderLayout`].
//!
//! The decoders return logits; the sigmoid of the published nets is applied by
//! the caller (losses use the stable logit form of BCE).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

use super::upsampler::{BaselineConvT, Upsample2x};
use crate::pipeline::schema::{Arch, ModelSpec, ReplaceLayer, UpsamplerName};

/// The encoder of one architecture: strided convs + ReLU, then a head to 2n.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderLayout {
    /// Channels from the image to the last conv.
    pub widths: Vec<usize>,
    /// Kernel, stride and padding of every conv.
    pub conv: (usize, usize, usize),
    /// Shape net: a k x k conv head (kernel) instead of a linear head.
    pub head_conv_kernel: Option<usize>,
    /// Features after flattening (linear head input).
    pub flat: usize,
}

/// The decoder of one architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderLayout {
    /// Shape net: ConvT(n -> first width, k2) on z as n x 1 x 1, + ReLU.
    pub input_convt: bool,
    /// Otherwise Linear(n -> C0*S*S) reshaped to (C0, S, S).
    pub input_shape: [usize; 3],
    /// Whether a ReLU follows the input layer.
    pub input_relu: bool,
    /// Channels through the stride-2 stages (first = input channels).
    pub widths: Vec<usize>,
    /// Geometry of the published stride-2 transposed convs.
    pub baseline: BaselineConvT,
    /// Output layer after the last stage: (kernel, padding) of a stride-1 ConvT, or
    /// None when the last stage produces the image (Shape).
    pub output: Option<(usize, usize)>,
}

/// The layer tables of `arch` for `channels` image channels.
pub fn layouts(arch: Arch, channels: usize) -> (EncoderLayout, DecoderLayout) {
    let irmae_convt = BaselineConvT {
        kernel: 4,
        padding: 1,
        output_padding: 0,
    };
    match arch {
        Arch::IrmaeMnist => (
            EncoderLayout {
                widths: vec![channels, 32, 64, 128, 256],
                conv: (4, 2, 1),
                head_conv_kernel: None,
                flat: 256 * 2 * 2,
            },
            DecoderLayout {
                input_convt: false,
                input_shape: [128, 8, 8],
                input_relu: true,
                widths: vec![128, 64, 32],
                baseline: irmae_convt,
                output: Some((1, 0)),
            },
        ),
        Arch::IrmaeCeleba => (
            EncoderLayout {
                widths: vec![channels, 128, 256, 512, 1024],
                conv: (4, 2, 1),
                head_conv_kernel: None,
                flat: 1024 * 4 * 4,
            },
            DecoderLayout {
                input_convt: false,
                input_shape: [1024, 8, 8],
                input_relu: false,
                widths: vec![1024, 512, 256, 128],
                baseline: irmae_convt,
                output: Some((1, 0)),
            },
        ),
        Arch::DalalMnist => (
            EncoderLayout {
                widths: vec![channels, 32, 64],
                conv: (3, 2, 0),
                head_conv_kernel: None,
                flat: 64 * 6 * 6,
            },
            DecoderLayout {
                input_convt: false,
                input_shape: [32, 7, 7],
                input_relu: true,
                widths: vec![32, 64, 32],
                // Keras 'same' stride-2 k3 transposed conv = PyTorch p1, output_padding 1.
                baseline: BaselineConvT {
                    kernel: 3,
                    padding: 1,
                    output_padding: 1,
                },
                output: Some((3, 1)),
            },
        ),
        // IrmaeShape (Auto never reaches here: the resolver replaces it).
        _ => (
            EncoderLayout {
                widths: vec![channels, 32, 64, 128, 256],
                conv: (4, 2, 1),
                head_conv_kernel: Some(2),
                flat: 256,
            },
            DecoderLayout {
                input_convt: true,
                input_shape: [256, 2, 2],
                input_relu: true,
                widths: vec![256, 128, 64, 32, channels],
                baseline: irmae_convt,
                output: None,
            },
        ),
    }
}

/// Encoder: strided convs + ReLU, then a head giving 2n numbers (first n = mu,
/// last n = log sigma^2).
#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    convs: Vec<Conv2d<B>>,
    /// Shape net: Conv(256 -> 2n, k2).
    head_conv: Option<Conv2d<B>>,
    /// Others: flatten then Linear(flat -> 2n). (Keras flattens NHWC, we flatten
    /// NCHW: a fixed permutation of the same function class.)
    head_linear: Option<Linear<B>>,
}

impl<B: Backend> Encoder<B> {
    /// Builds the encoder of `spec`.
    pub fn new(spec: &ModelSpec, device: &B::Device) -> Self {
        let (layout, _) = layouts(spec.arch, spec.channels as usize);
        let n = spec.latent as usize;
        let (k, s, p) = layout.conv;
        let convs = layout
            .widths
            .windows(2)
            .map(|w| {
                Conv2dConfig::new([w[0], w[1]], [k, k])
                    .with_stride([s, s])
                    .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                    .init(device)
            })
            .collect();
        let last = *layout.widths.last().expect("widths");
        let (head_conv, head_linear) = match layout.head_conv_kernel {
            Some(k) => (
                Some(Conv2dConfig::new([last, 2 * n], [k, k]).init(device)),
                None,
            ),
            None => (
                None,
                Some(LinearConfig::new(layout.flat, 2 * n).init(device)),
            ),
        };
        Encoder {
            convs,
            head_conv,
            head_linear,
        }
    }

    /// `[B, C, H, W]` -> `[B, 2n]`.
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

/// Decoder: an input layer from z, x2 up-sampling stages, and an output layer
/// giving logits.
#[derive(Module, Debug)]
pub struct Decoder<B: Backend> {
    /// Shape net: ConvT(n -> 256, k2) on z as n x 1 x 1.
    input_convt: Option<ConvTranspose2d<B>>,
    /// Others: Linear(n -> C0*S*S), reshaped.
    input_linear: Option<Linear<B>>,
    /// Stride-2 stages; the last one is the configured up-sampler.
    stages: Vec<Upsample2x<B>>,
    /// Stride-1 output layer (IRMAE MNIST/CelebA 1x1, Dalal 3x3), if kept.
    output: Option<ConvTranspose2d<B>>,
    #[module(skip)]
    input_shape: [usize; 3],
    #[module(skip)]
    input_relu: bool,
    /// Whether the last stage is followed by a ReLU (it is when an output layer follows).
    #[module(skip)]
    last_relu: bool,
}

impl<B: Backend> Decoder<B> {
    /// Builds the decoder of `spec`: the up-sampler replaces the last stride-2
    /// transposed convolution, and with `replace: output` also everything after it
    /// (EXPERIMENTS.md §1.4).
    pub fn new(spec: &ModelSpec, device: &B::Device) -> Self {
        let c = spec.channels as usize;
        let n = spec.latent as usize;
        let (_, layout) = layouts(spec.arch, c);
        let [c0, s0, _] = layout.input_shape;
        let (input_convt, input_linear) = if layout.input_convt {
            (
                Some(ConvTranspose2dConfig::new([n, c0], [s0, s0]).init(device)),
                None,
            )
        } else {
            (None, Some(LinearConfig::new(n, c0 * s0 * s0).init(device)))
        };
        let mut widths = layout.widths.clone();
        // With `output`, the last stage maps straight to the image channels.
        let drop_output = spec.replace == ReplaceLayer::Output
            && spec.upsampler != UpsamplerName::Convt
            && layout.output.is_some();
        if drop_output {
            *widths.last_mut().expect("widths") = c;
        }
        let count = widths.len() - 1;
        let stages = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let kind = if i + 1 == count {
                    spec.upsampler
                } else {
                    UpsamplerName::Convt
                };
                Upsample2x::with_baseline(kind, w[0], w[1], layout.baseline, device)
            })
            .collect();
        let output = match layout.output {
            Some((k, p)) if !drop_output => Some(
                ConvTranspose2dConfig::new([*widths.last().expect("widths"), c], [k, k])
                    .with_padding([p, p])
                    .init(device),
            ),
            _ => None,
        };
        Decoder {
            input_convt,
            input_linear,
            last_relu: output.is_some(),
            stages,
            output,
            input_shape: layout.input_shape,
            input_relu: layout.input_relu,
        }
    }

    /// `[B, n]` -> logits `[B, C, H, W]`.
    pub fn forward(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        let [batch, n] = z.dims();
        let [c0, s0, _] = self.input_shape;
        let mut h = match (&self.input_convt, &self.input_linear) {
            (Some(convt), _) => convt.forward(z.reshape([batch, n, 1, 1])),
            (None, Some(linear)) => linear.forward(z).reshape([batch, c0, s0, s0]),
            (None, None) => unreachable!("decoder has an input layer"),
        };
        if self.input_relu {
            h = relu(h);
        }
        let last = self.stages.len() - 1;
        for (i, stage) in self.stages.iter().enumerate() {
            h = stage.forward(h);
            if i < last || self.last_relu {
                h = relu(h);
            }
        }
        match &self.output {
            Some(output) => output.forward(h),
            None => h,
        }
    }
}
