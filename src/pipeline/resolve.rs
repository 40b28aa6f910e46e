//! Resolution: a typed [`Pipeline`] becomes a [`ResolvedPipeline`] with every
//! default filled in and every value range and cross-key rule checked.

use super::check::{non_negative, positive};
use super::schema::{
    Arch, ConfigIssue, ConvtAlignment, DatasetSpec, EvalConfig, InitScheme, LossConfig, LrSchedule,
    Metric, ModelConfig, ModelSpec, OptimizerConfig, Pipeline, ResolvedPipeline, TableConfig,
    TrainConfig,
};
use crate::loss::term::ImageShape;

/// Image side the IRMAE networks are built for.
const NET_SIZE: u32 = 32;

impl Pipeline {
    /// Fills in defaults and checks every value. `default_name` (the file stem)
    /// is the name when the file gives none. Returns the first problem found.
    pub fn resolve(&self, default_name: &str) -> Result<ResolvedPipeline, ConfigIssue> {
        let name = resolve_name(self.name.as_deref(), default_name)?;
        let dataset = self.dataset.resolve()?;
        let model = resolve_model(&self.model, &dataset, self.dataset.is_written("size"))?;
        check_train(&self.train)?;
        check_loss(&self.loss, &dataset)?;
        check_eval(&self.eval, &dataset)?;
        Ok(ResolvedPipeline {
            name,
            dataset,
            model,
            train: self.train.clone(),
            loss: self.loss.clone(),
            eval: self.eval.clone(),
        })
    }
}

/// The pipeline name: as written, else the file stem; safe as a folder name.
fn resolve_name(written: Option<&str>, default_name: &str) -> Result<String, ConfigIssue> {
    let (name, source) = match written {
        Some(name) => (name, ""),
        None => (
            default_name,
            " (taken from the file name; set `name:` to choose another)",
        ),
    };
    if name.is_empty() {
        return Err(ConfigIssue::new(
            "name",
            format!("the pipeline name must not be empty{source}"),
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if let Some(bad) = name.chars().find(|&c| !allowed(c)) {
        return Err(ConfigIssue::new(
            "name",
            format!("the pipeline name `{name}` contains {bad:?}; use only A-Z, a-z, 0-9, `_`, `.` and `-`{source}"),
        ));
    }
    if name == "." || name == ".." {
        return Err(ConfigIssue::new(
            "name",
            format!("the pipeline name cannot be `{name}`{source}"),
        ));
    }
    Ok(name.to_string())
}

/// The model with `auto` replaced and the image shape taken from the dataset.
/// `size_written` says whether `dataset.size` is in the file, to blame the key
/// the user actually wrote when the shape does not fit.
fn resolve_model(
    m: &ModelConfig,
    dataset: &DatasetSpec,
    size_written: bool,
) -> Result<ModelSpec, ConfigIssue> {
    let channels = dataset.channels();
    let size = dataset.size();
    let arch = match m.arch {
        Arch::Auto => dataset.default_arch().map_err(|message| {
            ConfigIssue::new(
                if size_written {
                    "dataset.size"
                } else {
                    "model.arch"
                },
                message,
            )
        })?,
        arch => arch,
    };
    let (arch_name, fits, needs, net_size) = match arch {
        Arch::IrmaeMnist => (
            "irmae_mnist",
            channels == 1 && size == NET_SIZE,
            "1x32x32",
            NET_SIZE,
        ),
        Arch::IrmaeCeleba => ("irmae_celeba", channels == 3 && size == 64, "3x64x64", 64),
        Arch::DalalMnist => ("dalal_mnist", channels == 1 && size == 28, "1x28x28", 28),
        _ => ("irmae_shape", size == NET_SIZE, "32x32", NET_SIZE),
    };
    if !fits {
        let message = format!("model {arch_name} needs {needs} images, but the dataset gives {channels}x{size}x{size}");
        let path = if m.arch == Arch::Auto && size_written && size != net_size {
            "dataset.size"
        } else {
            "model.arch"
        };
        return Err(ConfigIssue::new(path, message));
    }
    let latent = m
        .latent
        .unwrap_or(if arch == Arch::DalalMnist { 2 } else { 128 });
    if latent < 1 {
        return Err(ConfigIssue::new(
            "model.latent",
            format!("model.latent must be >= 1, got {latent}"),
        ));
    }
    let init = match (m.init, arch) {
        (InitScheme::Auto, Arch::DalalMnist) => InitScheme::Keras,
        (InitScheme::Auto, _) => InitScheme::Pytorch,
        (init, _) => init,
    };
    if m.convt_alignment != ConvtAlignment::Pytorch {
        let (_, decoder) = crate::model::layout::layouts(arch, channels as usize);
        if !decoder.stride2.is_k3_same() {
            return Err(ConfigIssue::new(
                "model.convt_alignment",
                format!(
                    "model.convt_alignment applies to stride-2 3x3 'same' transposed convs \
                     (dalal_mnist); {arch_name}'s are {}x{} with padding {}, which PyTorch and \
                     Keras align alike, so leave model.convt_alignment at `pytorch`",
                    decoder.stride2.kernel, decoder.stride2.kernel, decoder.stride2.padding
                ),
            ));
        }
    }
    Ok(ModelSpec {
        arch,
        latent,
        upsampler: m.upsampler,
        replace: m.replace,
        init,
        convt_alignment: m.convt_alignment,
        channels,
        size,
    })
}

/// Checks the `train:` section.
fn check_train(t: &TrainConfig) -> Result<(), ConfigIssue> {
    if t.epochs < 1 {
        return Err(ConfigIssue::new(
            "train.epochs",
            format!("train.epochs must be >= 1, got {}", t.epochs),
        ));
    }
    if t.batch < 1 {
        return Err(ConfigIssue::new(
            "train.batch",
            format!("train.batch must be >= 1, got {}", t.batch),
        ));
    }
    if t.threads == Some(0) {
        return Err(ConfigIssue::new(
            "train.threads",
            "train.threads must be >= 1, got 0",
        ));
    }
    match &t.optimizer {
        OptimizerConfig::Adam(adam) => {
            positive(adam.lr, "train.optimizer.adam.lr")?;
            for (i, beta) in adam.betas.iter().enumerate() {
                let path = format!("train.optimizer.adam.betas.{i}");
                if !(0.0..1.0).contains(beta) {
                    return Err(ConfigIssue::new(
                        path.clone(),
                        format!("{path} must be in [0, 1), got {beta}"),
                    ));
                }
            }
            positive(adam.eps, "train.optimizer.adam.eps")?;
        }
    }
    if let LrSchedule::Triangular2(cyc) = &t.lr_schedule {
        positive(cyc.min_lr, "train.lr_schedule.triangular2.min_lr")?;
        positive(cyc.max_lr, "train.lr_schedule.triangular2.max_lr")?;
        if cyc.max_lr < cyc.min_lr {
            return Err(ConfigIssue::new(
                "train.lr_schedule.triangular2.max_lr",
                format!(
                    "train.lr_schedule.triangular2.max_lr must be >= min_lr ({}), got {}",
                    cyc.min_lr, cyc.max_lr
                ),
            ));
        }
        if cyc.step_size < 1 {
            return Err(ConfigIssue::new(
                "train.lr_schedule.triangular2.step_size",
                "train.lr_schedule.triangular2.step_size must be >= 1, got 0",
            ));
        }
    }
    Ok(())
}

/// Checks the `loss:` section (term options against the image size of `dataset`).
fn check_loss(l: &LossConfig, dataset: &DatasetSpec) -> Result<(), ConfigIssue> {
    non_negative(l.kl.beta, "loss.kl.beta")?;
    if let Some(alpha) = l.alpha {
        if !(0.0..=1.0).contains(&alpha) {
            return Err(ConfigIssue::new(
                "loss.alpha",
                format!("loss.alpha must be in [0, 1], got {alpha}"),
            ));
        }
    }
    if l.terms.is_empty() {
        return Err(ConfigIssue::new(
            "loss.terms",
            "loss.terms must list at least one term, e.g. [{bce: {}}]",
        ));
    }
    let image = ImageShape {
        channels: dataset.channels() as usize,
        height: dataset.size() as usize,
        width: dataset.size() as usize,
    };
    for (i, term) in l.terms.iter().enumerate() {
        let at = format!("loss.terms.{i}.{}", term.name());
        non_negative(term.weight(), &format!("{at}.weight"))?;
        term.check(image, &at)?;
    }
    // Each learned parameter exists once per cell (one ln sigma, one kernel head).
    let learned: Vec<_> = l
        .terms
        .iter()
        .filter_map(|t| Some((t.name(), t.learned_parameter()?)))
        .collect();
    for (i, (name, (parameter, setting))) in learned.iter().enumerate() {
        let same = learned
            .iter()
            .filter(|(_, (p, _))| p.same_kind(parameter))
            .count();
        let first = !learned[..i]
            .iter()
            .any(|(_, (p, _))| p.same_kind(parameter));
        if same > 1 && first {
            return Err(ConfigIssue::new(
                "loss.terms",
                format!("loss.terms may have at most one {name} term with {setting}, got {same}"),
            ));
        }
    }
    Ok(())
}

/// Checks the `eval:` section against the dataset.
fn check_eval(e: &EvalConfig, dataset: &DatasetSpec) -> Result<(), ConfigIssue> {
    if e.images < 1 {
        return Err(ConfigIssue::new(
            "eval.images",
            format!("eval.images must be >= 1, got {}", e.images),
        ));
    }
    if let Some(test_images) = dataset.test_images().filter(|&n| e.images > n) {
        return Err(ConfigIssue::new(
            "eval.images",
            format!(
                "eval.images must be at most dataset.test_images ({test_images}), got {}",
                e.images
            ),
        ));
    }
    if e.metrics.is_empty() {
        return Err(ConfigIssue::new(
            "eval.metrics",
            "eval.metrics must list at least one metric, e.g. [rmse_spatial]",
        ));
    }
    for (i, metric) in e.metrics.iter().enumerate() {
        if e.metrics[..i].contains(metric) {
            return Err(ConfigIssue::new(
                format!("eval.metrics.{i}"),
                format!("eval.metrics lists {} twice", metric.column()),
            ));
        }
    }
    Ok(())
}

/// Checks `report.table` against the sweep. `swept` holds each swept key with its
/// values as shown to the user ([`crate::pipeline::display::value_text`]);
/// `metrics` are the metrics every cell computes.
pub fn check_table(
    table: &TableConfig,
    swept: &[(String, Vec<String>)],
    metrics: &[Metric],
) -> Result<(), ConfigIssue> {
    let keys: Vec<&str> = swept.iter().map(|(k, _)| k.as_str()).collect();
    let swept_list = if keys.is_empty() {
        "this pipeline sweeps nothing".to_string()
    } else {
        format!("swept keys: {}", keys.join(", "))
    };
    if table.rows.is_empty() {
        return Err(ConfigIssue::new(
            "report.table.rows",
            format!("report.table.rows must name at least one swept key ({swept_list})"),
        ));
    }
    for (i, row) in table.rows.iter().enumerate() {
        let at = format!("report.table.rows.{i}");
        if !keys.contains(&row.as_str()) {
            return Err(ConfigIssue::new(
                at,
                format!("`{row}` is not a swept key ({swept_list})"),
            ));
        }
        if table.rows[..i].contains(row) {
            return Err(ConfigIssue::new(
                at,
                format!("report.table.rows lists `{row}` twice"),
            ));
        }
    }
    if let Some(wanted) = &table.metrics {
        if wanted.is_empty() {
            return Err(ConfigIssue::new(
                "report.table.metrics",
                "report.table.metrics must list at least one metric (or be left out for all)",
            ));
        }
        for (i, metric) in wanted.iter().enumerate() {
            let at = format!("report.table.metrics.{i}");
            if !metrics.contains(metric) {
                let have: Vec<&str> = metrics.iter().map(Metric::column).collect();
                return Err(ConfigIssue::new(
                    at,
                    format!(
                        "{} is not in eval.metrics ({})",
                        metric.column(),
                        have.join(", ")
                    ),
                ));
            }
            if wanted[..i].contains(metric) {
                return Err(ConfigIssue::new(
                    at,
                    format!("report.table.metrics lists {} twice", metric.column()),
                ));
            }
        }
    }
    let row_values: Vec<&str> = swept
        .iter()
        .filter(|(k, _)| table.rows.contains(k))
        .flat_map(|(_, values)| values.iter().map(String::as_str))
        .collect();
    for value in table.labels.keys() {
        if !row_values.contains(&value.as_str()) {
            return Err(ConfigIssue::new(
                "report.table.labels",
                format!(
                    "label `{value}` matches no value of the row keys (values: {})",
                    row_values.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::celeba::{CelebaSpec, CelebaSplit};
    use crate::data::cifar10::Cifar10Spec;
    use crate::data::folder::FolderSpec;
    use crate::data::mnist::MnistSpec;
    use crate::data::shapes::{GrayMode, ShapesSpec};
    use crate::pipeline::schema::UpsamplerName;

    fn pipeline(yaml: &str) -> Pipeline {
        let value: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
        serde_json::from_value(value).unwrap()
    }

    fn resolve(yaml: &str) -> Result<ResolvedPipeline, ConfigIssue> {
        pipeline(yaml).resolve("stem")
    }

    fn fails(yaml: &str, path: &str, words: &str) {
        let err = resolve(yaml).unwrap_err();
        assert_eq!(err.path, path, "{yaml}: {err:?}");
        assert!(err.message.contains(words), "{yaml}: {}", err.message);
    }

    #[test]
    fn shapes_defaults() {
        let r = resolve("dataset: {name: shapes}").unwrap();
        assert_eq!(r.name, "stem");
        assert_eq!(
            r.dataset,
            DatasetSpec::Shapes(ShapesSpec {
                size: 32,
                channels: 1,
                gray: Some(GrayMode::Luminance),
                train_images: 50_000,
                test_images: 10_000,
                train_seed: 1,
                test_seed: 2,
            })
        );
        assert_eq!(r.model.arch, Arch::IrmaeShape);
        assert_eq!(
            (r.model.channels, r.model.size, r.model.latent),
            (1, 32, 128)
        );
        assert_eq!(r.model.upsampler, UpsamplerName::CONVT);
        let rgb = resolve("dataset: {name: shapes, channels: 3}").unwrap();
        assert_eq!(rgb.model.channels, 3);
        assert!(matches!(
            rgb.dataset,
            DatasetSpec::Shapes(ShapesSpec { gray: None, .. })
        ));
    }

    #[test]
    fn mnist_defaults() {
        let r = resolve("name: m\ndataset: {name: mnist}").unwrap();
        assert_eq!(r.name, "m");
        assert_eq!(
            r.dataset,
            DatasetSpec::Mnist(MnistSpec {
                root: "data/mnist".into(),
                size: 32,
                binarize: false,
                train_images: 60_000,
                test_images: 10_000,
            })
        );
        assert_eq!(r.model.arch, Arch::IrmaeMnist);
    }

    #[test]
    fn dataset_rules() {
        fails(
            "dataset: {name: shapes, root: x}",
            "dataset.root",
            "unknown key `root` for dataset shapes",
        );
        fails(
            "dataset: {name: shapes, binarize: true}",
            "dataset.binarize",
            "unknown key `binarize` for dataset shapes",
        );
        fails(
            "dataset: {name: shapes, size: 64}",
            "dataset.size",
            "must be 32",
        );
        fails(
            "dataset: {name: shapes, channels: 2}",
            "dataset.channels",
            "1 (grey) or 3",
        );
        fails(
            "dataset: {name: shapes, channels: 3, gray: intensity}",
            "dataset.gray",
            "channels: 1",
        );
        fails(
            "dataset: {name: shapes, train_images: 0}",
            "dataset.train_images",
            ">= 1",
        );
        fails(
            "dataset: {name: shapes, test_seed: 1}",
            "dataset.test_seed",
            "differ",
        );
        fails(
            "dataset: {name: mnist, channels: 1}",
            "dataset.channels",
            "unknown key `channels` for dataset mnist",
        );
        fails(
            "dataset: {name: mnist, gray: luminance}",
            "dataset.gray",
            "unknown key `gray` for dataset mnist",
        );
        fails(
            "dataset: {name: mnist, train_seed: 3}",
            "dataset.train_seed",
            "unknown key `train_seed` for dataset mnist",
        );
        fails(
            "dataset: {name: mnist, test_images: 10001}",
            "dataset.test_images",
            "at most 10000",
        );
        fails(
            "dataset: {name: mnist, train_images: 60001}",
            "dataset.train_images",
            "at most 60000",
        );
        fails(
            "dataset: {name: mnist, size: 30}",
            "dataset.size",
            "28 or 32",
        );
        // 28x28 MNIST picks Dalal's net; the IRMAE nets need 32x32.
        let dalal = resolve("dataset: {name: mnist, size: 28}").unwrap();
        assert_eq!(dalal.model.arch, Arch::DalalMnist);
        assert_eq!(dalal.model.latent, 2);
        assert_eq!(dalal.model.init, InitScheme::Keras);
        fails(
            "dataset: {name: shapes}\nmodel: {arch: dalal_mnist}",
            "model.arch",
            "needs 1x28x28",
        );
        fails(
            "dataset: {name: mnist}\nmodel: {arch: irmae_celeba}",
            "model.arch",
            "needs 3x64x64",
        );
        fails(
            "dataset: {name: mnist, size: 28}\nmodel: {arch: irmae_mnist}",
            "model.arch",
            "needs 1x32x32",
        );
        fails(
            "dataset: {name: shapes, channels: 3}\nmodel: {arch: irmae_mnist}",
            "model.arch",
            "3x32x32",
        );
        assert_eq!(
            resolve("dataset: {name: mnist}\nmodel: {arch: irmae_shape}")
                .unwrap()
                .model
                .arch,
            Arch::IrmaeShape
        );
        assert_eq!(
            resolve("dataset: {name: shapes}\nmodel: {arch: irmae_mnist}")
                .unwrap()
                .model
                .arch,
            Arch::IrmaeMnist
        );
    }

    #[test]
    fn image_dataset_defaults_and_nets() {
        let r = resolve("dataset: {name: celeba}").unwrap();
        assert_eq!(
            r.dataset,
            DatasetSpec::Celeba(CelebaSpec {
                root: "data/celeba".into(),
                size: 64,
                train_images: 162_770,
                test_images: 19_962,
                test_split: CelebaSplit::Test,
            })
        );
        assert_eq!(
            (r.model.arch, r.model.channels, r.model.size),
            (Arch::IrmaeCeleba, 3, 64)
        );
        let val = resolve("dataset: {name: celeba, test_split: val}").unwrap();
        assert!(matches!(val.dataset, DatasetSpec::Celeba(c) if c.test_images == 19_867));
        let r = resolve("dataset: {name: cifar10}").unwrap();
        assert_eq!(
            r.dataset,
            DatasetSpec::Cifar10(Cifar10Spec {
                root: "data/cifar-10-batches-bin".into(),
                train_images: 50_000,
                test_images: 10_000,
            })
        );
        assert_eq!(
            (r.model.arch, r.model.channels, r.model.size),
            (Arch::IrmaeShape, 3, 32)
        );
        let r = resolve("dataset: {name: folder, root: imgs}").unwrap();
        assert_eq!(
            r.dataset,
            DatasetSpec::Folder(FolderSpec {
                root: "imgs".into(),
                size: 64,
                channels: 3,
                train_images: None,
                test_images: None,
            })
        );
        assert_eq!(r.model.arch, Arch::IrmaeCeleba);
        // Any folder eval size is accepted: the folder may hold more than 1000 images.
        assert!(
            resolve("dataset: {name: folder, root: i, test_images: 5}\neval: {images: 5}").is_ok()
        );
        let pick = |yaml: &str| resolve(yaml).unwrap().model.arch;
        assert_eq!(
            pick("dataset: {name: folder, root: i, size: 32, channels: 1}"),
            Arch::IrmaeShape
        );
        assert_eq!(
            pick("dataset: {name: folder, root: i, size: 32}"),
            Arch::IrmaeShape
        );
        assert_eq!(
            pick("dataset: {name: folder, root: i, size: 28, channels: 1}"),
            Arch::DalalMnist
        );
        assert_eq!(
            pick("dataset: {name: celeba, size: 32}\nmodel: {arch: irmae_shape}"),
            Arch::IrmaeShape
        );
    }

    #[test]
    fn image_dataset_rules() {
        fails(
            "dataset: {name: celeba, channels: 1}",
            "dataset.channels",
            "unknown key `channels` for dataset celeba",
        );
        fails(
            "dataset: {name: celeba, binarize: true}",
            "dataset.binarize",
            "unknown key `binarize` for dataset celeba",
        );
        fails(
            "dataset: {name: celeba, train_images: 162771}",
            "dataset.train_images",
            "at most 162770",
        );
        fails(
            "dataset: {name: celeba, test_split: val, test_images: 19900}",
            "dataset.test_images",
            "at most 19867",
        );
        fails(
            "dataset: {name: celeba, root: ' '}",
            "dataset.root",
            "must not be empty",
        );
        fails("dataset: {name: celeba, size: 0}", "dataset.size", ">= 1");
        fails(
            "dataset: {name: celeba, size: 32}",
            "dataset.size",
            "irmae_celeba needs 3x64x64",
        );
        fails(
            "dataset: {name: cifar10, size: 64}",
            "dataset.size",
            "must be 32 for dataset 'cifar10'",
        );
        fails(
            "dataset: {name: cifar10, test_split: val}",
            "dataset.test_split",
            "unknown key `test_split` for dataset cifar10",
        );
        fails(
            "dataset: {name: cifar10, channels: 1}",
            "dataset.channels",
            "unknown key `channels` for dataset cifar10",
        );
        fails(
            "dataset: {name: cifar10, test_images: 10001}",
            "dataset.test_images",
            "at most 10000",
        );
        fails(
            "dataset: {name: cifar10}\nmodel: {arch: irmae_celeba}",
            "model.arch",
            "needs 3x64x64",
        );
        fails(
            "dataset: {name: folder}",
            "dataset.root",
            "required for dataset 'folder'",
        );
        fails(
            "dataset: {name: folder, root: i, channels: 2}",
            "dataset.channels",
            "1 (grey) or 3",
        );
        fails(
            "dataset: {name: folder, root: i, gray: luminance}",
            "dataset.gray",
            "unknown key `gray` for dataset folder",
        );
        fails(
            "dataset: {name: folder, root: i, train_images: 0}",
            "dataset.train_images",
            ">= 1",
        );
        fails(
            "dataset: {name: folder, root: i, size: 48}",
            "dataset.size",
            "no network takes the 3x48x48",
        );
        fails(
            "dataset: {name: folder, root: i, channels: 1}",
            "model.arch",
            "no network takes the 1x64x64",
        );
        fails(
            "dataset: {name: shapes, test_split: test}",
            "dataset.test_split",
            "unknown key `test_split` for dataset shapes",
        );
        fails(
            "dataset: {name: mnist, test_split: test}",
            "dataset.test_split",
            "unknown key `test_split` for dataset mnist",
        );
        fails(
            "dataset: {name: celeba, test_images: 10}\neval: {images: 11}",
            "eval.images",
            "at most dataset.test_images (10)",
        );
    }

    #[test]
    fn convt_alignment_keras_is_for_dalals_net_only() {
        let dalal = resolve(
            "dataset: {name: mnist, size: 28}\nmodel: {convt_alignment: keras}\nloss: {input: logits}",
        )
        .unwrap();
        assert_eq!(dalal.model.arch, Arch::DalalMnist);
        assert_eq!(dalal.model.convt_alignment, ConvtAlignment::Keras);
        assert_eq!(dalal.loss.input, crate::pipeline::schema::LossInput::Logits);
        for yaml in [
            "dataset: {name: shapes}\nmodel: {convt_alignment: keras}",
            "dataset: {name: mnist}\nmodel: {convt_alignment: keras}",
            "dataset: {name: celeba}\nmodel: {convt_alignment: keras, latent: 8}",
        ] {
            fails(yaml, "model.convt_alignment", "dalal_mnist");
        }
        let pytorch = resolve("dataset: {name: shapes}\nmodel: {convt_alignment: pytorch}");
        assert_eq!(
            pytorch.unwrap().model.convt_alignment,
            ConvtAlignment::Pytorch
        );
    }

    #[test]
    fn value_ranges() {
        let base = "dataset: {name: shapes}\n";
        let cases = [
            ("model: {latent: 0}", "model.latent", ">= 1"),
            ("train: {epochs: 0}", "train.epochs", ">= 1"),
            ("train: {batch: 0}", "train.batch", ">= 1"),
            ("train: {threads: 0}", "train.threads", ">= 1"),
            (
                "train: {optimizer: {adam: {lr: -0.001}}}",
                "train.optimizer.adam.lr",
                "train.optimizer.adam.lr must be > 0, got -0.001",
            ),
            (
                "train: {optimizer: {adam: {lr: 0}}}",
                "train.optimizer.adam.lr",
                "> 0",
            ),
            (
                "train: {optimizer: {adam: {betas: [0.9, 1.0]}}}",
                "train.optimizer.adam.betas.1",
                "[0, 1)",
            ),
            (
                "train: {optimizer: {adam: {betas: [-0.1, 0.5]}}}",
                "train.optimizer.adam.betas.0",
                "[0, 1)",
            ),
            (
                "train: {optimizer: {adam: {eps: 0}}}",
                "train.optimizer.adam.eps",
                "> 0",
            ),
            (
                "loss: {kl: {beta: -1}}",
                "loss.kl.beta",
                "must be >= 0, got -1",
            ),
            (
                "loss: {alpha: 1.5}",
                "loss.alpha",
                "loss.alpha must be in [0, 1], got 1.5",
            ),
            ("loss: {terms: []}", "loss.terms", "at least one"),
            (
                "loss: {terms: [{bce: {}}, {fft: {weight: -2}}]}",
                "loss.terms.1.fft.weight",
                "loss.terms.1.fft.weight must be >= 0, got -2",
            ),
            (
                "loss: {terms: [{l1: {}}, {mse: {sigma: 0}}]}",
                "loss.terms.1.mse.sigma",
                "loss.terms.1.mse.sigma must be > 0, got 0",
            ),
            (
                "loss: {terms: [{stft: {window: 40}}]}",
                "loss.terms.0.stft.window",
                "<= the image side 32, got 40",
            ),
            (
                "loss: {terms: [{stft: {window: 7}}]}",
                "loss.terms.0.stft.window",
                "must be even",
            ),
            (
                "loss: {terms: [{ffl: {patch_factor: 3}}]}",
                "loss.terms.0.ffl.patch_factor",
                "divide the image side 32",
            ),
            (
                "loss: {terms: [{wiener: {kernel_size: 4}}]}",
                "loss.terms.0.wiener.kernel_size",
                "must be odd",
            ),
            (
                "loss: {terms: [{bce: {}}, {wiener: {c: 0}}]}",
                "loss.terms.1.wiener.c",
                "must be > 0",
            ),
            (
                "loss: {terms: [{watson_dft: {color: rgb}}]}",
                "loss.terms.0.watson_dft.color",
                "rgb does not fit 1-channel images",
            ),
            (
                "loss: {terms: [{ai: {clip: 0.7}}]}",
                "loss.terms.0.ai.clip",
                "(0, 0.5)",
            ),
            (
                "loss: {terms: [{mse: {sigma_mode: learned}}, {mse: {sigma_mode: learned}}]}",
                "loss.terms",
                "at most one mse term with sigma_mode: learned",
            ),
            ("eval: {images: 0}", "eval.images", ">= 1"),
            (
                "eval: {images: 10001}",
                "eval.images",
                "at most dataset.test_images (10000)",
            ),
            ("eval: {metrics: []}", "eval.metrics", "at least one"),
            (
                "eval: {metrics: [rmse_ai, rmse_fft2, rmse_ai]}",
                "eval.metrics.2",
                "twice",
            ),
        ];
        for (text, path, words) in cases {
            fails(&format!("{base}{text}"), path, words);
        }
        assert!(resolve(&format!("{base}loss: {{alpha: 0, kl: {{beta: 0}}}}")).is_ok());
        assert!(resolve(&format!("{base}loss: {{alpha: 1}}")).is_ok());
    }

    #[test]
    fn names() {
        fails("name: ''\ndataset: {name: shapes}", "name", "empty");
        fails("name: a/b\ndataset: {name: shapes}", "name", "'/'");
        fails("name: ..\ndataset: {name: shapes}", "name", "cannot be");
        let err = pipeline("dataset: {name: shapes}")
            .resolve("my file")
            .unwrap_err();
        assert!(err.message.contains("file name"), "{}", err.message);
        assert_eq!(
            resolve("name: a-b_c.1\ndataset: {name: shapes}")
                .unwrap()
                .name,
            "a-b_c.1"
        );
    }
}
