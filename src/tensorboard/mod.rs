//! TensorBoard event files: each training run's curves and each eval's metrics,
//! so that `tensorboard --logdir results/<pipeline>` shows every cell of a
//! pipeline side by side (see `docs/tensorboard.md`).
//!
//! # Layout and run names
//!
//! TensorBoard names a run by its folder's path under `--logdir`. A node writes
//! its events into its own folder, `tb/<cell label>/`, where the label is the
//! node's swept values (`model.upsampler=n15 loss.alpha=0.5`; cells sharing a
//! node are joined by ` | `; a pipeline without a sweep has no label and writes
//! into `tb/` itself). So a training run appears as
//! `runs/<T>/tb/model.upsampler=n15 loss.alpha=0.5` and its eval as
//! `runs/<T>/eval/<E>/tb/model.upsampler=n15 loss.alpha=0.5`: the swept values
//! are in every run name, the key keeps names unique, and each node writes only
//! inside its own folder, so its DONE record (which lists and hashes every file
//! a node wrote, `runner verify` checks them) covers its event file as well.
//!
//! # Written whole, at the end
//!
//! The training loop keeps its log rows in its checkpoint and writes
//! `train_log.csv` when the run finishes; the event file is made from those
//! same complete rows right after, and an eval's when its metrics are written.
//! A run that was stopped and resumed therefore has one file holding each
//! logged step once, with the same values as `train_log.csv`; a node that is
//! computed again replaces its `tb/` folder instead of adding to it. (The cost:
//! curves appear when a run finishes, as `train_log.csv` does, not during it.)
//!
//! # Hand-written encoding on a checksum crate
//!
//! The format is TFRecord framing ([`record`]) around `Event` protobuf messages
//! ([`event`]), of which runner writes four fields and a two-field nested
//! message. The only part worth a dependency is the CRC-32C, taken from the
//! `crc` crate (widely used; it forbids unsafe code, has no build script and
//! one dependency, its catalogue of CRC parameters). A
//! protobuf code generator (`prost` with `prost-build`, and TensorBoard's
//! `.proto` files) would add a build step and several crates to encode what is
//! about forty lines here, each checked by a unit test against the wire format.

pub mod event;
pub mod record;
pub mod scalars;
pub mod writer;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use writer::EventFile;

/// Folder of a node's folder that holds its TensorBoard files.
pub const TB_DIR: &str = "tb";

/// Longest folder name made from a label, in bytes (file systems allow 255).
const MAX_NAME: usize = 200;

/// The folder of `node_dir` that a node of cells `label` writes its events
/// into: `tb/<label>`, or `tb` itself for an empty label.
pub fn run_folder(node_dir: &Path, label: &str) -> PathBuf {
    let tb = node_dir.join(TB_DIR);
    let name = folder_name(label);
    if name.is_empty() {
        tb
    } else {
        tb.join(name)
    }
}

/// `label` as one folder name: path separators become `_`, and a long label is
/// cut (at a character boundary) so the name fits a file system's limit. The
/// node's key in the path keeps cut names apart.
fn folder_name(label: &str) -> String {
    let mut name: String = label
        .trim()
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect();
    if name.len() > MAX_NAME {
        let mut end = MAX_NAME;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    if name == "." || name == ".." {
        name = name.replace('.', "_");
    }
    name
}

/// Seconds since the Unix epoch, with a fraction.
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes the event file of a finished training run in `run_dir` from the text
/// of its `train_log.csv` (`log`), replacing any earlier `tb/` folder.
/// `images(from, to)` counts the images trained in steps `from + 1..=to`.
pub fn write_train_events(
    run_dir: &Path,
    label: &str,
    log: &str,
    images: impl Fn(u64, u64) -> u64,
) -> Result<()> {
    let rows = scalars::parse_train_log(log)?;
    let now = unix_now();
    let mut file = EventFile::new(now);
    for event in scalars::train_events(&rows, images, now) {
        file.add(&event);
    }
    replace_tb_dir(run_dir, label, &file, now)
}

/// Writes the event file of an eval in `eval_dir`: its metrics (name, mean,
/// std) at `step`, the last step of the training run it evaluates, so they
/// line up with the end of the curves. Replaces any earlier `tb/` folder.
pub fn write_eval_events(
    eval_dir: &Path,
    label: &str,
    step: u64,
    metrics: &[(String, f64, f64)],
) -> Result<()> {
    let now = unix_now();
    let mut file = EventFile::new(now);
    file.add(&scalars::eval_event(metrics, step, now));
    replace_tb_dir(eval_dir, label, &file, now)
}

/// The last step of a training log's text (0 when it has no rows).
pub fn last_step(log: &str) -> Result<u64> {
    Ok(scalars::parse_train_log(log)?.last().map_or(0, |r| r.step))
}

/// Removes `node_dir/tb` (a label folder of an earlier computation of the node
/// would otherwise stay as a second run) and writes `file` into the label's
/// folder.
fn replace_tb_dir(node_dir: &Path, label: &str, file: &EventFile, now: f64) -> Result<()> {
    let tb = node_dir.join(TB_DIR);
    match std::fs::remove_dir_all(&tb) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", tb.display()))
        }
        _ => {}
    }
    let folder = run_folder(node_dir, label);
    file.write_into(&folder, now as u64)
        .with_context(|| format!("writing the TensorBoard events in {}", folder.display()))?;
    Ok(())
}

/// The files under `node_dir/tb`, as paths relative to `node_dir` with `/`
/// separators (as a DONE record lists a node's files), sorted.
pub fn event_files(node_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(TB_DIR)];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(node_dir.join(&rel)) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = rel.join(entry.file_name());
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let parts: Vec<String> = path
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_one_folder_name() {
        let dir = Path::new("r");
        assert_eq!(run_folder(dir, ""), Path::new("r/tb"));
        assert_eq!(
            run_folder(dir, "model.upsampler=n15 loss.alpha=0.5"),
            Path::new("r/tb/model.upsampler=n15 loss.alpha=0.5")
        );
        assert_eq!(folder_name("data.path=a/b"), "data.path=a_b");
        assert_eq!(folder_name(".."), "__");
        let long = "é".repeat(150);
        assert!(folder_name(&long).len() <= MAX_NAME);
    }

    #[test]
    fn a_new_computation_replaces_the_tb_folder() {
        let dir = tempfile::tempdir().unwrap();
        let log = "epoch,step,loss,kl,lr,wall_s\n1,10,1.0,0.1,1e-3,1.000\n";
        write_train_events(dir.path(), "a=1", log, |a, b| b - a).unwrap();
        write_train_events(dir.path(), "a=2", log, |a, b| b - a).unwrap();
        let files = event_files(dir.path());
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(
            files[0].starts_with("tb/a=2/events.out.tfevents."),
            "{files:?}"
        );
        assert_eq!(last_step(log).unwrap(), 10);
    }
}
