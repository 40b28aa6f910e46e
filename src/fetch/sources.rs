//! Where each dataset comes from: its files, their published MD5s, the official
//! sources tried in order, and how each file is installed under `--root`.
//!
//! The MD5s and sources are the ones the datasets' authors publish and that
//! torchvision's dataset classes use (MNIST, CelebA), or the one on the CIFAR
//! page (torchvision reads the Python version of CIFAR-10, runner the binary
//! one). They are never edited to make a download pass: a file that does not
//! match is refused. Tests and institutions' mirrors that serve other bytes
//! replace them with `RUNNER_DATA_CHECKSUMS` (see [`Checksums`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::FetchError;

/// Environment variable naming an md5sum-style file (`<md5>  <file name>` per
/// line) whose entries replace the official MD5s. For tests and for mirrors
/// that serve files of their own; a real download never needs it.
pub const CHECKSUMS_ENV: &str = "RUNNER_DATA_CHECKSUMS";

/// Environment variable replacing Google Drive's download endpoint (for tests,
/// which point it at a server on the loopback address).
pub const DRIVE_URL_ENV: &str = "RUNNER_DATA_DRIVE_URL";

/// Google Drive's download endpoint for a file id (`?export=download&id=ID`).
pub const DRIVE_URL: &str = "https://drive.google.com/uc";

/// A dataset `runner data get` can fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dataset {
    /// The four MNIST IDX files.
    Mnist,
    /// CIFAR-10, binary version.
    Cifar10,
    /// Aligned CelebA images and the partition list.
    Celeba,
}

/// Where one file can be downloaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A plain URL.
    Url(&'static str),
    /// A Google Drive file id (large files need a confirmation step).
    Drive(&'static str),
}

/// What is done with a verified file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    /// Moved as it is into the dataset's base folder.
    File,
    /// A gzipped tar whose top folder `dir` becomes `<base>/<dir>`; `expect`
    /// lists files that must be in it.
    TarGz {
        /// The archive's top folder.
        dir: &'static str,
        /// Files the readers need inside `dir`.
        expect: &'static [&'static str],
    },
    /// A zip whose top folder `dir` becomes `<base>/<dir>`.
    Zip {
        /// The archive's top folder.
        dir: &'static str,
        /// Files the readers need inside `dir`.
        expect: &'static [&'static str],
    },
}

/// One downloadable file of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// The file's name (also its name on every mirror).
    pub file: &'static str,
    /// The published MD5 of the file, lowercase hex.
    pub md5: &'static str,
    /// Official sources, tried in order.
    pub origins: &'static [Origin],
    /// How it is installed.
    pub install: Install,
}

/// MNIST: torchvision's `MNIST.mirrors` and `MNIST.resources`
/// (torchvision/datasets/mnist.py). The S3 copy comes first: it is served over
/// HTTPS, and the original host has refused anonymous downloads at times.
const MNIST: &[Resource] = &[
    mnist_file(
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        &[
            Origin::Url("https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"),
            Origin::Url("http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz"),
        ],
    ),
    mnist_file(
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
        &[
            Origin::Url("https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz"),
            Origin::Url("http://yann.lecun.com/exdb/mnist/train-labels-idx1-ubyte.gz"),
        ],
    ),
    mnist_file(
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
        &[
            Origin::Url("https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz"),
            Origin::Url("http://yann.lecun.com/exdb/mnist/t10k-images-idx3-ubyte.gz"),
        ],
    ),
    mnist_file(
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
        &[
            Origin::Url("https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz"),
            Origin::Url("http://yann.lecun.com/exdb/mnist/t10k-labels-idx1-ubyte.gz"),
        ],
    ),
];

/// An MNIST file: installed as it is (the reader reads the `.gz` files).
const fn mnist_file(file: &'static str, md5: &'static str, origins: &'static [Origin]) -> Resource {
    Resource {
        file,
        md5,
        origins,
        install: Install::File,
    }
}

/// The six files the CIFAR-10 reader needs (`crate::data::cifar10`).
const CIFAR10_FILES: &[&str] = &[
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];

/// CIFAR-10, binary version: the URL and MD5 published on the dataset's page
/// (its table of the three versions).
const CIFAR10: &[Resource] = &[Resource {
    file: "cifar-10-binary.tar.gz",
    md5: "c32a1d4ab5d03f1284b67883e8d87530",
    origins: &[Origin::Url(
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    )],
    install: Install::TarGz {
        dir: "cifar-10-batches-bin",
        expect: CIFAR10_FILES,
    },
}];

/// CelebA: torchvision's `CelebA.file_list` (torchvision/datasets/celeba.py),
/// the Google Drive ids the authors publish. The partition list comes first:
/// the readers accept the tree only once the images are there too.
const CELEBA: &[Resource] = &[
    Resource {
        file: "list_eval_partition.txt",
        md5: "d32c9cbf5e040fd4025c592c306e6668",
        origins: &[Origin::Drive("0B7EVK8r0v71pY0NSMzRuSXJEVkk")],
        install: Install::File,
    },
    Resource {
        file: "img_align_celeba.zip",
        md5: "00d2c5bc6d35e252742224ab0c1e8fcb",
        origins: &[Origin::Drive("0B7EVK8r0v71pZjFTYXZWM3FlRnM")],
        install: Install::Zip {
            dir: "img_align_celeba",
            expect: &["000001.jpg"],
        },
    },
];

impl Dataset {
    /// Every dataset, in the order `runner data list` shows them.
    pub const ALL: [Dataset; 3] = [Dataset::Mnist, Dataset::Cifar10, Dataset::Celeba];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::Cifar10 => "cifar10",
            Dataset::Celeba => "celeba",
        }
    }

    /// The dataset's files, in download order.
    pub fn resources(self) -> &'static [Resource] {
        match self {
            Dataset::Mnist => MNIST,
            Dataset::Cifar10 => CIFAR10,
            Dataset::Celeba => CELEBA,
        }
    }

    /// The folder its files are installed in (plain files land here, archive
    /// folders below it).
    pub fn base(self, root: &Path) -> PathBuf {
        match self {
            Dataset::Mnist => root.join("mnist"),
            Dataset::Cifar10 => root.to_path_buf(),
            Dataset::Celeba => root.join("celeba"),
        }
    }

    /// The folder the reader reads (`dataset.root` in a pipeline): the
    /// defaults of the pipelines when `root` is `data`.
    pub fn folder(self, root: &Path) -> PathBuf {
        match self {
            Dataset::Mnist => root.join("mnist"),
            Dataset::Cifar10 => root.join("cifar-10-batches-bin"),
            Dataset::Celeba => root.join("celeba"),
        }
    }

    /// Approximate download size, for messages and `runner data list`.
    pub fn size(self) -> &'static str {
        match self {
            Dataset::Mnist => "11 MiB",
            Dataset::Cifar10 => "162 MiB",
            Dataset::Celeba => "1.4 GB",
        }
    }

    /// The terms of use to accept, in one line.
    pub fn terms(self) -> &'static str {
        match self {
            Dataset::Mnist => "MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0",
            Dataset::Cifar10 => "CIFAR-10: cite Krizhevsky (2009), Learning Multiple Layers of Features from Tiny Images",
            Dataset::Celeba => "CelebA: non-commercial research only (the CelebA agreement; see docs/data.md)",
        }
    }
}

/// The URL of `resource` on a mirror: the mirror's base URL and the file name.
pub fn mirror_url(mirror: &str, resource: &Resource) -> String {
    format!("{}/{}", mirror.trim_end_matches('/'), resource.file)
}

/// The first URL asked for a Google Drive file id.
pub fn drive_url(base: &str, id: &str) -> String {
    format!("{base}?export=download&id={id}")
}

/// Google Drive's endpoint: [`DRIVE_URL`] unless [`DRIVE_URL_ENV`] is set.
pub fn drive_base() -> String {
    std::env::var(DRIVE_URL_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DRIVE_URL.to_string())
}

/// The MD5 each file is checked against: the published ones, with the entries
/// of [`CHECKSUMS_ENV`]'s file in their place when it is set.
#[derive(Debug, Clone, Default)]
pub struct Checksums {
    replaced: BTreeMap<String, String>,
    /// The file they came from, for messages.
    pub from: Option<PathBuf>,
}

impl Checksums {
    /// The published checksums only.
    pub fn official() -> Self {
        Checksums::default()
    }

    /// The published checksums, replaced by the file [`CHECKSUMS_ENV`] names.
    ///
    /// # Errors
    /// [`FetchError::Input`] when that file cannot be read or a line is not
    /// `<32 hex digits> <file name>`.
    pub fn from_env() -> Result<Self, FetchError> {
        match std::env::var_os(CHECKSUMS_ENV) {
            Some(path) if !path.is_empty() => {
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    FetchError::Input(format!(
                        "{CHECKSUMS_ENV}={}: cannot read it: {e}",
                        path.display()
                    ))
                })?;
                let mut sums = Checksums::parse(&text).map_err(|e| {
                    FetchError::Input(format!("{CHECKSUMS_ENV}={}: {e}", path.display()))
                })?;
                sums.from = Some(path);
                Ok(sums)
            }
            _ => Ok(Checksums::official()),
        }
    }

    /// Reads md5sum's output format: `<md5>  <name>` (or `<md5> *<name>`) per
    /// line; blank lines and `#` comments are skipped.
    ///
    /// # Errors
    /// The first line that does not read so.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut replaced = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (sum, name) = line
                .split_once(char::is_whitespace)
                .map(|(s, n)| (s, n.trim().trim_start_matches('*')))
                .ok_or_else(|| format!("line {}: expected `<md5> <file name>`", i + 1))?;
            if sum.len() != 32 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() {
                return Err(format!(
                    "line {}: expected `<md5> <file name>` (32 hex digits), got `{line}`",
                    i + 1
                ));
            }
            replaced.insert(name.to_string(), sum.to_ascii_lowercase());
        }
        Ok(Checksums {
            replaced,
            from: None,
        })
    }

    /// The MD5 `resource` must have.
    pub fn md5(&self, resource: &Resource) -> String {
        self.replaced
            .get(resource.file)
            .cloned()
            .unwrap_or_else(|| resource.md5.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_the_published_checksums() {
        let all: Vec<(&str, &str)> = Dataset::ALL
            .iter()
            .flat_map(|d| d.resources())
            .map(|r| (r.file, r.md5))
            .collect();
        assert_eq!(
            all,
            [
                (
                    "train-images-idx3-ubyte.gz",
                    "f68b3c2dcbeaaa9fbdd348bbdeb94873"
                ),
                (
                    "train-labels-idx1-ubyte.gz",
                    "d53e105ee54ea40749a09fcbcd1e9432"
                ),
                (
                    "t10k-images-idx3-ubyte.gz",
                    "9fb629c4189551a2d022fa330f9573f3"
                ),
                (
                    "t10k-labels-idx1-ubyte.gz",
                    "ec29112dd5afa0611ce80d1b7f02629c"
                ),
                ("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"),
                (
                    "list_eval_partition.txt",
                    "d32c9cbf5e040fd4025c592c306e6668"
                ),
                ("img_align_celeba.zip", "00d2c5bc6d35e252742224ab0c1e8fcb"),
            ]
        );
        for r in Dataset::ALL.iter().flat_map(|d| d.resources()) {
            assert!(!r.origins.is_empty(), "{}", r.file);
            for o in r.origins {
                if let Origin::Url(u) = o {
                    assert!(u.ends_with(r.file), "{u} serves {}", r.file);
                }
            }
        }
    }

    #[test]
    fn folders_match_the_readers_defaults() {
        let root = Path::new("data");
        assert_eq!(Dataset::Mnist.folder(root), Path::new("data/mnist"));
        assert_eq!(
            Dataset::Cifar10.folder(root),
            Path::new("data/cifar-10-batches-bin")
        );
        assert_eq!(Dataset::Celeba.folder(root), Path::new("data/celeba"));
        let Install::TarGz { dir, expect } = CIFAR10[0].install else {
            panic!("CIFAR-10 is a tar.gz");
        };
        assert_eq!(
            Dataset::Cifar10.base(root).join(dir),
            Path::new("data/cifar-10-batches-bin")
        );
        let reader: Vec<&str> = crate::data::cifar10::TRAIN_FILES
            .iter()
            .chain([&crate::data::cifar10::TEST_FILE])
            .copied()
            .collect();
        assert_eq!(expect, reader.as_slice());
        let Install::Zip { dir, .. } = CELEBA[1].install else {
            panic!("CelebA images are a zip");
        };
        assert_eq!(dir, crate::data::celeba::IMAGE_DIR);
        assert_eq!(CELEBA[0].file, crate::data::celeba::PARTITION_FILE);
    }

    #[test]
    fn urls_are_built_from_mirror_and_drive_id() {
        let r = &MNIST[0];
        assert_eq!(
            mirror_url("http://127.0.0.1:9/mnist/", r),
            "http://127.0.0.1:9/mnist/train-images-idx3-ubyte.gz"
        );
        assert_eq!(
            mirror_url("https://example.org/m", r),
            "https://example.org/m/train-images-idx3-ubyte.gz"
        );
        assert_eq!(
            drive_url(DRIVE_URL, "0B7EVK8r0v71pY0NSMzRuSXJEVkk"),
            "https://drive.google.com/uc?export=download&id=0B7EVK8r0v71pY0NSMzRuSXJEVkk"
        );
    }

    #[test]
    fn checksum_file_replaces_only_its_entries() {
        let sums = Checksums::parse(
            "# test table\n0123456789abcdef0123456789ABCDEF  train-images-idx3-ubyte.gz\n\n",
        )
        .unwrap();
        assert_eq!(sums.md5(&MNIST[0]), "0123456789abcdef0123456789abcdef");
        assert_eq!(sums.md5(&MNIST[1]), MNIST[1].md5);
        let star = Checksums::parse("0123456789abcdef0123456789abcdef *a.zip").unwrap();
        assert_eq!(star.replaced["a.zip"], "0123456789abcdef0123456789abcdef");
        for bad in [
            "xyz  a.gz",
            "0123456789abcdef0123456789abcdef",
            "0123  a.gz",
        ] {
            assert!(Checksums::parse(bad).is_err(), "{bad}");
        }
        assert!(Checksums::official().md5(&CIFAR10[0]) == CIFAR10[0].md5);
    }
}
