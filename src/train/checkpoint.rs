//! Model weights and resumable training checkpoints, written atomically.
//!
//! A checkpoint is one safetensors file: every model parameter as an F32 tensor
//! named by its module path (`encoder.convs.0.weight`, readable by PyTorch or
//! candle), the optimizer state as one U8 tensor (burn's record of Adam's moments),
//! and in the metadata the epoch, the step, the RNG states, the parameter ids and
//! the training log so far. Resuming from it continues bit for bit.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use burn::module::{Module, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, Optimizer};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::store::{ModuleSnapshot, TensorSnapshot};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::TensorData;
use rand_pcg::Pcg64;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::atomic::write_atomic;
use crate::loss::LossParams;
use crate::model::Vae;
use crate::pipeline::schema::ModelSpec;

/// File name of the final weights inside a run directory.
pub const MODEL_FILE: &str = "model.safetensors";
/// File name of the last complete epoch's checkpoint inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// Name of the optimizer-state tensor in a checkpoint.
const OPTIMIZER_TENSOR: &str = "__optimizer_state";
/// Name of the loss optimizer's state tensor in a checkpoint.
const LOSS_OPTIMIZER_TENSOR: &str = "__loss_optimizer_state";
/// Name of the training-order tensor in a checkpoint.
const ORDER_TENSOR: &str = "__train_order";
/// Value of the `format` metadata entry.
const FORMAT: &str = "runner-checkpoint-2";

/// Everything besides the weights that training needs to continue exactly.
#[derive(Debug, Clone)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: u32,
    /// Steps completed.
    pub step: u64,
    /// Stream of the reparameterisation noise.
    pub noise_rng: Pcg64,
    /// Stream of the epoch shuffles.
    pub shuffle_rng: Pcg64,
    /// Current order of the training images.
    pub order: Vec<usize>,
    /// train_log.csv so far.
    pub log: String,
    /// Training seconds so far.
    pub wall_s: f64,
    /// Last finite total loss.
    pub last_finite: Option<f64>,
}

/// Prefix of the loss's own parameters (learned sigma, kernel head) in weight files.
const LOSS_PREFIX: &str = "loss.";

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
type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

/// Serialises `tensors` (name, dtype, shape, bytes) and `metadata` as safetensors.
fn serialize(tensors: &[Entry], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
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
fn weight_entries<B: Backend>(
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
fn apply_weights<B: Backend, M: Module<B>>(
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

/// The optimizer of the network.
pub type VaeAdam<B> = OptimizerAdaptor<Adam, Vae<B>, B>;
/// The optimizer of the loss's own parameters.
pub type LossAdam<B> = OptimizerAdaptor<Adam, LossParams<B>, B>;

/// What a checkpoint holds besides [`TrainState`]: both modules and both optimizers.
pub struct Trainables<B: AutodiffBackend> {
    /// The network.
    pub model: Vae<B>,
    /// Its optimizer.
    pub optim: VaeAdam<B>,
    /// The loss's learned parameters.
    pub loss: LossParams<B>,
    /// Their optimizer.
    pub loss_optim: LossAdam<B>,
}

/// Serialises an optimizer's record (keyed by parameter id) to bytes.
fn optimizer_bytes<B: AutodiffBackend, M: burn::module::AutodiffModule<B>>(
    optim: &OptimizerAdaptor<Adam, M, B>,
) -> Result<Vec<u8>> {
    BinBytesRecorder::<FullPrecisionSettings>::default()
        .record(optim.to_record(), ())
        .context("serialising optimizer state")
}

/// Restores an optimizer's record from `bytes`, re-keying each state from the
/// saved parameter id to the fresh module's id through `old_to_new`.
fn restore_optimizer<B: AutodiffBackend, M: burn::module::AutodiffModule<B>>(
    optim: OptimizerAdaptor<Adam, M, B>,
    bytes: &[u8],
    old_to_new: &HashMap<ParamId, ParamId>,
    origin: &Path,
    device: &B::Device,
) -> Result<OptimizerAdaptor<Adam, M, B>> {
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let record: <OptimizerAdaptor<Adam, M, B> as Optimizer<M, B>>::Record = recorder
        .load(bytes.to_vec(), device)
        .context("decoding optimizer state")?;
    let record = record
        .into_iter()
        .map(|(old, state)| {
            let new = old_to_new.get(&old).ok_or_else(|| {
                anyhow!(
                    "{}: optimizer state for an unknown parameter",
                    origin.display()
                )
            })?;
            Ok((*new, state))
        })
        .collect::<Result<_>>()?;
    Ok(optim.load_record(record))
}

/// Writes a checkpoint of the modules and optimizers `t` and `state` to `path`,
/// atomically.
pub fn save_checkpoint<B: AutodiffBackend>(
    t: &Trainables<B>,
    state: &TrainState,
    path: &Path,
) -> Result<()> {
    let (mut tensors, ids) = weight_entries(&t.model, &t.loss)?;
    for (name, bytes) in [
        (OPTIMIZER_TENSOR, optimizer_bytes(&t.optim)?),
        (LOSS_OPTIMIZER_TENSOR, optimizer_bytes(&t.loss_optim)?),
    ] {
        tensors.push((name.to_string(), Dtype::U8, vec![bytes.len()], bytes));
    }
    let order: Vec<u8> = state
        .order
        .iter()
        .flat_map(|&i| (i as u32).to_le_bytes())
        .collect();
    tensors.push((
        ORDER_TENSOR.to_string(),
        Dtype::U32,
        vec![state.order.len()],
        order,
    ));
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("epoch".to_string(), state.epoch.to_string()),
        ("step".to_string(), state.step.to_string()),
        ("wall_s".to_string(), state.wall_s.to_string()),
        ("last_finite".to_string(), json(&state.last_finite)?),
        ("noise_rng".to_string(), json(&state.noise_rng)?),
        ("shuffle_rng".to_string(), json(&state.shuffle_rng)?),
        ("param_ids".to_string(), json(&ids)?),
        ("train_log".to_string(), state.log.clone()),
    ]);
    let bytes = serialize(&tensors, metadata)?;
    write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Reads a checkpoint into fresh modules and optimizers `t` (all from the same
/// config); returns them with the saved state.
pub fn load_checkpoint<B: AutodiffBackend>(
    mut t: Trainables<B>,
    path: &Path,
    device: &B::Device,
) -> Result<(Trainables<B>, TrainState)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow!("{}: not a safetensors file: {e}", path.display()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let get = |key: &str| {
        meta.get(key)
            .ok_or_else(|| anyhow!("{}: checkpoint has no `{key}`", path.display()))
    };
    if get("format")? != FORMAT {
        bail!(
            "{}: unknown checkpoint format {}",
            path.display(),
            get("format")?
        );
    }
    let file = SafeTensors::deserialize(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let mut new_ids = apply_weights(&mut t.model, "", &file, path)?;
    new_ids.extend(apply_weights(&mut t.loss, LOSS_PREFIX, &file, path)?);

    // Optimizer states are keyed by parameter id; the fresh modules have new ids,
    // so re-key them through the module paths.
    let old_ids: HashMap<String, String> = serde_json::from_str(get("param_ids")?)?;
    let old_to_new: HashMap<ParamId, ParamId> = old_ids
        .iter()
        .filter_map(|(path, old)| Some((ParamId::try_deserialize(old)?, *new_ids.get(path)?)))
        .collect();
    let blob = |name: &str| {
        file.tensor(name)
            .map(|view| view.data().to_vec())
            .map_err(|e| anyhow!("{}: {e}", path.display()))
    };
    t.optim = restore_optimizer(t.optim, &blob(OPTIMIZER_TENSOR)?, &old_to_new, path, device)?;
    t.loss_optim = restore_optimizer(
        t.loss_optim,
        &blob(LOSS_OPTIMIZER_TENSOR)?,
        &old_to_new,
        path,
        device,
    )?;

    let order_view = file
        .tensor(ORDER_TENSOR)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let order = order_view
        .data()
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let parse = |key: &str| -> Result<f64> {
        get(key)?
            .parse::<f64>()
            .with_context(|| format!("bad `{key}`"))
    };
    let state = TrainState {
        epoch: parse("epoch")? as u32,
        step: parse("step")? as u64,
        noise_rng: serde_json::from_str(get("noise_rng")?)?,
        shuffle_rng: serde_json::from_str(get("shuffle_rng")?)?,
        order,
        log: get("train_log")?.clone(),
        wall_s: parse("wall_s")?,
        last_finite: serde_json::from_str(get("last_finite")?)?,
    };
    Ok((t, state))
}

/// JSON text of a small metadata value.
fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}
