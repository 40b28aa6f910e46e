//! Which code a node runs: the components it uses and their versions.
//!
//! Every component that computes results (a loss term, a metric, a dataset
//! reader, a network, the training loop, ...) has a version constant next to its
//! code. A node's key includes the versions of exactly the components it uses,
//! so a change to, say, the focal frequency loss (bumping `FflTerm::VERSION` in `loss/ffl.rs`)
//! changes the train keys of the cells that use `ffl` and nothing else, and
//! `--dry-run` says `changed: loss ffl v1 -> v2`.
//!
//! Shared helpers (the Fourier maths in `spectral`, the loss parameters) have no
//! version of their own: a change there bumps every component that uses it.

use std::collections::BTreeMap;

use crate::dag::plan::NodeKind;
use crate::pipeline::schema::ResolvedPipeline;
use crate::{data, eval, loss, model, train};

/// The components a node of `kind` runs for cell `cfg`, as `group.name` (e.g.
/// `loss.ffl`, `network.irmae_shape`) mapped to their versions.
pub fn current(kind: NodeKind, cfg: &ResolvedPipeline) -> BTreeMap<String, u32> {
    let mut code = BTreeMap::new();
    let mut add = |component: String, version: u32| {
        code.insert(component, version);
    };
    match kind {
        NodeKind::Dataset => {
            // The reader and the shared steps it uses (e.g. `resize`).
            for (name, version) in cfg.dataset.versions() {
                add(format!("dataset.{name}"), version);
            }
            add("dataset.cache".into(), data::cache::FORMAT_VERSION);
        }
        NodeKind::Train => {
            match model::layout::network(cfg.model.arch) {
                Some(net) => add(format!("network.{}", net.name), net.version),
                // Resolution replaces `auto` by a concrete network.
                None => add("network.auto".into(), 0),
            }
            add("network.modules".into(), model::layout::MODULES_VERSION);
            add("network.init".into(), model::init::VERSION);
            add("network.upsampler".into(), model::upsampler::VERSION);
            add("train.loop".into(), train::run::VERSION);
            add("train.adam".into(), train::adam::VERSION);
            add("train.schedule".into(), train::schedule::VERSION);
            add("loss.kl".into(), loss::kl::VERSION);
            add("loss.mix".into(), loss::mix::VERSION);
            for term in &cfg.loss.terms {
                add(format!("loss.{}", term.name()), term.version());
            }
        }
        NodeKind::Eval => {
            add("eval.run".into(), eval::run::VERSION);
            add("eval.spectrum".into(), eval::spectrum::VERSION);
            for metric in &cfg.eval.metrics {
                add(
                    format!("metric.{}", metric.column()),
                    metric.def().version(),
                );
            }
        }
        NodeKind::Report => add("report".into(), crate::report::VERSION),
    }
    code
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::dag::plan::{build_plan, label_string, CellRecord, NodeState, Plan, CELLS_FILE};
    use crate::dag::store::{write_done, Store};
    use crate::pipeline::load::load_pipeline_str;

    /// Two cells: BCE alone, and BCE with the focal frequency loss.
    const TWO_LOSSES: &str = "dataset: {name: shapes}\n\
        sweep:\n  loss.terms: [[{bce: {}}], [{bce: {}}, {ffl: {}}]]\n";

    fn plan(store: &Store, code: crate::dag::plan::CodeVersions) -> Plan {
        let loaded = load_pipeline_str(Path::new("p.yaml"), TWO_LOSSES, &[]).unwrap();
        build_plan(loaded, store, code).unwrap()
    }

    /// runner's versions with the focal frequency loss one ahead.
    fn ffl_bumped(kind: NodeKind, cfg: &ResolvedPipeline) -> BTreeMap<String, u32> {
        let mut code = current(kind, cfg);
        if let Some(v) = code.get_mut("loss.ffl") {
            *v += 1;
        }
        code
    }

    /// (dataset, train, eval) keys of each cell.
    fn keys(plan: &Plan) -> Vec<[String; 3]> {
        plan.cell_nodes
            .iter()
            .map(|c| [c.dataset, c.train, c.eval].map(|i| plan.nodes[i].key.to_string()))
            .collect()
    }

    #[test]
    fn a_loss_term_version_changes_only_the_cells_that_use_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("c"), dir.path().join("r"));
        let before = keys(&plan(&store, &current));
        let after = keys(&plan(&store, &ffl_bumped));
        assert_eq!(before[0], after[0], "the BCE-only cell keeps all its keys");
        assert_eq!(
            before[1][0], after[1][0],
            "the dataset does not run the loss"
        );
        assert_ne!(before[1][1], after[1][1], "the FFL cell trains again");
        assert_ne!(before[1][2], after[1][2], "and so evaluates again");
    }

    #[test]
    fn dry_run_names_the_component_whose_version_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("c"), dir.path().join("r"));
        // A finished run with today's code: every node DONE, cells.json written.
        let old = plan(&store, &current);
        let mut records = BTreeMap::new();
        for (cell, nodes) in old.pipeline.cells.iter().zip(&old.cell_nodes) {
            for &i in &[nodes.dataset, nodes.train, nodes.eval] {
                let node = &old.nodes[i];
                std::fs::create_dir_all(&node.dir).unwrap();
                write_done(
                    &node.dir,
                    node.key,
                    node.kind.name(),
                    &old.recorded_config(i),
                    &[],
                )
                .unwrap();
            }
            let record = CellRecord {
                dataset: old.nodes[nodes.dataset].key,
                train: old.nodes[nodes.train].key,
                eval: old.nodes[nodes.eval].key,
            };
            records.insert(label_string(cell), record);
        }
        let cells = store.pipeline_dir("p").join(CELLS_FILE);
        std::fs::write(cells, serde_json::to_string(&records).unwrap()).unwrap();

        let new = plan(&store, &ffl_bumped);
        let state = |cell: usize| new.nodes[new.cell_nodes[cell].train].state.clone();
        assert_eq!(state(0), NodeState::Fresh);
        assert_eq!(
            state(1),
            NodeState::Stale(vec!["loss ffl v1 -> v2".to_string()])
        );
        assert_eq!(new.nodes[new.cell_nodes[1].dataset].state, NodeState::Fresh);
    }

    /// `loss.input` and `model.convt_alignment` at their defaults, written or not,
    /// keep every key; their other values give new train (and so eval) keys.
    #[test]
    fn loss_input_and_convt_alignment_key_only_off_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("c"), dir.path().join("r"));
        let base = "name: p\ndataset: {name: mnist, root: data, size: 28}\n";
        let cell_keys = |extra: &str| {
            let text = format!("{base}{extra}");
            let loaded = load_pipeline_str(Path::new("p.yaml"), &text, &[]).unwrap();
            keys(&build_plan(loaded, &store, &current).unwrap())[0].clone()
        };
        let plain = cell_keys("");
        for defaults in [
            "loss: {input: sigmoid}\n",
            "model: {convt_alignment: pytorch}\n",
            "model: {arch: dalal_mnist, convt_alignment: pytorch}\nloss: {input: sigmoid}\n",
        ] {
            assert_eq!(cell_keys(defaults), plain, "{defaults}");
        }
        let logits = cell_keys("loss: {input: logits}\n");
        let keras = cell_keys("model: {convt_alignment: keras}\n");
        for other in [&logits, &keras] {
            assert_eq!(other[0], plain[0], "the dataset does not change");
            assert_ne!(other[1], plain[1], "the train key changes");
            assert_ne!(other[2], plain[2], "and so does the eval key");
        }
        assert_ne!(logits[1], keras[1]);
    }
}
