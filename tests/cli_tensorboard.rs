//! TensorBoard event files written by the real binary: read back by a reader
//! written here from the format's definition (TFRecord framing with both
//! CRC-32C checks, the `Event` protobuf), independent of runner's writer, and
//! compared with train_log.csv and the eval's summary.csv.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{only_subdir, stderr, stdout, Project, Running, TINY};

/// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), bit by bit.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// TFRecord's masked CRC.
fn masked(bytes: &[u8]) -> u32 {
    ((crc32c(bytes) >> 15) | (crc32c(bytes) << 17)).wrapping_add(0xa282_ead8)
}

/// The records of an event file; panics unless every length and data CRC
/// matches and the file ends exactly after the last record.
fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        assert!(
            bytes.len() >= at + 12,
            "a record header is cut at byte {at}"
        );
        let len_bytes = &bytes[at..at + 8];
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        assert_eq!(u32_at(at + 8), masked(len_bytes), "length CRC at byte {at}");
        let data = &bytes[at + 12..at + 12 + len];
        assert_eq!(u32_at(at + 12 + len), masked(data), "data CRC at byte {at}");
        out.push(data.to_vec());
        at += 12 + len + 4;
    }
    assert_eq!(at, bytes.len());
    out
}

/// A decoded protobuf field's value.
#[derive(Debug)]
enum Field<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

/// The fields of a protobuf message, in order.
fn fields(mut bytes: &[u8]) -> Vec<(u64, Field<'_>)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let b = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        let field = match key & 7 {
            0 => Field::Varint(varint(&mut bytes)),
            1 => {
                let (v, rest) = bytes.split_at(8);
                bytes = rest;
                Field::Fixed64(v.try_into().unwrap())
            }
            2 => {
                let len = varint(&mut bytes) as usize;
                let (v, rest) = bytes.split_at(len);
                bytes = rest;
                Field::Bytes(v)
            }
            5 => {
                let (v, rest) = bytes.split_at(4);
                bytes = rest;
                Field::Fixed32(v.try_into().unwrap())
            }
            t => panic!("wire type {t}"),
        };
        out.push((key >> 3, field));
    }
    out
}

/// One decoded event.
#[derive(Debug, Default)]
struct Event {
    wall_time: f64,
    step: i64,
    file_version: Option<String>,
    scalars: BTreeMap<String, f32>,
}

fn decode(bytes: &[u8]) -> Event {
    let mut event = Event::default();
    for (number, field) in fields(bytes) {
        match (number, field) {
            (1, Field::Fixed64(b)) => event.wall_time = f64::from_le_bytes(b),
            (2, Field::Varint(v)) => event.step = v as i64,
            (3, Field::Bytes(b)) => {
                event.file_version = Some(String::from_utf8(b.to_vec()).unwrap())
            }
            (5, Field::Bytes(summary)) => {
                for (n, value) in fields(summary) {
                    let (1, Field::Bytes(value)) = (n, value) else {
                        panic!("Summary field {n}")
                    };
                    let (mut tag, mut simple) = (None, None);
                    for (n, f) in fields(value) {
                        match (n, f) {
                            (1, Field::Bytes(b)) => {
                                tag = Some(String::from_utf8(b.to_vec()).unwrap())
                            }
                            (2, Field::Fixed32(b)) => simple = Some(f32::from_le_bytes(b)),
                            other => panic!("Summary.Value field {other:?}"),
                        }
                    }
                    event.scalars.insert(tag.unwrap(), simple.unwrap());
                }
            }
            other => panic!("Event field {other:?}"),
        }
    }
    event
}

/// The only event file under `node_dir/tb` (path relative to `node_dir`)
/// and its events, after the version event, which is checked.
fn read_events(node_dir: &Path) -> (String, Vec<Event>) {
    let mut files = Vec::new();
    let mut stack = vec![node_dir.join("tb")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    assert_eq!(files.len(), 1, "one event file: {files:?}");
    let path = &files[0];
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    let mut events: Vec<Event> = records(&std::fs::read(path).unwrap())
        .iter()
        .map(|r| decode(r))
        .collect();
    let first = events.remove(0);
    assert_eq!(first.file_version.as_deref(), Some("brain.Event:2"));
    assert!(first.wall_time > 1.6e9, "Unix seconds: {}", first.wall_time);
    let rel = path
        .strip_prefix(node_dir)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    (rel, events)
}

/// train_log.csv as (header, rows of fields).
fn train_log(run: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(run.join("train_log.csv")).unwrap();
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>());
    (lines.next().unwrap(), lines.collect())
}

/// Asserts that the events of run folder `run` are train_log.csv's rows: one
/// event per row at its step, every loss column, the lr, and a positive
/// images/s; returns the steps.
fn assert_events_are_the_log(run: &Path) -> Vec<i64> {
    let (_, events) = read_events(run);
    let (header, rows) = train_log(run);
    assert_eq!(events.len(), rows.len(), "an event per log row");
    for (event, row) in events.iter().zip(&rows) {
        assert_eq!(event.step, row[1].parse::<i64>().unwrap());
        assert!(event.file_version.is_none());
        for (column, text) in header.iter().zip(row).take(header.len() - 2).skip(2) {
            let tag = if column == "loss" {
                "loss/total".to_string()
            } else {
                format!("loss/{column}")
            };
            let want: f32 = text.parse::<f64>().unwrap() as f32;
            assert_eq!(
                event.scalars.get(&tag),
                Some(&want),
                "{tag} at step {}",
                event.step
            );
        }
        let lr: f64 = row[row.len() - 2].parse().unwrap();
        assert_eq!(event.scalars["train/lr"], lr as f32);
        if let Some(rate) = event.scalars.get("train/images_per_s") {
            assert!(*rate > 0.0 && rate.is_finite(), "{rate}");
        }
        // Every loss column, lr and images/s; nothing else.
        assert!(
            event.scalars.len() <= header.len() - 4 + 2,
            "{:?}",
            event.scalars
        );
    }
    assert!(events
        .iter()
        .any(|e| e.scalars.contains_key("train/images_per_s")));
    assert!(events.windows(2).all(|w| w[0].wall_time <= w[1].wall_time));
    events.iter().map(|e| e.step).collect()
}

/// The files a node's DONE records.
fn done_files(dir: &Path) -> Vec<String> {
    let done: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("DONE")).unwrap()).unwrap();
    done["files"].as_object().unwrap().keys().cloned().collect()
}

/// The run folders of pipeline `tiny`.
fn run_dirs(p: &Project) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(p.path().join("results/tiny/runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|d| d.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// A two-cell sweep: each training run and each eval writes one event file in
/// `tb/<swept values>/`, with both CRCs of every record right, the training
/// scalars equal to train_log.csv's rows (2 epochs: a row every 10 steps and at
/// each epoch's end) and the eval's means and stds at the run's last step; DONE
/// lists the event files and `runner verify` checks them.
#[test]
fn event_files_hold_the_train_log_and_the_eval_metrics() {
    let p = Project::new();
    let text = TINY
        .replace("epochs: 1", "epochs: 2")
        .replace("train_images: 64", "train_images: 176")
        + "sweep:\n  loss.alpha: [0.0, 0.5]\n";
    p.write("p.yaml", &text);
    let out = p.run(&["p.yaml", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let runs = run_dirs(&p);
    assert_eq!(runs.len(), 2);
    let mut labels = Vec::new();
    for run in &runs {
        let steps = assert_events_are_the_log(run);
        // 176 images in batches of 16: 11 steps an epoch, rows at 10, 11, 20, 22.
        assert_eq!(steps, [10, 11, 20, 22]);
        let (rel, _) = read_events(run);
        let label = rel.split('/').nth(1).unwrap().to_string();
        assert!(label.starts_with("loss.alpha="), "{rel}");
        assert!(
            done_files(run).contains(&rel),
            "DONE lists {rel}: {:?}",
            done_files(run)
        );
        labels.push(label);

        let eval = only_subdir(&run.join("eval"));
        let (rel, events) = read_events(&eval);
        assert_eq!(
            rel.split('/').nth(1),
            Some(labels.last().unwrap().as_str()),
            "{rel}"
        );
        assert!(done_files(&eval).contains(&rel));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].step, 22, "the eval sits at the run's last step");
        let summary = std::fs::read_to_string(eval.join("summary.csv")).unwrap();
        let mut metrics = 0;
        for line in summary.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (mean, std) = (f[1].parse::<f64>().unwrap(), f[2].parse::<f64>().unwrap());
            assert_eq!(
                events[0].scalars[&format!("eval/{}", f[0])],
                mean as f32,
                "{line}"
            );
            assert_eq!(
                events[0].scalars[&format!("eval/{}_std", f[0])],
                std as f32,
                "{line}"
            );
            metrics += 1;
        }
        assert!(metrics > 0);
        assert_eq!(events[0].scalars.len(), 2 * metrics);
    }
    labels.sort();
    assert_eq!(labels, ["loss.alpha=0.0", "loss.alpha=0.5"]);

    let verify = p.run(&["verify"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}{}",
        stdout(&verify),
        stderr(&verify)
    );
    // An altered event file is found like any other altered output.
    let (rel, _) = read_events(&runs[0]);
    let path = runs[0].join(&rel);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let verify = p.run(&["verify"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(stdout(&verify).contains("altered"), "{}", stdout(&verify));
}

/// A run stopped mid-training (SIGTERM, at a checkpoint) and run again writes
/// its event file once, at the end: each logged step appears once, in order,
/// with train_log.csv's values.
#[cfg(unix)]
#[test]
fn a_resumed_run_logs_each_step_once() {
    let p = Project::new();
    p.write("p.yaml", &TINY.replace("epochs: 1", "epochs: 30"));
    let mut run = Running::start(&p, &["p.yaml", "--no-progress"]);
    run.wait_for("epoch 2/30 done");
    run.signal("TERM");
    let (status, log) = run.finish();
    assert_eq!(status.code(), Some(143), "{log}");
    let dir = only_subdir(&p.path().join("results/tiny/runs"));
    assert!(
        !dir.join("tb").exists(),
        "no events before the run finishes"
    );

    let out = p.run(&["p.yaml", "--no-progress"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming after"), "{err}");
    let steps = assert_events_are_the_log(&dir);
    assert!(
        steps.windows(2).all(|w| w[0] < w[1]),
        "no step twice: {steps:?}"
    );
    // 4 steps an epoch: a row at every 4th step and every 10th.
    assert_eq!(steps.len(), 30 + 6, "{steps:?}");
    assert_eq!(*steps.last().unwrap(), 120);
}
