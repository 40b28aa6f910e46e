//! Hands out GPUs to the nodes a local executor runs at once: every node that
//! asks for a GPU gets one of its own (cuda:0 … cuda:K−1), never two nodes on one
//! GPU unless `--per-gpu` allows it; a node waits while every GPU is taken, and
//! nodes on the CPU never wait for a GPU.

use super::work::DeviceNeed;

/// A granted device: the GPU (none for the CPU) and whether it holds one of
/// the counted places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The GPU the node runs on; `None` for the CPU.
    pub gpu: Option<usize>,
    /// Whether a place was taken (to give back).
    counted: bool,
}

impl Grant {
    /// The CPU: no GPU, no place taken.
    pub fn cpu() -> Self {
        Grant {
            gpu: None,
            counted: false,
        }
    }
}

/// The free places on each GPU of this machine that runner may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuSlots {
    /// (GPU number, free places), in the order given.
    free: Vec<(usize, usize)>,
}

impl GpuSlots {
    /// `per_gpu` places on each of `gpus` (e.g. `--gpus 0,1 --per-gpu 2`).
    pub fn new(gpus: &[usize], per_gpu: usize) -> Self {
        let mut free: Vec<(usize, usize)> = Vec::new();
        for &gpu in gpus {
            if !free.iter().any(|(g, _)| *g == gpu) {
                free.push((gpu, per_gpu.max(1)));
            }
        }
        GpuSlots { free }
    }

    /// The GPUs handed out, in order.
    pub fn gpus(&self) -> Vec<usize> {
        self.free.iter().map(|(g, _)| *g).collect()
    }

    /// A device for a node that asks for `need`, or `None` when it must wait:
    /// the CPU always; any GPU: the one with the most free places (the first on
    /// a tie); a given GPU: that one when it has a free place (a GPU outside the
    /// list runs without a place, as asked).
    pub fn try_take(&mut self, need: DeviceNeed) -> Option<Grant> {
        let slot = match need {
            DeviceNeed::Cpu => return Some(Grant::cpu()),
            DeviceNeed::AnyGpu => {
                let best = self.free.iter().map(|(_, f)| *f).max()?;
                self.free.iter_mut().find(|(_, f)| *f == best && best > 0)?
            }
            DeviceNeed::Gpu(n) => match self.free.iter_mut().find(|(g, _)| *g == n) {
                Some(slot) if slot.1 > 0 => slot,
                Some(_) => return None,
                None => {
                    return Some(Grant {
                        gpu: Some(n),
                        counted: false,
                    })
                }
            },
        };
        slot.1 -= 1;
        Some(Grant {
            gpu: Some(slot.0),
            counted: true,
        })
    }

    /// Whether [`GpuSlots::try_take`] would grant `need` now.
    pub fn can_take(&self, need: DeviceNeed) -> bool {
        match need {
            DeviceNeed::Cpu => true,
            DeviceNeed::AnyGpu => self.free.iter().any(|(_, f)| *f > 0),
            DeviceNeed::Gpu(n) => self.free.iter().all(|(g, f)| *g != n || *f > 0),
        }
    }

    /// Returns the place of a finished node.
    pub fn give_back(&mut self, grant: Grant) {
        if let (true, Some(gpu)) = (grant.counted, grant.gpu) {
            if let Some(slot) = self.free.iter_mut().find(|(g, _)| *g == gpu) {
                slot.1 += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_node_gets_its_own_gpu_until_none_is_free() {
        let mut slots = GpuSlots::new(&[0, 1, 2], 1);
        let a = slots.try_take(DeviceNeed::AnyGpu).unwrap();
        let b = slots.try_take(DeviceNeed::AnyGpu).unwrap();
        let c = slots.try_take(DeviceNeed::AnyGpu).unwrap();
        let mut got = vec![a.gpu.unwrap(), b.gpu.unwrap(), c.gpu.unwrap()];
        got.sort();
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(slots.try_take(DeviceNeed::AnyGpu), None, "all taken");
        // The CPU never waits for a GPU.
        assert_eq!(slots.try_take(DeviceNeed::Cpu).unwrap().gpu, None);
        slots.give_back(b);
        assert_eq!(slots.try_take(DeviceNeed::AnyGpu).unwrap().gpu, b.gpu);
    }

    #[test]
    fn per_gpu_spreads_nodes_before_doubling_up() {
        let mut slots = GpuSlots::new(&[0, 1], 2);
        let gpus: Vec<usize> = (0..4)
            .map(|_| slots.try_take(DeviceNeed::AnyGpu).unwrap().gpu.unwrap())
            .collect();
        assert_eq!(gpus, [0, 1, 0, 1]);
        assert_eq!(slots.try_take(DeviceNeed::AnyGpu), None);
    }

    #[test]
    fn a_pinned_gpu_waits_for_its_own_place() {
        let mut slots = GpuSlots::new(&[0, 1], 1);
        let first = slots.try_take(DeviceNeed::Gpu(1)).unwrap();
        assert_eq!(first.gpu, Some(1));
        assert_eq!(slots.try_take(DeviceNeed::Gpu(1)), None);
        assert_eq!(slots.try_take(DeviceNeed::AnyGpu).unwrap().gpu, Some(0));
        // Outside the handed-out list: runs where asked, counts nothing.
        let outside = slots.try_take(DeviceNeed::Gpu(5)).unwrap();
        assert_eq!(outside.gpu, Some(5));
        slots.give_back(outside);
        slots.give_back(first);
        assert_eq!(slots.try_take(DeviceNeed::Gpu(1)).unwrap().gpu, Some(1));
    }

    #[test]
    fn no_gpus_means_gpu_nodes_wait_and_duplicates_count_once() {
        let mut none = GpuSlots::new(&[], 1);
        assert_eq!(none.try_take(DeviceNeed::AnyGpu), None);
        assert_eq!(GpuSlots::new(&[1, 1, 0], 1).gpus(), [1, 0]);
    }
}
