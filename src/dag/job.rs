//! A node as a job, and what is recorded about its batch jobs.
//!
//! - [`JobSpec`] (`node.json`): everything needed to run one dataset, train or
//!   eval node from disk alone, so that any host that sees the results and cache
//!   folders can run it with `runner node KEY`.
//! - [`JobRecord`] (`job.json`): the batch jobs an executor submitted for the node,
//!   written by the driver before a job can start its work (the job waits for the
//!   node lock the driver holds while submitting), so a second driver or a
//!   restarted one re-attaches instead of submitting again.
//! - [`ExitRecord`] (`job_exit.json`): how the last `runner node` process ended;
//!   for a batch job it is the source of truth (a job's state as the scheduler
//!   reports it is only used when this file is missing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::{node_line, NodeKind, Plan};
use super::store::{evals_dir_of, runs_dir_of, Store, JOB_EXIT_FILE, JOB_FILE, NODE_SPEC_FILE};
use crate::atomic::write_atomic;
use crate::pipeline::key::NodeKey;
use crate::pipeline::schema::ResolvedPipeline;

/// One dataset, train or eval node, as written to `node.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The runner version that planned it; another version refuses to run it.
    pub runner_version: String,
    /// What the node does.
    pub kind: NodeKind,
    /// Its key.
    pub key: NodeKey,
    /// The pipeline that planned it (its results folder holds the node and logs).
    pub pipeline: String,
    /// The cells using it, as `key=value` labels (for messages; may be empty).
    pub label: String,
    /// The resolved config of the (first) cell using it.
    pub cell: ResolvedPipeline,
    /// What DONE records: the config subset it depends on and its ancestors'.
    pub config: Value,
    /// Parent keys by kind: `dataset` for train; `dataset` and `train` for eval.
    pub parents: BTreeMap<String, NodeKey>,
}

impl JobSpec {
    /// Node `i` of `plan` as a job; `None` for the report, which aggregates the
    /// whole plan and always runs in the driver.
    pub fn of(plan: &Plan, i: usize) -> Option<JobSpec> {
        let node = &plan.nodes[i];
        if node.kind == NodeKind::Report {
            return None;
        }
        let cell = node.cells[0];
        let ids = plan.cell_nodes[cell];
        let mut parents = BTreeMap::new();
        if node.kind != NodeKind::Dataset {
            parents.insert("dataset".to_string(), plan.nodes[ids.dataset].key);
        }
        if node.kind == NodeKind::Eval {
            parents.insert("train".to_string(), plan.nodes[ids.train].key);
        }
        Some(JobSpec {
            runner_version: env!("CARGO_PKG_VERSION").to_string(),
            kind: node.kind,
            key: node.key,
            pipeline: plan.pipeline.name.clone(),
            label: plan.node_label(i),
            cell: plan.pipeline.cells[cell].config.clone(),
            config: plan.recorded_config(i),
            parents,
        })
    }

    /// The key of parent `kind` (`dataset` or `train`).
    pub fn parent(&self, kind: NodeKind) -> Option<NodeKey> {
        self.parents.get(kind.name()).copied()
    }

    /// The node's directory in `store`.
    pub fn dir(&self, store: &Store) -> PathBuf {
        match self.kind {
            NodeKind::Dataset => store.dataset_dir(&self.key),
            NodeKind::Train => store.run_dir(&self.pipeline, &self.key),
            NodeKind::Eval => {
                let train = self.parent(NodeKind::Train).unwrap_or(self.key);
                store.eval_dir(&self.pipeline, &train, &self.key)
            }
            NodeKind::Report => store.report_dir(&self.pipeline),
        }
    }

    /// The directory of parent `kind` in `store`.
    pub fn parent_dir(&self, store: &Store, kind: NodeKind) -> Option<PathBuf> {
        let key = self.parent(kind)?;
        Some(match kind {
            NodeKind::Dataset => store.dataset_dir(&key),
            _ => store.run_dir(&self.pipeline, &key),
        })
    }

    /// "train 3fa9c2e81b07  [label]": kind, short key and cells.
    pub fn describe(&self) -> String {
        node_line(self.kind, &self.key, &self.label)
    }

    /// Writes it as `dir/node.json`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).context("serialising node.json")?;
        write_atomic(&dir.join(NODE_SPEC_FILE), text.as_bytes())
            .with_context(|| format!("writing {}", dir.join(NODE_SPEC_FILE).display()))
    }

    /// Reads `dir/node.json`.
    pub fn read(dir: &Path) -> Result<JobSpec> {
        let path = dir.join(NODE_SPEC_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} does not parse", path.display()))
    }

    /// The planned node whose key is `key` (in full, or a unique prefix of at
    /// least 6 characters), found by its `node.json` in the dataset cache and
    /// under every pipeline (or only `pipeline`) of the results folder.
    pub fn find(store: &Store, key: &str, pipeline: Option<&str>) -> Result<(JobSpec, PathBuf)> {
        let key = key.trim().to_ascii_lowercase();
        if key.len() < 6 || !key.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!(
                "`{key}` is not a node key: give its 64 hex characters or a prefix of at least 6"
            );
        }
        let mut candidates: Vec<PathBuf> = Vec::new();
        candidates.extend(children(&store.cache_dir.join("datasets")));
        let pipelines: Vec<PathBuf> = match pipeline {
            Some(name) => vec![store.pipeline_dir(name)],
            None => children(&store.results_dir),
        };
        for p in pipelines {
            for run in children(&runs_dir_of(&p)) {
                candidates.extend(children(&evals_dir_of(&run)));
                candidates.push(run);
            }
        }
        let short: String = key.chars().take(12).collect();
        let found: Vec<(JobSpec, PathBuf)> = candidates
            .into_iter()
            .filter(|dir| {
                dir.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&short) || short.starts_with(n))
            })
            .filter(|dir| dir.join(NODE_SPEC_FILE).is_file())
            .filter_map(|dir| {
                let spec = JobSpec::read(&dir).ok()?;
                spec.key
                    .to_string()
                    .starts_with(&key)
                    .then_some((spec, dir))
            })
            .collect();
        match found.len() {
            1 => Ok(found.into_iter().next().expect("one element")),
            0 => bail!(
                "no planned node with key {key} under {} or {} (a node is planned when a \
                 driver writes its {NODE_SPEC_FILE}; check --results-dir and --cache-dir)",
                store.results_dir.display(),
                store.cache_dir.join("datasets").display()
            ),
            _ => {
                let list: Vec<String> = found
                    .iter()
                    .map(|(s, d)| format!("{} in {}", s.kind.name(), d.display()))
                    .collect();
                bail!(
                    "key {key} names {} nodes; give more of it or --pipeline: {}",
                    found.len(),
                    list.join("; ")
                )
            }
        }
    }
}

/// Sub-directories of `dir` (none when unreadable).
fn children(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// One batch job submitted for a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The scheduler's job id; `None` while the submission is under way.
    pub job_id: Option<String>,
    /// When it was submitted (RFC 3339, UTC).
    pub submitted: String,
    /// The host of the driver that submitted it.
    pub submit_host: Option<String>,
    /// The driver's process id.
    pub driver_pid: u32,
    /// Its log file.
    pub log: Option<PathBuf>,
    /// Its final state as the driver saw it (`COMPLETED`, `FAILED`, `TIMEOUT`,
    /// ...); `None` while it is queued or running.
    pub state: Option<String>,
    /// The exit code of `runner node`, when known.
    pub exit_code: Option<i32>,
}

/// `job.json`: every batch job submitted for a node, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The submissions.
    pub attempts: Vec<Attempt>,
}

impl JobRecord {
    /// The record in `dir` (empty when there is none or it does not parse: a
    /// node is then treated as never submitted, the safe side for a re-run).
    pub fn read(dir: &Path) -> JobRecord {
        std::fs::read_to_string(dir.join(JOB_FILE))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes it as `dir/job.json`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).context("serialising job.json")?;
        write_atomic(&dir.join(JOB_FILE), text.as_bytes())
            .with_context(|| format!("writing {}", dir.join(JOB_FILE).display()))
    }

    /// The last submission if it has not ended (no final state recorded).
    pub fn current(&self) -> Option<&Attempt> {
        self.attempts.last().filter(|a| a.state.is_none())
    }

    /// The last submission, mutable, if it has not ended.
    pub fn current_mut(&mut self) -> Option<&mut Attempt> {
        self.attempts.last_mut().filter(|a| a.state.is_none())
    }
}

/// How a `runner node` process ended, as written to `job_exit.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// The batch job it ran in (`SLURM_JOB_ID`), if any.
    pub job_id: Option<String>,
    /// Its exit code.
    pub exit_code: i32,
    /// done, fresh, failed, input error, checkpointed (resubmit) or stopped.
    pub outcome: String,
    /// The error or stop message.
    pub message: Option<String>,
    /// For a stopped training node: the steps saved in its checkpoint.
    pub step: Option<u64>,
    /// The host it ran on.
    pub host: Option<String>,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// When it ended (RFC 3339, UTC).
    pub finished: String,
}

impl ExitRecord {
    /// Writes it as `dir/job_exit.json`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).context("serialising job_exit.json")?;
        write_atomic(&dir.join(JOB_EXIT_FILE), text.as_bytes())
            .with_context(|| format!("writing {}", dir.join(JOB_EXIT_FILE).display()))
    }

    /// The record in `dir`, if there is one and it parses.
    pub fn read(dir: &Path) -> Option<ExitRecord> {
        let text = std::fs::read_to_string(dir.join(JOB_EXIT_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::plan::build_plan;
    use crate::pipeline::load::load_pipeline_str;

    /// The jobs of a two-cell pipeline named `name`, written to their folders.
    fn planned(store: &Store, name: &str) -> Vec<JobSpec> {
        let text =
            format!("name: {name}\ndataset: {{name: shapes}}\nsweep:\n  train.seed: [0, 1]\n");
        let loaded = load_pipeline_str(Path::new("p.yaml"), &text, &[]).unwrap();
        let plan = build_plan(loaded, store, &|_, _| Default::default()).unwrap();
        let jobs: Vec<JobSpec> = (0..plan.nodes.len())
            .filter_map(|i| JobSpec::of(&plan, i))
            .collect();
        for job in &jobs {
            job.write(&job.dir(store)).unwrap();
        }
        jobs
    }

    #[test]
    fn node_json_round_trips_and_names_its_folders() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("c"), dir.path().join("r"));
        let jobs = planned(&store, "p");
        assert_eq!(jobs.len(), 5, "one dataset, two trains, two evals");
        for job in &jobs {
            assert_eq!(&JobSpec::read(&job.dir(&store)).unwrap(), job);
        }
        let eval = jobs.iter().find(|j| j.kind == NodeKind::Eval).unwrap();
        let train = eval.parent(NodeKind::Train).unwrap();
        assert_eq!(
            eval.dir(&store),
            store.eval_dir("p", &train, &eval.key),
            "an eval lives in its run's folder"
        );
        assert_eq!(
            eval.parent_dir(&store, NodeKind::Dataset).unwrap(),
            store.dataset_dir(&eval.parent(NodeKind::Dataset).unwrap())
        );
        assert!(eval.label.contains("train.seed="), "{}", eval.label);
        assert_eq!(jobs[0].kind, NodeKind::Dataset);
        assert!(jobs[0].parents.is_empty());
    }

    #[test]
    fn a_node_is_found_by_key_or_prefix_across_pipelines() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("c"), dir.path().join("r"));
        let jobs = planned(&store, "p");
        for job in &jobs {
            let (found, at) = JobSpec::find(&store, &job.key.to_string(), None).unwrap();
            assert_eq!(&found, job);
            assert_eq!(at, job.dir(&store));
            let prefix = &job.key.to_string()[..8];
            assert_eq!(JobSpec::find(&store, prefix, None).unwrap().0.key, job.key);
        }
        // The same training planned by a second pipeline: the key alone is
        // ambiguous, the pipeline settles it.
        let again = planned(&store, "q");
        let train = again.iter().find(|j| j.kind == NodeKind::Train).unwrap();
        let key = train.key.to_string();
        let err = JobSpec::find(&store, &key, None).unwrap_err().to_string();
        assert!(err.contains("names 2 nodes"), "{err}");
        let (found, _) = JobSpec::find(&store, &key, Some("q")).unwrap();
        assert_eq!(found.pipeline, "q");
        // The dataset is one folder in the cache, shared by both.
        let dataset = jobs[0].key.to_string();
        assert_eq!(
            JobSpec::find(&store, &dataset, Some("q")).unwrap().0.kind,
            NodeKind::Dataset
        );
        let err = JobSpec::find(&store, "0123456789ab", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("no planned node with key 0123456789ab"),
            "{err}"
        );
        assert!(
            JobSpec::find(&store, "abc", None).is_err(),
            "too short a prefix"
        );
    }
}
