//! The paper-shaped table (`report.table`): one row per distinct combination of
//! the row keys, each metric as mean ± std.
//!
//! `report.table.std_over` says what a row's ± runs over. By default (`auto`) a
//! row with several finished cells shows the mean and population std (ddof 0)
//! over those cells of each cell's metric mean, i.e. the spread over the other
//! swept keys (typically `train.seed`), and a row with one finished cell shows
//! that cell's own mean ± std over its test images, as Björk's tables do.
//! `images` pools the test images of all the row's cells; `cells` always takes
//! the spread of the cells' means. table.md says which in a footnote.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use super::markdown::markdown_table;
use super::summary::csv_field;
use crate::atomic::write_atomic;
use crate::dag::plan::pairs_string;
use crate::eval::metrics::{mean_std, pooled_mean_std};
use crate::pipeline::display::value_text;
use crate::pipeline::schema::{StdOver, TableConfig};

/// File names written into `results/<pipeline>/`.
pub const TABLE_CSV: &str = "table.csv";
/// The Markdown version of the table.
pub const TABLE_MD: &str = "table.md";

/// Metric (mean, std) by column name, as in an eval's summary.csv.
pub type CellMetrics = HashMap<String, (f64, f64)>;

/// One grid cell as the table sees it: its swept label and its metrics (`None`
/// when it has no results).
pub type TableCell<'a> = (&'a [(String, Value)], Option<&'a CellMetrics>);

/// What a row's std runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Std over the finished cells' means.
    Cells,
    /// Std over the test images of the row's finished cells (of its one cell,
    /// or of several pooled).
    Images,
    /// No finished cell: no values.
    Empty,
}

/// One table row.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// The row keys' values as shown (after `labels`), in `rows` order.
    pub values: Vec<String>,
    /// Cells of the grid in this row.
    pub cells: usize,
    /// Of those, cells with results.
    pub done: usize,
    /// What the std runs over.
    pub spread: Spread,
    /// (mean, std) per metric column; `None` when no cell has the metric.
    pub metrics: Vec<Option<(f64, f64)>>,
}

/// The values (as text, before `labels`) of the table's row keys in a cell's label.
fn row_values(table: &TableConfig, label: &[(String, Value)]) -> Vec<String> {
    table
        .rows
        .iter()
        .map(|row| {
            label
                .iter()
                .find(|(k, _)| k == row)
                .map(|(_, v)| value_text(v))
                .unwrap_or_default()
        })
        .collect()
}

/// A row value as shown: its `labels` entry, or the value itself.
fn display_value(table: &TableConfig, value: &str) -> String {
    table
        .labels
        .get(value)
        .cloned()
        .unwrap_or_else(|| value.to_string())
}

/// The row a cell belongs to, as shown in the table ("FFT / N.1.5").
fn row_label(table: &TableConfig, label: &[(String, Value)]) -> String {
    row_values(table, label)
        .iter()
        .map(|v| display_value(table, v))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// How every plot names a cell (its swept `label`), so that legends and the table
/// agree: with a declared table, the row the cell belongs to as the table shows
/// it, after `labels` ("FFT / N.1.5"; the cells of one row share it); without
/// one, its swept values (`model.upsampler=n15 loss.alpha=0.5`, "" for a single
/// cell). The spectrum draws one curve per such label.
pub fn cell_label(table: Option<&TableConfig>, label: &[(String, Value)]) -> String {
    match table {
        Some(table) => row_label(table, label),
        None => pairs_string(label),
    }
}

/// How plots name one cell's run where each run is drawn on its own (training
/// curves): [`cell_label`], then, with a table, the swept keys outside its rows
/// that tell the runs of one row apart ("FFT / N.1.5 (train.seed=1)").
pub fn run_label(table: Option<&TableConfig>, label: &[(String, Value)]) -> String {
    let shown = cell_label(table, label);
    let Some(table) = table else {
        return shown;
    };
    let rest: Vec<(String, Value)> = label
        .iter()
        .filter(|(k, _)| !table.rows.contains(k))
        .cloned()
        .collect();
    match (shown.is_empty(), rest.is_empty()) {
        (_, true) => shown,
        (true, false) => pairs_string(&rest),
        (false, false) => format!("{shown} ({})", pairs_string(&rest)),
    }
}

/// Groups `cells` (each: its swept `label` and its metrics, `None` when it has no
/// results) into rows of `table.rows`, in order of first appearance (sweep
/// order), and aggregates `metrics` as described in the module doc.
pub fn build_rows(table: &TableConfig, metrics: &[String], cells: &[TableCell]) -> Vec<TableRow> {
    let mut keys: Vec<Vec<String>> = Vec::new();
    let mut members: Vec<Vec<Option<&CellMetrics>>> = Vec::new();
    for (label, values) in cells {
        let key = row_values(table, label);
        match keys.iter().position(|k| *k == key) {
            Some(i) => members[i].push(*values),
            None => {
                keys.push(key);
                members.push(vec![*values]);
            }
        }
    }
    keys.into_iter()
        .zip(members)
        .map(|(key, group)| {
            let done: Vec<&CellMetrics> = group.iter().flatten().copied().collect();
            let spread = match (done.len(), table.std_over) {
                (0, _) => Spread::Empty,
                (_, StdOver::Images) | (1, StdOver::Auto) => Spread::Images,
                (_, StdOver::Cells) | (_, StdOver::Auto) => Spread::Cells,
            };
            let metrics = metrics
                .iter()
                .map(|m| {
                    let found: Vec<(f64, f64)> =
                        done.iter().filter_map(|c| c.get(m).copied()).collect();
                    if found.is_empty() {
                        return None;
                    }
                    Some(match spread {
                        Spread::Images => pooled_over_images(&found),
                        _ => mean_std(found.iter().map(|(mean, _)| *mean)),
                    })
                })
                .collect();
            TableRow {
                values: key.iter().map(|v| display_value(table, v)).collect(),
                cells: group.len(),
                done: done.len(),
                spread,
                metrics,
            }
        })
        .collect()
}

/// Mean and population std over the union of the cells' test images, from each
/// cell's (mean, std) over its own images. Cells weigh equally: exact when they
/// evaluate the same number of images, as the cells of a row do unless
/// `eval.images` is swept. One cell gives its own (mean, std).
fn pooled_over_images(cells: &[(f64, f64)]) -> (f64, f64) {
    let groups: Vec<(usize, f64, f64)> = cells
        .iter()
        .map(|&(mean, std)| (1, mean, std * std))
        .collect();
    pooled_mean_std(&groups)
}

/// A number as Björk's tables print it: 4 decimals, or 4 significant decimals in
/// scientific notation when 4 decimals would round a non-zero value to 0.
pub fn paper_number(x: f64) -> String {
    if x != 0.0 && x.is_finite() && x.abs() < 0.00005 {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}

/// table.csv: the row keys' values, `cells`, `done`, `std_over` (cells, images or
/// empty), then `<metric>_mean,<metric>_std` in full precision.
pub fn table_csv(table: &TableConfig, metrics: &[String], rows: &[TableRow]) -> String {
    let mut csv = String::new();
    for key in &table.rows {
        let _ = write!(csv, "{},", csv_field(key));
    }
    csv.push_str("cells,done,std_over");
    for m in metrics {
        let _ = write!(csv, ",{m}_mean,{m}_std");
    }
    csv.push('\n');
    for row in rows {
        for v in &row.values {
            let _ = write!(csv, "{},", csv_field(v));
        }
        let over = match row.spread {
            Spread::Cells => "cells",
            Spread::Images => "images",
            Spread::Empty => "",
        };
        let _ = write!(csv, "{},{},{over}", row.cells, row.done);
        for value in &row.metrics {
            match value {
                Some((mean, std)) => {
                    let _ = write!(csv, ",{mean:.9e},{std:.9e}");
                }
                None => csv.push_str(",,"),
            }
        }
        csv.push('\n');
    }
    csv
}

/// table.md: a heading naming the pipeline, the table ("mean ± std", 4 decimals)
/// and footnotes saying what the std runs over. `other_keys` are the swept keys
/// not in the rows (what several cells of a row differ in).
pub fn table_md(
    pipeline: &str,
    table: &TableConfig,
    metrics: &[String],
    rows: &[TableRow],
    other_keys: &[String],
) -> String {
    let mixed = rows.iter().any(|r| r.spread == Spread::Cells)
        && rows.iter().any(|r| r.spread == Spread::Images);
    let header: Vec<String> = table.rows.iter().chain(metrics).cloned().collect();
    let mut cells = vec![header];
    for row in rows {
        let mut line: Vec<String> = row
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                // In a table mixing both kinds of rows, mark the single-cell ones.
                if i == 0 && mixed && row.spread == Spread::Images {
                    format!("{v} ¹")
                } else {
                    v.clone()
                }
            })
            .collect();
        line.extend(row.metrics.iter().map(|value| match value {
            Some((mean, std)) => format!("{} ± {}", paper_number(*mean), paper_number(*std)),
            None => "–".to_string(),
        }));
        cells.push(line);
    }
    let mut md = format!("# {pipeline}\n\n{}", markdown_table(&cells));
    md.push('\n');
    let over = if other_keys.is_empty() {
        String::new()
    } else {
        format!(" (they differ in {})", other_keys.join(", "))
    };
    let chosen = match table.std_over {
        StdOver::Auto => "",
        StdOver::Images => " (`std_over: images`)",
        StdOver::Cells => " (`std_over: cells`)",
    };
    if rows.iter().any(|r| r.spread == Spread::Cells) {
        let _ = writeln!(
            md,
            "Mean ± std (population, ddof 0) over the cells of each row{over} of each \
             cell's mean over its test images{chosen}."
        );
    }
    if rows
        .iter()
        .any(|r| r.spread == Spread::Images && r.done > 1)
    {
        let _ = writeln!(
            md,
            "Mean ± std (population, ddof 0) over the test images of all the cells of \
             each row{over}, pooled{chosen}."
        );
    }
    if rows
        .iter()
        .any(|r| r.spread == Spread::Images && r.done == 1)
    {
        let which = if mixed {
            "¹ Rows with"
        } else if rows.iter().any(|r| r.done > 1) {
            "Rows with"
        } else {
            "Each row has"
        };
        let _ = writeln!(
            md,
            "{which} one finished cell: that cell's mean ± std over its test images."
        );
    }
    if rows.iter().any(|r| r.done < r.cells) {
        let _ = writeln!(md, "Some cells have no results; they are left out.");
    }
    md
}

/// Writes table.csv and table.md into `dir`.
pub fn write_table(
    dir: &Path,
    pipeline: &str,
    table: &TableConfig,
    metrics: &[String],
    rows: &[TableRow],
    other_keys: &[String],
) -> anyhow::Result<()> {
    for (name, text) in [
        (TABLE_CSV, table_csv(table, metrics, rows)),
        (
            TABLE_MD,
            table_md(pipeline, table, metrics, rows, other_keys),
        ),
    ] {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn table(rows: &[&str], labels: &[(&str, &str)]) -> TableConfig {
        TableConfig {
            rows: rows.iter().map(|s| s.to_string()).collect(),
            metrics: None,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            std_over: StdOver::Auto,
        }
    }

    /// (mean, population std) of `values`, computed directly in two passes.
    fn direct(values: &[f64]) -> (f64, f64) {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn std_over_images_pools_the_cells_test_images() {
        // Two seeds of one row, three test images each.
        let (seed0, seed1) = ([1.0, 2.0, 4.0], [4.0, 5.0, 9.0]);
        let (m0, s0) = direct(&seed0);
        let (m1, s1) = direct(&seed1);
        let a = metrics(&[("psnr", m0, s0)]);
        let b = metrics(&[("psnr", m1, s1)]);
        let labels = grid();
        let cells = vec![
            (labels[0].as_slice(), Some(&a)),
            (labels[1].as_slice(), Some(&b)),
        ];
        let names = ["psnr".to_string()];
        let mut t = table(&["loss.terms"], &[]);

        t.std_over = StdOver::Images;
        let rows = build_rows(&t, &names, &cells);
        let (mean, std) = rows[0].metrics[0].unwrap();
        let all: Vec<f64> = seed0.iter().chain(&seed1).copied().collect();
        let (want_mean, want_std) = direct(&all);
        assert!((mean - want_mean).abs() < 1e-12, "{mean} vs {want_mean}");
        assert!((std - want_std).abs() < 1e-12, "{std} vs {want_std}");
        assert_eq!(rows[0].spread, Spread::Images);
        assert!(table_csv(&t, &names, &rows).contains(",images,"));
        let md = table_md("p", &t, &names, &rows, &["train.seed".to_string()]);
        assert!(
            md.contains("over the test images of all the cells of each row (they differ in train.seed), pooled (`std_over: images`)."),
            "{md}"
        );

        // The default takes the spread between the seeds' means.
        t.std_over = StdOver::Auto;
        let rows = build_rows(&t, &names, &cells);
        assert_eq!(rows[0].spread, Spread::Cells);
        assert_eq!(rows[0].metrics[0], Some(mean_std([m0, m1])));

        // `cells` with one finished cell: the spread of one mean is 0.
        t.std_over = StdOver::Cells;
        let rows = build_rows(&t, &names, &cells[..1]);
        assert_eq!(rows[0].spread, Spread::Cells);
        assert_eq!(rows[0].metrics[0], Some((m0, 0.0)));
        let md = table_md("p", &t, &names, &rows, &[]);
        assert!(md.contains("(`std_over: cells`)."), "{md}");
    }

    fn metrics(values: &[(&str, f64, f64)]) -> CellMetrics {
        values
            .iter()
            .map(|(m, mean, std)| (m.to_string(), (*mean, *std)))
            .collect()
    }

    /// Labels of a terms × seed grid (seed fastest).
    fn grid() -> Vec<Vec<(String, Value)>> {
        let terms = [json!([{"bce": {}}]), json!([{"bce": {}}, {"fft": {}}])];
        let mut out = Vec::new();
        for t in &terms {
            for seed in [0, 1] {
                out.push(vec![
                    ("loss.terms".to_string(), t.clone()),
                    ("train.seed".to_string(), json!(seed)),
                ]);
            }
        }
        out
    }

    #[test]
    fn plots_name_cells_by_their_table_row() {
        let labels = grid();
        let t = table(&["loss.terms"], &[("bce", "Vanilla-VAE")]);
        // The row as the table shows it, whatever the seed.
        assert_eq!(cell_label(Some(&t), &labels[0]), "Vanilla-VAE");
        assert_eq!(cell_label(Some(&t), &labels[1]), "Vanilla-VAE");
        assert_eq!(cell_label(Some(&t), &labels[3]), "bce+fft");
        let rows = build_rows(
            &t,
            &[],
            &labels
                .iter()
                .map(|l| (l.as_slice(), None))
                .collect::<Vec<_>>(),
        );
        for label in &labels {
            let shown = cell_label(Some(&t), label);
            assert!(
                rows.iter().any(|r| r.values.join(" / ") == shown),
                "{shown}"
            );
        }
        // A run adds the keys outside the rows that tell the seeds apart.
        assert_eq!(
            run_label(Some(&t), &labels[1]),
            "Vanilla-VAE (train.seed=1)"
        );
        // Every swept key a row: the row alone.
        let both = table(&["loss.terms", "train.seed"], &[("bce", "V")]);
        assert_eq!(run_label(Some(&both), &labels[1]), "V / 1");
        // No table: the swept values.
        assert_eq!(
            cell_label(None, &labels[2]),
            "loss.terms=bce+fft train.seed=0"
        );
        assert_eq!(
            run_label(None, &labels[2]),
            "loss.terms=bce+fft train.seed=0"
        );
        assert_eq!(run_label(None, &[]), "");
    }

    #[test]
    fn rows_average_cell_means_over_the_other_keys() {
        let labels = grid();
        let m = [
            metrics(&[("rmse_ai", 1.0, 9.0), ("rmse_spatial", 0.1, 9.0)]),
            metrics(&[("rmse_ai", 3.0, 9.0), ("rmse_spatial", 0.3, 9.0)]),
            metrics(&[("rmse_ai", 2.0, 9.0), ("rmse_spatial", 0.5, 9.0)]),
            metrics(&[("rmse_ai", 6.0, 9.0), ("rmse_spatial", 0.5, 9.0)]),
        ];
        let cells: Vec<_> = labels
            .iter()
            .zip(&m)
            .map(|(l, m)| (l.as_slice(), Some(m)))
            .collect();
        let t = table(&["loss.terms"], &[("bce", "Vanilla-VAE")]);
        let names = ["rmse_ai".to_string(), "rmse_spatial".to_string()];
        let rows = build_rows(&t, &names, &cells);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].values, ["Vanilla-VAE"]);
        assert_eq!(rows[1].values, ["bce+fft"]);
        assert_eq!((rows[0].cells, rows[0].done), (2, 2));
        assert_eq!(rows[0].spread, Spread::Cells);
        // Means 1, 3 -> 2 ± 1; 0.1, 0.3 -> 0.2 ± 0.1; 2, 6 -> 4 ± 2; 0.5, 0.5 -> 0.5 ± 0.
        let close = |got: Option<(f64, f64)>, want: (f64, f64)| {
            let got = got.unwrap();
            assert!(
                (got.0 - want.0).abs() < 1e-12 && (got.1 - want.1).abs() < 1e-12,
                "{got:?} vs {want:?}"
            );
        };
        close(rows[0].metrics[0], (2.0, 1.0));
        close(rows[0].metrics[1], (0.2, 0.1));
        close(rows[1].metrics[0], (4.0, 2.0));
        close(rows[1].metrics[1], (0.5, 0.0));
    }

    #[test]
    fn a_row_with_one_finished_cell_keeps_its_std_over_images() {
        let labels = grid();
        let m = metrics(&[("rmse_ai", 1.5, 0.25)]);
        let other = metrics(&[("rmse_ai", 5.0, 0.5)]);
        // Row "bce": seed 1 failed; row "bce+fft": both failed.
        let cells = vec![
            (labels[0].as_slice(), Some(&m)),
            (labels[1].as_slice(), None),
            (labels[2].as_slice(), None),
            (labels[3].as_slice(), None),
        ];
        let t = table(&["loss.terms"], &[]);
        let names = ["rmse_ai".to_string()];
        let rows = build_rows(&t, &names, &cells);
        assert_eq!(rows[0].spread, Spread::Images);
        assert_eq!(rows[0].metrics, [Some((1.5, 0.25))]);
        assert_eq!((rows[0].cells, rows[0].done), (2, 1));
        assert_eq!(rows[1].spread, Spread::Empty);
        assert_eq!(rows[1].metrics, [None]);
        let csv = table_csv(&t, &names, &rows);
        assert_eq!(
            csv,
            "loss.terms,cells,done,std_over,rmse_ai_mean,rmse_ai_std\n\
             bce,2,1,images,1.500000000e0,2.500000000e-1\n\
             bce+fft,2,0,,,\n"
        );
        let md = table_md("p", &t, &names, &rows, &["train.seed".to_string()]);
        assert!(
            md.starts_with("# p\n\n| loss.terms | rmse_ai |\n|---|---|\n"),
            "{md}"
        );
        assert!(md.contains("| bce | 1.5000 ± 0.2500 |"), "{md}");
        assert!(md.contains("| bce+fft | – |"), "{md}");
        assert!(md.contains("Each row has one finished cell"), "{md}");
        assert!(md.contains("no results"), "{md}");
        // All cells of row 1 done and another one-cell row: the table mixes kinds.
        let cells = vec![
            (labels[0].as_slice(), Some(&m)),
            (labels[1].as_slice(), None),
            (labels[2].as_slice(), Some(&m)),
            (labels[3].as_slice(), Some(&other)),
        ];
        let rows = build_rows(&t, &names, &cells);
        let md = table_md("p", &t, &names, &rows, &["train.seed".to_string()]);
        assert!(md.contains("| bce ¹ | 1.5000 ± 0.2500 |"), "{md}");
        assert!(md.contains("| bce+fft | 3.2500 ± 1.7500 |"), "{md}");
        assert!(md.contains("they differ in train.seed"), "{md}");
    }

    #[test]
    fn two_row_keys_keep_sweep_order() {
        let mut labels = Vec::new();
        for up in ["convt", "n15"] {
            for alpha in [0.0, 0.5] {
                labels.push(vec![
                    ("model.upsampler".to_string(), json!(up)),
                    ("loss.alpha".to_string(), json!(alpha)),
                ]);
            }
        }
        let m = metrics(&[("psnr", 10.0, 1.0)]);
        let cells: Vec<_> = labels.iter().map(|l| (l.as_slice(), Some(&m))).collect();
        let t = table(&["loss.alpha", "model.upsampler"], &[("0.5", "FFT")]);
        let rows = build_rows(&t, &["psnr".to_string()], &cells);
        let values: Vec<Vec<String>> = rows.iter().map(|r| r.values.clone()).collect();
        assert_eq!(
            values,
            [
                ["0.0", "convt"],
                ["FFT", "convt"],
                ["0.0", "n15"],
                ["FFT", "n15"]
            ]
        );
    }

    #[test]
    fn numbers_print_like_the_paper() {
        assert_eq!(paper_number(1.22264), "1.2226");
        assert_eq!(paper_number(0.00041), "0.0004");
        assert_eq!(paper_number(2.68921e-5), "2.6892e-5");
        assert_eq!(paper_number(0.0), "0.0000");
        assert_eq!(paper_number(f64::INFINITY), "inf");
    }
}
