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

/// The whole pipeline file as written by the user (after overrides and sweep
/// values are applied, before resolution).
#[derive(Debug, Clone, Deserialize)]
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
    pub sweep: Option<serde_json::Value>,
}

/// Network family. `auto` picks the IRMAE net that matches the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// Pick from the dataset: shapes, cifar10 -> irmae_shape; mnist ->
    /// irmae_mnist (dalal_mnist at 28x28); celeba -> irmae_celeba; folder -> the
    /// net whose input shape fits.
    Auto,
    /// IRMAE Shape VAE, 32x32, grey or RGB (EXPERIMENTS.md §1.1).
    IrmaeShape,
    /// IRMAE MNIST VAE, 1x32x32 (EXPERIMENTS.md §1.2).
    IrmaeMnist,
    /// IRMAE CelebA VAE, 3x64x64 (EXPERIMENTS.md §1.3).
    IrmaeCeleba,
    /// Dalal's MNIST VAE, 1x28x28, latent 2 (EXPERIMENTS.md §1.5).
    DalalMnist,
}

/// Last-layer up-sampler (Chandrasegaran et al., EXPERIMENTS.md §1.4): the
/// transposed-conv baseline, or an x2 up-sampling (N nearest, B bilinear with
/// align_corners, Z zero insertion) followed by one `k`x`k` "same" convolution
/// (x.1.k) or three 5x5 convolutions without activations between them (x.3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsamplerName {
    /// ConvT(k4, s2, p1): the network as published.
    Convt,
    /// Nearest x2 + Conv 3x3.
    N13,
    /// Nearest x2 + Conv 5x5 (Björk's 'N.1.5').
    N15,
    /// Nearest x2 + Conv 7x7.
    N17,
    /// Bilinear x2 + Conv 3x3.
    B13,
    /// Bilinear x2 + Conv 5x5.
    B15,
    /// Bilinear x2 + Conv 7x7.
    B17,
    /// Zero insertion x2 + Conv 3x3.
    Z13,
    /// Zero insertion x2 + Conv 5x5.
    Z15,
    /// Zero insertion x2 + Conv 7x7.
    Z17,
    /// Nearest x2 + three Conv 5x5.
    N35,
    /// Bilinear x2 + three Conv 5x5.
    B35,
    /// Zero insertion x2 + three Conv 5x5.
    Z35,
}

/// Which decoder layer the up-sampler replaces (EXPERIMENTS.md §1.4). The two
/// differ only for decoders that end in a 1x1 layer (IRMAE MNIST and CelebA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceLayer {
    /// The last stride-2 transposed conv; its ReLU and the output layer stay.
    LastStride2,
    /// The last stride-2 transposed conv and everything after it: the new
    /// convolution maps straight to the image channels.
    Output,
}

/// Weight initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            arch: Arch::Auto,
            latent: None,
            upsampler: UpsamplerName::Convt,
            replace: ReplaceLayer::LastStride2,
            init: InitScheme::Auto,
        }
    }
}

/// Adam's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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

impl<'de> Deserialize<'de> for DeviceChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The `train:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlConvention {
    /// IRMAE: -mean over batch x latent of (1 + logvar - mu^2 - exp(logvar)), no 1/2.
    IrmaeMean,
    /// Standard: -1/2 sum over latent, mean over the batch.
    SumHalf,
}

/// The KL term of the ELBO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Options of the binary cross-entropy term (mean over every element, as IRMAE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BceTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
}

impl Default for BceTerm {
    fn default() -> Self {
        BceTerm { weight: 1.0 }
    }
}

/// How a pixel-space term reduces its element-wise errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelReduction {
    /// Mean over every element (PyTorch's default `reduction='mean'`).
    Mean,
    /// Sum over each image, mean over the batch (a per-image log-likelihood).
    SumPerImage,
}

/// Options of the Gaussian-likelihood (MSE) term: sum or mean of (x - x^)^2 / (2 sigma^2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MseTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Standard deviation (> 0) when `sigma_mode` is `fixed`; the starting value
    /// when it is `learned`. sqrt(1/2) with `mean` makes the term PyTorch's MSELoss.
    pub sigma: f64,
    /// Whether sigma is fixed, set to its per-image optimum, or trained.
    pub sigma_mode: SigmaMode,
    /// Reduction.
    pub reduction: PixelReduction,
}

impl Default for MseTerm {
    fn default() -> Self {
        MseTerm {
            weight: 1.0,
            sigma: std::f64::consts::FRAC_1_SQRT_2,
            sigma_mode: SigmaMode::Fixed,
            reduction: PixelReduction::Mean,
        }
    }
}

/// How the Gaussian likelihood's sigma is chosen (LOSSES.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigmaMode {
    /// `sigma` as written; the term is SSE / (2 sigma^2) (constants dropped).
    Fixed,
    /// Per image sigma^2 = SSE / D, its maximum-likelihood value; the term is the
    /// full negative log-likelihood (D/2) ln(2 pi e SSE / D) (sigma-VAE's "optimal sigma").
    Optimal,
    /// One global log sigma trained with the model (starting at ln `sigma`); the
    /// term is the full negative log-likelihood SSE / (2 sigma^2) + D ln sigma + (D/2) ln 2 pi.
    Learned,
}

/// Options of the L1 (Laplace-likelihood) term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct L1Term {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Reduction.
    pub reduction: PixelReduction,
}

impl Default for L1Term {
    fn default() -> Self {
        L1Term {
            weight: 1.0,
            reduction: PixelReduction::Mean,
        }
    }
}

/// DFT normalisation of the FFT loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FftNorm {
    /// Unnormalised DFT (numpy "backward"): L_f equals the per-image SSE.
    Backward,
    /// Orthonormal DFT (1/sqrt(HW)): L_f equals the per-image pixel MSE.
    Ortho,
}

/// Options of Björk's FFT agreement loss (LOSSES.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FftTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// DFT normalisation.
    pub norm: FftNorm,
}

impl Default for FftTerm {
    fn default() -> Self {
        FftTerm {
            weight: 1.0,
            norm: FftNorm::Backward,
        }
    }
}

/// Which SSIM reference a term follows (LOSSES.md §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsimVariant {
    /// `tf.image.ssim`: VALID window positions only (28x28 -> 18x18 map), as Dalal.
    TfValid,
    /// pytorch-ssim as in Czolbe's code: zero padding by 5, map as large as the image.
    ZeroPadded,
}

/// Options of the SSIM term: 1 - mean SSIM per image (Gaussian window 11, sigma 1.5,
/// C1 = (0.01 L)^2, C2 = (0.03 L)^2), mean over the batch. Dalal's -500 SSIM is
/// `weight: 500` (the constant does not change the gradient).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsimTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Padding variant.
    pub variant: SsimVariant,
    /// Dynamic range L of the pixel values.
    pub dynamic_range: f64,
}

impl Default for SsimTerm {
    fn default() -> Self {
        SsimTerm {
            weight: 1.0,
            variant: SsimVariant::TfValid,
            dynamic_range: 1.0,
        }
    }
}

/// Which slot of the BCE gets which profile in the AI loss (LOSSES.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiBceOrder {
    /// The reconstruction's profile is the prediction, the data's the target.
    Conventional,
    /// Durall's code: the data's profile in the prediction slot, the reconstruction's
    /// as the target (logs clamped at -100 as torch's BCELoss).
    DurallCode,
}

/// Options of the differentiable azimuthal-integration loss (Durall, LOSSES.md §4):
/// grey image, 20 ln(|F| + eps) of the centred spectrum, radial means over Durall's
/// bins, per-image min-max normalisation, BCE between the profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Added to |F| inside the logarithm (> 0); Durall adds 1e-8 to F.
    pub log_epsilon: f64,
    /// Normalised profiles are clipped to [clip, 1 - clip] before the BCE logs.
    pub clip: f64,
    /// BCE argument order.
    pub order: AiBceOrder,
}

impl Default for AiTerm {
    fn default() -> Self {
        AiTerm {
            weight: 1.0,
            log_epsilon: 1e-8,
            clip: 1e-7,
            order: AiBceOrder::Conventional,
        }
    }
}

/// Colour handling of the Watson-DFT loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatsonColor {
    /// Grey tables for 1-channel data, YCbCr tables for 3-channel data.
    Auto,
    /// Grey parameters (1-channel data only).
    Gray,
    /// YCbCr parameters with the pretrained softmax channel weights (3-channel data).
    Rgb,
}

/// Options of Czolbe et al.'s Watson-DFT perceptual loss with the pretrained
/// parameters (LOSSES.md §5): per-image distance, mean over the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatsonDftTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Parameter set.
    pub color: WatsonColor,
    /// Random-shift wrapper (replicate-pad 4, same random crop of both images), on
    /// in Czolbe's VAE training.
    pub shift: bool,
}

impl Default for WatsonDftTerm {
    fn default() -> Self {
        WatsonDftTerm {
            weight: 1.0,
            color: WatsonColor::Auto,
            shift: true,
        }
    }
}

/// Options of the focal frequency loss (Jiang et al., LOSSES.md §6), with the
/// reference implementation's argument names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FflTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Exponent of the spectrum weight matrix (>= 0); 0 makes FFL an MSE.
    pub alpha: f64,
    /// Images are split into patch_factor x patch_factor patches (>= 1).
    pub patch_factor: usize,
    /// Average the spectra over the batch before comparing.
    pub ave_spectrum: bool,
    /// ln(w + 1) of the weight matrix.
    pub log_matrix: bool,
    /// Normalise the weights by their maximum over the whole batch.
    pub batch_matrix: bool,
}

impl Default for FflTerm {
    fn default() -> Self {
        FflTerm {
            weight: 1.0,
            alpha: 1.0,
            patch_factor: 1,
            ave_spectrum: false,
            log_matrix: false,
            batch_matrix: false,
        }
    }
}

/// Whether a phase difference is compared raw or wrapped to [0, pi].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseDifference {
    /// |phi1 - phi0| as the formula is written (jumps by 2 pi at the branch cut).
    Raw,
    /// min(|d|, 2 pi - |d|), the angular distance.
    Wrapped,
}

/// Hann window definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HannWindow {
    /// 0.5 - 0.5 cos(2 pi n / N) (torch default).
    Periodic,
    /// 0.5 - 0.5 cos(2 pi n / (N - 1)) (numpy hanning).
    Symmetric,
}

/// Options of Fuoli et al.'s Fourier-space loss (LOSSES.md §7): Hann-windowed
/// 2-D DFT, L1 of amplitudes and of phases over half the spectrum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FuoliTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Weight of the amplitude L1.
    pub amplitude_weight: f64,
    /// Weight of the phase L1.
    pub phase_weight: f64,
    /// Raw (the paper's formula) or wrapped phase difference.
    pub phase: PhaseDifference,
    /// Hann window definition.
    pub hann: HannWindow,
}

impl Default for FuoliTerm {
    fn default() -> Self {
        FuoliTerm {
            weight: 1.0,
            amplitude_weight: 1.0,
            phase_weight: 1.0,
            phase: PhaseDifference::Raw,
            hann: HannWindow::Periodic,
        }
    }
}

/// Which transform Dalal's STFT loss applies to each window (LOSSES.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StftMode {
    /// The paper: 2-D DFT of each window, frequencies (u, v) < (f/2, f/2).
    Paper2d,
    /// The reference code: a 1-D DFT along each row of the window, first f/2 rows
    /// and first f/2 frequencies.
    CodeRows,
}

/// How Dalal's STFT loss weights frequencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrequencyWeighting {
    /// W[a, b] = a/(f/2 - 1) * b/(f/2 - 1), zero on the first row and column.
    Linear,
    /// All ones.
    None,
}

/// Options of Dalal's short-time Fourier loss: sum over windows and kept
/// frequencies of (phase_weight |dP| + amplitude_weight |dA|) W, per image,
/// mean over the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StftTerm {
    /// Weight in the mix (>= 0); Dalal's lambda_freq.
    pub weight: f64,
    /// Window side f (even, <= image side).
    pub window: usize,
    /// Stride s between windows (>= 1).
    pub stride: usize,
    /// Apply the 2-D Hann taper sqrt(outer(hann, hann)) (symmetric Hann, as the code's
    /// switched-off branch); the paper uses one, the code does not.
    pub hann: bool,
    /// Weight of the amplitude differences.
    pub amplitude_weight: f64,
    /// Weight of the (raw) phase differences; the paper's lambda.
    pub phase_weight: f64,
    /// Frequency weighting W.
    pub frequency_weighting: FrequencyWeighting,
    /// Paper (2-D) or reference-code (row) transform.
    pub mode: StftMode,
    /// Added to the real part before the phase is taken (the code's 1e-6).
    pub phase_epsilon: f64,
}

impl Default for StftTerm {
    fn default() -> Self {
        StftTerm {
            weight: 1.0,
            window: 16,
            stride: 4,
            hann: true,
            amplitude_weight: 1.0,
            phase_weight: 1.0,
            frequency_weighting: FrequencyWeighting::Linear,
            mode: StftMode::Paper2d,
            phase_epsilon: 1e-6,
        }
    }
}

/// Where the Wiener term's blur kernel comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WienerKernel {
    /// A fixed normalised Gaussian of `kernel_size` and `kernel_sigma`.
    Fixed,
    /// Predicted per image from z by a kernel head G(z), trained in alternation
    /// with the VAE (LOSSES.md §9); starts at the fixed Gaussian.
    Learned,
}

/// Options of Bredell et al.'s Wiener-weighted likelihood term (LOSSES.md §9):
/// 1/2 sum g |dX|^2 - 1/2 sum ln g per image and channel (ortho DFT), mean over the batch,
/// with g = |K|^2 / (|K|^2 + C)^2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WienerTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Kernel side (odd, <= image side).
    pub kernel_size: usize,
    /// Standard deviation of the Gaussian kernel (> 0).
    pub kernel_sigma: f64,
    /// Wiener regulariser C (> 0).
    pub c: f64,
    /// Include the -1/2 sum ln g log-determinant (matters for a learned kernel).
    pub log_det: bool,
    /// Floor delta inside ln(|K|^2 + delta) of the log-determinant (> 0).
    pub log_det_floor: f64,
    /// Fixed or learned kernel.
    pub kernel: WienerKernel,
}

impl Default for WienerTerm {
    fn default() -> Self {
        WienerTerm {
            weight: 1.0,
            kernel_size: 15,
            kernel_sigma: 2.0,
            c: 0.01,
            log_det: true,
            log_det_floor: 1e-8,
            kernel: WienerKernel::Fixed,
        }
    }
}

/// One reconstruction term, written as `{bce: {weight: 0.5}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LossTerm {
    /// Binary cross-entropy (spatial).
    Bce(BceTerm),
    /// Gaussian likelihood / MSE (spatial).
    Mse(MseTerm),
    /// L1 / Laplace likelihood (spatial).
    L1(L1Term),
    /// Björk's 2-D FFT agreement (frequency).
    Fft(FftTerm),
    /// 1 - SSIM (spatial).
    Ssim(SsimTerm),
    /// Durall's azimuthal-integration spectrum loss (frequency).
    Ai(AiTerm),
    /// Czolbe's Watson-DFT perceptual loss (frequency).
    WatsonDft(WatsonDftTerm),
    /// Focal frequency loss (frequency).
    Ffl(FflTerm),
    /// Fuoli's amplitude + phase Fourier loss (frequency).
    Fuoli(FuoliTerm),
    /// Dalal's short-time Fourier loss (frequency).
    Stft(StftTerm),
    /// Bredell's Wiener-weighted likelihood (frequency).
    Wiener(WienerTerm),
}

impl LossTerm {
    /// The term's own weight.
    pub fn weight(&self) -> f64 {
        match self {
            LossTerm::Bce(t) => t.weight,
            LossTerm::Mse(t) => t.weight,
            LossTerm::L1(t) => t.weight,
            LossTerm::Fft(t) => t.weight,
            LossTerm::Ssim(t) => t.weight,
            LossTerm::Ai(t) => t.weight,
            LossTerm::WatsonDft(t) => t.weight,
            LossTerm::Ffl(t) => t.weight,
            LossTerm::Fuoli(t) => t.weight,
            LossTerm::Stft(t) => t.weight,
            LossTerm::Wiener(t) => t.weight,
        }
    }

    /// The term's name as written in the file.
    pub fn name(&self) -> &'static str {
        match self {
            LossTerm::Bce(_) => "bce",
            LossTerm::Mse(_) => "mse",
            LossTerm::L1(_) => "l1",
            LossTerm::Fft(_) => "fft",
            LossTerm::Ssim(_) => "ssim",
            LossTerm::Ai(_) => "ai",
            LossTerm::WatsonDft(_) => "watson_dft",
            LossTerm::Ffl(_) => "ffl",
            LossTerm::Fuoli(_) => "fuoli",
            LossTerm::Stft(_) => "stft",
            LossTerm::Wiener(_) => "wiener",
        }
    }

    /// Whether the term compares images in the frequency domain (gets `alpha`).
    pub fn is_frequency(&self) -> bool {
        !matches!(
            self,
            LossTerm::Bce(_) | LossTerm::Mse(_) | LossTerm::L1(_) | LossTerm::Ssim(_)
        )
    }
}

/// The `loss:` section: `sum_i w_i * term_i + beta * KL`, where with `alpha` set the
/// spatial terms are further scaled by (1 - alpha) and the frequency terms by alpha
/// (Björk's Eq. 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// The KL term.
    pub kl: KlConfig,
    /// Björk's mixing weight in [0, 1]; `null` means the weights are used as written.
    pub alpha: Option<f64>,
    /// Reconstruction terms.
    pub terms: Vec<LossTerm>,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            kl: KlConfig::default(),
            alpha: None,
            terms: vec![LossTerm::Bce(BceTerm::default())],
        }
    }
}

impl LossConfig {
    /// The effective multiplier of term `i`, including `alpha` when set.
    pub fn effective_weight(&self, i: usize) -> f64 {
        let term = &self.terms[i];
        match self.alpha {
            None => term.weight(),
            Some(a) if term.is_frequency() => a * term.weight(),
            Some(a) => (1.0 - a) * term.weight(),
        }
    }
}

/// An evaluation metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Per-image pixel RMSE.
    RmseSpatial,
    /// Björk's "spatial RMSE" as the published numbers behave (EXPERIMENTS.md §4.1):
    /// squared error per pixel, mean and std over all pixels of the test batch. Per
    /// image (metrics.csv) it is the image's mean squared error.
    SqErrPixel,
    /// Per-image RMSE between unnormalised DFTs (Re and Im as separate numbers).
    RmseFft2,
    /// Per-image RMSE between 20 ln|F| azimuthal profiles (Durall binning).
    RmseAi,
    /// Per-image PSNR in dB for pixel range 1 (TensorFlow's `tf.image.psnr`).
    Psnr,
    /// Per-image SSIM, TensorFlow's definition (`tf.image.ssim`, valid windows).
    Ssim,
}

impl Metric {
    /// Column name in metrics.csv and summary.csv.
    pub fn column(&self) -> &'static str {
        match self {
            Metric::RmseSpatial => "rmse_spatial",
            Metric::SqErrPixel => "sq_err_pixel",
            Metric::RmseFft2 => "rmse_fft2",
            Metric::RmseAi => "rmse_ai",
            Metric::Psnr => "psnr",
            Metric::Ssim => "ssim",
        }
    }
}

/// Where eval reconstructions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reconstruct {
    /// Decode the posterior mean mu (deterministic).
    Mean,
    /// Decode a sampled z (as IRMAE's generation.py).
    Sample,
}

/// The `eval:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            images: 1000,
            metrics: vec![
                Metric::RmseSpatial,
                Metric::SqErrPixel,
                Metric::RmseFft2,
                Metric::RmseAi,
                Metric::Psnr,
                Metric::Ssim,
            ],
            reconstruct: Reconstruct::Mean,
            seed: 0,
            samples: 64,
        }
    }
}

/// The `report:` section: what the report node writes besides summary.csv and the
/// plots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// A paper-shaped table (table.csv, table.md); none when absent.
    pub table: Option<TableConfig>,
}

/// `report.table`: one row per distinct combination of some swept keys, metrics
/// aggregated over the remaining ones (typically `train.seed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
