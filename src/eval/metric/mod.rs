//! The evaluation metrics: one file per metric, one line per metric in [`ALL`].
//!
//! A metric is a [`MetricDef`]: its name (the word in `eval.metrics` and the
//! column of metrics.csv and summary.csv), its version (part of the eval key), its
//! value for one image, and how the per-image values aggregate to the (mean, std)
//! of summary.csv. Everything downstream (the report, its plots and table,
//! `runner diff`, `runner results`) finds metrics by column name, so a metric
//! added here shows up there without further changes.

mod batch;
mod psnr;
mod rmse_ai;
mod rmse_fft2;
mod rmse_spatial;
mod sq_err_pixel;
mod ssim;

pub use batch::Batch;

use crate::eval::metrics::mean_std;
use crate::pipeline::named::{named_serde, registry_names, Named};

/// What a metric is: its name, version, per-image value and aggregation.
pub trait MetricDef: Sync {
    /// Name in `eval.metrics` and column in metrics.csv and summary.csv.
    fn name(&self) -> &'static str;

    /// Version of the metric's code. Part of the keys of the eval nodes that
    /// compute it: bump it when a change alters results (see
    /// `crate::code_version`).
    fn version(&self) -> u32;

    /// Whether the metric is in the default `eval.metrics`. The default list is
    /// part of every eval key that does not list its metrics, so turning this on
    /// for a new metric re-runs every such eval.
    fn on_by_default(&self) -> bool;

    /// The metric of test image `i` of `batch` against its reconstruction (a row
    /// of metrics.csv).
    fn per_image(&self, batch: &Batch, i: usize) -> f64;

    /// (mean, std) of the metric over the batch for summary.csv, from the
    /// per-image values `per_image` (in image order). By default the mean and
    /// population std of those values.
    fn aggregate(&self, batch: &Batch, per_image: &[f64]) -> (f64, f64) {
        let _ = batch;
        mean_std(per_image.iter().copied())
    }
}

/// Every metric runner has, in the order of the default `eval.metrics`. A new
/// metric goes at the end (the order of the default list is part of keys).
pub const ALL: &[Metric] = &[
    Metric::new(&rmse_spatial::RmseSpatial),
    Metric::new(&sq_err_pixel::SqErrPixel),
    Metric::new(&rmse_fft2::RmseFft2),
    Metric::new(&rmse_ai::RmseAi),
    Metric::new(&psnr::Psnr),
    Metric::new(&ssim::Ssim),
];

/// A metric of [`ALL`], as pipeline files name it (`eval.metrics: [rmse_ai]`).
/// Compares, hashes and (de)serialises by name.
#[derive(Clone, Copy)]
pub struct Metric(&'static dyn MetricDef);

impl Metric {
    /// The handle of `def`.
    pub const fn new(def: &'static dyn MetricDef) -> Metric {
        Metric(def)
    }

    /// The metric called `name`, if there is one.
    pub fn named(name: &str) -> Option<Metric> {
        crate::pipeline::named::by_name(name)
    }

    /// The default `eval.metrics`, in registry order.
    pub fn defaults() -> Vec<Metric> {
        ALL.iter()
            .copied()
            .filter(|m| m.0.on_by_default())
            .collect()
    }

    /// Column name in metrics.csv and summary.csv.
    pub fn column(&self) -> &'static str {
        self.0.name()
    }

    /// What the metric is.
    pub fn def(&self) -> &'static dyn MetricDef {
        self.0
    }
}

impl Named for Metric {
    const TYPE: &'static str = "Metric";

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn all() -> &'static [Metric] {
        ALL
    }

    registry_names!();
}

named_serde!(Metric);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_words() {
        let names = Metric::names();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn serialises_as_its_name() {
        let metrics = Metric::defaults();
        let json = serde_json::to_string(&metrics).unwrap();
        assert_eq!(
            json,
            r#"["rmse_spatial","sq_err_pixel","rmse_fft2","rmse_ai","psnr","ssim"]"#
        );
        let back: Vec<Metric> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, metrics);
    }
}
