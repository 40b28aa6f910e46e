//! Image grids as PNG files (prior samples, reconstructions).

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::atomic::write_atomic;

/// Pixels between neighbouring images in a grid.
const GAP: usize = 2;

/// Writes `count` images (`[count, C, H, W]` values in [0, 1], C = 1 or 3) as a
/// grid with `columns` images per row, separated by dark-grey gaps, to `path`.
pub fn save_grid(
    pixels: &[f32],
    count: usize,
    channels: usize,
    height: usize,
    width: usize,
    columns: usize,
    path: &Path,
) -> Result<()> {
    if count == 0 || columns == 0 {
        return Err(anyhow!(
            "an image grid needs at least one image and one column"
        ));
    }
    let rows = count.div_ceil(columns);
    let grid_w = columns * width + (columns + 1) * GAP;
    let grid_h = rows * height + (rows + 1) * GAP;
    let mut rgb = vec![40u8; grid_w * grid_h * 3];
    let plane = height * width;
    for i in 0..count {
        let (gy, gx) = (i / columns, i % columns);
        let image = &pixels[i * channels * plane..(i + 1) * channels * plane];
        for y in 0..height {
            for x in 0..width {
                let at =
                    ((GAP + gy * (height + GAP) + y) * grid_w + GAP + gx * (width + GAP) + x) * 3;
                for k in 0..3 {
                    let c = if channels == 3 { k } else { 0 };
                    let v = image[c * plane + y * width + x].clamp(0.0, 1.0);
                    rgb[at + k] = (v * 255.0).round() as u8;
                }
            }
        }
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
    fn grid_places_each_image_at_its_cell() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        // Three 2x2 grey images with values 0, 0.5, 1.
        let pixels: Vec<f32> = [0.0f32, 0.5, 1.0].iter().flat_map(|v| [*v; 4]).collect();
        save_grid(&pixels, 3, 1, 2, 2, 2, &path).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(
            img.dimensions(),
            (2 * 2 + 3 * GAP as u32, 2 * 2 + 3 * GAP as u32)
        );
        let g = GAP as u32;
        assert_eq!(img.get_pixel(g, g).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(g + 2 + g, g).0, [128, 128, 128]);
        assert_eq!(img.get_pixel(g, g + 2 + g + 1).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(0, 0).0, [40, 40, 40]);
    }
}
