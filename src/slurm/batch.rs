//! The sbatch arguments of one batch job: its name, log, working folder, the
//! profile's placement and the kind's resources, the time-limit warning, and
//! the command it runs.

use std::path::PathBuf;

use super::profile::{Profile, Resources};

/// One batch job to submit.
#[derive(Debug, Clone)]
pub struct BatchJob<'a> {
    /// `--job-name`.
    pub name: String,
    /// `--output` (with `%j` for the job id); appended to, not truncated.
    pub log: PathBuf,
    /// `--chdir`: where relative paths of the pipeline (data roots) are found.
    pub workdir: PathBuf,
    /// Its kind's resources.
    pub resources: &'a Resources,
    /// Send SIGUSR2 to the job's process this many seconds before its time
    /// limit (`--signal=B:USR2@N`).
    pub signal_grace: Option<u32>,
    /// The shell command it runs (run with `exec`, so that the signal reaches
    /// it and not a shell in between).
    pub command: String,
}

/// Quotes `s` for a POSIX shell (bare when it needs no quoting).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `runner-<pipeline>-<kind>-<short key>`, with characters Slurm tools
/// display badly replaced by `_`.
pub fn job_name(pipeline: &str, kind: &str, short_key: &str) -> String {
    let clean: String = pipeline
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("runner-{clean}-{kind}-{short_key}")
}

/// The placement and resource flags of a job of `resources` under `profile`
/// (also what `sbatch --test-only` checks).
pub fn resource_args(profile: &Profile, resources: &Resources) -> Vec<String> {
    let mut args = Vec::new();
    let mut flag = |name: &str, value: &Option<String>| {
        if let Some(v) = value {
            args.push(format!("--{name}={v}"));
        }
    };
    flag("partition", &profile.partition);
    flag("account", &profile.account);
    flag("qos", &profile.qos);
    flag("constraint", &profile.constraint);
    flag("cpus-per-task", &resources.cpus.map(|c| c.to_string()));
    flag("mem", &resources.mem);
    flag("time", &resources.time);
    flag("gpus", &resources.gpus.as_ref().map(|g| g.0.clone()));
    args.extend(profile.extra.iter().cloned());
    args.extend(resources.extra.iter().cloned());
    args
}

/// The sbatch arguments (without `--parsable`) of `job` under `profile`.
pub fn sbatch_args(profile: &Profile, job: &BatchJob) -> Vec<String> {
    let mut args = vec![
        format!("--job-name={}", job.name),
        format!("--output={}", job.log.display()),
        "--open-mode=append".to_string(),
        format!("--chdir={}", job.workdir.display()),
    ];
    if let Some(grace) = job.signal_grace {
        args.push(format!("--signal=B:USR2@{grace}"));
    }
    args.extend(resource_args(profile, job.resources));
    args.push(format!("--wrap=exec {}", job.command));
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slurm::profile::Gpus;

    #[test]
    fn arguments_carry_the_profile_and_the_kind() {
        let profile = Profile {
            partition: Some("gpu".into()),
            account: Some("lab".into()),
            extra: vec!["--exclusive".into()],
            ..Profile::default()
        };
        let resources = Resources {
            cpus: Some(4),
            mem: Some("16G".into()),
            time: Some("1:00:00".into()),
            gpus: Some(Gpus("a100:1".into())),
            extra: vec!["--nice=5".into()],
        };
        let job = BatchJob {
            name: job_name("celeba n15", "train", "3fa9c2e81b07"),
            log: PathBuf::from("/r/p/logs/train-3fa9c2e81b07-%j.log"),
            workdir: PathBuf::from("/home/me/exp"),
            resources: &resources,
            signal_grace: Some(120),
            command: "'/opt/run ner' node abc".into(),
        };
        assert_eq!(
            sbatch_args(&profile, &job),
            [
                "--job-name=runner-celeba_n15-train-3fa9c2e81b07",
                "--output=/r/p/logs/train-3fa9c2e81b07-%j.log",
                "--open-mode=append",
                "--chdir=/home/me/exp",
                "--signal=B:USR2@120",
                "--partition=gpu",
                "--account=lab",
                "--cpus-per-task=4",
                "--mem=16G",
                "--time=1:00:00",
                "--gpus=a100:1",
                "--exclusive",
                "--nice=5",
                "--wrap=exec '/opt/run ner' node abc",
            ]
        );
        // Nothing set: the cluster's defaults.
        assert!(resource_args(&Profile::default(), &Resources::default()).is_empty());
    }

    #[test]
    fn shell_quoting_survives_spaces_and_quotes() {
        assert_eq!(shell_quote("results/p"), "results/p");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
