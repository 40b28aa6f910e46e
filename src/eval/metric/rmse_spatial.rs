//! The `rmse_spatial` metric: per-image pixel RMSE.

use super::{Batch, MetricDef};
use crate::eval::metrics::rmse_spatial;

/// Root mean squared pixel error of each image.
pub struct RmseSpatial;

impl MetricDef for RmseSpatial {
    fn name(&self) -> &'static str {
        "rmse_spatial"
    }

    fn version(&self) -> u32 {
        1
    }

    fn on_by_default(&self) -> bool {
        true
    }

    fn per_image(&self, batch: &Batch, i: usize) -> f64 {
        rmse_spatial(batch.real(i), batch.recon(i))
    }
}
