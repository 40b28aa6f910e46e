//! Content keys of pipeline nodes.
//!
//! A node's key is a BLAKE3 hash of its kind, [`SCHEMA_VERSION`], the canonical
//! JSON of the config subset it depends on (with the versions of the code it
//! runs, see `crate::code_version`), and its parents' keys. Canonical JSON
//! is serde_json's compact form of a `serde_json::Value`, whose maps are sorted
//! by key, so the key does not depend on how the file was written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped when the way keys are formed changes; part of every key. A change
/// to what one component computes bumps that component's version instead
/// (`crate::code_version`), which changes only the keys of the nodes using it.
pub const SCHEMA_VERSION: u32 = 2;

/// A 256-bit content key. Printed, serialized and parsed as 64 lowercase hex
/// characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct NodeKey([u8; 32]);

impl NodeKey {
    /// The key's raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 12 hex characters, used for folder names.
    pub fn short(&self) -> String {
        let mut text = self.to_string();
        text.truncate(12);
        text
    }
}

impl From<[u8; 32]> for NodeKey {
    fn from(bytes: [u8; 32]) -> Self {
        NodeKey(bytes)
    }
}

impl fmt::Display for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey({self})")
    }
}

/// Why a text is not a [`NodeKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a node key is 64 hex characters, got `{0}`")]
pub struct ParseKeyError(pub String);

impl FromStr for NodeKey {
    type Err = ParseKeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ParseKeyError(text.to_string());
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(NodeKey(bytes))
    }
}

impl From<NodeKey> for String {
    fn from(key: NodeKey) -> String {
        key.to_string()
    }
}

impl TryFrom<String> for NodeKey {
    type Error = ParseKeyError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// Compact JSON of `value` with every mapping's keys sorted (byte order). This
/// is serde_json's own compact form when its map is a BTreeMap, and stays sorted
/// even if another crate turns on serde_json's `preserve_order`. It takes a
/// [`Value`], so a config that cannot be represented as JSON is an error where it
/// is converted, never a silent `null` that two configs could share.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// Appends the canonical JSON of `value` to `out`.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The key of a node of `kind` that depends on `subset` and on `parents` (in
/// order).
pub fn node_key(kind: &str, subset: &Value, parents: &[NodeKey]) -> NodeKey {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"runner-node\0");
    // Lengths keep the fields apart: no two inputs hash the same byte stream.
    hasher.update(&(kind.len() as u64).to_le_bytes());
    hasher.update(kind.as_bytes());
    hasher.update(&SCHEMA_VERSION.to_le_bytes());
    let json = canonical_json(subset);
    hasher.update(&(json.len() as u64).to_le_bytes());
    hasher.update(json.as_bytes());
    hasher.update(&(parents.len() as u64).to_le_bytes());
    for parent in parents {
        hasher.update(parent.as_bytes());
    }
    NodeKey(*hasher.finalize().as_bytes())
}

/// Every leaf where `old` and `new` differ, as (dotted path, old value, new
/// value); `None` where the path exists on one side only. Mappings and lists are
/// compared entry by entry; any other difference is reported whole. Paths come
/// in sorted order for mappings and index order for lists.
pub fn changed_paths(old: &Value, new: &Value) -> Vec<(String, Option<Value>, Option<Value>)> {
    let mut out = Vec::new();
    diff(String::new(), Some(old), Some(new), &mut out);
    out
}

/// Appends the differences below `path` to `out`.
fn diff(
    path: String,
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<(String, Option<Value>, Option<Value>)>,
) {
    let child = |segment: &str| {
        if path.is_empty() {
            segment.to_string()
        } else {
            format!("{path}.{segment}")
        }
    };
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                diff(child(key), a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                diff(child(&i.to_string()), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a != b => out.push((path, a.cloned(), b.cloned())),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_print_and_parse_as_hex() {
        let key = node_key("train", &json!({"a": 1}), &[]);
        let text = key.to_string();
        assert_eq!(text.len(), 64);
        assert!(text
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(key.short(), text[..12]);
        assert_eq!(text.parse::<NodeKey>().unwrap(), key);
        assert!("abc".parse::<NodeKey>().is_err());
        assert!("zz".repeat(32).parse::<NodeKey>().is_err());
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<NodeKey>(&json).unwrap(), key);
        assert!(serde_json::from_str::<NodeKey>("\"00\"").is_err());
    }

    #[test]
    fn keys_depend_on_kind_content_and_parents() {
        let a = node_key("train", &json!({"x": 1, "y": 2}), &[]);
        assert_eq!(a, node_key("train", &json!({"y": 2, "x": 1}), &[]));
        assert_ne!(a, node_key("eval", &json!({"x": 1, "y": 2}), &[]));
        assert_ne!(a, node_key("train", &json!({"x": 1, "y": 3}), &[]));
        let p = node_key("dataset", &json!(null), &[]);
        assert_ne!(a, node_key("train", &json!({"x": 1, "y": 2}), &[p]));
        assert_eq!(
            canonical_json(&json!({"b": [1, 2], "a": null})),
            r#"{"a":null,"b":[1,2]}"#
        );
        let nested = json!({"z": {"y": [1.5, "q\"\n", true], "x": {}}, "A": [], "é": 1e-4});
        assert_eq!(canonical_json(&nested), nested.to_string());
    }

    #[test]
    fn changed_paths_lists_leaves() {
        let old = json!({"train": {"epochs": 1, "seed": 0}, "loss": {"terms": [{"bce": {"weight": 1.0}}]}});
        let new = json!({"train": {"epochs": 2, "seed": 0, "shuffle": true}, "loss": {"terms": [{"bce": {"weight": 1.0}}, {"fft": {}}]}});
        let changes = changed_paths(&old, &new);
        assert_eq!(
            changes,
            vec![
                ("loss.terms.1".to_string(), None, Some(json!({"fft": {}}))),
                ("train.epochs".to_string(), Some(json!(1)), Some(json!(2))),
                ("train.shuffle".to_string(), None, Some(json!(true))),
            ]
        );
        assert!(changed_paths(&old, &old).is_empty());
        assert_eq!(
            changed_paths(&json!(1), &json!("a")),
            vec![(String::new(), Some(json!(1)), Some(json!("a")))]
        );
    }
}
