//! Drawing one figure twice, as a PNG and as an SVG, each written atomically.
//!
//! plotters draws into an in-memory RGB buffer (encoded here with the `image`
//! crate) and an in-memory SVG string, so nothing is written until the whole
//! figure has been drawn, and a half-drawn figure never lands on disk.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::fonts;
use crate::atomic::write_atomic;

/// Something that can draw itself on any plotters backend.
pub trait Figure {
    /// Size in pixels (the SVG uses the same user units).
    fn size(&self) -> (u32, u32);

    /// Draws the figure on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// A plotters error as an anyhow error (plotters' errors borrow nothing, but their
/// types are generic over the backend).
pub fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing: {e}")
}

/// The files of one figure: `stem.png` and `stem.svg`.
pub const FIGURE_EXTENSIONS: [&str; 2] = ["png", "svg"];

/// Writes `figure` to `stem.png` and `stem.svg`.
pub fn save_figure(figure: &impl Figure, stem: &Path) -> Result<()> {
    fonts::ensure_registered()?;
    let (w, h) = figure.size();

    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        figure.draw(&root)?;
        root.present().map_err(plot_error)?;
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&rgb, w, h, ExtendedColorType::Rgb8)
        .context("encoding PNG")?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        figure.draw(&root)?;
        root.present().map_err(plot_error)?;
    }

    for (ext, bytes) in FIGURE_EXTENSIONS
        .into_iter()
        .zip([png.as_slice(), svg.as_bytes()])
    {
        let path = stem.with_extension(ext);
        write_atomic(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Colour of the fine grid lines: barely there, so the data stand out.
pub const GRID_LIGHT: RGBColor = RGBColor(245, 245, 245);

/// `(lo, hi)` widened by 5% on each side, and to a unit range when flat, so no
/// line sits on the frame.
pub fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi <= lo {
        let half = (lo.abs() * 0.1).max(0.5);
        return (lo - half, lo + half);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// The chart of the spectrum figure: f64 on both axes.
pub type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws `points` as a 2-pixel line in `color` (dashed when `dashed`) and
/// registers it in the legend under `label`. Any f64 × f64 chart (linear or
/// logarithmic axes).
pub fn draw_labelled_line<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    points: Vec<(f64, f64)>,
    color: RGBColor,
    label: &str,
    dashed: bool,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let style = color.stroke_width(2);
    let anno = if dashed {
        chart
            .draw_series(DashedLineSeries::new(points, 6, 4, style))
            .map_err(plot_error)?
    } else {
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(plot_error)?
    };
    anno.label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

/// Draws the legend of the registered lines in the upper right, on a light box.
pub fn draw_series_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    font_size: u32,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .label_font((fonts::FAMILY, font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(plot_error)
}

/// The colour of series `i`: black for the first (the reference), then a
/// colour-blind-friendly palette.
pub fn series_color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 8] = [
        RGBColor(0, 0, 0),
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(120, 120, 120),
    ];
    // Black is only the reference: later series cycle through the other colours.
    match i {
        0 => COLORS[0],
        _ => COLORS[1 + (i - 1) % (COLORS.len() - 1)],
    }
}

/// The text of every `<text>` element of an SVG written by plotters, trimmed:
/// what a figure says, for tests that check labels and legends.
pub fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|part| {
            let body = &part[part.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_series_is_black_and_neighbours_differ() {
        assert_eq!(series_color(0), RGBColor(0, 0, 0));
        for i in 1..40 {
            assert_ne!(series_color(i), RGBColor(0, 0, 0), "series {i}");
            for j in i + 1..(i + 7).min(40) {
                assert_ne!(series_color(i), series_color(j), "series {i} and {j}");
            }
        }
    }

    #[test]
    fn padding_widens_ranges_and_flat_ones() {
        assert_eq!(padded(0.0, 10.0), (-0.5, 10.5));
        assert_eq!(padded(2.0, 2.0), (1.5, 2.5));
        assert_eq!(padded(100.0, 100.0), (90.0, 110.0));
        assert_eq!(padded(f64::NAN, 1.0), (0.0, 1.0));
    }
}
