//! The pipeline's summary table: one row per cell with its swept parameters,
//! status, keys, and the mean and std of every metric.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::Context;

use crate::atomic::write_atomic;
use crate::dag::plan::{label_string, read_cell_records, value_text, CellRecord, Plan, CELLS_FILE};
use crate::dag::store::{Store, PIPELINE_SUMMARY_FILE};
use crate::eval::run::read_summary;

/// One table row: leading text fields, metric (mean, std) by name, and whether
/// the cell has results.
type Row = (Vec<String>, HashMap<String, (f64, f64)>, bool);

/// Each eval summary as (metric, mean, std) in file order.
pub type MetricRows = Vec<(String, f64, f64)>;

/// The summary.csv rows of every cell's eval, in cell order; `None` for cells
/// without results. `outcomes[i]` is `Some(true)` when node `i` has a result.
pub fn read_cell_results(
    plan: &Plan,
    outcomes: &[Option<bool>],
) -> anyhow::Result<Vec<Option<MetricRows>>> {
    plan.cell_nodes
        .iter()
        .map(|nodes| {
            if outcomes[nodes.eval] == Some(true) {
                read_summary(&plan.nodes[nodes.eval].dir).map(Some)
            } else {
                Ok(None)
            }
        })
        .collect()
}

/// Writes `results/<pipeline>/summary.csv` (one row per cell) and `cells.json`
/// from each cell's `results` ([`read_cell_results`]). A cell without results
/// is `failed` when its eval failed or was skipped, `not_run` when this run
/// left it out (`--only`).
pub fn write_summary(
    plan: &Plan,
    store: &Store,
    results: &[Option<MetricRows>],
    outcomes: &[Option<bool>],
) -> anyhow::Result<()> {
    let name = &plan.pipeline.name;
    let dir = store.pipeline_dir(name);
    let swept = &plan.pipeline.swept_keys;
    let mut metric_columns: Vec<String> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut records = std::collections::BTreeMap::new();
    for (ci, cell) in plan.pipeline.cells.iter().enumerate() {
        let nodes = plan.cell_nodes[ci];
        let eval = &plan.nodes[nodes.eval];
        let ok = results[ci].is_some();
        let mut fields: Vec<String> = swept
            .iter()
            .map(|k| {
                cell.label
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| value_text(v))
                    .unwrap_or_default()
            })
            .collect();
        fields.push(match (ok, outcomes[nodes.eval]) {
            (true, _) => "done".into(),
            (false, None) => "not_run".into(),
            (false, Some(_)) => "failed".into(),
        });
        for id in [nodes.dataset, nodes.train, nodes.eval] {
            fields.push(plan.nodes[id].key.short());
        }
        let mut values = HashMap::new();
        if let Some(metrics) = &results[ci] {
            for (metric, mean, std) in metrics {
                if !metric_columns.contains(metric) {
                    metric_columns.push(metric.clone());
                }
                values.insert(metric.clone(), (*mean, *std));
            }
            records.insert(
                label_string(cell),
                CellRecord {
                    dataset: plan.nodes[nodes.dataset].key,
                    train: plan.nodes[nodes.train].key,
                    eval: eval.key,
                },
            );
        }
        rows.push((fields, values, ok));
    }
    let mut csv = String::new();
    for k in swept {
        let _ = write!(csv, "{k},");
    }
    csv.push_str("status,dataset_key,train_key,eval_key");
    for m in &metric_columns {
        let _ = write!(csv, ",{m}_mean,{m}_std");
    }
    csv.push('\n');
    for (fields, values, _) in &rows {
        csv.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        for m in &metric_columns {
            match values.get(m) {
                Some((mean, std)) => {
                    let _ = write!(csv, ",{mean:.9e},{std:.9e}");
                }
                None => csv.push_str(",,"),
            }
        }
        csv.push('\n');
    }
    let path = dir.join(PIPELINE_SUMMARY_FILE);
    write_atomic(&path, csv.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    // Keep the records of cells that failed this time from the previous run.
    let mut all = read_cell_records(store, name);
    all.extend(records);
    let text = serde_json::to_string_pretty(&all)?;
    let path = dir.join(CELLS_FILE);
    write_atomic(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Quotes a CSV field when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
