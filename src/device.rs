//! Which device a node runs on: `train.device` resolved on this machine.
//!
//! The CUDA driver is asked (through cudarc, before burn's CUDA backend starts,
//! because the backend panics where these queries return an error) whether a
//! driver loads, how many GPUs answer and what they are called. The answer is
//! asked once per process.

use std::sync::OnceLock;

use crate::pipeline::schema::DeviceChoice;

/// A device that exists on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The flex CPU backend.
    Cpu,
    /// CUDA GPU number N.
    Cuda(usize),
}

impl Device {
    /// `cpu` or `cuda`: what `train.device_in_key` puts into the training key
    /// (two GPUs of a machine compute the same numbers; the CPU does not).
    pub fn kind(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda(_) => "cuda",
        }
    }

    /// The device as recorded in provenance: `cpu`, or `cuda:N (GPU name)`.
    pub fn description(self) -> String {
        match self {
            Device::Cpu => "cpu".to_string(),
            Device::Cuda(n) => match cuda_gpus() {
                Ok(gpus) if n < gpus.len() => format!("cuda:{n} ({})", gpus[n]),
                _ => format!("cuda:{n}"),
            },
        }
    }
}

/// Why a requested device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The binary was built without the `cuda` cargo feature.
    #[error(
        "this runner was built without CUDA support: build it with `cargo build --release \
         --features cuda` (docs/gpu.md), or use train.device: auto or cpu"
    )]
    NotBuilt,
    /// No driver, no GPU, or the driver did not start.
    #[error("no CUDA GPU can be used: {0} (train.device: auto or cpu runs on the CPU)")]
    NoGpu(String),
    /// `cuda:N` with N past the last GPU.
    #[error("cuda:{index} asked for, but this machine has {count} CUDA GPU(s) (cuda:0 to cuda:{last})", last = count - 1)]
    NoSuchGpu {
        /// The GPU asked for.
        index: usize,
        /// How many there are (>= 1).
        count: usize,
    },
}

/// The device `choice` means on this machine. `auto` never fails: without a
/// usable GPU it is the CPU (see [`auto_fallback_reason`]).
pub fn resolve(choice: DeviceChoice) -> Result<Device, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => Ok(match cuda_gpus() {
            Ok(_) => Device::Cuda(0),
            Err(_) => Device::Cpu,
        }),
        DeviceChoice::AnyCuda | DeviceChoice::Cuda(_) => {
            let gpus = cuda_gpus().map_err(Clone::clone)?;
            let index = match choice {
                DeviceChoice::Cuda(n) => n as usize,
                _ => 0,
            };
            if index < gpus.len() {
                Ok(Device::Cuda(index))
            } else {
                Err(DeviceError::NoSuchGpu {
                    index,
                    count: gpus.len(),
                })
            }
        }
    }
}

/// How many CUDA GPUs this machine has (0 without a driver, a GPU or the
/// `cuda` feature).
pub fn gpu_count() -> usize {
    cuda_gpus().map_or(0, <[String]>::len)
}

/// Why `auto` means the CPU on this machine (a clause: "this runner was built
/// without ..."), or `None` when it means a GPU.
pub fn auto_fallback_reason() -> Option<String> {
    cuda_gpus().err().map(|e| match e {
        DeviceError::NotBuilt => {
            "this runner was built without CUDA support (`--features cuda`)".to_string()
        }
        DeviceError::NoGpu(why) => why.clone(),
        other => other.to_string(),
    })
}

/// What `train.device_in_key` records for `choice`: the kind of device it
/// resolves to here (`auto` included), or the choice as written when it cannot
/// be resolved (the run itself then stops with the reason).
pub fn key_kind(choice: DeviceChoice) -> String {
    match resolve(choice) {
        Ok(device) => device.kind().to_string(),
        Err(_) => choice.to_string(),
    }
}

/// The names of this machine's CUDA GPUs, in device order (at least one), or why
/// there are none. Asked once.
fn cuda_gpus() -> Result<&'static [String], &'static DeviceError> {
    static GPUS: OnceLock<Result<Vec<String>, DeviceError>> = OnceLock::new();
    GPUS.get_or_init(probe).as_ref().map(Vec::as_slice)
}

/// Asks the CUDA driver for its GPUs.
#[cfg(feature = "cuda")]
fn probe() -> Result<Vec<String>, DeviceError> {
    use cudarc::driver::result;
    let no_gpu = |why: String| DeviceError::NoGpu(why);
    // SAFETY: these only try to dlopen the libraries; nothing is called yet.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(no_gpu(
            "the NVIDIA driver library (libcuda.so) is not installed or not on the loader path"
                .into(),
        ));
    }
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(no_gpu(
            "NVRTC (libnvrtc.so), which compiles the GPU kernels at run time, is not installed \
             or not on LD_LIBRARY_PATH"
                .into(),
        ));
    }
    result::init().map_err(|e| no_gpu(format!("the CUDA driver did not start ({e})")))?;
    let count = result::device::get_count()
        .map_err(|e| no_gpu(format!("the CUDA driver could not count GPUs ({e})")))?;
    if count < 1 {
        return Err(no_gpu("the CUDA driver reports no GPU".into()));
    }
    Ok((0..count)
        .map(|i| {
            result::device::get(i)
                .and_then(result::device::get_name)
                .unwrap_or_else(|_| "unnamed GPU".to_string())
        })
        .collect())
}

/// This build has no CUDA backend.
#[cfg(not(feature = "cuda"))]
fn probe() -> Result<Vec<String>, DeviceError> {
    Err(DeviceError::NotBuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_there_and_auto_always_resolves() {
        assert_eq!(resolve(DeviceChoice::Cpu), Ok(Device::Cpu));
        let auto = resolve(DeviceChoice::Auto).unwrap();
        // Auto is the CPU exactly when there is a reason to fall back.
        assert_eq!(auto == Device::Cpu, auto_fallback_reason().is_some());
        assert_eq!(key_kind(DeviceChoice::Auto), auto.kind());
        assert_eq!(key_kind(DeviceChoice::Cpu), "cpu");
    }

    /// Without the feature, or without a GPU, asking for one is an error with a
    /// reason; with one, a GPU number past the last is.
    #[test]
    fn cuda_without_a_gpu_is_an_error_not_a_panic() {
        match cuda_gpus() {
            Err(e) => {
                let err = resolve(DeviceChoice::Cuda(0)).unwrap_err();
                assert_eq!(&err, e);
                if cfg!(not(feature = "cuda")) {
                    assert_eq!(err, DeviceError::NotBuilt);
                    assert!(err.to_string().contains("--features cuda"));
                }
                assert_eq!(key_kind(DeviceChoice::Cuda(0)), "cuda:0");
            }
            Ok(gpus) => {
                assert_eq!(resolve(DeviceChoice::Cuda(0)), Ok(Device::Cuda(0)));
                let past = gpus.len() as u32;
                let err = resolve(DeviceChoice::Cuda(past)).unwrap_err();
                assert!(err.to_string().contains(&format!("cuda:{past}")), "{err}");
            }
        }
    }

    #[test]
    fn descriptions_name_the_device() {
        assert_eq!(Device::Cpu.description(), "cpu");
        assert!(Device::Cuda(3).description().starts_with("cuda:3"));
    }
}
