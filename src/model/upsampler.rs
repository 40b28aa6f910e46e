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

use super::layout::{ConvGeometry, DALAL_CONVT_KERAS, IRMAE_STRIDE2};
use crate::pipeline::named::{named_serde, registry_names, Named};
use crate::pipeline::schema::ConvtAlignment;

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
    /// Keras alignment: `convt` gives 2H + 1 rows and columns, of which the
    /// first 2H and 2W are kept.
    #[module(skip)]
    crop_to_first: bool,
}

impl<B: Backend> Upsample2x<B> {
    /// Builds the stage named `kind`; `convt` is IRMAE's ConvT(k4, s2, p1).
    pub fn new(
        kind: UpsamplerName,
        in_channels: usize,
        out_channels: usize,
        device: &B::Device,
    ) -> Self {
        Self::with_baseline(
            kind,
            in_channels,
            out_channels,
            IRMAE_STRIDE2,
            ConvtAlignment::Pytorch,
            device,
        )
    }

    /// Builds the stage named `kind`, with `baseline` as the geometry of the `convt`
    /// transposed conv (Dalal's is k3 s2 p1 with output padding 1) and
    /// `alignment` placing a 3x3 one's output grid (docs/methods.md#convt-alignment);
    /// the other up-samplers ignore both. Panics on [`ConvtAlignment::Keras`] with
    /// any other baseline than a 3x3 'same' one (resolution rejects it).
    pub fn with_baseline(
        kind: UpsamplerName,
        in_channels: usize,
        out_channels: usize,
        baseline: ConvGeometry,
        alignment: ConvtAlignment,
        device: &B::Device,
    ) -> Self {
        assert_eq!(baseline.stride, 2, "an up-sampling stage doubles the size");
        let Some((_, count, kernel)) = decompose(kind) else {
            let (geometry, crop_to_first) = match alignment {
                ConvtAlignment::Pytorch => (baseline, false),
                ConvtAlignment::Keras => {
                    assert!(
                        baseline.is_k3_same(),
                        "Keras alignment is defined for 3x3 'same' transposed convs only"
                    );
                    (DALAL_CONVT_KERAS, true)
                }
            };
            return Upsample2x {
                convt: Some(conv_transpose(in_channels, out_channels, geometry, device)),
                convs: Vec::new(),
                kind,
                crop_to_first,
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
            crop_to_first: false,
        }
    }

    /// `[B, C_in, H, W]` -> `[B, C_out, 2H, 2W]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if let Some(convt) = &self.convt {
            if self.crop_to_first {
                // Keras 'same' for k3 s2 pads 0 before and 1 after: of the
                // 2H + 1 rows of the full transposed conv it keeps the first 2H.
                let [b, _, h, w] = x.dims();
                let full = convt.forward(x);
                let channels = full.dims()[1];
                return full.slice([0..b, 0..channels, 0..2 * h, 0..2 * w]);
            }
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

    /// Deterministic values in [-1, 1), independent of the backend RNG.
    fn lcg(seed: u64, n: usize) -> Vec<f32> {
        let values = crate::model::tests::lcg_values(seed, n);
        values.into_iter().map(|v| 2.0 * v - 1.0).collect()
    }

    /// The transposed convolution written as its definition, in f64: input pixel
    /// (i, j) adds `w[ci][co][ki][kj] * x[ci][i][j]` to output (s i + ki, s j + kj)
    /// of the full (s (n - 1) + k)-sided grid, plus the bias; no padding, no
    /// cropping. `x` is `[B, Cin, n, n]`, `w` `[Cin, Cout, k, k]`; returns
    /// `[B, Cout, side, side]` flattened and the side.
    #[allow(clippy::too_many_arguments)]
    fn full_transposed_conv(
        x: &[f32],
        [batch, cin, n]: [usize; 3],
        w: &[f32],
        bias: &[f32],
        cout: usize,
        k: usize,
        s: usize,
    ) -> (Vec<f64>, usize) {
        let side = s * (n - 1) + k;
        let mut out = vec![0.0f64; batch * cout * side * side];
        for b in 0..batch {
            for co in 0..cout {
                for y in 0..side {
                    for x_ in 0..side {
                        out[((b * cout + co) * side + y) * side + x_] = bias[co] as f64;
                    }
                }
                for ci in 0..cin {
                    for i in 0..n {
                        for j in 0..n {
                            let v = x[((b * cin + ci) * n + i) * n + j] as f64;
                            for ki in 0..k {
                                for kj in 0..k {
                                    let wv = w[((ci * cout + co) * k + ki) * k + kj] as f64;
                                    let (y, x_) = (s * i + ki, s * j + kj);
                                    out[((b * cout + co) * side + y) * side + x_] += wv * v;
                                }
                            }
                        }
                    }
                }
            }
        }
        (out, side)
    }

    /// Dalal's stride-2 3x3 'same' transposed conv under each alignment, on
    /// random weights and inputs, against the direct scatter of
    /// [`full_transposed_conv`]: PyTorch keeps rows/columns 1..=2n of the full
    /// 2n + 1, Keras (TensorFlow 'same': padding 0 before, 1 after) the first 2n.
    #[test]
    fn k3_transposed_conv_keeps_the_rows_its_alignment_names() {
        use super::super::layout::DALAL_CONVT;
        use burn::backend::Flex;
        use burn::tensor::{Tensor, TensorData};

        let device = Default::default();
        let (batch, cin, cout) = (2, 3, 2);
        for (n, alignment, first) in [
            (7, ConvtAlignment::Pytorch, 1),
            (7, ConvtAlignment::Keras, 0),
            (14, ConvtAlignment::Keras, 0),
            (4, ConvtAlignment::Keras, 0),
        ] {
            let stage = Upsample2x::<Flex>::with_baseline(
                UpsamplerName::CONVT,
                cin,
                cout,
                DALAL_CONVT,
                alignment,
                &device,
            );
            let convt = stage.convt.as_ref().expect("the convt baseline");
            let w = convt.weight.val().into_data().to_vec::<f32>().unwrap();
            assert_eq!(convt.weight.val().dims(), [cin, cout, 3, 3]);
            let bias = convt
                .bias
                .as_ref()
                .expect("a bias")
                .val()
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            let values = lcg(n as u64 + 17, batch * cin * n * n);
            let x = Tensor::<Flex, 4>::from_data(
                TensorData::new(values.clone(), [batch, cin, n, n]),
                &device,
            );
            let got = stage.forward(x);
            assert_eq!(got.dims(), [batch, cout, 2 * n, 2 * n], "{alignment:?} {n}");
            let got = got.into_data().to_vec::<f32>().unwrap();
            let (full, side) =
                full_transposed_conv(&values, [batch, cin, n], &w, &bias, cout, 3, 2);
            assert_eq!(side, 2 * n + 1);
            let m = 2 * n;
            let mut worst = 0.0f64;
            for b in 0..batch {
                for co in 0..cout {
                    for y in 0..m {
                        for x_ in 0..m {
                            let want =
                                full[((b * cout + co) * side + y + first) * side + x_ + first];
                            let have = got[((b * cout + co) * m + y) * m + x_] as f64;
                            worst = worst.max((want - have).abs());
                        }
                    }
                }
            }
            assert!(worst < 1e-5, "{alignment:?} n = {n}: off by {worst}");
        }
    }
}
