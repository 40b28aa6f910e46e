//! The plan: one node per distinct piece of work, its key, its parents, and
//! whether its result is fresh, stale (with the key paths that changed) or missing.
//! Computed from the loaded pipeline and the store alone; it runs nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::store::{check_done, read_done, Depth, NotDone, Store};
/// Swept values are shown one way everywhere (summary.csv, labels, tables).
pub use crate::pipeline::display::value_text;
use crate::pipeline::key::{changed_paths, node_key, NodeKey};
use crate::pipeline::load::{Cell, LoadedPipeline};
use crate::pipeline::schema::ResolvedPipeline;

/// What a node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Build (or verify) a cached dataset.
    Dataset,
    /// Train one cell's model.
    Train,
    /// Evaluate one trained model.
    Eval,
    /// Write the pipeline's summary table.
    Report,
}

impl NodeKind {
    /// Lower-case name, used in keys and output.
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Dataset => "dataset",
            NodeKind::Train => "train",
            NodeKind::Eval => "eval",
            NodeKind::Report => "report",
        }
    }
}

/// Whether a node must run, and why.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeState {
    /// Its directory holds a complete result with this key.
    Fresh,
    /// An earlier result of the same cell exists under another key; the reasons
    /// name what changed.
    Stale(Vec<String>),
    /// No earlier result of this cell.
    Missing,
}

impl NodeState {
    /// fresh / stale / missing.
    pub fn name(&self) -> &'static str {
        match self {
            NodeState::Fresh => "fresh",
            NodeState::Stale(_) => "stale",
            NodeState::Missing => "missing",
        }
    }
}

/// One node of the DAG.
#[derive(Debug, Clone)]
pub struct Node {
    /// What it does.
    pub kind: NodeKind,
    /// Content key.
    pub key: NodeKey,
    /// Indices of the nodes it needs.
    pub deps: Vec<usize>,
    /// Its directory in the store.
    pub dir: PathBuf,
    /// Indices of the cells that use it.
    pub cells: Vec<usize>,
    /// Its own config subset (with its code versions); what DONE records adds
    /// its ancestors' ([`Plan::recorded_config`]), which is computed when needed
    /// so that a large sweep's plan stays small.
    pub own_config: Value,
    /// Fresh, stale or missing.
    pub state: NodeState,
}

/// The node indices of one cell.
#[derive(Debug, Clone, Copy)]
pub struct CellNodes {
    /// Its dataset node.
    pub dataset: usize,
    /// Its train node.
    pub train: usize,
    /// Its eval node.
    pub eval: usize,
}

/// The keys of one cell as recorded after a run, to explain later changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellRecord {
    /// Dataset key.
    pub dataset: NodeKey,
    /// Train key.
    pub train: NodeKey,
    /// Eval key.
    pub eval: NodeKey,
}

/// What the report node writes (part of its key).
const REPORT_OUTPUTS: &str = "summary,cells,table,spectrum-plot,curves-plots";

/// File in `results/<pipeline>/` mapping each cell label to its last keys.
pub const CELLS_FILE: &str = "cells.json";

/// The whole plan of one pipeline invocation.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The loaded pipeline (file, name, cells).
    pub pipeline: LoadedPipeline,
    /// All nodes, parents before children.
    pub nodes: Vec<Node>,
    /// Node indices per cell, in cell order.
    pub cell_nodes: Vec<CellNodes>,
    /// The report node.
    pub report: usize,
    /// Which cells this invocation may run (`--only`); all by default. Nodes
    /// of the other cells are neither run nor reported as failed.
    pub selected: Vec<bool>,
}

/// A cell's label as `key=value` pairs separated by spaces ("" for a single cell).
pub fn label_string(cell: &Cell) -> String {
    pairs_string(&cell.label)
}

/// Swept `(key, value)` pairs as `key=value` separated by spaces, as in
/// [`label_string`].
pub fn pairs_string(pairs: &[(String, Value)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The versions of the code a node of some kind runs for a cell, by component
/// (`loss.ffl` -> 2); part of the node's key and of what its DONE records.
/// runner's own is `crate::code_version::current`.
pub type CodeVersions<'a> = &'a dyn Fn(NodeKind, &ResolvedPipeline) -> BTreeMap<String, u32>;

/// `value` as JSON, for a key; an error (never a `null` two configs could
/// share) when it cannot be represented.
fn key_json(what: &str, value: &impl Serialize) -> anyhow::Result<Value> {
    serde_json::to_value(value).with_context(|| format!("cannot form the key: {what} is not JSON"))
}

/// What a dataset node of `cfg` depends on (its key's config subset, and what
/// its DONE records).
pub fn dataset_subset(cfg: &ResolvedPipeline, code: CodeVersions) -> anyhow::Result<Value> {
    Ok(json!({
        "dataset": key_json("dataset", &cfg.dataset)?,
        "code": key_json("code", &code(NodeKind::Dataset, cfg))?,
    }))
}

/// One line naming a node: kind, short key and its cells' labels
/// (`train   3fa9c2e81b07  [model.upsampler=n15]`).
pub fn node_line(kind: NodeKind, key: &NodeKey, label: &str) -> String {
    let mut text = format!("{:<7} {}", kind.name(), key.short());
    if !label.is_empty() {
        text.push_str(&format!("  [{label}]"));
    }
    text
}

/// The config subsets of one cell: what each node kind depends on, with the
/// versions of the code it runs under `code`.
fn subsets(cell: &Cell, code: CodeVersions) -> anyhow::Result<(Value, Value, Value)> {
    let cfg = &cell.config;
    let mut train = key_json("train", &cfg.train)?;
    // The device says where, not what: it is provenance, not part of the key,
    // unless the user asks to keep CPU and GPU results apart (then its kind, as
    // resolved here, so that `auto` on a GPU machine and `cuda` share a key).
    if let Some(map) = train.as_object_mut() {
        map.remove("device");
        map.remove("device_in_key");
        // Thread counts change how fast, never what: results are bit-identical.
        map.remove("threads");
        if cfg.train.device_in_key {
            map.insert(
                "device".to_string(),
                Value::String(crate::device::key_kind(cfg.train.device)),
            );
        }
    }
    Ok((
        dataset_subset(cfg, code)?,
        json!({
            "model": key_json("model", &cfg.model)?,
            "train": train,
            "loss": key_json("loss", &cfg.loss)?,
            "code": key_json("code", &code(NodeKind::Train, cfg))?,
        }),
        json!({
            "eval": key_json("eval", &cfg.eval)?,
            "code": key_json("code", &code(NodeKind::Eval, cfg))?,
        }),
    ))
}

/// Merges the top-level entries of `b` into `a`; where both hold a mapping
/// (`code`), their entries are merged.
fn merged(a: &Value, b: &Value) -> Value {
    let mut out = a.clone();
    if let (Some(out_map), Some(b_map)) = (out.as_object_mut(), b.as_object()) {
        for (k, v) in b_map {
            match (out_map.get_mut(k), v) {
                (Some(Value::Object(inner)), Value::Object(add)) => {
                    inner.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    out_map.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// One changed key path as `--dry-run` shows it: `train.epochs: 3 -> 4`, or for
/// a component's code version `loss ffl v1 -> v2`.
fn change_line(path: &str, old: Option<Value>, new: Option<Value>) -> String {
    if let Some(component) = path.strip_prefix("code.") {
        let what = component.replacen('.', " ", 1);
        let show = |v: Option<Value>| v.map_or("(none)".to_string(), |v| format!("v{v}"));
        return format!("{what} {} -> {}", show(old), show(new));
    }
    let show = |v: Option<Value>| v.map_or("(none)".to_string(), |v| value_text(&v));
    format!("{path}: {} -> {}", show(old), show(new))
}

/// Reads `results/<pipeline>/cells.json` (empty when absent or unreadable).
pub fn read_cell_records(store: &Store, pipeline: &str) -> BTreeMap<String, CellRecord> {
    let path = store.pipeline_dir(pipeline).join(CELLS_FILE);
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// The state of a node whose result would live in `dir` under `key`, given the
/// directory of the same cell's previous result (if any). A result whose files
/// do not have their recorded sizes is stale, with the files as the reason.
fn state_of(dir: &Path, key: &NodeKey, config: &Value, previous: Option<PathBuf>) -> NodeState {
    match check_done(dir, key, Depth::Sizes) {
        Ok(_) => return NodeState::Fresh,
        Err(NotDone::Altered(files)) => return NodeState::Stale(files),
        Err(NotDone::Absent) => {}
    }
    let Some(previous) = previous.and_then(|p| read_done(&p)) else {
        return NodeState::Missing;
    };
    let mut reasons: Vec<String> = changed_paths(&previous.config, config)
        .into_iter()
        .map(|(path, old, new)| change_line(&path, old, new))
        .collect();
    if reasons.is_empty() {
        reasons.push("runner's schema or an upstream result changed".to_string());
    }
    NodeState::Stale(reasons)
}

/// Builds the plan of `pipeline` against the results and cache in `store`;
/// `code` gives the versions of the code each node runs (part of its key).
///
/// A fresh result that a node about to run will read is hashed here (its
/// files against the blake3 its DONE recorded): an altered one is stale and
/// recomputed. Datasets are exempt: their cache verifies its own hashes
/// whenever it is loaded.
pub fn build_plan(
    pipeline: LoadedPipeline,
    store: &Store,
    code: CodeVersions,
) -> anyhow::Result<Plan> {
    let name = pipeline.name.clone();
    let previous = read_cell_records(store, &name);
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_key: HashMap<(NodeKind, NodeKey), usize> = HashMap::new();
    let mut cell_nodes = Vec::with_capacity(pipeline.cells.len());

    for (ci, cell) in pipeline.cells.iter().enumerate() {
        let label = label_string(cell);
        let before = previous.get(&label);
        let (d_sub, t_sub, e_sub) = subsets(cell, code)?;
        let d_key = node_key("dataset", &d_sub, &[]);
        let t_key = node_key("train", &t_sub, &[d_key]);
        let e_key = node_key("eval", &e_sub, &[t_key]);
        let t_config = merged(&d_sub, &t_sub);
        let e_config = merged(&t_config, &e_sub);

        let specs = [
            (
                NodeKind::Dataset,
                d_key,
                store.dataset_dir(&d_key),
                d_sub.clone(),
                d_sub,
                before.map(|b| store.dataset_dir(&b.dataset)),
            ),
            (
                NodeKind::Train,
                t_key,
                store.run_dir(&name, &t_key),
                t_config,
                t_sub,
                before.map(|b| store.run_dir(&name, &b.train)),
            ),
            (
                NodeKind::Eval,
                e_key,
                store.eval_dir(&name, &t_key, &e_key),
                e_config,
                e_sub,
                before.map(|b| store.eval_dir(&name, &b.train, &b.eval)),
            ),
        ];
        let mut ids = [0usize; 3];
        for (slot, (kind, key, dir, config, own_config, prev_dir)) in specs.into_iter().enumerate()
        {
            let id = *by_key.entry((kind, key)).or_insert_with(|| {
                let state = state_of(&dir, &key, &config, prev_dir);
                let deps = if slot == 0 {
                    vec![]
                } else {
                    vec![ids[slot - 1]]
                };
                nodes.push(Node {
                    kind,
                    key,
                    deps,
                    dir,
                    cells: Vec::new(),
                    own_config,
                    state,
                });
                nodes.len() - 1
            });
            nodes[id].cells.push(ci);
            ids[slot] = id;
        }
        cell_nodes.push(CellNodes {
            dataset: ids[0],
            train: ids[1],
            eval: ids[2],
        });
    }

    // The report depends on every eval and on the table's shape.
    let eval_ids: Vec<usize> = cell_nodes.iter().map(|c| c.eval).collect();
    let eval_keys: Vec<NodeKey> = eval_ids.iter().map(|&i| nodes[i].key).collect();
    let labels: Vec<String> = pipeline.cells.iter().map(label_string).collect();
    // `outputs` names what the report writes, so results from a runner that wrote
    // less are redone once.
    let report_code: BTreeMap<String, u32> = pipeline
        .cells
        .first()
        .map(|cell| code(NodeKind::Report, &cell.config))
        .unwrap_or_default();
    let report_config = json!({
        "cells": labels,
        "swept_keys": pipeline.swept_keys,
        "report": key_json("report", &pipeline.report)?,
        "outputs": REPORT_OUTPUTS,
        "code": key_json("code", &report_code)?,
    });
    let r_key = node_key("report", &report_config, &eval_keys);
    let r_dir = store.report_dir(&name);
    let r_state = match check_done(&r_dir, &r_key, Depth::Sizes) {
        Ok(_) => NodeState::Fresh,
        Err(NotDone::Altered(files)) => NodeState::Stale(files),
        Err(NotDone::Absent) if read_done(&r_dir).is_some() => {
            NodeState::Stale(vec!["the set of cells or their results changed".to_string()])
        }
        Err(NotDone::Absent) => NodeState::Missing,
    };
    nodes.push(Node {
        kind: NodeKind::Report,
        key: r_key,
        deps: eval_ids,
        dir: r_dir,
        cells: (0..pipeline.cells.len()).collect(),
        own_config: report_config,
        state: r_state,
    });
    let report = nodes.len() - 1;
    let mut plan = Plan {
        selected: vec![true; pipeline.cells.len()],
        pipeline,
        nodes,
        cell_nodes,
        report,
    };
    plan.hash_inputs_of_running_nodes();
    Ok(plan)
}

impl Plan {
    /// Hashes every fresh train or eval result that a node which must run will
    /// read; an altered one becomes stale (which may make more nodes run, whose
    /// inputs are then hashed in turn).
    fn hash_inputs_of_running_nodes(&mut self) {
        let mut hashed = vec![false; self.nodes.len()];
        loop {
            let to_run = self.to_run(false);
            let inputs: Vec<usize> = self
                .nodes
                .iter()
                .zip(&to_run)
                .filter(|(_, run)| **run)
                .flat_map(|(node, _)| node.deps.iter().copied())
                .collect();
            let mut changed = false;
            for d in inputs {
                let dep = &self.nodes[d];
                if hashed[d] || dep.kind == NodeKind::Dataset || dep.state != NodeState::Fresh {
                    continue;
                }
                hashed[d] = true;
                if let Err(NotDone::Altered(files)) = check_done(&dep.dir, &dep.key, Depth::Hashes)
                {
                    self.nodes[d].state = NodeState::Stale(files);
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// What node `i`'s DONE records: its own config subset merged with its
    /// ancestors' (a train node's includes its dataset's).
    pub fn recorded_config(&self, i: usize) -> Value {
        let node = &self.nodes[i];
        match (node.kind, node.deps.first()) {
            (NodeKind::Train | NodeKind::Eval, Some(&parent)) => {
                merged(&self.recorded_config(parent), &node.own_config)
            }
            _ => node.own_config.clone(),
        }
    }

    /// Runs only the cells of `selected` (one flag per cell, see
    /// `crate::pipeline::select`).
    pub fn select(&mut self, selected: Vec<bool>) {
        assert_eq!(selected.len(), self.pipeline.cells.len());
        self.selected = selected;
    }

    /// Whether node `i` belongs to a selected cell (the report always does).
    pub fn is_selected(&self, i: usize) -> bool {
        let node = &self.nodes[i];
        node.kind == NodeKind::Report || node.cells.iter().any(|&c| self.selected[c])
    }

    /// Nodes that must run: of a selected cell, and not fresh or downstream of
    /// one that is not.
    pub fn to_run(&self, force: bool) -> Vec<bool> {
        let mut run = vec![false; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            run[i] = self.is_selected(i)
                && (force
                    || node.state != NodeState::Fresh
                    || node
                        .deps
                        .iter()
                        .any(|&d| run[d] && self.nodes[d].kind != NodeKind::Dataset));
        }
        run
    }

    /// The cell labels of node `i` joined for display.
    pub fn node_label(&self, i: usize) -> String {
        let node = &self.nodes[i];
        if node.kind == NodeKind::Report
            || node.kind == NodeKind::Dataset
                && self.pipeline.cells.len() > 1
                && node.cells.len() == self.pipeline.cells.len()
        {
            return String::new();
        }
        let labels: Vec<String> = node
            .cells
            .iter()
            .map(|&c| label_string(&self.pipeline.cells[c]))
            .filter(|l| !l.is_empty())
            .collect();
        labels.join(" | ")
    }
}
