//! Image grids as PNG files (prior samples, reconstructions): each image scaled up
//! by an integer factor (nearest neighbour, so no pixel is invented), optionally
//! with a label left of each row in the plots' font.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure::plot_error;
use super::fonts;
use crate::atomic::write_atomic;

/// Pixels between neighbouring images in a grid (after scaling).
pub const GAP: usize = 4;

/// Grid cells are at least this many pixels on their longer side: images are
/// scaled up by the smallest integer factor that reaches it.
pub const MIN_CELL: usize = 96;

/// Font size of row labels.
const LABEL_FONT: f64 = 16.0;

/// Pixels left and right of the row labels.
const LABEL_PAD: usize = 10;

/// Background (gaps and label column).
const BACKGROUND: u8 = 40;

/// Colour of the row labels.
const LABEL_COLOR: RGBColor = RGBColor(235, 235, 235);

/// The integer factor an image of `height` x `width` is scaled up by in a grid.
pub fn grid_scale(height: usize, width: usize) -> usize {
    MIN_CELL.div_ceil(height.max(width).max(1)).max(1)
}

/// Where everything of a grid goes, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridLayout {
    /// Images per row.
    pub columns: usize,
    /// Rows of images.
    pub rows: usize,
    /// Scale factor of each image.
    pub scale: usize,
    /// Width and height of one scaled image.
    pub cell: (usize, usize),
    /// Width of the label column left of the images (0 without labels).
    pub label_width: usize,
    /// Width and height of the whole picture.
    pub size: (usize, usize),
}

impl GridLayout {
    /// The layout of `count` images of `height` x `width` in rows of `columns`,
    /// with `labels` (one per row, or none) left of the rows.
    pub fn new(
        count: usize,
        height: usize,
        width: usize,
        columns: usize,
        labels: &[&str],
    ) -> Result<GridLayout> {
        if count == 0 || columns == 0 {
            return Err(anyhow!(
                "an image grid needs at least one image and one column"
            ));
        }
        let rows = count.div_ceil(columns);
        if !labels.is_empty() && labels.len() != rows {
            return Err(anyhow!("{} row labels for {rows} rows", labels.len()));
        }
        let scale = grid_scale(height, width);
        let cell = (width * scale, height * scale);
        let widths = labels
            .iter()
            .map(|l| text_width(l))
            .collect::<Result<Vec<usize>>>()?;
        let label_width = match widths.into_iter().max() {
            Some(w) => w + 2 * LABEL_PAD - GAP,
            None => 0,
        };
        Ok(GridLayout {
            columns,
            rows,
            scale,
            cell,
            label_width,
            size: (
                label_width + columns * cell.0 + (columns + 1) * GAP,
                rows * cell.1 + (rows + 1) * GAP,
            ),
        })
    }

    /// Top-left pixel of image `i`.
    pub fn origin(&self, i: usize) -> (usize, usize) {
        let (gy, gx) = (i / self.columns, i % self.columns);
        (
            self.label_width + GAP + gx * (self.cell.0 + GAP),
            GAP + gy * (self.cell.1 + GAP),
        )
    }
}

/// Width in pixels of `text` in the label font.
fn text_width(text: &str) -> Result<usize> {
    fonts::ensure_registered()?;
    let font = FontDesc::new(
        FontFamily::Name(fonts::FAMILY),
        LABEL_FONT,
        FontStyle::Normal,
    );
    let (w, _) = font.box_size(text).map_err(plot_error)?;
    Ok(w as usize)
}

/// Writes `count` images (`[count, C, H, W]` values in [0, 1], C = 1 or 3) as a
/// grid with `columns` images per row, each scaled by [`grid_scale`], separated by
/// dark-grey gaps, with `labels` (one per row, or none) left of the rows, to
/// `path`.
#[allow(clippy::too_many_arguments)]
pub fn save_grid(
    pixels: &[f32],
    count: usize,
    channels: usize,
    height: usize,
    width: usize,
    columns: usize,
    labels: &[&str],
    path: &Path,
) -> Result<()> {
    let layout = GridLayout::new(count, height, width, columns, labels)?;
    let (grid_w, grid_h) = layout.size;
    let mut rgb = vec![BACKGROUND; grid_w * grid_h * 3];
    let plane = height * width;
    let s = layout.scale;
    for i in 0..count {
        let (ox, oy) = layout.origin(i);
        let image = &pixels[i * channels * plane..(i + 1) * channels * plane];
        for y in 0..height * s {
            for x in 0..width * s {
                let at = ((oy + y) * grid_w + ox + x) * 3;
                for k in 0..3 {
                    let c = if channels == 3 { k } else { 0 };
                    let v = image[c * plane + (y / s) * width + x / s].clamp(0.0, 1.0);
                    rgb[at + k] = (v * 255.0).round() as u8;
                }
            }
        }
    }
    if !labels.is_empty() {
        let root = BitMapBackend::with_buffer(&mut rgb, (grid_w as u32, grid_h as u32))
            .into_drawing_area();
        let style = TextStyle::from((fonts::FAMILY, LABEL_FONT).into_font())
            .color(&LABEL_COLOR)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (row, label) in labels.iter().enumerate() {
            let y = GAP + row * (layout.cell.1 + GAP) + layout.cell.1 / 2;
            root.draw(&Text::new(
                label.to_string(),
                (LABEL_PAD as i32, y as i32),
                style.clone(),
            ))
            .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&rgb, grid_w as u32, grid_h as u32, ExtendedColorType::Rgb8)
        .context("encoding PNG")?;
    write_atomic(path, &png).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_images_are_scaled_to_legible_cells() {
        assert_eq!(grid_scale(28, 28), 4);
        assert_eq!(grid_scale(32, 32), 3);
        assert_eq!(grid_scale(64, 64), 2);
        assert_eq!(grid_scale(1, 1), MIN_CELL);
        assert_eq!(grid_scale(200, 100), 1);
        for side in 1..=MIN_CELL {
            assert!(grid_scale(side, side) * side >= MIN_CELL, "{side}");
        }
    }

    #[test]
    fn grid_places_each_scaled_image_at_its_cell() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        // Three 2x2 grey images with values 0, 0.5, 1; the top-left pixel of the
        // third is 0.25.
        let mut pixels: Vec<f32> = [0.0f32, 0.5, 1.0].iter().flat_map(|v| [*v; 4]).collect();
        pixels[8] = 0.25;
        save_grid(&pixels, 3, 1, 2, 2, 2, &[], &path).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let (s, g) = (grid_scale(2, 2) as u32, GAP as u32);
        assert_eq!(s, 48);
        assert_eq!(img.dimensions(), (2 * 2 * s + 3 * g, 2 * 2 * s + 3 * g));
        assert_eq!(img.get_pixel(g, g).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(g + 2 * s - 1, g + 2 * s - 1).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(g + 2 * s + g, g).0, [128, 128, 128]);
        // Each source pixel is an s x s block (nearest neighbour).
        let third = g + 2 * s + g;
        assert_eq!(img.get_pixel(g, third).0, [64, 64, 64]);
        assert_eq!(img.get_pixel(g + s - 1, third + s - 1).0, [64, 64, 64]);
        assert_eq!(img.get_pixel(g + s, third).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(g, third + s).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(0, 0).0, [40, 40, 40]);
    }

    #[test]
    fn row_labels_sit_in_a_column_left_of_the_images() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        // Two rows of two black 28x28 images.
        let pixels = vec![0.0f32; 4 * 28 * 28];
        let labels = ["input", "reconstruction"];
        save_grid(&pixels, 4, 1, 28, 28, 2, &labels, &path).unwrap();
        let layout = GridLayout::new(4, 28, 28, 2, &labels).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let (w, h) = layout.size;
        assert_eq!(img.dimensions(), (w as u32, h as u32));
        // The label column holds the longer label in full.
        assert!(layout.label_width >= text_width("reconstruction").unwrap());
        assert_eq!(w, layout.label_width + 2 * 112 + 3 * GAP);
        assert_eq!(h, 2 * 112 + 3 * GAP);
        assert_eq!(
            layout.origin(3),
            (layout.label_width + 2 * GAP + 112, 2 * GAP + 112)
        );
        // Each row's label is drawn (light text) in its row of the label column,
        // and nothing else is.
        let lit = |y0: usize, y1: usize| {
            (y0..y1).any(|y| {
                (0..layout.label_width).any(|x| img.get_pixel(x as u32, y as u32).0[0] > 150)
            })
        };
        assert!(lit(GAP, GAP + 112), "no label in row 0");
        assert!(lit(2 * GAP + 112, 2 * GAP + 224), "no label in row 1");
        assert!(!lit(0, GAP) && !lit(h - GAP, h));
        // Rows of images are still black.
        let (ox, oy) = layout.origin(0);
        assert_eq!(img.get_pixel(ox as u32, oy as u32).0, [0, 0, 0]);
        // A label per row or none.
        assert!(GridLayout::new(4, 28, 28, 2, &["input"]).is_err());
    }
}
