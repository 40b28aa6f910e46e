//! Helpers shared by the integration tests: a scratch project folder and the
//! real `runner` binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

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

/// The only sub-folder of `dir` (a run, eval or dataset cache folder when
/// there is one); panics when there is none or more than one.
pub fn only_subdir(dir: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

/// The repository root (where `pipelines/` and `tests/keys/` are).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Checks that the committed generated document `relative` (from the repository
/// root) is `generated`, or writes it when `RUNNER_BLESS_DOCS` is set.
/// `test` names the test file that regenerates it, for the failure message.
pub fn assert_generated_doc(relative: &str, generated: &str, test: &str) {
    let file = repo().join(relative);
    if std::env::var_os("RUNNER_BLESS_DOCS").is_some() {
        std::fs::write(&file, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} is out of date; regenerate it with \
         RUNNER_BLESS_DOCS=1 cargo test --release --test {test}"
    );
}

/// The folders of shipped pipelines: paper scale, then its quick and medium siblings.
pub const SHIPPED_PIPELINE_DIRS: [&str; 3] = ["pipelines", "pipelines/quick", "pipelines/medium"];

/// Every pipeline the repository ships, folder by folder in [`SHIPPED_PIPELINE_DIRS`].
pub fn shipped_pipelines() -> Vec<PathBuf> {
    SHIPPED_PIPELINE_DIRS
        .iter()
        .flat_map(|dir| yaml_files(&repo().join(dir)))
        .collect()
}

/// The YAML files directly inside `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
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

/// How long a test waits for a line before it gives up (a loaded machine is
/// slow, but a missing line is a failure, not a reason to go on).
pub const LINE_LIMIT: Duration = Duration::from_secs(180);

/// A `runner` started in the background whose stderr is read line by line on a
/// thread (so the child never blocks on a full pipe) and forwarded through a
/// channel: the test synchronises on what the runner prints, never on sleeps.
pub struct Running {
    /// The process.
    pub child: Child,
    lines: Receiver<String>,
    /// Every stderr line received so far.
    pub seen: Vec<String>,
}

impl Running {
    /// Starts `runner args` in `p`, stdout discarded.
    pub fn start(p: &Project, args: &[&str]) -> Running {
        Running::spawn(p.command(args))
    }

    /// Starts `cmd` (a [`Project::command`] with more set on it), stdout discarded.
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runner starts");
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the first line that contains `text` and returns it; panics with
    /// everything printed so far if the runner ends or [`LINE_LIMIT`] passes first.
    pub fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + LINE_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no line with `{text}` within {LINE_LIMIT:?}; stderr so far:\n{}",
                    self.seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "runner closed stderr before a line with `{text}`; stderr:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends `signal` (`INT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Reads stderr to its end, then waits for the exit; returns the status and
    /// the whole of stderr.
    pub fn finish(mut self) -> (ExitStatus, String) {
        while let Ok(line) = self.lines.recv() {
            self.seen.push(line);
        }
        let status = self.child.wait().unwrap();
        (status, self.seen.join("\n"))
    }
}
