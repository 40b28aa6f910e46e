//! The local executor: each node on a worker thread of this process, up to
//! `-j N` at once, each node that asks for a GPU on one of its own
//! ([`GpuSlots`]).

use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

use super::executor::{Executor, Finished};
use super::gpu::{GpuSlots, Grant};
use super::job::JobSpec;
use super::store::Store;
use super::work::{panic_text, run_job, DeviceNeed, NodeContext, NodeWork, Outcome};
use crate::interrupt::StopReason;

/// Runs nodes on threads of this process.
pub struct LocalExecutor {
    work: Arc<dyn NodeWork>,
    store: Store,
    /// Nodes at once.
    jobs: usize,
    gpus: GpuSlots,
    /// What every node gets (its GPU is set per node).
    ctx: NodeContext,
    sender: Sender<Finished>,
    receiver: Receiver<Finished>,
    /// The device granted to each running node.
    grants: HashMap<usize, Grant>,
}

impl LocalExecutor {
    /// Up to `jobs` nodes at once, GPUs handed out from `gpus`.
    pub fn new(
        work: Arc<dyn NodeWork>,
        store: Store,
        jobs: usize,
        gpus: GpuSlots,
        ctx: NodeContext,
    ) -> Self {
        let (sender, receiver) = channel();
        LocalExecutor {
            work,
            store,
            jobs: jobs.max(1),
            gpus,
            ctx,
            sender,
            receiver,
            grants: HashMap::new(),
        }
    }
}

impl Executor for LocalExecutor {
    fn has_room(&self, need: DeviceNeed) -> bool {
        self.grants.len() < self.jobs && self.gpus.can_take(need)
    }

    fn start(
        &mut self,
        index: usize,
        job: JobSpec,
        need: DeviceNeed,
        what: &str,
        wait_for_lock: bool,
    ) {
        let Some(grant) = self.gpus.try_take(need) else {
            // has_room said yes; keep the scheduler's promise anyway.
            let _ = self.sender.send(Finished {
                index,
                outcome: Outcome::Failed("no device was free to run it".into()),
                secs: 0.0,
            });
            self.grants.insert(index, Grant::cpu());
            return;
        };
        self.grants.insert(index, grant);
        let device = grant.gpu.map_or(String::new(), |g| format!(" on cuda:{g}"));
        self.ctx.progress.println(format!("{what} ...{device}"));
        let ctx = NodeContext {
            gpu: grant.gpu,
            wait_for_lock,
            ..self.ctx.clone()
        };
        let (work, store, sender) = (self.work.clone(), self.store.clone(), self.sender.clone());
        std::thread::spawn(move || {
            let clock = Instant::now();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_job(&job, &store, work.as_ref(), &ctx)
            }))
            .unwrap_or_else(|panic| Outcome::Failed(panic_text(panic.as_ref())));
            let _ = sender.send(Finished {
                index,
                outcome,
                secs: clock.elapsed().as_secs_f64(),
            });
        });
    }

    fn in_flight(&self) -> usize {
        self.grants.len()
    }

    fn wait(&mut self) -> Vec<Finished> {
        let mut done = Vec::new();
        // Block for one, then take whatever else has finished.
        if let Ok(first) = self.receiver.recv() {
            done.push(first);
        }
        done.extend(self.receiver.try_iter());
        for f in &done {
            if let Some(grant) = self.grants.remove(&f.index) {
                self.gpus.give_back(grant);
            }
        }
        done
    }

    fn stop(&mut self, _reason: StopReason) -> Vec<Finished> {
        // The nodes see the request themselves and stop at their next step.
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::sync::{Condvar, Mutex};

    use super::*;
    use crate::dag::plan::{build_plan, NodeKind, Plan};
    use crate::dag::work::WorkError;
    use crate::pipeline::load::load_pipeline_str;
    use crate::progress::Progress;

    /// Work that asks for a GPU, checks that no two running nodes share one,
    /// and holds every node until `gpus` of them ran at the same time.
    struct GpuHungry {
        gpus: usize,
        state: Mutex<(BTreeSet<usize>, usize, Vec<usize>)>,
        changed: Condvar,
    }

    impl NodeWork for GpuHungry {
        fn check_inputs(&self, _job: &JobSpec) -> Result<(), String> {
            Ok(())
        }
        fn device_need(&self, _job: &JobSpec) -> DeviceNeed {
            DeviceNeed::AnyGpu
        }
        fn run(
            &self,
            _job: &JobSpec,
            _dir: &Path,
            ctx: &NodeContext,
        ) -> Result<Vec<String>, WorkError> {
            let gpu = ctx.gpu.expect("a GPU node gets a GPU");
            let mut state = self.state.lock().unwrap();
            assert!(state.0.insert(gpu), "cuda:{gpu} given to two running nodes");
            state.1 = state.1.max(state.0.len());
            state.2.push(gpu);
            self.changed.notify_all();
            // The first nodes wait until all GPUs are busy at once; later ones
            // pass (the maximum stays reached).
            while state.1 < self.gpus {
                state = self.changed.wait(state).unwrap();
            }
            state.0.remove(&gpu);
            Ok(Vec::new())
        }
        fn report(&self, _plan: &Plan, _outcomes: &[Option<bool>]) -> Result<Vec<String>, String> {
            Ok(Vec::new())
        }
    }

    /// With a fake machine of three GPUs and `-j 8`, five training nodes run
    /// three at a time, each on a GPU of its own.
    #[test]
    fn each_running_node_gets_its_own_gpu() {
        let text = "dataset: {name: shapes}\nsweep:\n  train.seed: [0, 1, 2, 3, 4]\n";
        let loaded = load_pipeline_str(Path::new("p.yaml"), text, &[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cache"), dir.path().join("results"));
        let plan = build_plan(loaded, &store, &|_, _| Default::default()).unwrap();
        let work = Arc::new(GpuHungry {
            gpus: 3,
            state: Mutex::new((BTreeSet::new(), 0, Vec::new())),
            changed: Condvar::new(),
        });
        let ctx = NodeContext {
            progress: Progress::new(false),
            gpu: None,
            force: false,
            cpu_threads: 1,
            wait_for_lock: true,
        };
        let mut executor =
            LocalExecutor::new(work.clone(), store, 8, GpuSlots::new(&[0, 1, 2], 1), ctx);
        let trains: Vec<usize> = (0..plan.nodes.len())
            .filter(|&i| plan.nodes[i].kind == NodeKind::Train)
            .collect();
        assert_eq!(trains.len(), 5);
        let mut pending = trains.clone();
        let mut finished = Vec::new();
        while finished.len() < trains.len() {
            while let Some(&i) = pending.first() {
                if !executor.has_room(DeviceNeed::AnyGpu) {
                    break;
                }
                pending.remove(0);
                let job = JobSpec::of(&plan, i).unwrap();
                executor.start(i, job, DeviceNeed::AnyGpu, "train", true);
                assert!(executor.in_flight() <= 3, "more nodes than GPUs");
            }
            finished.extend(executor.wait());
        }
        assert!(
            finished.iter().all(|f| f.outcome == Outcome::Ran),
            "{finished:?}"
        );
        let state = work.state.lock().unwrap();
        assert_eq!(state.1, 3, "three nodes ran at once");
        assert_eq!(state.2.len(), 5);
        assert!(state.2.iter().all(|g| *g < 3));
    }
}
