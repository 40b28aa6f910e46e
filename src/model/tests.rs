//! Tests of the networks: parameter counts against the reference nets and the
//! layer arithmetic, output shapes, up-sampler spectra, initialisation and
//! gradient flow. All on the flex CPU backend.

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module};
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use burn::store::ModuleSnapshot;
use burn::tensor::{Tensor, TensorData};

use super::upsampler::{decompose, double, Doubling, UPSAMPLERS};
use super::Vae;
use crate::pipeline::schema::{
    Arch, ConvtAlignment, InitScheme, ModelSpec, ReplaceLayer, UpsamplerName as U,
};
use crate::spectral::fft::Fft2;

/// The up-sampler called `name`.
fn n(name: &str) -> U {
    U::named(name).expect("a registered up-sampler")
}

const REPLACE: [ReplaceLayer; 2] = [ReplaceLayer::LastStride2, ReplaceLayer::Output];

fn spec(arch: Arch, upsampler: U, replace: ReplaceLayer, channels: u32, latent: u32) -> ModelSpec {
    let size = match arch {
        Arch::IrmaeCeleba => 64,
        Arch::DalalMnist => 28,
        _ => 32,
    };
    ModelSpec {
        arch,
        latent,
        upsampler,
        replace,
        init: InitScheme::Pytorch,
        convt_alignment: ConvtAlignment::Pytorch,
        channels,
        size,
    }
}

/// Parameters of Conv(i -> o, k x k) with bias (also ConvT, and Linear with k = 1).
fn conv(i: usize, o: usize, k: usize) -> usize {
    i * o * k * k + o
}

/// Parameters of the up-sampling stage `kind` from i to o channels, where the
/// network's own stride-2 transposed conv has kernel `baseline_k`.
fn up(kind: U, i: usize, o: usize, baseline_k: usize) -> usize {
    match decompose(kind) {
        None => conv(i, o, baseline_k),
        Some((_, 1, k)) => conv(i, o, k),
        // x.3.5: Conv(i->i), Conv(i->i), Conv(i->o).
        Some((_, _, k)) => 2 * conv(i, i, k) + conv(i, o, k),
    }
}

/// (encoder, decoder) parameter counts from the layer tables of docs/methods.md#networks,
/// written out independently of the model code.
fn expected(arch: Arch, kind: U, replace: ReplaceLayer, c: usize, n: usize) -> (usize, usize) {
    // With `output`, the up-sampler maps straight to the image and the output
    // layer goes (the published net is kept for `convt`).
    let straight = replace == ReplaceLayer::Output && kind != U::CONVT;
    match arch {
        Arch::IrmaeShape => (
            conv(c, 32, 4)
                + conv(32, 64, 4)
                + conv(64, 128, 4)
                + conv(128, 256, 4)
                + conv(256, 2 * n, 2),
            // The last stride-2 layer is the output layer: both placements agree.
            conv(n, 256, 2)
                + conv(256, 128, 4)
                + conv(128, 64, 4)
                + conv(64, 32, 4)
                + up(kind, 32, c, 4),
        ),
        Arch::IrmaeMnist => (
            conv(c, 32, 4)
                + conv(32, 64, 4)
                + conv(64, 128, 4)
                + conv(128, 256, 4)
                + conv(1024, 2 * n, 1),
            conv(n, 8192, 1)
                + conv(128, 64, 4)
                + if straight {
                    up(kind, 64, c, 4)
                } else {
                    up(kind, 64, 32, 4) + conv(32, c, 1)
                },
        ),
        Arch::IrmaeCeleba => (
            conv(c, 128, 4)
                + conv(128, 256, 4)
                + conv(256, 512, 4)
                + conv(512, 1024, 4)
                + conv(16384, 2 * n, 1),
            conv(n, 65536, 1)
                + conv(1024, 512, 4)
                + conv(512, 256, 4)
                + if straight {
                    up(kind, 256, c, 4)
                } else {
                    up(kind, 256, 128, 4) + conv(128, c, 1)
                },
        ),
        Arch::DalalMnist => (
            conv(c, 32, 3) + conv(32, 64, 3) + conv(2304, 2 * n, 1),
            conv(n, 1568, 1)
                + conv(32, 64, 3)
                + if straight {
                    up(kind, 64, c, 3)
                } else {
                    up(kind, 64, 32, 3) + conv(32, c, 3)
                },
        ),
        Arch::Auto => unreachable!("tests name concrete archs"),
    }
}

/// The reference counts of docs/methods.md#networks (n = 128; Dalal n = 2), and that the
/// layer arithmetic of [`expected`] reproduces them.
#[test]
fn parameter_counts_match_the_reference_networks() {
    let device = Default::default();
    let last = ReplaceLayer::LastStride2;
    for (arch, kind, c, n, encoder, decoder) in [
        (Arch::IrmaeShape, U::CONVT, 1, 128, 951_520, 820_193),
        (Arch::IrmaeShape, n("n15"), 1, 128, 951_520, 820_481),
        (Arch::IrmaeMnist, U::CONVT, 1, 128, 951_520, 1_220_737),
        (Arch::IrmaeMnist, n("n15"), 1, 128, 951_520, 1_239_169),
        (Arch::IrmaeCeleba, U::CONVT, 3, 128, 15_212_672, 19_465_475),
        (Arch::IrmaeCeleba, n("n15"), 3, 128, 15_212_672, 19_760_387),
        (Arch::DalalMnist, U::CONVT, 1, 2, 28_036, 41_953),
    ] {
        assert_eq!(
            expected(arch, kind, last, c, n),
            (encoder, decoder),
            "{arch:?} {kind:?}: the test's arithmetic"
        );
        let vae = Vae::<Flex>::new(&spec(arch, kind, last, c as u32, n as u32), &device);
        assert_eq!(
            vae.encoder.num_params(),
            encoder,
            "{arch:?} {kind:?} encoder"
        );
        assert_eq!(
            vae.decoder.num_params(),
            decoder,
            "{arch:?} {kind:?} decoder"
        );
    }
}

/// Builds every up-sampler x placement of `arch`, checks the parameter counts
/// against the layer arithmetic, the placement of the ReLU and output layer, and
/// that the logits have the image's shape.
fn check_every_combination(arch: Arch, c: u32, n: u32, batch: usize) {
    check_every_combination_aligned(arch, ConvtAlignment::Pytorch, c, n, batch);
}

/// [`check_every_combination`] with the transposed convs aligned by `alignment`
/// (the parameters are the same either way).
fn check_every_combination_aligned(
    arch: Arch,
    alignment: ConvtAlignment,
    c: u32,
    n: u32,
    batch: usize,
) {
    let device = Default::default();
    for &kind in UPSAMPLERS {
        for replace in REPLACE {
            let what = format!("{arch:?} {alignment:?} c{c} {kind:?} {replace:?}");
            let mut s = spec(arch, kind, replace, c, n);
            s.convt_alignment = alignment;
            let vae = Vae::<Flex>::new(&s, &device);
            let (enc, dec) = expected(arch, kind, replace, c as usize, n as usize);
            assert_eq!(vae.encoder.num_params(), enc, "{what} encoder");
            assert_eq!(vae.decoder.num_params(), dec, "{what} decoder");

            let output_layer = arch != Arch::IrmaeShape
                && (kind == U::CONVT || replace == ReplaceLayer::LastStride2);
            assert_eq!(vae.decoder.has_output_layer(), output_layer, "{what}");
            assert_eq!(vae.decoder.relu_after_upsampler(), output_layer, "{what}");

            let (c, n, size) = (c as usize, n as usize, s.size as usize);
            let x = Tensor::<Flex, 4>::zeros([batch, c, size, size], &device);
            let out = vae.forward(x, Tensor::zeros([batch, n], &device));
            assert_eq!(out.logits.dims(), [batch, c, size, size], "{what}");
            assert_eq!(out.mu.dims(), [batch, n], "{what}");
            assert_eq!(out.logvar.dims(), [batch, n], "{what}");
        }
    }
}

#[test]
fn every_irmae_shape_combination_has_the_right_size_and_shape() {
    check_every_combination(Arch::IrmaeShape, 1, 128, 2);
    check_every_combination(Arch::IrmaeShape, 3, 128, 2);
}

#[test]
fn every_irmae_mnist_combination_has_the_right_size_and_shape() {
    check_every_combination(Arch::IrmaeMnist, 1, 128, 2);
}

#[test]
fn every_dalal_combination_has_the_right_size_and_shape() {
    check_every_combination(Arch::DalalMnist, 1, 2, 2);
    check_every_combination_aligned(Arch::DalalMnist, ConvtAlignment::Keras, 1, 2, 2);
}

/// CelebA nets are ~35M parameters at n = 128; a small latent keeps the grid quick
/// (only the Linear layers depend on n, and the reference count at n = 128 is
/// checked above).
#[test]
fn every_irmae_celeba_combination_has_the_right_size_and_shape() {
    check_every_combination(Arch::IrmaeCeleba, 3, 8, 1);
}

/// Deterministic values in [0, 1) (64-bit LCG), independent of the backend RNG.
pub(crate) fn lcg_values(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32) / (1u64 << 24) as f32
        })
        .collect()
}

/// Share of spectral energy outside the central low-frequency quarter (the
/// frequencies with |u| or |v| at least a quarter of the side).
fn high_frequency_share(img: &[f32], size: usize) -> f64 {
    let (re, im) = Fft2::new(size, size).forward(img);
    let (mut high, mut total) = (0.0, 0.0);
    for u in 0..size {
        for v in 0..size {
            let e = re[u * size + v].powi(2) + im[u * size + v].powi(2);
            let (fu, fv) = (u.min(size - u), v.min(size - v));
            total += e;
            if fu.max(fv) >= size / 4 {
                high += e;
            }
        }
    }
    high / total
}

/// Zero insertion keeps the spectral replicas, nearest damps them, bilinear damps
/// them most (Chandrasegaran et al.'s motivation).
#[test]
fn up_samplers_order_the_high_frequency_energy() {
    let device = Default::default();
    let x = Tensor::<Flex, 4>::from_data(
        TensorData::new(lcg_values(7, 16 * 16), [1, 1, 16, 16]),
        &device,
    );
    let share = |how| {
        let y = double(x.clone(), how);
        assert_eq!(y.dims(), [1, 1, 32, 32]);
        high_frequency_share(&y.into_data().to_vec::<f32>().unwrap(), 32)
    };
    let (zero, nearest, bilinear) = (
        share(Doubling::ZeroInsertion),
        share(Doubling::Nearest),
        share(Doubling::Bilinear),
    );
    assert!(
        zero > nearest && nearest > bilinear,
        "zero {zero:.3}, nearest {nearest:.3}, bilinear {bilinear:.3}"
    );
}

/// Zero insertion puts pixel (i, j) on (2i, 2j) and zeros elsewhere; nearest
/// repeats it over the 2x2 block.
#[test]
fn doubling_places_the_pixels() {
    let device = Default::default();
    let x = Tensor::<Flex, 4>::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 2, 2]),
        &device,
    );
    let zero = double(x.clone(), Doubling::ZeroInsertion)
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    #[rustfmt::skip]
    assert_eq!(zero, vec![
        1.0, 0.0, 2.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
        3.0, 0.0, 4.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
    ]);
    let nearest = double(x, Doubling::Nearest)
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    #[rustfmt::skip]
    assert_eq!(nearest, vec![
        1.0, 1.0, 2.0, 2.0,
        1.0, 1.0, 2.0, 2.0,
        3.0, 3.0, 4.0, 4.0,
        3.0, 3.0, 4.0, 4.0,
    ]);
}

/// (path, shape, values) of every parameter tensor.
fn parameters<M: ModuleSnapshot<Flex>>(module: &M) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    module
        .collect(None, None, false)
        .into_iter()
        .map(|s| {
            (
                s.full_path(),
                s.shape.to_vec(),
                s.to_data().unwrap().to_vec::<f32>().unwrap(),
            )
        })
        .collect()
}

fn seeded(arch: Arch, kind: U, init: InitScheme, seed: u64) -> Vae<Flex> {
    let (c, n) = match arch {
        Arch::IrmaeCeleba => (3, 8),
        Arch::DalalMnist => (1, 2),
        _ => (1, 128),
    };
    let mut s = spec(arch, kind, ReplaceLayer::LastStride2, c, n);
    s.init = init;
    Vae::<Flex>::seeded(&s, seed, &Default::default())
}

/// Uniform draws: every |w| within the bound, and (for tensors of 64+ values,
/// where anything else has probability < 0.9^64 ~ 1e-3 and the seed is fixed)
/// the largest above 0.9 of it.
fn check_uniform_bound(values: &[f32], bound: f64, what: &str) {
    let max = values.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
    assert!(
        max <= bound * (1.0 + 1e-6),
        "{what}: max |w| {max} > bound {bound}"
    );
    if values.len() >= 64 {
        assert!(
            max > 0.9 * bound,
            "{what}: max |w| {max} far below bound {bound}"
        );
    }
}

/// fan_in, PyTorch's way, of the weight `shape` in burn's layout: Linear
/// `[in, out]` -> in; Conv2d `[out, in, k, k]` -> in*k*k; ConvTranspose2d
/// `[in, out, k, k]` -> out*k*k (PyTorch's fan_in is weight.size(1)*k*k for both).
fn pytorch_fan_in(shape: &[usize]) -> usize {
    match shape {
        [i, _] => *i,
        [_, d1, k1, k2] => d1 * k1 * k2,
        _ => panic!("no weight shape: {shape:?}"),
    }
}

/// PyTorch's default: weights and biases uniform in +-1/sqrt(fan_in), for Linear,
/// Conv2d (the up-sampler convs) and ConvTranspose2d alike.
#[test]
fn pytorch_init_is_kaiming_uniform() {
    for (arch, kind) in [
        (Arch::IrmaeMnist, n("n35")),
        (Arch::IrmaeShape, U::CONVT),
        (Arch::DalalMnist, n("b15")),
    ] {
        let params = parameters(&seeded(arch, kind, InitScheme::Pytorch, 3));
        for (path, shape, values) in &params {
            let weight_shape = match path.strip_suffix(".bias") {
                Some(layer) => {
                    let weight = format!("{layer}.weight");
                    &params
                        .iter()
                        .find(|(p, _, _)| *p == weight)
                        .expect("bias has a weight")
                        .1
                }
                None => shape,
            };
            let bound = 1.0 / (pytorch_fan_in(weight_shape) as f64).sqrt();
            check_uniform_bound(values, bound, &format!("{arch:?} {path}"));
        }
    }
}

/// Keras' default: Glorot-uniform kernels, bound sqrt(6 / (fan_in + fan_out)) with
/// the k*k receptive field in both fans, and zero biases.
#[test]
fn keras_init_is_glorot_uniform_with_zero_biases() {
    for (arch, kind) in [
        (Arch::DalalMnist, U::CONVT),
        (Arch::DalalMnist, n("z35")),
        (Arch::IrmaeShape, n("n15")),
    ] {
        for (path, shape, values) in parameters(&seeded(arch, kind, InitScheme::Keras, 3)) {
            let what = format!("{arch:?} {kind:?} {path}");
            match shape.as_slice() {
                [_] => assert!(
                    values.iter().all(|v| *v == 0.0),
                    "{what}: Keras biases are zero"
                ),
                [i, o] => check_uniform_bound(&values, (6.0 / (i + o) as f64).sqrt(), &what),
                [a, b, k1, k2] => {
                    check_uniform_bound(&values, (6.0 / ((a + b) * k1 * k2) as f64).sqrt(), &what)
                }
                _ => panic!("{what}: unexpected shape {shape:?}"),
            }
        }
    }
}

/// The seed fixes the weights (both schemes); another seed changes them.
#[test]
fn same_seed_gives_the_same_weights() {
    for init in [InitScheme::Pytorch, InitScheme::Keras] {
        let a = parameters(&seeded(Arch::DalalMnist, n("n15"), init, 11));
        assert_eq!(
            a,
            parameters(&seeded(Arch::DalalMnist, n("n15"), init, 11)),
            "{init:?}"
        );
        let b = parameters(&seeded(Arch::DalalMnist, n("n15"), init, 12));
        for ((path, _, x), (_, _, y)) in a.iter().zip(&b) {
            if x.len() > 1 && x.iter().any(|v| *v != 0.0) {
                assert_ne!(x, y, "{init:?} {path}: another seed, other weights");
            }
        }
    }
}

/// One SGD step on a tiny batch: the optimizer finds every parameter (the derive
/// pitfall in docs/architecture.md#burn-pitfalls) and every parameter tensor moves.
#[test]
fn a_training_step_changes_every_parameter() {
    type Ad = Autodiff<Flex>;
    let device = Default::default();
    for (arch, kind, replace, c, n, init) in [
        (
            Arch::DalalMnist,
            U::CONVT,
            ReplaceLayer::LastStride2,
            1,
            2,
            InitScheme::Keras,
        ),
        (
            Arch::DalalMnist,
            n("z35"),
            ReplaceLayer::Output,
            1,
            2,
            InitScheme::Pytorch,
        ),
        (
            Arch::IrmaeCeleba,
            n("n15"),
            ReplaceLayer::LastStride2,
            3,
            4,
            InitScheme::Pytorch,
        ),
    ] {
        let what = format!("{arch:?} {kind:?} {replace:?} {init:?}");
        let mut s = spec(arch, kind, replace, c, n);
        s.init = init;
        let vae = Vae::<Ad>::seeded(&s, 5, &device);
        let size = s.size as usize;
        let x = Tensor::<Ad, 4>::from_data(
            TensorData::new(
                lcg_values(1, 2 * c as usize * size * size),
                [2, c as usize, size, size],
            ),
            &device,
        );
        let noise = Tensor::<Ad, 2>::from_data(
            TensorData::new(
                lcg_values(2, 2 * n as usize)
                    .iter()
                    .map(|v| v - 0.5)
                    .collect(),
                [2, n as usize],
            ),
            &device,
        );
        let out = vae.forward(x.clone(), noise);
        let loss = (out.logits - x).powi_scalar(2).mean()
            + out.mu.powi_scalar(2).mean()
            + out.logvar.exp().mean();
        let grads = GradientsParams::from_grads(loss.backward(), &vae);
        let tensors = vae.collect(None, None, false).len();
        assert_eq!(
            grads.len(),
            tensors,
            "{what}: gradients for every parameter"
        );

        let before = parameters(&vae.valid());
        let mut optim = SgdConfig::new().init::<Ad, Vae<Ad>>();
        let vae = optim.step(0.1, vae, grads);
        let after = parameters(&vae.valid());
        assert_eq!(before.len(), after.len());
        for ((path, _, x), (_, _, y)) in before.iter().zip(&after) {
            assert_ne!(x, y, "{what} {path}: unchanged by the step");
        }
    }
}
