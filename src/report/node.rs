//! What the report node writes into `results/<pipeline>/`: summary.csv and
//! cells.json, the declared table, and the plots, then its DONE marker.
//!
//! Tables are results: failing to write one fails the node. Plots are pictures of
//! results already on disk: a plot that cannot be drawn is a warning, never a
//! failed pipeline.

use std::collections::HashMap;

use anyhow::Context;

use super::figure::{save_figure, FIGURE_EXTENSIONS};
use super::plot_curves::{curve_panels, unweighted_columns, CurvesFigure, RunCurves, TrainLog};
use super::plot_spectrum::{spectrum_series, CellSpectrum, SpectrumFigure};
use super::summary::{read_cell_results, write_summary, MetricRows};
use super::table::{
    build_rows, cell_label, run_label, write_table, CellMetrics, TABLE_CSV, TABLE_MD,
};
use crate::dag::lock::NodeLock;
use crate::dag::plan::Plan;
use crate::dag::plan::CELLS_FILE;
use crate::dag::store::{clear_done, is_done, write_done, Store, PIPELINE_SUMMARY_FILE};
use crate::eval::run::SPECTRUM_FILE;
use crate::eval::spectrum::SpectrumTable;
use crate::train::run::TRAIN_LOG;

/// File stem of the pipeline's spectrum figure (`.png` and `.svg`).
pub const SPECTRUM_PLOT: &str = "spectrum";
/// File stem of the training-curve figures, per run and for the pipeline.
pub const CURVES_PLOT: &str = "curves";

/// The files the report writes into `results/<pipeline>/`, as DONE records
/// them (relative to the report's marker folder) and as a failed report
/// removes them.
fn pipeline_outputs() -> Vec<String> {
    let mut names: Vec<String> = [PIPELINE_SUMMARY_FILE, CELLS_FILE, TABLE_CSV, TABLE_MD]
        .map(String::from)
        .to_vec();
    for stem in [SPECTRUM_PLOT, CURVES_PLOT] {
        names.extend(FIGURE_EXTENSIONS.map(|ext| format!("{stem}.{ext}")));
    }
    names
}

/// Writes everything the report node produces and, when every cell has results,
/// its DONE marker. `outcomes[i]` is `Some(true)` when node `i` has a result
/// now, `None` when this run did not compute it (a cell left out by `--only`):
/// such a cell's result is used when it is on disk and intact. Runs under the
/// pipeline's report lock, so that reports of runners working on the same
/// pipeline at once take turns and merge into cells.json. Returns the warnings
/// of plots that could not be drawn.
///
/// When it fails, the tables and plots of an earlier report are removed: none
/// of them may look current after a report that could not be written.
pub fn write_report(
    plan: &Plan,
    store: &Store,
    outcomes: &[Option<bool>],
) -> anyhow::Result<Vec<String>> {
    let report = &plan.nodes[plan.report];
    let _lock = NodeLock::acquire(&report.dir, || {})?;
    clear_done(&report.dir)
        .with_context(|| format!("clearing DONE in {}", report.dir.display()))?;
    let outcomes = with_results_on_disk(plan, outcomes);
    let written = (|| {
        let results = read_cell_results(plan, &outcomes)?;
        write_summary(plan, store, &results, &outcomes)?;
        write_declared_table(plan, store, &results)?;
        Ok::<_, anyhow::Error>(results)
    })();
    let results = match written {
        Ok(results) => results,
        Err(e) => {
            let dir = store.pipeline_dir(&plan.pipeline.name);
            for name in pipeline_outputs().iter().filter(|n| *n != CELLS_FILE) {
                let _ = std::fs::remove_file(dir.join(name));
            }
            return Err(e.context(format!(
                "the tables and plots in {} were removed, since they would be stale",
                dir.display()
            )));
        }
    };
    let warnings = write_plots(plan, store, &outcomes);
    if results.iter().all(Option::is_some) {
        std::fs::create_dir_all(&report.dir)
            .with_context(|| format!("creating {}", report.dir.display()))?;
        let files: Vec<String> = pipeline_outputs()
            .iter()
            .filter(|name| report.dir.join("..").join(name).is_file())
            .map(|name| format!("../{name}"))
            .collect();
        write_done(
            &report.dir,
            report.key,
            "report",
            &report.own_config,
            &files,
        )
        .with_context(|| format!("writing DONE in {}", report.dir.display()))?;
    }
    Ok(warnings)
}

/// `outcomes` where every node this run left alone (`None`) is `Some(true)`
/// when its result is on disk with its recorded file sizes.
fn with_results_on_disk(plan: &Plan, outcomes: &[Option<bool>]) -> Vec<Option<bool>> {
    outcomes
        .iter()
        .enumerate()
        .map(|(i, outcome)| {
            let node = &plan.nodes[i];
            outcome.or_else(|| is_done(&node.dir, &node.key).then_some(true))
        })
        .collect()
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
    // A figure that cannot be drawn now must not leave an older one looking current.
    let save = |figure: &dyn Fn(&std::path::Path) -> anyhow::Result<()>, stem: &std::path::Path| {
        let result = figure(stem);
        if result.is_err() {
            for ext in FIGURE_EXTENSIONS {
                let _ = std::fs::remove_file(stem.with_extension(ext));
            }
        }
        result
    };

    // Spectrum: every cell whose eval finished, on the first one's
    // `eval.ai_scale` (a pipeline that sweeps it gets one consistent axis).
    let mut spectra = Vec::new();
    let mut scale = None;
    for (ci, cell) in plan.pipeline.cells.iter().enumerate() {
        let nodes = plan.cell_nodes[ci];
        if outcomes[nodes.eval] != Some(true) {
            continue;
        }
        let path = plan.nodes[nodes.eval].dir.join(SPECTRUM_FILE);
        let cell_scale = cell.config.eval.ai_scale;
        let figure_scale = *scale.get_or_insert(cell_scale);
        match SpectrumTable::read(&path) {
            Ok(table) => spectra.push(CellSpectrum {
                table: table.rescaled(figure_scale.from_ln() / cell_scale.from_ln()),
                // With a declared table, one curve per table row (seeds averaged).
                label: cell_label(plan.pipeline.report.table.as_ref(), &cell.label),
                dataset: plan.nodes[nodes.dataset].key.short(),
            }),
            Err(e) => warn("spectrum plot".into(), e),
        }
    }
    if !spectra.is_empty() {
        let figure = SpectrumFigure {
            title: format!("{}: average azimuthal spectrum", plan.pipeline.name),
            series: spectrum_series(&spectra),
            quantity: scale.unwrap_or_default().quantity(),
        };
        if let Err(e) = save(&|stem| save_figure(&figure, stem), &dir.join(SPECTRUM_PLOT)) {
            warn(format!("plot {}", dir.join(SPECTRUM_PLOT).display()), e);
        }
    }

    // Curves: each finished run on its own, then all of them together.
    let mut runs: Vec<RunCurves> = Vec::new();
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
        let run = [RunCurves {
            label: curves_label(plan, train),
            log,
            // The cells of one training share its loss.
            unweighted: unweighted_columns(
                &plan.pipeline.cells[plan.nodes[train].cells[0]].config.loss,
            ),
        }];
        let figure = CurvesFigure {
            panels: curve_panels(&run),
        };
        if let Err(e) = save(
            &|stem| save_figure(&figure, stem),
            &run_dir.join(CURVES_PLOT),
        ) {
            warn(format!("plot {}", run_dir.join(CURVES_PLOT).display()), e);
        }
        let [run] = run;
        runs.push(run);
    }
    if !runs.is_empty() {
        let figure = CurvesFigure {
            panels: curve_panels(&runs),
        };
        if let Err(e) = save(&|stem| save_figure(&figure, stem), &dir.join(CURVES_PLOT)) {
            warn(format!("plot {}", dir.join(CURVES_PLOT).display()), e);
        }
    }
    warnings
}

/// The legend text of training node `train`'s curves: each of its cells named as
/// the table and the spectrum name them ([`run_label`]; one name when its cells
/// share it), "run" for a pipeline without a sweep.
pub fn curves_label(plan: &Plan, train: usize) -> String {
    let table = plan.pipeline.report.table.as_ref();
    let mut names: Vec<String> = Vec::new();
    for &c in &plan.nodes[train].cells {
        let name = run_label(table, &plan.pipeline.cells[c].label);
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        "run".to_string()
    } else {
        names.join(" | ")
    }
}
