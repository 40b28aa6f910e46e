//! The `psnr` metric: per-image PSNR in dB for pixel range 1 (TensorFlow's `tf.image.psnr`).

use super::{Batch, MetricDef};
use crate::eval::metrics::psnr;

/// PSNR of each reconstruction.
pub struct Psnr;

impl MetricDef for Psnr {
    fn name(&self) -> &'static str {
        "psnr"
    }

    fn version(&self) -> u32 {
        1
    }

    fn on_by_default(&self) -> bool {
        true
    }

    fn per_image(&self, batch: &Batch, i: usize) -> f64 {
        psnr(batch.real(i), batch.recon(i))
    }
}
