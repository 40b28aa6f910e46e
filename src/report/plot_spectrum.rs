//! The pipeline's spectrum figure, Björk's Fig. 2: the average azimuthal spectrum
//! (un-normalised 20·ln|F| profile) of the real test images and of every finished
//! cell's reconstructions, each a mean line with a shaded ±std band.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{
    draw_labelled_line, draw_series_legend, padded, plot_error, series_color, Chart, Figure,
    GRID_LIGHT,
};
use super::fonts::FAMILY;
use crate::eval::spectrum::SpectrumTable;

/// One curve: per-bin mean and std.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumSeries {
    /// Legend text.
    pub label: String,
    /// Bin radius (x).
    pub x: Vec<f64>,
    /// Mean profile value per bin.
    pub mean: Vec<f64>,
    /// Std per bin.
    pub std: Vec<f64>,
}

/// What one finished cell contributes.
#[derive(Debug, Clone)]
pub struct CellSpectrum {
    /// The cell's swept-parameter label ("" for a single cell).
    pub label: String,
    /// Its dataset key: cells on the same data share one "real data" curve.
    pub dataset: String,
    /// Its eval's spectrum.csv.
    pub table: SpectrumTable,
}

/// The curves of the figure: the real data of each distinct dataset (from its
/// first cell), then the reconstructions of each distinct cell label (cells that
/// share a label and dataset, e.g. the seeds of one table row, are averaged), in
/// cell order.
pub fn spectrum_series(cells: &[CellSpectrum]) -> Vec<SpectrumSeries> {
    let series = |label: String, table: &SpectrumTable, recon: bool| {
        let stats = if recon { &table.recon } else { &table.real };
        SpectrumSeries {
            label,
            x: table.bins.iter().map(|&b| b as f64).collect(),
            mean: stats.mean.clone(),
            std: stats.std.clone(),
        }
    };
    let mut datasets: Vec<&CellSpectrum> = Vec::new();
    for cell in cells {
        if !datasets.iter().any(|d| d.dataset == cell.dataset) {
            datasets.push(cell);
        }
    }
    let mut out: Vec<SpectrumSeries> = datasets
        .iter()
        .map(|first| {
            let label = if datasets.len() == 1 || first.label.is_empty() {
                "real data".to_string()
            } else {
                format!("real data ({})", first.label)
            };
            series(label, &first.table, false)
        })
        .collect();
    // Cells with the same label (the seeds of one table row) make one curve: the
    // per-bin average of their means and of their stds, so the band stays the
    // spread over the test images, as in Björk's figure.
    let mut groups: Vec<(String, Vec<&CellSpectrum>)> = Vec::new();
    for cell in cells {
        let label = if cell.label.is_empty() {
            "reconstructions".to_string()
        } else {
            cell.label.clone()
        };
        match groups
            .iter_mut()
            .find(|(l, g)| *l == label && g[0].dataset == cell.dataset)
        {
            Some((_, group)) => group.push(cell),
            None => groups.push((label, vec![cell])),
        }
    }
    for (label, group) in groups {
        let mut curve = series(label, &group[0].table, true);
        if group.len() > 1 {
            let average = |pick: fn(&SpectrumTable) -> &Vec<f64>| -> Vec<f64> {
                (0..curve.x.len())
                    .map(|b| {
                        group.iter().map(|c| pick(&c.table)[b]).sum::<f64>() / group.len() as f64
                    })
                    .collect()
            };
            curve.mean = average(|t| &t.recon.mean);
            curve.std = average(|t| &t.recon.std);
            curve.label = format!("{} (mean of {} runs)", curve.label, group.len());
        }
        out.push(curve);
    }
    out
}

/// The figure: every series on one pair of axes with a legend.
pub struct SpectrumFigure {
    /// Title above the axes.
    pub title: String,
    /// The curves, drawn in order (the first in black).
    pub series: Vec<SpectrumSeries>,
    /// What the y axis shows (`AiScale::quantity`, e.g. "20·ln|F|").
    pub quantity: &'static str,
}

impl Figure for SpectrumFigure {
    fn size(&self) -> (u32, u32) {
        (900, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let points = || self.series.iter().flat_map(|s| s.x.iter().copied());
        let (x0, x1) = (
            points().fold(f64::INFINITY, f64::min),
            points().fold(f64::NEG_INFINITY, f64::max),
        );
        let band = |sign: f64| {
            self.series.iter().flat_map(move |s| {
                s.mean
                    .iter()
                    .zip(&s.std)
                    .map(move |(m, d)| m + sign * d)
                    .filter(|v| v.is_finite())
            })
        };
        let (y0, y1) = padded(
            band(-1.0).fold(f64::INFINITY, f64::min),
            band(1.0).fold(f64::NEG_INFINITY, f64::max),
        );
        let (x0, x1) = if x0 < x1 { (x0, x1) } else { padded(x0, x1) };
        let mut chart: Chart<DB> = ChartBuilder::on(root)
            .caption(&self.title, (FAMILY, 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .light_line_style(GRID_LIGHT)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("spatial frequency (radial bin)")
            .y_desc(format!("{} (azimuthal mean)", self.quantity))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .draw()
            .map_err(plot_error)?;
        for (i, s) in self.series.iter().enumerate() {
            let color = series_color(i);
            let upper =
                s.x.iter()
                    .zip(&s.mean)
                    .zip(&s.std)
                    .map(|((x, m), d)| (*x, m + d));
            let lower =
                s.x.iter()
                    .zip(&s.mean)
                    .zip(&s.std)
                    .map(|((x, m), d)| (*x, m - d));
            let outline: Vec<(f64, f64)> = upper.chain(lower.rev()).collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    color.mix(0.15).filled(),
                )))
                .map_err(plot_error)?;
            let line: Vec<(f64, f64)> = s.x.iter().copied().zip(s.mean.iter().copied()).collect();
            draw_labelled_line(&mut chart, line, color, &s.label, false)?;
        }
        draw_series_legend(&mut chart, 14)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::SpectrumStats;

    fn table(real: f64, recon: f64) -> SpectrumTable {
        let stats = |v: f64| SpectrumStats {
            mean: vec![v, v - 1.0],
            std: vec![0.5, 0.25],
        };
        SpectrumTable::new(&[1, 2], 32, stats(real), stats(recon), None)
    }

    fn cell(label: &str, dataset: &str, real: f64, recon: f64) -> CellSpectrum {
        CellSpectrum {
            label: label.to_string(),
            dataset: dataset.to_string(),
            table: table(real, recon),
        }
    }

    #[test]
    fn real_data_once_per_dataset_then_every_cell() {
        let cells = [
            cell("model.upsampler=convt", "d1", 10.0, 8.0),
            cell("model.upsampler=n15", "d1", 10.0, 9.0),
        ];
        let series = spectrum_series(&cells);
        let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["real data", "model.upsampler=convt", "model.upsampler=n15"]
        );
        assert_eq!(series[0].x, [1.0, 2.0]);
        assert_eq!(series[0].mean, [10.0, 9.0]);
        assert_eq!(series[0].std, [0.5, 0.25]);
        assert_eq!(series[2].mean, [9.0, 8.0]);

        // Two datasets: each gets its own real curve, named by its first cell.
        let cells = [
            cell("dataset.size=28", "d1", 10.0, 8.0),
            cell("dataset.size=32", "d2", 12.0, 9.0),
        ];
        let labels: Vec<String> = spectrum_series(&cells)
            .into_iter()
            .map(|s| s.label)
            .collect();
        assert_eq!(
            labels,
            [
                "real data (dataset.size=28)",
                "real data (dataset.size=32)",
                "dataset.size=28",
                "dataset.size=32"
            ]
        );

        // A single cell has no label.
        let labels: Vec<String> = spectrum_series(&[cell("", "d1", 1.0, 1.0)])
            .into_iter()
            .map(|s| s.label)
            .collect();
        assert_eq!(labels, ["real data", "reconstructions"]);
    }

    #[test]
    fn cells_sharing_a_label_average_into_one_curve() {
        let (a, b) = (cell("FFT", "d1", 10.0, 8.0), cell("FFT", "d1", 10.0, 11.0));
        let one = |c: &CellSpectrum| spectrum_series(std::slice::from_ref(c)).remove(1);
        let (sa, sb) = (one(&a), one(&b));
        let series = spectrum_series(&[a, b, cell("Vanilla", "d1", 10.0, 5.0)]);
        let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["real data", "FFT (mean of 2 runs)", "Vanilla"]);
        for k in 0..sa.mean.len() {
            assert_eq!(series[1].mean[k], (sa.mean[k] + sb.mean[k]) / 2.0);
            assert_eq!(series[1].std[k], (sa.std[k] + sb.std[k]) / 2.0);
        }
    }

    #[test]
    fn figure_writes_a_drawn_png_and_an_svg_with_the_legend() {
        let dir = tempfile::tempdir().unwrap();
        let cells = [
            cell("model.upsampler=convt", "d1", 10.0, 8.0),
            cell("model.upsampler=n15", "d1", 10.0, 9.0),
        ];
        let figure = SpectrumFigure {
            title: "p: average azimuthal spectrum".into(),
            series: spectrum_series(&cells),
            quantity: "20·ln|F|",
        };
        crate::report::figure::save_figure(&figure, &dir.path().join("spectrum")).unwrap();
        let png = image::open(dir.path().join("spectrum.png"))
            .unwrap()
            .to_rgb8();
        assert_eq!(png.dimensions(), figure.size());
        let first = *png.get_pixel(0, 0);
        assert!(png.pixels().any(|p| *p != first), "a single colour");
        // The legend's black line and the second series' blue are drawn.
        assert!(png.pixels().any(|p| p.0 == [0, 114, 178]));
        let svg = std::fs::read_to_string(dir.path().join("spectrum.svg")).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..50]);
        let texts = crate::report::figure::svg_texts(&svg);
        for label in ["real data", "model.upsampler=convt", "model.upsampler=n15"] {
            assert!(texts.iter().any(|t| t == label), "{label} not in {texts:?}");
        }
    }
}
