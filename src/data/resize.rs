//! Bilinear resampling that reproduces Pillow's `Image.resize(size, BILINEAR)`.
//!
//! torchvision's `Resize` on a PIL image calls Pillow, so IRMAE's MNIST (28 -> 32)
//! and CelebA (148 -> 64) pixels come from Pillow's resampler, not from a textbook
//! bilinear interpolation. Pillow's "bilinear" is a separable convolution with a
//! triangle filter whose support grows with the down-scaling factor, i.e. it
//! antialiases when shrinking. Per output index `o` along one axis (input length
//! `n_in`, output length `n_out`):
//!
//! - `scale = n_in / n_out`, `filterscale = max(scale, 1)`, `support = 1 * filterscale`;
//! - `center = (o + 0.5) * scale`;
//! - taps `x` from `trunc(center - support + 0.5)` (at least 0) up to, excluding,
//!   `trunc(center + support + 0.5)` (at most `n_in`);
//! - weight `tri((x - center + 0.5) / filterscale)` with `tri(t) = max(1 - |t|, 0)`,
//!   then the weights are divided by their sum.
//!
//! When both sides change, Pillow runs the horizontal pass first and the vertical
//! pass on its result; an axis whose length does not change is not resampled at all.
//! This module always does horizontal first. Caveat: Pillow 13 (PR #9549) runs the
//! vertical pass first when the height shrinks much more than the width, which
//! changes the rounding of the 8-bit intermediate image. Resizes that keep the aspect
//! ratio (MNIST 28 -> 32, CelebA 148 -> 64) are horizontal-first in every Pillow
//! version, so they match old and new Pillow alike.
//!
//! Two pixel types are offered because Pillow itself has two code paths:
//! - [`resize_bilinear_pil`] works on `f32` with `f64` accumulation, like Pillow's
//!   mode `F` (32-bit float) path; nothing is rounded.
//! - [`resize_bilinear_pil_u8`] reproduces Pillow's 8-bit path (modes `L`, `RGB`):
//!   weights in 22-bit fixed point, and *both* passes round and clamp to `0..=255`
//!   (the intermediate image is 8-bit too). This is the path torchvision takes for
//!   MNIST and CelebA, so it is the one that matches their tensors bit for bit.
//!
//! For resizing many images of the same size, build a [`PilBilinear`] once and reuse
//! it: the filter weights depend only on the sizes.

/// Version of the image resizing (CelebA, folders).
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// Pillow's fixed-point precision for 8-bit images (`32 - 8 - 2`): leaves room for a
/// sum of 8-bit pixels times weights below 1 without overflowing 32 bits.
const PRECISION_BITS: u32 = 22;

/// The filter taps of one axis: for each output index the first input index, the
/// number of taps, and the normalised weights (float and fixed point).
#[derive(Debug, Clone)]
struct AxisCoeffs {
    /// Taps per output index reserved in `weights` (Pillow's `ksize`).
    ksize: usize,
    /// `(first input index, tap count)` per output index.
    bounds: Vec<(usize, usize)>,
    /// `ksize` weights per output index; only the first `count` are used.
    weights: Vec<f64>,
    /// The same weights in Pillow's 22-bit fixed point.
    weights_fixed: Vec<i32>,
}

/// Pillow's bilinear filter: the triangle `max(1 - |t|, 0)`.
fn triangle(t: f64) -> f64 {
    let t = t.abs();
    if t < 1.0 {
        1.0 - t
    } else {
        0.0
    }
}

impl AxisCoeffs {
    /// Mirrors Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc`, including
    /// the C truncating casts, so that the tap windows are the same.
    fn new(in_size: usize, out_size: usize) -> AxisCoeffs {
        let scale = in_size as f64 / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = filterscale; // the bilinear filter's own support is 1
        let ksize = support.ceil() as usize * 2 + 1;
        let mut bounds = Vec::with_capacity(out_size);
        let mut weights = vec![0.0f64; out_size * ksize];
        let ss = 1.0 / filterscale;
        for xx in 0..out_size {
            let center = (xx as f64 + 0.5) * scale;
            // `as i64` truncates toward zero like C's `(int)`; negatives clamp to 0.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let count = xmax.saturating_sub(xmin);
            let k = &mut weights[xx * ksize..xx * ksize + count];
            let mut total = 0.0;
            for (x, w) in k.iter_mut().enumerate() {
                *w = triangle(((x + xmin) as f64 - center + 0.5) * ss);
                total += *w;
            }
            if total != 0.0 {
                for w in k.iter_mut() {
                    *w /= total;
                }
            }
            bounds.push((xmin, count));
        }
        let one = f64::from(1u32 << PRECISION_BITS);
        let weights_fixed = weights
            .iter()
            .map(|&w| {
                // Round half away from zero, as Pillow does with `(int)(w * one ± 0.5)`.
                if w < 0.0 {
                    (-0.5 + w * one) as i32
                } else {
                    (0.5 + w * one) as i32
                }
            })
            .collect();
        AxisCoeffs {
            ksize,
            bounds,
            weights,
            weights_fixed,
        }
    }

    /// Float weights of output index `o`, starting at input index `bounds[o].0`.
    fn taps(&self, o: usize) -> (usize, &[f64]) {
        let (start, count) = self.bounds[o];
        (start, &self.weights[o * self.ksize..o * self.ksize + count])
    }

    /// Fixed-point weights of output index `o`, starting at input index `bounds[o].0`.
    fn taps_fixed(&self, o: usize) -> (usize, &[i32]) {
        let (start, count) = self.bounds[o];
        (
            start,
            &self.weights_fixed[o * self.ksize..o * self.ksize + count],
        )
    }
}

/// The +0.5 rounding bias every fixed-point sum starts from.
const FIXED_HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Rounds a fixed-point accumulator (which already holds the +0.5 bias) to a byte,
/// clamping like Pillow's `clip8`. Sums fit in `i32` as in Pillow: the weights are
/// non-negative and add up to about `2^22`, so a sum stays below `2^21 + 255 * 2^22`.
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// A reusable Pillow-compatible bilinear resize from `h`x`w` to `out_h`x`out_w`
/// (one channel, row-major). The filter weights are computed once here.
#[derive(Debug, Clone)]
pub struct PilBilinear {
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
    /// `None` when the width does not change (Pillow skips that pass).
    horizontal: Option<AxisCoeffs>,
    /// `None` when the height does not change (Pillow skips that pass).
    vertical: Option<AxisCoeffs>,
}

impl PilBilinear {
    /// Plans a resize of one `h`x`w` channel to `out_h`x`out_w`.
    ///
    /// # Panics
    /// If any size is zero.
    pub fn new(h: usize, w: usize, out_h: usize, out_w: usize) -> PilBilinear {
        assert!(
            h > 0 && w > 0 && out_h > 0 && out_w > 0,
            "resize sizes must be positive: {h}x{w} -> {out_h}x{out_w}"
        );
        PilBilinear {
            h,
            w,
            out_h,
            out_w,
            horizontal: (w != out_w).then(|| AxisCoeffs::new(w, out_w)),
            vertical: (h != out_h).then(|| AxisCoeffs::new(h, out_h)),
        }
    }

    /// Number of input values (`h * w`).
    pub fn input_len(&self) -> usize {
        self.h * self.w
    }

    /// Number of output values (`out_h * out_w`).
    pub fn output_len(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Resizes one float channel (any range, typically 0..255) without rounding,
    /// like Pillow's mode `F`: `f64` accumulation, `f32` storage between and after
    /// the passes.
    ///
    /// # Panics
    /// If `src.len() != h * w`.
    pub fn resize_f32(&self, src: &[f32]) -> Vec<f32> {
        assert_eq!(src.len(), self.input_len(), "resize input length");
        let tmp: Vec<f32> = match &self.horizontal {
            None => src.to_vec(),
            Some(hc) => {
                let mut tmp = Vec::with_capacity(self.h * self.out_w);
                for row in src.chunks_exact(self.w) {
                    for xx in 0..self.out_w {
                        let (start, k) = hc.taps(xx);
                        let acc: f64 = row[start..start + k.len()]
                            .iter()
                            .zip(k)
                            .map(|(&p, &w)| f64::from(p) * w)
                            .sum();
                        tmp.push(acc as f32);
                    }
                }
                tmp
            }
        };
        match &self.vertical {
            None => tmp,
            Some(vc) => {
                let mut out = Vec::with_capacity(self.output_len());
                for yy in 0..self.out_h {
                    let (start, k) = vc.taps(yy);
                    for xx in 0..self.out_w {
                        let mut acc = 0.0f64;
                        for (y, &w) in k.iter().enumerate() {
                            acc += f64::from(tmp[(start + y) * self.out_w + xx]) * w;
                        }
                        out.push(acc as f32);
                    }
                }
                out
            }
        }
    }

    /// Resizes one 8-bit channel exactly as Pillow does for 8-bit images: fixed-point
    /// weights, rounding and clamping after each pass. `scratch` holds the
    /// intermediate image and is reused between calls to avoid allocations.
    ///
    /// # Panics
    /// If `src.len() != h * w` or `dst.len() != out_h * out_w`.
    pub fn resize_u8_into(&self, src: &[u8], dst: &mut [u8], scratch: &mut Vec<u8>) {
        assert_eq!(src.len(), self.input_len(), "resize input length");
        assert_eq!(dst.len(), self.output_len(), "resize output length");
        match (&self.horizontal, &self.vertical) {
            (None, None) => dst.copy_from_slice(src),
            (Some(hc), None) => self.horizontal_u8(hc, src, dst),
            (None, Some(vc)) => self.vertical_u8(vc, src, dst),
            (Some(hc), Some(vc)) => {
                // After the horizontal pass the image is `h` x `out_w`, in 8 bits.
                scratch.clear();
                scratch.resize(self.h * self.out_w, 0);
                self.horizontal_u8(hc, src, scratch);
                self.vertical_u8(vc, scratch, dst);
            }
        }
    }

    /// Pillow's 8-bit horizontal pass: `h` x `w` -> `h` x `out_w`.
    fn horizontal_u8(&self, hc: &AxisCoeffs, src: &[u8], dst: &mut [u8]) {
        for (row, out_row) in src
            .chunks_exact(self.w)
            .zip(dst.chunks_exact_mut(self.out_w))
        {
            for (xx, o) in out_row.iter_mut().enumerate() {
                let (start, k) = hc.taps_fixed(xx);
                let mut acc = FIXED_HALF;
                for (&p, &w) in row[start..start + k.len()].iter().zip(k) {
                    acc += i32::from(p) * w;
                }
                *o = clip8(acc);
            }
        }
    }

    /// Pillow's 8-bit vertical pass: `h` x `out_w` -> `out_h` x `out_w`. Whole rows
    /// are accumulated at once (the same integer sums as Pillow's per-pixel loop,
    /// in an order the compiler can vectorise).
    fn vertical_u8(&self, vc: &AxisCoeffs, src: &[u8], dst: &mut [u8]) {
        let mut acc = vec![0i32; self.out_w];
        for (yy, out_row) in dst.chunks_exact_mut(self.out_w).enumerate() {
            let (start, k) = vc.taps_fixed(yy);
            acc.fill(FIXED_HALF);
            for (y, &w) in k.iter().enumerate() {
                let row = &src[(start + y) * self.out_w..(start + y + 1) * self.out_w];
                for (a, &p) in acc.iter_mut().zip(row) {
                    *a += i32::from(p) * w;
                }
            }
            for (o, &a) in out_row.iter_mut().zip(&acc) {
                *o = clip8(a);
            }
        }
    }
}

/// Resizes one `h`x`w` float channel (values typically 0..255) to `out_h`x`out_w`
/// with Pillow's bilinear filter, without rounding (Pillow mode `F`).
///
/// # Panics
/// If a size is zero or `src.len() != h * w`.
pub fn resize_bilinear_pil(
    src: &[f32],
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<f32> {
    PilBilinear::new(h, w, out_h, out_w).resize_f32(src)
}

/// Resizes one `h`x`w` 8-bit channel to `out_h`x`out_w` exactly like Pillow's
/// `Image.resize((out_w, out_h), BILINEAR)` on a mode `L` image (and so like
/// torchvision's `Resize`).
///
/// # Panics
/// If a size is zero or `src.len() != h * w`.
pub fn resize_bilinear_pil_u8(
    src: &[u8],
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<u8> {
    let plan = PilBilinear::new(h, w, out_h, out_w);
    let mut out = vec![0u8; plan.output_len()];
    plan.resize_u8_into(src, &mut out, &mut Vec::new());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent reference: the full 2-D sum over every input pixel of the product
    /// of the two normalised triangle weights, in f64. It does not use tap windows
    /// or the separable passes, so it checks them.
    fn direct_2d(src: &[f64], h: usize, w: usize, out_h: usize, out_w: usize) -> Vec<f64> {
        fn axis_weights(n_in: usize, n_out: usize, o: usize) -> Vec<f64> {
            if n_in == n_out {
                // Pillow does not resample an unchanged axis.
                return (0..n_in).map(|x| if x == o { 1.0 } else { 0.0 }).collect();
            }
            let scale = n_in as f64 / n_out as f64;
            let fs = scale.max(1.0);
            let center = (o as f64 + 0.5) * scale;
            let raw: Vec<f64> = (0..n_in)
                .map(|x| {
                    let t = ((x as f64 + 0.5 - center) / fs).abs();
                    (1.0 - t).max(0.0)
                })
                .collect();
            let total: f64 = raw.iter().sum();
            raw.into_iter().map(|v| v / total).collect()
        }
        let mut out = vec![0.0; out_h * out_w];
        for i in 0..out_h {
            let wy = axis_weights(h, out_h, i);
            for j in 0..out_w {
                let wx = axis_weights(w, out_w, j);
                let mut acc = 0.0;
                for y in 0..h {
                    for x in 0..w {
                        acc += wy[y] * wx[x] * src[y * w + x];
                    }
                }
                out[i * out_w + j] = acc;
            }
        }
        out
    }

    /// A deterministic test pattern with high-frequency content (0..=255).
    fn pattern_u8(h: usize, w: usize) -> Vec<u8> {
        (0..h * w)
            .map(|i| {
                let (y, x) = (i / w, i % w);
                ((x * x * 7 + y * 13 + x * y * 3) % 256) as u8
            })
            .collect()
    }

    #[test]
    fn float_matches_direct_2d_formula() {
        for &(h, w, oh, ow) in &[
            (28, 28, 32, 32),
            (148, 148, 64, 64),
            (5, 9, 13, 4),
            (7, 3, 7, 11),
            (10, 10, 3, 10),
            (1, 6, 1, 2),
        ] {
            let src_u8 = pattern_u8(h, w);
            let src: Vec<f32> = src_u8.iter().map(|&v| f32::from(v)).collect();
            let src64: Vec<f64> = src.iter().map(|&v| f64::from(v)).collect();
            let got = resize_bilinear_pil(&src, h, w, oh, ow);
            let want = direct_2d(&src64, h, w, oh, ow);
            assert_eq!(got.len(), oh * ow);
            for (k, (g, e)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (f64::from(*g) - e).abs() < 1e-3,
                    "{h}x{w}->{oh}x{ow} at {k}: {g} vs {e}"
                );
            }
        }
    }

    #[test]
    fn identity_when_sizes_equal() {
        let src_u8 = pattern_u8(9, 7);
        let src: Vec<f32> = src_u8.iter().map(|&v| f32::from(v) + 0.3).collect();
        assert_eq!(resize_bilinear_pil(&src, 9, 7, 9, 7), src);
        assert_eq!(resize_bilinear_pil_u8(&src_u8, 9, 7, 9, 7), src_u8);
    }

    #[test]
    fn constant_image_stays_constant() {
        for &(h, w, oh, ow) in &[(28, 28, 32, 32), (148, 148, 64, 64), (3, 17, 40, 5)] {
            let src = vec![123.0f32; h * w];
            for v in resize_bilinear_pil(&src, h, w, oh, ow) {
                assert!((v - 123.0).abs() < 1e-4, "{v}");
            }
            let src = vec![200u8; h * w];
            assert!(resize_bilinear_pil_u8(&src, h, w, oh, ow)
                .iter()
                .all(|&v| v == 200));
        }
    }

    #[test]
    fn hand_checked_2_to_4_upscale() {
        // Along one axis, 2 -> 4 gives [a, 3a/4 + b/4, a/4 + 3b/4, b] (centres at
        // 0.25, 0.75, 1.25, 1.75 in input coordinates; edges clamp).
        let src = [0.0f32, 100.0, 100.0, 200.0];
        let got = resize_bilinear_pil(&src, 2, 2, 4, 4);
        #[rustfmt::skip]
        let want = [
            0.0, 25.0, 75.0, 100.0,
            25.0, 50.0, 100.0, 125.0,
            75.0, 100.0, 150.0, 175.0,
            100.0, 125.0, 175.0, 200.0,
        ];
        assert_eq!(got, want);
        let got_u8 = resize_bilinear_pil_u8(&[0, 100, 100, 200], 2, 2, 4, 4);
        let want_u8: Vec<u8> = want.iter().map(|&v| v as u8).collect();
        assert_eq!(got_u8, want_u8);
        // Horizontal only.
        assert_eq!(
            resize_bilinear_pil(&[10.0, 50.0], 1, 2, 1, 4),
            vec![10.0, 20.0, 40.0, 50.0]
        );
    }

    #[test]
    fn u8_rounds_each_pass_like_pillow() {
        // 1x2 -> 1x4 of [0, 1]: exact values 0, 0.25, 0.75, 1 round to 0, 0, 1, 1.
        assert_eq!(
            resize_bilinear_pil_u8(&[0, 1], 1, 2, 1, 4),
            vec![0, 0, 1, 1]
        );
        // Within a pixel of the float result everywhere.
        let src = pattern_u8(28, 28);
        let f: Vec<f32> = src.iter().map(|&v| f32::from(v)).collect();
        let got = resize_bilinear_pil_u8(&src, 28, 28, 32, 32);
        let want = resize_bilinear_pil(&f, 28, 28, 32, 32);
        for (g, e) in got.iter().zip(want) {
            assert!((f32::from(*g) - e).abs() <= 1.0, "{g} vs {e}");
        }
    }

    /// Golden outputs from Pillow 13.0.0 (`Image.fromarray(a).resize((ow, oh),
    /// Image.BILINEAR)`), stored as blake3 of the output bytes (u8 for mode `L`,
    /// little-endian f32 for mode `F`), on `pattern_u8` (for `F`: plus 0.25 * (x % 3)).
    /// The non-square case shrinks the width, not the height, so that every Pillow
    /// version runs the horizontal pass first (see the module docs).
    #[test]
    fn matches_pillow_golden_outputs() {
        let cases: &[(usize, usize, usize, usize, &str, &str)] = &[
            (28, 28, 32, 32, GOLDEN_L_28_32, GOLDEN_F_28_32),
            (148, 148, 64, 64, GOLDEN_L_148_64, GOLDEN_F_148_64),
            (20, 30, 41, 17, GOLDEN_L_20X30_41X17, GOLDEN_F_20X30_41X17),
        ];
        for &(h, w, oh, ow, golden_l, golden_f) in cases {
            let src = pattern_u8(h, w);
            let got = resize_bilinear_pil_u8(&src, h, w, oh, ow);
            assert_eq!(
                blake3::hash(&got).to_hex().as_str(),
                golden_l,
                "mode L {h}x{w}->{oh}x{ow}"
            );
            let srcf: Vec<f32> = src
                .iter()
                .enumerate()
                .map(|(i, &v)| f32::from(v) + 0.25 * ((i % w) % 3) as f32)
                .collect();
            let gotf = resize_bilinear_pil(&srcf, h, w, oh, ow);
            let bytes: Vec<u8> = gotf.iter().flat_map(|v| v.to_le_bytes()).collect();
            assert_eq!(
                blake3::hash(&bytes).to_hex().as_str(),
                golden_f,
                "mode F {h}x{w}->{oh}x{ow}"
            );
        }
    }

    const GOLDEN_L_28_32: &str = "de9f348cb0b7a8ad9d6d1538cee60260436765d7764e10b263a8775e33ed920d";
    const GOLDEN_F_28_32: &str = "5d2c1f4c7bb9a87e91c01e6b975f3f3ce178eab745f6cb607058629e2a0df117";
    const GOLDEN_L_148_64: &str =
        "89c949650e64989b1be8ac2ee573a1b55b610afce48fadd6cb216aa207a60d67";
    const GOLDEN_F_148_64: &str =
        "b12b9bedada50638a25030e933d204c55e88b31e101f20191f8f980c3f78cdc8";
    const GOLDEN_L_20X30_41X17: &str =
        "05d70211f972659daeccc8b147a20b2973d205111b96906e959d49021039f520";
    const GOLDEN_F_20X30_41X17: &str =
        "3c729f5987e04fe173f9965b852813987ac30e3d13b0edaec5adb58ceb2cf936";
}
