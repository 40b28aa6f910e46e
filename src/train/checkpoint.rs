//! Resumable training checkpoints, written atomically.
//!
//! A checkpoint is one safetensors file: the weights as in `model.safetensors`
//! (see [`crate::weights`]), the optimizer state as one U8 tensor (burn's record
//! of Adam's moments), and in the metadata the epoch, the step, the RNG states,
//! the parameter ids, the training log so far and the running log window.
//! Resuming from it continues bit for bit, also from the middle of an epoch.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use burn::module::ParamId;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::Optimizer;

use super::adam::FusedAdam;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use rand_pcg::Pcg64;
use safetensors::{Dtype, SafeTensors};

use crate::atomic::write_atomic;
use crate::loss::LossParams;
use crate::model::Vae;
use crate::weights::{apply_weights, serialize, weight_entries, LOSS_PREFIX};

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
    /// Running sums of the log row being accumulated (total, each term, KL)
    /// and how many steps they hold: a checkpoint taken between two log rows
    /// (mid-epoch, on a stop request) continues the same row.
    pub window: Vec<f64>,
    /// Steps summed in `window`.
    pub window_steps: u64,
}

/// The optimizer of the network.
pub type VaeAdam<B> = OptimizerAdaptor<FusedAdam, Vae<B>, B>;
/// The optimizer of the loss's own parameters.
pub type LossAdam<B> = OptimizerAdaptor<FusedAdam, LossParams<B>, B>;

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
    optim: &OptimizerAdaptor<FusedAdam, M, B>,
) -> Result<Vec<u8>> {
    BinBytesRecorder::<FullPrecisionSettings>::default()
        .record(optim.to_record(), ())
        .context("serialising optimizer state")
}

/// Restores an optimizer's record from `bytes`, re-keying each state from the
/// saved parameter id to the fresh module's id through `old_to_new`.
fn restore_optimizer<B: AutodiffBackend, M: burn::module::AutodiffModule<B>>(
    optim: OptimizerAdaptor<FusedAdam, M, B>,
    bytes: &[u8],
    old_to_new: &HashMap<ParamId, ParamId>,
    origin: &Path,
    device: &B::Device,
) -> Result<OptimizerAdaptor<FusedAdam, M, B>> {
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let record: <OptimizerAdaptor<FusedAdam, M, B> as Optimizer<M, B>>::Record = recorder
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
        (
            "log_window".to_string(),
            // As bit patterns: exact, whatever the JSON float parser does.
            json(&(
                state
                    .window
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<u64>>(),
                state.window_steps,
            ))?,
        ),
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
    // Checkpoints written only at epoch ends (by earlier runners) have no
    // window: a log row always closes an epoch, so it is empty there.
    let (window, window_steps): (Vec<u64>, u64) = match meta.get("log_window") {
        Some(text) => serde_json::from_str(text).context("bad `log_window`")?,
        None => (Vec::new(), 0),
    };
    let window = window.into_iter().map(f64::from_bits).collect();
    let state = TrainState {
        epoch: parse("epoch")? as u32,
        step: parse("step")? as u64,
        noise_rng: serde_json::from_str(get("noise_rng")?)?,
        shuffle_rng: serde_json::from_str(get("shuffle_rng")?)?,
        order,
        log: get("train_log")?.clone(),
        wall_s: parse("wall_s")?,
        last_finite: serde_json::from_str(get("last_finite")?)?,
        window,
        window_steps,
    };
    Ok((t, state))
}

/// JSON text of a small metadata value.
fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}
