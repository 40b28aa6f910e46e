//! The `sq_err_pixel` metric: Björk's "spatial RMSE" as the published numbers behave.

use super::{Batch, MetricDef};
use rayon::prelude::*;

use crate::eval::metrics::{moments, pooled_mean_std, squared_error_pixels};

/// Squared error per pixel: per image (metrics.csv) the image's mean squared
/// error; in summary.csv the mean and std over every pixel of the test batch,
/// which is what Björk et al.'s "spatial RMSE" numbers are.
pub struct SqErrPixel;

impl MetricDef for SqErrPixel {
    fn name(&self) -> &'static str {
        "sq_err_pixel"
    }

    fn version(&self) -> u32 {
        1
    }

    fn on_by_default(&self) -> bool {
        true
    }

    fn per_image(&self, batch: &Batch, i: usize) -> f64 {
        let (x, y) = (batch.real(i), batch.recon(i));
        squared_error_pixels(x, y).sum::<f64>() / x.len() as f64
    }

    /// Mean and std over every pixel of the batch, not over the per-image means:
    /// per-image moments merged, so the images are computed in parallel.
    fn aggregate(&self, batch: &Batch, _per_image: &[f64]) -> (f64, f64) {
        let groups: Vec<(usize, f64, f64)> = (0..batch.len())
            .into_par_iter()
            .map(|i| {
                let errors: Vec<f64> =
                    squared_error_pixels(batch.real(i), batch.recon(i)).collect();
                moments(&errors)
            })
            .collect();
        pooled_mean_std(&groups)
    }
}
