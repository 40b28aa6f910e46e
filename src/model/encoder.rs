//! The encoder q(z | x): strided convs + ReLU, then a head to 2n numbers, built
//! from an [`EncoderLayout`].

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

use super::layout::{layouts, EncoderHead, EncoderLayout};
use crate::pipeline::schema::ModelSpec;

/// Encoder: strided convs + ReLU, then a head giving 2n numbers (first n = mu,
/// last n = log sigma^2).
#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    /// The convs, each followed by a ReLU.
    convs: Vec<Conv2d<B>>,
    /// IRMAE Shape: Conv(256 -> 2n, k2) on the 2x2 map.
    head_conv: Option<Conv2d<B>>,
    /// The others: flatten (channel-first) then Linear(flat -> 2n).
    head_linear: Option<Linear<B>>,
}

impl<B: Backend> Encoder<B> {
    /// Builds the encoder of `spec` (docs/methods.md#networks).
    pub fn new(spec: &ModelSpec, device: &B::Device) -> Self {
        let (layout, _) = layouts(spec.arch, spec.channels as usize);
        Self::from_layout(&layout, spec.latent as usize, device)
    }

    /// Builds the encoder of `layout` for latent size `n`.
    pub fn from_layout(layout: &EncoderLayout, n: usize, device: &B::Device) -> Self {
        let g = layout.conv;
        let p = g.padding;
        let convs = layout
            .widths
            .windows(2)
            .map(|w| {
                Conv2dConfig::new([w[0], w[1]], [g.kernel, g.kernel])
                    .with_stride([g.stride, g.stride])
                    .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                    .init(device)
            })
            .collect();
        let last = *layout.widths.last().expect("an encoder has widths");
        let (head_conv, head_linear) = match layout.head {
            EncoderHead::Conv { kernel } => (
                Some(Conv2dConfig::new([last, 2 * n], [kernel, kernel]).init(device)),
                None,
            ),
            EncoderHead::Linear { flat } => {
                (None, Some(LinearConfig::new(flat, 2 * n).init(device)))
            }
        };
        Encoder {
            convs,
            head_conv,
            head_linear,
        }
    }

    /// `[B, C, H, W]` -> `[B, 2n]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let h = self.convs.iter().fold(x, |h, conv| relu(conv.forward(h)));
        let batch = h.dims()[0];
        match (&self.head_conv, &self.head_linear) {
            (Some(conv), _) => conv.forward(h).reshape([batch as i32, -1]),
            (None, Some(linear)) => linear.forward(h.reshape([batch as i32, -1])),
            (None, None) => unreachable!("an encoder has a head"),
        }
    }
}
