//! The CPU backend's own convolution kernels (burn-flex, patched in
//! `vendor/burn-flex`: im2col / col2im + GEMM) against independent computations:
//!
//! - burn's ndarray backend (its own forward convolutions, and burn's generic
//!   backward passes built from other tensor ops) on every convolution shape of
//!   the four networks and their 13 up-samplers: forward, input, weight and bias
//!   gradients agree within 1e-5 relative to the largest reference value;
//! - central finite differences in f64 on small shapes (strides 1 and 2,
//!   padding, output padding, dilation, groups);
//! - the same results, bit for bit, on rayon pools of 1 and 2 threads.

use burn::backend::flex::FlexTensor;
use burn::backend::{Flex, NdArray};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, ModuleOps};
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use rand::{Rng, SeedableRng};
use runner::model::layout::{ConvGeometry, DecoderInput, EncoderHead, NETWORKS};
use runner::model::upsampler::{decompose, UPSAMPLERS};
use runner::pipeline::schema::Arch;

/// Largest |flex - reference| allowed, relative to the largest |reference|.
const RELATIVE_TOLERANCE: f64 = 1e-5;

/// One convolution of a network: `conv2d` (weight `[cout, cin, k, k]`) or
/// `conv_transpose2d` (weight `[cin, cout, k, k]`) on `cin` x `side` x `side`.
#[derive(Debug, Clone, PartialEq)]
struct Case {
    name: String,
    transposed: bool,
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
    dilation: usize,
    groups: usize,
    side: usize,
    batch: usize,
}

impl Case {
    fn conv(name: String, cin: usize, cout: usize, g: ConvGeometry, side: usize) -> Self {
        Case {
            name,
            transposed: false,
            cin,
            cout,
            kernel: g.kernel,
            stride: g.stride,
            padding: g.padding,
            output_padding: 0,
            dilation: 1,
            groups: 1,
            side,
            batch: 2,
        }
    }

    fn conv_transpose(name: String, cin: usize, cout: usize, g: ConvGeometry, side: usize) -> Self {
        Case {
            transposed: true,
            output_padding: g.output_padding,
            ..Case::conv(name, cin, cout, g, side)
        }
    }

    fn x_shape(&self) -> [usize; 4] {
        [self.batch, self.cin, self.side, self.side]
    }

    fn w_shape(&self) -> [usize; 4] {
        if self.transposed {
            [self.cin, self.cout / self.groups, self.kernel, self.kernel]
        } else {
            [self.cout, self.cin / self.groups, self.kernel, self.kernel]
        }
    }

    fn conv_options(&self) -> ConvOptions<2> {
        ConvOptions::new(
            [self.stride; 2],
            [self.padding; 2],
            [self.dilation; 2],
            self.groups,
        )
    }

    fn transpose_options(&self) -> ConvTransposeOptions<2> {
        ConvTransposeOptions::new(
            [self.stride; 2],
            [self.padding; 2],
            [self.output_padding; 2],
            [self.dilation; 2],
            self.groups,
        )
    }

    /// Output side.
    fn out_side(&self) -> usize {
        let span = self.dilation * (self.kernel - 1);
        if self.transposed {
            (self.side - 1) * self.stride + span + self.output_padding + 1 - 2 * self.padding
        } else {
            (self.side + 2 * self.padding - span - 1) / self.stride + 1
        }
    }

    fn y_shape(&self) -> [usize; 4] {
        [self.batch, self.cout, self.out_side(), self.out_side()]
    }
}

/// Side after a stride-s convolution of geometry `g`.
fn conv_out(side: usize, g: ConvGeometry) -> usize {
    (side + 2 * g.padding - g.kernel) / g.stride + 1
}

/// Every convolution of every network (latent 16) and every up-sampler of their
/// last stage, without repeats.
fn network_cases() -> Vec<Case> {
    const LATENT: usize = 16;
    let side = |arch: Arch| match arch {
        Arch::IrmaeCeleba => 64,
        Arch::DalalMnist => 28,
        _ => 32,
    };
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |c: Case| {
        let same = |o: &Case| Case {
            name: String::new(),
            ..o.clone()
        };
        if !cases.iter().any(|o| same(o) == same(&c)) {
            cases.push(c);
        }
    };
    for network in NETWORKS {
        let net = network.name;
        let channels = if network.arch == Arch::IrmaeCeleba {
            3
        } else {
            1
        };
        let image_side = side(network.arch);
        let (enc, dec) = (network.layouts)(channels);
        let mut side = image_side;
        for w in enc.widths.windows(2) {
            add(Case::conv(
                format!("{net} enc conv {}->{}", w[0], w[1]),
                w[0],
                w[1],
                enc.conv,
                side,
            ));
            side = conv_out(side, enc.conv);
        }
        if let EncoderHead::Conv { kernel } = enc.head {
            let last = *enc.widths.last().unwrap();
            let g = ConvGeometry::new(kernel, 1, 0);
            add(Case::conv(
                format!("{net} enc head"),
                last,
                2 * LATENT,
                g,
                side,
            ));
        }
        let mut side = match dec.input {
            DecoderInput::ConvT { channels, side } => {
                let g = ConvGeometry::new(side, 1, 0);
                add(Case::conv_transpose(
                    format!("{net} dec input"),
                    LATENT,
                    channels,
                    g,
                    1,
                ));
                side
            }
            DecoderInput::Linear { side, .. } => side,
        };
        let stages = dec.widths.len() - 1;
        for (i, w) in dec.widths.windows(2).enumerate() {
            if i + 1 < stages {
                let name = format!("{net} dec convT {}->{}", w[0], w[1]);
                add(Case::conv_transpose(name, w[0], w[1], dec.stride2, side));
            } else {
                for &kind in UPSAMPLERS {
                    let name = format!("{net} up {kind:?} {}->{}", w[0], w[1]);
                    match decompose(kind) {
                        None => add(Case::conv_transpose(name, w[0], w[1], dec.stride2, side)),
                        Some((_, count, kernel)) => {
                            let g = ConvGeometry::new(kernel, 1, (kernel - 1) / 2);
                            for j in 0..count {
                                let cout = if j + 1 == count { w[1] } else { w[0] };
                                add(Case::conv(format!("{name} #{j}"), w[0], cout, g, 2 * side));
                            }
                        }
                    }
                }
            }
            side *= 2;
        }
        if let Some(g) = dec.output {
            let last = *dec.widths.last().unwrap();
            add(Case::conv_transpose(
                format!("{net} dec output"),
                last,
                channels,
                g,
                side,
            ));
        }
    }
    // The CelebA net's widest layers take seconds on the reference backend per
    // batch item; one item there (the batch sums are checked by the other cases).
    for c in &mut cases {
        if c.cin * c.cout * c.kernel * c.kernel > 1 << 20 {
            c.batch = 1;
        }
    }
    cases
}

/// Cases the networks do not have but the kernels must handle: several passes
/// over the batch (im2col larger than the column budget), groups, dilation.
fn extra_cases() -> Vec<Case> {
    let g = ConvGeometry::new(4, 2, 1);
    vec![
        Case {
            batch: 5,
            ..Case::conv("passes conv 512->8".into(), 512, 8, g, 32)
        },
        Case {
            batch: 5,
            ..Case::conv_transpose("passes convT 8->512".into(), 8, 512, g, 16)
        },
        Case {
            groups: 2,
            ..Case::conv(
                "grouped conv 4->6".into(),
                4,
                6,
                ConvGeometry::new(3, 1, 1),
                9,
            )
        },
        Case {
            groups: 2,
            ..Case::conv_transpose(
                "grouped convT 4->6".into(),
                4,
                6,
                g.with_output_padding(1),
                5,
            )
        },
        Case {
            dilation: 2,
            ..Case::conv(
                "dilated conv 3->5".into(),
                3,
                5,
                ConvGeometry::new(3, 2, 2),
                11,
            )
        },
        Case {
            dilation: 2,
            ..Case::conv_transpose(
                "dilated convT 3->5".into(),
                3,
                5,
                ConvGeometry::new(3, 2, 1),
                6,
            )
        },
    ]
}

fn random(n: usize, rng: &mut rand_pcg::Pcg64) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// `values` as a float tensor of `shape` on backend `B`.
fn float<B: Backend, const D: usize>(values: &[f32], shape: [usize; D]) -> B::FloatTensorPrimitive {
    let data = TensorData::new(values.to_vec(), shape);
    Tensor::<B, D>::from_data(data, &Default::default())
        .into_primitive()
        .tensor()
}

/// The values of a `D`-dimensional float tensor of backend `B`.
fn values<B: Backend, const D: usize>(t: B::FloatTensorPrimitive) -> Vec<f32> {
    Tensor::<B, D>::from_primitive(TensorPrimitive::Float(t))
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .unwrap()
}

/// Forward output, grad x, grad w and grad b of `case` on backend `B`, for
/// inputs x, w, b and output gradient dy.
fn run<B: Backend>(case: &Case, x: &[f32], w: &[f32], b: &[f32], dy: &[f32]) -> [Vec<f32>; 4] {
    let xt = || float::<B, 4>(x, case.x_shape());
    let wt = || float::<B, 4>(w, case.w_shape());
    let bt = || float::<B, 1>(b, [b.len()]);
    let dyt = || float::<B, 4>(dy, case.y_shape());
    if case.transposed {
        let o = case.transpose_options();
        [
            values::<B, 4>(B::conv_transpose2d(xt(), wt(), Some(bt()), o.clone())),
            values::<B, 4>(B::conv_transpose2d_x_backward(wt(), dyt(), o.clone())),
            values::<B, 4>(B::conv_transpose2d_weight_backward(xt(), wt(), dyt(), o)),
            values::<B, 1>(B::conv_transpose2d_bias_backward(xt(), bt(), dyt())),
        ]
    } else {
        let o = case.conv_options();
        [
            values::<B, 4>(B::conv2d(xt(), wt(), Some(bt()), o.clone())),
            values::<B, 4>(B::conv2d_x_backward(xt(), wt(), dyt(), o.clone())),
            values::<B, 4>(B::conv2d_weight_backward(xt(), wt(), dyt(), o)),
            values::<B, 1>(B::conv2d_bias_backward(xt(), bt(), dyt())),
        ]
    }
}

/// Random operands of `case`: x, w, b, dy.
fn operands(case: &Case, seed: u64) -> [Vec<f32>; 4] {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let n = |s: [usize; 4]| s.iter().product::<usize>();
    [
        random(n(case.x_shape()), &mut rng),
        random(n(case.w_shape()), &mut rng),
        random(case.cout, &mut rng),
        random(n(case.y_shape()), &mut rng),
    ]
}

/// max |a - b| / max |b|.
fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "result sizes differ");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs()));
    if scale == 0.0 {
        diff
    } else {
        diff / scale
    }
}

fn check_against_ndarray(cases: &[Case]) {
    let parts = ["forward", "grad x", "grad w", "grad b"];
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let [x, w, b, dy] = operands(case, i as u64);
        let flex = run::<Flex>(case, &x, &w, &b, &dy);
        let reference = run::<NdArray>(case, &x, &w, &b, &dy);
        for (part, (f, r)) in parts.iter().zip(flex.iter().zip(&reference)) {
            let err = relative_error(f, r);
            if err.is_nan() || err > RELATIVE_TOLERANCE {
                failures.push(format!("{}: {part} relative error {err:.3e}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn network_convolutions_match_the_ndarray_backend() {
    let cases = network_cases();
    // 4 nets' encoders and decoders plus 13 up-samplers each, de-duplicated.
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    check_against_ndarray(&cases);
}

#[test]
fn passes_groups_and_dilation_match_the_ndarray_backend() {
    check_against_ndarray(&extra_cases());
}

/// f64 operands as flex tensors.
fn flex64(values: &[f64], shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values.to_vec(), shape.to_vec()))
}

fn flex64_values(t: FlexTensor) -> Vec<f64> {
    t.into_data().to_vec::<f64>().unwrap()
}

/// L = sum(conv(x, w, b) * dy) in f64.
fn objective(case: &Case, x: &[f64], w: &[f64], b: &[f64], dy: &[f64]) -> f64 {
    let (xt, wt) = (flex64(x, &case.x_shape()), flex64(w, &case.w_shape()));
    let bt = Some(flex64(b, &[b.len()]));
    let y = if case.transposed {
        Flex::conv_transpose2d(xt, wt, bt, case.transpose_options())
    } else {
        Flex::conv2d(xt, wt, bt, case.conv_options())
    };
    flex64_values(y).iter().zip(dy).map(|(a, b)| a * b).sum()
}

/// Central differences of [`objective`] along every element of operand `which`
/// (0 = x, 1 = w, 2 = b).
fn finite_differences(case: &Case, ops: &[Vec<f64>; 4], which: usize) -> Vec<f64> {
    const H: f64 = 1e-6;
    (0..ops[which].len())
        .map(|i| {
            let mut plus = ops.clone();
            plus[which][i] += H;
            let mut minus = ops.clone();
            minus[which][i] -= H;
            let f = |o: &[Vec<f64>; 4]| objective(case, &o[0], &o[1], &o[2], &o[3]);
            (f(&plus) - f(&minus)) / (2.0 * H)
        })
        .collect()
}

#[test]
fn gradients_match_finite_differences_in_f64() {
    let g = ConvGeometry::new(3, 2, 1);
    let cases = [
        Case::conv("conv k3 s2 p1".into(), 2, 3, g, 5),
        Case::conv("conv k4 s2 p1".into(), 2, 3, ConvGeometry::new(4, 2, 1), 6),
        Case::conv("conv k5 s1 p2".into(), 2, 2, ConvGeometry::new(5, 1, 2), 4),
        Case {
            dilation: 2,
            ..Case::conv("conv dilated".into(), 2, 2, g, 6)
        },
        Case {
            groups: 2,
            ..Case::conv("conv grouped".into(), 4, 2, g, 5)
        },
        Case::conv_transpose("convT k4 s2 p1".into(), 2, 3, ConvGeometry::new(4, 2, 1), 3),
        Case::conv_transpose(
            "convT k3 s2 p1 op1".into(),
            2,
            3,
            g.with_output_padding(1),
            3,
        ),
        Case::conv_transpose("convT k1 s1".into(), 3, 2, ConvGeometry::new(1, 1, 0), 4),
        Case {
            groups: 2,
            ..Case::conv_transpose("convT grouped".into(), 4, 2, g, 3)
        },
    ];
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let ops = operands(case, 100 + i as u64)
            .map(|v| v.iter().map(|&x| x as f64).collect::<Vec<f64>>());
        let (x, w) = (
            flex64(&ops[0], &case.x_shape()),
            flex64(&ops[1], &case.w_shape()),
        );
        let (b, dy) = (
            flex64(&ops[2], &[case.cout]),
            flex64(&ops[3], &case.y_shape()),
        );
        let analytic = if case.transposed {
            let o = case.transpose_options();
            [
                Flex::conv_transpose2d_x_backward(w.clone(), dy.clone(), o.clone()),
                Flex::conv_transpose2d_weight_backward(x.clone(), w, dy.clone(), o),
                Flex::conv_transpose2d_bias_backward(x, b, dy),
            ]
        } else {
            let o = case.conv_options();
            [
                Flex::conv2d_x_backward(x.clone(), w.clone(), dy.clone(), o.clone()),
                Flex::conv2d_weight_backward(x.clone(), w, dy.clone(), o),
                Flex::conv2d_bias_backward(x, b, dy),
            ]
        };
        for (which, grad) in analytic.into_iter().enumerate() {
            let grad = flex64_values(grad);
            let numeric = finite_differences(case, &ops, which);
            let err = grad
                .iter()
                .zip(&numeric)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() / b.abs().max(1.0)));
            if err.is_nan() || err > 1e-6 {
                failures.push(format!("{}: operand {which}: error {err:.3e}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// All four results of `case` computed on a rayon pool of `threads` threads.
fn on_threads(case: &Case, ops: &[Vec<f32>; 4], threads: usize) -> [Vec<f32>; 4] {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| run::<Flex>(case, &ops[0], &ops[1], &ops[2], &ops[3]))
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let mut cases = extra_cases();
    cases.extend(
        network_cases()
            .into_iter()
            .filter(|c| c.name.starts_with("irmae_mnist")),
    );
    for (i, case) in cases.iter().enumerate() {
        let ops = operands(case, 200 + i as u64);
        let one = on_threads(case, &ops, 1);
        let two = on_threads(case, &ops, 2);
        let three = on_threads(case, &ops, 3);
        for part in 0..4 {
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&one[part]),
                bits(&two[part]),
                "{}: part {part}, 1 vs 2 threads",
                case.name
            );
            assert_eq!(
                bits(&one[part]),
                bits(&three[part]),
                "{}: part {part}, 1 vs 3 threads",
                case.name
            );
        }
    }
}
