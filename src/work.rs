//! What each node computes — build a dataset cache, train, evaluate, write the
//! report — behind the engine's [`NodeWork`]. The engine decides when and where
//! a node runs; this module only knows how.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context};

use crate::atomic::write_atomic;
use crate::dag::job::JobSpec;
use crate::dag::lock::NodeLock;
use crate::dag::plan::{dataset_subset, NodeKind, Plan};
use crate::dag::provenance::{unix_now, Provenance, PROVENANCE_FILE};
use crate::dag::store::{check_done, clear_done, write_done, Depth, NotDone, Store};
use crate::dag::work::{DeviceNeed, NodeContext, NodeWork, WorkError};
use crate::data::{self, cache, DataError, Dataset};
use crate::device::{self, Device};
use crate::eval::run::evaluate;
use crate::pipeline::key::NodeKey;
use crate::pipeline::schema::{DatasetSpec, DeviceChoice};
use crate::progress::Progress;
use crate::report::write_report;
use crate::tensorboard;
use crate::train::run::{images_in_steps, TRAIN_LOG};
use crate::train::{train, TrainError};
use crate::weights::MODEL_FILE;

/// The resolved config a training run writes next to its model.
const CONFIG_FILE: &str = "config.yaml";

/// The work of a pipeline's nodes, with the datasets loaded in this process.
pub struct PipelineWork {
    store: Store,
    memo: DatasetMemo,
}

impl PipelineWork {
    /// Work on the results and cache folders of `store`.
    pub fn new(store: Store) -> Self {
        PipelineWork {
            store,
            memo: DatasetMemo::default(),
        }
    }
}

/// Datasets loaded in this process, shared by the nodes that need them.
#[derive(Default)]
struct DatasetMemo {
    loaded: Mutex<HashMap<NodeKey, Arc<Dataset>>>,
    /// Held while a dataset is loaded from the cache or rebuilt, so that the
    /// nodes of this process take turns (and the second finds it in memory)
    /// instead of waiting on each other's file lock.
    loading: Mutex<()>,
}

impl DatasetMemo {
    /// Keeps `ds` in memory under `key` and returns the shared copy.
    fn remember(&self, key: NodeKey, ds: Dataset) -> Arc<Dataset> {
        let ds = Arc::new(ds);
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded.insert(key, ds.clone());
        ds
    }

    /// The dataset of `key` if it is already in memory.
    fn recall(&self, key: &NodeKey) -> Option<Arc<Dataset>> {
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded.get(key).cloned()
    }

    /// Builds `spec` into `dir` (already locked by the caller) and keeps it.
    fn build(&self, spec: &DatasetSpec, key: NodeKey, dir: &Path) -> Result<(), DataError> {
        let io = |e: anyhow::Error| DataError::Write {
            path: dir.to_path_buf(),
            source: std::io::Error::other(format!("{e:#}")),
        };
        let ds = data::build(spec)?;
        cache::save(dir, &ds).map_err(|e| io(anyhow!(e)))?;
        self.remember(key, ds);
        Ok(())
    }

    /// The dataset of `job`'s dataset parent: from memory, else from the
    /// verified cache, else rebuilt under its lock (a truncated or altered cache
    /// entry is never used).
    fn get(
        &self,
        job: &JobSpec,
        store: &Store,
        progress: &Progress,
    ) -> Result<Arc<Dataset>, DataError> {
        let key = job.parent(NodeKind::Dataset).unwrap_or(job.key);
        if let Some(ds) = self.recall(&key) {
            return Ok(ds);
        }
        let _turn = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        // Another node of this process may have loaded it while this one waited.
        if let Some(ds) = self.recall(&key) {
            return Ok(ds);
        }
        let dir = store.dataset_dir(&key);
        match cache::load(&dir) {
            Ok(ds) => return Ok(self.remember(key, ds)),
            Err(e) => progress.println(format!(
                "dataset cache {} unusable ({e}); rebuilding",
                dir.display()
            )),
        }
        let io = |e: anyhow::Error| DataError::Write {
            path: dir.clone(),
            source: std::io::Error::other(format!("{e:#}")),
        };
        let _lock = NodeLock::acquire(&dir, || {
            progress.println(format!(
                "waiting for another runner building dataset {}",
                key.short()
            ))
        })
        .map_err(io)?;
        // Another process may have rebuilt it while this one waited.
        if let Ok(ds) = cache::load(&dir) {
            return Ok(self.remember(key, ds));
        }
        clear_done(&dir).map_err(|e| io(e.into()))?;
        self.build(&job.cell.dataset, key, &dir)?;
        // The rebuilt entry is complete again.
        let subset = dataset_subset(&job.cell, &crate::code_version::current).map_err(io)?;
        write_done(&dir, key, "dataset", &subset, &dataset_files()).map_err(|e| io(e.into()))?;
        self.recall(&key).ok_or_else(|| DataError::Write {
            path: dir.clone(),
            source: std::io::Error::other("dataset was built but is not in memory"),
        })
    }
}

/// The files of a dataset cache entry, as DONE records them.
fn dataset_files() -> Vec<String> {
    cache::FILES.iter().map(|f| f.to_string()).collect()
}

/// The files of `names` that exist in `dir`.
fn existing(dir: &Path, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter(|n| dir.join(n).is_file())
        .map(|n| n.to_string())
        .collect()
}

/// The text of the training log in run folder `dir`.
fn read_log(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(TRAIN_LOG);
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// A data error as the engine sees it: the user's files are wrong (exit 2), or
/// something else failed.
fn data_error(e: DataError) -> WorkError {
    match e {
        DataError::MissingFile { .. } | DataError::Malformed { .. } => {
            WorkError::Input(e.to_string())
        }
        DataError::Io { .. } | DataError::Write { .. } => WorkError::Failed(e.to_string()),
    }
}

/// Threads of a CPU training node: `train.threads`, else the executor's share
/// of the cores. Asking for more threads than there are cores is allowed (the
/// results do not change), with a notice.
fn training_threads(cfg: &crate::pipeline::schema::ResolvedPipeline, ctx: &NodeContext) -> usize {
    let Some(asked) = cfg.train.threads else {
        return ctx.cpu_threads;
    };
    let cores = crate::dag::work::usable_cores();
    if asked as usize > cores {
        ctx.progress.println(format!(
            "notice: train.threads is {asked}, more than the {cores} cores this process may use; \
             training goes on, slower per thread"
        ));
    }
    asked as usize
}

/// The device a train or eval node of `job` runs on: the GPU the executor
/// granted, else `train.device` resolved here.
fn node_device(job: &JobSpec, ctx: &NodeContext) -> Result<Device, WorkError> {
    match ctx.gpu {
        Some(gpu) => Ok(Device::Cuda(gpu)),
        None => device::resolve(job.cell.train.device)
            .map_err(|e| WorkError::Input(format!("train.device: {e}"))),
    }
}

/// The provenance of train or eval `job`, run on `device`, started at
/// `started_unix`.
fn node_provenance(job: &JobSpec, device: Device, started_unix: u64) -> Provenance {
    let seed = match job.kind {
        NodeKind::Eval => job.cell.eval.seed,
        _ => job.cell.train.seed,
    };
    Provenance::finished_now(
        job.kind.name(),
        job.key,
        job.parents.clone(),
        seed,
        &device.description(),
        started_unix,
    )
}

impl NodeWork for PipelineWork {
    fn check_inputs(&self, job: &JobSpec) -> Result<(), String> {
        match job.kind {
            NodeKind::Dataset => data::check_inputs(&job.cell.dataset).map_err(|e| e.to_string()),
            _ => Ok(()),
        }
    }

    fn device_need(&self, job: &JobSpec) -> DeviceNeed {
        if !matches!(job.kind, NodeKind::Train | NodeKind::Eval) {
            return DeviceNeed::Cpu;
        }
        match job.cell.train.device {
            DeviceChoice::Cpu => DeviceNeed::Cpu,
            DeviceChoice::Cuda(n) => DeviceNeed::Gpu(n as usize),
            DeviceChoice::AnyCuda => DeviceNeed::AnyGpu,
            DeviceChoice::Auto if device::gpu_count() > 0 => DeviceNeed::AnyGpu,
            DeviceChoice::Auto => DeviceNeed::Cpu,
        }
    }

    fn run(&self, job: &JobSpec, dir: &Path, ctx: &NodeContext) -> Result<Vec<String>, WorkError> {
        let cfg = &job.cell;
        if job.kind == NodeKind::Dataset {
            self.memo
                .build(&cfg.dataset, job.key, dir)
                .map_err(data_error)?;
            return Ok(dataset_files());
        }
        // An eval never starts on an unfinished training run, nor on one whose
        // files are not the bytes that training wrote (nor loads data then).
        let run_dir = job.parent_dir(&self.store, NodeKind::Train);
        if let (NodeKind::Eval, Some(run_dir)) = (job.kind, &run_dir) {
            let train = job.parent(NodeKind::Train).unwrap_or(job.key);
            match check_done(run_dir, &train, Depth::Hashes) {
                Ok(_) => {}
                Err(NotDone::Absent) => {
                    return Err(WorkError::Failed(format!(
                        "its training run {} is not complete",
                        run_dir.display()
                    )))
                }
                Err(NotDone::Altered(files)) => {
                    return Err(WorkError::Failed(format!(
                        "its training run {} was altered after it finished ({}); run the \
                         pipeline again to recompute it",
                        run_dir.display(),
                        files.join("; ")
                    )))
                }
            }
        }
        let data = self
            .memo
            .get(job, &self.store, &ctx.progress)
            .map_err(data_error)?;
        let device = node_device(job, ctx)?;
        let started = unix_now();
        let result = (|| -> Result<(), TrainError> {
            if job.kind == NodeKind::Train {
                let yaml =
                    serde_saphyr::to_string(cfg).map_err(|e| anyhow!("serialising config: {e}"))?;
                write_atomic(&dir.join(CONFIG_FILE), yaml.as_bytes())
                    .context("writing config.yaml")?;
                let label = format!("train {}", &job.key.short()[..8]);
                let threads = training_threads(cfg, ctx);
                train(
                    cfg,
                    &data.train,
                    dir,
                    &label,
                    &ctx.progress,
                    device,
                    threads,
                )?;
                let log = read_log(dir)?;
                let (n, batch) = (data.train.len(), cfg.train.batch);
                tensorboard::write_train_events(dir, &job.label, &log, |from, to| {
                    images_in_steps(n, batch, from, to)
                })?;
            } else {
                let run_dir = run_dir
                    .as_ref()
                    .ok_or_else(|| anyhow!("the eval node names no train node"))?;
                let summary = evaluate(cfg, &data.test, run_dir, dir, device)?;
                let metrics: Vec<(String, f64, f64)> = summary
                    .metrics
                    .iter()
                    .map(|(m, mean, std)| (m.column().to_string(), *mean, *std))
                    .collect();
                let step = tensorboard::last_step(&read_log(run_dir)?)?;
                tensorboard::write_eval_events(dir, &job.label, step, &metrics)?;
            }
            node_provenance(job, device, started)
                .write(dir)
                .context("writing provenance.json")?;
            Ok(())
        })();
        result.map_err(|e| match e {
            TrainError::Stopped { step } => WorkError::Stopped {
                message: format!("stopped at step {step}; the checkpoint is saved"),
                step: Some(step),
            },
            e => WorkError::Failed(format!("{e:#}")),
        })?;
        let outputs: &[&str] = match job.kind {
            NodeKind::Train => &[CONFIG_FILE, MODEL_FILE, TRAIN_LOG],
            _ => &crate::eval::run::OUTPUT_FILES,
        };
        let mut files = existing(dir, outputs);
        files.extend(tensorboard::event_files(dir));
        files.push(PROVENANCE_FILE.to_string());
        Ok(files)
    }

    fn report(&self, plan: &Plan, outcomes: &[Option<bool>]) -> Result<Vec<String>, String> {
        write_report(plan, &self.store, outcomes).map_err(|e| format!("{e:#}"))
    }
}
