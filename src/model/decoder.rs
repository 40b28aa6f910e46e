//! The decoder p(x | z), built from a [`DecoderLayout`] with the configured
//! up-sampler in place of its last stride-2 transposed conv (docs/methods.md#up-samplers).
//!
//! It returns logits: the published nets' final sigmoid (IRMAE) is applied by the
//! losses. Dalal's net has no output activation and his losses and metrics read
//! the raw output; that is a loss-side choice, the network is the same.

use burn::module::Module;
use burn::nn::conv::ConvTranspose2d;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

use super::layout::{layouts, ConvGeometry, DecoderInput, DecoderLayout};
use super::upsampler::{conv_transpose, Upsample2x};
use crate::pipeline::schema::{ConvtAlignment, ModelSpec, ReplaceLayer, UpsamplerName};

/// Decoder: an input layer from z, x2 up-sampling stages, and an optional output
/// layer; returns logits.
#[derive(Module, Debug)]
pub struct Decoder<B: Backend> {
    /// IRMAE Shape: ConvT(n -> 256, k2) on z as n x 1 x 1.
    input_convt: Option<ConvTranspose2d<B>>,
    /// The others: Linear(n -> C0*S*S), reshaped to C0 x S x S.
    input_linear: Option<Linear<B>>,
    /// The stride-2 stages; the last one is the configured up-sampler.
    stages: Vec<Upsample2x<B>>,
    /// Stride-1 output layer (IRMAE MNIST/CelebA 1x1, Dalal 3x3), if kept.
    output: Option<ConvTranspose2d<B>>,
    /// C0, S, S of the input layer's map.
    #[module(skip)]
    input_shape: [usize; 3],
    /// Whether a ReLU follows the input layer.
    #[module(skip)]
    input_relu: bool,
    /// Whether a ReLU follows the last stage (it does when an output layer follows).
    #[module(skip)]
    last_relu: bool,
}

impl<B: Backend> Decoder<B> {
    /// Builds the decoder of `spec`.
    pub fn new(spec: &ModelSpec, device: &B::Device) -> Self {
        let (_, layout) = layouts(spec.arch, spec.channels as usize);
        Self::from_layout(
            &layout,
            spec.latent as usize,
            spec.channels as usize,
            spec.upsampler,
            spec.replace,
            spec.convt_alignment,
            device,
        )
    }

    /// Builds the decoder of `layout` for latent size `n` and `channels` image
    /// channels. The up-sampler `kind` replaces the last stride-2 transposed conv:
    ///
    /// - [`ReplaceLayer::LastStride2`]: only that layer; its ReLU and the output
    ///   layer stay (MNIST: ConvT(64->32) becomes `kind`(64->32) + ReLU, then the 1x1).
    /// - [`ReplaceLayer::Output`]: that layer and everything after it become one
    ///   `kind`(d -> channels) with nothing after it (MNIST: `kind`(64->1)).
    ///
    /// The two agree when the last stride-2 layer is the output layer (IRMAE
    /// Shape), and with `kind` = `convt` the network is the published one either way.
    ///
    /// `alignment` places the output grid of the stride-2 3x3 transposed convs
    /// (docs/methods.md#convt-alignment); it must be `pytorch` for other geometries.
    pub fn from_layout(
        layout: &DecoderLayout,
        n: usize,
        channels: usize,
        kind: UpsamplerName,
        replace: ReplaceLayer,
        alignment: ConvtAlignment,
        device: &B::Device,
    ) -> Self {
        let input_shape = layout.input.shape();
        let (input_convt, input_linear) = match layout.input {
            DecoderInput::ConvT { channels: c0, side } => (
                Some(conv_transpose(n, c0, ConvGeometry::new(side, 1, 0), device)),
                None,
            ),
            DecoderInput::Linear { channels: c0, side } => (
                None,
                Some(LinearConfig::new(n, c0 * side * side).init(device)),
            ),
        };
        let drop_output = replace == ReplaceLayer::Output
            && kind != UpsamplerName::CONVT
            && layout.output.is_some();
        let mut widths = layout.widths.clone();
        if drop_output {
            *widths.last_mut().expect("a decoder has widths") = channels;
        }
        let last = widths.len() - 2;
        let stages = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let stage_kind = if i == last {
                    kind
                } else {
                    UpsamplerName::CONVT
                };
                Upsample2x::with_baseline(stage_kind, w[0], w[1], layout.stride2, alignment, device)
            })
            .collect();
        let output = match layout.output {
            Some(g) if !drop_output => {
                let d = *widths.last().expect("a decoder has widths");
                Some(conv_transpose(d, channels, g, device))
            }
            _ => None,
        };
        Decoder {
            input_convt,
            input_linear,
            stages,
            last_relu: output.is_some(),
            output,
            input_shape,
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
            (None, None) => unreachable!("a decoder has an input layer"),
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

    /// Whether a ReLU follows the last up-sampling stage (true exactly when an
    /// output layer follows it).
    pub fn relu_after_upsampler(&self) -> bool {
        self.last_relu
    }

    /// Whether the decoder ends in a separate stride-1 output layer.
    pub fn has_output_layer(&self) -> bool {
        self.output.is_some()
    }
}
