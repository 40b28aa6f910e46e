//! `model.safetensors`: the trained network's weights and the loss's learned
//! parameters (under `loss.`), one F32 tensor per parameter named by its module
//! path (`encoder.convs.0.weight`), readable by PyTorch or candle. Written by the
//! train node, read by the eval node; training checkpoints build on the same
//! helpers.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use burn::module::{Module, ParamId};
use burn::store::{ModuleSnapshot, TensorSnapshot};
use burn::tensor::backend::Backend;
use burn::tensor::TensorData;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::atomic::write_atomic;
use crate::loss::LossParams;
use crate::model::Vae;
use crate::pipeline::schema::ModelSpec;

/// File name of the final weights inside a run directory.
pub const MODEL_FILE: &str = "model.safetensors";

/// Prefix of the loss's own parameters (learned sigma, kernel head) in weight files.
pub(crate) const LOSS_PREFIX: &str = "loss.";

/// Parameter tensors of `module`: (`prefix` + path, id, data).
fn parameters<B: Backend, M: Module<B>>(
    module: &M,
    prefix: &str,
) -> Result<Vec<(String, ParamId, TensorData)>> {
    module
        .collect(None, None, false)
        .into_iter()
        .map(|s| {
            let id = s
                .tensor_id
                .ok_or_else(|| anyhow!("parameter {} has no id", s.full_path()))?;
            let data = s
                .to_data()
                .map_err(|e| anyhow!("reading {}: {e:?}", s.full_path()))?;
            Ok((
                format!("{prefix}{}", s.full_path()),
                id,
                data.convert::<f32>(),
            ))
        })
        .collect()
}

/// One safetensors entry: name, dtype, shape, little-endian bytes.
pub(crate) type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

/// Serialises `tensors` (name, dtype, shape, bytes) and `metadata` as safetensors.
pub(crate) fn serialize(tensors: &[Entry], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| anyhow!("tensor {name}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| anyhow!("serialising safetensors: {e}"))
}

/// The parameters of the model and of the loss as safetensors entries, with the
/// id of each path.
pub(crate) fn weight_entries<B: Backend>(
    model: &Vae<B>,
    loss: &LossParams<B>,
) -> Result<(Vec<Entry>, HashMap<String, String>)> {
    let mut tensors = Vec::new();
    let mut ids = HashMap::new();
    let all = parameters(model, "")?
        .into_iter()
        .chain(parameters(loss, LOSS_PREFIX)?);
    for (path, id, data) in all {
        let shape = data.shape.to_vec();
        let bytes = data.as_bytes().to_vec();
        ids.insert(path.clone(), id.serialize());
        tensors.push((path, Dtype::F32, shape, bytes));
    }
    Ok((tensors, ids))
}

/// Writes the weights of `model` and the loss's learned parameters (under
/// `loss.`) to `path` as safetensors (temporary sibling, then rename).
pub fn save_model<B: Backend>(model: &Vae<B>, loss: &LossParams<B>, path: &Path) -> Result<()> {
    let (tensors, _) = weight_entries(model, loss)?;
    let metadata = HashMap::from([("format".to_string(), "runner-model-1".to_string())]);
    let bytes = serialize(&tensors, metadata)?;
    write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Sets every parameter of `module` to `fetch(path, shape)` (path = `prefix` +
/// module path); returns the module's id of each path.
fn apply_parameters<B: Backend, M: Module<B>>(
    module: &mut M,
    prefix: &str,
    mut fetch: impl FnMut(&str, &[usize]) -> Result<TensorData>,
) -> Result<HashMap<String, ParamId>> {
    let fresh = module.collect(None, None, false);
    let mut snapshots = Vec::with_capacity(fresh.len());
    let mut new_ids = HashMap::new();
    for s in fresh {
        let path = format!("{prefix}{}", s.full_path());
        let data = fetch(&path, &s.shape.to_vec())?;
        let id = s.tensor_id.unwrap_or_default();
        new_ids.insert(path, id);
        snapshots.push(TensorSnapshot::from_data(
            data,
            s.path_stack.unwrap_or_default(),
            s.container_stack.unwrap_or_default(),
            id,
        ));
    }
    let result = module.apply(snapshots, None, None, false);
    if !result.errors.is_empty() {
        bail!("could not set the parameters: {:?}", result.errors);
    }
    Ok(new_ids)
}

/// Loads the parameters stored in `file` (safetensors bytes) under `prefix` into
/// `module`, matching by module path; returns the module's id of each stored path.
pub(crate) fn apply_weights<B: Backend, M: Module<B>>(
    module: &mut M,
    prefix: &str,
    file: &SafeTensors,
    origin: &Path,
) -> Result<HashMap<String, ParamId>> {
    apply_parameters(module, prefix, |path, shape| {
        let view = file
            .tensor(path)
            .map_err(|_| anyhow!("it has no tensor {path}"))?;
        if view.shape() != shape || view.dtype() != Dtype::F32 {
            bail!(
                "tensor {path} has shape {:?}, the model needs {shape:?}",
                view.shape(),
            );
        }
        Ok(TensorData::from_bytes_vec(
            view.data().to_vec(),
            view.shape().to_vec(),
            burn::tensor::DType::F32,
        ))
    })
    .with_context(|| format!("loading weights from {}", origin.display()))
}

/// `target` with every parameter set to the value of the same path in `source`:
/// the same network moved to another backend or device (values exactly).
pub fn copy_parameters<A: Backend, B: Backend, S: Module<A>, T: Module<B>>(
    source: &S,
    mut target: T,
) -> Result<T> {
    let mut values: HashMap<String, TensorData> = parameters(source, "")?
        .into_iter()
        .map(|(path, _, data)| (path, data))
        .collect();
    apply_parameters(&mut target, "", |path, shape| {
        let data = values
            .remove(path)
            .ok_or_else(|| anyhow!("the source network has no parameter {path}"))?;
        if data.shape.to_vec() != shape {
            bail!("parameter {path}: shape {:?} vs {shape:?}", data.shape);
        }
        Ok(data)
    })?;
    Ok(target)
}

/// Reads weights written by [`save_model`] into a fresh network of `spec`.
pub fn load_model<B: Backend>(spec: &ModelSpec, path: &Path, device: &B::Device) -> Result<Vae<B>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow!("{}: not a safetensors file: {e}", path.display()))?;
    let mut model = Vae::new(spec, device);
    apply_weights(&mut model, "", &file, path)?;
    Ok(model)
}
