//! The cluster profile (`--profile cluster.yaml`): where and with what resources
//! runner's batch jobs run. It is never part of any key: the same pipeline file
//! runs locally or on any cluster unchanged. Without a profile, the cluster's
//! defaults (default partition, one CPU) are used.
//!
//! ```yaml
//! partition: gpu
//! account: my_lab
//! qos: normal
//! constraint: a100
//! extra: ["--exclusive"]       # more sbatch flags, for every job
//! poll_seconds: 10             # first interval between squeue calls
//! max_jobs: 100                # queued + running at once
//! latency_wait: 30             # seconds a job's files may take to appear here
//! signal_grace: 120            # SIGUSR2 this many seconds before a training
//!                              # job's time limit: checkpoint, then resubmit
//! dataset: {cpus: 4, mem: 16G, time: "1:00:00"}
//! train:   {cpus: 4, mem: 32G, time: "1-00:00:00", gpus: 1}
//! eval:    {cpus: 2, mem: 16G, time: "2:00:00", gpus: "a100:1"}
//! driver:  {time: "7-00:00:00", mem: 2G}   # the driver job of --detach
//! ```

// A ConfigError is built at most once per run and ends it.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::pipeline::load::{load_typed_file, ConfigError, TypedFile};

/// The whole profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// `--constraint`.
    pub constraint: Option<String>,
    /// More sbatch flags for every job, each one argument (`--exclusive`,
    /// `--reservation=abc`).
    pub extra: Vec<String>,
    /// Seconds between the first squeue calls; the interval grows (up to six
    /// times) while nothing changes. At least 1.
    pub poll_seconds: u32,
    /// Jobs queued or running at once (at least 1).
    pub max_jobs: u32,
    /// Seconds to wait for the files a finished job wrote to appear on this
    /// host (shared file systems lag), before its scheduler state is used.
    pub latency_wait: u32,
    /// Seconds before a training job's time limit that it gets SIGUSR2 (it saves
    /// its checkpoint and asks to be resubmitted).
    pub signal_grace: u32,
    /// The runner binary the jobs run (default: the one submitting them); it
    /// must be reachable at this path on the compute nodes.
    pub runner: Option<PathBuf>,
    /// Resources of dataset jobs.
    pub dataset: Resources,
    /// Resources of training jobs.
    pub train: Resources,
    /// Resources of eval jobs.
    pub eval: Resources,
    /// Resources of the driver job (`--detach`): one CPU unless set.
    pub driver: Resources,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            partition: None,
            account: None,
            qos: None,
            constraint: None,
            extra: Vec::new(),
            poll_seconds: 10,
            max_jobs: 100,
            latency_wait: 30,
            signal_grace: 120,
            runner: None,
            dataset: Resources::default(),
            train: Resources::default(),
            eval: Resources::default(),
            driver: Resources::default(),
        }
    }
}

/// The resources of one kind of job; unset ones are the cluster's defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    /// `--cpus-per-task`.
    pub cpus: Option<u32>,
    /// `--mem`: a number with an optional unit K, M (the default), G or T.
    pub mem: Option<String>,
    /// `--time`: minutes, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM` or
    /// `D-HH:MM:SS`.
    pub time: Option<String>,
    /// `--gpus`: a count (`1`) or `type:count` (`a100:1`).
    pub gpus: Option<Gpus>,
    /// More sbatch flags for this kind of job.
    pub extra: Vec<String>,
}

/// A GPU request as `--gpus` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gpus(pub String);

impl<'de> Deserialize<'de> for Gpus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Gpus;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a GPU count (1) or type:count (a100:1)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Gpus, E> {
                Ok(Gpus(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Gpus, E> {
                u64::try_from(v)
                    .map(|v| Gpus(v.to_string()))
                    .map_err(|_| E::custom(format!("a GPU count cannot be negative, got {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Gpus, E> {
                let count = v.rsplit(':').next().unwrap_or(v);
                let kind_ok = v.rsplit_once(':').is_none_or(|(kind, _)| {
                    !kind.is_empty()
                        && kind
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                });
                if kind_ok && !count.is_empty() && count.chars().all(|c| c.is_ascii_digit()) {
                    Ok(Gpus(v.to_string()))
                } else {
                    Err(E::custom(format!(
                        "expected a GPU count (1) or type:count (a100:1), got `{v}`"
                    )))
                }
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

impl Gpus {
    /// Whether it asks for at least one GPU.
    pub fn any(&self) -> bool {
        self.0
            .rsplit(':')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n > 0)
    }
}

/// Seconds in a Slurm time limit (`None` for `INFINITE`/`UNLIMITED`), or why it
/// is not one.
pub fn time_seconds(text: &str) -> Result<Option<u64>, String> {
    let bad = || {
        format!(
            "`{text}` is not a Slurm time: use minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or \
             D-HH:MM:SS"
        )
    };
    let t = text.trim();
    if t.eq_ignore_ascii_case("infinite") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    let number = |s: &str| -> Result<u64, String> {
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u64>().map_err(|_| bad())
    };
    let (days, rest) = match t.split_once('-') {
        Some((d, rest)) => (Some(number(d)?), rest),
        None => (None, t),
    };
    let parts: Vec<u64> = rest.split(':').map(number).collect::<Result<_, _>>()?;
    let seconds = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86_400 + h * 3600,
        (Some(d), [h, m]) => d * 86_400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86_400 + h * 3600 + m * 60 + s,
        _ => return Err(bad()),
    };
    Ok(Some(seconds))
}

/// Checks a `--mem` value: a number with an optional unit K, M, G or T.
pub fn check_mem(text: &str) -> Result<(), String> {
    let digits = text.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    let unit_len = text.len() - digits.len();
    if unit_len <= 1 && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "`{text}` is not a memory size: use a number with an optional unit K, M, G or T \
             (16G)"
        ))
    }
}

impl Resources {
    /// The problems of its values, as (key under the kind, message).
    fn issues(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(mem) = &self.mem {
            if let Err(e) = check_mem(mem) {
                out.push(("mem", e));
            }
        }
        if let Some(time) = &self.time {
            if let Err(e) = time_seconds(time) {
                out.push(("time", e));
            }
        }
        if self.cpus == Some(0) {
            out.push(("cpus", "must be at least 1".to_string()));
        }
        out
    }

    /// Its time limit in seconds, when set and finite.
    pub fn time_limit(&self) -> Option<u64> {
        self.time
            .as_deref()
            .and_then(|t| time_seconds(t).ok().flatten())
    }
}

impl Profile {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Profile, ConfigError> {
        let file: TypedFile<Profile> = load_typed_file(path, "profile")?;
        file.value.check(&file)?;
        Ok(file.value.clone())
    }

    /// The resources of jobs of `kind` (`dataset`, `train`, `eval`, `driver`).
    pub fn resources(&self, kind: &str) -> &Resources {
        match kind {
            "dataset" => &self.dataset,
            "train" => &self.train,
            "eval" => &self.eval,
            _ => &self.driver,
        }
    }

    /// The first problem among the values, placed in `file`.
    fn check(&self, file: &TypedFile<Profile>) -> Result<(), ConfigError> {
        if self.poll_seconds == 0 {
            return Err(file.error_at("poll_seconds", "must be at least 1"));
        }
        if self.max_jobs == 0 {
            return Err(file.error_at("max_jobs", "must be at least 1"));
        }
        for kind in ["dataset", "train", "eval", "driver"] {
            if let Some((key, message)) = self.resources(kind).issues().into_iter().next() {
                return Err(file.error_at(&format!("{kind}.{key}"), message));
            }
        }
        if let Some(limit) = self.train.time_limit() {
            if u64::from(self.signal_grace) >= limit {
                return Err(file.error_at(
                    "signal_grace",
                    format!(
                        "{} s is not shorter than train.time ({limit} s): training jobs would \
                         be told to stop before they start",
                        self.signal_grace
                    ),
                ));
            }
        }
        if self.signal_grace > 65_535 {
            return Err(file.error_at("signal_grace", "Slurm takes at most 65535 seconds"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Profile, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.yaml");
        std::fs::write(&path, text).unwrap();
        Profile::load(&path).map_err(|e| {
            let shown = e.to_string();
            assert_eq!(shown.lines().count(), 1, "{shown}");
            shown.replace(&path.display().to_string(), "cluster.yaml")
        })
    }

    #[test]
    fn a_full_profile_loads() {
        let p = load(
            "partition: gpu\naccount: lab\nqos: normal\nconstraint: a100\n\
             extra: [--exclusive]\npoll_seconds: 2\nmax_jobs: 8\nlatency_wait: 5\n\
             signal_grace: 60\nrunner: /opt/runner\n\
             train: {cpus: 4, mem: 32G, time: \"1-00:00:00\", gpus: 1}\n\
             eval: {gpus: \"a100:1\", extra: [--nice=10]}\ndriver: {time: 7-00}\n",
        )
        .unwrap();
        assert_eq!(p.partition.as_deref(), Some("gpu"));
        assert_eq!(p.train.cpus, Some(4));
        assert_eq!(p.train.time_limit(), Some(86_400));
        assert_eq!(p.eval.gpus, Some(Gpus("a100:1".into())));
        assert!(p.eval.gpus.as_ref().unwrap().any());
        assert_eq!(p.driver.time_limit(), Some(7 * 86_400));
        assert_eq!(p.runner, Some(PathBuf::from("/opt/runner")));
        // Empty means every default.
        assert_eq!(load("# nothing\n").unwrap(), Profile::default());
    }

    #[test]
    fn bad_profiles_name_the_file_line_and_key() {
        assert_eq!(
            load("partition: gpu\ntrain: {cpus: 2, memory: 4G}\n").unwrap_err(),
            "cluster.yaml:2:18: train.memory: unknown key `memory`; valid keys: cpus, mem, \
             time, gpus, extra"
        );
        let err = load("partiton: gpu\n").unwrap_err();
        assert!(
            err.starts_with("cluster.yaml:1:1: unknown key `partiton`"),
            "{err}"
        );
        assert!(err.contains("did you mean `partition`"), "{err}");
        let err = load("train:\n  mem: lots\n").unwrap_err();
        assert!(
            err.starts_with("cluster.yaml:2:3: train.mem: `lots`"),
            "{err}"
        );
        let err = load("eval: {time: \"1:2:3:4\"}\n").unwrap_err();
        assert!(
            err.contains("eval.time: `1:2:3:4` is not a Slurm time"),
            "{err}"
        );
        let err = load("train: {gpus: many}\n").unwrap_err();
        assert!(
            err.contains("train.gpus") && err.contains("type:count"),
            "{err}"
        );
        let err = load("max_jobs: lots\n").unwrap_err();
        assert!(err.starts_with("cluster.yaml:1:"), "{err}");
        assert!(err.contains("max_jobs"), "{err}");
        let err = load("signal_grace: 120\ntrain: {time: \"2\"}\n").unwrap_err();
        assert!(
            err.contains("signal_grace: 120 s is not shorter than train.time"),
            "{err}"
        );
        let err = load("poll_seconds: 0\n").unwrap_err();
        assert!(err.contains("poll_seconds: must be at least 1"), "{err}");
        assert_eq!(
            load("[1, 2]\n").unwrap_err(),
            "cluster.yaml:1:1: the top level must be a mapping, got a list"
        );
        let err = Profile::load(Path::new("/nonexistent/cluster.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/nonexistent/cluster.yaml: profile file not found"
        );
    }

    #[test]
    fn slurm_times_and_memory_sizes() {
        assert_eq!(time_seconds("30"), Ok(Some(1800)));
        assert_eq!(time_seconds("1:30"), Ok(Some(90)));
        assert_eq!(time_seconds("2:00:00"), Ok(Some(7200)));
        assert_eq!(time_seconds("1-2"), Ok(Some(93_600)));
        assert_eq!(time_seconds("1-2:30"), Ok(Some(95_400)));
        assert_eq!(time_seconds("1-0:0:1"), Ok(Some(86_401)));
        assert_eq!(time_seconds("UNLIMITED"), Ok(None));
        for bad in ["", "1h", "1-", "-1", "1:2:3:4", "1-2:3:4:5", "a:b"] {
            assert!(time_seconds(bad).is_err(), "{bad}");
        }
        for good in ["100", "16G", "512M", "2t", "1k"] {
            assert!(check_mem(good).is_ok(), "{good}");
        }
        for bad in ["", "G", "16GB", "1.5G", "-1G"] {
            assert!(check_mem(bad).is_err(), "{bad}");
        }
        assert!(!Gpus("0".into()).any());
        assert!(Gpus("2".into()).any());
    }
}
