//! The eval node: reconstruct a fixed test batch with a trained model and write
//! per-image metrics, their mean and std, and the radial spectrum statistics.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::backend::{AutodiffBackend, Backend};
use rand::SeedableRng;
use rand_pcg::Pcg64;
use rayon::prelude::*;

use super::metric::Batch;
use super::metrics::{ai_profile, profile_stats};
use super::spectrum::SpectrumTable;
use crate::atomic::write_atomic;
use crate::backend::{batch_tensor, dispatch, normal_noise, BackendJob};
use crate::data::ImageSet;
use crate::device::Device;
use crate::loss::mix::reconstruction;
use crate::model::Vae;
use crate::pipeline::schema::{AiScale, Metric, Reconstruct, ResolvedPipeline};
use crate::report::grid::save_grid;
use crate::weights::{load_model, MODEL_FILE};

/// Version of the evaluation (reconstructions, summaries, files written).
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`). 2: recon.png and samples.png scaled up,
/// recon.png with row labels.
pub const VERSION: u32 = 2;

/// File names written into an eval directory.
pub const METRICS_FILE: &str = "metrics.csv";
/// Mean and std of each metric.
pub const SUMMARY_FILE: &str = "summary.csv";
/// Radial profile statistics.
pub const SPECTRUM_FILE: &str = "spectrum.csv";
/// Grid of images decoded from prior samples.
pub const SAMPLES_FILE: &str = "samples.png";
/// Grid of test images (rows) above their reconstructions.
pub const RECON_FILE: &str = "recon.png";
/// Every file an eval may write (samples.png only with `eval.samples` > 0).
pub const OUTPUT_FILES: [&str; 5] = [
    METRICS_FILE,
    SUMMARY_FILE,
    SPECTRUM_FILE,
    RECON_FILE,
    SAMPLES_FILE,
];

/// Images per row of the reconstruction grid.
const RECON_COLUMNS: usize = 8;
/// At most this many test images are shown in the reconstruction grid.
const RECON_IMAGES: usize = 16;

/// Mean and std of each metric over the test batch.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSummary {
    /// (metric, mean, std) in the order of `eval.metrics`.
    pub metrics: Vec<(Metric, f64, f64)>,
}

/// How many images go through the network at once.
const EVAL_CHUNK: usize = 100;

/// Reconstructions (`[N, C, H, W]` flattened) of `images`: sigmoid of the decoder
/// output, or the raw output with `loss.input: logits`, so the metrics score what
/// the loss trained (docs/methods.md#loss-input). The image grids clamp to [0, 1].
fn reconstruct<B: Backend>(
    cfg: &ResolvedPipeline,
    model: &Vae<B>,
    images: &ImageSet,
    device: &B::Device,
) -> Result<Vec<f32>> {
    let mut rng = Pcg64::seed_from_u64(cfg.eval.seed);
    let mut out = Vec::with_capacity(images.pixels.len());
    let indices: Vec<usize> = (0..images.len()).collect();
    for chunk in indices.chunks(EVAL_CHUNK) {
        let x = batch_tensor::<B>(images, chunk, device);
        let (mu, logvar) = model.encode(x);
        let z = match cfg.eval.reconstruct {
            Reconstruct::Mean => mu,
            Reconstruct::Sample => {
                let noise = normal_noise::<B>(&mut rng, chunk.len(), model.latent(), device);
                mu + (logvar * 0.5).exp() * noise
            }
        };
        let recon = reconstruction(cfg.loss.input, model.decoder.forward(z));
        let values = recon
            .into_data()
            .to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading reconstructions: {e:?}"))?;
        out.extend_from_slice(&values);
    }
    Ok(out)
}

/// `eval.samples` images decoded from z ~ N(0, I) (seeded by `eval.seed`), read
/// from the decoder's output as the reconstructions are.
fn prior_samples<B: Backend>(
    cfg: &ResolvedPipeline,
    model: &Vae<B>,
    device: &B::Device,
) -> Result<Vec<f32>> {
    // A stream of its own, so the samples do not depend on `reconstruct`.
    let mut rng = Pcg64::seed_from_u64(cfg.eval.seed ^ 0x5a4d_91e5);
    let z = normal_noise::<B>(&mut rng, cfg.eval.samples as usize, model.latent(), device);
    reconstruction(cfg.loss.input, model.decoder.forward(z))
        .into_data()
        .to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading samples: {e:?}"))
}

/// Loads the model in `run_dir` once onto `device` and returns the
/// reconstructions of `images` and the prior samples (empty when `eval.samples`
/// is 0). The CPU runs the network on one thread, as in training (see
/// `on_threads`).
fn decode(
    cfg: &ResolvedPipeline,
    images: &ImageSet,
    run_dir: &Path,
    device: Device,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let job = DecodeJob {
        cfg,
        images,
        run_dir,
    };
    dispatch(device, 1, job)
}

/// [`decode`]'s arguments, run by [`dispatch`] on the backend of the device.
struct DecodeJob<'a> {
    cfg: &'a ResolvedPipeline,
    images: &'a ImageSet,
    run_dir: &'a Path,
}

impl BackendJob for DecodeJob<'_> {
    type Output = (Vec<f32>, Vec<f32>);
    type Error = anyhow::Error;

    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Result<Self::Output> {
        // No gradients: the forward pass runs on the backend without autodiff.
        decode_on::<B::InnerBackend>(self.cfg, self.images, self.run_dir, device)
    }
}

/// [`decode`] with backend `B` on `device`.
pub(crate) fn decode_on<B: Backend>(
    cfg: &ResolvedPipeline,
    images: &ImageSet,
    run_dir: &Path,
    device: &B::Device,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let model = load_model::<B>(&cfg.model, &run_dir.join(MODEL_FILE), device)?;
    let recon = reconstruct(cfg, &model, images, device)?;
    let samples = if cfg.eval.samples > 0 {
        prior_samples(cfg, &model, device)?
    } else {
        Vec::new()
    };
    Ok((recon, samples))
}

/// The pixels of the reconstruction grid: rows of up to [`RECON_COLUMNS`] test
/// images, each followed by the row of their reconstructions, for the first
/// [`RECON_IMAGES`] images (whole rows only). Returns (pixels, image count, columns).
fn recon_grid_pixels(images: &ImageSet, recon: &[f32]) -> (Vec<f32>, usize, usize) {
    let columns = RECON_COLUMNS.min(images.len());
    if columns == 0 {
        return (Vec::new(), 0, 0);
    }
    let shown = RECON_IMAGES.min(images.len()) / columns * columns;
    let len = images.image_len();
    let mut pixels = Vec::with_capacity(2 * shown * len);
    for start in (0..shown).step_by(columns) {
        for i in start..start + columns {
            pixels.extend_from_slice(images.image(i));
        }
        pixels.extend_from_slice(&recon[start * len..(start + columns) * len]);
    }
    (pixels, 2 * shown, columns)
}

/// The labels of the `rows` rows of the reconstruction grid: test images, then
/// their reconstructions, alternately.
pub fn recon_row_labels(rows: usize) -> Vec<&'static str> {
    ["input", "reconstruction"]
        .into_iter()
        .cycle()
        .take(rows)
        .collect()
}

/// The text of metrics.csv, summary.csv and spectrum.csv for a test batch.
#[derive(Debug, Clone)]
pub struct Scores {
    /// metrics.csv: one row per image.
    pub metrics_csv: String,
    /// summary.csv: mean and std of each metric.
    pub summary_csv: String,
    /// The same means and stds as numbers.
    pub summary: EvalSummary,
    /// spectrum.csv: per radial bin, mean and std of real, reconstructed and sampled images.
    pub spectrum_csv: String,
}

/// Scores `recon` (reconstructions of `images`, same layout) with `metrics`, and the
/// radial spectra of the images, the reconstructions and the prior `samples` (any
/// number of images of the same shape, possibly none), with the profiles on
/// `ai_scale`. Pure: the eval node and the metrics benchmark both call it.
pub fn score(
    metrics: &[Metric],
    images: &ImageSet,
    recon: &[f32],
    samples: &[f32],
    ai_scale: AiScale,
) -> Scores {
    let mut batch = Batch::new(images, recon);
    batch.rescale_profiles(ai_scale.from_ln());
    let len = images.image_len();

    let columns: Vec<Vec<f64>> = metrics
        .iter()
        .map(|metric| {
            (0..batch.len())
                .into_par_iter()
                .map(|i| metric.def().per_image(&batch, i))
                .collect()
        })
        .collect();

    let mut metrics_csv = String::from("image");
    for metric in metrics {
        let _ = write!(metrics_csv, ",{}", metric.column());
    }
    metrics_csv.push('\n');
    for i in 0..images.len() {
        let _ = write!(metrics_csv, "{i}");
        for column in &columns {
            let _ = write!(metrics_csv, ",{:.9e}", column[i]);
        }
        metrics_csv.push('\n');
    }

    let mut summary = EvalSummary {
        metrics: Vec::new(),
    };
    let mut summary_csv = String::from("metric,mean,std\n");
    for (metric, column) in metrics.iter().zip(&columns) {
        let (mean, std) = metric.def().aggregate(&batch, column);
        let _ = writeln!(summary_csv, "{},{mean:.9e},{std:.9e}", metric.column());
        summary.metrics.push((*metric, mean, std));
    }

    let (fft, bins, c) = (&batch.fft, &batch.bins, images.channels);
    let sample_profiles: Vec<Vec<f64>> = (0..samples.len() / len.max(1))
        .into_par_iter()
        .map(|i| {
            let mut profile = ai_profile(fft, bins, &samples[i * len..(i + 1) * len], c);
            profile.iter_mut().for_each(|v| *v *= ai_scale.from_ln());
            profile
        })
        .collect();
    let spectrum = SpectrumTable::new(
        bins.radii(),
        images.width,
        profile_stats(&batch.real_profiles),
        profile_stats(&batch.recon_profiles),
        (!sample_profiles.is_empty()).then(|| profile_stats(&sample_profiles)),
    );
    let spectrum_csv = spectrum.to_csv();
    Scores {
        metrics_csv,
        summary_csv,
        summary,
        spectrum_csv,
    }
}

/// Evaluates the model in `run_dir` on the first `eval.images` test images and
/// writes metrics.csv, summary.csv, spectrum.csv, recon.png and (with
/// `eval.samples` > 0) samples.png into `eval_dir`. The network runs on
/// `device`; the metrics are computed on the CPU in f64.
pub fn evaluate(
    cfg: &ResolvedPipeline,
    test: &ImageSet,
    run_dir: &Path,
    eval_dir: &Path,
    device: Device,
) -> Result<EvalSummary> {
    let images = test.first(cfg.eval.images as usize);
    let (recon, samples) = decode(cfg, &images, run_dir, device)?;
    let Scores {
        metrics_csv,
        summary_csv,
        summary,
        spectrum_csv,
    } = score(
        &cfg.eval.metrics,
        &images,
        &recon,
        &samples,
        cfg.eval.ai_scale,
    );
    let (c, h, w) = (images.channels, images.height, images.width);

    if cfg.eval.samples > 0 {
        save_grid(
            &samples,
            cfg.eval.samples as usize,
            c,
            h,
            w,
            8,
            &[],
            &eval_dir.join(SAMPLES_FILE),
        )?;
    }
    let (grid, count, columns) = recon_grid_pixels(&images, &recon);
    if count > 0 {
        let labels = recon_row_labels(count / columns);
        save_grid(
            &grid,
            count,
            c,
            h,
            w,
            columns,
            &labels,
            &eval_dir.join(RECON_FILE),
        )?;
    }
    for (name, text) in [
        (METRICS_FILE, &metrics_csv),
        (SUMMARY_FILE, &summary_csv),
        (SPECTRUM_FILE, &spectrum_csv),
    ] {
        let path = eval_dir.join(name);
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(summary)
}

/// Reads the summary.csv of a finished eval directory.
pub fn read_summary(eval_dir: &Path) -> Result<Vec<(String, f64, f64)>> {
    let path = eval_dir.join(SUMMARY_FILE);
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("parsing {}", path.display()))?;
        let parse = |i: usize| -> Result<f64> {
            record
                .get(i)
                .unwrap_or("")
                .parse::<f64>()
                .with_context(|| format!("bad number in {}", path.display()))
        };
        rows.push((
            record.get(0).unwrap_or("").to_string(),
            parse(1)?,
            parse(2)?,
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` one-pixel grey images with values `offset + i`.
    fn set(n: usize, offset: f32) -> ImageSet {
        ImageSet {
            channels: 1,
            height: 1,
            width: 1,
            pixels: (0..n).map(|i| offset + i as f32).collect(),
        }
    }

    #[test]
    fn recon_rows_are_labelled_input_then_reconstruction() {
        assert_eq!(
            recon_row_labels(4),
            ["input", "reconstruction", "input", "reconstruction"]
        );
        assert_eq!(recon_row_labels(2).len(), 2);
    }

    #[test]
    fn recon_grid_puts_each_row_of_inputs_above_its_reconstructions() {
        // 20 images: two whole rows of 8 are shown (16 images), interleaved.
        let images = set(20, 0.0);
        let recon = set(20, 100.0).pixels;
        let (pixels, count, columns) = recon_grid_pixels(&images, &recon);
        assert_eq!((count, columns), (32, 8));
        let want: Vec<f32> = (0..8)
            .map(|i| i as f32)
            .chain((0..8).map(|i| 100.0 + i as f32))
            .chain((8..16).map(|i| i as f32))
            .chain((8..16).map(|i| 100.0 + i as f32))
            .collect();
        assert_eq!(pixels, want);

        // Fewer images than a row: one row of each.
        let images = set(3, 0.0);
        let (pixels, count, columns) = recon_grid_pixels(&images, &set(3, 100.0).pixels);
        assert_eq!((count, columns), (6, 3));
        assert_eq!(pixels, [0.0, 1.0, 2.0, 100.0, 101.0, 102.0]);
    }

    /// `eval.ai_scale: db` gives 20·log10|F| = 20·ln|F| / ln 10 in rmse_ai and in
    /// every spectrum.csv column, and leaves the other metrics alone.
    #[test]
    fn db_scale_is_the_ln_profile_over_ln_10() {
        let image = |seed: u32| -> Vec<f32> {
            (0..256u32)
                .map(|i| ((i * 37 + seed * 11) % 17) as f32 / 16.0)
                .collect()
        };
        let images = ImageSet {
            channels: 1,
            height: 16,
            width: 16,
            pixels: (0..4).flat_map(image).collect(),
        };
        let recon: Vec<f32> = (4..8).flat_map(image).collect();
        let samples: Vec<f32> = (8..10).flat_map(image).collect();
        let metrics = [
            Metric::named("rmse_ai").unwrap(),
            Metric::named("rmse_spatial").unwrap(),
        ];
        let ln = score(&metrics, &images, &recon, &samples, AiScale::Ln);
        let db = score(&metrics, &images, &recon, &samples, AiScale::Db);
        let numbers = |csv: &str| -> Vec<f64> {
            csv.lines()
                .skip(1)
                .flat_map(|l| l.split(',').skip(1).map(str::to_string).collect::<Vec<_>>())
                .filter(|v| !v.is_empty())
                .map(|v| v.parse().unwrap())
                .collect()
        };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-8 * b.abs().max(1e-12);
        // spectrum.csv: bin, frequency, then profile statistics.
        let spectrum = |s: &Scores| -> Vec<f64> {
            s.spectrum_csv
                .lines()
                .skip(1)
                .flat_map(|l| {
                    l.split(',')
                        .skip(2)
                        .map(|v| v.parse::<f64>().unwrap())
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let (s_ln, s_db) = (spectrum(&ln), spectrum(&db));
        assert!(!s_ln.is_empty());
        for (a, b) in s_db.iter().zip(&s_ln) {
            assert!(close(a * std::f64::consts::LN_10, *b), "{a} dB vs {b}");
        }
        // metrics.csv rows: rmse_ai scaled, rmse_spatial unchanged.
        let (m_ln, m_db) = (numbers(&ln.metrics_csv), numbers(&db.metrics_csv));
        for (i, (a, b)) in m_db.iter().zip(&m_ln).enumerate() {
            let want = if i % 2 == 0 {
                b / std::f64::consts::LN_10
            } else {
                *b
            };
            assert!(
                close(*a, want),
                "column {} row {}: {a} vs {want}",
                i % 2,
                i / 2
            );
        }
        assert_eq!(AiScale::Db.quantity(), "20·log10|F| (dB)");
    }
}
