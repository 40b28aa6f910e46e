//! The sweep grid: the `sweep:` block of the file plus sweeping overrides.
//!
//! Each swept key is an [`Axis`]. Axes from the `sweep:` block come first, in
//! file order, then sweeping overrides in command-line order. An override on the
//! same key as a block axis replaces that axis (a sweeping override takes its
//! place, a single override removes it). The grid is the Cartesian product of
//! the axes, enumerated with the last axis varying fastest.

use serde_json::Value;

use super::locate::Locations;
use super::overrides::{check_key, value_text, Override};

/// Where an axis comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisOrigin {
    /// The `sweep:` block of the file.
    File,
    /// A `-o` argument; holds its text (without `-o`).
    Override(String),
}

/// One swept key and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Dotted key path, e.g. `model.upsampler`.
    pub key: String,
    /// The values, in the order written (at least one).
    pub values: Vec<Value>,
    /// Where the axis was declared.
    pub origin: AxisOrigin,
}

/// A problem in the `sweep:` block, at dotted `path` of the file
/// (`sweep.loss.alpha`).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepIssue {
    /// Dotted path of the offending entry in the file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Reads the `sweep:` block (a mapping of dotted key path -> non-empty list of
/// values; `null` means no sweep) into axes ordered as written in the file.
pub fn block_axes(block: &Value, locations: &Locations) -> Result<Vec<Axis>, SweepIssue> {
    let map = match block {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        _ => {
            return Err(SweepIssue {
                path: "sweep".to_string(),
                message: "sweep must be a mapping of key path to a list of values, e.g. `model.upsampler: [convt, n15]`".to_string(),
            })
        }
    };
    let mut axes = Vec::with_capacity(map.len());
    for (key, values) in map {
        let path = format!("sweep.{key}");
        let issue = |message: String| SweepIssue {
            path: path.clone(),
            message,
        };
        check_key(key).map_err(|e| issue(format!("sweep key: {e}")))?;
        if key == "sweep" || key.starts_with("sweep.") {
            return Err(issue("the sweep block cannot sweep itself".to_string()));
        }
        let values = match values {
            Value::Array(items) if !items.is_empty() => items.clone(),
            Value::Array(_) => return Err(issue(format!("{path} must list at least one value"))),
            other => {
                return Err(issue(format!(
                    "{path} must be a list of values, e.g. [{}], got {}",
                    value_text(other),
                    super::overrides::kind_of(other)
                )))
            }
        };
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                return Err(SweepIssue {
                    path: format!("{path}.{i}"),
                    message: format!("{path} lists the value {} twice", value_text(v)),
                });
            }
        }
        axes.push(Axis {
            key: key.clone(),
            values,
            origin: AxisOrigin::File,
        });
    }
    // serde_json's map is sorted by key; restore the order of the file.
    axes.sort_by_key(|axis| {
        locations
            .of(&format!("sweep.{}", axis.key))
            .unwrap_or((usize::MAX, 0))
    });
    Ok(axes)
}

/// Whether `key` is `prefix` or lies under it (whole segments).
pub fn is_under(key: &str, prefix: &str) -> bool {
    key == prefix || (key.starts_with(prefix) && key.as_bytes().get(prefix.len()) == Some(&b'.'))
}

/// Combines the file's axes with the overrides (in command-line order) and
/// returns all axes of the grid. An axis whose key equals an override's key, or
/// lies under it, is dropped; a sweeping override on exactly that key takes its
/// place, other sweeping overrides are appended. So a later override on the same
/// key replaces an earlier one.
pub fn combine(block: Vec<Axis>, overrides: &[Override]) -> Vec<Axis> {
    let mut axes = block;
    for o in overrides {
        let position = axes.iter().position(|a| a.key == o.key);
        let replacement = o.is_sweep().then(|| Axis {
            key: o.key.clone(),
            values: o.values.clone(),
            origin: AxisOrigin::Override(o.text.clone()),
        });
        match (position, replacement) {
            (Some(i), Some(axis)) => axes[i] = axis,
            (Some(i), None) => {
                axes.remove(i);
            }
            (None, Some(axis)) => axes.push(axis),
            (None, None) => {}
        }
        // Axes under the overridden key are covered by the override.
        axes.retain(|a| a.key == o.key || !is_under(&a.key, &o.key));
    }
    axes
}

/// Every cell of the grid as one value index per axis, last axis fastest. No
/// axes give one cell with no indices.
pub fn cells(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    for axis in axes {
        let mut next = Vec::with_capacity(out.len() * axis.values.len());
        for prefix in &out {
            for i in 0..axis.values.len() {
                let mut cell = prefix.clone();
                cell.push(i);
                next.push(cell);
            }
        }
        out = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::overrides::parse_override;
    use serde_json::json;

    const TEXT: &str = "sweep:\n  model.upsampler: [convt, n15]\n  loss.alpha: [0.0, 0.5, 1.0]\n";

    fn file_axes() -> Vec<Axis> {
        let tree: Value = serde_saphyr::from_str(TEXT).unwrap();
        block_axes(&tree["sweep"], &Locations::parse(TEXT)).unwrap()
    }

    #[test]
    fn block_axes_keep_file_order() {
        let axes = file_axes();
        let keys: Vec<&str> = axes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["model.upsampler", "loss.alpha"]);
        assert_eq!(axes[1].values, vec![json!(0.0), json!(0.5), json!(1.0)]);
    }

    #[test]
    fn grid_is_last_axis_fastest() {
        let grid = cells(&file_axes());
        assert_eq!(grid.len(), 6);
        assert_eq!(grid[0], [0, 0]);
        assert_eq!(grid[1], [0, 1]);
        assert_eq!(grid[2], [0, 2]);
        assert_eq!(grid[3], [1, 0]);
        assert_eq!(cells(&[]), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn overrides_replace_or_remove_axes() {
        let sweep = parse_override("model.upsampler=n13,n17,convt").unwrap();
        let single = parse_override("loss.alpha=0.25").unwrap();
        let extra = parse_override("train.seed=1,2").unwrap();
        let axes = combine(file_axes(), &[extra.clone(), sweep]);
        let keys: Vec<&str> = axes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["model.upsampler", "loss.alpha", "train.seed"]);
        assert_eq!(axes[0].values.len(), 3);
        assert_eq!(
            axes[0].origin,
            AxisOrigin::Override("model.upsampler=n13,n17,convt".into())
        );
        let axes = combine(file_axes(), &[single]);
        let keys: Vec<&str> = axes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["model.upsampler"]);
        // A later single override cancels an earlier sweeping one.
        let axes = combine(
            Vec::new(),
            &[extra, parse_override("train.seed=3").unwrap()],
        );
        assert!(axes.is_empty());
        // An override of a whole section covers the block axes inside it.
        let axes = combine(file_axes(), &[parse_override("loss={alpha: 0.1}").unwrap()]);
        assert_eq!(axes.len(), 1);
    }

    #[test]
    fn bad_blocks_are_rejected() {
        let loc = Locations::default();
        assert_eq!(block_axes(&json!([1]), &loc).unwrap_err().path, "sweep");
        let e = block_axes(&json!({"loss.alpha": 0.5}), &loc).unwrap_err();
        assert_eq!(e.path, "sweep.loss.alpha");
        assert!(e.message.contains("must be a list"), "{}", e.message);
        let e = block_axes(&json!({"loss.alpha": []}), &loc).unwrap_err();
        assert!(e.message.contains("at least one"), "{}", e.message);
        let e = block_axes(&json!({"loss.alpha": [0.5, 0.5]}), &loc).unwrap_err();
        assert_eq!(e.path, "sweep.loss.alpha.1");
        assert!(is_under("loss.alpha", "loss") && !is_under("lossy", "loss") && is_under("a", "a"));
    }
}
