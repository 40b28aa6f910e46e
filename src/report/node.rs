//! What the report node writes into `results/<pipeline>/`: summary.csv and
//! cells.json, the declared table, and the plots, then its DONE marker.
//!
//! Tables are results: failing to write one fails the node. Plots are pictures of
//! results already on disk: a plot that cannot be drawn is a warning, never a
//! failed pipeline.

use std::collections::HashMap;

use anyhow::Context;

use super::figure::save_figure;
use super::plot_curves::{curve_panels, CurvesFigure, TrainLog};
use super::plot_spectrum::{spectrum_series, CellSpectrum, SpectrumFigure};
use super::summary::{read_cell_results, write_summary, MetricRows};
use super::table::{build_rows, row_label, write_table, CellMetrics, TABLE_CSV, TABLE_MD};
use crate::dag::plan::{label_string, Plan};
use crate::dag::store::{clear_done, write_done, Store};
use crate::eval::run::SPECTRUM_FILE;
use crate::eval::spectrum::SpectrumTable;
use crate::train::run::TRAIN_LOG;

/// File stem of the pipeline's spectrum figure (`.png` and `.svg`).
pub const SPECTRUM_PLOT: &str = "spectrum";
/// File stem of the training-curve figures, per run and for the pipeline.
pub const CURVES_PLOT: &str = "curves";

/// Writes everything the report node produces and, when every cell has results,
/// its DONE marker. `outcomes[i]` is `Some(true)` when node `i` has a result.
/// Returns the warnings of plots that could not be drawn.
pub fn write_report(
    plan: &Plan,
    store: &Store,
    outcomes: &[Option<bool>],
) -> anyhow::Result<Vec<String>> {
    let report = &plan.nodes[plan.report];
    clear_done(&report.dir)?;
    let results = read_cell_results(plan, outcomes)?;
    write_summary(plan, store, &results)?;
    write_declared_table(plan, store, &results)?;
    let warnings = write_plots(plan, store, outcomes);
    if results.iter().all(Option::is_some) {
        std::fs::create_dir_all(&report.dir)
            .with_context(|| format!("creating {}", report.dir.display()))?;
        write_done(&report.dir, report.key, "report", &report.config)?;
    }
    Ok(warnings)
}

/// Writes table.csv and table.md when `report.table` is declared, and removes
/// them when it is not (so no table outlives its declaration).
fn write_declared_table(
    plan: &Plan,
    store: &Store,
    results: &[Option<MetricRows>],
) -> anyhow::Result<()> {
    let dir = store.pipeline_dir(&plan.pipeline.name);
    let Some(table) = &plan.pipeline.report.table else {
        for name in [TABLE_CSV, TABLE_MD] {
            let _ = std::fs::remove_file(dir.join(name));
        }
        return Ok(());
    };
    let metrics: Vec<String> = table
        .metrics
        .as_ref()
        .unwrap_or(&plan.pipeline.cells[0].config.eval.metrics)
        .iter()
        .map(|m| m.column().to_string())
        .collect();
    let by_name: Vec<Option<CellMetrics>> = results
        .iter()
        .map(|rows| {
            rows.as_ref().map(|rows| {
                rows.iter()
                    .map(|(m, mean, std)| (m.clone(), (*mean, *std)))
                    .collect::<HashMap<_, _>>()
            })
        })
        .collect();
    let cells: Vec<_> = plan
        .pipeline
        .cells
        .iter()
        .zip(&by_name)
        .map(|(cell, m)| (cell.label.as_slice(), m.as_ref()))
        .collect();
    let rows = build_rows(table, &metrics, &cells);
    let other_keys: Vec<String> = plan
        .pipeline
        .swept_keys
        .iter()
        .filter(|k| !table.rows.contains(k))
        .cloned()
        .collect();
    write_table(
        &dir,
        &plan.pipeline.name,
        table,
        &metrics,
        &rows,
        &other_keys,
    )
}

/// Draws the spectrum figure, each run's curves and the pipeline's curves;
/// returns one warning per figure that failed.
fn write_plots(plan: &Plan, store: &Store, outcomes: &[Option<bool>]) -> Vec<String> {
    let dir = store.pipeline_dir(&plan.pipeline.name);
    let mut warnings = Vec::new();
    let mut warn = |what: String, e: anyhow::Error| warnings.push(format!("{what}: {e:#}"));

    // Spectrum: every cell whose eval finished.
    let mut spectra = Vec::new();
    for (ci, cell) in plan.pipeline.cells.iter().enumerate() {
        let nodes = plan.cell_nodes[ci];
        if outcomes[nodes.eval] != Some(true) {
            continue;
        }
        let path = plan.nodes[nodes.eval].dir.join(SPECTRUM_FILE);
        match SpectrumTable::read(&path) {
            Ok(table) => spectra.push(CellSpectrum {
                // With a declared table, one curve per table row (seeds averaged).
                label: match &plan.pipeline.report.table {
                    Some(t) => row_label(t, &cell.label),
                    None => label_string(cell),
                },
                dataset: plan.nodes[nodes.dataset].key.short(),
                table,
            }),
            Err(e) => warn("spectrum plot".into(), e),
        }
    }
    if !spectra.is_empty() {
        let figure = SpectrumFigure {
            title: format!("{}: average azimuthal spectrum", plan.pipeline.name),
            series: spectrum_series(&spectra),
        };
        if let Err(e) = save_figure(&figure, &dir.join(SPECTRUM_PLOT)) {
            warn(format!("plot {}", dir.join(SPECTRUM_PLOT).display()), e);
        }
    }

    // Curves: each finished run on its own, then all of them together.
    let mut runs: Vec<(String, TrainLog)> = Vec::new();
    let mut seen = Vec::new();
    for nodes in &plan.cell_nodes {
        let train = nodes.train;
        if outcomes[train] != Some(true) || seen.contains(&train) {
            continue;
        }
        seen.push(train);
        let run_dir = &plan.nodes[train].dir;
        let log = match TrainLog::read(&run_dir.join(TRAIN_LOG)) {
            Ok(log) => log,
            Err(e) => {
                warn("curves plot".into(), e);
                continue;
            }
        };
        let label = match plan.node_label(train) {
            l if l.is_empty() => "run".to_string(),
            l => l,
        };
        let run = [(label, log)];
        let figure = CurvesFigure {
            panels: curve_panels(&run),
        };
        if let Err(e) = save_figure(&figure, &run_dir.join(CURVES_PLOT)) {
            warn(format!("plot {}", run_dir.join(CURVES_PLOT).display()), e);
        }
        let [run] = run;
        runs.push(run);
    }
    if !runs.is_empty() {
        let figure = CurvesFigure {
            panels: curve_panels(&runs),
        };
        if let Err(e) = save_figure(&figure, &dir.join(CURVES_PLOT)) {
            warn(format!("plot {}", dir.join(CURVES_PLOT).display()), e);
        }
    }
    warnings
}
