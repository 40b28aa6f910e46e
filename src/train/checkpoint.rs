//! Saving and loading model weights, written atomically.

use std::path::Path;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::Backend;

use crate::atomic::write_atomic;
use crate::model::Vae;
use crate::pipeline::schema::ModelSpec;

/// File name of the final weights inside a run directory.
pub const MODEL_FILE: &str = "model.bin";

/// Writes the weights of `model` to `path` (temporary sibling, then rename).
pub fn save_model<B: Backend>(model: &Vae<B>, path: &Path) -> Result<()> {
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes: Vec<u8> = recorder
        .record(model.clone().into_record(), ())
        .context("serialising model weights")?;
    write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Reads weights written by [`save_model`] into a fresh network of `spec`.
pub fn load_model<B: Backend>(spec: &ModelSpec, path: &Path, device: &B::Device) -> Result<Vae<B>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let record = recorder
        .load(bytes, device)
        .with_context(|| format!("decoding model weights in {}", path.display()))?;
    Ok(Vae::new(spec, device).load_record(record))
}
