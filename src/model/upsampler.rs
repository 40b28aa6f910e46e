//! Stride-2 up-sampling stages: the transposed-conv baseline, or an x2
//! up-sampling (nearest, bilinear with align_corners as Chandrasegaran et al., or
//! zero insertion) followed by "same" convolutions (docs/methods.md#up-samplers). Every
//! up-sampler is one line of [`UPSAMPLERS`].

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{backend::Backend, Tensor};

use super::layout::{ConvGeometry, IRMAE_STRIDE2};
use crate::pipeline::named::{named_serde, registry_names, Named};

/// Version of the last-layer up-samplers.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// How an x.y.z up-sampler doubles the resolution before its convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubling {
    /// Nearest neighbour (N).
    Nearest,
    /// Bilinear with align_corners = true (B).
    Bilinear,
    /// Each pixel to (2i, 2j), zeros elsewhere (Z).
    ZeroInsertion,
}

/// An up-sampler as `model.upsampler` names it (`convt`, `n15`, ...), with what
/// it is built of. One entry of [`UPSAMPLERS`]; compares, hashes and
/// (de)serialises by name.
#[derive(Clone, Copy)]
pub struct UpsamplerName {
    name: &'static str,
    /// None for the ConvT baseline, else (doubling, convolutions, kernel size).
    parts: Option<(Doubling, usize, usize)>,
}

impl UpsamplerName {
    /// `convt`: the network's own stride-2 transposed conv, the network as published.
    pub const CONVT: UpsamplerName = UpsamplerName {
        name: "convt",
        parts: None,
    };

    /// x.y.z: x2 up-sampling by `doubling`, then `convs` "same" convolutions of
    /// `kernel` x `kernel` with no activation between them. `name` is the letter
    /// of the doubling (n, b, z), `convs` and `kernel`.
    const fn doubled(
        name: &'static str,
        doubling: Doubling,
        convs: usize,
        kernel: usize,
    ) -> UpsamplerName {
        UpsamplerName {
            name,
            parts: Some((doubling, convs, kernel)),
        }
    }

    /// The up-sampler called `name`, if there is one.
    pub fn named(name: &str) -> Option<UpsamplerName> {
        crate::pipeline::named::by_name(name)
    }
}

/// Every up-sampler (Chandrasegaran et al.'s set): the transposed-conv baseline,
/// then one x2 up-sampling (nearest, bilinear with align_corners, zero insertion)
/// followed by one k x k convolution (x.1.k) or three 5x5 ones (x.3.5). The order
/// is the one error messages list them in.
pub const UPSAMPLERS: &[UpsamplerName] = {
    use Doubling::*;
    use UpsamplerName as U;
    &[
        U::CONVT,
        U::doubled("n13", Nearest, 1, 3),
        // Björk's 'N.1.5'.
        U::doubled("n15", Nearest, 1, 5),
        U::doubled("n17", Nearest, 1, 7),
        U::doubled("b13", Bilinear, 1, 3),
        U::doubled("b15", Bilinear, 1, 5),
        U::doubled("b17", Bilinear, 1, 7),
        U::doubled("z13", ZeroInsertion, 1, 3),
        U::doubled("z15", ZeroInsertion, 1, 5),
        U::doubled("z17", ZeroInsertion, 1, 7),
        U::doubled("n35", Nearest, 3, 5),
        U::doubled("b35", Bilinear, 3, 5),
        U::doubled("z35", ZeroInsertion, 3, 5),
    ]
};

impl Named for UpsamplerName {
    const TYPE: &'static str = "UpsamplerName";

    fn name(&self) -> &'static str {
        self.name
    }

    fn all() -> &'static [UpsamplerName] {
        UPSAMPLERS
    }

    registry_names!();
}

named_serde!(UpsamplerName);

/// The parts of an up-sampler: None for the ConvT baseline, else the doubling,
/// the number of convolutions and their kernel size.
pub fn decompose(kind: UpsamplerName) -> Option<(Doubling, usize, usize)> {
    kind.parts
}

/// Doubles the height and width of `x` (`[B, C, H, W]`).
pub fn double<B: Backend>(x: Tensor<B, 4>, how: Doubling) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    match how {
        Doubling::Nearest => interpolate(
            x,
            [2 * h, 2 * w],
            InterpolateOptions::new(InterpolateMode::Nearest),
        ),
        Doubling::Bilinear => interpolate(
            x,
            [2 * h, 2 * w],
            InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(true),
        ),
        Doubling::ZeroInsertion => {
            // [B,C,H,1,W,1] padded with zeros to [B,C,H,2,W,2]: pixel (i,j) lands on (2i,2j).
            let x = x.reshape([b, c, h, 1, w, 1]);
            let x = Tensor::cat(vec![x.clone(), x.zeros_like()], 5);
            let x = Tensor::cat(vec![x.clone(), x.zeros_like()], 3);
            x.reshape([b, c, 2 * h, 2 * w])
        }
    }
}

/// A "same" convolution with bias.
fn same_conv<B: Backend>(cin: usize, cout: usize, kernel: usize, device: &B::Device) -> Conv2d<B> {
    let pad = (kernel - 1) / 2;
    Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .init(device)
}

/// A transposed convolution with bias, `cin` -> `cout`, of geometry `g`.
pub fn conv_transpose<B: Backend>(
    cin: usize,
    cout: usize,
    g: ConvGeometry,
    device: &B::Device,
) -> ConvTranspose2d<B> {
    let k = g.kernel;
    ConvTranspose2dConfig::new([cin, cout], [k, k])
        .with_stride([g.stride, g.stride])
        .with_padding([g.padding, g.padding])
        .with_padding_out([g.output_padding, g.output_padding])
        .init(device)
}

/// One x2 up-sampling stage from `in_channels` to `out_channels`.
#[derive(Module, Debug)]
pub struct Upsample2x<B: Backend> {
    /// Set for the `convt` baseline (the network's own stride-2 transposed conv).
    pub convt: Option<ConvTranspose2d<B>>,
    /// The convolutions after the doubling (no activation between them).
    pub convs: Vec<Conv2d<B>>,
    /// Which up-sampler this is (picks the doubling in `forward`).
    #[module(skip)]
    kind: UpsamplerName,
}

impl<B: Backend> Upsample2x<B> {
    /// Builds the stage named `kind`; `convt` is IRMAE's ConvT(k4, s2, p1).
    pub fn new(
        kind: UpsamplerName,
        in_channels: usize,
        out_channels: usize,
        device: &B::Device,
    ) -> Self {
        Self::with_baseline(kind, in_channels, out_channels, IRMAE_STRIDE2, device)
    }

    /// Builds the stage named `kind`, with `baseline` as the geometry of the `convt`
    /// transposed conv (Dalal's is k3 s2 p1 with output padding 1); the other
    /// up-samplers ignore it.
    pub fn with_baseline(
        kind: UpsamplerName,
        in_channels: usize,
        out_channels: usize,
        baseline: ConvGeometry,
        device: &B::Device,
    ) -> Self {
        assert_eq!(baseline.stride, 2, "an up-sampling stage doubles the size");
        let Some((_, count, kernel)) = decompose(kind) else {
            return Upsample2x {
                convt: Some(conv_transpose(in_channels, out_channels, baseline, device)),
                convs: Vec::new(),
                kind,
            };
        };
        // x.3.5: Conv(d->d) -> Conv(d->d) -> Conv(d->C).
        let convs = (0..count)
            .map(|i| {
                let cout = if i + 1 == count {
                    out_channels
                } else {
                    in_channels
                };
                same_conv(in_channels, cout, kernel, device)
            })
            .collect();
        Upsample2x {
            convt: None,
            convs,
            kind,
        }
    }

    /// `[B, C_in, H, W]` -> `[B, C_out, 2H, 2W]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if let Some(convt) = &self.convt {
            return convt.forward(x);
        }
        let (how, _, _) = decompose(self.kind).expect("not the ConvT baseline");
        self.convs
            .iter()
            .fold(double(x, how), |h, conv| conv.forward(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_spells_its_doubling_convolutions_and_kernel() {
        for (i, kind) in UPSAMPLERS.iter().enumerate() {
            assert!(
                !UPSAMPLERS[..i].contains(kind),
                "{} listed twice",
                kind.name
            );
            let Some((doubling, convs, kernel)) = kind.parts else {
                assert_eq!(kind.name, "convt");
                continue;
            };
            let letter = match doubling {
                Doubling::Nearest => 'n',
                Doubling::Bilinear => 'b',
                Doubling::ZeroInsertion => 'z',
            };
            assert_eq!(kind.name, format!("{letter}{convs}{kernel}"));
            assert_eq!(
                kernel % 2,
                1,
                "{}: a 'same' conv has an odd kernel",
                kind.name
            );
        }
    }
}
