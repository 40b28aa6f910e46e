//! Training: the loop, the backends and devices, and the saved model.

pub mod checkpoint;
pub mod device;
pub mod run;
pub mod schedule;

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

pub use device::{Device, DeviceError};
pub use run::{train, TrainError};
