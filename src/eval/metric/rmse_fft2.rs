//! The `rmse_fft2` metric: per-image RMSE between unnormalised DFTs (Re and Im as separate numbers).

use super::{Batch, MetricDef};
use crate::eval::metrics::rmse_fft2;

/// RMSE between the 2-D DFTs of each image and its reconstruction.
pub struct RmseFft2;

impl MetricDef for RmseFft2 {
    fn name(&self) -> &'static str {
        "rmse_fft2"
    }

    fn version(&self) -> u32 {
        1
    }

    fn on_by_default(&self) -> bool {
        true
    }

    fn per_image(&self, batch: &Batch, i: usize) -> f64 {
        rmse_fft2(&batch.fft, batch.real(i), batch.recon(i), batch.channels())
    }
}
