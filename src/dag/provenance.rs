//! `provenance.json`: what produced a train or eval result — runner version, the
//! git state of the working directory, device, seed, start and end time, host,
//! the Slurm job and node when a batch job computed it, and the node's key with
//! its parents' keys. It sits next to the result and is
//! never part of any key.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::pipeline::key::NodeKey;

/// File name of the provenance record in a train or eval directory.
pub const PROVENANCE_FILE: &str = "provenance.json";

/// The git state of the repository around the working directory; both fields
/// are `None` when git is missing or the directory is not in a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitState {
    /// `git rev-parse HEAD`.
    pub revision: Option<String>,
    /// Whether `git status --porcelain` lists anything.
    pub dirty: Option<bool>,
}

/// The contents of `provenance.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// runner's version (Cargo package version).
    pub runner_version: String,
    /// Git revision and dirty flag of the working directory's repository.
    pub git: GitState,
    /// Where the node ran ("cpu").
    pub device: String,
    /// The seed the node used (train.seed or eval.seed).
    pub seed: u64,
    /// When the computation started (RFC 3339, UTC).
    pub started: String,
    /// When the result was complete (RFC 3339, UTC).
    pub finished: String,
    /// The machine's host name, when it can be read cheaply.
    pub hostname: Option<String>,
    /// Node kind: train or eval.
    pub kind: String,
    /// The node's full key.
    pub key: NodeKey,
    /// Parent keys by kind: `dataset` for train; `dataset` and `train` for eval.
    pub parents: BTreeMap<String, NodeKey>,
    /// The Slurm job that computed it (`SLURM_JOB_ID`), when one did.
    #[serde(default)]
    pub slurm_job_id: Option<String>,
    /// The Slurm node it ran on (`SLURMD_NODENAME`), when a job did.
    #[serde(default)]
    pub slurm_node: Option<String>,
}

/// Seconds since the Unix epoch now (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Formats Unix seconds as RFC 3339 UTC, e.g. `2024-02-29T23:59:59Z`.
pub fn rfc3339_utc(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs_of_day = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`: shift to eras of 400 years starting 0000-03-01,
/// so the leap day is the last day of the shifted year).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Runs `git ARGS` in the current directory; `None` if git is missing or fails.
fn git_output(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The git state of the working directory, asked once per process.
pub fn git_state() -> GitState {
    static STATE: OnceLock<GitState> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let revision = git_output(&["rev-parse", "HEAD"]).map(|s| s.trim().to_string());
            // Only ask about dirtiness inside a repository.
            let dirty = revision
                .as_ref()
                .and_then(|_| git_output(&["status", "--porcelain"]))
                .map(|s| !s.trim().is_empty());
            GitState { revision, dirty }
        })
        .clone()
}

/// The host name from the kernel or /etc/hostname (no subprocess).
pub fn hostname() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
}

impl Provenance {
    /// A record for node `key` of `kind` that started at `started_unix` and
    /// finishes now.
    pub fn finished_now(
        kind: &str,
        key: NodeKey,
        parents: BTreeMap<String, NodeKey>,
        seed: u64,
        device: &str,
        started_unix: u64,
    ) -> Self {
        Provenance {
            runner_version: env!("CARGO_PKG_VERSION").to_string(),
            git: git_state(),
            device: device.to_string(),
            seed,
            started: rfc3339_utc(started_unix),
            finished: rfc3339_utc(unix_now()),
            hostname: hostname(),
            kind: kind.to_string(),
            key,
            parents,
            slurm_job_id: std::env::var("SLURM_JOB_ID").ok(),
            slurm_node: std::env::var("SLURMD_NODENAME").ok(),
        }
    }

    /// Writes it atomically as `dir/provenance.json`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(&dir.join(PROVENANCE_FILE), text.as_bytes())
    }
}

/// The provenance record of `dir`, if it exists and parses.
pub fn read_provenance(dir: &Path) -> Option<Provenance> {
    let text = std::fs::read_to_string(dir.join(PROVENANCE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        // Values checked with `date -u -d @SECONDS`.
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_utc(1_709_251_200), "2024-03-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_234_567_890), "2009-02-13T23:31:30Z");
    }

    #[test]
    fn day_counts_round_trip_through_every_day_of_four_centuries() {
        // Walk day by day from 1970 and check the calendar advances by exactly one
        // day each time, with the Gregorian month lengths.
        let month_len = |y: i64, m: u32| match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..146_097 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            d += 1;
            if d > month_len(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn provenance_round_trips_through_json() {
        let key: NodeKey = [7u8; 32].into();
        let parents = BTreeMap::from([("dataset".to_string(), NodeKey::from([1u8; 32]))]);
        let p = Provenance::finished_now("train", key, parents, 5, "cpu", 0);
        let dir = tempfile::tempdir().unwrap();
        p.write(dir.path()).unwrap();
        let back = read_provenance(dir.path()).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.started, "1970-01-01T00:00:00Z");
    }
}
