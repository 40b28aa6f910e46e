//! The `ssim` metric: per-image SSIM, TensorFlow's definition (`tf.image.ssim`, valid windows).

use super::{Batch, MetricDef};
use crate::eval::metrics::ssim;

/// SSIM of each reconstruction.
pub struct Ssim;

impl MetricDef for Ssim {
    fn name(&self) -> &'static str {
        "ssim"
    }

    fn version(&self) -> u32 {
        1
    }

    fn on_by_default(&self) -> bool {
        true
    }

    fn per_image(&self, batch: &Batch, i: usize) -> f64 {
        ssim(
            &batch.ssim_window,
            batch.real(i),
            batch.recon(i),
            batch.channels(),
        )
    }
}
