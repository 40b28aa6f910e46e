//! IRMAE's synthetic "Shape" images (docs/methods.md#shape): one filled circle or
//! square of a random colour on a black background.
//!
//! # Draws
//! Each image draws, in this order:
//! 1. its colour: three uniforms in `[0, 1)` (R, G, B), or, for grey images with
//!    [`GrayMode::Intensity`], a single uniform intensity in `[0, 1)` *instead of*
//!    the three;
//! 2. `cx`, uniform in `{8, …, 24}` (column);
//! 3. `cy`, uniform in `{8, …, 24}` (row);
//! 4. `size`, uniform in `{3, …, 8}`;
//! 5. the shape `s`, uniform in `{0, 1}`.
//!
//! `s = 0` is a filled circle of radius `size` centred on (column `cx`, row `cy`):
//! pixel (x, y) is set iff `(x − cx)² + (y − cy)² ≤ size²`. `s = 1` is a filled
//! square with inclusive corners `(cx, cy)` and `(cx + size, cy + size)`, so its side
//! is `size + 1`, clipped to the image. The ranges are IRMAE's, which assume 32x32;
//! they are kept for any `size` (shapes are clipped to the image).
//! [`GrayMode::Luminance`] draws the RGB colour and converts it with
//! `0.2989 R + 0.5870 G + 0.1140 B`.
//!
//! # Randomness
//! IRMAE's numpy stream is not reproduced (see docs/methods.md#shape); instead every image has
//! its own generator so that the set can be generated in parallel and image `i` is
//! the same whatever `n` is and however the work is split. Image `i` of seed `seed`
//! uses `rand_pcg::Pcg64::new(state, stream)` where the 128-bit `state` and `stream`
//! are four consecutive SplitMix64 outputs, the SplitMix64 sequence starting from
//! `mix(mix(seed + C1) ^ mix(i + C2))` (`mix` = the SplitMix64 finaliser, C1 and C2
//! odd constants so that zero inputs do not map to zero). Uniforms are derived
//! directly from `next_u64` (below), not through `rand`'s distributions, so the
//! images depend only on the PCG algorithm, not on a `rand` version's sampling code.

use rand::RngCore;
use rand_pcg::Pcg64;
use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use super::source::{check_channels, check_count, DatasetSource, Split};
use super::{DataError, ImageSet};
use crate::pipeline::schema::{Arch, ConfigIssue};

/// Version of the Shape generator.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// Grey-scale weights of R, G and B (ITU-R BT.601 as rounded by IRMAE / Björk).
const LUMA: [f32; 3] = [0.2989, 0.5870, 0.1140];

/// The SplitMix64 increment (2^64 / golden ratio, odd).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Added to the seed before mixing so that seed 0 does not start from state 0.
const SEED_OFFSET: u64 = 0x2545_F491_4F6C_DD1D;

/// Added to the image index before mixing, for the same reason.
const INDEX_OFFSET: u64 = 0x632B_E59B_D9B4_E019;

/// The SplitMix64 output function: a bijective 64-bit mixer with full avalanche.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of image `index` of the set with seed `seed` (see module docs).
fn image_rng(seed: u64, index: u64) -> Pcg64 {
    let mut state =
        mix64(mix64(seed.wrapping_add(SEED_OFFSET)) ^ mix64(index.wrapping_add(INDEX_OFFSET)));
    let mut next = || {
        state = state.wrapping_add(GOLDEN_GAMMA);
        mix64(state)
    };
    let pcg_state = (u128::from(next()) << 64) | u128::from(next());
    let pcg_stream = (u128::from(next()) << 64) | u128::from(next());
    Pcg64::new(pcg_state, pcg_stream)
}

/// A uniform `f32` in `[0, 1)`: the top 24 bits of one `u64`, which `f32` represents
/// exactly, so the value can never round up to 1.
fn unit_f32(rng: &mut Pcg64) -> f32 {
    (rng.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// A uniform integer in `lo..=hi` by Lemire's multiply-and-reject method (unbiased).
fn int_inclusive(rng: &mut Pcg64, lo: i64, hi: i64) -> i64 {
    let range = (hi - lo + 1) as u64;
    // 2^64 mod range: products whose low half falls below it would bias the result.
    let threshold = range.wrapping_neg() % range;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(range);
        if (m as u64) >= threshold {
            return lo + (m >> 64) as i64;
        }
    }
}

/// Everything drawn for one image.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Draw {
    /// Per-channel value of the shape (only the first `channels` are used).
    colour: [f32; 3],
    /// Column of the circle centre / square's left edge.
    cx: i64,
    /// Row of the circle centre / square's top edge.
    cy: i64,
    /// Radius, or side minus one.
    size: i64,
    /// `s = 1`.
    square: bool,
}

/// Performs the draws of image `index` in the documented order.
fn draw(seed: u64, index: u64, channels: usize, gray: GrayMode) -> Draw {
    let mut rng = image_rng(seed, index);
    let colour = if channels == 1 && gray == GrayMode::Intensity {
        let v = unit_f32(&mut rng);
        [v, 0.0, 0.0]
    } else {
        let r = unit_f32(&mut rng);
        let g = unit_f32(&mut rng);
        let b = unit_f32(&mut rng);
        if channels == 1 {
            [luminance(r, g, b), 0.0, 0.0]
        } else {
            [r, g, b]
        }
    };
    let cx = int_inclusive(&mut rng, 8, 24);
    let cy = int_inclusive(&mut rng, 8, 24);
    let size = int_inclusive(&mut rng, 3, 8);
    let square = int_inclusive(&mut rng, 0, 1) == 1;
    Draw {
        colour,
        cx,
        cy,
        size,
        square,
    }
}

/// `0.2989 R + 0.5870 G + 0.1140 B` in `f32`, evaluated left to right; also the
/// grey rule of the image-folder dataset.
pub(crate) fn luminance(r: f32, g: f32, b: f32) -> f32 {
    LUMA[0] * r + LUMA[1] * g + LUMA[2] * b
}

/// Whether pixel (column `x`, row `y`) belongs to the shape.
fn covers(d: &Draw, x: i64, y: i64) -> bool {
    if d.square {
        (d.cx..=d.cx + d.size).contains(&x) && (d.cy..=d.cy + d.size).contains(&y)
    } else {
        let (dx, dy) = (x - d.cx, y - d.cy);
        dx * dx + dy * dy <= d.size * d.size
    }
}

/// Paints the shape into one zeroed C x `side` x `side` image.
fn render(d: &Draw, side: usize, channels: usize, image: &mut [f32]) {
    let (x0, y0) = if d.square {
        (d.cx, d.cy)
    } else {
        (d.cx - d.size, d.cy - d.size)
    };
    let last = side as i64 - 1;
    // Only the bounding box (clipped to the image) is visited.
    let xs = x0.max(0)..=(d.cx + d.size).min(last);
    let ys = y0.max(0)..=(d.cy + d.size).min(last);
    let plane = side * side;
    for y in ys {
        for x in xs.clone() {
            if covers(d, x, y) {
                let at = y as usize * side + x as usize;
                for (c, &v) in d.colour[..channels].iter().enumerate() {
                    image[c * plane + at] = v;
                }
            }
        }
    }
}

/// Generates `n` Shape images of `channels` x `size` x `size` with seed `seed`.
///
/// `gray` picks the grey rule when `channels == 1` (`None` means
/// [`GrayMode::Luminance`]); it is ignored for RGB. Image `i` depends only on
/// `(seed, i)` and the options, so `generate(m, ..)` is a prefix of `generate(n, ..)`
/// for `m < n`. Images are generated in parallel.
///
/// # Panics
/// If `channels` is not 1 or 3, or `size` is 0.
pub fn generate(
    n: usize,
    size: usize,
    channels: usize,
    gray: Option<GrayMode>,
    seed: u64,
) -> ImageSet {
    assert!(
        channels == 1 || channels == 3,
        "shapes have 1 or 3 channels, not {channels}"
    );
    assert!(size > 0, "shape images need a positive size");
    let gray = gray.unwrap_or(GrayMode::Luminance);
    let image_len = channels * size * size;
    // `vec![0.0; _]` gets zeroed pages from the allocator: the black background is free.
    let mut pixels = vec![0.0f32; n * image_len];
    pixels
        .par_chunks_mut(image_len)
        .enumerate()
        .with_min_len(256)
        .for_each(|(i, image)| {
            let d = draw(seed, i as u64, channels, gray);
            render(&d, size, channels, image);
        });
    ImageSet {
        channels,
        height: size,
        width: size,
        pixels,
    }
}

/// How the grey-scale Shape images are made (Björk does not say; see docs/methods.md#shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrayMode {
    /// Render in RGB, then convert with 0.2989 R + 0.5870 G + 0.1140 B.
    Luminance,
    /// Draw one uniform intensity in [0, 1) per image.
    Intensity,
}

/// Side of the generated images: the IRMAE networks are built for 32x32.
const SIZE: u32 = 32;

/// Defaults of the options.
const CHANNELS: u32 = 1;
const TRAIN_IMAGES: u32 = 50_000;
const TEST_IMAGES: u32 = 10_000;
const TRAIN_SEED: u64 = 1;
const TEST_SEED: u64 = 2;

/// The `dataset:` options of `name: shapes` as written.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ShapesOptions {
    /// Image side; only 32 is accepted (written for clarity).
    pub size: Option<u32>,
    /// 1 (grey, the default) or 3 (RGB).
    pub channels: Option<u32>,
    /// Grey-scale rule, only with 1 channel (default luminance).
    pub gray: Option<GrayMode>,
    /// Number of generated training images.
    pub train_images: Option<u32>,
    /// Number of generated test images.
    pub test_images: Option<u32>,
    /// Seed of the training images.
    pub train_seed: Option<u64>,
    /// Seed of the test images; must differ from `train_seed`.
    pub test_seed: Option<u64>,
}

/// Resolved options of the Shape generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapesSpec {
    /// Image side (32).
    pub size: u32,
    /// 1 or 3.
    pub channels: u32,
    /// Grey rule when `channels == 1`.
    pub gray: Option<GrayMode>,
    /// Training image count.
    pub train_images: u32,
    /// Test image count.
    pub test_images: u32,
    /// Training seed.
    pub train_seed: u64,
    /// Test seed.
    pub test_seed: u64,
}

impl DatasetSource for ShapesSpec {
    const NAME: &'static str = "shapes";
    type Options = ShapesOptions;

    fn resolve(o: ShapesOptions) -> Result<Self, ConfigIssue> {
        let size = o.size.unwrap_or(SIZE);
        if size != SIZE {
            return Err(ConfigIssue::new(
                "dataset.size",
                format!("dataset.size must be {SIZE} for dataset 'shapes' (the networks are 32x32), got {size}"),
            ));
        }
        let channels = o.channels.unwrap_or(CHANNELS);
        check_channels(channels)?;
        let gray = match (channels, o.gray) {
            (1, gray) => Some(gray.unwrap_or(GrayMode::Luminance)),
            (_, Some(_)) => {
                return Err(ConfigIssue::new(
                    "dataset.gray",
                    format!(
                    "dataset.gray applies only to channels: 1, but dataset.channels is {channels}"
                ),
                ))
            }
            (_, None) => None,
        };
        let train_images = o.train_images.unwrap_or(TRAIN_IMAGES);
        check_count(train_images, "train_images", None)?;
        let test_images = o.test_images.unwrap_or(TEST_IMAGES);
        check_count(test_images, "test_images", None)?;
        let train_seed = o.train_seed.unwrap_or(TRAIN_SEED);
        let test_seed = o.test_seed.unwrap_or(TEST_SEED);
        if train_seed == test_seed {
            return Err(ConfigIssue::new(
                "dataset.test_seed",
                format!("dataset.test_seed must differ from dataset.train_seed (both are {test_seed}), or the test images repeat the training images"),
            ));
        }
        Ok(ShapesSpec {
            size,
            channels,
            gray,
            train_images,
            test_images,
            train_seed,
            test_seed,
        })
    }

    fn size(&self) -> u32 {
        self.size
    }

    fn channels(&self) -> u32 {
        self.channels
    }

    fn test_images(&self) -> Option<u32> {
        Some(self.test_images)
    }

    fn check_inputs(&self) -> Result<(), DataError> {
        Ok(())
    }

    fn load(&self, split: Split) -> Result<ImageSet, DataError> {
        let (n, seed) = match split {
            Split::Train => (self.train_images, self.train_seed),
            Split::Test => (self.test_images, self.test_seed),
        };
        let (size, channels) = (self.size as usize, self.channels as usize);
        Ok(generate(n as usize, size, channels, self.gray, seed))
    }

    fn default_arch(&self) -> Result<Arch, String> {
        Ok(Arch::IrmaeShape)
    }

    fn versions(&self) -> Vec<(&'static str, u32)> {
        vec![(Self::NAME, VERSION)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LUM: Option<GrayMode> = Some(GrayMode::Luminance);
    const INT: Option<GrayMode> = Some(GrayMode::Intensity);

    /// Number of pixels of a 32x32 plane that differ from 0.
    fn nonzero(plane: &[f32]) -> usize {
        plane.iter().filter(|&&v| v != 0.0).count()
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a = generate(200, 32, 3, None, 7);
        let b = generate(200, 32, 3, None, 7);
        assert_eq!(a, b);
        let c = generate(200, 32, 3, None, 8);
        assert_ne!(a, c);
        // Each image depends on (seed, index) only: a shorter set is a prefix.
        assert_eq!(generate(50, 32, 3, None, 7), a.first(50));
        // Images within one set differ from each other.
        assert_ne!(a.image(0), a.image(1));
        // Train and test sets use different seeds, so no image pair coincides.
        let train = generate(100, 32, 1, LUM, 0);
        let test = generate(100, 32, 1, LUM, 1);
        for i in 0..100 {
            assert_ne!(train.image(i), test.image(i), "image {i}");
        }
    }

    /// Pins the exact pixels. Dataset caches are keyed by the spec, not by the code,
    /// so a change of the generator (or of `rand_pcg`'s PCG) must be deliberate: it
    /// needs a new pinned hash and a cache format/key bump.
    #[test]
    fn output_is_pinned() {
        let hash = |s: &ImageSet| {
            let bytes: Vec<u8> = s.pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
            blake3::hash(&bytes).to_hex().to_string()
        };
        assert_eq!(hash(&generate(64, 32, 3, None, 42)), PINNED_RGB);
        assert_eq!(hash(&generate(64, 32, 1, INT, 42)), PINNED_INTENSITY);
    }

    const PINNED_RGB: &str = "999a8b4ab9495188502a734146e5105e55fee74f843a4621ac7ab84983a11ead";
    const PINNED_INTENSITY: &str =
        "5b93a15973990c08482066b93d2a64b8f02ae491863923eb1aad8f72f3314164";

    #[test]
    fn shape_and_value_range() {
        for (channels, gray) in [(1, LUM), (1, INT), (3, None)] {
            let s = generate(500, 32, channels, gray, 3);
            assert_eq!(
                (s.len(), s.channels, s.height, s.width),
                (500, channels, 32, 32)
            );
            assert!(s.pixels.iter().all(|&v| (0.0..=1.0).contains(&v)));
            // Every image has a shape with some colour.
            for i in 0..s.len() {
                assert!(nonzero(s.image(i)) > 0, "image {i} is black");
            }
        }
    }

    #[test]
    fn far_corners_stay_black() {
        // A circle centred in 8..=24 with radius <= 8 cannot reach (0,0), (31,0) or
        // (0,31): the nearest centre is 8 away on both axes (8² + 8² > 8²), and
        // squares start at column/row 8. (31,31) can be covered by a square.
        let s = generate(2000, 32, 3, None, 11);
        for i in 0..s.len() {
            for c in 0..3 {
                let plane = &s.image(i)[c * 1024..(c + 1) * 1024];
                for (x, y) in [(0, 0), (31, 0), (0, 31)] {
                    assert_eq!(plane[y * 32 + x], 0.0, "image {i} pixel ({x},{y})");
                }
                // Row 0 is reachable only by a circle with cy = 8, radius 8, at x = cx.
                for (x, &v) in plane[..32].iter().enumerate() {
                    assert!(v == 0.0 || (8..=24).contains(&x), "image {i} row 0 col {x}");
                }
            }
        }
    }

    #[test]
    fn draw_ranges_cover_irmae_ranges() {
        let (mut cx, mut cy, mut size) = (vec![false; 33], vec![false; 33], vec![false; 9]);
        let mut kinds = [false; 2];
        for i in 0..5000 {
            let d = draw(5, i, 3, GrayMode::Luminance);
            cx[d.cx as usize] = true;
            cy[d.cy as usize] = true;
            size[d.size as usize] = true;
            kinds[usize::from(d.square)] = true;
            assert!(d.colour.iter().all(|&v| (0.0..1.0).contains(&v)));
        }
        let seen = |v: &[bool]| {
            v.iter()
                .enumerate()
                .filter(|(_, &b)| b)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        assert_eq!(seen(&cx), (8..=24).collect::<Vec<_>>());
        assert_eq!(seen(&cy), (8..=24).collect::<Vec<_>>());
        assert_eq!(seen(&size), (3..=8).collect::<Vec<_>>());
        assert_eq!(kinds, [true, true]);
    }

    #[test]
    fn circle_pixel_counts() {
        // Lattice points in a disc of radius r (Gauss circle problem), by hand:
        // r = 3: 29, 4: 49, 5: 81, 6: 113, 7: 149, 8: 197.
        let known = [(3, 29), (4, 49), (5, 81), (6, 113), (7, 149), (8, 197)];
        for (r, count) in known {
            let d = Draw {
                colour: [0.5, 0.5, 0.5],
                cx: 16,
                cy: 16,
                size: r,
                square: false,
            };
            let mut img = vec![0.0; 1024];
            render(&d, 32, 1, &mut img);
            assert_eq!(nonzero(&img), count, "radius {r}");
            // Diameter 2r + 1 along the middle row.
            assert_eq!(nonzero(&img[16 * 32..17 * 32]), 2 * r as usize + 1);
        }
        // Generated circles (including clipped ones at cx or cy = 24 + 8 = 32) match
        // the direct formula over the image.
        let s = generate(3000, 32, 3, None, 21);
        let mut circles = 0;
        for i in 0..s.len() {
            let d = draw(21, i as u64, 3, GrayMode::Luminance);
            if d.square {
                continue;
            }
            circles += 1;
            let want = (0..32i64)
                .flat_map(|y| (0..32i64).map(move |x| (x, y)))
                .filter(|&(x, y)| (x - d.cx).pow(2) + (y - d.cy).pow(2) <= d.size.pow(2))
                .count();
            for c in 0..3 {
                if d.colour[c] != 0.0 {
                    assert_eq!(nonzero(&s.image(i)[c * 1024..(c + 1) * 1024]), want);
                }
            }
        }
        assert!(circles > 1000);
    }

    #[test]
    fn square_side_is_size_plus_one_clipped() {
        let s = generate(3000, 32, 1, INT, 4);
        let mut squares = 0;
        for i in 0..s.len() {
            let d = draw(4, i as u64, 1, GrayMode::Intensity);
            if !d.square || d.colour[0] == 0.0 {
                continue;
            }
            squares += 1;
            let img = s.image(i);
            let side_x = (d.cx + d.size).min(31) - d.cx + 1;
            let side_y = (d.cy + d.size).min(31) - d.cy + 1;
            assert_eq!(nonzero(img), (side_x * side_y) as usize, "image {i}");
            assert_eq!(img[(d.cy * 32 + d.cx) as usize], d.colour[0]);
            // Unclipped squares have side size + 1.
            if d.cx + d.size <= 31 {
                assert_eq!(side_x, d.size + 1);
            }
        }
        assert!(squares > 1000);
        // A clipped one, explicitly: corner (24, 24), size 8 -> columns 24..=31.
        let d = Draw {
            colour: [1.0, 0.0, 0.0],
            cx: 24,
            cy: 24,
            size: 8,
            square: true,
        };
        let mut img = vec![0.0; 1024];
        render(&d, 32, 1, &mut img);
        assert_eq!(nonzero(&img), 64);
    }

    #[test]
    fn grey_luminance_is_formula_on_rgb_render() {
        let rgb = generate(500, 32, 3, None, 9);
        let grey = generate(500, 32, 1, LUM, 9);
        for i in 0..500 {
            let (c, g) = (rgb.image(i), grey.image(i));
            for p in 0..1024 {
                let want = 0.2989 * c[p] + 0.5870 * c[1024 + p] + 0.1140 * c[2048 + p];
                assert_eq!(g[p], want, "image {i} pixel {p}");
            }
        }
    }

    #[test]
    fn grey_intensity_keeps_geometry_but_not_colour_stream() {
        // Intensity mode makes one colour draw instead of three, so its geometry
        // comes from a different part of the stream than RGB's; it must still be a
        // single-valued shape.
        let s = generate(300, 32, 1, INT, 2);
        for i in 0..s.len() {
            let d = draw(2, i as u64, 1, GrayMode::Intensity);
            let img = s.image(i);
            assert!(img.iter().all(|&v| v == 0.0 || v == d.colour[0]));
        }
    }

    #[test]
    fn other_sizes_clip() {
        let s = generate(200, 16, 1, LUM, 1);
        assert_eq!(s.image_len(), 256);
        assert!(s.pixels.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(generate(0, 32, 3, None, 0).is_empty());
    }
}
