//! `runner diff`: a keyed, tolerance-aware comparison of two result tables.
//! Rows are matched on key columns; metric values are compared like
//! `numpy.isclose` (|a − b| ≤ atol + rtol·|b|, with NaN equal to NaN); rows on one
//! side only, status changes (done vs failed) and node-key changes are reported.

use std::collections::{BTreeMap, HashSet};

use anyhow::{bail, Result};
use serde::Serialize;

use super::table::{is_metric_stat, Table, TableKind, KEY_COLUMNS, STATUS_COLUMN};

/// Default relative tolerance.
pub const DEFAULT_RTOL: f64 = 1e-6;
/// Default absolute tolerance.
pub const DEFAULT_ATOL: f64 = 0.0;

/// What to compare and how closely.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Columns that identify a row (empty: the table kind's default).
    pub keys: Vec<String>,
    /// Metric columns or metric names (`psnr` means `psnr_mean` and `psnr_std`);
    /// empty: every numeric column present in both.
    pub metrics: Vec<String>,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            keys: Vec::new(),
            metrics: Vec::new(),
            rtol: DEFAULT_RTOL,
            atol: DEFAULT_ATOL,
        }
    }
}

/// One value that differs between A and B.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The row's key values, in key-column order.
    pub key: Vec<String>,
    /// The column.
    pub column: String,
    /// Value in A (as written in the file).
    pub old: String,
    /// Value in B.
    pub new: String,
    /// new − old, when both are numbers.
    pub delta: Option<f64>,
    /// 100·(new − old)/|old|, when both are numbers and old ≠ 0.
    pub delta_pct: Option<f64>,
}

/// The outcome of comparing two tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// Table A's file.
    pub a: String,
    /// Table B's file.
    pub b: String,
    /// Columns that identify a row.
    pub key_columns: Vec<String>,
    /// Columns compared with the tolerance.
    pub metric_columns: Vec<String>,
    /// Relative tolerance used.
    pub rtol: f64,
    /// Absolute tolerance used.
    pub atol: f64,
    /// Rows present in both.
    pub matched_rows: usize,
    /// Metric values beyond the tolerance, and status changes.
    pub changed: Vec<Change>,
    /// Keys of rows only in A.
    pub only_in_a: Vec<Vec<String>>,
    /// Keys of rows only in B.
    pub only_in_b: Vec<Vec<String>>,
    /// Node keys that changed for the same row (informational: the config or
    /// runner changed; does not by itself make the tables differ).
    pub key_changes: Vec<Change>,
    /// Other remarks (columns on one side only).
    pub notes: Vec<String>,
}

impl DiffReport {
    /// Whether the tables differ: a value beyond tolerance, a status change, or
    /// a row on one side only.
    pub fn differs(&self) -> bool {
        !self.changed.is_empty() || !self.only_in_a.is_empty() || !self.only_in_b.is_empty()
    }

    /// A row key as text: `col=value` pairs, or the bare value for one column.
    pub fn row_text(&self, key: &[String]) -> String {
        match key {
            [] => "(the only row)".to_string(),
            [only] if self.key_columns.len() == 1 => only.clone(),
            _ => self
                .key_columns
                .iter()
                .zip(key)
                .map(|(c, v)| format!("{c}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// The one-line summary.
    pub fn summary_line(&self) -> String {
        let changed_rows: HashSet<&Vec<String>> = self.changed.iter().map(|c| &c.key).collect();
        let verdict = if self.differs() { "differ" } else { "match" };
        format!(
            "tables {verdict}: {} value(s) changed in {} of {} matched row(s); {} row(s) only in A, {} only in B ({} metric column(s), rtol {}, atol {})",
            self.changed.len(),
            changed_rows.len(),
            self.matched_rows,
            self.only_in_a.len(),
            self.only_in_b.len(),
            self.metric_columns.len(),
            tolerance_text(self.rtol),
            tolerance_text(self.atol)
        )
    }
}

/// A tolerance as `0` or `1e-6`.
fn tolerance_text(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x:e}")
    }
}

/// `numpy.isclose` on two fields: equal text, both empty, NaN and NaN, equal
/// infinities, or finite numbers with |a − b| ≤ atol + rtol·|b|.
pub fn fields_match(a: &str, b: &str, rtol: f64, atol: f64) -> bool {
    if a == b {
        return true;
    }
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => {
            (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * y.abs()
        }
        _ => false,
    }
}

/// Whether every non-empty field of column `i` parses as a number.
fn numeric_column(table: &Table, i: usize) -> bool {
    first_non_number(table, i).is_none()
}

/// The first row (1-based, after the header) whose field in column `i` is
/// neither empty nor a number, with that field.
fn first_non_number(table: &Table, i: usize) -> Option<(usize, &str)> {
    table
        .rows
        .iter()
        .enumerate()
        .filter_map(|(n, r)| r.get(i).map(|f| (n + 1, f.as_str())))
        .find(|(_, f)| !f.is_empty() && f.trim().parse::<f64>().is_err())
}

/// runner's own tables hold numbers in every metric column: a field that is
/// not one means the file is damaged, which is an error naming it (never a
/// column silently left out of the comparison).
fn check_numbers(table: &Table) -> Result<()> {
    let metric = |c: &str| match table.kind() {
        TableKind::PipelineSummary => is_metric_stat(c),
        TableKind::EvalSummary => c == "mean" || c == "std",
        TableKind::Metrics => c != "image",
        TableKind::Other => false,
    };
    for (i, column) in table.headers.iter().enumerate() {
        if !metric(column) {
            continue;
        }
        if let Some((row, field)) = first_non_number(table, i) {
            bail!(
                "{} does not parse as {}: row {row}, column {column}: `{field}` is not a number",
                table.source.display(),
                table.kind().name()
            );
        }
    }
    Ok(())
}

/// The default key columns of a table kind.
fn default_keys(a: &Table, b: &Table, notes: &mut Vec<String>) -> Vec<String> {
    match a.kind() {
        TableKind::PipelineSummary => {
            let (sa, sb) = (a.swept_columns(), b.swept_columns());
            if sa != sb {
                notes.push(format!(
                    "swept columns differ (A: [{}], B: [{}]); matching on those in both",
                    sa.join(", "),
                    sb.join(", ")
                ));
            }
            sa.into_iter().filter(|c| sb.contains(c)).collect()
        }
        TableKind::EvalSummary => vec!["metric".to_string()],
        TableKind::Metrics => vec!["image".to_string()],
        TableKind::Other => a.headers.first().cloned().into_iter().collect(),
    }
}

/// The metric columns to compare.
fn metric_columns(
    a: &Table,
    b: &Table,
    keys: &[String],
    opts: &DiffOptions,
) -> Result<Vec<String>> {
    let in_both = |c: &str| a.column(c).is_some() && b.column(c).is_some();
    if !opts.metrics.is_empty() {
        let mut out = Vec::new();
        for name in &opts.metrics {
            let stats = [format!("{name}_mean"), format!("{name}_std")];
            if in_both(name) {
                out.push(name.clone());
            } else if stats.iter().all(|c| in_both(c)) {
                out.extend(stats);
            } else {
                bail!(
                    "--metrics {name}: no such column in both {} and {} (columns of A: {})",
                    a.source.display(),
                    b.source.display(),
                    a.headers.join(", ")
                );
            }
        }
        return Ok(out);
    }
    let pipeline = a.kind() == TableKind::PipelineSummary;
    Ok(a.headers
        .iter()
        .enumerate()
        .filter(|(_, c)| in_both(c) && !keys.contains(c))
        .filter(|(i, c)| {
            if pipeline {
                is_metric_stat(c)
            } else {
                let j = b.column(c).unwrap_or(0);
                c.as_str() != STATUS_COLUMN
                    && !KEY_COLUMNS.contains(&c.as_str())
                    && numeric_column(a, *i)
                    && numeric_column(b, j)
            }
        })
        .map(|(_, c)| c.clone())
        .collect())
}

/// Rows of `table` by key; a repeated key is an error.
fn index_rows<'a>(
    table: &'a Table,
    keys: &[String],
) -> Result<BTreeMap<Vec<String>, &'a [String]>> {
    let mut index = BTreeMap::new();
    for row in &table.rows {
        let key: Vec<String> = keys
            .iter()
            .map(|k| table.field(row, k).to_string())
            .collect();
        if index.insert(key.clone(), row.as_slice()).is_some() {
            bail!(
                "{}: more than one row has key [{}] on columns [{}]; pick the columns that identify a row with --key",
                table.source.display(),
                key.join(", "),
                keys.join(", ")
            );
        }
    }
    Ok(index)
}

/// The numeric change from `old` to `new`, when both are finite numbers.
fn delta(old: &str, new: &str) -> (Option<f64>, Option<f64>) {
    match (old.trim().parse::<f64>(), new.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => {
            let d = y - x;
            (Some(d), (x != 0.0).then(|| 100.0 * d / x.abs()))
        }
        _ => (None, None),
    }
}

/// Compares table A (old) with table B (new).
pub fn diff_tables(a: &Table, b: &Table, opts: &DiffOptions) -> Result<DiffReport> {
    check_numbers(a)?;
    check_numbers(b)?;
    if a.kind() != b.kind() && !(a.kind() == TableKind::Other || b.kind() == TableKind::Other) {
        bail!(
            "{} is {} but {} is {}; compare tables of the same kind",
            a.source.display(),
            a.kind().name(),
            b.source.display(),
            b.kind().name()
        );
    }
    let mut notes = Vec::new();
    let keys = if opts.keys.is_empty() {
        default_keys(a, b, &mut notes)
    } else {
        opts.keys.clone()
    };
    for k in &keys {
        for t in [a, b] {
            if t.column(k).is_none() {
                bail!(
                    "--key {k}: {} has no such column (columns: {})",
                    t.source.display(),
                    t.headers.join(", ")
                );
            }
        }
    }
    let metrics = metric_columns(a, b, &keys, opts)?;
    for (side, t, other) in [("A", a, b), ("B", b, a)] {
        let only: Vec<&String> = t
            .headers
            .iter()
            .filter(|c| other.column(c).is_none())
            .collect();
        if !only.is_empty() {
            let names: Vec<&str> = only.iter().map(|s| s.as_str()).collect();
            notes.push(format!("columns only in {side}: {}", names.join(", ")));
        }
    }
    let rows_a = index_rows(a, &keys)?;
    let rows_b = index_rows(b, &keys)?;
    let compare_status = a.column(STATUS_COLUMN).is_some() && b.column(STATUS_COLUMN).is_some();
    let mut report = DiffReport {
        a: a.source.display().to_string(),
        b: b.source.display().to_string(),
        key_columns: keys.clone(),
        metric_columns: metrics.clone(),
        rtol: opts.rtol,
        atol: opts.atol,
        matched_rows: 0,
        changed: Vec::new(),
        only_in_a: Vec::new(),
        only_in_b: Vec::new(),
        key_changes: Vec::new(),
        notes,
    };
    let change = |key: &Vec<String>, column: &str, old: &str, new: &str| {
        let (delta, delta_pct) = delta(old, new);
        Change {
            key: key.clone(),
            column: column.to_string(),
            old: old.to_string(),
            new: new.to_string(),
            delta,
            delta_pct,
        }
    };
    for (key, row_a) in &rows_a {
        let Some(row_b) = rows_b.get(key) else {
            report.only_in_a.push(key.clone());
            continue;
        };
        report.matched_rows += 1;
        if compare_status {
            let (old, new) = (a.field(row_a, STATUS_COLUMN), b.field(row_b, STATUS_COLUMN));
            if old != new {
                report.changed.push(change(key, STATUS_COLUMN, old, new));
            }
        }
        for column in &metrics {
            let (old, new) = (a.field(row_a, column), b.field(row_b, column));
            if !fields_match(old, new, opts.rtol, opts.atol) {
                report.changed.push(change(key, column, old, new));
            }
        }
        for column in KEY_COLUMNS {
            if keys.iter().any(|k| k == column) {
                continue;
            }
            let (old, new) = (a.field(row_a, column), b.field(row_b, column));
            if old != new {
                report.key_changes.push(change(key, column, old, new));
            }
        }
    }
    report.only_in_b = rows_b
        .keys()
        .filter(|k| !rows_a.contains_key(*k))
        .cloned()
        .collect();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn table(name: &str, text: &str) -> Table {
        Table::parse(Path::new(name), text.as_bytes()).unwrap()
    }

    const HEADER: &str = "train.seed,status,dataset_key,train_key,eval_key,rmse_mean,rmse_std\n";

    #[test]
    fn isclose_matches_numpy() {
        // numpy.isclose(a, b, rtol, atol) = |a - b| <= atol + rtol * |b|.
        assert!(fields_match("1.0", "1.0000009", 1e-6, 0.0));
        assert!(!fields_match("1.0", "1.0000011", 1e-6, 0.0));
        // Asymmetric like numpy: the tolerance scales with b.
        assert!(fields_match("0", "1e-7", 0.0, 1e-7));
        assert!(!fields_match("0", "2e-7", 0.0, 1e-7));
        assert!(fields_match("100", "101", 0.01, 0.0)); // 1 <= 0.01 * 101
        assert!(!fields_match("101", "100", 0.0099, 0.0)); // 1 > 0.99
                                                           // NaN equals NaN, infinities equal themselves, text compares exactly.
        assert!(fields_match("NaN", "nan", 0.0, 0.0));
        assert!(!fields_match("NaN", "1", 1.0, 1.0));
        assert!(fields_match("inf", "inf", 0.0, 0.0));
        assert!(!fields_match("inf", "-inf", 0.0, 0.0));
        assert!(fields_match("", "", 0.0, 0.0));
        assert!(!fields_match("", "1", 1.0, 1.0));
        assert!(fields_match("1.000000000e0", "1", 0.0, 0.0));
    }

    #[test]
    fn a_table_against_itself_has_no_differences() {
        let a = table(
            "a.csv",
            &format!("{HEADER}0,done,d,t0,e0,1.5,0.1\n1,done,d,t1,e1,NaN,0.2\n"),
        );
        let report = diff_tables(&a, &a, &DiffOptions::default()).unwrap();
        assert!(!report.differs(), "{report:?}");
        assert_eq!(report.matched_rows, 2);
        assert_eq!(report.key_columns, ["train.seed"]);
        assert_eq!(report.metric_columns, ["rmse_mean", "rmse_std"]);
    }

    #[test]
    fn changed_values_rows_on_one_side_status_and_keys() {
        let a = table(
            "a.csv",
            &format!(
                "{HEADER}0,done,d,t0,e0,2.0,0.1\n1,done,d,t1,e1,3.0,0.2\n2,done,d,t2,e2,4.0,0.3\n"
            ),
        );
        let b = table(
            "b.csv",
            &format!(
                "{HEADER}0,done,d,t0,e0,2.5,0.1\n1,failed,d,t1x,e1x,,\n3,done,d,t3,e3,1.0,0.1\n"
            ),
        );
        let report = diff_tables(&a, &b, &DiffOptions::default()).unwrap();
        assert!(report.differs());
        assert_eq!(report.matched_rows, 2);
        assert_eq!(report.only_in_a, [vec!["2".to_string()]]);
        assert_eq!(report.only_in_b, [vec!["3".to_string()]]);
        let described: Vec<(String, &str, &str, &str)> = report
            .changed
            .iter()
            .map(|c| {
                (
                    c.key.join(","),
                    c.column.as_str(),
                    c.old.as_str(),
                    c.new.as_str(),
                )
            })
            .collect();
        assert_eq!(
            described,
            [
                ("0".to_string(), "rmse_mean", "2.0", "2.5"),
                ("1".to_string(), "status", "done", "failed"),
                ("1".to_string(), "rmse_mean", "3.0", ""),
                ("1".to_string(), "rmse_std", "0.2", ""),
            ]
        );
        let first = &report.changed[0];
        assert_eq!(first.delta, Some(0.5));
        assert_eq!(first.delta_pct, Some(25.0));
        assert_eq!(report.changed[2].delta, None);
        let keys: Vec<(&str, &str, &str)> = report
            .key_changes
            .iter()
            .map(|c| (c.column.as_str(), c.old.as_str(), c.new.as_str()))
            .collect();
        assert_eq!(
            keys,
            [("train_key", "t1", "t1x"), ("eval_key", "e1", "e1x")]
        );
    }

    #[test]
    fn tolerance_options_and_metric_choice() {
        let a = table("a.csv", &format!("{HEADER}0,done,d,t,e,1.0,0.5\n"));
        let b = table("b.csv", &format!("{HEADER}0,done,d,t,e,1.001,0.9\n"));
        let loose = DiffOptions {
            rtol: 1e-2,
            metrics: vec!["rmse_mean".to_string()],
            ..Default::default()
        };
        let report = diff_tables(&a, &b, &loose).unwrap();
        assert!(!report.differs(), "{report:?}");
        let by_name = DiffOptions {
            metrics: vec!["rmse".to_string()],
            ..Default::default()
        };
        let report = diff_tables(&a, &b, &by_name).unwrap();
        assert_eq!(report.metric_columns, ["rmse_mean", "rmse_std"]);
        assert_eq!(report.changed.len(), 2);
        let unknown = DiffOptions {
            metrics: vec!["psnr".to_string()],
            ..Default::default()
        };
        let err = diff_tables(&a, &b, &unknown).unwrap_err().to_string();
        assert!(
            err.contains("--metrics psnr") && err.contains("a.csv"),
            "{err}"
        );
    }

    #[test]
    fn eval_summaries_and_metrics_tables_use_their_key_columns() {
        let a = table("a.csv", "metric,mean,std\nrmse_ai,1.0,0.1\npsnr,20,1\n");
        let b = table("b.csv", "metric,mean,std\npsnr,20,1\nrmse_ai,1.0,0.2\n");
        let report = diff_tables(&a, &b, &DiffOptions::default()).unwrap();
        assert_eq!(report.key_columns, ["metric"]);
        assert_eq!(report.changed.len(), 1);
        assert_eq!(report.changed[0].column, "std");
        assert_eq!(report.changed[0].key, ["rmse_ai"]);

        let m = table("m.csv", "image,rmse\n0,1\n1,2\n");
        let n = table("n.csv", "image,rmse\n0,1\n");
        let report = diff_tables(&m, &n, &DiffOptions::default()).unwrap();
        assert_eq!(report.only_in_a, [vec!["1".to_string()]]);
        assert!(report.changed.is_empty());

        let err = diff_tables(&a, &m, &DiffOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("same kind"), "{err}");
    }

    #[test]
    fn duplicate_keys_and_unknown_key_columns_are_errors() {
        let a = table("a.csv", "x,y\n1,2\n1,3\n");
        let err = diff_tables(&a, &a, &DiffOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--key") && err.contains("a.csv"), "{err}");
        let opts = DiffOptions {
            keys: vec!["x".to_string(), "y".to_string()],
            ..Default::default()
        };
        assert!(!diff_tables(&a, &a, &opts).unwrap().differs());
        let opts = DiffOptions {
            keys: vec!["z".to_string()],
            ..Default::default()
        };
        let err = diff_tables(&a, &a, &opts).unwrap_err().to_string();
        assert!(err.contains("--key z"), "{err}");
    }
}
