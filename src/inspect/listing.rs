//! `runner ls`: one line per cell of each pipeline's results — state (done /
//! failed / missing / running / queued, with the batch job), swept params, short
//! keys and metric means — plus the run and eval folders on disk that no
//! summary mentions (being computed, queued, or orphan). Reads only what is on
//! disk.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Result};

use super::jobs::activity;
use super::scan::{is_resumable, scan_all, scan_pipeline, EvalDir, PipelineDir, RunDir};
use super::table::{Table, STATUS_COLUMN};
use super::text::{aligned, short_field};
use crate::dag::job::JobSpec;
use crate::dag::store::{evals_dir_of, runs_dir_of, PIPELINE_SUMMARY_FILE};
use crate::eval::run::{read_summary, SUMMARY_FILE};

/// How many key characters `ls` shows.
const SHORT: usize = 8;

/// What to list and how.
#[derive(Debug, Clone, Default)]
pub struct LsOptions {
    /// `column=value` filters, all of which must hold.
    pub filters: Vec<(String, String)>,
    /// Column to sort on; a leading `-` sorts descending.
    pub sort: Option<String>,
}

/// One listed line.
#[derive(Debug, Clone, PartialEq)]
pub struct LsRow {
    /// done / failed / missing / running / queued (job N) / orphan.
    pub state: String,
    /// Swept params (name, value) in summary order.
    pub params: Vec<(String, String)>,
    /// Train key (short).
    pub train: String,
    /// Eval key (short).
    pub eval: String,
    /// Metric means (metric name without `_mean`, value text).
    pub metrics: Vec<(String, String)>,
}

impl LsRow {
    /// The value of column `name`: `state`, a param (full name or its last
    /// dotted part), or a metric (with or without `_mean`).
    pub fn get(&self, name: &str) -> Option<&str> {
        if name == "state" {
            return Some(&self.state);
        }
        let metric = name.strip_suffix("_mean").unwrap_or(name);
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| {
                self.params
                    .iter()
                    .find(|(k, _)| k.rsplit('.').next() == Some(name))
            })
            .or_else(|| self.metrics.iter().find(|(k, _)| k == metric))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// The state of the cell whose nodes live in `run` / `eval`, given its summary
/// status: running or queued (with the batch job) while a node is computed or
/// waits for its job, else what the summary and the files say.
fn cell_state(run: &Path, eval: &Path, status: &str) -> String {
    if let Some(activity) = activity(eval).or_else(|| activity(run)) {
        activity.label()
    } else if status == "failed" || status == "not_run" {
        status.to_string()
    } else if crate::dag::store::read_done(eval).is_some() {
        "done".to_string()
    } else {
        "missing".to_string()
    }
}

/// The metric means of an eval folder's own summary.csv.
fn eval_means(eval: &EvalDir) -> Vec<(String, String)> {
    if eval.done.is_none() || !eval.path.join(SUMMARY_FILE).is_file() {
        return Vec::new();
    }
    read_summary(&eval.path)
        .map(|rows| {
            rows.into_iter()
                .map(|(m, mean, _)| (m, mean.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The swept params of a cells.json label (`k=v k=v`).
fn label_params(label: &str) -> Vec<(String, String)> {
    label
        .split_whitespace()
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The rows of one pipeline folder.
pub fn pipeline_rows(dir: &PipelineDir) -> Result<Vec<LsRow>> {
    let mut rows = Vec::new();
    let mut listed: HashSet<(String, String)> = HashSet::new();
    let summary_path = dir.path.join(PIPELINE_SUMMARY_FILE);
    if summary_path.is_file() {
        let table = Table::read(&summary_path)?;
        let swept = table.swept_columns();
        for row in &table.rows {
            let train = table.field(row, "train_key").to_string();
            let eval = table.field(row, "eval_key").to_string();
            let run_dir = runs_dir_of(&dir.path).join(&train);
            let eval_dir = evals_dir_of(&run_dir).join(&eval);
            let state = cell_state(&run_dir, &eval_dir, table.field(row, STATUS_COLUMN));
            rows.push(LsRow {
                state,
                params: swept
                    .iter()
                    .map(|c| (c.clone(), table.field(row, c).to_string()))
                    .collect(),
                train: train.chars().take(SHORT).collect(),
                eval: eval.chars().take(SHORT).collect(),
                metrics: table
                    .headers
                    .iter()
                    .filter_map(|h| h.strip_suffix("_mean"))
                    .map(|m| {
                        (
                            m.to_string(),
                            table.field(row, &format!("{m}_mean")).to_string(),
                        )
                    })
                    .collect(),
            });
            listed.insert((train, eval));
        }
    }
    // Run and eval folders that no summary row mentions (a run folder without
    // evals is the row's own when the summary names its training).
    for run in &dir.runs {
        let evals: Vec<Option<&EvalDir>> = if run.evals.is_empty() {
            if listed.iter().any(|(train, _)| train == &run.short) {
                continue;
            }
            vec![None]
        } else {
            run.evals.iter().map(Some).collect()
        };
        for eval in evals {
            let eval_short = eval.map_or(String::new(), |e| e.short.clone());
            if listed.contains(&(run.short.clone(), eval_short.clone())) {
                continue;
            }
            rows.push(orphan_row(dir, run, eval));
        }
    }
    Ok(rows)
}

/// A row for a folder on disk that the summary does not mention: a node being
/// computed or queued (not in a summary yet), or an orphan.
fn orphan_row(dir: &PipelineDir, run: &RunDir, eval: Option<&EvalDir>) -> LsRow {
    let eval_short = eval.map_or(String::new(), |e| e.short.clone());
    let busy = eval
        .and_then(|e| activity(&e.path))
        .or_else(|| activity(&run.path));
    // An older cell of the same pipeline may still name it in cells.json; a
    // node planned for a batch job names its cells in node.json.
    let label = dir
        .cells
        .iter()
        .find(|(_, r)| r.train.short() == run.short && r.eval.short() == eval_short)
        .map(|(label, _)| label.clone())
        .or_else(|| {
            let node = eval.map_or(&run.path, |e| &e.path);
            JobSpec::read(node).ok().map(|spec| spec.label)
        });
    let idle = if eval.is_none() && is_resumable(&run.path) {
        "resumable"
    } else {
        "orphan"
    };
    LsRow {
        state: busy.map_or(idle.to_string(), |a| a.label()),
        params: label.as_deref().map(label_params).unwrap_or_default(),
        train: run.short.chars().take(SHORT).collect(),
        eval: eval_short.chars().take(SHORT).collect(),
        metrics: eval.map(eval_means).unwrap_or_default(),
    }
}

/// Errors when no row has column `column` (named in the message as `flag`).
fn check_column(rows: &[LsRow], flag: &str, column: &str) -> Result<()> {
    if !rows.is_empty() && rows.iter().all(|r| r.get(column).is_none()) {
        bail!("{flag} {column}: no such column (use state, a swept param or a metric)");
    }
    Ok(())
}

/// Keeps rows matching every filter.
fn filter_rows(rows: Vec<LsRow>, filters: &[(String, String)]) -> Vec<LsRow> {
    rows.into_iter()
        .filter(|r| filters.iter().all(|(c, v)| r.get(c) == Some(v.as_str())))
        .collect()
}

/// Compares two optional column values: numbers numerically, else as text;
/// missing values last.
fn compare_values(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
            _ => x.cmp(y),
        },
    }
}

/// Splits a sort spec (`column` or `-column`) into column and descending.
fn sort_spec(spec: &str) -> (&str, bool) {
    match spec.strip_prefix('-') {
        Some(c) => (c, true),
        None => (spec, false),
    }
}

/// Sorts rows on `spec` (`column` or `-column`); missing values stay last.
fn sort_rows(rows: &mut [LsRow], spec: &str) {
    let (column, descending) = sort_spec(spec);
    rows.sort_by(|a, b| {
        let (x, y) = (a.get(column), b.get(column));
        if descending && x.is_some() && y.is_some() {
            compare_values(y, x)
        } else {
            compare_values(x, y)
        }
    });
}

/// The text of one pipeline's table.
fn render(rows: &[LsRow]) -> String {
    let params: Vec<String> = rows
        .iter()
        .flat_map(|r| r.params.iter().map(|(k, _)| k.clone()))
        .fold(Vec::new(), |mut acc, k| {
            if !acc.contains(&k) {
                acc.push(k);
            }
            acc
        });
    let metrics: Vec<String> = rows
        .iter()
        .flat_map(|r| r.metrics.iter().map(|(k, _)| k.clone()))
        .fold(Vec::new(), |mut acc, k| {
            if !acc.contains(&k) {
                acc.push(k);
            }
            acc
        });
    let mut lines = vec![];
    let mut header = vec!["state".to_string()];
    header.extend(params.iter().cloned());
    header.extend(["train".to_string(), "eval".to_string()]);
    header.extend(metrics.iter().cloned());
    lines.push(header);
    for row in rows {
        let mut line = vec![row.state.clone()];
        for p in &params {
            line.push(
                row.params
                    .iter()
                    .find(|(k, _)| k == p)
                    .map_or("-".into(), |(_, v)| v.clone()),
            );
        }
        line.push(if row.train.is_empty() {
            "-".into()
        } else {
            row.train.clone()
        });
        line.push(if row.eval.is_empty() {
            "-".into()
        } else {
            row.eval.clone()
        });
        for m in &metrics {
            line.push(
                row.metrics
                    .iter()
                    .find(|(k, _)| k == m)
                    .map_or("-".into(), |(_, v)| {
                        if v.is_empty() {
                            "-".into()
                        } else {
                            short_field(v)
                        }
                    }),
            );
        }
        lines.push(line);
    }
    aligned(&lines, "  ")
}

/// `runner ls`: the listing of the pipeline folders in `dirs`.
pub fn list(dirs: &[PipelineDir], opts: &LsOptions) -> Result<String> {
    let mut per_pipeline = Vec::new();
    for dir in dirs {
        per_pipeline.push(pipeline_rows(dir)?);
    }
    // A filter or sort column must exist in some pipeline.
    let flat: Vec<LsRow> = per_pipeline.iter().flatten().cloned().collect();
    for (column, _) in &opts.filters {
        check_column(&flat, "--filter", column)?;
    }
    if let Some(spec) = &opts.sort {
        check_column(&flat, "--sort", sort_spec(spec).0)?;
    }
    let mut out = String::new();
    let mut shown = 0;
    for (dir, rows) in dirs.iter().zip(per_pipeline) {
        let mut rows = filter_rows(rows, &opts.filters);
        if let Some(spec) = &opts.sort {
            sort_rows(&mut rows, spec);
        }
        let _ = writeln!(
            out,
            "{} ({}): {} row(s)",
            dir.name,
            dir.path.display(),
            rows.len()
        );
        if !rows.is_empty() {
            out.push_str(&render(&rows));
        }
        shown += rows.len();
    }
    if dirs.is_empty() {
        out.push_str("no results yet\n");
    } else if dirs.len() > 1 {
        let _ = writeln!(out, "{shown} row(s) in {} pipeline(s)", dirs.len());
    }
    Ok(out)
}

/// The pipeline folders `runner ls TARGET` names: a results folder, a
/// pipeline YAML file, or (none) every pipeline under the results folder.
pub fn target_dirs(target: Option<&Path>, store: &crate::dag::Store) -> Result<Vec<PipelineDir>> {
    let Some(target) = target else {
        return Ok(scan_all(store));
    };
    let dir = if target.is_file() {
        super::source::pipeline_results_dir(target, store)?
    } else if target.is_dir() {
        target.to_path_buf()
    } else {
        bail!("{}: no such file or directory", target.display());
    };
    if !dir.is_dir() {
        bail!(
            "{} has no results yet: {} does not exist",
            target.display(),
            dir.display()
        );
    }
    Ok(vec![scan_pipeline(&dir)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, seed: &str, ai: &str) -> LsRow {
        LsRow {
            state: state.into(),
            params: vec![("train.seed".into(), seed.into())],
            train: "t".into(),
            eval: "e".into(),
            metrics: vec![("rmse_ai".into(), ai.into())],
        }
    }

    #[test]
    fn filters_on_params_by_full_or_last_name_and_state() {
        let rows = vec![
            row("done", "0", "1.5"),
            row("failed", "1", "-"),
            row("done", "2", "0.5"),
        ];
        let f = |c: &str, v: &str| vec![(c.to_string(), v.to_string())];
        assert_eq!(filter_rows(rows.clone(), &f("train.seed", "1")).len(), 1);
        assert_eq!(
            filter_rows(rows.clone(), &f("seed", "2"))[0].params[0].1,
            "2"
        );
        assert_eq!(filter_rows(rows.clone(), &f("state", "done")).len(), 2);
        assert!(check_column(&rows, "--filter", "lr").is_err());
        assert!(check_column(&rows, "--filter", "rmse_ai_mean").is_ok());
    }

    #[test]
    fn sorts_numerically_both_ways_with_missing_last() {
        let mut rows = vec![
            row("done", "10", "1.5"),
            row("done", "9", "x"),
            row("done", "2", "0.5"),
        ];
        rows[1].metrics.clear();
        sort_rows(&mut rows, "rmse_ai_mean");
        let seeds: Vec<&str> = rows.iter().map(|r| r.params[0].1.as_str()).collect();
        assert_eq!(seeds, ["2", "10", "9"]);
        sort_rows(&mut rows, "-rmse_ai");
        let seeds: Vec<&str> = rows.iter().map(|r| r.params[0].1.as_str()).collect();
        assert_eq!(seeds, ["10", "2", "9"]);
        sort_rows(&mut rows, "seed");
        let seeds: Vec<&str> = rows.iter().map(|r| r.params[0].1.as_str()).collect();
        assert_eq!(seeds, ["2", "9", "10"]);
        assert!(check_column(&rows, "--sort", "nope").is_err());
    }

    #[test]
    fn label_params_split_pairs() {
        assert_eq!(
            label_params("model.upsampler=n15 train.seed=1"),
            [
                ("model.upsampler".to_string(), "n15".to_string()),
                ("train.seed".to_string(), "1".to_string())
            ]
        );
    }
}
