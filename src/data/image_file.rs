//! PNG and JPEG files as 8-bit pixels, and the crop + resize shared by the CelebA
//! and image-folder datasets.
//!
//! Decoding goes through the `image` crate (zune-jpeg for JPEG), giving what
//! Pillow's `Image.open(f).convert('RGB')` gives up to the JPEG decoder's rounding
//! (zune-jpeg and libjpeg-turbo differ by a level or two in some pixels; see
//! docs/benchmarks.md#celeba-preprocessing).
//! Alpha is dropped without compositing and palettes are expanded, as `convert('RGB')`
//! does; 16-bit PNGs are reduced to 8 bits.
//!
//! The `image` crate decodes truncated JPEGs leniently (the missing rows come out
//! grey), whereas Pillow raises "image file is truncated". So a JPEG must have an
//! end-of-image marker after its first scan, or it is reported as malformed.

use std::fs;
use std::io;
use std::path::Path;

use rayon::prelude::*;

use super::resize::PilBilinear;
use super::DataError;

/// The 8-byte signature every PNG file starts with.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The start-of-image marker and the first byte of the next marker: every JPEG
/// file starts with these.
const JPEG_SIGNATURE: &[u8] = &[0xFF, 0xD8, 0xFF];

/// A decoded image: 8-bit values, pixel by pixel (`channels` values each), row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// 1 (grey source) or 3 (RGB).
    pub channels: usize,
    /// `height * width * channels` values, interleaved.
    pub pixels: Vec<u8>,
}

impl Decoded {
    /// The image as RGB: grey values are repeated in the three channels (Pillow's
    /// `convert('RGB')` of an `L` image).
    pub fn into_rgb(self) -> Decoded {
        if self.channels == 3 {
            return self;
        }
        Decoded {
            width: self.width,
            height: self.height,
            channels: 3,
            pixels: self.pixels.iter().flat_map(|&v| [v, v, v]).collect(),
        }
    }
}

/// Which decoder a file's first bytes call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Jpeg,
}

impl Format {
    /// The format whose signature `bytes` starts with, if any.
    fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(PNG_SIGNATURE) {
            Some(Format::Png)
        } else if bytes.starts_with(JPEG_SIGNATURE) {
            Some(Format::Jpeg)
        } else {
            None
        }
    }

    /// The name used in messages.
    fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG image",
            Format::Jpeg => "JPEG image",
        }
    }
}

/// Reads and decodes the PNG or JPEG file at `path` (the format is taken from the
/// content, not the name). A grey source stays one channel; everything else
/// becomes RGB.
///
/// # Errors
/// [`DataError::MissingFile`] (with `missing_hint`) if the file does not exist,
/// [`DataError::Io`] if it cannot be read, [`DataError::Malformed`] if it is not a
/// PNG or JPEG, is truncated, or does not decode.
pub fn read_image(path: &Path, missing_hint: &str) -> Result<Decoded, DataError> {
    let bytes = fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => DataError::MissingFile {
            path: path.to_owned(),
            hint: missing_hint.to_owned(),
        },
        _ => DataError::Io {
            path: path.to_owned(),
            source,
        },
    })?;
    decode(path, &bytes)
}

/// Decodes the bytes of a PNG or JPEG file; `path` is only for messages.
///
/// # Errors
/// As [`read_image`], without the I/O cases.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Decoded, DataError> {
    let bad = |reason: String| DataError::Malformed {
        path: path.to_owned(),
        reason,
    };
    let Some(format) = Format::sniff(bytes) else {
        return Err(bad(
            "PNG or JPEG image: the file starts with neither signature".to_owned(),
        ));
    };
    if format == Format::Jpeg {
        check_jpeg_complete(bytes).map_err(|why| bad(format!("JPEG image: {why}")))?;
    }
    let image_format = match format {
        Format::Png => image::ImageFormat::Png,
        Format::Jpeg => image::ImageFormat::Jpeg,
    };
    let image = image::load_from_memory_with_format(bytes, image_format)
        .map_err(|e| bad(format!("{}: {e}", format.name())))?;
    let (width, height) = (image.width() as usize, image.height() as usize);
    let grey = !image.color().has_color();
    let (channels, pixels) = if grey {
        (1, image.into_luma8().into_raw())
    } else {
        (3, image.into_rgb8().into_raw())
    };
    Ok(Decoded {
        width,
        height,
        channels,
        pixels,
    })
}

/// Checks that a JPEG's data is complete: walks the marker segments up to the first
/// start-of-scan, then requires an end-of-image marker (`FF D9`) after it. Inside
/// the compressed data a `FF` byte is always followed by `00` or a restart/scan
/// marker, so `FF D9` there can only be the real end.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), String> {
    const TRUNCATED: &str = "the file ends before its image data (truncated?)";
    let mut at = 2; // after the start-of-image marker
    loop {
        // Like libjpeg, skip stray bytes and fill bytes before a marker.
        while at < bytes.len() && bytes[at] != 0xFF {
            at += 1;
        }
        while at < bytes.len() && bytes[at] == 0xFF {
            at += 1;
        }
        let Some(&marker) = bytes.get(at) else {
            return Err(TRUNCATED.to_owned());
        };
        at += 1;
        match marker {
            // Markers without a length field.
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 => return Err("it ends before its first scan".to_owned()),
            _ => {}
        }
        let Some(len) = bytes.get(at..at + 2) else {
            return Err(TRUNCATED.to_owned());
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            return Err(format!("marker 0xFF{marker:02X} has length {len}"));
        }
        at += len;
        if marker == 0xDA {
            break;
        }
    }
    let scan = bytes.get(at..).ok_or_else(|| TRUNCATED.to_owned())?;
    if scan.windows(2).rev().any(|w| w == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err("no end-of-image marker after the image data (truncated?)".to_owned())
    }
}

/// torchvision's `CenterCrop` offset: `int(round(excess / 2))` with Python's
/// round-half-to-even.
fn center_offset(excess: usize) -> usize {
    (excess as f64 / 2.0).round_ties_even() as usize
}

/// Buffers reused between images by [`CropResize`] (one per thread).
#[derive(Debug, Default)]
pub struct CropScratch {
    /// One channel of the crop.
    plane: Vec<u8>,
    /// The resampler's intermediate image.
    mid: Vec<u8>,
    /// The resized bytes before conversion to `[0, 1]`.
    resized: Vec<u8>,
}

/// Crop a box out of an image, then resize it to `side` x `side` with Pillow's
/// bilinear filter (antialiased when shrinking), channel by channel in 8 bits as
/// Pillow does for `RGB` and `L` images.
#[derive(Debug, Clone)]
pub struct CropResize {
    /// First column of the box.
    left: usize,
    /// First row of the box.
    top: usize,
    /// Box width.
    width: usize,
    /// Box height.
    height: usize,
    /// Output side.
    side: usize,
    /// Box -> side x side.
    plan: PilBilinear,
}

impl CropResize {
    /// The box with its top-left corner at (`left`, `top`) and size `width` x
    /// `height`, resized to `side` x `side` (PIL's `crop((left, top, left + width,
    /// top + height)).resize((side, side), BILINEAR)`).
    ///
    /// # Panics
    /// If a size is zero.
    pub fn new(left: usize, top: usize, width: usize, height: usize, side: usize) -> CropResize {
        CropResize {
            left,
            top,
            width,
            height,
            side,
            plan: PilBilinear::new(height, width, side, side),
        }
    }

    /// The largest centred square of a `width` x `height` image (torchvision's
    /// `CenterCrop(min(width, height))`), resized to `side` x `side`.
    ///
    /// # Panics
    /// If a size is zero.
    pub fn center_square(width: usize, height: usize, side: usize) -> CropResize {
        let square = width.min(height);
        CropResize::new(
            center_offset(width - square),
            center_offset(height - square),
            square,
            square,
            side,
        )
    }

    /// Whether the box lies inside a `width` x `height` image.
    pub fn fits(&self, width: usize, height: usize) -> bool {
        self.left + self.width <= width && self.top + self.height <= height
    }

    /// Crops and resizes `image` into `out`: `image.channels` planes of `side` x
    /// `side` bytes (channels first).
    ///
    /// # Panics
    /// If the box does not fit the image or `out` has the wrong length.
    pub fn apply(&self, image: &Decoded, out: &mut [u8], scratch: &mut CropScratch) {
        assert!(
            self.fits(image.width, image.height),
            "crop box outside image"
        );
        let c = image.channels;
        let plane_out = self.side * self.side;
        assert_eq!(out.len(), c * plane_out, "crop-resize output length");
        let row_len = image.width * c;
        for (ch, out_plane) in out.chunks_exact_mut(plane_out).enumerate() {
            scratch.plane.clear();
            for y in self.top..self.top + self.height {
                let row = &image.pixels[y * row_len..(y + 1) * row_len];
                let boxed = &row[self.left * c..(self.left + self.width) * c];
                scratch
                    .plane
                    .extend(boxed.chunks_exact(c).map(|pixel| pixel[ch]));
            }
            self.plan
                .resize_u8_into(&scratch.plane, out_plane, &mut scratch.mid);
        }
    }
}

impl CropResize {
    /// As [`CropResize::apply`], writing `byte / 255` values (see [`unit`]).
    ///
    /// # Panics
    /// As [`CropResize::apply`].
    pub fn apply_unit(&self, image: &Decoded, out: &mut [f32], scratch: &mut CropScratch) {
        let mut resized = std::mem::take(&mut scratch.resized);
        resized.resize(out.len(), 0);
        self.apply(image, &mut resized, scratch);
        for (o, &b) in out.iter_mut().zip(&resized) {
            *o = unit(b);
        }
        scratch.resized = resized;
    }
}

/// Reads and converts the images at `paths` in parallel into one buffer of
/// `image_len` values per image, in the order of `paths`. `convert` turns one
/// decoded image into its `image_len` values (it may reject the image).
///
/// Every file is read even after a failure; the error returned is the one of the
/// first bad file in `paths` order, so the report does not depend on scheduling.
///
/// # Errors
/// The first file's error from [`read_image`] (with `missing_hint`) or `convert`.
pub fn load_images<F>(
    paths: &[std::path::PathBuf],
    image_len: usize,
    missing_hint: &str,
    convert: F,
) -> Result<Vec<f32>, DataError>
where
    F: Fn(&Path, Decoded, &mut [f32], &mut CropScratch) -> Result<(), DataError> + Sync,
{
    assert!(image_len > 0, "images need at least one value");
    let mut pixels = vec![0.0f32; paths.len() * image_len];
    let first_error = pixels
        .par_chunks_mut(image_len)
        .zip(paths.par_iter())
        .enumerate()
        .map_init(CropScratch::default, |scratch, (i, (out, path))| {
            read_image(path, missing_hint)
                .and_then(|image| convert(path, image, out, scratch))
                .err()
                .map(|e| (i, e))
        })
        .flatten()
        .min_by_key(|(i, _)| *i);
    match first_error {
        Some((_, e)) => Err(e),
        None => Ok(pixels),
    }
}

/// A byte as a value in `[0, 1]`: `b / 255` in `f32`, as torchvision's `ToTensor`
/// (and so losslessly stored by the dataset cache).
pub fn unit(b: u8) -> f32 {
    f32::from(b) / 255.0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    /// A smooth RGB test image with some texture (so JPEG has work to do).
    pub(crate) fn test_rgb(width: u32, height: u32, seed: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let t = x * 3 + y * 2 + seed * 11;
            image::Rgb([
                (t % 256) as u8,
                ((x * y + seed) % 256) as u8,
                ((255 - y) ^ (x * 5 % 64)) as u8,
            ])
        })
    }

    /// `image` as a JPEG file's bytes at quality 90.
    pub(crate) fn jpeg_bytes(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(image)
            .unwrap();
        out
    }

    /// `image` as a PNG file's bytes.
    pub(crate) fn png_bytes(image: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                image.as_raw(),
                image.width(),
                image.height(),
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    #[test]
    fn png_decodes_exactly() {
        let img = test_rgb(7, 5, 1);
        let d = decode(Path::new("a.png"), &png_bytes(&img)).unwrap();
        assert_eq!((d.width, d.height, d.channels), (7, 5, 3));
        assert_eq!(d.pixels, img.into_raw());
    }

    #[test]
    fn grey_png_stays_one_channel_and_into_rgb_repeats_it() {
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(&[0, 100, 200, 255], 2, 2, image::ExtendedColorType::L8)
            .unwrap();
        let d = decode(Path::new("g.png"), &bytes).unwrap();
        assert_eq!((d.channels, d.pixels.clone()), (1, vec![0, 100, 200, 255]));
        let rgb = d.into_rgb();
        assert_eq!(rgb.channels, 3);
        assert_eq!(&rgb.pixels[..6], &[0, 0, 0, 100, 100, 100]);
    }

    #[test]
    fn jpeg_decodes_close_to_the_source() {
        let img = test_rgb(32, 24, 2);
        let d = decode(Path::new("a.jpg"), &jpeg_bytes(&img)).unwrap();
        assert_eq!((d.width, d.height, d.channels), (32, 24, 3));
        let mean_err: f64 = d
            .pixels
            .iter()
            .zip(img.as_raw())
            .map(|(&a, &b)| f64::from(a.abs_diff(b)))
            .sum::<f64>()
            / d.pixels.len() as f64;
        assert!(mean_err < 8.0, "mean abs error {mean_err}");
    }

    #[test]
    fn truncated_jpeg_and_garbage_are_malformed() {
        let bytes = jpeg_bytes(&test_rgb(32, 32, 3));
        for cut in [bytes.len() - 2, bytes.len() / 2, 40, 3] {
            let err = decode(Path::new("cut.jpg"), &bytes[..cut]).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, DataError::Malformed { .. }), "{text}");
            assert!(
                text.starts_with("cut.jpg is not a valid JPEG image"),
                "{text}"
            );
        }
        // Trailing bytes after the end marker are harmless (Pillow ignores them too).
        let mut padded = bytes.clone();
        padded.extend_from_slice(b"trailing");
        assert!(decode(Path::new("p.jpg"), &padded).is_ok());
        let err = decode(Path::new("x.png"), b"GIF89a....").unwrap_err();
        assert!(err.to_string().contains("neither signature"), "{err}");
        let png = png_bytes(&test_rgb(8, 8, 0));
        let err = decode(Path::new("t.png"), &png[..png.len() - 30]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("t.png is not a valid PNG image"),
            "{err}"
        );
    }

    #[test]
    fn missing_file_carries_the_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_image(&dir.path().join("none.jpg"), "put it there").unwrap_err();
        assert!(matches!(err, DataError::MissingFile { .. }));
        assert!(err.to_string().ends_with("put it there"), "{err}");
    }

    #[test]
    fn center_offsets_round_half_to_even_like_torchvision() {
        // int(round(x / 2.0)) in Python: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 35 -> 35.
        assert_eq!([1, 3, 5, 70, 30].map(center_offset), [0, 2, 2, 35, 15]);
        let c = CropResize::center_square(178, 218, 64);
        assert_eq!((c.left, c.top, c.width, c.height), (0, 20, 178, 178));
        let c = CropResize::center_square(9, 4, 4);
        assert_eq!((c.left, c.top, c.width, c.height), (2, 0, 4, 4));
    }

    #[test]
    fn crop_without_resize_copies_the_box() {
        let img = test_rgb(6, 5, 4);
        let d = Decoded {
            width: 6,
            height: 5,
            channels: 3,
            pixels: img.clone().into_raw(),
        };
        let crop = CropResize::new(1, 2, 3, 3, 3);
        let mut out = vec![0u8; 27];
        crop.apply(&d, &mut out, &mut CropScratch::default());
        for c in 0..3 {
            for y in 0..3 {
                for x in 0..3 {
                    let want = img.get_pixel(1 + x as u32, 2 + y as u32)[c];
                    assert_eq!(out[c * 9 + y * 3 + x], want, "c{c} y{y} x{x}");
                }
            }
        }
        assert!(!crop.fits(3, 5));
        assert!(crop.fits(4, 5));
    }
}
