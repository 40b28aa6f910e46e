//! Property tests of pipeline keys, taken from the planner: the dataset, train
//! and eval keys of a cell depend on the values each node uses (and its
//! parent's key), not on how the file is written nor on values other nodes use.

use std::path::Path;

use proptest::prelude::*;
use runner::dag::{build_plan, NodeKind, Plan, Store};
use runner::pipeline::key::NodeKey;
use runner::pipeline::load::load_pipeline_str;

/// A few fields of a pipeline; `None` means "not written" (the default applies).
#[derive(Debug, Clone)]
struct Fields {
    lr: Option<f64>,
    epochs: Option<u32>,
    seed: Option<u64>,
    shuffle: Option<bool>,
    latent: Option<u32>,
    upsampler: Option<&'static str>,
    beta: Option<f64>,
    /// `Some(None)` writes `alpha: null`.
    alpha: Option<Option<f64>>,
    channels: Option<u32>,
    train_seed: Option<u64>,
    eval_images: Option<u32>,
}

/// The dataset values a pipeline with `f` uses (defaults filled in).
type DatasetValues = (u32, u64);
/// The model, train and loss values it uses.
type TrainValues = (u64, u32, u64, bool, u32, &'static str, u64, Option<u64>);
/// The eval values it uses.
type EvalValues = u32;

impl Fields {
    fn dataset_values(&self) -> DatasetValues {
        (self.channels.unwrap_or(1), self.train_seed.unwrap_or(1))
    }

    fn train_values(&self) -> TrainValues {
        (
            self.lr.unwrap_or(1.0e-4).to_bits(),
            self.epochs.unwrap_or(100),
            self.seed.unwrap_or(0),
            self.shuffle.unwrap_or(false),
            self.latent.unwrap_or(128),
            self.upsampler.unwrap_or("convt"),
            self.beta.unwrap_or(0.1).to_bits(),
            self.alpha.flatten().map(f64::to_bits),
        )
    }

    fn eval_values(&self) -> EvalValues {
        self.eval_images.unwrap_or(1000)
    }
}

/// How a file is written: everything that must not change the key.
#[derive(Debug, Clone)]
struct Layout {
    /// Permutation seeds for section order and key order inside sections.
    order: Vec<usize>,
    /// Blank lines (and comments) sprinkled between lines.
    blanks: Vec<u8>,
    /// Indentation width of block sections.
    indent: usize,
    /// Write sections as `{a: 1, b: 2}` instead of block lines.
    flow: bool,
    /// How floats are spelled (0: shortest decimal, 1: exponent, 2: with a `+`/`.0` style).
    float_style: u8,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        (
            proptest::option::of(prop::sample::select(vec![1.0e-4, 2.0e-4, 1.0e-3])),
            proptest::option::of(1u32..4),
            proptest::option::of(0u64..3),
            proptest::option::of(any::<bool>()),
            proptest::option::of(prop::sample::select(vec![128u32, 16])),
        ),
        (
            proptest::option::of(prop::sample::select(vec!["convt", "n13", "n15", "n17"])),
            proptest::option::of(prop::sample::select(vec![0.0, 0.1, 0.5])),
            proptest::option::of(proptest::option::of(prop::sample::select(vec![
                0.0, 0.5, 1.0,
            ]))),
            proptest::option::of(prop::sample::select(vec![1u32, 3])),
            proptest::option::of(prop::sample::select(vec![1u64, 5])),
            proptest::option::of(prop::sample::select(vec![8u32, 1000])),
        ),
    )
        .prop_map(
            |(
                (lr, epochs, seed, shuffle, latent),
                (upsampler, beta, alpha, channels, train_seed, eval_images),
            )| Fields {
                lr,
                epochs,
                seed,
                shuffle,
                latent,
                upsampler,
                beta,
                alpha,
                channels,
                train_seed,
                eval_images,
            },
        )
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::collection::vec(0usize..1000, 8),
        prop::collection::vec(0u8..4, 32),
        prop::sample::select(vec![2usize, 4]),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(|(order, blanks, indent, flow, float_style)| Layout {
            order,
            blanks,
            indent,
            flow,
            float_style,
        })
}

fn float_text(x: f64, style: u8) -> String {
    match style {
        0 => format!("{x:?}"),
        1 => format!("{x:e}"),
        _ => format!("{x:.6}"),
    }
}

/// Moves item `seed % len` to the front, repeatedly: a permutation from seeds.
fn permute<T>(mut items: Vec<T>, seeds: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    let mut i = 0;
    while !items.is_empty() {
        let pick = seeds.get(i).copied().unwrap_or(0) % items.len();
        out.push(items.remove(pick));
        i += 1;
    }
    out
}

/// Writes `f` as a pipeline file laid out as `l`.
fn render(f: &Fields, l: &Layout) -> String {
    let fl = |x: f64| float_text(x, l.float_style);
    let mut sections: Vec<(&str, Vec<(String, String)>)> = Vec::new();
    let mut dataset = vec![("name".to_string(), "shapes".to_string())];
    if let Some(c) = f.channels {
        dataset.push(("channels".into(), c.to_string()));
    }
    if let Some(s) = f.train_seed {
        dataset.push(("train_seed".into(), s.to_string()));
    }
    sections.push(("dataset", dataset));
    let mut model = Vec::new();
    if let Some(n) = f.latent {
        model.push(("latent".to_string(), n.to_string()));
    }
    if let Some(u) = f.upsampler {
        model.push(("upsampler".to_string(), u.to_string()));
    }
    sections.push(("model", model));
    let mut train = Vec::new();
    if let Some(lr) = f.lr {
        train.push((
            "optimizer".to_string(),
            format!("{{adam: {{lr: {}}}}}", fl(lr)),
        ));
    }
    if let Some(e) = f.epochs {
        train.push(("epochs".to_string(), e.to_string()));
    }
    if let Some(s) = f.seed {
        train.push(("seed".to_string(), s.to_string()));
    }
    if let Some(s) = f.shuffle {
        train.push(("shuffle".to_string(), s.to_string()));
    }
    sections.push(("train", train));
    let mut loss = Vec::new();
    if let Some(b) = f.beta {
        loss.push(("kl".to_string(), format!("{{beta: {}}}", fl(b))));
    }
    match f.alpha {
        Some(Some(a)) => loss.push(("alpha".to_string(), fl(a))),
        Some(None) => loss.push(("alpha".to_string(), "null".to_string())),
        None => {}
    }
    sections.push(("loss", loss));
    let mut eval = Vec::new();
    if let Some(n) = f.eval_images {
        eval.push(("images".to_string(), n.to_string()));
    }
    sections.push(("eval", eval));

    let mut lines: Vec<String> = Vec::new();
    let sections = permute(sections, &l.order);
    for (k, (name, entries)) in sections.into_iter().enumerate() {
        if entries.is_empty() {
            continue;
        }
        let entries = permute(entries, &l.order[(k + 1) % l.order.len()..]);
        if l.flow {
            let inner: Vec<String> = entries
                .iter()
                .map(|(key, v)| format!("{key}: {v}"))
                .collect();
            lines.push(format!("{name}: {{{}}}", inner.join(", ")));
        } else {
            lines.push(format!("{name}:   # section {name}"));
            for (key, v) in entries {
                lines.push(format!("{}{key}: {v}", " ".repeat(l.indent)));
            }
        }
    }
    let mut text = String::from("# a generated pipeline\n");
    for (i, line) in lines.into_iter().enumerate() {
        match l.blanks[i % l.blanks.len()] {
            1 => text.push('\n'),
            2 => text.push_str("\n  \n"),
            3 => text.push_str("# comment\n"),
            _ => {}
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The plan of `text` with `overrides` against an empty store: the planner
/// computes the keys. (The only call of `build_plan` in this file.)
fn plan_with(text: &str, overrides: &[&str]) -> Plan {
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    let loaded = load_pipeline_str(Path::new("p.yaml"), text, &overrides)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("cache"), dir.path().join("results"));
    build_plan(loaded, &store, &runner::code_version::current).unwrap()
}

/// [`plan_with`] without overrides.
fn plan_of(text: &str) -> Plan {
    plan_with(text, &[])
}

/// The keys of one cell's nodes, as planned.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Keys {
    dataset: NodeKey,
    train: NodeKey,
    eval: NodeKey,
}

/// The dataset, train and eval keys of the single cell of `text`.
fn keys_of(text: &str) -> Keys {
    let plan = plan_of(text);
    assert_eq!(plan.cell_nodes.len(), 1);
    let cell = plan.cell_nodes[0];
    let key = |i: usize, kind: NodeKind| {
        assert_eq!(plan.nodes[i].kind, kind);
        plan.nodes[i].key
    };
    Keys {
        dataset: key(cell.dataset, NodeKind::Dataset),
        train: key(cell.train, NodeKind::Train),
        eval: key(cell.eval, NodeKind::Eval),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn keys_ignore_layout(f in fields(), a in layout(), b in layout()) {
        let (ta, tb) = (render(&f, &a), render(&f, &b));
        prop_assert_eq!(keys_of(&ta), keys_of(&tb), "\n{}\n---\n{}", ta, tb);
    }

    #[test]
    fn keys_ignore_explicit_defaults(f in fields(), l in layout()) {
        let explicit = Fields {
            lr: f.lr.or(Some(1.0e-4)),
            epochs: f.epochs.or(Some(100)),
            seed: f.seed.or(Some(0)),
            shuffle: f.shuffle.or(Some(false)),
            latent: f.latent.or(Some(128)),
            upsampler: f.upsampler.or(Some("convt")),
            beta: f.beta.or(Some(0.1)),
            alpha: f.alpha.or(Some(None)),
            channels: f.channels.or(Some(1)),
            train_seed: f.train_seed.or(Some(1)),
            eval_images: f.eval_images.or(Some(1000)),
        };
        prop_assert_eq!(keys_of(&render(&f, &l)), keys_of(&render(&explicit, &l)));
    }

    /// Each key changes exactly when a value its node uses changes, its own or
    /// an ancestor's: the dataset key with the dataset values only, the train
    /// key also with the model, train and loss values, the eval key also with
    /// the eval values.
    #[test]
    fn each_key_changes_iff_a_value_its_node_uses_changes(
        a in fields(), b in fields(), la in layout(), lb in layout()
    ) {
        let same_dataset = a.dataset_values() == b.dataset_values();
        let same_train = same_dataset && a.train_values() == b.train_values();
        let same_eval = same_train && a.eval_values() == b.eval_values();
        let (ta, tb) = (render(&a, &la), render(&b, &lb));
        let (ka, kb) = (keys_of(&ta), keys_of(&tb));
        prop_assert_eq!(ka.dataset == kb.dataset, same_dataset, "dataset\n{}\n---\n{}", ta, tb);
        prop_assert_eq!(ka.train == kb.train, same_train, "train\n{}\n---\n{}", ta, tb);
        prop_assert_eq!(ka.eval == kb.eval, same_eval, "eval\n{}\n---\n{}", ta, tb);
    }
}

/// One override per section: which node keys it must change. A section left
/// out of a node's key (or put into another's) fails here by name.
#[test]
fn each_section_is_in_the_keys_of_the_nodes_that_use_it() {
    let base = "dataset: {name: shapes, train_images: 64, test_images: 32}\neval: {images: 8}\n";
    let keys = |overrides: &[&str]| {
        let plan = plan_with(base, overrides);
        let cell = plan.cell_nodes[0];
        [cell.dataset, cell.train, cell.eval].map(|i| plan.nodes[i].key)
    };
    let plain = keys(&[]);
    // (override, changes the dataset / train / eval key)
    let cases: [(&str, [bool; 3]); 12] = [
        ("dataset.train_images=65", [true, true, true]),
        ("dataset.train_seed=7", [true, true, true]),
        ("dataset.channels=3", [true, true, true]),
        ("model.latent=16", [false, true, true]),
        ("model.upsampler=n15", [false, true, true]),
        ("train.epochs=2", [false, true, true]),
        ("train.optimizer.adam.lr=0.001", [false, true, true]),
        ("loss.alpha=0.5", [false, true, true]),
        ("loss.kl.beta=0.5", [false, true, true]),
        ("eval.images=4", [false, false, true]),
        ("train.threads=2", [false, false, false]),
        ("train.device=cpu", [false, false, false]),
    ];
    let mut wrong = Vec::new();
    for (o, expected) in cases {
        let changed = keys(&[o]);
        let got = [0, 1, 2].map(|i| changed[i] != plain[i]);
        if got != expected {
            wrong.push(format!(
                "-o {o}: dataset/train/eval changed {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn sweep_cells_have_distinct_keys() {
    let text = "dataset: {name: shapes}\nsweep:\n  model.upsampler: [convt, n15]\n  loss.alpha: [0.0, 0.5]\n";
    let plan = plan_of(text);
    let distinct = |kind: NodeKind| {
        let mut keys: Vec<NodeKey> = plan
            .cell_nodes
            .iter()
            .map(|c| match kind {
                NodeKind::Dataset => plan.nodes[c.dataset].key,
                NodeKind::Train => plan.nodes[c.train].key,
                _ => plan.nodes[c.eval].key,
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys.len()
    };
    assert_eq!(plan.cell_nodes.len(), 4);
    // One dataset shared by the 4 cells; a training and an eval each.
    assert_eq!(distinct(NodeKind::Dataset), 1);
    assert_eq!(distinct(NodeKind::Train), 4);
    assert_eq!(distinct(NodeKind::Eval), 4);
}
