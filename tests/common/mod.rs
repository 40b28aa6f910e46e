//! Helpers shared by the integration tests: a scratch project folder and the
//! real `runner` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary project folder in which `runner` runs.
pub struct Project {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

/// A tiny Shape pipeline that trains in about a second.
pub const TINY: &str = "\
name: tiny
dataset: {name: shapes, train_images: 64, test_images: 16}
train: {epochs: 1, batch: 16}
loss:
  alpha: 0.5
  terms: [{bce: {}}, {fft: {}}]
eval: {images: 8}
";

impl Project {
    /// An empty project folder.
    pub fn new() -> Self {
        Project {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `name` inside the project and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A `runner` command running inside the project.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_runner"));
        cmd.args(args)
            .current_dir(self.path())
            .env_remove("RUNNER_CACHE_DIR")
            .env_remove("RUNNER_RESULTS_DIR");
        cmd
    }

    /// Runs `runner` with `args` and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("runner starts")
    }

    /// Whether `results/` exists (bad input must write nothing).
    pub fn wrote_results(&self) -> bool {
        self.path().join("results").exists() || self.path().join(".runner").exists()
    }
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes an IDX image file (`magic 2051`) with `n` images of `rows` x `cols`.
pub fn idx_images(n: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [2051u32, n, rows, cols] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}
