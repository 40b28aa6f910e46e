//! Adam with PyTorch's arithmetic, fused on the CPU backend into one pass over
//! each parameter's buffer (both moments and the update in one loop, in place).
//!
//! burn's own `Adam` makes about ten tensor operations per parameter, each a
//! pass over memory with a fresh buffer; on the CPU that was a sixth of a
//! training step. The state is burn's [`AdamState`] (step count and both
//! moments), so checkpoints written with burn's `Adam` load unchanged.
//!
//! The update, as `torch.optim.Adam` (no weight decay, no AMSGrad) computes it:
//!
//! ```text
//! m = m + (1 - β1) (g - m)          (torch: m.lerp_(g, 1 - β1))
//! v = β2 v + (1 - β2) g²
//! p = p - lr / (1 - β1^t) · m / (√v / √(1 - β2^t) + ε)
//! ```
//!
//! Other backends (CUDA) run the same formula as tensor operations.

use std::any::Any;

use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, SimpleOptimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorPrimitive};
use burn_flex::FlexTensor;
use rayon::prelude::*;

/// Version of the Adam optimiser.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// Elements per parallel task of the fused update (each element is updated on
/// its own, so the split cannot change the result).
const CHUNK: usize = 16 * 1024;

/// Adam's hyper-parameters (the learning rate comes with each step).
#[derive(Debug, Clone, Copy)]
pub struct FusedAdam {
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Added to the denominator.
    pub epsilon: f32,
}

impl FusedAdam {
    /// An optimizer for module `M` on backend `B`.
    pub fn init<B: AutodiffBackend, M: burn::module::AutodiffModule<B>>(
        self,
    ) -> OptimizerAdaptor<FusedAdam, M, B> {
        OptimizerAdaptor::from(self)
    }

    /// Step size and √(1 - β2^t) of step `time` (1-based) at learning rate `lr`,
    /// computed in f64 as PyTorch computes them in Python.
    fn scalars(&self, lr: LearningRate, time: usize) -> (f32, f32) {
        let t = time as i32;
        let correction_1 = 1.0 - (self.beta_1 as f64).powi(t);
        let correction_2 = 1.0 - (self.beta_2 as f64).powi(t);
        ((lr / correction_1) as f32, correction_2.sqrt() as f32)
    }
}

/// The update of one element: returns the new (parameter, m, v).
#[inline(always)]
fn update(
    a: &FusedAdam,
    step: f32,
    root_c2: f32,
    p: f32,
    g: f32,
    m: f32,
    v: f32,
) -> (f32, f32, f32) {
    let m = m + (1.0 - a.beta_1) * (g - m);
    let v = a.beta_2 * v + (1.0 - a.beta_2) * g * g;
    let p = p - step * m / (v.sqrt() / root_c2 + a.epsilon);
    (p, m, v)
}

/// The fused update on contiguous f32 flex tensors (`moments` `None`: zeros).
/// The parameter and moment buffers are updated in place when not shared.
fn fused_flex(
    a: &FusedAdam,
    step: f32,
    root_c2: f32,
    param: FlexTensor,
    grad: FlexTensor,
    moments: Option<(FlexTensor, FlexTensor)>,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let shape = param.layout().shape().clone();
    let mut param = param.to_contiguous();
    let grad = grad.to_contiguous();
    let (mut m, mut v) = match moments {
        Some((m, v)) => (m.to_contiguous(), v.to_contiguous()),
        None => (
            FlexTensor::zeros(shape.clone(), DType::F32),
            FlexTensor::zeros(shape, DType::F32),
        ),
    };
    let g: &[f32] = grad.storage();
    let (ps, ms, vs) = (
        param.storage_mut::<f32>(),
        m.storage_mut::<f32>(),
        v.storage_mut::<f32>(),
    );
    ps.par_chunks_mut(CHUNK)
        .zip(ms.par_chunks_mut(CHUNK))
        .zip(vs.par_chunks_mut(CHUNK))
        .zip(g.par_chunks(CHUNK))
        .for_each(|(((p, m), v), g)| {
            for i in 0..p.len() {
                (p[i], m[i], v[i]) = update(a, step, root_c2, p[i], g[i], m[i], v[i]);
            }
        });
    (param, m, v)
}

/// Whether backend `B` is flex, so its float tensors are [`FlexTensor`]s.
fn is_flex<B: Backend>() -> bool {
    std::any::TypeId::of::<B::FloatTensorPrimitive>() == std::any::TypeId::of::<FlexTensor>()
}

/// `t`'s flex tensor (`B` is flex).
fn to_flex<B: Backend, const D: usize>(t: Tensor<B, D>) -> FlexTensor {
    let boxed: Box<dyn Any> = Box::new(t.into_primitive().tensor());
    *boxed
        .downcast::<FlexTensor>()
        .expect("called only when B's float primitive is FlexTensor")
}

/// A flex tensor as a tensor of backend `B` (`B` is flex).
fn from_flex<B: Backend, const D: usize>(value: FlexTensor) -> Tensor<B, D> {
    let boxed: Box<dyn Any> = Box::new(value);
    let primitive = *boxed
        .downcast::<B::FloatTensorPrimitive>()
        .expect("called only when B's float primitive is FlexTensor");
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

impl<B: Backend> SimpleOptimizer<B> for FusedAdam {
    type State<const D: usize> = AdamState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let time = state.as_ref().map_or(0, |s| s.momentum.time) + 1;
        let (step, root_c2) = self.scalars(lr, time);
        let moments = state.map(|s| (s.momentum.moment_1, s.momentum.moment_2));

        if is_flex::<B>() && tensor.dtype() == DType::F32 && grad.dtype() == DType::F32 {
            let moments = moments.map(|(m, v)| (to_flex(m), to_flex(v)));
            let (p, m, v) =
                fused_flex(self, step, root_c2, to_flex(tensor), to_flex(grad), moments);
            let momentum = AdaptiveMomentumState::new(time, from_flex(m), from_flex(v));
            return (from_flex(p), Some(AdamState::new(momentum)));
        }

        let (m, v) = moments.unwrap_or_else(|| (tensor.zeros_like(), tensor.zeros_like()));
        let m = m.clone() + (grad.clone() - m).mul_scalar(1.0 - self.beta_1);
        let v = v.mul_scalar(self.beta_2) + grad.square().mul_scalar(1.0 - self.beta_2);
        let denom = v
            .clone()
            .sqrt()
            .div_scalar(root_c2)
            .add_scalar(self.epsilon);
        let tensor = tensor - m.clone().div(denom).mul_scalar(step);
        let momentum = AdaptiveMomentumState::new(time, m, v);
        (tensor, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{CpuBackend, TrainBackend};
    use burn::backend::NdArray;
    use burn::module::{Module, Param};
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
    use burn::tensor::TensorData;

    const ADAM: FusedAdam = FusedAdam {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-8,
    };

    /// Parameters and a gradient per step, deterministic.
    fn series(n: usize, steps: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
        let p = (0..n)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let g = (0..steps)
            .map(|s| {
                (0..n)
                    .map(|i| (((i + 13 * s) * 104_729) % 211) as f32 / 100.0 - 1.05)
                    .collect()
            })
            .collect();
        (p, g)
    }

    /// PyTorch's Adam update, in f64.
    fn reference(p: &[f32], grads: &[Vec<f32>], lr: f64) -> Vec<f64> {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        let mut p: Vec<f64> = p.iter().map(|&x| x as f64).collect();
        let (mut m, mut v) = (vec![0.0; p.len()], vec![0.0; p.len()]);
        for (t, g) in grads.iter().enumerate() {
            let t = t as i32 + 1;
            for i in 0..p.len() {
                let g = g[i] as f64;
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                let denom = v[i].sqrt() / (1.0 - b2.powi(t)).sqrt() + eps;
                p[i] -= lr / (1.0 - b1.powi(t)) * m[i] / denom;
            }
        }
        p
    }

    /// `steps` steps of [`FusedAdam`] on backend `B`.
    fn run<B: Backend>(p: &[f32], grads: &[Vec<f32>], lr: f64) -> Vec<f32> {
        let device = Default::default();
        let tensor =
            |v: &[f32]| Tensor::<B, 1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device);
        let (mut param, mut state) = (tensor(p), None);
        for g in grads {
            (param, state) = SimpleOptimizer::<B>::step(&ADAM, lr, param, tensor(g), state);
        }
        param.into_data().to_vec::<f32>().unwrap()
    }

    fn max_relative(a: &[f32], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 - y).abs() / y.abs().max(1e-3))
            .fold(0.0, f64::max)
    }

    #[test]
    fn fused_and_generic_paths_follow_pytorchs_formula() {
        // 40,000 elements: several parallel chunks.
        let (p, grads) = series(40_000, 5);
        let expected = reference(&p, &grads, 1e-2);
        let fused = run::<CpuBackend>(&p, &grads, 1e-2);
        let generic = run::<NdArray>(&p, &grads, 1e-2);
        assert!(
            max_relative(&fused, &expected) < 1e-5,
            "{}",
            max_relative(&fused, &expected)
        );
        assert!(
            max_relative(&generic, &expected) < 1e-5,
            "{}",
            max_relative(&generic, &expected)
        );
        // The parameters moved: a step that updates nothing fails here.
        assert!(max_relative(&fused, &p.iter().map(|&x| x as f64).collect::<Vec<_>>()) > 1e-3);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (p, grads) = series(70_001, 3);
        let on = |threads| {
            crate::backend::on_threads(threads, || run::<CpuBackend>(&p, &grads, 1e-3)).unwrap()
        };
        let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
        assert_eq!(bits(on(1)), bits(on(2)));
    }

    /// A one-parameter module.
    #[derive(Module, Debug)]
    struct One<B: Backend> {
        w: Param<Tensor<B, 1>>,
    }

    #[test]
    fn burns_adam_state_loads_and_continues_the_same_run() {
        type B = TrainBackend;
        let device = Default::default();
        let (p, grads) = series(64, 4);
        let module = || One::<B> {
            w: Param::from_tensor(Tensor::from_data(TensorData::new(p.clone(), [64]), &device)),
        };
        let grad_of = |m: &One<B>, g: &[f32]| {
            let target = Tensor::<B, 1>::from_data(TensorData::new(g.to_vec(), [64]), &device);
            let loss = (m.w.val() * target).sum();
            GradientsParams::from_grads(loss.backward(), m)
        };
        // Two steps with burn's Adam, its state saved as a checkpoint saves it,
        // then loaded into FusedAdam for the last two steps.
        let mut burn_adam = AdamConfig::new().with_epsilon(1e-8).init::<B, One<B>>();
        let mut m = module();
        for g in &grads[..2] {
            let gp = grad_of(&m, g);
            m = burn_adam.step(1e-2, m, gp);
        }
        let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
        let bytes = recorder.record(burn_adam.to_record(), ()).unwrap();
        let record = recorder.load(bytes, &device).unwrap();
        let mut fused = ADAM.init::<B, One<B>>().load_record(record);
        for g in &grads[2..] {
            let gp = grad_of(&m, g);
            m = fused.step(1e-2, m, gp);
        }
        let got = m.w.val().into_data().to_vec::<f32>().unwrap();
        let expected = reference(&p, &grads, 1e-2);
        assert!(
            max_relative(&got, &expected) < 1e-5,
            "{}",
            max_relative(&got, &expected)
        );
    }
}
