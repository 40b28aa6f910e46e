//! Reading a pipeline file: YAML -> tree -> overrides and sweep -> typed,
//! resolved cells. Every failure becomes one [`ConfigError`] that names the file,
//! the line and column (or the `-o` argument) and the dotted key.

// A ConfigError is built at most once per run and ends it; its size does not matter.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::display;
use super::locate::Locations;
use super::messages::mentions;
use super::messages::typing::{explain_type_error, first_type_error};
use super::messages::yaml::{is_duplicate_key, yaml_message};
use super::overrides::{
    kind_of, override_text, parse_override, set_path, value_text, yaml_options, Override,
};
use super::resolve::check_table;
use super::schema::{ConfigIssue, Metric, Pipeline, ReportConfig, ResolvedPipeline};
use super::sweep::{block_axes, cells, combine, is_under, Axis, AxisOrigin};

/// One cell of the sweep grid, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The swept keys and this cell's values, in axis order (empty without a sweep).
    pub label: Vec<(String, Value)>,
    /// `-o` arguments (without `-o`) that select this cell, e.g.
    /// `model.upsampler=n15`, one per swept key.
    pub overrides: Vec<String>,
    /// The cell's resolved config.
    pub config: ResolvedPipeline,
}

/// A pipeline file with its overrides applied and its sweep expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedPipeline {
    /// The file as given.
    pub file: PathBuf,
    /// The pipeline name, the same in every cell.
    pub name: String,
    /// The swept keys, in axis order (file order, then command-line order).
    pub swept_keys: Vec<String>,
    /// The cells, last swept key varying fastest.
    pub cells: Vec<Cell>,
    /// The `report:` section (the same for every cell: it cannot be swept).
    pub report: ReportConfig,
}

/// A problem with a pipeline file or an override. Displays as one line:
/// `file:line:column: key: message`, or `file: -o arg: message` when the value
/// came from the command line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The pipeline file.
    pub file: PathBuf,
    /// 1-based line in the file, when the problem has a place in it.
    pub line: Option<usize>,
    /// 1-based column in the file.
    pub column: Option<usize>,
    /// Dotted key path of the offending value, e.g. `loss.terms.1.fft.weight`.
    pub key: Option<String>,
    /// Where the value came from when not written at `key` in the file:
    /// `-o model.upsampler=n16` or `sweep`.
    pub origin: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about the whole file (no line, key or origin).
    fn file(file: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            key: None,
            origin: None,
            message: message.into(),
        }
    }

    /// The one-line text shown to the user.
    fn render(&self) -> String {
        let mut text = self.file.display().to_string();
        if let Some(line) = self.line {
            text.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                text.push_str(&format!(":{column}"));
            }
        }
        text.push_str(": ");
        // The origin stands in for the position when the value is not in the file.
        if let (Some(origin), None) = (&self.origin, self.line) {
            text.push_str(origin);
            text.push_str(": ");
        }
        if let Some(key) = &self.key {
            if !key.is_empty() && !mentions(&self.message, key) {
                text.push_str(key);
                text.push_str(": ");
            }
        }
        // Keep it to one line whatever the message holds.
        text.push_str(&self.message.replace('\n', " "));
        text
    }
}

/// A check of a resolved cell that depends on the machine rather than on the
/// file (e.g. that the device it asks for exists); its issue is placed like any
/// other error in the cell.
pub type CellCheck<'a> = &'a dyn Fn(&ResolvedPipeline) -> Result<(), ConfigIssue>;

/// Reads `path`, applies `overrides` (`-o` arguments without `-o`) and returns
/// every resolved cell.
pub fn load_pipeline(path: &Path, overrides: &[String]) -> Result<LoadedPipeline, ConfigError> {
    load_pipeline_checked(path, overrides, &|_| Ok(()))
}

/// How many cells a sweep may have unless the user raises it (`--max-cells`):
/// a grid beyond it is almost always a typo, and planning it would take
/// minutes and gigabytes before anything runs.
pub const DEFAULT_MAX_CELLS: usize = 10_000;

/// As [`load_pipeline`], with `check` run on every resolved cell.
pub fn load_pipeline_checked(
    path: &Path,
    overrides: &[String],
    check: CellCheck,
) -> Result<LoadedPipeline, ConfigError> {
    load_pipeline_limited(path, overrides, check, DEFAULT_MAX_CELLS)
}

/// As [`load_pipeline_checked`], refusing a sweep of more than `max_cells`
/// cells before expanding it.
pub fn load_pipeline_limited(
    path: &Path,
    overrides: &[String],
    check: CellCheck,
    max_cells: usize,
) -> Result<LoadedPipeline, ConfigError> {
    let text = read_text(path, "pipeline")?;
    load_text(path, &text, overrides, check, max_cells)
}

/// The text of the `what` file at `path` ("pipeline", "profile"). Only a regular
/// file is opened: a FIFO would block the read until something writes to it, and
/// a device or socket is no file of settings either.
fn read_text(path: &Path, what: &str) -> Result<String, ConfigError> {
    let cannot_read = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ConfigError::file(path, format!("{what} file not found"))
        } else {
            ConfigError::file(path, format!("cannot read {what} file: {e}"))
        }
    };
    let metadata = std::fs::metadata(path).map_err(cannot_read)?;
    if metadata.is_dir() {
        return Err(ConfigError::file(
            path,
            format!("is a directory, not a {what} file"),
        ));
    }
    if !metadata.is_file() {
        return Err(ConfigError::file(
            path,
            format!(
                "not a regular file ({}); give the {what} file itself",
                special_file_kind(&metadata.file_type())
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(cannot_read)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let bad = e.as_bytes()[valid.len()];
        // `valid` is UTF-8 up to here, so its last line counts characters.
        let before = std::str::from_utf8(valid).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        ConfigError {
            line: Some(line),
            column: Some(column),
            ..ConfigError::file(
                path,
                format!("not UTF-8 text (byte 0x{bad:02x}); a {what} file is YAML text"),
            )
        }
    })
}

/// What kind of file system entry other than a regular file or a directory
/// `kind` is, e.g. "a FIFO".
fn special_file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    let _ = kind;
    "a special file"
}

/// The [`ConfigError`] for a YAML reading error `e` in `text` (the file `path`):
/// placed where the reader stopped, a repeated key named by its dotted path.
fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> ConfigError {
    let location = e.location().filter(|l| l.line() > 0);
    let at = location.map(|l| (l.line() as usize, l.column() as usize));
    let mut message = yaml_message(e);
    let mut key = None;
    if is_duplicate_key(e) {
        if let Some(at) = at {
            key = Locations::key_at(text, at);
            let first = key
                .as_deref()
                .and_then(|k| Locations::parse(text).of(k))
                .filter(|&first| first != at);
            if let Some((line, _)) = first {
                message.push_str(&format!(" (first written at line {line})"));
            }
        }
    }
    ConfigError {
        line: at.map(|a| a.0),
        column: at.map(|a| a.1),
        key,
        ..ConfigError::file(path, message)
    }
}

/// As [`load_pipeline`], with the file's `text` already read; `path` names the
/// file in errors and gives the default pipeline name (its stem).
pub fn load_pipeline_str(
    path: &Path,
    text: &str,
    overrides: &[String],
) -> Result<LoadedPipeline, ConfigError> {
    load_text(path, text, overrides, &|_| Ok(()), DEFAULT_MAX_CELLS)
}

/// [`load_pipeline_limited`] on `text`.
fn load_text(
    path: &Path,
    text: &str,
    overrides: &[String],
    check: CellCheck,
    max_cells: usize,
) -> Result<LoadedPipeline, ConfigError> {
    let only_comments = text.lines().all(|l| {
        let l = l.trim_start_matches('\u{feff}').trim();
        l.is_empty() || l.starts_with('#')
    });
    if only_comments {
        return Err(ConfigError::file(path, "pipeline file is empty"));
    }
    let mut tree: Value = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| yaml_error(path, text, &e))?;
    let locations = Locations::parse(text);
    let Some(map) = tree.as_object_mut() else {
        let (line, column) = locations.of("").unwrap_or((1, 1));
        return Err(ConfigError {
            line: Some(line),
            column: Some(column),
            ..ConfigError::file(
                path,
                format!(
                    "the top level must be a mapping of sections (dataset:, model:, train:, ...), got {}",
                    kind_of(&tree)
                ),
            )
        });
    };
    let sweep_block = map.remove("sweep").unwrap_or(Value::Null);

    let ctx = Context {
        file: path,
        locations: &locations,
    };
    let mut parsed = Vec::with_capacity(overrides.len());
    for text in overrides {
        let o = parse_override(text).map_err(|message| ctx.at_override(text, None, message))?;
        if is_under(&o.key, "sweep") {
            return Err(ctx.at_override(
                text,
                Some(&o.key),
                "overrides cannot change the sweep block; sweep from the command line with -o KEY=a,b",
            ));
        }
        if let Some(earlier) = parsed.iter().find(|p: &&Override| p.key == o.key) {
            let message = format!(
                "{} is already set by -o {}; give each key once",
                o.key, earlier.text
            );
            return Err(ctx.at_override(text, Some(&o.key), message));
        }
        parsed.push(o);
    }

    let block = block_axes(&sweep_block, &locations)
        .map_err(|issue| ctx.at_file(&issue.path, issue.message))?;
    let axes = combine(block, &parsed);
    if let Some(axis) = axes.iter().find(|a| a.key == "name") {
        let message = "the pipeline name cannot be swept: all cells share results/<name>/";
        return Err(match &axis.origin {
            AxisOrigin::File => ctx.at_file("sweep.name", message),
            AxisOrigin::Override(text) => ctx.at_override(text, Some("name"), message),
        });
    }
    if let Some(axis) = axes.iter().find(|a| is_under(&a.key, "report")) {
        let message = "the report section cannot be swept: one report describes all cells";
        return Err(match &axis.origin {
            AxisOrigin::File => ctx.at_file(&format!("sweep.{}", axis.key), message),
            AxisOrigin::Override(text) => ctx.at_override(text, Some(&axis.key), message),
        });
    }

    check_grid_size(&ctx, &axes, max_cells)?;
    let grid = cells(&axes);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out: Vec<Cell> = Vec::with_capacity(grid.len());
    let mut report = ReportConfig::default();
    for indices in &grid {
        let label: Vec<(String, Value)> = axes
            .iter()
            .zip(indices)
            .map(|(axis, &i)| (axis.key.clone(), axis.values[i].clone()))
            .collect();
        let cell_name = if grid.len() > 1 {
            let parts: Vec<String> = label.iter().map(|(k, v)| override_text(k, v)).collect();
            Some(parts.join(" "))
        } else {
            None
        };
        let build = CellBuild {
            ctx: &ctx,
            axes: &axes,
            indices,
            overrides: &parsed,
            cell_name,
            check,
        };
        let (config, cell_report) = build.resolve(&tree, &stem)?;
        report = cell_report;
        if let Some(first) = out.first() {
            if first.config.name != config.name {
                return Err(ctx.at_file("name", "the pipeline name must be the same in every cell"));
            }
        }
        out.push(Cell {
            overrides: label.iter().map(|(k, v)| override_text(k, v)).collect(),
            label,
            config,
        });
    }
    if let Some(table) = &report.table {
        let swept: Vec<(String, Vec<String>)> = axes
            .iter()
            .map(|a| {
                let values = a.values.iter().map(display::value_text).collect();
                (a.key.clone(), values)
            })
            .collect();
        // Only metrics that every cell computes can be tabled.
        let metrics: Vec<Metric> = out[0]
            .config
            .eval
            .metrics
            .iter()
            .copied()
            .filter(|m| out.iter().all(|c| c.config.eval.metrics.contains(m)))
            .collect();
        check_table(table, &swept, &metrics)
            .map_err(|issue| ctx.at_file(&issue.path, issue.message))?;
    }
    Ok(LoadedPipeline {
        file: path.to_path_buf(),
        name: out[0].config.name.clone(),
        swept_keys: axes.iter().map(|a| a.key.clone()).collect(),
        cells: out,
        report,
    })
}

/// Refuses a sweep of more than `max_cells` cells (counted without expanding
/// it), naming the axes and their lengths.
fn check_grid_size(ctx: &Context, axes: &[Axis], max_cells: usize) -> Result<(), ConfigError> {
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()));
    if total.is_some_and(|n| n <= max_cells) {
        return Ok(());
    }
    let sizes: Vec<String> = axes
        .iter()
        .map(|a| format!("{} ({})", a.key, a.values.len()))
        .collect();
    let count = total.map_or("more than 2^64".to_string(), |n| n.to_string());
    let message = format!(
        "the sweep has {count} cells ({}), more than the limit of {max_cells}; \
         raise it with --max-cells if you mean it",
        sizes.join(" x ")
    );
    let in_file = axes.iter().any(|a| a.origin == AxisOrigin::File);
    let from_override = axes.iter().find_map(|a| match &a.origin {
        AxisOrigin::Override(text) => Some(text),
        AxisOrigin::File => None,
    });
    Err(match from_override {
        Some(text) if !in_file => ctx.at_override(text, None, message),
        _ => ctx.at_file("sweep", message),
    })
}

/// A typed YAML file other than a pipeline (a cluster profile), read with the
/// pipeline file's rules: YAML 1.2 booleans, duplicate keys and unknown keys
/// rejected, every error one line naming the file, line, column and key.
#[derive(Debug, Clone)]
pub struct TypedFile<T> {
    /// The typed content.
    pub value: T,
    file: PathBuf,
    locations: Locations,
}

impl<T> TypedFile<T> {
    /// An error about the value at dotted `path`, placed where it is written.
    pub fn error_at(&self, path: &str, message: impl Into<String>) -> ConfigError {
        let ctx = Context {
            file: &self.file,
            locations: &self.locations,
        };
        ctx.at_file(path, message)
    }
}

/// Reads `path` as a `T` (an empty file or one of comments only is `T`'s
/// default); `what` names the file in errors ("profile file not found").
pub fn load_typed_file<T: serde::de::DeserializeOwned + Default>(
    path: &Path,
    what: &str,
) -> Result<TypedFile<T>, ConfigError> {
    let text = read_text(path, what)?;
    let locations = Locations::parse(&text);
    let ctx = Context {
        file: path,
        locations: &locations,
    };
    let only_comments = text.lines().all(|l| {
        let l = l.trim_start_matches('\u{feff}').trim();
        l.is_empty() || l.starts_with('#')
    });
    let tree: Value = if only_comments {
        Value::Object(Default::default())
    } else {
        serde_saphyr::from_str_with_options(&text, yaml_options())
            .map_err(|e| yaml_error(path, &text, &e))?
    };
    if !tree.is_object() {
        return Err(ctx.at_file(
            "",
            format!("the top level must be a mapping, got {}", kind_of(&tree)),
        ));
    }
    let value: T = serde_path_to_error::deserialize(tree.clone()).map_err(|e| {
        let (key, message) = explain_type_error(&e, &tree, &first_type_error::<T>);
        ctx.at_file(&key, message)
    })?;
    Ok(TypedFile {
        value,
        file: path.to_path_buf(),
        locations,
    })
}

/// Top-level sections that have defaults; written empty, they mean the defaults.
const OPTIONAL_SECTIONS: [&str; 5] = ["model", "train", "loss", "eval", "report"];

/// The file being loaded, for building errors.
struct Context<'a> {
    file: &'a Path,
    locations: &'a Locations,
}

impl Context<'_> {
    /// An error at dotted `path` of the file (or its longest written prefix).
    fn at_file(&self, path: &str, message: impl Into<String>) -> ConfigError {
        let at = self.locations.of_or_prefix(path);
        ConfigError {
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
            key: (!path.is_empty()).then(|| path.to_string()),
            ..ConfigError::file(self.file, message)
        }
    }

    /// An error caused by the `-o` argument `text`.
    fn at_override(
        &self,
        text: &str,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            key: key.filter(|k| !k.is_empty()).map(str::to_string),
            origin: Some(format!("-o {text}")),
            ..ConfigError::file(self.file, message)
        }
    }
}

/// Who wrote a key of a cell's tree.
enum Source {
    /// Value `index` of the `sweep:` block's entry `key`.
    Sweep {
        key: String,
        index: usize,
        value: Value,
    },
    /// The `-o` argument with this text.
    Override(String),
}

/// Builds one cell: applies sweep values and overrides, types and resolves.
struct CellBuild<'a> {
    ctx: &'a Context<'a>,
    axes: &'a [Axis],
    indices: &'a [usize],
    overrides: &'a [Override],
    /// The cell's label as `-o` arguments, when there are several cells.
    cell_name: Option<String>,
    /// The caller's check of the resolved cell.
    check: CellCheck<'a>,
}

impl CellBuild<'_> {
    /// The cell's resolved config and its `report:` section, or the first problem
    /// in it.
    fn resolve(
        &self,
        base: &Value,
        stem: &str,
    ) -> Result<(ResolvedPipeline, ReportConfig), ConfigError> {
        let mut tree = base.clone();
        let mut applied: Vec<(String, Source)> = Vec::new();
        // The file's sweep values first, then the command line in its order.
        for (axis, &i) in self.axes.iter().zip(self.indices) {
            if axis.origin == AxisOrigin::File {
                let source = Source::Sweep {
                    key: axis.key.clone(),
                    index: i,
                    value: axis.values[i].clone(),
                };
                self.set(
                    &mut tree,
                    &axis.key,
                    axis.values[i].clone(),
                    source,
                    &mut applied,
                )?;
            }
        }
        for o in self.overrides {
            let swept = self
                .axes
                .iter()
                .zip(self.indices)
                .find(|(a, _)| a.key == o.key && a.origin != AxisOrigin::File);
            match swept {
                Some((axis, &i)) => {
                    // Name the cell's own value, as if it had been given alone.
                    let source = Source::Override(override_text(&axis.key, &axis.values[i]));
                    self.set(
                        &mut tree,
                        &o.key,
                        axis.values[i].clone(),
                        source,
                        &mut applied,
                    )?;
                }
                // A sweep replaced by a later override: nothing to apply.
                None if o.is_sweep() => {}
                None => {
                    let source = Source::Override(o.text.clone());
                    self.set(&mut tree, &o.key, o.values[0].clone(), source, &mut applied)?;
                }
            }
        }
        // A section with nothing under it (`train:` with every line commented out)
        // means its defaults, as if it were not written.
        if let Some(map) = tree.as_object_mut() {
            for section in OPTIONAL_SECTIONS {
                if map.get(section).is_some_and(Value::is_null) {
                    map.remove(section);
                }
            }
        }

        let pipeline: Pipeline = serde_path_to_error::deserialize(tree.clone()).map_err(|e| {
            let (path, message) = explain_type_error(&e, &tree, &first_type_error::<Pipeline>);
            self.error(&applied, &path, message)
        })?;
        let resolved = pipeline
            .resolve(stem)
            .and_then(|resolved| (self.check)(&resolved).map(|()| resolved))
            .map_err(|issue| self.error(&applied, &issue.path, issue.message))?;
        Ok((resolved, pipeline.report))
    }

    /// Sets `key` to `value` in `tree` and records who did.
    fn set(
        &self,
        tree: &mut Value,
        key: &str,
        value: Value,
        source: Source,
        applied: &mut Vec<(String, Source)>,
    ) -> Result<(), ConfigError> {
        applied.push((key.to_string(), source));
        set_path(tree, key, value).map_err(|message| self.error(applied, key, message))
    }

    /// An error at dotted `path`, placed where the value came from: the last
    /// override or sweep value that set `path` or a section containing it; else,
    /// when `path` is not written in the file, the last one that created it by
    /// setting a key inside it; else the file.
    fn error(&self, applied: &[(String, Source)], path: &str, message: String) -> ConfigError {
        let source = applied
            .iter()
            .rev()
            .find(|(key, _)| is_under(path, key))
            .or_else(|| {
                if self.ctx.locations.of(path).is_some() {
                    return None;
                }
                applied.iter().rev().find(|(key, _)| is_under(key, path))
            });
        match source {
            Some((_, Source::Override(text))) => self.ctx.at_override(text, Some(path), message),
            Some((_, Source::Sweep { key, index, value })) => {
                let entry = format!("sweep.{key}");
                let item = format!("{entry}.{index}");
                let at = self
                    .ctx
                    .locations
                    .of(&item)
                    .or_else(|| self.ctx.locations.of_or_prefix(&entry));
                ConfigError {
                    line: at.map(|a| a.0),
                    column: at.map(|a| a.1),
                    key: (!path.is_empty()).then(|| path.to_string()),
                    origin: Some("sweep".to_string()),
                    ..ConfigError::file(
                        self.ctx.file,
                        format!("{message} (sweep value {})", value_text(value)),
                    )
                }
            }
            None => {
                let message = match &self.cell_name {
                    Some(cell) => format!("{message} (in cell {cell})"),
                    None => message,
                };
                self.ctx.at_file(path, message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::LossTerm;
    use crate::pipeline::schema::{DatasetSpec, UpsamplerName};
    use serde_json::json;

    fn load(text: &str, overrides: &[&str]) -> Result<LoadedPipeline, ConfigError> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        load_pipeline_str(Path::new("pipelines/x.yaml"), text, &overrides)
    }

    fn error(text: &str, overrides: &[&str]) -> (ConfigError, String) {
        let err = load(text, overrides).unwrap_err();
        let shown = err.to_string();
        assert_eq!(shown.lines().count(), 1, "{shown}");
        (err, shown)
    }

    const MINIMAL: &str = "dataset: {name: shapes}\n";

    /// A terms × seed sweep with a `report.table` block appended by each test.
    const TABLED: &str = "dataset: {name: shapes}\n\
                          sweep:\n  \
                            loss.terms: [[{bce: {}}], [{bce: {}}, {fft: {}}]]\n  \
                            train.seed: [0, 1]\n\
                          report:\n  table:\n";

    #[test]
    fn report_table_loads_and_names_swept_rows() {
        let text = format!(
            "{TABLED}    rows: [loss.terms]\n    metrics: [rmse_ai]\n    \
             labels: {{bce: Vanilla-VAE, bce+fft: FFT}}\n"
        );
        let p = load(&text, &[]).unwrap();
        let table = p.report.table.unwrap();
        assert_eq!(table.rows, ["loss.terms"]);
        assert_eq!(
            table.metrics,
            crate::pipeline::schema::Metric::named("rmse_ai").map(|m| vec![m])
        );
        assert_eq!(table.labels["bce+fft"], "FFT");
        // No table: the section defaults to none.
        assert_eq!(load(MINIMAL, &[]).unwrap().report, ReportConfig::default());
    }

    #[test]
    fn report_table_rows_must_be_swept_keys() {
        let text = format!("{TABLED}    rows: [loss.terms, model.upsampler]\n");
        let (err, shown) = error(&text, &[]);
        assert_eq!(err.key.as_deref(), Some("report.table.rows.1"), "{shown}");
        assert_eq!(err.line, Some(7), "{shown}");
        assert!(
            shown.contains("`model.upsampler` is not a swept key"),
            "{shown}"
        );
        assert!(
            shown.contains("swept keys: loss.terms, train.seed"),
            "{shown}"
        );
        let (_, shown) = error(&format!("{TABLED}    rows: []\n"), &[]);
        assert!(shown.contains("at least one swept key"), "{shown}");
        let (_, shown) = error(
            "dataset: {name: shapes}\nreport: {table: {rows: [train.seed]}}\n",
            &[],
        );
        assert!(shown.contains("this pipeline sweeps nothing"), "{shown}");
    }

    #[test]
    fn report_table_metrics_must_be_evaluated() {
        let text = format!(
            "eval: {{metrics: [rmse_ai, psnr]}}\n{TABLED}    rows: [train.seed]\n    \
             metrics: [psnr, ssim]\n"
        );
        let (err, shown) = error(&text, &[]);
        assert_eq!(
            err.key.as_deref(),
            Some("report.table.metrics.1"),
            "{shown}"
        );
        assert!(
            shown.contains("ssim is not in eval.metrics (rmse_ai, psnr)"),
            "{shown}"
        );
    }

    #[test]
    fn report_table_labels_must_match_a_row_value() {
        let text = format!("{TABLED}    rows: [loss.terms]\n    labels: {{bce+ffl: FFL}}\n");
        let (err, shown) = error(&text, &[]);
        assert_eq!(err.key.as_deref(), Some("report.table.labels"), "{shown}");
        assert!(
            shown.contains("label `bce+ffl` matches no value"),
            "{shown}"
        );
        assert!(shown.contains("(values: bce, bce+fft)"), "{shown}");
        // A seed is not a row key here, so its values are not labels either.
        let text = format!("{TABLED}    rows: [loss.terms]\n    labels: {{'0': s0}}\n");
        assert!(load(&text, &[]).is_err());
    }

    #[test]
    fn report_cannot_be_swept_or_misspelt() {
        let text = format!("{TABLED}    rows: [loss.terms]\n");
        let (_, shown) = error(&text, &["report.table.rows=[train.seed],[loss.terms]"]);
        assert!(shown.contains("report section cannot be swept"), "{shown}");
        let (err, shown) = error(&format!("{TABLED}    rowz: [loss.terms]\n"), &[]);
        assert_eq!(err.key.as_deref(), Some("report.table.rowz"), "{shown}");
    }

    #[test]
    fn report_section_changes_no_dataset_train_or_eval_key() {
        use crate::dag::plan::{build_plan, NodeKind};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::dag::store::Store::new(dir.path().join("c"), dir.path().join("r"));
        let keys = |text: &str| {
            let plan = build_plan(
                load(text, &[]).unwrap(),
                &store,
                &crate::code_version::current,
            )
            .unwrap();
            let of = |kind: NodeKind| -> Vec<String> {
                plan.nodes
                    .iter()
                    .filter(|n| n.kind == kind)
                    .map(|n| n.key.short())
                    .collect()
            };
            (
                [NodeKind::Dataset, NodeKind::Train, NodeKind::Eval].map(of),
                of(NodeKind::Report),
            )
        };
        let plain = TABLED.trim_end_matches("report:\n  table:\n");
        let tabled = format!("{TABLED}    rows: [loss.terms]\n");
        let (cells_plain, report_plain) = keys(plain);
        let (cells_tabled, report_tabled) = keys(&tabled);
        assert_eq!(cells_plain, cells_tabled);
        assert_eq!(cells_plain[1].len(), 4);
        assert_ne!(report_plain, report_tabled);
    }

    /// The device is where training runs, not what it computes: not in any key
    /// unless `train.device_in_key` asks, and then as the kind it resolves to.
    #[test]
    fn device_is_in_the_training_key_only_when_asked() {
        use crate::dag::plan::{build_plan, NodeKind};
        use crate::device::{resolve, Device};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::dag::store::Store::new(dir.path().join("c"), dir.path().join("r"));
        let train_key = |overrides: &[&str]| {
            let plan = build_plan(
                load(MINIMAL, overrides).unwrap(),
                &store,
                &crate::code_version::current,
            )
            .unwrap();
            let node = plan.nodes.iter().find(|n| n.kind == NodeKind::Train);
            node.unwrap().key
        };
        let plain = train_key(&[]);
        assert_eq!(train_key(&["train.device=cpu"]), plain);
        assert_eq!(train_key(&["train.device=cuda:1"]), plain);
        let cpu_kept_apart = train_key(&["train.device=cpu", "train.device_in_key=true"]);
        assert_ne!(cpu_kept_apart, plain);
        assert_ne!(
            train_key(&["train.device=cuda", "train.device_in_key=true"]),
            cpu_kept_apart
        );
        // `auto` shares the key of the device it means on this machine.
        let auto = train_key(&["train.device=auto", "train.device_in_key=true"]);
        if resolve(crate::pipeline::schema::DeviceChoice::Auto) == Ok(Device::Cpu) {
            assert_eq!(auto, cpu_kept_apart);
        } else {
            assert_ne!(auto, cpu_kept_apart);
        }
    }

    #[test]
    fn devices_parse_and_print_as_written() {
        use crate::pipeline::schema::DeviceChoice;
        let device = |o: &str| load(MINIMAL, &[o]).map(|p| p.cells[0].config.train.device);
        assert_eq!(device("train.device=auto"), Ok(DeviceChoice::Auto));
        assert_eq!(device("train.device=cpu"), Ok(DeviceChoice::Cpu));
        assert_eq!(device("train.device=cuda"), Ok(DeviceChoice::AnyCuda));
        assert_eq!(device("train.device=cuda:3"), Ok(DeviceChoice::Cuda(3)));
        for text in ["auto", "cpu", "cuda", "cuda:0", "cuda:12"] {
            let choice: DeviceChoice = text.parse().unwrap();
            assert_eq!(choice.to_string(), text);
        }
        for bad in ["gpu", "cuda:1x", "cuda:-1", "cuda:x", "CUDA"] {
            let (err, shown) = error(MINIMAL, &[&format!("train.device={bad}")]);
            assert_eq!(err.key.as_deref(), Some("train.device"), "{shown}");
            assert!(
                shown.contains("expected `auto`, `cpu`, `cuda` or `cuda:N`"),
                "{shown}"
            );
        }
    }

    /// A machine-dependent check's issue is placed like any other: at the line in
    /// the file, or at the `-o` argument that set the value.
    #[test]
    fn cell_checks_are_placed_where_the_value_was_written() {
        let text = "dataset: {name: shapes}\ntrain:\n  device: cuda:1\n";
        let no_gpu = |cfg: &ResolvedPipeline| match cfg.train.device {
            crate::pipeline::schema::DeviceChoice::Cuda(_) => {
                Err(ConfigIssue::new("train.device", "no GPU here"))
            }
            _ => Ok(()),
        };
        let load_checked = |overrides: &[&str]| {
            let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
            load_text(
                Path::new("p.yaml"),
                text,
                &overrides,
                &no_gpu,
                DEFAULT_MAX_CELLS,
            )
        };
        let err = load_checked(&[]).unwrap_err();
        assert_eq!(err.to_string(), "p.yaml:3:3: train.device: no GPU here");
        let err = load_checked(&["train.device=cuda:0"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.yaml: -o train.device=cuda:0: train.device: no GPU here"
        );
        assert!(load_checked(&["train.device=cpu"]).is_ok());
        // The unchecked loader accepts what the check refuses.
        assert!(load_pipeline_str(Path::new("p.yaml"), text, &[]).is_ok());
    }

    #[test]
    fn minimal_pipeline_loads_with_the_file_stem_as_name() {
        let p = load(MINIMAL, &[]).unwrap();
        assert_eq!(p.name, "x");
        assert_eq!(p.cells.len(), 1);
        assert!(p.swept_keys.is_empty());
        assert!(p.cells[0].label.is_empty() && p.cells[0].overrides.is_empty());
        assert!(matches!(p.cells[0].config.dataset, DatasetSpec::Shapes(_)));
    }

    #[test]
    fn unknown_key_suggests_and_points_at_the_key() {
        let (err, shown) = error(
            "dataset: {name: shapes}\ntrain:\n  epochs: 1\n  bacth: 16\n",
            &[],
        );
        assert_eq!((err.line, err.column), (Some(4), Some(3)));
        assert_eq!(err.key.as_deref(), Some("train.bacth"));
        assert!(shown.starts_with("pipelines/x.yaml:4:3: train.bacth: unknown key `bacth` (did you mean `batch`?); valid keys: epochs, batch,"), "{shown}");
        let (err, shown) = error(
            "dataset: {name: shapes}\ntrain:\n  optimizer: {adam: {lrr: 1}}\n",
            &[],
        );
        assert_eq!((err.line, err.column), (Some(3), Some(22)));
        assert_eq!(
            shown,
            "pipelines/x.yaml:3:22: train.optimizer.adam.lrr: unknown key `lrr` (did you mean `lr`?); valid keys: lr, betas, eps"
        );
        let (err, _) = error("datset: {name: shapes}\n", &[]);
        assert_eq!(err.key.as_deref(), Some("datset"));
        assert!(
            err.message.contains("did you mean `dataset`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn wrong_type_names_the_path_in_plain_words() {
        let (err, shown) = error(
            "dataset: {name: shapes}\nloss:\n  terms: [{bce: {}}, {fft: {weight: abc}}]\n",
            &[],
        );
        assert_eq!(
            shown,
            "pipelines/x.yaml:3:29: loss.terms.1.fft.weight: invalid type: string \"abc\", expected a number"
        );
        assert_eq!(err.key.as_deref(), Some("loss.terms.1.fft.weight"));
        let (err, _) = error("dataset: {name: shapes}\ntrain:\n  epochs: many\n", &[]);
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(3), Some("train.epochs"))
        );
    }

    /// No Rust type names: a section is a mapping, a count a whole number in its
    /// range, a list a list.
    #[test]
    fn type_errors_speak_of_mappings_lists_and_numbers() {
        let (err, shown) = error("dataset: garbage\n", &[]);
        assert_eq!(err.key.as_deref(), Some("dataset"));
        assert!(
            shown.ends_with("dataset: invalid type: string \"garbage\", expected a mapping"),
            "{shown}"
        );
        let (_, shown) = error(MINIMAL, &["dataset=garbage"]);
        assert!(shown.ends_with("expected a mapping"), "{shown}");
        // A list where a mapping belongs is named at the list, not at its first item.
        let (err, shown) = error("dataset: {name: shapes}\nmodel: [1, 2]\n", &[]);
        assert_eq!((err.line, err.key.as_deref()), (Some(2), Some("model")));
        assert!(
            shown.ends_with("model: invalid type: list, expected a mapping"),
            "{shown}"
        );
        let (err, _) = error(
            "dataset: {name: shapes}\nsweep: {train.seed: [0, 1]}\nreport: {table: [train.seed]}\n",
            &[],
        );
        assert_eq!(err.key.as_deref(), Some("report.table"));
        // ... but an item of a real list keeps its own path.
        let (err, shown) = error(
            "dataset: {name: shapes}\ntrain: {optimizer: {adam: {betas: [0.9, x]}}}\n",
            &[],
        );
        assert_eq!(
            err.key.as_deref(),
            Some("train.optimizer.adam.betas.1"),
            "{shown}"
        );
        assert!(shown.ends_with("expected a number"), "{shown}");
        let (_, shown) = error(
            "dataset: {name: shapes}\ntrain: {optimizer: {adam: {betas: [0.9]}}}\n",
            &[],
        );
        assert!(
            shown.ends_with("invalid length 1, expected a list of 2 items"),
            "{shown}"
        );
        for (text, words) in [
            (
                "epochs: many",
                "invalid type: string \"many\", expected a whole number",
            ),
            (
                "epochs: null",
                "invalid type: null, expected a whole number",
            ),
            ("epochs: 1.5", "must be a whole number, got 1.5"),
            (
                "epochs: 2.0",
                "must be a whole number written without a decimal point or exponent, got 2.0",
            ),
            (
                "epochs: -1",
                "must be a whole number from 0 to 4294967295, got -1",
            ),
            (
                "epochs: 1000000000000",
                "must be a whole number from 0 to 4294967295, got 1000000000000",
            ),
            (
                "epochs: 1e23",
                "must be a whole number from 0 to 4294967295, got 1e+23",
            ),
            (
                "seed: 18446744073709551616",
                "must be a whole number from 0 to 18446744073709551615, got 1.8446744073709552e+19",
            ),
            ("seed: 18446744073709551615", ""),
        ] {
            let text = format!("dataset: {{name: shapes}}\ntrain:\n  {text}\n");
            if words.is_empty() {
                assert!(load(&text, &[]).is_ok(), "{text}");
                continue;
            }
            let (err, shown) = error(&text, &[]);
            assert_eq!(err.line, Some(3), "{shown}");
            assert!(shown.ends_with(words), "{text}: {shown}");
            assert!(!shown.contains("u32") && !shown.contains("u64"), "{shown}");
        }
    }

    /// `.nan`, `.inf` and overflowing literals are numbers YAML can write but no
    /// setting takes; the error names the key, wherever the value came from.
    #[test]
    fn non_finite_numbers_are_rejected_at_their_key() {
        let text = "dataset: {name: shapes}\nloss:\n  terms: [{bce: {}}, {fft: {weight: .nan}}]\n";
        let (err, shown) = error(text, &[]);
        assert_eq!(
            shown,
            "pipelines/x.yaml:3:29: loss.terms.1.fft.weight: must be a finite number, got .nan"
        );
        assert_eq!(err.key.as_deref(), Some("loss.terms.1.fft.weight"));
        for (value, spelled) in [(".inf", ".inf"), ("-.Inf", "-.inf"), ("1e999", ".inf")] {
            let (err, shown) = error(
                &format!("dataset: {{name: shapes}}\nloss: {{alpha: {value}}}\n"),
                &[],
            );
            assert_eq!(err.key.as_deref(), Some("loss.alpha"));
            assert!(
                shown.ends_with(&format!(
                    "loss.alpha: must be a finite number, got {spelled}"
                )),
                "{shown}"
            );
        }
        let (_, shown) = error("dataset: {name: shapes}\ntrain: {epochs: .inf}\n", &[]);
        assert!(
            shown.ends_with("train.epochs: must be a whole number from 0 to 4294967295, got .inf"),
            "{shown}"
        );
        let (_, shown) = error(MINIMAL, &["loss.alpha=.nan"]);
        assert_eq!(
            shown,
            "pipelines/x.yaml: -o loss.alpha=.nan: loss.alpha: must be a finite number, got .nan"
        );
        let (err, shown) = error(
            "dataset: {name: shapes}\nsweep:\n  loss.alpha: [0.5, .nan]\n",
            &[],
        );
        assert_eq!((err.line, err.column), (Some(3), Some(21)));
        assert!(
            shown.ends_with("loss.alpha: must be a finite number, got .nan (sweep value .nan)"),
            "{shown}"
        );
        assert!(!shown.contains("invalid YAML"), "{shown}");
        // As text, the same spelling is just text.
        assert_eq!(
            load("name: .inf\ndataset: {name: shapes}\n", &[])
                .unwrap()
                .name,
            ".inf"
        );
    }

    #[test]
    fn repeated_keys_are_named_with_their_path() {
        let (err, shown) = error(
            "dataset: {name: shapes}\ntrain:\n  epochs: 1\n  epochs: 2\n",
            &[],
        );
        assert_eq!(
            shown,
            "pipelines/x.yaml:4:3: train.epochs: duplicate key `epochs` (first written at line 3)"
        );
        assert_eq!(err.key.as_deref(), Some("train.epochs"));
        let (_, shown) = error(
            "dataset: {name: shapes}\nsweep:\n  model.upsampler: [convt]\n  model.upsampler: [n15]\n",
            &[],
        );
        assert_eq!(
            shown,
            "pipelines/x.yaml:4:3: sweep.model.upsampler: duplicate key `model.upsampler` (first written at line 3)"
        );
        let (_, shown) = error("dataset: {name: shapes}\ndataset: {name: mnist}\n", &[]);
        assert_eq!(
            shown,
            "pipelines/x.yaml:2:1: duplicate key `dataset` (first written at line 1)"
        );
        assert!(!shown.contains("Policy"), "{shown}");
    }

    #[test]
    fn a_key_given_twice_with_o_is_an_error() {
        let (err, shown) = error(
            MINIMAL,
            &["train.epochs=2", "train.seed=1", "train.epochs=3"],
        );
        assert_eq!(
            shown,
            "pipelines/x.yaml: -o train.epochs=3: train.epochs is already set by -o train.epochs=2; give each key once"
        );
        assert_eq!(err.key.as_deref(), Some("train.epochs"));
        // Spaces around the key do not make another key.
        assert!(load(MINIMAL, &["train.epochs=2", " train.epochs =3"]).is_err());
        // A section and a key inside it are different keys.
        let p = load(MINIMAL, &["train={epochs: 2}", "train.seed=4"]).unwrap();
        assert_eq!(
            (p.cells[0].config.train.epochs, p.cells[0].config.train.seed),
            (2, 4)
        );
    }

    /// Only a regular file of UTF-8 text is read; a FIFO would block the read.
    #[test]
    fn only_regular_text_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_pipeline(dir.path(), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: is a directory, not a pipeline file",
                dir.path().display()
            )
        );
        #[cfg(unix)]
        {
            let err = load_pipeline(Path::new("/dev/null"), &[]).unwrap_err();
            assert_eq!(
                err.to_string(),
                "/dev/null: not a regular file (a character device); give the pipeline file itself"
            );
            let socket = dir.path().join("s.yaml");
            let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
            let err = load_pipeline(&socket, &[]).unwrap_err();
            assert!(
                err.to_string().contains("not a regular file (a socket)"),
                "{err}"
            );
        }
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, b"dataset: {name: shapes}\nname: \"ab\xffc\"\n").unwrap();
        let err = load_pipeline(&file, &[]).unwrap_err();
        assert_eq!((err.line, err.column), (Some(2), Some(10)));
        assert!(
            err.to_string()
                .ends_with("not UTF-8 text (byte 0xff); a pipeline file is YAML text"),
            "{err}"
        );
    }

    #[test]
    fn yaml_limits_are_named_in_words() {
        let seeds: Vec<String> = (0..260_000).map(|i| i.to_string()).collect();
        let text = format!(
            "dataset: {{name: shapes}}\nsweep: {{train.seed: [{}]}}\n",
            seeds.join(",")
        );
        let (err, shown) = error(&text, &[]);
        assert_eq!(err.line, Some(2));
        assert!(
            shown.ends_with("too many YAML nodes: more than 250000 values, lists and mappings (a pipeline needs a few hundred)"),
            "{shown}"
        );
        let mut bomb =
            String::from("dataset: {name: shapes}\nx:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in [
            ("b", "a"),
            ("c", "b"),
            ("d", "c"),
            ("e", "d"),
            ("f", "e"),
            ("g", "f"),
        ] {
            let items = vec![format!("*{previous}"); 10].join(", ");
            bomb.push_str(&format!("  {name}: &{name} [{items}]\n"));
        }
        let (_, shown) = error(&bomb, &[]);
        assert!(
            shown.contains("once aliases are expanded")
                && shown.ends_with("(a pipeline needs a few hundred)"),
            "{shown}"
        );
        let (_, shown) = error(
            &format!(
                "dataset: {{name: shapes}}\nx: {}{}\n",
                "[".repeat(5000),
                "]".repeat(5000)
            ),
            &[],
        );
        assert!(shown.contains("nested"), "{shown}");
        let (err, shown) = error("dataset: {name: shapes}\n---\ntrain: {}\n", &[]);
        assert_eq!(err.line, Some(3));
        assert!(
            shown.ends_with("a second YAML document starts here; a pipeline file holds one"),
            "{shown}"
        );
        assert!(!shown.contains("from_str"), "{shown}");
    }

    #[test]
    fn yaml_1_1_booleans_are_strings() {
        let (err, shown) = error("dataset: {name: mnist, binarize: yes}\n", &[]);
        assert_eq!(err.key.as_deref(), Some("dataset.binarize"));
        assert!(
            shown.contains("invalid type: string \"yes\", expected a boolean"),
            "{shown}"
        );
        let (err, _) = error("dataset: {name: shapes}\ntrain:\n  shuffle: on\n", &[]);
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(3), Some("train.shuffle"))
        );
        let p = load("dataset: {name: mnist, binarize: true}\n", &[]).unwrap();
        assert!(matches!(&p.cells[0].config.dataset, DatasetSpec::Mnist(m) if m.binarize));
        // As a string, `no` is a fine name.
        assert_eq!(
            load("name: no\ndataset: {name: shapes}\n", &[])
                .unwrap()
                .name,
            "no"
        );
    }

    #[test]
    fn range_errors_point_at_the_key() {
        let (err, shown) = error(
            "dataset: {name: shapes}\ntrain:\n  optimizer: {adam: {lr: -0.001}}\n",
            &[],
        );
        assert_eq!(
            shown,
            "pipelines/x.yaml:3:22: train.optimizer.adam.lr must be > 0, got -0.001"
        );
        assert_eq!(err.key.as_deref(), Some("train.optimizer.adam.lr"));
        let (_, shown) = error("dataset: {name: shapes}\nloss:\n  alpha: 1.5\n", &[]);
        assert_eq!(
            shown,
            "pipelines/x.yaml:3:3: loss.alpha must be in [0, 1], got 1.5"
        );
    }

    #[test]
    fn unknown_values_and_terms() {
        let (err, shown) = error("dataset: {name: shapes}\nmodel:\n  upsampler: n16\n", &[]);
        assert_eq!(
            shown,
            "pipelines/x.yaml:3:3: unknown value `n16` for model.upsampler (did you mean `n15`?); expected one of convt, n13, n15, n17, b13, b15, b17, z13, z15, z17, n35, b35, z35"
        );
        assert_eq!(err.key.as_deref(), Some("model.upsampler"));
        let (err, shown) = error(
            "dataset: {name: shapes}\nloss:\n  terms: [{bce: {}}, {fftt: {}}]\n",
            &[],
        );
        assert_eq!(err.key.as_deref(), Some("loss.terms.1.fftt"));
        assert_eq!((err.line, err.column), (Some(3), Some(23)));
        assert!(
            shown.contains(
                "unknown key `fftt` (did you mean `fft`?); valid keys: bce, mse, l1, fft, ssim, ai, watson_dft, ffl, fuoli, stft, wiener"
            ),
            "{shown}"
        );
        let (err, _) = error(
            "dataset: {name: shapes}\ntrain: {optimizer: {sgd: {}}}\n",
            &[],
        );
        assert_eq!(err.key.as_deref(), Some("train.optimizer.sgd"));
        let (_, shown) = error("dataset: {name: shapes}\ntrain: {optimizer: adam}\n", &[]);
        assert!(shown.contains("write `{adam: {}}`"), "{shown}");
        let (_, shown) = error(
            "dataset: {name: shapes}\nloss: {terms: [{bce: {}, fft: {}}]}\n",
            &[],
        );
        assert!(
            shown.contains("exactly one key") && shown.contains("bce, fft"),
            "{shown}"
        );
    }

    #[test]
    fn missing_required_key_names_the_parent_line() {
        let (err, shown) = error("model: {latent: 8}\ndataset:\n  size: 32\n", &[]);
        assert_eq!(err.key.as_deref(), Some("dataset.name"));
        assert_eq!(err.line, Some(2));
        assert!(shown.contains("missing required key `name`"), "{shown}");
        let (err, _) = error("model: {latent: 8}\n", &[]);
        assert_eq!((err.line, err.key.as_deref()), (Some(1), Some("dataset")));
    }

    #[test]
    fn empty_sections_mean_defaults() {
        let p = load(
            "dataset: {name: shapes}\ntrain:\n  # epochs: 3\nloss:\n",
            &[],
        )
        .unwrap();
        let q = load(MINIMAL, &[]).unwrap();
        assert_eq!(p.cells[0].config, q.cells[0].config);
        let (err, _) = error("dataset:\n", &[]);
        assert_eq!(err.key.as_deref(), Some("dataset"));
    }

    #[test]
    fn file_level_errors() {
        let (_, shown) = error("", &[]);
        assert_eq!(shown, "pipelines/x.yaml: pipeline file is empty");
        let (_, shown) = error("# only a comment\n\n   \n", &[]);
        assert!(shown.contains("empty"), "{shown}");
        let err = load_pipeline(Path::new("/nonexistent/nope.yaml"), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/nonexistent/nope.yaml: pipeline file not found"
        );
        let (err, shown) = error(
            "dataset: {name: shapes}\ntrain:\n  epochs: [1, 2\n  batch: 3\n",
            &[],
        );
        assert!(err.line.is_some() && err.column.is_some(), "{shown}");
        assert!(shown.contains("invalid YAML"), "{shown}");
        let (err, shown) = error("dataset: {name: shapes}\ndataset: {name: mnist}\n", &[]);
        assert_eq!(err.line, Some(2), "{shown}");
        let (_, shown) = error("- 1\n- 2\n", &[]);
        assert!(
            shown.starts_with("pipelines/x.yaml:1:1: the top level must be a mapping"),
            "{shown}"
        );
    }

    #[test]
    fn sweep_expands_last_key_fastest() {
        let text = "dataset: {name: shapes}\nsweep:\n  model.upsampler: [convt, n15]\n  loss.alpha: [0.0, 0.5, 1.0]\n";
        let p = load(text, &[]).unwrap();
        assert_eq!(p.swept_keys, ["model.upsampler", "loss.alpha"]);
        assert_eq!(p.cells.len(), 6);
        let labels: Vec<Vec<String>> = p.cells.iter().map(|c| c.overrides.clone()).collect();
        assert_eq!(labels[0], ["model.upsampler=convt", "loss.alpha=0.0"]);
        assert_eq!(labels[1], ["model.upsampler=convt", "loss.alpha=0.5"]);
        assert_eq!(labels[3], ["model.upsampler=n15", "loss.alpha=0.0"]);
        assert_eq!(
            p.cells[5].label,
            vec![
                ("model.upsampler".to_string(), json!("n15")),
                ("loss.alpha".to_string(), json!(1.0))
            ]
        );
        assert_eq!(
            p.cells[5].config.model.upsampler,
            UpsamplerName::named("n15").unwrap()
        );
        assert_eq!(p.cells[5].config.loss.alpha, Some(1.0));
        // File order, not alphabetical.
        let text =
            "dataset: {name: shapes}\nsweep:\n  train.seed: [1, 2]\n  loss.alpha: [0.0, 0.5]\n";
        assert_eq!(
            load(text, &[]).unwrap().swept_keys,
            ["train.seed", "loss.alpha"]
        );
        // A cell's overrides reproduce it.
        let p = load(
            "dataset: {name: shapes}\nsweep: {model.upsampler: [convt, n15]}\n",
            &[],
        )
        .unwrap();
        let again = load(MINIMAL, &["model.upsampler=n15"]).unwrap();
        assert_eq!(again.cells[0].config, p.cells[1].config);
        assert_eq!(p.cells[1].overrides, ["model.upsampler=n15"]);
    }

    #[test]
    fn overrides_replace_sweep_axes_and_add_their_own() {
        let text = "dataset: {name: shapes}\nsweep:\n  model.upsampler: [convt, n15]\n  loss.alpha: [0.0, 0.5]\n";
        let p = load(text, &["model.upsampler=n13,n15,n17", "train.seed=1,2"]).unwrap();
        assert_eq!(
            p.swept_keys,
            ["model.upsampler", "loss.alpha", "train.seed"]
        );
        assert_eq!(p.cells.len(), 12);
        assert_eq!(
            p.cells[0].config.model.upsampler,
            UpsamplerName::named("n13").unwrap()
        );
        assert_eq!(p.cells[1].config.train.seed, 2);
        let p = load(text, &["model.upsampler=n17"]).unwrap();
        assert_eq!(p.swept_keys, ["loss.alpha"]);
        assert_eq!(p.cells.len(), 2);
        assert!(p
            .cells
            .iter()
            .all(|c| c.config.model.upsampler == UpsamplerName::named("n17").unwrap()));
    }

    #[test]
    fn override_of_an_array_element() {
        let text = "dataset: {name: shapes}\nloss:\n  terms: [{bce: {}}, {fft: {}}]\n";
        let p = load(text, &["loss.terms.1.fft.weight=0.3"]).unwrap();
        match &p.cells[0].config.loss.terms[1] {
            LossTerm::Fft(t) => assert_eq!(t.weight, 0.3),
            other => panic!("{other:?}"),
        }
        let (err, shown) = error(text, &["loss.terms.2.fft.weight=0.3"]);
        assert_eq!(
            err.origin.as_deref(),
            Some("-o loss.terms.2.fft.weight=0.3")
        );
        assert!(shown.contains("loss.terms has 2 items"), "{shown}");
    }

    #[test]
    fn errors_from_overrides_name_the_override() {
        let (err, shown) = error(MINIMAL, &["train.optimizer.adam.lr=-1"]);
        assert_eq!(
            shown,
            "pipelines/x.yaml: -o train.optimizer.adam.lr=-1: train.optimizer.adam.lr must be > 0, got -1"
        );
        assert_eq!(err.line, None);
        let (_, shown) = error(MINIMAL, &["model.upsampler=n16"]);
        assert!(
            shown.starts_with("pipelines/x.yaml: -o model.upsampler=n16: unknown value `n16`"),
            "{shown}"
        );
        let (_, shown) = error(MINIMAL, &["model.upsampler=convt,n16"]);
        assert!(
            shown.starts_with("pipelines/x.yaml: -o model.upsampler=n16: unknown value"),
            "{shown}"
        );
        let (_, shown) = error(MINIMAL, &["train.optimizer.adam.lrr=1"]);
        assert!(
            shown.contains(
                "-o train.optimizer.adam.lrr=1: train.optimizer.adam.lrr: unknown key `lrr`"
            ),
            "{shown}"
        );
        // The override created `train.epochs` as a mapping.
        let (err, _) = error(MINIMAL, &["train.epochs.x=1"]);
        assert_eq!(err.origin.as_deref(), Some("-o train.epochs.x=1"));
        let (_, shown) = error(MINIMAL, &["foo"]);
        assert_eq!(
            shown,
            "pipelines/x.yaml: -o foo: expected KEY=VALUE, e.g. -o train.epochs=5"
        );
        let (_, shown) = error(MINIMAL, &["=3"]);
        assert!(shown.contains("-o =3: the key is empty"), "{shown}");
        let (_, shown) = error(MINIMAL, &["sweep.loss.alpha=0.1"]);
        assert!(shown.contains("cannot change the sweep block"), "{shown}");
        let (_, shown) = error(MINIMAL, &["name=a,b"]);
        assert!(shown.contains("cannot be swept"), "{shown}");
    }

    #[test]
    fn errors_from_sweep_values_point_at_the_value() {
        let text = "dataset: {name: shapes}\nsweep:\n  loss.alpha: [0.5, 1.5]\n";
        let (err, shown) = error(text, &[]);
        assert_eq!((err.line, err.column), (Some(3), Some(21)));
        assert_eq!(err.origin.as_deref(), Some("sweep"));
        assert_eq!(
            shown,
            "pipelines/x.yaml:3:21: loss.alpha must be in [0, 1], got 1.5 (sweep value 1.5)"
        );
        let (err, shown) = error("dataset: {name: shapes}\nsweep:\n  loss.alpha: 0.5\n", &[]);
        assert_eq!(
            (err.line, err.key.as_deref()),
            (Some(3), Some("sweep.loss.alpha"))
        );
        assert!(shown.contains("must be a list"), "{shown}");
        let (_, shown) = error("dataset: {name: shapes}\nsweep:\n  loss.alpha: []\n", &[]);
        assert!(shown.contains("at least one value"), "{shown}");
        let (err, _) = error("dataset: {name: shapes}\nsweep:\n  name: [a, b]\n", &[]);
        assert_eq!(err.line, Some(3));
        // A cross-key problem in one cell names the cell.
        let text = "dataset: {name: shapes}\neval: {images: 100}\nsweep:\n  dataset.test_images: [1000, 10]\n";
        let (err, shown) = error(text, &[]);
        assert_eq!(err.line, Some(2));
        assert!(
            shown.ends_with("(in cell dataset.test_images=10)"),
            "{shown}"
        );
    }
}
