//! The `rmse_ai` metric: per-image RMSE between 20 ln|F| azimuthal profiles (Durall binning).

use super::{Batch, MetricDef};
use crate::eval::metrics::rmse;

/// RMSE between the AI profiles of each image and its reconstruction.
pub struct RmseAi;

impl MetricDef for RmseAi {
    fn name(&self) -> &'static str {
        "rmse_ai"
    }

    fn version(&self) -> u32 {
        1
    }

    fn on_by_default(&self) -> bool {
        true
    }

    fn per_image(&self, batch: &Batch, i: usize) -> f64 {
        // = rmse_ai(&batch.fft, &batch.bins, x, y, c), from the batch's profiles.
        rmse(&batch.real_profiles[i], &batch.recon_profiles[i])
    }
}
