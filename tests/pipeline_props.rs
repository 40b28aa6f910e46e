//! Property tests of pipeline keys: the key of a resolved config depends on the
//! values it uses, not on how the file is written.

use std::path::Path;

use proptest::prelude::*;
use runner::pipeline::key::{node_key, NodeKey};
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
}

/// The values a pipeline with `f` actually uses (defaults filled in).
type Effective = (
    u64,
    u32,
    u64,
    bool,
    u32,
    &'static str,
    u64,
    Option<u64>,
    u32,
    u64,
);

impl Fields {
    fn effective(&self) -> Effective {
        (
            self.lr.unwrap_or(1.0e-4).to_bits(),
            self.epochs.unwrap_or(100),
            self.seed.unwrap_or(0),
            self.shuffle.unwrap_or(false),
            self.latent.unwrap_or(128),
            self.upsampler.unwrap_or("convt"),
            self.beta.unwrap_or(0.1).to_bits(),
            self.alpha.flatten().map(f64::to_bits),
            self.channels.unwrap_or(1),
            self.train_seed.unwrap_or(1),
        )
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
        ),
    )
        .prop_map(
            |(
                (lr, epochs, seed, shuffle, latent),
                (upsampler, beta, alpha, channels, train_seed),
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

/// The train key of the single cell of `text`.
fn key_of(text: &str) -> NodeKey {
    let loaded =
        load_pipeline_str(Path::new("p.yaml"), text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(loaded.cells.len(), 1);
    node_key(
        "train",
        &serde_json::to_value(&loaded.cells[0].config).unwrap(),
        &[],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn key_ignores_layout(f in fields(), a in layout(), b in layout()) {
        let (ta, tb) = (render(&f, &a), render(&f, &b));
        prop_assert_eq!(key_of(&ta), key_of(&tb), "\n{}\n---\n{}", ta, tb);
    }

    #[test]
    fn key_ignores_explicit_defaults(f in fields(), l in layout()) {
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
        };
        prop_assert_eq!(key_of(&render(&f, &l)), key_of(&render(&explicit, &l)));
    }

    #[test]
    fn key_changes_iff_a_used_value_changes(a in fields(), b in fields(), la in layout(), lb in layout()) {
        let same = a.effective() == b.effective();
        let (ta, tb) = (render(&a, &la), render(&b, &lb));
        prop_assert_eq!(key_of(&ta) == key_of(&tb), same, "\n{}\n---\n{}", ta, tb);
    }
}

#[test]
fn sweep_cells_have_distinct_keys() {
    let text = "dataset: {name: shapes}\nsweep:\n  model.upsampler: [convt, n15]\n  loss.alpha: [0.0, 0.5]\n";
    let loaded = load_pipeline_str(Path::new("p.yaml"), text, &[]).unwrap();
    let mut keys: Vec<NodeKey> = loaded
        .cells
        .iter()
        .map(|c| node_key("train", &serde_json::to_value(&c.config).unwrap(), &[]))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 4);
}
