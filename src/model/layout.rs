//! The layer tables of the published networks (docs/methods.md#networks), as
//! plain data: [`Encoder`](super::encoder::Encoder) and
//! [`Decoder`](super::decoder::Decoder) are built from them, so each network reads
//! as its table here.
//!
//! Layers are in PyTorch form (NCHW). Dalal's Keras net is NHWC; its shapes are
//! transposed to channel-first here, and "same" padding is written as PyTorch
//! padding / output padding.

use crate::pipeline::schema::Arch;

/// Version of the encoder, decoder and VAE modules built from the layouts (every network).
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const MODULES_VERSION: u32 = 1;

/// Kernel, stride, padding and output padding of a (transposed) convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Kernel size (square).
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// Extra rows/columns on the bottom/right of a transposed conv's output.
    pub output_padding: usize,
}

impl ConvGeometry {
    /// `kernel`, `stride`, `padding`, no output padding.
    pub const fn new(kernel: usize, stride: usize, padding: usize) -> Self {
        ConvGeometry {
            kernel,
            stride,
            padding,
            output_padding: 0,
        }
    }

    /// The same geometry with `output_padding`.
    pub const fn with_output_padding(self, output_padding: usize) -> Self {
        ConvGeometry {
            output_padding,
            ..self
        }
    }

    /// Whether this is a stride-2 3x3 'same' transposed conv in its PyTorch form
    /// (padding 1, output padding 1), the only geometry `model.convt_alignment`
    /// changes (docs/methods.md#convt-alignment).
    pub fn is_k3_same(&self) -> bool {
        *self == DALAL_CONVT
    }
}

/// IRMAE's down-sampling conv and up-sampling transposed conv: k4, s2, p1.
pub const IRMAE_STRIDE2: ConvGeometry = ConvGeometry::new(4, 2, 1);
/// Dalal's encoder conv: Keras k3, s2, 'valid'.
pub const DALAL_CONV: ConvGeometry = ConvGeometry::new(3, 2, 0);
/// Dalal's decoder transposed conv: Keras k3, s2, 'same' = PyTorch p1, output padding 1.
pub const DALAL_CONVT: ConvGeometry = ConvGeometry::new(3, 2, 1).with_output_padding(1);

/// Dalal's decoder transposed conv aligned as Keras does: no padding (the full
/// 2n + 1 outputs), then the first 2n rows and columns are kept
/// (`model.convt_alignment: keras`, docs/methods.md#convt-alignment).
pub const DALAL_CONVT_KERAS: ConvGeometry = ConvGeometry::new(3, 2, 0);

/// The layer that turns the last feature map into the 2n numbers (mu, log sigma^2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderHead {
    /// Conv(last width -> 2n, k x k, s1, p0) on a k x k map (IRMAE Shape).
    Conv {
        /// Kernel size = the map's side.
        kernel: usize,
    },
    /// Flatten (channel-first) then Linear(flat -> 2n).
    Linear {
        /// Features after flattening.
        flat: usize,
    },
}

/// An encoder: Conv + ReLU through `widths`, all with `conv` geometry, then `head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderLayout {
    /// Channels from the image to the last conv (first = image channels).
    pub widths: Vec<usize>,
    /// Geometry of every conv.
    pub conv: ConvGeometry,
    /// The head to 2n.
    pub head: EncoderHead,
}

/// The decoder's first layer, from z (`n` numbers) to a `channels x side x side` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecoderInput {
    /// ConvT(n -> channels, k = side, s1, p0) on z as n x 1 x 1 (IRMAE Shape).
    ConvT {
        /// Output channels.
        channels: usize,
        /// Output side (= kernel).
        side: usize,
    },
    /// Linear(n -> channels * side * side), reshaped channel-first.
    Linear {
        /// Output channels.
        channels: usize,
        /// Output side.
        side: usize,
    },
}

impl DecoderInput {
    /// `[channels, side, side]` of the map this layer produces.
    pub fn shape(self) -> [usize; 3] {
        match self {
            DecoderInput::ConvT { channels, side } | DecoderInput::Linear { channels, side } => {
                [channels, side, side]
            }
        }
    }
}

/// A decoder: `input` (+ ReLU if `input_relu`), stride-2 transposed convs + ReLU
/// through `widths`, then an optional stride-1 output layer producing logits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderLayout {
    /// The layer from z.
    pub input: DecoderInput,
    /// Whether a ReLU follows the input layer.
    pub input_relu: bool,
    /// Channels through the stride-2 stages (first = the input layer's channels).
    /// Every stage but the last is followed by a ReLU; the last one too when an
    /// output layer follows.
    pub widths: Vec<usize>,
    /// Geometry of the published stride-2 transposed convs (the `convt` baseline).
    pub stride2: ConvGeometry,
    /// Stride-1 ConvT(last width -> image channels) after the last stage, no
    /// activation; `None` when the last stage produces the image (IRMAE Shape).
    pub output: Option<ConvGeometry>,
}

/// IRMAE Shape (docs/methods.md#irmae-shape), `c` x 32 x 32.
///
/// Encoder: Conv(c->32->64->128->256, k4 s2 p1) + ReLU: 16, 8, 4, 2; Conv(256->2n, k2) -> 1x1.
/// Decoder: ConvT(n->256, k2) + ReLU: 2; ConvT(256->128->64->32, k4 s2 p1) + ReLU: 4, 8, 16;
/// ConvT(32->c, k4 s2 p1): 32 (the last stride-2 layer is the output layer).
pub fn irmae_shape(c: usize) -> (EncoderLayout, DecoderLayout) {
    (
        EncoderLayout {
            widths: vec![c, 32, 64, 128, 256],
            conv: IRMAE_STRIDE2,
            head: EncoderHead::Conv { kernel: 2 },
        },
        DecoderLayout {
            input: DecoderInput::ConvT {
                channels: 256,
                side: 2,
            },
            input_relu: true,
            widths: vec![256, 128, 64, 32, c],
            stride2: IRMAE_STRIDE2,
            output: None,
        },
    )
}

/// IRMAE MNIST (docs/methods.md#irmae-mnist), `c` x 32 x 32 (c = 1).
///
/// Encoder: Conv(c->32->64->128->256, k4 s2 p1) + ReLU: 16, 8, 4, 2; flatten 1024 -> Linear(2n).
/// Decoder: Linear(n->8192) as 128x8x8 + ReLU; ConvT(128->64->32, k4 s2 p1) + ReLU: 16, 32;
/// ConvT(32->c, k1).
pub fn irmae_mnist(c: usize) -> (EncoderLayout, DecoderLayout) {
    (
        EncoderLayout {
            widths: vec![c, 32, 64, 128, 256],
            conv: IRMAE_STRIDE2,
            head: EncoderHead::Linear { flat: 256 * 2 * 2 },
        },
        DecoderLayout {
            input: DecoderInput::Linear {
                channels: 128,
                side: 8,
            },
            input_relu: true,
            widths: vec![128, 64, 32],
            stride2: IRMAE_STRIDE2,
            output: Some(ConvGeometry::new(1, 1, 0)),
        },
    )
}

/// IRMAE CelebA (docs/methods.md#irmae-celeba), `c` x 64 x 64 (c = 3).
///
/// Encoder: Conv(c->128->256->512->1024, k4 s2 p1) + ReLU: 32, 16, 8, 4; flatten 16384 ->
/// Linear(2n).
/// Decoder: Linear(n->65536) as 1024x8x8, no activation; ConvT(1024->512->256->128, k4 s2 p1)
/// + ReLU: 16, 32, 64; ConvT(128->c, k1).
pub fn irmae_celeba(c: usize) -> (EncoderLayout, DecoderLayout) {
    (
        EncoderLayout {
            widths: vec![c, 128, 256, 512, 1024],
            conv: IRMAE_STRIDE2,
            head: EncoderHead::Linear { flat: 1024 * 4 * 4 },
        },
        DecoderLayout {
            input: DecoderInput::Linear {
                channels: 1024,
                side: 8,
            },
            input_relu: false,
            widths: vec![1024, 512, 256, 128],
            stride2: IRMAE_STRIDE2,
            output: Some(ConvGeometry::new(1, 1, 0)),
        },
    )
}

/// Dalal's MNIST VAE (docs/methods.md#dalal-mnist), `c` x 28 x 28 (c = 1), after the
/// TensorFlow CVAE tutorial.
///
/// Encoder: Conv(c->32->64, k3 s2 valid) + ReLU: 13, 6; flatten 2304 -> Linear(2n).
/// Decoder: Linear(n->1568) + ReLU as 32x7x7; ConvT(32->64->32, k3 s2 p1 op1) + ReLU: 14, 28;
/// ConvT(32->c, k3 s1 p1), no activation.
///
/// Keras flattens and reshapes NHWC, we do NCHW: a fixed permutation of the dense
/// layers' rows/columns, so the same function class and the same initial
/// distribution.
pub fn dalal_mnist(c: usize) -> (EncoderLayout, DecoderLayout) {
    (
        EncoderLayout {
            widths: vec![c, 32, 64],
            conv: DALAL_CONV,
            head: EncoderHead::Linear { flat: 64 * 6 * 6 },
        },
        DecoderLayout {
            input: DecoderInput::Linear {
                channels: 32,
                side: 7,
            },
            input_relu: true,
            widths: vec![32, 64, 32],
            stride2: DALAL_CONVT,
            output: Some(ConvGeometry::new(3, 1, 1)),
        },
    )
}

/// A network: the `model.arch` that selects it, its name, its version and its
/// layer tables. One entry of [`NETWORKS`].
#[derive(Debug, Clone, Copy)]
pub struct Network {
    /// The `model.arch` value that selects it.
    pub arch: Arch,
    /// Its name: the `model.arch` word, and `network.<name>` in a node's code
    /// versions.
    pub name: &'static str,
    /// Version of the network. Part of the keys of the train nodes that use it:
    /// bump it when a change alters results (see `crate::code_version`).
    pub version: u32,
    /// Its (encoder, decoder) layer tables for `c` image channels.
    pub layouts: fn(c: usize) -> (EncoderLayout, DecoderLayout),
}

/// Every network runner builds. Which one `arch: auto` picks for a dataset is
/// decided at resolution (`crate::pipeline::resolve`).
pub const NETWORKS: &[Network] = &[
    Network {
        arch: Arch::IrmaeShape,
        name: "irmae_shape",
        version: 1,
        layouts: irmae_shape,
    },
    Network {
        arch: Arch::IrmaeMnist,
        name: "irmae_mnist",
        version: 1,
        layouts: irmae_mnist,
    },
    Network {
        arch: Arch::IrmaeCeleba,
        name: "irmae_celeba",
        version: 1,
        layouts: irmae_celeba,
    },
    Network {
        arch: Arch::DalalMnist,
        name: "dalal_mnist",
        version: 1,
        layouts: dalal_mnist,
    },
];

/// The network `arch` selects; `None` for [`Arch::Auto`], which the resolver
/// replaces by a concrete network.
pub fn network(arch: Arch) -> Option<&'static Network> {
    NETWORKS.iter().find(|n| n.arch == arch)
}

/// The layer tables of `arch` for `channels` image channels. Panics on
/// [`Arch::Auto`], which the resolver replaces before any model is built.
pub fn layouts(arch: Arch, channels: usize) -> (EncoderLayout, DecoderLayout) {
    match network(arch) {
        Some(net) => (net.layouts)(channels),
        None => panic!("arch 'auto' must be resolved before a model is built"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_network_is_named_as_its_arch_in_pipeline_files() {
        for (i, net) in NETWORKS.iter().enumerate() {
            let word = serde_json::to_value(net.arch).unwrap();
            assert_eq!(word.as_str(), Some(net.name));
            assert!(NETWORKS[..i].iter().all(|o| o.arch != net.arch));
        }
        assert!(network(Arch::Auto).is_none());
    }
}
