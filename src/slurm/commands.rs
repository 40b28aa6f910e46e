//! Running Slurm's commands: `sbatch` (submit, or `--test-only` to validate),
//! `squeue`, `sacct` and `scancel`, each with a time limit and the error text
//! kept. Inside a Slurm job (a detached driver), the job's own `SLURM_*`
//! variables are removed from the commands' environment: sbatch would read
//! them as options of the new job (`SLURM_MEM_PER_CPU` against `--mem`).

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::state::{parse_sacct, parse_sbatch_id, parse_squeue, AccountEntry, QueueEntry};

/// How long one Slurm command may take before it counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Job ids per squeue, sacct or scancel call (keeps command lines short).
const IDS_PER_CALL: usize = 500;

/// The Slurm commands of this machine.
#[derive(Debug, Clone, Default)]
pub struct Slurm {
    /// Whether to drop `SLURM_*` variables (set inside a job).
    clean_env: bool,
}

/// What a finished command printed.
struct Printed {
    success: bool,
    stdout: String,
    stderr: String,
}

/// The non-empty lines of `text`, trimmed, joined with `; ` (one line).
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

impl Slurm {
    /// The commands as found on PATH.
    pub fn new() -> Self {
        Slurm {
            clean_env: std::env::var_os("SLURM_JOB_ID").is_some(),
        }
    }

    /// Whether `sbatch`, `squeue` and `scancel` are on PATH; the error names
    /// the missing one.
    pub fn check_installed(&self) -> Result<(), String> {
        for tool in ["sbatch", "squeue", "scancel"] {
            let found = std::env::var_os("PATH")
                .map(|paths| {
                    std::env::split_paths(&paths).any(|dir| {
                        let path = dir.join(tool);
                        path.is_file()
                            && std::fs::metadata(&path)
                                .map(|m| {
                                    use std::os::unix::fs::PermissionsExt;
                                    m.permissions().mode() & 0o111 != 0
                                })
                                .unwrap_or(false)
                    })
                })
                .unwrap_or(false);
            if !found {
                return Err(format!(
                    "`{tool}` is not on PATH: the Slurm executor needs Slurm's commands \
                     (sbatch, squeue, scancel); run on a cluster's login node, or use \
                     --executor local"
                ));
            }
        }
        Ok(())
    }

    /// Runs `program args`, with the time limit, reading both outputs on
    /// threads so that a large output cannot block the child.
    fn run(&self, program: &str, args: &[String]) -> Result<Printed, String> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.clean_env {
            for (name, _) in std::env::vars_os() {
                let Some(text) = name.to_str() else { continue };
                if ["SLURM_", "SLURMD_", "SRUN_"]
                    .iter()
                    .any(|p| text.starts_with(p))
                {
                    cmd.env_remove(&name);
                }
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_string(&mut text);
                }
                text
            })
        };
        let out = read(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = read(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{program} did not answer within {} s",
                        COMMAND_TIMEOUT.as_secs()
                    ));
                }
                Err(e) => return Err(format!("waiting for {program}: {e}")),
            }
        };
        Ok(Printed {
            success: status.success(),
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        })
    }

    /// Submits a job with `args` (`sbatch --parsable ARGS`) and returns its id.
    pub fn submit(&self, args: &[String]) -> Result<String, String> {
        let mut all = vec!["--parsable".to_string()];
        all.extend_from_slice(args);
        let printed = self.run("sbatch", &all)?;
        if !printed.success {
            return Err(format!(
                "sbatch refused the job: {}",
                one_line(&printed.stderr)
            ));
        }
        parse_sbatch_id(&printed.stdout).ok_or_else(|| {
            format!(
                "sbatch printed no job id: {}",
                one_line(&(printed.stdout.clone() + &printed.stderr))
            )
        })
    }

    /// Asks sbatch whether it would take a job with `args`, without submitting
    /// (`sbatch --test-only`): a wrong partition, account, QOS, time limit or
    /// resource request is refused with sbatch's message.
    pub fn test_submit(&self, args: &[String]) -> Result<(), String> {
        let mut all = vec!["--test-only".to_string()];
        all.extend_from_slice(args);
        all.push("--wrap=true".to_string());
        let printed = self.run("sbatch", &all)?;
        if printed.success {
            Ok(())
        } else {
            Err(one_line(&printed.stderr))
        }
    }

    /// The queue's view of `ids` (one squeue call per batch of ids, finished
    /// jobs included while slurmctld remembers them). Ids squeue does not know
    /// are absent from the answer.
    pub fn queue(&self, ids: &[String]) -> Result<HashMap<String, QueueEntry>, String> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let args = vec![
                "--noheader".to_string(),
                "--states=all".to_string(),
                "--format=%i|%T|%r".to_string(),
                format!("--jobs={}", chunk.join(",")),
            ];
            let printed = self.run("squeue", &args)?;
            if !printed.success {
                // Every id of the call is unknown (long finished and forgotten).
                if printed.stderr.contains("Invalid job id") {
                    continue;
                }
                return Err(format!("squeue failed: {}", one_line(&printed.stderr)));
            }
            out.extend(parse_squeue(&printed.stdout));
        }
        Ok(out)
    }

    /// The accounting records of `ids`, or `None` when the cluster keeps no
    /// accounting (sacct is missing or says accounting is disabled).
    pub fn accounting(
        &self,
        ids: &[String],
    ) -> Result<Option<HashMap<String, AccountEntry>>, String> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let args = vec![
                "--noheader".to_string(),
                "--parsable2".to_string(),
                "--allocations".to_string(),
                "--format=JobIDRaw,State,ExitCode".to_string(),
                format!("--jobs={}", chunk.join(",")),
            ];
            let printed = match self.run("sacct", &args) {
                Ok(printed) => printed,
                Err(e) if e.starts_with("cannot start") => return Ok(None),
                Err(e) => return Err(e),
            };
            if !printed.success {
                if printed.stderr.contains("accounting storage is disabled") {
                    return Ok(None);
                }
                return Err(format!("sacct failed: {}", one_line(&printed.stderr)));
            }
            out.extend(parse_sacct(&printed.stdout));
        }
        Ok(Some(out))
    }

    /// Jobs named `name` that are queued or running, as squeue lists them.
    pub fn find_by_name(&self, name: &str) -> Result<Vec<String>, String> {
        let args = vec![
            "--noheader".to_string(),
            "--format=%i|%T|%r".to_string(),
            format!("--name={name}"),
        ];
        let printed = self.run("squeue", &args)?;
        if !printed.success {
            return Err(format!("squeue failed: {}", one_line(&printed.stderr)));
        }
        let mut ids: Vec<String> = parse_squeue(&printed.stdout)
            .into_iter()
            .filter(|(_, e)| !e.state.is_final())
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Cancels `ids` (`scancel`, batched).
    pub fn cancel(&self, ids: &[String]) -> Result<(), String> {
        for chunk in ids.chunks(IDS_PER_CALL) {
            let printed = self.run("scancel", chunk)?;
            if !printed.success {
                return Err(format!("scancel failed: {}", one_line(&printed.stderr)));
            }
        }
        Ok(())
    }
}
