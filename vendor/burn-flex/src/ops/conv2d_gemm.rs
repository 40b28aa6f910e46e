//! 2-D convolution and transposed convolution, forward and all three
//! gradients, as im2col / col2im + GEMM over passes of batch items.
//!
//! Covers f32, f64 and f16 (bf16 goes through f32), any groups, stride,
//! padding, dilation and output padding. Each product is a [`gemm::gemm`]
//! call on the whole channel × kernel matrix of a pass (a few batch items laid
//! side by side), reading the weight in place (transposed through strides).
//! Six kernels rest on three products: [`im2col_product`] (`W · im2col(x)`),
//! its adjoint [`col2im_product`] and [`weight_gradient`].
//!
//! Determinism: threads share the work by a fixed partition, never by timing.
//! Per-item products (forward passes, input gradients) run one pass per task
//! (or, with fewer passes than threads, split each GEMM); sums over the batch
//! (weight and bias gradients) add the passes in batch order, and gemm's own
//! threads split the output tiles while each output element's sum over `k`
//! keeps one order. Results are therefore bit-identical
//! for any number of rayon threads.

use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use burn_backend::DType;
use burn_backend::ops::{ConvOptions, ConvTransposeOptions};
use burn_std::{Bytes, Shape};

use burn_backend::Element;
use num_traits::Float;

use crate::{FlexTensor, Layout};

/// Element types the kernels run on (those gemm multiplies natively).
pub(crate) trait ConvElement:
    Element + bytemuck::Pod + Float + Send + Sync + 'static
{
}
impl ConvElement for f32 {}
impl ConvElement for f64 {}
impl ConvElement for burn_std::f16 {}

/// Columns (output positions) a pass of a forward or input-gradient product
/// gathers from its batch items, so that layers with small maps still give
/// GEMM a wide matrix; layers with larger maps go one item per pass.
const MIN_PASS_COLUMNS: usize = 256;
/// Most bytes of im2col columns a pass of a weight gradient holds: about
/// half a core's L2 cache, where the GEMM that follows finds them (larger
/// passes measured slower on the IRMAE nets' layers).
const WEIGHT_PASS_BYTES: usize = 512 << 10;

/// A convolution read as "`channels` planes of `in_hw` pixels give `out_hw`
/// output positions": output position `o` and kernel tap `t` read input
/// `o * stride + t * dilation - padding` (zero outside the plane).
#[derive(Clone, Copy, Debug)]
struct Geometry {
    channels: usize,
    in_hw: [usize; 2],
    out_hw: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    /// Groups: the channels split into this many equal, independent parts.
    groups: usize,
}

impl Geometry {
    /// Elements of one batch item's input planes.
    fn in_len(&self) -> usize {
        self.channels * self.in_hw[0] * self.in_hw[1]
    }

    /// Rows of the im2col matrix: channel × kernel tap.
    fn col_rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// Rows of one group's part of the im2col matrix.
    fn group_rows(&self) -> usize {
        self.col_rows() / self.groups
    }

    /// Columns of the im2col matrix: output positions.
    fn col_cols(&self) -> usize {
        self.out_hw[0] * self.out_hw[1]
    }

    /// Output positions along `axis` whose input for tap `tap` lies inside the plane.
    fn valid(&self, axis: usize, tap: usize) -> Range<usize> {
        let offset = tap * self.dilation[axis];
        let (stride, pad) = (self.stride[axis], self.padding[axis]);
        let out_len = self.out_hw[axis];
        // o * stride + offset >= pad
        let lo = pad.saturating_sub(offset).div_ceil(stride).min(out_len);
        // o * stride + offset < in_len + pad
        let hi = (self.in_hw[axis] + pad)
            .saturating_sub(offset)
            .div_ceil(stride)
            .clamp(lo, out_len);
        lo..hi
    }

    /// Input index along `axis` of output position `o` at tap `tap` (inside the plane).
    fn source(&self, axis: usize, o: usize, tap: usize) -> usize {
        o * self.stride[axis] + tap * self.dilation[axis] - self.padding[axis]
    }
}

/// Writes the `KH·KW` im2col rows of one input plane: row `(kh, kw)`, column
/// `(oh, ow)` = `plane[source(oh, kh), source(ow, kw)]`, zero where that is
/// padding. Row `r` starts at `rows[r * row_stride]` and is `out_h·out_w` long.
fn im2col_plane<T: ConvElement>(plane: &[T], g: &Geometry, rows: &mut [T], row_stride: usize) {
    let [in_h, in_w] = g.in_hw;
    let [out_h, out_w] = g.out_hw;
    let zero = T::zero();
    let plane = &plane[..in_h * in_w];
    for kh in 0..g.kernel[0] {
        let valid_h = g.valid(0, kh);
        for kw in 0..g.kernel[1] {
            let valid_w = g.valid(1, kw);
            let r = kh * g.kernel[1] + kw;
            let row = &mut rows[r * row_stride..][..out_h * out_w];
            for (oh, dst) in row.chunks_exact_mut(out_w).enumerate() {
                if !valid_h.contains(&oh) || valid_w.is_empty() {
                    dst.fill(zero);
                    continue;
                }
                let src = &plane[g.source(0, oh, kh) * in_w..][..in_w];
                dst[..valid_w.start].fill(zero);
                dst[valid_w.end..].fill(zero);
                if g.stride[1] == 1 {
                    let first = g.source(1, valid_w.start, kw);
                    dst[valid_w.clone()].copy_from_slice(&src[first..][..valid_w.len()]);
                } else {
                    for ow in valid_w.clone() {
                        dst[ow] = src[g.source(1, ow, kw)];
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col_plane`]: adds each entry of the `KH·KW` rows into
/// the pixel of `plane` it was read from.
fn col2im_plane<T: ConvElement>(rows: &[T], row_stride: usize, g: &Geometry, plane: &mut [T]) {
    let in_w = g.in_hw[1];
    let out_w = g.out_hw[1];
    for kh in 0..g.kernel[0] {
        let valid_h = g.valid(0, kh);
        for kw in 0..g.kernel[1] {
            let valid_w = g.valid(1, kw);
            if valid_w.is_empty() {
                continue;
            }
            let row = &rows[(kh * g.kernel[1] + kw) * row_stride..];
            for oh in valid_h.clone() {
                let src = &row[oh * out_w..][..out_w];
                let dst = &mut plane[g.source(0, oh, kh) * in_w..][..in_w];
                if g.stride[1] == 1 {
                    let first = g.source(1, valid_w.start, kw);
                    let dst = &mut dst[first..][..valid_w.len()];
                    for (d, s) in dst.iter_mut().zip(&src[valid_w.clone()]) {
                        *d = *d + *s;
                    }
                } else {
                    for ow in valid_w.clone() {
                        let d = &mut dst[g.source(1, ow, kw)];
                        *d = *d + src[ow];
                    }
                }
            }
        }
    }
}

/// A read-only matrix view for [`matmul`]: `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy)]
struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// The first `rows` × `cols` elements of `data`, read row-major.
    fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix view out of bounds");
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Group `group`'s rows when the matrix is split into `groups` equal row blocks.
    fn row_block(self, group: usize, groups: usize) -> Self {
        let rows = self.rows / groups;
        Self {
            data: &self.data[group * rows * self.row_stride..],
            rows,
            ..self
        }
    }

    /// The transposed view of the same data.
    fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// `dst` (row-major `a.rows` × `b.cols`) = `a · b`, or `dst + a · b` when
/// `accumulate`. `parallel` lets gemm split the output tiles over the current
/// rayon pool (each element's sum keeps its order, so results do not depend on it).
fn matmul<T: ConvElement>(
    dst: &mut [T],
    accumulate: bool,
    a: MatRef<T>,
    b: MatRef<T>,
    parallel: bool,
) {
    assert_eq!(a.cols, b.rows, "matmul: inner dimensions differ");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(dst.len(), m * n, "matmul: destination size");
    let last =
        |v: &MatRef<T>| (v.rows.max(1) - 1) * v.row_stride + (v.cols.max(1) - 1) * v.col_stride;
    assert!(
        last(&a) < a.data.len().max(1) && last(&b) < b.data.len().max(1),
        "matmul: view out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(T::zero());
        }
        return;
    }
    #[cfg(feature = "rayon")]
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    #[cfg(not(feature = "rayon"))]
    let parallelism = {
        let _ = parallel;
        gemm::Parallelism::None
    };
    // SAFETY: both views were checked above to stay inside their slices, and
    // `dst` holds exactly m × n elements.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            if accumulate { T::one() } else { T::zero() },
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Runs `f(index, chunk)` on each `len`-sized chunk of `data`, in parallel.
/// Every chunk is written by one task, so the result does not depend on how
/// the tasks are scheduled.
fn par_chunks<T: ConvElement>(
    data: &mut [T],
    len: usize,
    f: impl Fn(usize, &mut [T]) + Send + Sync,
) {
    if len == 0 {
        return;
    }
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
    #[cfg(not(feature = "rayon"))]
    data.chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
}

/// A pass over part of the batch: its items, laid side by side as the
/// columns of "wide" matrices (`rows` × `items.len()·cols`), so that one
/// GEMM covers the whole pass.
#[derive(Clone)]
struct Pass {
    items: Range<usize>,
}

impl Pass {
    /// Consecutive passes of `per_pass` items over `batch` items.
    fn split(batch: usize, per_pass: usize) -> impl Iterator<Item = Pass> {
        (0..batch).step_by(per_pass.max(1)).map(move |start| Pass {
            items: start..(start + per_pass).min(batch),
        })
    }

    /// Columns of the pass's wide matrices for `cols` columns per item.
    fn width(&self, cols: usize) -> usize {
        self.items.len() * cols
    }

    /// `wide[r, i·cols + c]` = `src[item i][r, c]`, for items stored as
    /// contiguous `rows` × `cols` blocks.
    fn gather<T: ConvElement>(&self, src: &[T], rows: usize, cols: usize, wide: &mut [T]) {
        let width = self.width(cols);
        for (i, n) in self.items.clone().enumerate() {
            for r in 0..rows {
                wide[r * width + i * cols..][..cols]
                    .copy_from_slice(&src[(n * rows + r) * cols..][..cols]);
            }
        }
    }

    /// The inverse of [`Pass::gather`]: `out` holds the pass's items.
    fn scatter<T: ConvElement>(&self, wide: &[T], rows: usize, cols: usize, out: &mut [T]) {
        let width = self.width(cols);
        for (k, dst) in out.chunks_exact_mut(cols).enumerate() {
            let (i, r) = (k / rows, k % rows);
            dst.copy_from_slice(&wide[r * width + i * cols..][..cols]);
        }
    }

    /// The wide im2col matrix (`g.col_rows()` × `width(g.col_cols())`) of the
    /// pass's items of `src` (items of `g.in_len()` elements). With `parallel`,
    /// one channel per task.
    fn im2col<T: ConvElement>(&self, src: &[T], g: &Geometry, wide: &mut [T], parallel: bool) {
        let (l, width) = (g.col_cols(), self.width(g.col_cols()));
        let taps = g.kernel[0] * g.kernel[1];
        let plane_len = g.in_hw[0] * g.in_hw[1];
        let channel = |c: usize, rows: &mut [T]| {
            for (i, n) in self.items.clone().enumerate() {
                let plane = &src[n * g.in_len() + c * plane_len..][..plane_len];
                im2col_plane(plane, g, &mut rows[i * l..], width);
            }
        };
        let wide = &mut wide[..g.col_rows() * width];
        if parallel {
            par_chunks(wide, taps * width, channel);
        } else {
            wide.chunks_mut(taps * width)
                .enumerate()
                .for_each(|(c, rows)| channel(c, rows));
        }
    }

    /// Adds the wide column matrix back into `out`, the pass's items (the
    /// adjoint of [`Pass::im2col`]).
    fn col2im_add<T: ConvElement>(&self, wide: &[T], g: &Geometry, out: &mut [T]) {
        let (l, width) = (g.col_cols(), self.width(g.col_cols()));
        let taps = g.kernel[0] * g.kernel[1];
        let plane_len = g.in_hw[0] * g.in_hw[1];
        for (k, plane) in out.chunks_exact_mut(plane_len).enumerate() {
            let (i, c) = (k / g.channels, k % g.channels);
            col2im_plane(&wide[c * taps * width + i * l..], width, g, plane);
        }
    }
}

/// Scratch buffers of one task.
type Scratch<T> = (Vec<T>, Vec<T>);

/// Runs `f(pass, out, scratch, parallel_gemm)` for the passes of a per-item
/// product (forward or input gradient) over `batch` items with `cols` output
/// positions each: `out` is the pass's part of `out_all` (`item_len` per item).
/// Passes run in parallel; when there are fewer passes than threads, each
/// pass's GEMM is split over the threads instead. Either way every element is
/// computed by the same operations, so results do not depend on the thread count.
fn for_each_pass<T: ConvElement>(
    out_all: &mut [T],
    item_len: usize,
    batch: usize,
    cols: usize,
    f: impl Fn(&Pass, &mut [T], &mut Scratch<T>, bool) + Send + Sync,
) {
    let per_pass = MIN_PASS_COLUMNS
        .div_ceil(cols.max(1))
        .clamp(1, batch.max(1));
    let passes = batch.div_ceil(per_pass);
    if item_len == 0 || passes == 0 {
        return;
    }
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        let parallel_gemm = passes < rayon::current_num_threads();
        out_all
            .par_chunks_mut(per_pass * item_len)
            .enumerate()
            .for_each_init(
                || (Vec::new(), Vec::new()),
                |scratch, (i, out)| {
                    let pass = Pass {
                        items: i * per_pass..((i + 1) * per_pass).min(batch),
                    };
                    f(&pass, out, scratch, parallel_gemm)
                },
            );
    }
    #[cfg(not(feature = "rayon"))]
    {
        let mut scratch = (Vec::new(), Vec::new());
        for (i, out) in out_all.chunks_mut(per_pass * item_len).enumerate() {
            let pass = Pass {
                items: i * per_pass..((i + 1) * per_pass).min(batch),
            };
            f(&pass, out, &mut scratch, false);
        }
    }
}

/// `dst` = (or += when `accumulate`) `a(i) · b(i)` for each group `i`, whose
/// product fills `dst`'s `i`th of `groups` equal blocks of rows.
fn grouped_matmul<'a, T: ConvElement>(
    dst: &mut [T],
    accumulate: bool,
    parallel: bool,
    groups: usize,
    a: impl Fn(usize) -> MatRef<'a, T>,
    b: impl Fn(usize) -> MatRef<'a, T>,
) {
    let block = dst.len() / groups;
    for (group, dst) in dst.chunks_exact_mut(block).enumerate() {
        matmul(dst, accumulate, a(group), b(group), parallel);
    }
}

/// Shape of a 4-D tensor.
fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

/// A contiguous tensor of `shape` holding `data`.
fn tensor<T: ConvElement>(data: Vec<T>, shape: &[usize]) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(Shape::from(shape.to_vec())),
        T::dtype(),
    )
}

/// Adds `bias[c]` to every element of channel `c` of an `[N, C, H, W]` buffer.
fn add_bias<T: ConvElement>(out: &mut [T], bias: Option<FlexTensor>, plane: usize) {
    let Some(bias) = bias else { return };
    let bias = bias.to_contiguous();
    let bias: &[T] = bias.storage();
    for (i, dst) in out.chunks_exact_mut(plane).enumerate() {
        let b = bias[i % bias.len()];
        dst.iter_mut().for_each(|v| *v = *v + b);
    }
}

/// `W · im2col(src)` for each of `batch` items of `src` (`g.in_len()` each),
/// group by group, `w` being `rows` × `g.group_rows()`: `rows` × `g.col_cols()`
/// per item. The forward convolution and the transposed one's input gradient.
fn im2col_product<T: ConvElement>(
    w: &[T],
    rows: usize,
    src: &[T],
    g: &Geometry,
    batch: usize,
) -> Vec<T> {
    let l = g.col_cols();
    let w = MatRef::row_major(w, rows, g.group_rows());
    let mut out = vec![T::zero(); batch * rows * l];
    for_each_pass(
        &mut out,
        rows * l,
        batch,
        l,
        |pass, out, (cols, wide), parallel| {
            let width = pass.width(l);
            cols.resize(g.col_rows() * width, T::zero());
            wide.resize(rows * width, T::zero());
            pass.im2col(src, g, cols, false);
            let c = MatRef::row_major(cols, g.col_rows(), width);
            grouped_matmul(
                wide,
                false,
                parallel,
                g.groups,
                |i| w.row_block(i, g.groups),
                |i| c.row_block(i, g.groups),
            );
            pass.scatter(wide, rows, l, out);
        },
    );
    out
}

/// `col2im(Wᵀ · a)` for each of `batch` items of `a` (`rows` × `g.col_cols()`
/// each), group by group, `w` being `rows` × `g.group_rows()`: `g.in_len()` per
/// item. The adjoint of [`im2col_product`]: the forward convolution's input
/// gradient and the transposed convolution.
fn col2im_product<T: ConvElement>(
    w: &[T],
    rows: usize,
    a: &[T],
    g: &Geometry,
    batch: usize,
) -> Vec<T> {
    let l = g.col_cols();
    let w = MatRef::row_major(w, rows, g.group_rows());
    let mut out = vec![T::zero(); batch * g.in_len()];
    for_each_pass(
        &mut out,
        g.in_len(),
        batch,
        l,
        |pass, out, (cols, wide), parallel| {
            let width = pass.width(l);
            cols.resize(g.col_rows() * width, T::zero());
            wide.resize(rows * width, T::zero());
            pass.gather(a, rows, l, wide);
            let am = MatRef::row_major(wide, rows, width);
            grouped_matmul(
                cols,
                false,
                parallel,
                g.groups,
                |i| w.row_block(i, g.groups).t(),
                |i| am.row_block(i, g.groups),
            );
            pass.col2im_add(cols, g, out);
        },
    );
    out
}

/// Geometry of `conv2d(x, weight, options)` with x `[N, C, H, W]` and weight
/// `[O, C / groups, KH, KW]`: the input planes are x's, the outputs its output positions.
fn conv_geometry(x: [usize; 4], w: [usize; 4], options: &ConvOptions<2>) -> Geometry {
    let out = |axis: usize| {
        let span = options.dilation[axis] * (w[2 + axis] - 1) + 1;
        (x[2 + axis] + 2 * options.padding[axis] - span) / options.stride[axis] + 1
    };
    Geometry {
        channels: x[1],
        in_hw: [x[2], x[3]],
        out_hw: [out(0), out(1)],
        kernel: [w[2], w[3]],
        stride: options.stride,
        padding: options.padding,
        dilation: options.dilation,
        groups: options.groups,
    }
}

/// Geometry of `conv_transpose2d` from `in_hw` to `cout` planes of `out_hw`
/// (weight `[Cin, Cout / groups, KH, KW]`), read as the convolution it
/// transposes: the output planes are that convolution's input, the transposed
/// convolution's input positions its outputs.
fn transpose_geometry(
    cout: usize,
    out_hw: [usize; 2],
    in_hw: [usize; 2],
    kernel: [usize; 2],
    options: &ConvTransposeOptions<2>,
) -> Geometry {
    Geometry {
        channels: cout,
        in_hw: out_hw,
        out_hw: in_hw,
        kernel,
        stride: options.stride,
        padding: options.padding,
        dilation: options.dilation,
        groups: options.groups,
    }
}

/// `conv2d` forward: `out = W · im2col(x)` (+ bias), per pass and group.
pub(crate) fn conv2d<T: ConvElement>(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (xd, wd) = (dims4(&x), dims4(&weight));
    let g = conv_geometry(xd, wd, options);
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let (xs, ws): (&[T], &[T]) = (x.storage(), weight.storage());
    let mut out = im2col_product(ws, wd[0], xs, &g, xd[0]);
    add_bias(&mut out, bias, g.col_cols());
    tensor(out, &[xd[0], wd[0], g.out_hw[0], g.out_hw[1]])
}

/// Gradient of `conv2d` with respect to x: `dx = col2im(Wᵀ · dy)`, per pass and group.
pub(crate) fn conv2d_x_backward<T: ConvElement>(
    x: &FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (xd, wd) = (dims4(x), dims4(&weight));
    let g = conv_geometry(xd, wd, options);
    let (weight, dy) = (weight.to_contiguous(), output_grad.to_contiguous());
    let (ws, dys): (&[T], &[T]) = (weight.storage(), dy.storage());
    tensor(col2im_product(ws, wd[0], dys, &g, xd[0]), &xd)
}

/// Gradient of `conv2d` with respect to the weight: the batch sum of
/// `dy · im2col(x)ᵀ`, pass by pass in batch order.
pub(crate) fn conv2d_weight_backward<T: ConvElement>(
    x: FlexTensor,
    weight: &FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (xd, wd) = (dims4(&x), dims4(weight));
    let g = conv_geometry(xd, wd, options);
    let (x, dy) = (x.to_contiguous(), output_grad.to_contiguous());
    let (xs, dys): (&[T], &[T]) = (x.storage(), dy.storage());
    tensor(weight_gradient(dys, wd[0], xs, &g, xd[0]), &wd)
}

/// The batch sum of `a · im2col(src)ᵀ` (`rows` × `g.group_rows()` per group,
/// stacked), where `a` holds `rows` × `g.col_cols()` per item and `src`
/// `g.in_len()` per item: a weight gradient, summed pass by pass in batch order.
fn weight_gradient<T: ConvElement>(
    a: &[T],
    rows: usize,
    src: &[T],
    g: &Geometry,
    batch: usize,
) -> Vec<T> {
    let l = g.col_cols();
    let mut dw = vec![T::zero(); rows * g.group_rows()];
    let (mut cols, mut a_wide) = (Vec::new(), Vec::new());
    let item_bytes = g.col_rows() * l * core::mem::size_of::<T>();
    let per_pass = (WEIGHT_PASS_BYTES / item_bytes.max(1)).clamp(1, batch.max(1));
    for pass in Pass::split(batch, per_pass) {
        let width = pass.width(l);
        cols.resize(g.col_rows() * width, T::zero());
        a_wide.resize(rows * width, T::zero());
        pass.gather(a, rows, l, &mut a_wide);
        pass.im2col(src, g, &mut cols, true);
        let (am, c) = (
            MatRef::row_major(&a_wide, rows, width),
            MatRef::row_major(&cols, g.col_rows(), width),
        );
        let accumulate = pass.items.start > 0;
        grouped_matmul(
            &mut dw,
            accumulate,
            true,
            g.groups,
            |i| am.row_block(i, g.groups),
            |i| c.row_block(i, g.groups).t(),
        );
    }
    dw
}

/// Gradient of a (transposed) convolution's bias: the sum of `output_grad`
/// `[N, C, H, W]` over N, H and W, each channel summed in order in f64.
pub(crate) fn bias_backward<T: ConvElement>(output_grad: FlexTensor) -> FlexTensor {
    let d = dims4(&output_grad);
    let dy = output_grad.to_contiguous();
    let dys: &[T] = dy.storage();
    let plane = d[2] * d[3];
    let sums: Vec<T> = (0..d[1])
        .map(|c| {
            let mut s = 0.0f64;
            for n in 0..d[0] {
                for v in &dys[(n * d[1] + c) * plane..][..plane] {
                    s += num_traits::ToPrimitive::to_f64(v).unwrap_or(f64::NAN);
                }
            }
            T::from(s).unwrap_or_else(T::nan)
        })
        .collect();
    tensor(sums, &[d[1]])
}

/// Output side of `conv_transpose2d` along `axis` for an input side `len`.
fn transpose_out(len: usize, kernel: usize, axis: usize, o: &ConvTransposeOptions<2>) -> usize {
    (len - 1) * o.stride[axis] + o.dilation[axis] * (kernel - 1) + o.padding_out[axis] + 1
        - 2 * o.padding[axis]
}

/// Input side of `conv_transpose2d` along `axis` for an output side `len`.
fn transpose_in(len: usize, kernel: usize, axis: usize, o: &ConvTransposeOptions<2>) -> usize {
    (len + 2 * o.padding[axis] - o.dilation[axis] * (kernel - 1) - o.padding_out[axis] - 1)
        / o.stride[axis]
        + 1
}

/// `conv_transpose2d` forward: `out = col2im(Wᵀ · x)` (+ bias), per pass and group.
pub(crate) fn conv_transpose2d<T: ConvElement>(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvTransposeOptions<2>,
) -> FlexTensor {
    let (xd, wd) = (dims4(&x), dims4(&weight));
    let out_hw = [
        transpose_out(xd[2], wd[2], 0, options),
        transpose_out(xd[3], wd[3], 1, options),
    ];
    let cout = wd[1] * options.groups;
    let g = transpose_geometry(cout, out_hw, [xd[2], xd[3]], [wd[2], wd[3]], options);
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let (xs, ws): (&[T], &[T]) = (x.storage(), weight.storage());
    let mut out = col2im_product(ws, xd[1], xs, &g, xd[0]);
    add_bias(&mut out, bias, out_hw[0] * out_hw[1]);
    tensor(out, &[xd[0], cout, out_hw[0], out_hw[1]])
}

/// Gradient of `conv_transpose2d` with respect to x: `dx = W · im2col(dy)`,
/// per pass and group.
pub(crate) fn conv_transpose2d_x_backward<T: ConvElement>(
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvTransposeOptions<2>,
) -> FlexTensor {
    let (wd, dyd) = (dims4(&weight), dims4(&output_grad));
    let in_hw = [
        transpose_in(dyd[2], wd[2], 0, options),
        transpose_in(dyd[3], wd[3], 1, options),
    ];
    let g = transpose_geometry(dyd[1], [dyd[2], dyd[3]], in_hw, [wd[2], wd[3]], options);
    let (weight, dy) = (weight.to_contiguous(), output_grad.to_contiguous());
    let (ws, dys): (&[T], &[T]) = (weight.storage(), dy.storage());
    let dx = im2col_product(ws, wd[0], dys, &g, dyd[0]);
    tensor(dx, &[dyd[0], wd[0], in_hw[0], in_hw[1]])
}

/// Gradient of `conv_transpose2d` with respect to the weight: the batch sum
/// of `x · im2col(dy)ᵀ`, pass by pass in batch order.
pub(crate) fn conv_transpose2d_weight_backward<T: ConvElement>(
    x: FlexTensor,
    weight: &FlexTensor,
    output_grad: FlexTensor,
    options: &ConvTransposeOptions<2>,
) -> FlexTensor {
    let (xd, wd, dyd) = (dims4(&x), dims4(weight), dims4(&output_grad));
    let g = transpose_geometry(
        dyd[1],
        [dyd[2], dyd[3]],
        [xd[2], xd[3]],
        [wd[2], wd[3]],
        options,
    );
    let (x, dy) = (x.to_contiguous(), output_grad.to_contiguous());
    let (xs, dys): (&[T], &[T]) = (x.storage(), dy.storage());
    tensor(weight_gradient(xs, xd[1], dys, &g, xd[0]), &wd)
}

/// bf16 operands are computed in f32 (as flex's other bf16 convolutions are).
fn widen(t: FlexTensor) -> FlexTensor {
    if t.dtype() == DType::BF16 {
        super::conv_common::convert_bf16_to_f32(&t)
    } else {
        t
    }
}

/// Calls kernel `$f` for the element type of `$dtype` (a bf16 caller has
/// already widened its operands to f32).
macro_rules! typed {
    ($dtype:expr, $f:ident($($arg:expr),*)) => {
        match $dtype {
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
            DType::F16 => $f::<burn_std::f16>($($arg),*),
            dtype => panic!("{}: unsupported dtype {:?}", stringify!($f), dtype),
        }
    };
}

/// Runs `f` on operands of dtype `dtype`, bf16 through f32.
fn in_dtype(dtype: DType, f: impl FnOnce(DType) -> FlexTensor) -> FlexTensor {
    if dtype == DType::BF16 {
        super::conv_common::convert_f32_to_bf16(&f(DType::F32))
    } else {
        f(dtype)
    }
}

/// [`conv2d`] for any float dtype.
pub(crate) fn conv2d_any(
    x: FlexTensor,
    w: FlexTensor,
    b: Option<FlexTensor>,
    o: &ConvOptions<2>,
) -> FlexTensor {
    in_dtype(x.dtype(), |d| {
        typed!(d, conv2d(widen(x), widen(w), b.map(widen), o))
    })
}

/// [`conv2d_x_backward`] for any float dtype.
pub(crate) fn conv2d_x_backward_any(
    x: FlexTensor,
    w: FlexTensor,
    dy: FlexTensor,
    o: &ConvOptions<2>,
) -> FlexTensor {
    in_dtype(dy.dtype(), |d| {
        typed!(d, conv2d_x_backward(&x, widen(w), widen(dy), o))
    })
}

/// [`conv2d_weight_backward`] for any float dtype.
pub(crate) fn conv2d_weight_backward_any(
    x: FlexTensor,
    w: FlexTensor,
    dy: FlexTensor,
    o: &ConvOptions<2>,
) -> FlexTensor {
    in_dtype(dy.dtype(), |d| {
        typed!(d, conv2d_weight_backward(widen(x), &w, widen(dy), o))
    })
}

/// [`bias_backward`] for any float dtype.
pub(crate) fn bias_backward_any(dy: FlexTensor) -> FlexTensor {
    in_dtype(dy.dtype(), |d| typed!(d, bias_backward(widen(dy))))
}

/// [`conv_transpose2d`] for any float dtype.
pub(crate) fn conv_transpose2d_any(
    x: FlexTensor,
    w: FlexTensor,
    b: Option<FlexTensor>,
    o: &ConvTransposeOptions<2>,
) -> FlexTensor {
    in_dtype(x.dtype(), |d| {
        typed!(d, conv_transpose2d(widen(x), widen(w), b.map(widen), o))
    })
}

/// [`conv_transpose2d_x_backward`] for any float dtype.
pub(crate) fn conv_transpose2d_x_backward_any(
    w: FlexTensor,
    dy: FlexTensor,
    o: &ConvTransposeOptions<2>,
) -> FlexTensor {
    in_dtype(dy.dtype(), |d| {
        typed!(d, conv_transpose2d_x_backward(widen(w), widen(dy), o))
    })
}

/// [`conv_transpose2d_weight_backward`] for any float dtype.
pub(crate) fn conv_transpose2d_weight_backward_any(
    x: FlexTensor,
    w: FlexTensor,
    dy: FlexTensor,
    o: &ConvTransposeOptions<2>,
) -> FlexTensor {
    in_dtype(dy.dtype(), |d| {
        typed!(
            d,
            conv_transpose2d_weight_backward(widen(x), &w, widen(dy), o)
        )
    })
}
