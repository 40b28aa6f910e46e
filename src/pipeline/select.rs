//! `--only KEY=VALUE,KEY=VALUE`: which cells of a pipeline to run, without
//! changing the pipeline (its sweep, report table and keys stay as they are).
//!
//! One `--only` names a cell by some of its swept values (all must match);
//! several `--only` select every cell that any of them names.

use serde_json::Value;

use super::load::{Cell, LoadedPipeline};
use super::overrides::{parse_value, value_text};

/// The `--only` argument that names exactly `cell` (its swept values).
pub fn only_argument(cell: &Cell) -> String {
    cell.overrides.join(",")
}

/// One `--only` argument split into (key, value) pairs. A comma starts a new
/// pair only where it is followed by a swept key and `=`, so a value may
/// itself hold commas (`loss.terms=[{bce: {}}, {fft: {}}]`).
fn pairs(text: &str, swept: &[String]) -> Result<Vec<(String, Value)>, String> {
    let starts_pair = |part: &str| {
        part.split_once('=')
            .is_some_and(|(k, _)| swept.iter().any(|s| s == k.trim()))
    };
    let mut raw: Vec<String> = Vec::new();
    for part in text.split(',') {
        match raw.last_mut() {
            Some(last) if !starts_pair(part) => {
                last.push(',');
                last.push_str(part);
            }
            _ => raw.push(part.to_string()),
        }
    }
    raw.into_iter()
        .map(|pair| {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(format!("`{pair}` is not KEY=VALUE"));
            };
            let key = key.trim();
            if !swept.iter().any(|s| s == key) {
                return Err(if swept.is_empty() {
                    format!("`{key}` is not a swept key (this pipeline sweeps nothing)")
                } else {
                    format!(
                        "`{key}` is not a swept key (swept keys: {})",
                        swept.join(", ")
                    )
                });
            }
            Ok((key.to_string(), parse_value(value)?))
        })
        .collect()
}

/// Whether `cell` has `value` at swept `key`: the same value, the same text,
/// or the same number (`0` is `0.0`).
fn has(cell: &Cell, key: &str, value: &Value) -> bool {
    let same_number =
        |a: &Value, b: &Value| matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y);
    cell.label.iter().any(|(k, v)| {
        k == key && (v == value || value_text(v) == value_text(value) || same_number(v, value))
    })
}

/// The cells `only` selects (all when empty): `Err` with a message naming the
/// argument when one is malformed or selects no cell.
pub fn select_cells(pipeline: &LoadedPipeline, only: &[String]) -> Result<Vec<bool>, String> {
    if only.is_empty() {
        return Ok(vec![true; pipeline.cells.len()]);
    }
    let mut selected = vec![false; pipeline.cells.len()];
    for text in only {
        let wanted =
            pairs(text, &pipeline.swept_keys).map_err(|e| format!("--only {text}: {e}"))?;
        let mut any = false;
        for (cell, pick) in pipeline.cells.iter().zip(selected.iter_mut()) {
            if wanted.iter().all(|(k, v)| has(cell, k, v)) {
                *pick = true;
                any = true;
            }
        }
        if !any {
            return Err(format!(
                "--only {text}: no cell of {} has these values (see `runner config`)",
                pipeline.name
            ));
        }
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::pipeline::load::load_pipeline_str;

    const GRID: &str = "dataset: {name: shapes}\nsweep:\n  loss.alpha: [0.0, 0.5]\n  \
                        model.upsampler: [convt, n15]\n";

    fn grid() -> LoadedPipeline {
        load_pipeline_str(Path::new("p.yaml"), GRID, &[]).unwrap()
    }

    #[test]
    fn every_cell_is_named_by_its_own_argument() {
        let p = grid();
        for (i, cell) in p.cells.iter().enumerate() {
            let mask = select_cells(&p, &[only_argument(cell)]).unwrap();
            let expected: Vec<bool> = (0..p.cells.len()).map(|j| j == i).collect();
            assert_eq!(mask, expected, "{}", only_argument(cell));
        }
    }

    #[test]
    fn partial_and_repeated_selections() {
        let p = grid();
        let mask = select_cells(&p, &["model.upsampler=n15".to_string()]).unwrap();
        assert_eq!(mask, [false, true, false, true]);
        let mask = select_cells(
            &p,
            &["loss.alpha=0".to_string(), "loss.alpha=0.50".to_string()],
        )
        .unwrap();
        assert_eq!(mask, [true; 4], "0 is 0.0 and 0.50 is 0.5");
        assert_eq!(select_cells(&p, &[]).unwrap(), [true; 4]);
    }

    #[test]
    fn bad_selections_name_the_problem() {
        let p = grid();
        let err = select_cells(&p, &["train.seed=1".to_string()]).unwrap_err();
        assert!(err.contains("`train.seed` is not a swept key"), "{err}");
        let err = select_cells(&p, &["loss.alpha=0.25".to_string()]).unwrap_err();
        assert!(err.contains("no cell"), "{err}");
        let err = select_cells(&p, &["loss.alpha".to_string()]).unwrap_err();
        assert!(err.contains("not KEY=VALUE"), "{err}");
    }

    #[test]
    fn values_may_hold_commas() {
        let text = "dataset: {name: shapes}\nsweep:\n  loss.terms: [[{bce: {}}], [{bce: {}}, {fft: {}}]]\n  train.seed: [0, 1]\n";
        let p = load_pipeline_str(Path::new("p.yaml"), text, &[]).unwrap();
        for (i, cell) in p.cells.iter().enumerate() {
            let mask = select_cells(&p, &[only_argument(cell)]).unwrap();
            assert_eq!(
                mask.iter().filter(|m| **m).count(),
                1,
                "{}",
                only_argument(cell)
            );
            assert!(mask[i]);
        }
    }
}
