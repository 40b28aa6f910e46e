//! A CSV result table read whole into memory, and what kind of runner table it
//! is (pipeline summary, eval summary, per-image metrics), which decides the
//! default key and metric columns of `runner diff` and `runner ls`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::dag::store::{read_done, REPORT_DIR};

/// Columns of a pipeline summary that hold node keys (compared as text, never
/// numerically).
pub const KEY_COLUMNS: [&str; 3] = ["dataset_key", "train_key", "eval_key"];
/// The status column of a pipeline summary (done / failed).
pub const STATUS_COLUMN: &str = "status";

/// What kind of table a CSV file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// `results/<p>/summary.csv`: swept params, status, keys, metric mean/std.
    PipelineSummary,
    /// An eval's `summary.csv`: `metric,mean,std`.
    EvalSummary,
    /// An eval's `metrics.csv`: `image,<metric>...`.
    Metrics,
    /// Any other CSV.
    Other,
}

impl TableKind {
    /// A name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            TableKind::PipelineSummary => "a pipeline summary",
            TableKind::EvalSummary => "an eval summary",
            TableKind::Metrics => "a per-image metrics table",
            TableKind::Other => "a CSV table",
        }
    }
}

/// A CSV file: header and rows of text fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where it was read from (for messages).
    pub source: PathBuf,
    /// Column names.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads a CSV file; errors name the file (and the record for parse errors).
    /// A file that a node recorded in its DONE must still hash to what it
    /// wrote: an altered one is an error, never compared.
    pub fn read(path: &Path) -> Result<Table> {
        let text =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        check_recorded(path, &text)?;
        Self::parse(path, &text)
    }

    /// Parses CSV bytes read from `source`.
    pub fn parse(source: &Path, bytes: &[u8]) -> Result<Table> {
        let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
        let headers: Vec<String> = reader
            .headers()
            .with_context(|| format!("cannot parse {} as CSV", source.display()))?
            .iter()
            .map(str::to_string)
            .collect();
        if headers.iter().all(|h| h.is_empty()) {
            bail!("{} is empty: no CSV header row", source.display());
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record =
                record.with_context(|| format!("cannot parse {} as CSV", source.display()))?;
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok(Table {
            source: source.to_path_buf(),
            headers,
            rows,
        })
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// What kind of runner table this is, from its header.
    pub fn kind(&self) -> TableKind {
        let has = |c: &str| self.column(c).is_some();
        if has(STATUS_COLUMN) && KEY_COLUMNS.iter().all(|c| has(c)) {
            TableKind::PipelineSummary
        } else if self.headers == ["metric", "mean", "std"] {
            TableKind::EvalSummary
        } else if self.headers.first().is_some_and(|h| h == "image") {
            TableKind::Metrics
        } else {
            TableKind::Other
        }
    }

    /// The swept-parameter columns of a pipeline summary: all but status, keys
    /// and metric mean/std.
    pub fn swept_columns(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|h| {
                !is_metric_stat(h) && *h != STATUS_COLUMN && !KEY_COLUMNS.contains(&h.as_str())
            })
            .cloned()
            .collect()
    }

    /// The field of `row` in column `name` ("" when absent).
    pub fn field<'a>(&'a self, row: &'a [String], name: &str) -> &'a str {
        self.column(name)
            .and_then(|i| row.get(i))
            .map_or("", String::as_str)
    }
}

/// When the DONE of the folder holding `path` (a node's outputs) or of the
/// report beside it (`results/<p>/.report/DONE`) records the file, its `bytes`
/// must hash to the recorded blake3.
fn check_recorded(path: &Path, bytes: &[u8]) -> Result<()> {
    let Some((dir, name)) = path.parent().zip(path.file_name().and_then(|n| n.to_str())) else {
        return Ok(());
    };
    let candidates = [
        (dir.to_path_buf(), name.to_string()),
        (dir.join(REPORT_DIR), format!("../{name}")),
    ];
    for (node_dir, recorded_as) in candidates {
        let Some(done) = read_done(&node_dir) else {
            continue;
        };
        if let Some(record) = done.files.get(&recorded_as) {
            let hash = blake3::hash(bytes).to_hex().to_string();
            if hash != record.blake3 {
                bail!(
                    "{} was altered after runner wrote it (blake3 {}…, DONE in {} recorded \
                     {}…); run its pipeline again to recompute it",
                    path.display(),
                    &hash[..12],
                    node_dir.display(),
                    record.blake3.get(..12).unwrap_or(&record.blake3)
                );
            }
        }
    }
    Ok(())
}

/// Whether a pipeline-summary column holds a metric's mean or std.
pub fn is_metric_stat(column: &str) -> bool {
    column.ends_with("_mean") || column.ends_with("_std")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_headers() {
        let kind = |text: &str| {
            Table::parse(Path::new("t.csv"), text.as_bytes())
                .unwrap()
                .kind()
        };
        assert_eq!(
            kind("train.seed,status,dataset_key,train_key,eval_key,rmse_ai_mean,rmse_ai_std\n"),
            TableKind::PipelineSummary
        );
        assert_eq!(
            kind("metric,mean,std\nrmse_ai,1,2\n"),
            TableKind::EvalSummary
        );
        assert_eq!(kind("image,rmse_ai\n0,1\n"), TableKind::Metrics);
        assert_eq!(kind("a,b\n1,2\n"), TableKind::Other);
    }

    #[test]
    fn swept_columns_exclude_status_keys_and_metrics() {
        let t = Table::parse(
            Path::new("t.csv"),
            b"model.upsampler,train.seed,status,dataset_key,train_key,eval_key,psnr_mean,psnr_std\n",
        )
        .unwrap();
        assert_eq!(t.swept_columns(), ["model.upsampler", "train.seed"]);
    }

    #[test]
    fn ragged_rows_and_empty_files_name_the_file() {
        let err = Table::parse(Path::new("bad.csv"), b"a,b\n1,2,3\n").unwrap_err();
        assert!(format!("{err:#}").contains("bad.csv"), "{err:#}");
        let err = Table::parse(Path::new("empty.csv"), b"").unwrap_err();
        assert!(format!("{err:#}").contains("empty.csv"), "{err:#}");
    }
}
