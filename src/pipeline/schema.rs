//! The typed pipeline file: every section as a plain struct with defaults.
//!
//! A pipeline file is read into these structs (unknown keys rejected), then
//! [`Pipeline::resolve`] turns it into a [`ResolvedPipeline`]: defaults that depend on
//! other keys are filled in, the options of the chosen dataset are typed, and
//! value ranges are checked. The resolved form is what gets hashed and written
//! next to results. Each dataset's options and resolved spec live with its reader
//! in `crate::data`.

use serde::{Deserialize, Serialize};

pub use super::dataset::DatasetConfig;
pub use crate::data::registry::DatasetSpec;
use crate::loss::term::Domain;
use crate::loss::LossTerm;

/// The whole pipeline file as written by the user (after overrides and sweep
/// values are applied, before resolution).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Name used for `results/<name>/`; defaults to the file stem.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text shown by `runner config`.
    #[serde(default)]
    pub description: Option<String>,
    /// What data to train and evaluate on.
    pub dataset: DatasetConfig,
    /// Network and up-sampler.
    #[serde(default)]
    pub model: ModelConfig,
    /// Optimiser, schedule and seeds.
    #[serde(default)]
    pub train: TrainConfig,
    /// The reconstruction loss mix and the KL term.
    #[serde(default)]
    pub loss: LossConfig,
    /// Which metrics to compute on which test images.
    #[serde(default)]
    pub eval: EvalConfig,
    /// Extra pipeline-level outputs (the paper-shaped table). Not part of any
    /// dataset, train or eval key.
    #[serde(default)]
    pub report: ReportConfig,
    /// Sweep grid: key path -> values. Expanded before typing; kept here only so
    /// that the key is accepted by `deny_unknown_fields`.
    #[serde(default)]
    #[schemars(schema_with = "super::json_schema::sweep")]
    pub sweep: Option<serde_json::Value>,
}

/// Network family. `auto` picks the IRMAE net that matches the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// Pick from the dataset: shapes, cifar10 -> irmae_shape; mnist ->
    /// irmae_mnist (dalal_mnist at 28x28); celeba -> irmae_celeba; folder -> the
    /// net whose input shape fits.
    Auto,
    /// IRMAE Shape VAE, 32x32, grey or RGB (docs/methods.md#irmae-shape).
    IrmaeShape,
    /// IRMAE MNIST VAE, 1x32x32 (docs/methods.md#irmae-mnist).
    IrmaeMnist,
    /// IRMAE CelebA VAE, 3x64x64 (docs/methods.md#irmae-celeba).
    IrmaeCeleba,
    /// Dalal's MNIST VAE, 1x28x28, latent 2 (docs/methods.md#dalal-mnist).
    DalalMnist,
}

/// Last-layer up-sampler, by name (`convt`, `n15`, ...). The up-samplers are
/// listed in `crate::model::upsampler::UPSAMPLERS`.
pub use crate::model::upsampler::UpsamplerName;

/// Which decoder layer the up-sampler replaces (docs/methods.md#up-samplers). The two
/// differ only for decoders that end in a 1x1 layer (IRMAE MNIST and CelebA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceLayer {
    /// The last stride-2 transposed conv; its ReLU and the output layer stay.
    LastStride2,
    /// The last stride-2 transposed conv and everything after it: the new
    /// convolution maps straight to the image channels.
    Output,
}

/// Where a stride-2 k3 'same' transposed conv puts its 2n outputs within the
/// full 2n + 1 (docs/methods.md#convt-alignment). Only Dalal's net has such layers.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ConvtAlignment {
    /// PyTorch's ConvT(k3, s2, padding 1, output padding 1): positions 1..=2n.
    #[default]
    Pytorch,
    /// Keras/TensorFlow `conv2d_transpose(padding='same')`: ConvT(k3, s2, padding
    /// 0), then the first 2n rows and columns (positions 0..2n).
    Keras,
}

impl ConvtAlignment {
    /// Whether this is the default (then it is left out of keys).
    pub fn is_default(&self) -> bool {
        *self == ConvtAlignment::default()
    }
}

/// Weight initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InitScheme {
    /// The reference code's framework: PyTorch for IRMAE nets, Keras for Dalal's.
    Auto,
    /// PyTorch defaults: Kaiming-uniform (a = sqrt 5) weights, biases uniform in
    /// +-1/sqrt(fan_in).
    Pytorch,
    /// Keras defaults: Glorot-uniform kernels, zero biases.
    Keras,
}

/// The `model:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Network family.
    pub arch: Arch,
    /// Latent size n (default: 128 for IRMAE nets, 2 for Dalal's).
    pub latent: Option<u32>,
    /// Up-sampler replacing the last stride-2 transposed conv.
    pub upsampler: UpsamplerName,
    /// Which layer the up-sampler replaces.
    pub replace: ReplaceLayer,
    /// Weight initialisation.
    pub init: InitScheme,
    /// Alignment of the stride-2 k3 'same' transposed convs (Dalal's net only).
    #[serde(skip_serializing_if = "ConvtAlignment::is_default")]
    #[schemars(extend("default" = "pytorch"))]
    pub convt_alignment: ConvtAlignment,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            arch: Arch::Auto,
            latent: None,
            upsampler: UpsamplerName::CONVT,
            replace: ReplaceLayer::LastStride2,
            init: InitScheme::Auto,
            convt_alignment: ConvtAlignment::Pytorch,
        }
    }
}

/// Adam's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AdamConfig {
    /// Learning rate (> 0).
    pub lr: f64,
    /// (beta1, beta2), each in [0, 1).
    pub betas: [f64; 2],
    /// Denominator epsilon (> 0).
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1.0e-4,
            betas: [0.9, 0.999],
            eps: 1.0e-8,
        }
    }
}

/// The optimiser, written as `{adam: {lr: ...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Adam (Kingma & Ba).
    Adam(AdamConfig),
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Adam(AdamConfig::default())
    }
}

/// Triangular cyclic learning rate whose peak halves every cycle (Smith 2017;
/// tensorflow-addons `CyclicalLearningRate` with scale 1/2^(cycle-1), as Dalal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Triangular2 {
    /// Lowest learning rate (> 0).
    pub min_lr: f64,
    /// Peak of the first cycle (>= min_lr).
    pub max_lr: f64,
    /// Steps from the bottom to the top of a cycle (>= 1); a cycle is 2 x step_size.
    pub step_size: u32,
}

/// The learning-rate schedule: `constant` (the optimiser's lr) or
/// `{triangular2: {min_lr, max_lr, step_size}}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// The optimiser's `lr` at every step.
    #[default]
    Constant,
    /// Dalal's cyclic schedule.
    Triangular2(Triangular2),
}

/// Where training (and the eval node's forward pass) runs: `auto`, `cpu`, `cuda`
/// (the first GPU) or `cuda:N`. Written and read as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA when this build has it and a GPU answers, else the CPU.
    #[default]
    Auto,
    /// The flex CPU backend.
    Cpu,
    /// Any one CUDA GPU (`cuda`): the one the executor hands to the node
    /// (`cuda:0` when nothing hands out GPUs).
    AnyCuda,
    /// CUDA GPU number N (`cuda:N`).
    Cuda(u32),
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::AnyCuda => f.write_str("cuda"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::AnyCuda),
            _ => text
                .strip_prefix("cuda:")
                .and_then(|n| n.parse::<u32>().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| {
                    format!(
                        "unknown device `{text}`, expected `auto`, `cpu`, `cuda` or `cuda:N` (N = 0, 1, ...)"
                    )
                }),
        }
    }
}

impl Serialize for DeviceChoice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl schemars::JsonSchema for DeviceChoice {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DeviceChoice".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`auto` (CUDA when this build has it and a GPU answers, else the CPU), `cpu`, `cuda` (any one GPU) or `cuda:N` (GPU number N).",
            "type": "string",
            "pattern": "^(auto|cpu|cuda|cuda:[0-9]+)$",
        })
    }
}

impl<'de> Deserialize<'de> for DeviceChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The `train:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Passes over the training set (>= 1).
    pub epochs: u32,
    /// Mini-batch size (>= 1).
    pub batch: u32,
    /// Optimiser and its options.
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// Seed of weight init, reparameterisation noise and shuffling.
    pub seed: u64,
    /// Shuffle the training set each epoch (IRMAE does not).
    pub shuffle: bool,
    /// Device; not part of the cache key unless `device_in_key`.
    pub device: DeviceChoice,
    /// Put the device's kind (`cpu` or `cuda`) into the training key, so that CPU
    /// and GPU runs of one config are cached apart (off: they share results).
    pub device_in_key: bool,
    /// CPU threads of one training node (>= 1). Not part of any key: results are
    /// bit-identical for any thread count. Unset: this machine's cores (or the
    /// Slurm job's) divided among the nodes running at once (`-j`).
    pub threads: Option<u32>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 100,
            batch: 32,
            optimizer: OptimizerConfig::default(),
            lr_schedule: LrSchedule::Constant,
            seed: 0,
            shuffle: false,
            device: DeviceChoice::Auto,
            device_in_key: false,
            threads: None,
        }
    }
}

/// How the KL term is reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KlConvention {
    /// IRMAE: -mean over batch x latent of (1 + logvar - mu^2 - exp(logvar)), no 1/2.
    IrmaeMean,
    /// Standard: -1/2 sum over latent, mean over the batch.
    SumHalf,
}

/// The KL term of the ELBO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KlConfig {
    /// Weight beta (>= 0).
    pub beta: f64,
    /// Reduction convention.
    pub convention: KlConvention,
}

impl Default for KlConfig {
    fn default() -> Self {
        KlConfig {
            beta: 0.1,
            convention: KlConvention::IrmaeMean,
        }
    }
}

/// What the reconstruction terms that compare images receive
/// (docs/methods.md#loss-input).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LossInput {
    /// sigmoid(decoder output): pixel values in [0, 1].
    #[default]
    Sigmoid,
    /// The decoder's raw output, as Dalal's code (`bce` still applies its own
    /// sigmoid). The eval's reconstructions and samples follow.
    Logits,
}

impl LossInput {
    /// Whether this is the default (then it is left out of keys).
    pub fn is_default(&self) -> bool {
        *self == LossInput::default()
    }
}

/// The `loss:` section: `sum_i w_i * term_i + beta * KL`, where with `alpha` set the
/// spatial terms are further scaled by (1 - alpha) and the frequency terms by alpha
/// (Björk's Eq. 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// The KL term.
    pub kl: KlConfig,
    /// Björk's mixing weight in [0, 1]; `null` means the weights are used as written.
    pub alpha: Option<f64>,
    /// Reconstruction terms.
    pub terms: Vec<LossTerm>,
    /// What the image-comparing terms (and the eval) read: sigmoid of the decoder
    /// output, or the raw output. Left out of the keys when it is the default.
    #[serde(skip_serializing_if = "LossInput::is_default")]
    #[schemars(extend("default" = "sigmoid"))]
    pub input: LossInput,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            kl: KlConfig::default(),
            alpha: None,
            terms: vec![LossTerm::Bce(Default::default())],
            input: LossInput::Sigmoid,
        }
    }
}

impl LossConfig {
    /// The effective multiplier of term `i`, including `alpha` when set.
    pub fn effective_weight(&self, i: usize) -> f64 {
        let term = &self.terms[i];
        match self.alpha {
            None => term.weight(),
            Some(a) if term.domain() == Domain::Frequency => a * term.weight(),
            Some(a) => (1.0 - a) * term.weight(),
        }
    }
}

/// An evaluation metric, by name (`rmse_spatial`, ...). The metrics are defined
/// in `crate::eval::metric`, one file each.
pub use crate::eval::metric::Metric;

/// Where eval reconstructions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reconstruct {
    /// Decode the posterior mean mu (deterministic).
    Mean,
    /// Decode a sampled z (as IRMAE's generation.py).
    Sample,
}

/// The `eval:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// How many test images (the first N) form the fixed test batch.
    pub images: u32,
    /// Metrics to compute.
    pub metrics: Vec<Metric>,
    /// Reconstruct from mu or from a sample.
    pub reconstruct: Reconstruct,
    /// Seed of the sampled z when `reconstruct: sample`, and of the prior samples.
    pub seed: u64,
    /// Prior samples decoded for the samples grid (0: none).
    pub samples: u32,
    /// Log scale of the azimuthal profiles behind `rmse_ai` and spectrum.csv
    /// (written only when not `ln`, so earlier evals keep their keys).
    #[serde(skip_serializing_if = "AiScale::is_ln")]
    pub ai_scale: AiScale,
}

/// `eval.ai_scale`: the logarithm of the azimuthal profile (20·log|F|) that
/// `rmse_ai`, spectrum.csv and the spectrum plot use. Björk writes neither the
/// base nor the unit (docs/methods.md#azimuthal-profile).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AiScale {
    /// 20·ln|F|, as Durall's code (`20*np.log`).
    #[default]
    Ln,
    /// 20·log10|F|, decibels: the `ln` values divided by ln 10.
    Db,
}

impl AiScale {
    /// Whether this is the default, `ln`.
    pub fn is_ln(&self) -> bool {
        *self == AiScale::Ln
    }

    /// What a 20·ln|F| value is multiplied by to be on this scale.
    pub fn from_ln(self) -> f64 {
        match self {
            AiScale::Ln => 1.0,
            AiScale::Db => 1.0 / std::f64::consts::LN_10,
        }
    }

    /// The quantity on this scale, for axis labels.
    pub fn quantity(self) -> &'static str {
        match self {
            AiScale::Ln => "20·ln|F|",
            AiScale::Db => "20·log10|F| (dB)",
        }
    }
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            images: 1000,
            metrics: Metric::defaults(),
            reconstruct: Reconstruct::Mean,
            seed: 0,
            samples: 64,
            ai_scale: AiScale::Ln,
        }
    }
}

/// The `report:` section: what the report node writes besides summary.csv and the
/// plots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// A paper-shaped table (table.csv, table.md); none when absent.
    pub table: Option<TableConfig>,
}

/// `report.table`: one row per distinct combination of some swept keys, metrics
/// aggregated over the remaining ones (typically `train.seed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Swept keys whose values form the row label, in column order.
    pub rows: Vec<String>,
    /// Metric columns; `None` means every metric of `eval.metrics`.
    #[serde(default)]
    pub metrics: Option<Vec<Metric>>,
    /// Display names of row values, keyed by the value as summary.csv shows it
    /// (e.g. `bce+fft`).
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// What each row's ± runs over (written only when not `auto`, so tables
    /// declared before the option keep their report key).
    #[serde(default, skip_serializing_if = "StdOver::is_auto")]
    pub std_over: StdOver,
}

/// `report.table.std_over`: what the ± of a table row runs over. The papers
/// give the spread over the images of one test batch and do not say more
/// (docs/methods.md#paper-tables).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StdOver {
    /// `cells` for a row with several finished cells, `images` for a row with one.
    #[default]
    Auto,
    /// The test images of every finished cell of the row, pooled (the papers'
    /// reading): mean of the cells' means, population std over all their images.
    Images,
    /// The finished cells of the row (usually the seeds): mean and population std
    /// of the cells' means; std 0 for a row with one cell.
    Cells,
}

impl StdOver {
    /// Whether this is the default, `auto`.
    pub fn is_auto(&self) -> bool {
        *self == StdOver::Auto
    }
}

/// The model after resolution (`auto` replaced by a concrete arch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Concrete network.
    pub arch: Arch,
    /// Latent size.
    pub latent: u32,
    /// Up-sampler.
    pub upsampler: UpsamplerName,
    /// Which layer it replaces.
    pub replace: ReplaceLayer,
    /// Initialisation (never `auto` here).
    pub init: InitScheme,
    /// Alignment of the stride-2 k3 transposed convs; left out of the JSON (and
    /// so of the keys) when it is the default.
    #[serde(default, skip_serializing_if = "ConvtAlignment::is_default")]
    pub convt_alignment: ConvtAlignment,
    /// Image channels the decoder produces.
    pub channels: u32,
    /// Image side.
    pub size: u32,
}

/// A pipeline cell with every default filled in and every value checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedPipeline {
    /// Pipeline name (results folder).
    pub name: String,
    /// Dataset.
    pub dataset: DatasetSpec,
    /// Model.
    pub model: ModelSpec,
    /// Training.
    pub train: TrainConfig,
    /// Loss.
    pub loss: LossConfig,
    /// Evaluation.
    pub eval: EvalConfig,
}

/// A problem with one value of a pipeline, found after typing (a range check or a
/// rule between keys). `path` is the dotted key path, e.g. `loss.terms.1.fft.weight`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    /// Dotted key path of the offending value.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl ConfigIssue {
    /// An issue at dotted `path`.
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue {
            path: path.into(),
            message: message.into(),
        }
    }
}
