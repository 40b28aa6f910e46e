//! Stride-2 up-sampling stages: the transposed-conv baseline, or an interpolation
//! x2 followed by one "same" convolution (Chandrasegaran et al.'s N.1.z).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{backend::Backend, Tensor};

use crate::pipeline::schema::UpsamplerName;

/// One x2 up-sampling stage from `in_channels` to `out_channels`.
#[derive(Module, Debug)]
pub struct Upsample2x<B: Backend> {
    /// Set for the ConvT(k4, s2, p1) baseline.
    convt: Option<ConvTranspose2d<B>>,
    /// Set for the interpolate-then-convolve variants.
    conv: Option<Conv2d<B>>,
}

impl<B: Backend> Upsample2x<B> {
    /// Builds the stage named `kind`.
    pub fn new(
        kind: UpsamplerName,
        in_channels: usize,
        out_channels: usize,
        device: &B::Device,
    ) -> Self {
        let kernel = match kind {
            UpsamplerName::Convt => {
                let convt = ConvTranspose2dConfig::new([in_channels, out_channels], [4, 4])
                    .with_stride([2, 2])
                    .with_padding([1, 1])
                    .init(device);
                return Upsample2x {
                    convt: Some(convt),
                    conv: None,
                };
            }
            UpsamplerName::N13 => 3,
            UpsamplerName::N15 => 5,
            UpsamplerName::N17 => 7,
        };
        let pad = (kernel - 1) / 2;
        let conv = Conv2dConfig::new([in_channels, out_channels], [kernel, kernel])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .init(device);
        Upsample2x {
            convt: None,
            conv: Some(conv),
        }
    }

    /// `[B, C_in, H, W]` -> `[B, C_out, 2H, 2W]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if let Some(convt) = &self.convt {
            return convt.forward(x);
        }
        let [_, _, h, w] = x.dims();
        let up = interpolate(
            x,
            [2 * h, 2 * w],
            InterpolateOptions::new(InterpolateMode::Nearest),
        );
        self.conv
            .as_ref()
            .expect("an up-sampler has a convT or a conv")
            .forward(up)
    }
}
