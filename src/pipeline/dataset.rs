//! The `dataset:` section as written: a choice by `name`, each dataset with its
//! own options (its `DatasetSource::Options`, next to its reader in `data/`).
//!
//! Reading the section only checks `name`; the other keys are kept as written
//! and typed by [`type_options`] when the pipeline is resolved. Typing them
//! while the file is read (serde's `#[serde(tag = "name")]`) would lose the key
//! path of an error: the pipeline tree's mappings iterate in key order, so keys
//! such as `binarize`, `channels` or `gray` come before `name` and must be
//! buffered, and an error in a buffered value no longer knows where it was.
//! Typing the options on their own instead gives the path inside them, which
//! is prefixed with `dataset.`; the messages are worded as for every other key.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::messages::typing::{explain_type_error, first_type_error};
use super::schema::ConfigIssue;
use super::suggest::closest;
use crate::data::registry::{self, DatasetSpec, NAMES};

/// The `dataset:` section as written: the dataset's name and its other keys,
/// untyped until [`DatasetConfig::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetConfig {
    /// One of [`NAMES`].
    pub name: &'static str,
    /// Every other key of the section, as written.
    pub options: Map<String, Value>,
}

impl DatasetConfig {
    /// Types the options of the named dataset, fills in defaults and checks them.
    pub fn resolve(&self) -> Result<DatasetSpec, ConfigIssue> {
        registry::resolve(self.name, &self.options)
    }

    /// Whether `key` is written in the section (not `null`).
    pub fn is_written(&self, key: &str) -> bool {
        self.options.get(key).is_some_and(|v| !v.is_null())
    }
}

/// `name` (one of [`NAMES`]) and, for each name, that dataset's options: the
/// schema of `DatasetSource::Options` with `name` added. Written as `if`/`then`
/// per dataset rather than `oneOf`, so that an editor reports the key that is
/// wrong for the chosen dataset instead of "matches none of 5 schemas".
impl schemars::JsonSchema for DatasetConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DatasetConfig".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let name_schema = serde_json::json!({
            "description": "Which dataset; its other keys depend on it.",
            "type": "string",
            "enum": NAMES,
        });
        let branches: Vec<Value> = registry::option_schemas(generator)
            .into_iter()
            .map(|(name, options)| {
                let mut options = options.to_value();
                if let Some(object) = options.as_object_mut() {
                    let properties = object
                        .entry("properties")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(properties) = properties.as_object_mut() {
                        properties.insert("name".into(), serde_json::json!({"const": name}));
                    }
                }
                serde_json::json!({
                    "if": {"properties": {"name": {"const": name}}, "required": ["name"]},
                    "then": options,
                })
            })
            .collect();
        schemars::json_schema!({
            "description": "What data to train and evaluate on: `name` and that dataset's options.",
            "type": "object",
            "properties": {"name": name_schema},
            "required": ["name"],
            "allOf": branches,
        })
    }
}

impl<'de> Deserialize<'de> for DatasetConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SectionVisitor)
    }
}

/// Reads the section's mapping: `name` through [`NameSeed`] (so that its errors
/// keep the path `dataset.name`), everything else as written.
struct SectionVisitor;

impl<'de> Visitor<'de> for SectionVisitor {
    type Value = DatasetConfig;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // load.rs shows this after "expected"; it is already in plain words.
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DatasetConfig, A::Error> {
        let mut name = None;
        let mut options = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "name" {
                name = Some(map.next_value_seed(NameSeed)?);
            } else {
                let value = map.next_value::<Value>()?;
                options.insert(key, value);
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        Ok(DatasetConfig { name, options })
    }
}

/// `dataset.name`: one of the registered [`NAMES`].
struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for NameSeed {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a dataset name ({})", NAMES.join(", "))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        NAMES
            .iter()
            .copied()
            .find(|&known| known == name)
            .ok_or_else(|| E::unknown_variant(name, NAMES))
    }
}

/// The field names of the struct `T` deserializes as (its accepted keys); empty
/// when `T` is not a struct. Read from serde's derive, so the list cannot drift
/// from the struct.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // Always an error: FieldsOf only records the names and stops.
    let _ = T::deserialize(FieldsOf(&mut fields));
    fields
}

/// A deserializer that records the field list a struct asks for and fails.
struct FieldsOf<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldsOf<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
        enum identifier ignored_any
    }
}

/// Types `options` (the keys written for dataset `dataset` besides `name`) as
/// `T`. Issues carry the full dotted path (`dataset.gray`) and the same words as
/// typing errors elsewhere in the file; an unknown key also says which datasets
/// take it.
pub fn type_options<T: DeserializeOwned>(
    dataset: &str,
    options: &Map<String, Value>,
) -> Result<T, ConfigIssue> {
    let valid = field_names::<T>();
    let mut own = Map::new();
    for (key, value) in options {
        if valid.contains(&key.as_str()) {
            own.insert(key.clone(), value.clone());
        } else if !(value.is_null() && owners(key).next().is_some()) {
            return Err(ConfigIssue::new(
                format!("dataset.{key}"),
                unknown_key(dataset, key, valid),
            ));
        }
        // Another dataset's key set to null means "not set", as it did when
        // every dataset shared one flat section; a misspelt key is still refused.
    }
    // Typed under a `dataset` key, so that paths and messages name the full key.
    let tree = serde_json::json!({ "dataset": own });
    serde_path_to_error::deserialize(tree.clone())
        .map(|section: Section<T>| section.dataset)
        .map_err(|e| {
            let (path, message) = explain_type_error(&e, &tree, &first_type_error::<Section<T>>);
            ConfigIssue::new(path, message)
        })
}

/// The options inside their section, for typing.
#[derive(Deserialize)]
struct Section<T> {
    dataset: T,
}

/// The datasets that take `key`.
fn owners(key: &str) -> impl Iterator<Item = &'static str> + '_ {
    NAMES
        .iter()
        .copied()
        .filter(move |&name| registry::keys_of(name).contains(&key))
}

/// "unknown key `root` for dataset shapes (a key of datasets mnist and folder); valid keys:
/// name, size, ...": the datasets that take the key, else a near miss.
fn unknown_key(dataset: &str, bad: &str, valid: &[&str]) -> String {
    let keys: Vec<&str> = std::iter::once("name")
        .chain(valid.iter().copied())
        .collect();
    let owners: Vec<&str> = owners(bad).collect();
    let hint = if let [one] = owners.as_slice() {
        format!(" (a key of dataset {one})")
    } else if let [first @ .., last] = owners.as_slice() {
        format!(" (a key of datasets {} and {last})", first.join(", "))
    } else if let Some(best) = closest(bad, &keys) {
        format!(" (did you mean `{best}`?)")
    } else {
        String::new()
    };
    format!(
        "unknown key `{bad}` for dataset {dataset}{hint}; valid keys: {}",
        keys.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Two {
        #[allow(dead_code)]
        alpha: u32,
        #[allow(dead_code)]
        beta: Option<bool>,
    }

    fn section(yaml: &str) -> Result<DatasetConfig, (String, String)> {
        let tree: Value = serde_saphyr::from_str(yaml).unwrap();
        serde_path_to_error::deserialize(tree).map_err(|e| (e.path().to_string(), e.to_string()))
    }

    #[test]
    fn field_names_come_from_the_derive() {
        assert_eq!(field_names::<Two>(), &["alpha", "beta"]);
        assert!(field_names::<u32>().is_empty());
    }

    #[test]
    fn the_section_keeps_every_key_but_name() {
        let d = section("{root: x, name: mnist, binarize: true}").unwrap();
        assert_eq!(d.name, "mnist");
        assert_eq!(d.options.len(), 2);
        assert!(d.is_written("root") && !d.is_written("size"));
        let (path, message) = section("{name: mnits}").unwrap_err();
        assert_eq!(path, "name");
        assert!(message.contains("unknown variant `mnits`"), "{message}");
        let (path, message) = section("{size: 3}").unwrap_err();
        assert_eq!(path, ".");
        assert!(message.contains("missing field `name`"), "{message}");
    }

    #[test]
    fn options_errors_keep_their_path() {
        let options = |yaml: &str| match serde_saphyr::from_str::<Value>(yaml).unwrap() {
            Value::Object(map) => map,
            other => panic!("{other:?}"),
        };
        // `beta` sorts before everything a tagged enum would need first.
        let err = type_options::<Two>("two", &options("{alpha: 1, beta: maybe}")).unwrap_err();
        assert_eq!(err.path, "dataset.beta");
        assert!(
            err.message.contains("expected a boolean"),
            "{}",
            err.message
        );
        let err = type_options::<Two>("two", &options("{alpha: -1}")).unwrap_err();
        assert_eq!(err.path, "dataset.alpha");
        assert!(err.message.contains("whole number"), "{}", err.message);
        let err = type_options::<Two>("two", &options("{alpha: 1, alpah: 2}")).unwrap_err();
        assert_eq!(err.path, "dataset.alpah");
        assert_eq!(
            err.message,
            "unknown key `alpah` for dataset two (did you mean `alpha`?); valid keys: name, alpha, beta"
        );
        // Another dataset's key may be null (not set); a misspelt one may not.
        assert!(type_options::<Two>("two", &options("{alpha: 1, root: null}")).is_ok());
        let err = type_options::<Two>("two", &options("{alpha: 1, roots: null}")).unwrap_err();
        assert_eq!(err.path, "dataset.roots");
        let err = type_options::<Two>("two", &options("{}")).unwrap_err();
        assert_eq!(err.path, "dataset.alpha");
        let ok = type_options::<Two>("two", &options("{alpha: 1}")).unwrap();
        assert_eq!(ok.beta, None);
    }

    /// The whole path from file to message: line, column and dotted key of a
    /// dataset option, whether it sorts before or after `name`.
    #[test]
    fn file_errors_name_the_line_and_key() {
        use crate::pipeline::load::load_pipeline_str;
        let error = |text: &str, overrides: &[&str]| {
            let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
            load_pipeline_str(std::path::Path::new("pipelines/x.yaml"), text, &overrides)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("dataset:\n  name: shapes\n  gray: blue\n", &[]),
            "pipelines/x.yaml:3:3: unknown value `blue` for dataset.gray; expected one of luminance, intensity"
        );
        assert_eq!(
            error("dataset:\n  name: mnist\n  test_images: -3\n", &[]),
            "pipelines/x.yaml:3:3: dataset.test_images: must be a whole number from 0 to 4294967295, got -3"
        );
        let shown = error("dataset: {name: shapes, root: x}\n", &[]);
        assert!(
            shown.starts_with("pipelines/x.yaml:1:25: dataset.root: unknown key `root` for dataset shapes (a key of datasets mnist, celeba, cifar10 and folder); valid keys: name, size,"),
            "{shown}"
        );
        let shown = error("dataset: {name: shapes}\n", &["dataset.binarize=true"]);
        assert!(
            shown.starts_with("pipelines/x.yaml: -o dataset.binarize=true: dataset.binarize: unknown key `binarize` for dataset shapes (a key of dataset mnist)"),
            "{shown}"
        );
    }

    /// A sweep may choose the dataset; each cell then takes its own options.
    #[test]
    fn the_dataset_name_can_be_swept() {
        use crate::pipeline::load::load_pipeline_str;
        let text = "dataset: {name: shapes, test_images: 1000}\nsweep:\n  dataset.name: [shapes, cifar10]\n";
        let loaded = load_pipeline_str(std::path::Path::new("x.yaml"), text, &[]).unwrap();
        let names: Vec<&str> = loaded
            .cells
            .iter()
            .map(|c| c.config.dataset.name())
            .collect();
        assert_eq!(names, ["shapes", "cifar10"]);
        let text =
            "dataset: {name: shapes, gray: intensity}\nsweep:\n  dataset.name: [shapes, cifar10]\n";
        let shown = load_pipeline_str(std::path::Path::new("x.yaml"), text, &[])
            .unwrap_err()
            .to_string();
        assert!(
            shown.starts_with("x.yaml:1:25: dataset.gray: unknown key `gray` for dataset cifar10"),
            "{shown}"
        );
        assert!(shown.ends_with("(in cell dataset.name=cifar10)"), "{shown}");
    }
}
