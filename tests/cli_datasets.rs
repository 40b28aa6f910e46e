//! The CelebA, CIFAR-10 and image-folder datasets through the real binary, on tiny
//! trees written in the official formats.

mod common;

use std::path::Path;

use common::{stderr, Project};
use image::{ImageEncoder, RgbImage};

/// A smooth 178x218 RGB face stand-in with some texture.
fn face(seed: u32) -> RgbImage {
    RgbImage::from_fn(178, 218, |x, y| {
        image::Rgb([
            ((x + 2 * y + seed * 40) % 256) as u8,
            ((x * y / 64 + seed) % 256) as u8,
            (255 - y % 256) as u8,
        ])
    })
}

/// `image` as JPEG bytes (quality 90).
fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(image)
        .unwrap();
    out
}

/// Writes `data/celeba` with one image per entry of `parts` (its partition digit).
fn write_celeba(root: &Path, parts: &[u8]) {
    let images = root.join("data/celeba/img_align_celeba");
    std::fs::create_dir_all(&images).unwrap();
    let mut list = String::new();
    for (i, part) in parts.iter().enumerate() {
        let name = format!("{:06}.jpg", i + 1);
        std::fs::write(images.join(&name), jpeg(&face(i as u32))).unwrap();
        list.push_str(&format!("{name} {part}\n"));
    }
    std::fs::write(root.join("data/celeba/list_eval_partition.txt"), list).unwrap();
}

/// Runs `runner p.yaml` on `text` and returns (exit code, stderr).
fn run_text(p: &Project, text: &str) -> (Option<i32>, String) {
    p.write("p.yaml", text);
    let out = p.run(&["p.yaml", "--no-progress"]);
    (out.status.code(), stderr(&out))
}

/// Four training and two test images through the IRMAE CelebA net, one epoch.
const TINY_CELEBA: &str = "\
name: celeba_tiny
dataset: {name: celeba, train_images: 4, test_images: 2}
train: {epochs: 1, batch: 2}
eval: {images: 2, samples: 2}
";

/// The cache folder of the (single) dataset node.
fn dataset_cache(p: &Project) -> std::path::PathBuf {
    common::only_subdir(&p.path().join(".runner/cache/datasets"))
}

#[test]
fn tiny_celeba_tree_trains_end_to_end() {
    let p = Project::new();
    write_celeba(p.path(), &[0, 2, 0, 1, 0, 2, 0, 0]);
    let (code, err) = run_text(&p, TINY_CELEBA);
    assert_eq!(code, Some(0), "{err}");
    let summary =
        std::fs::read_to_string(p.path().join("results/celeba_tiny/summary.csv")).unwrap();
    assert!(
        summary.lines().nth(1).unwrap().starts_with("done,"),
        "{summary}"
    );
    // The cache holds 4 + 2 RGB 64x64 images, one byte per value (all k / 255).
    let cache = dataset_cache(&p);
    let train = std::fs::metadata(cache.join("train.bin")).unwrap().len();
    let test = std::fs::metadata(cache.join("test.bin")).unwrap().len();
    assert_eq!((train, test), (4 * 3 * 64 * 64, 2 * 3 * 64 * 64));
}

#[test]
fn missing_celeba_image_is_named_before_anything_is_written() {
    let p = Project::new();
    write_celeba(p.path(), &[0, 2, 0, 2, 0]);
    std::fs::remove_file(p.path().join("data/celeba/img_align_celeba/000003.jpg")).unwrap();
    let (code, err) = run_text(&p, TINY_CELEBA);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("img_align_celeba/000003.jpg"), "{err}");
    assert!(err.contains("img_align_celeba.zip"), "hint: {err}");
    assert!(!p.wrote_results(), "nothing is written");
}

#[test]
fn truncated_celeba_jpeg_is_named_and_nothing_looks_complete() {
    let p = Project::new();
    write_celeba(p.path(), &[0, 2, 0, 2, 0]);
    let bad = p.path().join("data/celeba/img_align_celeba/000005.jpg");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (code, err) = run_text(&p, TINY_CELEBA);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("000005.jpg is not a valid JPEG image"),
        "{err}"
    );
    assert!(!p.path().join("results/celeba_tiny/summary.csv").exists());
    if let Ok(entries) = std::fs::read_dir(p.path().join(".runner/cache/datasets")) {
        for entry in entries.flatten() {
            assert!(!entry.path().join("manifest.json").exists());
            assert!(!entry.path().join("DONE").exists());
        }
    }
}

#[test]
fn cifar10_bad_length_is_named() {
    let p = Project::new();
    let root = p.path().join("data/cifar-10-batches-bin");
    std::fs::create_dir_all(&root).unwrap();
    for name in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ] {
        std::fs::write(root.join(name), vec![7u8; 2 * 3073]).unwrap();
    }
    std::fs::write(root.join("data_batch_4.bin"), vec![7u8; 3073 + 1]).unwrap();
    let (code, err) = run_text(
        &p,
        "dataset: {name: cifar10, train_images: 4, test_images: 2}\ntrain: {epochs: 1, batch: 2}\neval: {images: 2}\n",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("data_batch_4.bin"), "{err}");
    assert!(err.contains("3074 bytes"), "{err}");
    assert!(!p.wrote_results(), "nothing is written");
}

#[test]
fn grey_image_folder_trains_end_to_end() {
    let p = Project::new();
    for (split, n) in [("train", 4), ("test", 2)] {
        let dir = p.path().join("imgs").join(split);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            let img = face(i);
            let mut png = Vec::new();
            image::codecs::png::PngEncoder::new(&mut png)
                .write_image(img.as_raw(), 178, 218, image::ExtendedColorType::Rgb8)
                .unwrap();
            std::fs::write(dir.join(format!("{i}.png")), png).unwrap();
        }
    }
    let (code, err) = run_text(
        &p,
        "dataset: {name: folder, root: imgs, size: 32, channels: 1}\ntrain: {epochs: 1, batch: 2}\neval: {images: 2, samples: 2}\n",
    );
    assert_eq!(code, Some(0), "{err}");
    // Grey values are not multiples of 1/255, so the cache stores f32.
    let cache = dataset_cache(&p);
    let train = std::fs::metadata(cache.join("train.bin")).unwrap().len();
    assert_eq!(train, 4 * 32 * 32 * 4);
}
