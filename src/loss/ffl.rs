//! Jiang et al.'s focal frequency loss (docs/methods.md#focal-frequency-loss).
//!
//! Each image is cut into `patch_factor × patch_factor` patches; every patch gets
//! an orthonormal full 2-D DFT (all patches at once: block DFT matrices on both
//! axes). With `ΔF` the spectrum difference, the loss is the mean over
//! (batch, patch, channel, u, v) of `w · |ΔF|²`, where the weight `w = |ΔF|^alpha`
//! (optionally `ln(w + 1)`) is normalised by its maximum per (image, patch,
//! channel) or over the batch, clamped to [0, 1] and DETACHED (a constant for the
//! gradient). `ave_spectrum` averages the spectra over the batch first.

use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::pipeline::check::{non_negative, require};
use crate::pipeline::schema::ConfigIssue;
use crate::spectral::axis::AxisMatrix;
use crate::spectral::tensor::SeparableDft;

/// Options of the focal frequency loss (Jiang et al.,
/// docs/methods.md#focal-frequency-loss), with the reference implementation's
/// argument names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FflTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Exponent of the spectrum weight matrix (>= 0); 0 makes FFL an MSE.
    pub alpha: f64,
    /// Images are split into patch_factor x patch_factor patches (>= 1).
    pub patch_factor: usize,
    /// Average the spectra over the batch before comparing.
    pub ave_spectrum: bool,
    /// ln(w + 1) of the weight matrix.
    pub log_matrix: bool,
    /// Normalise the weights by their maximum over the whole batch.
    pub batch_matrix: bool,
}

impl Default for FflTerm {
    fn default() -> Self {
        FflTerm {
            weight: 1.0,
            alpha: 1.0,
            patch_factor: 1,
            ave_spectrum: false,
            log_matrix: false,
            batch_matrix: false,
        }
    }
}

impl TermOptions for FflTerm {
    const NAME: &'static str = "ffl";
    const DOMAIN: Domain = Domain::Frequency;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "focal frequency loss: spectrum differences weighted by their own detached size";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self, image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
        non_negative(self.alpha, &format!("{at}.alpha"))?;
        let size = image.height;
        require(
            self.patch_factor >= 1
                && image.height.is_multiple_of(self.patch_factor)
                && image.width.is_multiple_of(self.patch_factor),
            &format!("{at}.patch_factor"),
            || {
                format!(
                    "{at}.patch_factor must be >= 1 and divide the image side {size}, got {}",
                    self.patch_factor
                )
            },
        )
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(FflLoss::new(self, image.height, image.width, device))
    }
}

impl<B: Backend> TermLoss<B> for FflLoss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        FflLoss::forward(self, input.recon.clone(), input.target.clone())
    }
}

/// The focal frequency loss for images of one size.
#[derive(Debug, Clone)]
pub struct FflLoss<B: Backend> {
    /// Orthonormal DFTs of all patches: output `[B, C, H, W]`, patch-major per axis.
    dft: SeparableDft<B>,
    patch_factor: usize,
    alpha: f64,
    ave_spectrum: bool,
    log_matrix: bool,
    batch_matrix: bool,
}

impl<B: Backend> FflLoss<B> {
    /// Builds the patch DFT matrices for `height` × `width` images (both divisible
    /// by `opts.patch_factor`).
    pub fn new(opts: &FflTerm, height: usize, width: usize, device: &B::Device) -> Self {
        let pf = opts.patch_factor;
        assert!(
            pf > 0 && height.is_multiple_of(pf) && width.is_multiple_of(pf),
            "{height}x{width} images cannot be split into {pf}x{pf} patches"
        );
        let (h, w) = (height / pf, width / pf);
        let all = |n: usize| (0..n).collect::<Vec<_>>();
        // The ortho factor 1/sqrt(h·w) of a patch, carried by the left matrix.
        let left = AxisMatrix::block_dft(height, h, &all(h)).scaled(1.0 / ((h * w) as f64).sqrt());
        let right = AxisMatrix::block_dft(width, w, &all(w));
        FflLoss {
            dft: SeparableDft::new(&left, &right, device),
            patch_factor: pf,
            alpha: opts.alpha,
            ave_spectrum: opts.ave_spectrum,
            log_matrix: opts.log_matrix,
            batch_matrix: opts.batch_matrix,
        }
    }

    /// The loss between reconstructions `recon` and targets `target` (both pixel
    /// values `[B, C, H, W]`).
    pub fn forward(&self, recon: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
        // The DFT is linear: the spectrum difference is the spectrum of the pixel
        // difference, and the batch mean of spectra is the spectrum of the mean.
        let mut diff = recon - target;
        if self.ave_spectrum {
            diff = diff.mean_dim(0);
        }
        let (re, im) = self.dft.forward(diff);
        let distance2 = self.by_patch(re.powi_scalar(2) + im.powi_scalar(2));
        let weights = self.weights(distance2.clone().detach());
        (weights * distance2).mean()
    }

    /// Regroups `[N, C, pf·h, pf·w]` (patch-major axes) as `[N, C, pf², h·w]`, one
    /// row per (image, channel, patch).
    fn by_patch(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [n, c, hh, ww] = x.dims();
        let pf = self.patch_factor;
        let (h, w) = (hh / pf, ww / pf);
        x.reshape([n, c, pf, h, pf, w])
            .swap_dims(3, 4)
            .reshape([n, c, pf * pf, h * w])
    }

    /// The normalised spectrum weight matrix from squared distances `[N, C, P, h·w]`.
    fn weights(&self, distance2: Tensor<B, 4>) -> Tensor<B, 4> {
        // alpha = 0 gives 1 everywhere, ΔF = 0 included (torch: 0**0 = 1).
        let mut w = if self.alpha == 0.0 {
            distance2.ones_like()
        } else {
            distance2.powf_scalar(self.alpha / 2.0)
        };
        if self.log_matrix {
            w = w.add_scalar(1.0).log();
        }
        let max = if self.batch_matrix {
            w.clone().max().reshape([1, 1, 1, 1])
        } else {
            w.clone().max_dim(3)
        };
        // A zero maximum means all its weights are 0: the reference's 0/0 = NaN → 0.
        // Dividing by 1 there gives the same zeros without creating a NaN.
        let safe_max = max.clone().mask_fill(max.equal_elem(0.0), 1.0);
        (w / safe_max).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{assert_finite_on_edge_cases, check_gradient, scalar, tensor4, Ad};
    use crate::spectral::dft::{dft2_direct, test_values};
    use burn::backend::Flex;

    fn opts(alpha: f64, patch_factor: usize) -> FflTerm {
        FflTerm {
            alpha,
            patch_factor,
            ..FflTerm::default()
        }
    }

    /// Ortho spectra of every patch of every image: `[image][channel][patch]` →
    /// (Re, Im), each `h·w`, from a loop over patches and the direct DFT.
    fn patch_spectra(x: &[f64], shape: [usize; 4], pf: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
        let [b, c, hh, ww] = shape;
        let (h, w) = (hh / pf, ww / pf);
        let scale = 1.0 / ((h * w) as f64).sqrt();
        let mut out = Vec::new();
        for img in 0..b * c {
            for pi in 0..pf {
                for pj in 0..pf {
                    let mut patch = vec![0.0; h * w];
                    for r in 0..h {
                        for col in 0..w {
                            patch[r * w + col] =
                                x[img * hh * ww + (pi * h + r) * ww + pj * w + col];
                        }
                    }
                    let (re, im) = dft2_direct(&patch, h, w);
                    let s = |v: Vec<f64>| v.into_iter().map(|a| a * scale).collect();
                    out.push((s(re), s(im)));
                }
            }
        }
        out
    }

    /// Batch mean of per-(image, channel, patch) spectra, as a batch of one.
    fn batch_mean(s: &[(Vec<f64>, Vec<f64>)], b: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
        let per_image = s.len() / b;
        (0..per_image)
            .map(|k| {
                let len = s[k].0.len();
                let (mut re, mut im) = (vec![0.0; len], vec![0.0; len]);
                for i in 0..b {
                    let (r, m) = &s[i * per_image + k];
                    for u in 0..len {
                        re[u] += r[u] / b as f64;
                        im[u] += m[u] / b as f64;
                    }
                }
                (re, im)
            })
            .collect()
    }

    /// The loss in f64: returns (value, weights). With `frozen`, those weights are
    /// used instead of computing them (the detached weights of a gradient check).
    fn reference(
        x: &[f64],
        y: &[f64],
        shape: [usize; 4],
        o: &FflTerm,
        frozen: Option<&[f64]>,
    ) -> (f64, Vec<f64>) {
        let b = shape[0];
        let (mut sx, mut sy) = (
            patch_spectra(x, shape, o.patch_factor),
            patch_spectra(y, shape, o.patch_factor),
        );
        if o.ave_spectrum {
            sx = batch_mean(&sx, b);
            sy = batch_mean(&sy, b);
        }
        // Squared distance per group (image, channel, patch) and frequency.
        let d2: Vec<Vec<f64>> = sx
            .iter()
            .zip(&sy)
            .map(|((xr, xi), (yr, yi))| {
                (0..xr.len())
                    .map(|k| (xr[k] - yr[k]).powi(2) + (xi[k] - yi[k]).powi(2))
                    .collect()
            })
            .collect();
        let weights = match frozen {
            Some(w) => w.to_vec(),
            None => {
                let mut groups: Vec<Vec<f64>> = d2
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|d| {
                                let w = d.sqrt().powf(o.alpha);
                                if o.log_matrix {
                                    (w + 1.0).ln()
                                } else {
                                    w
                                }
                            })
                            .collect()
                    })
                    .collect();
                let global = groups
                    .iter()
                    .flatten()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max);
                for g in &mut groups {
                    let local = g.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let max = if o.batch_matrix { global } else { local };
                    for w in g.iter_mut() {
                        let v = *w / max;
                        *w = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
                    }
                }
                groups.concat()
            }
        };
        let d2 = d2.concat();
        let value = weights.iter().zip(&d2).map(|(w, d)| w * d).sum::<f64>() / d2.len() as f64;
        (value, weights)
    }

    fn value(x: &[f64], y: &[f64], shape: [usize; 4], o: &FflTerm) -> f64 {
        let loss = FflLoss::<Flex>::new(o, shape[2], shape[3], &Default::default());
        scalar(loss.forward(tensor4(x, shape), tensor4(y, shape)))
    }

    fn variants() -> Vec<FflTerm> {
        vec![
            opts(1.0, 1),
            opts(2.0, 1),
            opts(0.5, 2),
            FflTerm {
                log_matrix: true,
                ..opts(1.0, 2)
            },
            FflTerm {
                batch_matrix: true,
                ..opts(1.0, 2)
            },
            FflTerm {
                ave_spectrum: true,
                ..opts(1.0, 1)
            },
            FflTerm {
                ave_spectrum: true,
                batch_matrix: true,
                log_matrix: true,
                ..opts(2.0, 2)
            },
        ]
    }

    #[test]
    fn value_matches_reference() {
        let shape = [3, 2, 8, 12];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(31, n), test_values(32, n));
        for o in variants() {
            let (got, want) = (
                value(&x, &y, shape, &o),
                reference(&x, &y, shape, &o, None).0,
            );
            assert!((got - want).abs() < 1e-4 * want, "{o:?}: {got} vs {want}");
        }
    }

    #[test]
    fn alpha_zero_is_pixel_mse_even_where_spectra_agree() {
        let shape = [2, 2, 8, 8];
        let n: usize = shape.iter().product();
        let x = test_values(41, n);
        let mut y = test_values(42, n);
        // Image 0, channel 0 identical: ΔF = 0 on all its patches (0^0 must be 1,
        // and no 0/0 may leak into the value).
        y[..64].copy_from_slice(&x[..64]);
        let mse = x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n as f64;
        for pf in [1, 2] {
            for log_matrix in [false, true] {
                let o = FflTerm {
                    log_matrix,
                    ..opts(0.0, pf)
                };
                let got = value(&x, &y, shape, &o);
                assert!((got - mse).abs() < 1e-5 * mse, "pf {pf}: {got} vs {mse}");
            }
        }
        // With alpha > 0 the zero-difference groups get weight 0, not NaN.
        let got = value(&x, &y, shape, &opts(1.0, 2));
        assert!(got.is_finite() && got < mse, "{got}");
    }

    #[test]
    fn gradient_matches_finite_differences_with_frozen_weights() {
        let shape = [2, 1, 8, 8];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(51, n), test_values(52, n));
        for o in [
            opts(1.0, 1),
            FflTerm {
                log_matrix: true,
                ..opts(2.0, 2)
            },
            FflTerm {
                ave_spectrum: true,
                batch_matrix: true,
                ..opts(1.0, 2)
            },
        ] {
            let (_, w0) = reference(&x, &y, shape, &o, None);
            let loss = FflLoss::<Ad>::new(&o, shape[2], shape[3], &Default::default());
            let yt = tensor4::<Ad>(&y, shape);
            check_gradient(
                |xt| loss.forward(xt, yt.clone()),
                |xp| reference(xp, &y, shape, &o, Some(&w0)).0,
                &x,
                shape,
                1e-3,
                1e-3,
            );
        }
    }

    #[test]
    fn finite_on_edge_cases() {
        for o in variants().into_iter().chain([opts(0.0, 2)]) {
            let loss = FflLoss::<Ad>::new(&o, 8, 8, &Default::default());
            assert_finite_on_edge_cases([2, 2, 8, 8], |r, t| loss.forward(r, t));
        }
    }
}
