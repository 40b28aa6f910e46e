//! Where each key of a pipeline file is written, for error messages.
//!
//! [`Locations::parse`] walks the YAML event stream and records, for every dotted
//! key path, the 1-based line and column of the key token (`train.epochs` ->
//! where `epochs` is written). Sequence items are recorded under their index
//! (`loss.terms.1`) at the start of the item. The root is recorded under `""`.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

/// A 1-based (line, column) position in the pipeline text.
pub type Position = (usize, usize);

/// Index from dotted key path to the position of that key in the file.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    positions: HashMap<String, Position>,
}

/// One open collection while walking the events.
enum Frame {
    /// A mapping at `path`; `key` is the key whose value comes next, or `None`
    /// when the next node is a key.
    Map { path: String, key: Option<String> },
    /// A sequence at `path`; `next` is the index of the next item.
    Seq { path: String, next: usize },
}

/// Joins a parent path and a segment with a dot (no dot after the root).
fn join(parent: &str, segment: &str) -> String {
    if parent.is_empty() {
        segment.to_string()
    } else {
        format!("{parent}.{segment}")
    }
}

/// The path given to nodes that cannot be addressed by a dotted path (the
/// inside of a mapping used as a key); never matches a real lookup.
const UNADDRESSABLE: &str = "\u{0}";

/// Where a node was met while walking the events.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// The root node.
    Root,
    /// An item of a sequence.
    Item,
    /// A key of a mapping.
    Key,
}

/// Walks the first YAML document of `text` and calls `visit(path, position,
/// place)` for the root, every sequence item and every mapping key, in file
/// order; `visit` returns true to stop. Parsing stops quietly at the first syntax
/// error.
fn walk(text: &str, mut visit: impl FnMut(&str, Position, Place) -> bool) {
    let mut stack: Vec<Frame> = Vec::new();
    let mut seen_root = false;
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        let at = (span.start.line(), span.start.col() + 1);
        let (is_node, opens) = match event {
            Event::Scalar(..) | Event::Alias(..) | Event::UnresolvedAlias(..) => (true, false),
            Event::MappingStart(..) | Event::SequenceStart(..) => (true, true),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                (false, false)
            }
            Event::DocumentEnd if seen_root => break,
            _ => (false, false),
        };
        if !is_node {
            continue;
        }
        // The path of this node, or None when the node is a mapping key.
        let mut stop = false;
        let path = match stack.last_mut() {
            None => {
                seen_root = true;
                stop = visit("", at, Place::Root);
                Some(String::new())
            }
            Some(Frame::Seq { path, next }) => {
                let item = join(path, &next.to_string());
                *next += 1;
                stop = visit(&item, at, Place::Item);
                Some(item)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    let name = match &event {
                        Event::Scalar(value, ..) => value.to_string(),
                        _ => UNADDRESSABLE.to_string(),
                    };
                    stop = visit(&join(path, &name), at, Place::Key);
                    *key = Some(name);
                    None
                }
            },
        };
        if stop {
            return;
        }
        if opens {
            let path = path.unwrap_or_else(|| UNADDRESSABLE.to_string());
            match event {
                Event::MappingStart(..) => stack.push(Frame::Map { path, key: None }),
                _ => stack.push(Frame::Seq { path, next: 0 }),
            }
        }
    }
}

impl Locations {
    /// Indexes the first YAML document of `text`. Parsing stops quietly at the
    /// first syntax error; the positions seen so far are kept. A key written
    /// twice is indexed where it is first written.
    pub fn parse(text: &str) -> Locations {
        let mut positions = HashMap::new();
        walk(text, |path, at, place| {
            if place == Place::Root {
                positions.insert(String::new(), at);
            } else {
                positions.entry(path.to_string()).or_insert(at);
            }
            false
        });
        Locations { positions }
    }

    /// The dotted path of the mapping key written at `at` in `text` (also a
    /// repeated key, which [`Locations::parse`] indexes only where it is first
    /// written).
    pub fn key_at(text: &str, at: Position) -> Option<String> {
        let mut found = None;
        walk(text, |path, here, place| {
            if place == Place::Key && here == at {
                found = Some(path.to_string());
            }
            found.is_some()
        });
        found
    }

    /// The position of exactly `path`, if it is written in the file.
    pub fn of(&self, path: &str) -> Option<Position> {
        self.positions.get(path).copied()
    }

    /// The position of `path`, or of its longest prefix (whole segments) that is
    /// written in the file, together with the path that was found. The root `""`
    /// is the last resort.
    pub fn nearest(&self, path: &str) -> Option<(&str, Position)> {
        let mut candidate = path;
        loop {
            if let Some((key, &at)) = self.positions.get_key_value(candidate) {
                return Some((key.as_str(), at));
            }
            if candidate.is_empty() {
                return None;
            }
            candidate = match candidate.rfind('.') {
                Some(dot) => &candidate[..dot],
                None => "",
            };
        }
    }

    /// The position of `path` or of its longest written prefix.
    pub fn of_or_prefix(&self, path: &str) -> Option<Position> {
        self.nearest(path).map(|(_, at)| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# a comment
name: x
dataset:
  name: shapes   # trailing
loss:
  terms:
    - bce: {}
    - {fft: {weight: 1}}
sweep:
  loss.alpha: [0.0, 0.5]
";

    #[test]
    fn keys_are_found_with_one_based_positions() {
        let loc = Locations::parse(TEXT);
        assert_eq!(loc.of("name"), Some((2, 1)));
        assert_eq!(loc.of("dataset"), Some((3, 1)));
        assert_eq!(loc.of("dataset.name"), Some((4, 3)));
        assert_eq!(loc.of("loss.terms"), Some((6, 3)));
        assert_eq!(loc.of("loss.terms.0"), Some((7, 7)));
        assert_eq!(loc.of("loss.terms.0.bce"), Some((7, 7)));
        assert_eq!(loc.of("loss.terms.1"), Some((8, 7)));
        assert_eq!(loc.of("loss.terms.1.fft"), Some((8, 8)));
        assert_eq!(loc.of("loss.terms.1.fft.weight"), Some((8, 14)));
        assert_eq!(loc.of("sweep.loss.alpha"), Some((10, 3)));
        assert_eq!(loc.of("sweep.loss.alpha.1"), Some((10, 21)));
        assert_eq!(loc.of(""), Some((2, 1)));
        assert_eq!(loc.of("train"), None);
    }

    #[test]
    fn missing_keys_fall_back_to_the_longest_prefix() {
        let loc = Locations::parse(TEXT);
        assert_eq!(loc.nearest("dataset.size"), Some(("dataset", (3, 1))));
        assert_eq!(
            loc.nearest("loss.terms.1.fft.norm"),
            Some(("loss.terms.1.fft", (8, 8)))
        );
        assert_eq!(loc.nearest("train.epochs"), Some(("", (2, 1))));
        // Whole segments only: `dataset.nam` is not a prefix match of `dataset.name`.
        assert_eq!(loc.of_or_prefix("dataset.nam"), Some((3, 1)));
    }

    #[test]
    fn repeated_keys_are_found_where_each_is_written() {
        let text = "train:\n  epochs: 1\n  epochs: 2\nsweep:\n  a.b: [1]\n  a.b: [2]\n";
        assert_eq!(Locations::parse(text).of("train.epochs"), Some((2, 3)));
        assert_eq!(
            Locations::key_at(text, (3, 3)).as_deref(),
            Some("train.epochs")
        );
        assert_eq!(
            Locations::key_at(text, (6, 3)).as_deref(),
            Some("sweep.a.b")
        );
        assert_eq!(Locations::key_at(text, (3, 4)), None);
    }

    #[test]
    fn broken_text_keeps_what_was_seen() {
        let loc = Locations::parse("a: 1\nb: [1, 2\nc: 3\n");
        assert_eq!(loc.of("a"), Some((1, 1)));
        assert_eq!(Locations::parse("").of(""), None);
    }
}
