//! CelebA preprocessing: runner (decode + crop + resize, all cores) against PIL.
//!
//! Writes N random-looking 178x218 JPEGs (smooth gradients, a few soft blobs and
//! noise; quality 90) as a CelebA tree in a temporary folder and times
//! `celeba::load_split` on them in images per second. Then, in the same run, it
//! times `bench/pil_celeba_preprocess.py` (PIL's open / convert('RGB') / crop /
//! resize BILINEAR / float32 division, one process and one per core) over the same
//! files and prints both figures and their ratio. Finally it compares pixels:
//! runner against PIL on the first images (max and mean absolute difference in
//! 8-bit levels), and runner's crop + resize applied to PIL's *decoded* pixels
//! against PIL's result, which isolates the resampler from the JPEG decoder.
//!
//! The `image` crate's JPEG encoder writes 4:4:4 files, whereas most JPEGs (and
//! PIL's encoder) use 4:2:0 chroma subsampling; when Python is available the files
//! are also re-encoded by PIL at quality 90 (4:2:0) and both sets are measured.
//!
//! Run with `cargo bench --bench celeba_preprocess`. Environment:
//! - `RUNNER_BENCH_PYTHON`: Python with Pillow and numpy (default `.bench-venv/bin/python`);
//! - `RUNNER_BENCH_CELEBA_N`: number of images (default 2000).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::median_secs;
use image::{ImageEncoder, RgbImage};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use runner::data::celeba::{self, Partition, IMAGE_DIR, PARTITION_FILE};
use runner::data::image_file::{CropResize, CropScratch, Decoded};

/// The PIL script, relative to the crate root.
const SCRIPT: &str = "bench/pil_celeba_preprocess.py";

/// How to create the Python environment (PyPI only).
const INSTALL_HINT: &str =
    "python3 -m venv .bench-venv && .bench-venv/bin/pip install pillow numpy";

/// Images compared pixel by pixel.
const COMPARE: usize = 32;

/// Output side.
const SIZE: usize = 64;

/// A random-looking 178x218 picture: a colour gradient, a few soft blobs, noise.
fn picture(seed: u64) -> RgbImage {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let base: [f32; 3] = std::array::from_fn(|_| rng.random_range(40.0..200.0));
    let grad: [(f32, f32); 3] =
        std::array::from_fn(|_| (rng.random_range(-0.5..0.5), rng.random_range(-0.5..0.5)));
    let blobs: Vec<(f32, f32, f32, [f32; 3])> = (0..4)
        .map(|_| {
            (
                rng.random_range(0.0..178.0),
                rng.random_range(0.0..218.0),
                rng.random_range(15.0..60.0),
                std::array::from_fn(|_| rng.random_range(-90.0..90.0)),
            )
        })
        .collect();
    let mut img = RgbImage::new(178, 218);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        for c in 0..3 {
            let mut v = base[c] + grad[c].0 * fx + grad[c].1 * fy;
            for &(bx, by, r, tint) in &blobs {
                let d2 = ((fx - bx).powi(2) + (fy - by).powi(2)) / (r * r);
                v += tint[c] * (-d2).exp();
            }
            v += rng.random_range(-10.0..10.0);
            p[c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    img
}

/// Writes `n` pictures as a CelebA tree (all in the train partition) under `root`.
fn write_tree(root: &Path, n: usize) {
    let images = root.join(IMAGE_DIR);
    std::fs::create_dir_all(&images).unwrap();
    (0..n).into_par_iter().for_each(|i| {
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
            .write_image(
                picture(i as u64).as_raw(),
                178,
                218,
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        std::fs::write(images.join(format!("{:06}.jpg", i + 1)), bytes).unwrap();
    });
    write_partition(root, n);
}

/// The partition file listing `n` images, all in the train partition.
fn write_partition(root: &Path, n: usize) {
    let list: String = (1..=n).map(|i| format!("{i:06}.jpg 0\n")).collect();
    std::fs::write(root.join(PARTITION_FILE), list).unwrap();
}

/// The Python interpreter to use.
fn python() -> PathBuf {
    match std::env::var_os("RUNNER_BENCH_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".bench-venv/bin/python"),
    }
}

/// Runs the PIL script with `args`; its stdout, or why it failed.
fn run_script(args: &[&str]) -> Result<String, String> {
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCRIPT);
    let out = Command::new(&python)
        .arg(&script)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// PIL's images per second with `processes` processes, dumping the first
/// [`COMPARE`] results and decoded images into `dump_dir` when asked.
fn pil_images_per_s(
    root: &Path,
    n: usize,
    processes: usize,
    dump_dir: Option<&Path>,
) -> Result<f64, String> {
    let dir = root.join(IMAGE_DIR).display().to_string();
    let (n, p, k) = (n.to_string(), processes.to_string(), COMPARE.to_string());
    let mut args = vec!["time", &dir, "--n", &n, "--processes", &p];
    let (out, dec);
    if let Some(d) = dump_dir {
        out = d.join("pil.f32").display().to_string();
        dec = d.join("pil_decoded.u8").display().to_string();
        args.extend(["--dump", &k, "--dump-path", &out, "--dump-decoded", &dec]);
    }
    let stdout = run_script(&args)?;
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("images_per_s="))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no images_per_s in the script's output: {stdout}"))
}

/// Max and mean absolute difference in 8-bit levels, and the share of values
/// that differ.
fn diff(a: &[f32], b: &[f32]) -> (f32, f64, f64) {
    assert_eq!(a.len(), b.len());
    let d: Vec<f32> = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() * 255.0)
        .collect();
    let max = d.iter().copied().fold(0.0f32, f32::max);
    let mean = d.iter().map(|&v| f64::from(v)).sum::<f64>() / d.len() as f64;
    let differ = d.iter().filter(|&&v| v > 1e-3).count() as f64 / d.len() as f64;
    (max, mean, differ)
}

/// Times runner and PIL on the tree at `root` and compares their pixels.
fn measure(label: &str, root: &Path, n: usize) {
    println!("\n[{label}]");
    let load = || celeba::load_split(root, Partition::Train, n, SIZE).expect("load");
    load(); // warm-up: file cache and thread pool
    let (secs, runner_set) = median_secs(3, load);
    let runner_rate = n as f64 / secs;
    println!(
        "runner  decode + crop + resize, {} threads: {runner_rate:>8.0} images/s ({secs:.3} s)",
        rayon::current_num_threads()
    );
    let dumps = tempfile::tempdir().unwrap();
    let cores = rayon::current_num_threads();
    let single = match pil_images_per_s(root, n, 1, Some(dumps.path())) {
        Ok(rate) => rate,
        Err(e) => {
            println!("PIL: skipped ({e}). Create the environment with: {INSTALL_HINT}");
            return;
        }
    };
    println!("PIL     same transform, 1 process:      {single:>8.0} images/s");
    println!(
        "ratio runner / PIL (1 process):  {:.2}",
        runner_rate / single
    );
    if cores > 1 {
        match pil_images_per_s(root, n, cores, None) {
            Ok(multi) => {
                println!("PIL     same transform, {cores} processes:     {multi:>8.0} images/s");
                println!(
                    "ratio runner / PIL ({cores} processes): {:.2}",
                    runner_rate / multi
                );
            }
            Err(e) => println!("PIL with {cores} processes failed: {e}"),
        }
    }

    let k = COMPARE.min(n);
    let image_len = 3 * SIZE * SIZE;
    let pil: Vec<f32> = std::fs::read(dumps.path().join("pil.f32"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let (max, mean, differ) = diff(&runner_set.pixels[..k * image_len], &pil);
    println!(
        "runner vs PIL on {k} images: max |diff| {max:.0} levels, mean {mean:.3} levels, \
         {:.1}% of values differ",
        100.0 * differ
    );
    // Runner's resampler on PIL's decoded pixels: any difference left is the resize.
    let decoded = std::fs::read(dumps.path().join("pil_decoded.u8")).unwrap();
    let (left, top, right, bottom) = celeba::CROP_BOX;
    let crop = CropResize::new(left, top, right - left, bottom - top, SIZE);
    let mut ours = vec![0.0f32; k * image_len];
    let mut scratch = CropScratch::default();
    for (i, out) in ours.chunks_exact_mut(image_len).enumerate() {
        let image = Decoded {
            width: 178,
            height: 218,
            channels: 3,
            pixels: decoded[i * 178 * 218 * 3..(i + 1) * 178 * 218 * 3].to_vec(),
        };
        crop.apply_unit(&image, out, &mut scratch);
    }
    let (max, _, differ) = diff(&ours, &pil);
    println!(
        "runner crop + resize on PIL-decoded pixels vs PIL: max |diff| {max:.0} levels, \
         {:.1}% of values differ (0 = the resampler matches Pillow bit for bit)",
        100.0 * differ
    );
}

fn main() {
    let n: usize = std::env::var("RUNNER_BENCH_CELEBA_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    println!(
        "CelebA preprocessing, {n} JPEGs of 178x218 -> 3x{SIZE}x{SIZE} ({} threads)",
        rayon::current_num_threads()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let own = dir.path().join("image_crate_444");
    write_tree(&own, n);
    measure("JPEGs from the image crate (4:4:4, quality 90)", &own, n);

    let pil_root = dir.path().join("pil_420");
    let src = own.join(IMAGE_DIR).display().to_string();
    let dst = pil_root.join(IMAGE_DIR).display().to_string();
    match run_script(&["reencode", &src, &dst]) {
        Ok(_) => {
            write_partition(&pil_root, n);
            measure(
                "the same re-encoded by PIL (4:2:0, quality 90)",
                &pil_root,
                n,
            );
        }
        Err(e) => {
            println!("\nPIL re-encoding skipped ({e}). Create the environment with: {INSTALL_HINT}")
        }
    }
}
