//! The spectrum.csv file of an eval: per radial bin, the mean and std over the test
//! batch of the un-normalised 20·ln|F| azimuthal profile (docs/methods.md#azimuthal-profile) of
//! the real images, their reconstructions and the prior samples.
//!
//! Writing and reading live together so the report's plots read exactly the
//! columns the eval writes.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, Context, Result};

use super::metrics::SpectrumStats;

/// Version of the spectrum table (spectrum.csv).
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// Column header of spectrum.csv.
pub const SPECTRUM_HEADER: &str =
    "bin,frequency,real_mean,real_std,recon_mean,recon_std,sample_mean,sample_std";

/// The header written before the frequency and sample columns existed; such files
/// are still read (their evals are fresh: the eval key did not change), with an
/// unknown (NaN) frequency and no samples.
const LEGACY_HEADER: &str = "bin,real_mean,real_std,recon_mean,recon_std";

/// The contents of one spectrum.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumTable {
    /// Ring radius ⌊r⌋ of each kept bin (1, 2, …; Durall's bins without bin 0).
    pub bins: Vec<usize>,
    /// The same radius in cycles per pixel: ⌊r⌋ / image width.
    pub frequency: Vec<f64>,
    /// Statistics of the real test images.
    pub real: SpectrumStats,
    /// Statistics of their reconstructions.
    pub recon: SpectrumStats,
    /// Statistics of the images decoded from z ~ N(0, I); `None` when
    /// `eval.samples` is 0 (the columns are then empty).
    pub samples: Option<SpectrumStats>,
}

impl SpectrumTable {
    /// The table with every profile statistic multiplied by `factor` (> 0): the
    /// report puts cells with another `eval.ai_scale` on the figure's scale.
    pub fn rescaled(mut self, factor: f64) -> SpectrumTable {
        let stats = [&mut self.real, &mut self.recon]
            .into_iter()
            .chain(self.samples.as_mut());
        for s in stats {
            s.mean
                .iter_mut()
                .chain(&mut s.std)
                .for_each(|v| *v *= factor);
        }
        self
    }

    /// The table of bins with radii `radii` for images `width` pixels wide.
    pub fn new(
        radii: &[usize],
        width: usize,
        real: SpectrumStats,
        recon: SpectrumStats,
        samples: Option<SpectrumStats>,
    ) -> SpectrumTable {
        SpectrumTable {
            bins: radii.to_vec(),
            frequency: radii.iter().map(|&r| r as f64 / width as f64).collect(),
            real,
            recon,
            samples,
        }
    }

    /// The CSV text: the header, then one row per bin.
    pub fn to_csv(&self) -> String {
        let mut csv = format!("{SPECTRUM_HEADER}\n");
        for b in 0..self.bins.len() {
            let _ = write!(
                csv,
                "{},{:.9e},{:.9e},{:.9e},{:.9e},{:.9e}",
                self.bins[b],
                self.frequency[b],
                self.real.mean[b],
                self.real.std[b],
                self.recon.mean[b],
                self.recon.std[b]
            );
            match &self.samples {
                Some(s) => {
                    let _ = writeln!(csv, ",{:.9e},{:.9e}", s.mean[b], s.std[b]);
                }
                None => csv.push_str(",,\n"),
            }
        }
        csv
    }

    /// Reads a spectrum.csv written by [`SpectrumTable::to_csv`].
    pub fn read(path: &Path) -> Result<SpectrumTable> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        SpectrumTable::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Parses the text of a spectrum.csv.
    pub fn parse(text: &str) -> Result<SpectrumTable> {
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("");
        let legacy = header == LEGACY_HEADER;
        if header != SPECTRUM_HEADER && !legacy {
            return Err(anyhow!(
                "unexpected header {header:?} (expected {SPECTRUM_HEADER:?})"
            ));
        }
        let empty = || SpectrumStats {
            mean: Vec::new(),
            std: Vec::new(),
        };
        let mut table = SpectrumTable {
            bins: Vec::new(),
            frequency: Vec::new(),
            real: empty(),
            recon: empty(),
            samples: None,
        };
        let mut samples = empty();
        let mut have_samples = None;
        for (n, line) in lines.enumerate() {
            let mut fields: Vec<&str> = line.split(',').collect();
            if legacy && fields.len() == 5 {
                // Same layout as the current one, without frequency and samples.
                fields = vec![
                    fields[0], "NaN", fields[1], fields[2], fields[3], fields[4], "", "",
                ];
            }
            if fields.len() != 8 {
                return Err(anyhow!("line {}: expected 8 fields", n + 2));
            }
            let number = |i: usize| -> Result<f64> {
                fields[i]
                    .parse::<f64>()
                    .map_err(|_| anyhow!("line {}: bad number {:?}", n + 2, fields[i]))
            };
            table.bins.push(
                fields[0]
                    .parse()
                    .map_err(|_| anyhow!("line {}: bad bin {:?}", n + 2, fields[0]))?,
            );
            table.frequency.push(number(1)?);
            table.real.mean.push(number(2)?);
            table.real.std.push(number(3)?);
            table.recon.mean.push(number(4)?);
            table.recon.std.push(number(5)?);
            let filled = !fields[6].is_empty();
            if *have_samples.get_or_insert(filled) != filled {
                return Err(anyhow!(
                    "line {}: sample columns filled on some rows only",
                    n + 2
                ));
            }
            if filled {
                samples.mean.push(number(6)?);
                samples.std.push(number(7)?);
            }
        }
        if have_samples == Some(true) {
            table.samples = Some(samples);
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::profile_stats;

    #[test]
    fn columns_hold_per_bin_mean_and_population_std() {
        // Two images, two bins: means and ddof-0 stds worked by hand.
        let real = profile_stats(&[vec![1.0, 10.0], vec![3.0, 14.0]]);
        let recon = profile_stats(&[vec![2.0, 5.0], vec![2.0, 9.0]]);
        let samples = profile_stats(&[vec![0.0, 1.0], vec![4.0, 1.0], vec![8.0, 1.0]]);
        let table = SpectrumTable::new(&[1, 2], 32, real, recon, Some(samples));
        let csv = table.to_csv();
        let rows: Vec<Vec<f64>> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(|f| f.parse().unwrap()).collect())
            .collect();
        // bin, frequency, real mean/std, recon mean/std, sample mean/std.
        let sample_std0 = (32.0f64 / 3.0).sqrt(); // values 0, 4, 8 around 4.
        let want = [
            [1.0, 1.0 / 32.0, 2.0, 1.0, 2.0, 0.0, 4.0, sample_std0],
            [2.0, 2.0 / 32.0, 12.0, 2.0, 7.0, 2.0, 1.0, 0.0],
        ];
        assert_eq!(rows.len(), 2);
        for (row, want) in rows.iter().zip(&want) {
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-8, "{row:?} vs {want:?}");
            }
        }
        assert_eq!(csv.lines().next().unwrap(), SPECTRUM_HEADER);
    }

    #[test]
    fn sample_columns_are_empty_without_samples_and_parse_back() {
        let stats = profile_stats(&[vec![1.0, 2.0, 3.0]]);
        let table = SpectrumTable::new(&[1, 2, 3], 8, stats.clone(), stats.clone(), None);
        let csv = table.to_csv();
        for line in csv.lines().skip(1) {
            assert!(line.ends_with(",,"), "{line}");
        }
        let back = SpectrumTable::parse(&csv).unwrap();
        assert_eq!(back.bins, [1, 2, 3]);
        assert_eq!(back.samples, None);
        assert_eq!(back.real, stats);

        let with = SpectrumTable::new(&[1, 2, 3], 8, stats.clone(), stats.clone(), Some(stats));
        let back = SpectrumTable::parse(&with.to_csv()).unwrap();
        assert_eq!(back, with);
    }

    #[test]
    fn files_without_frequency_and_samples_still_parse() {
        let back =
            SpectrumTable::parse(&format!("{LEGACY_HEADER}\n1,5,1,4,2\n2,3,0.5,2,1\n")).unwrap();
        assert_eq!(back.bins, [1, 2]);
        assert!(back.frequency.iter().all(|f| f.is_nan()));
        assert_eq!(back.real.mean, [5.0, 3.0]);
        assert_eq!(back.recon.std, [2.0, 1.0]);
        assert_eq!(back.samples, None);
    }

    #[test]
    fn parse_rejects_a_foreign_header_and_ragged_samples() {
        assert!(SpectrumTable::parse("bin,real_mean\n1,2\n").is_err());
        let text = format!("{SPECTRUM_HEADER}\n1,0.1,1,0,1,0,2,0\n2,0.2,1,0,1,0,,\n");
        assert!(SpectrumTable::parse(&text).is_err());
    }
}
