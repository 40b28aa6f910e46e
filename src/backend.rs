//! The tensor backends and what training and evaluation share on them: the
//! backend types, the one dispatch from a [`Device`] to a backend ([`dispatch`]),
//! a thread pool per node (results do not depend on its size), batches copied
//! from an [`ImageSet`], and seeded Gaussian noise.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_pcg::Pcg64;

use crate::data::ImageSet;
use crate::device::Device;

/// The CPU backend (burn's pure-Rust flex backend).
pub type CpuBackend = burn::backend::Flex;
/// The CPU backend with autodiff, used for training.
pub type TrainBackend = burn::backend::Autodiff<CpuBackend>;
/// The CUDA backend (burn-cuda with kernel fusion; kernels JIT-compiled by NVRTC).
#[cfg(feature = "cuda")]
pub type CudaBackend = burn::backend::Cuda;
/// The CUDA backend with autodiff, used for training on a GPU.
#[cfg(feature = "cuda")]
pub type CudaTrainBackend = burn::backend::Autodiff<CudaBackend>;

/// Runs `f` on a rayon pool of its own with `threads` threads.
///
/// The CPU backend (burn-flex as patched in `vendor/burn-flex`) splits its work
/// between threads by fixed partitions, never by timing, so results are
/// bit-identical for any `threads`; a pool per node keeps nodes that run side
/// by side (`-j`) from taking each other's threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| anyhow::anyhow!("starting {threads} worker threads: {e}"))?;
    Ok(pool.install(f))
}

/// Work that runs generic over the backend, handed to [`dispatch`]: training, or
/// the eval forward pass.
pub trait BackendJob: Send {
    /// What the job returns.
    type Output: Send;
    /// The job's error. Problems of the device itself (a CUDA device in a build
    /// without CUDA, a thread pool that does not start) are turned into it.
    type Error: From<anyhow::Error> + Send;

    /// Runs the job on autodiff backend `B` on `device`. Work without gradients
    /// uses `B::InnerBackend`, which runs on the same device type.
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Result<Self::Output, Self::Error>;
}

/// Runs `job` on `device`: on the CPU backend in a pool of `threads` threads (see
/// [`on_threads`]), or on CUDA GPU N. The one place that maps a [`Device`] to a
/// backend type, so training and evaluation cannot disagree on it.
pub fn dispatch<J: BackendJob>(
    device: Device,
    threads: usize,
    job: J,
) -> Result<J::Output, J::Error> {
    match device {
        Device::Cpu => on_threads(threads, || job.run::<TrainBackend>(&Default::default()))?,
        #[cfg(feature = "cuda")]
        Device::Cuda(n) => job.run::<CudaTrainBackend>(&burn::backend::cuda::CudaDevice::new(n)),
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) => Err(anyhow::Error::new(crate::device::DeviceError::NotBuilt).into()),
    }
}

/// Copies images `indices` of `set` into a `[B, C, H, W]` tensor.
pub fn batch_tensor<B: Backend>(
    set: &ImageSet,
    indices: &[usize],
    device: &B::Device,
) -> Tensor<B, 4> {
    let len = set.image_len();
    let mut pixels = Vec::with_capacity(indices.len() * len);
    for &i in indices {
        pixels.extend_from_slice(set.image(i));
    }
    let shape = [indices.len(), set.channels, set.height, set.width];
    Tensor::from_data(TensorData::new(pixels, shape), device)
}

/// `rows` x `cols` standard normal numbers (Box-Muller) from `rng`.
pub fn normal_noise<B: Backend>(
    rng: &mut Pcg64,
    rows: usize,
    cols: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    let mut values = Vec::with_capacity(rows * cols);
    while values.len() < rows * cols {
        let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        values.push((r * t.cos()) as f32);
        values.push((r * t.sin()) as f32);
    }
    values.truncate(rows * cols);
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}
