//! Errors typing a pipeline's YAML tree, in runner's words.
//!
//! The tree is typed with serde_path_to_error over a `serde_json::Value`, so a
//! message is serde's `de::Error` wording as serde_json writes it (`unknown
//! field `x`, expected one of `a`, `b``, `invalid type: sequence, expected
//! u32`), with the path of the value that failed. The rewrites below recognise
//! that wording; [`explain_type_error`] tries them in turn and falls back to
//! serde's words, on one line, at the failing key.

use serde_json::Value;

use super::{did_you_mean, one_line, unknown_key};
use crate::pipeline::overrides::{get_path, non_finite, set_path};

/// How a changed tree types: its first error as (dotted path, serde's message),
/// `None` when it types (see [`first_type_error`]).
pub type Probe<'a> = &'a dyn Fn(&Value) -> Option<(String, String)>;

/// Turns a typing error into (dotted path, message), with the path pointing at
/// the offending key and the message in runner's words where serde's are
/// unclear. `tree` is what was typed; `probe` types a changed tree the same way.
pub fn explain_type_error(
    error: &serde_path_to_error::Error<serde_json::Error>,
    tree: &Value,
    probe: Probe,
) -> (String, String) {
    let path = dotted(error.path());
    let message = error.inner().to_string();
    let value = get_path(tree, &path);
    unknown_field(&path, &message)
        .or_else(|| unknown_variant(&path, &message, value))
        .or_else(|| missing_field(&path, &message))
        .or_else(|| bare_variant_name(&path, &message))
        .or_else(|| several_keys_for_one(&path, &message, value))
        .or_else(|| word_for_boolean(&path, &message, value))
        .or_else(|| list_for_mapping(&path, tree, probe))
        .or_else(|| number_problem(&message, value).map(|m| (path.clone(), m)))
        .unwrap_or_else(|| (path, plain_words(&message)))
}

/// The first typing error of `tree` read as a `T`, as (dotted path, serde's
/// message); `None` when it types. The [`Probe`] for a `T`.
pub fn first_type_error<T: serde::de::DeserializeOwned>(tree: &Value) -> Option<(String, String)> {
    serde_path_to_error::deserialize::<_, T>(tree.clone())
        .err()
        .map(|e| (dotted(e.path()), e.inner().to_string()))
}

/// The dotted path of a serde_path_to_error path (`loss.terms.1.fft.weight`).
fn dotted(path: &serde_path_to_error::Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => parts.push(index.to_string()),
            serde_path_to_error::Segment::Map { key } => parts.push(key.clone()),
            serde_path_to_error::Segment::Enum { variant } => parts.push(variant.clone()),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    parts.join(".")
}

/// Joins a dotted path and one more segment.
fn child(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_string()
    } else {
        format!("{path}.{segment}")
    }
}

/// The names between backticks in a serde message, in order.
fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`",
/// or "there are no fields") -> "unknown key `x` (did you mean `a`?); valid
/// keys: a, b", placed at the key itself rather than at its mapping.
fn unknown_field(path: &str, message: &str) -> Option<(String, String)> {
    let names = backticked(message);
    let (&bad, valid) = names.split_first()?;
    if !message.starts_with("unknown field `") {
        return None;
    }
    // serde_path_to_error places some unknown fields at the mapping, some at the key.
    let path = if path == bad || path.ends_with(&format!(".{bad}")) {
        path.to_string()
    } else {
        child(path, bad)
    };
    Some((path, unknown_key(bad, valid)))
}

/// serde's "unknown variant `x`, expected one of `a`, `b`" -> "unknown value
/// `x` for path (did you mean `a`?); expected one of a, b"; when the variant
/// was written as a mapping key (`{fftt: {}}`) it reads as an unknown key
/// instead, placed at that key.
fn unknown_variant(path: &str, message: &str, value: Option<&Value>) -> Option<(String, String)> {
    let names = backticked(message);
    let (&bad, expected) = names.split_first()?;
    if !message.starts_with("unknown variant `") {
        return None;
    }
    if value
        .and_then(Value::as_object)
        .is_some_and(|m| m.contains_key(bad))
    {
        return Some((child(path, bad), unknown_key(bad, expected)));
    }
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" for {path}")
    };
    let message = format!(
        "unknown value `{bad}`{at}{}; expected one of {}",
        did_you_mean(bad, expected),
        expected.join(", ")
    );
    Some((path.to_string(), message))
}

/// serde's "missing field `x`" -> "missing required key `x`", placed at the
/// key's would-be path.
fn missing_field(path: &str, message: &str) -> Option<(String, String)> {
    let name = *backticked(message).first()?;
    if !message.starts_with("missing field `") {
        return None;
    }
    Some((child(path, name), format!("missing required key `{name}`")))
}

/// serde's "invalid type: unit variant, expected newtype variant" (a variant
/// that takes options written as a bare name, `- fft`) -> "`fft` takes its
/// options as a mapping: write `{fft: {}}`", placed at the list entry.
fn bare_variant_name(path: &str, message: &str) -> Option<(String, String)> {
    if message != "invalid type: unit variant, expected newtype variant" {
        return None;
    }
    let (parent, variant) = path.rsplit_once('.').unwrap_or(("", path));
    Some((
        parent.to_string(),
        format!("`{variant}` takes its options as a mapping: write `{{{variant}: {{}}}}`"),
    ))
}

/// serde_json's "invalid value: map, expected map with a single key" (an enum
/// written as a mapping of several keys) -> "each entry takes exactly one key,
/// e.g. `{bce: {}}`, got 2: bce, fft".
fn several_keys_for_one(
    path: &str,
    message: &str,
    value: Option<&Value>,
) -> Option<(String, String)> {
    if !message.starts_with("invalid value: map, expected map with a single key") {
        return None;
    }
    let keys: Vec<&str> = value
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let message = format!(
        "each entry takes exactly one key, e.g. `{{bce: {{}}}}`, got {}: {}",
        keys.len(),
        keys.join(", ")
    );
    Some((path.to_string(), message))
}

/// serde's "invalid type: string \"yes\", expected a boolean" -> the same with
/// "(only true and false are booleans, got `yes`)": runner reads YAML 1.2, where
/// `yes`, `on` and the like are strings, which YAML 1.1 habits do not expect.
fn word_for_boolean(path: &str, message: &str, value: Option<&Value>) -> Option<(String, String)> {
    let Some(Value::String(word)) = value else {
        return None;
    };
    message.ends_with("expected a boolean").then(|| {
        let message = format!("{message} (only true and false are booleans, got `{word}`)");
        (path.to_string(), message)
    })
}

/// When the error at `path` comes from a list written where a mapping belongs
/// (serde reads a struct from a list field by field: `model: [1, 2]` fails at
/// `model.0` with whatever the first field says), the list's path and "invalid
/// type: list, expected a mapping". Found by retyping with the list replaced by
/// an empty mapping: the list was the mistake unless serde then says "expected
/// a sequence", "expected an array" or "expected a tuple" at it.
fn list_for_mapping(path: &str, tree: &Value, probe: Probe) -> Option<(String, String)> {
    let segments: Vec<&str> = path.split('.').collect();
    let list = (1..segments.len()).rev().find_map(|n| {
        let prefix = segments[..n].join(".");
        let is_list = get_path(tree, &prefix).is_some_and(Value::is_array);
        (is_list && segments[n].parse::<usize>().is_ok()).then_some(prefix)
    })?;
    let mut retyped = tree.clone();
    set_path(&mut retyped, &list, Value::Object(Default::default())).ok()?;
    let wants_list = probe(&retyped).is_some_and(|(at, message)| {
        at == list
            && [
                "expected a sequence",
                "expected an array",
                "expected a tuple",
            ]
            .iter()
            .any(|words| message.contains(words))
    });
    (!wants_list).then(|| (list, "invalid type: list, expected a mapping".to_string()))
}

/// The range of the integer type serde names (`u32`).
fn integer_range(type_name: &str) -> Option<(i128, i128)> {
    match type_name {
        "u8" => Some((0, u8::MAX.into())),
        "u16" => Some((0, u16::MAX.into())),
        "u32" => Some((0, u32::MAX.into())),
        "u64" => Some((0, u64::MAX.into())),
        "usize" => Some((0, usize::MAX as i128)),
        "i8" => Some((i8::MIN.into(), i8::MAX.into())),
        "i16" => Some((i16::MIN.into(), i16::MAX.into())),
        "i32" => Some((i32::MIN.into(), i32::MAX.into())),
        "i64" => Some((i64::MIN.into(), i64::MAX.into())),
        _ => None,
    }
}

/// A number that does not fit its key, in words; `None` for other messages.
/// serde's "invalid value: integer `-1`, expected u32" -> "must be a whole
/// number from 0 to 4294967295, got -1"; "invalid type: floating point `1.5`,
/// expected u32" -> "must be a whole number, got 1.5" (or, for `2.0`, that it
/// must be written without a decimal point); and any "..., expected f64" or
/// integer type for a `.nan`/`.inf` (which the reader passes on as a string,
/// see [`non_finite`]) -> "must be a finite number, got .nan" or the whole
/// number message.
fn number_problem(message: &str, value: Option<&Value>) -> Option<String> {
    let (problem, expected) = message.rsplit_once(", expected ")?;
    let is_float = matches!(expected, "f64" | "f32");
    let range = integer_range(expected);
    if !is_float && range.is_none() {
        return None;
    }
    let whole = |got: &str| match range {
        Some((min, max)) => format!("must be a whole number from {min} to {max}, got {got}"),
        None => format!("must be a whole number, got {got}"),
    };
    if let Some(spelling) = value.and_then(non_finite) {
        return Some(if is_float {
            format!("must be a finite number, got {spelling}")
        } else {
            whole(spelling)
        });
    }
    if is_float {
        return None;
    }
    let quoted = backticked(problem).first().copied()?;
    if problem.starts_with("invalid value: integer `") {
        return Some(whole(quoted));
    }
    if problem.starts_with("invalid type: floating point `") {
        return float_for_integer(quoted, range, whole);
    }
    None
}

/// The message for the float `quoted` (as serde prints it) where an integer in
/// `range` belongs: a fraction, out of range, or a whole number written as a
/// float (`2.0`, `1e3`), which runner does not read as an integer.
fn float_for_integer(
    quoted: &str,
    range: Option<(i128, i128)>,
    whole: impl Fn(&str) -> String,
) -> Option<String> {
    let x: f64 = quoted.parse().ok()?;
    if x.fract() != 0.0 {
        return Some(format!("must be a whole number, got {quoted}"));
    }
    let (min, max) = range?;
    // `as` saturates, so a float beyond i128 does not fit either.
    let whole_x = x as i128;
    if whole_x as f64 != x || whole_x < min || whole_x > max {
        return Some(whole(quoted));
    }
    Some(format!(
        "must be a whole number written without a decimal point or exponent, got {quoted}"
    ))
}

/// serde's type words in runner's, in "{problem}, expected {type}": problems
/// "invalid type: sequence" / "map" / "unit value" -> list / mapping / null;
/// expected `u32` and other integers -> "a whole number", `f64`/`f32` -> "a
/// number", "a sequence" -> "a list", "a map" / "map" / "struct X" -> "a
/// mapping", "an array of length N" / "a tuple of size N" -> "a list of N
/// items", "string or map" -> "a name or a mapping". Any other message is kept,
/// on one line (the fallback of [`explain_type_error`]).
fn plain_words(message: &str) -> String {
    let Some((problem, expected)) = message.rsplit_once(", expected ") else {
        return one_line(message);
    };
    let problem = match problem {
        "invalid type: sequence" => "invalid type: list",
        "invalid type: map" => "invalid type: mapping",
        "invalid type: unit value" => "invalid type: null",
        other => other,
    };
    one_line(&format!("{problem}, expected {}", expected_words(expected)))
}

/// The "expected ..." part of a serde message in runner's words (see
/// [`plain_words`]).
fn expected_words(expected: &str) -> String {
    if integer_range(expected).is_some() {
        return "a whole number".to_string();
    }
    if let Some(n) = expected
        .strip_prefix("an array of length ")
        .or_else(|| expected.strip_prefix("a tuple of size "))
    {
        return format!("a list of {n} items");
    }
    match expected {
        "f64" | "f32" => "a number",
        "a sequence" => "a list",
        "a map" | "map" => "a mapping",
        "string or map" => "a name or a mapping",
        other if other.starts_with("struct ") => "a mapping",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
    use serde::Deserialize;
    use serde_json::json;

    /// A small schema with the shapes runner's has: sections with unknown keys
    /// refused, a list of single-key terms taking options, a choice by name.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        train: Train,
        #[serde(default)]
        model: Option<Model>,
        #[serde(default)]
        terms: Vec<Term>,
        #[serde(default)]
        empty: Option<Empty>,
        #[serde(default)]
        named: Option<Named>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Train {
        epochs: u32,
        #[serde(default)]
        seed: u64,
        #[serde(default)]
        lr: f64,
        #[serde(default)]
        shuffle: bool,
        #[serde(default)]
        betas: Option<[f64; 2]>,
        #[serde(default)]
        upsampler: Option<Upsampler>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Model {
        kind: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Upsampler {
        Convt,
        N15,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Term {
        Bce(TermOptions),
        Fft(TermOptions),
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct TermOptions {
        #[serde(default)]
        weight: f64,
    }

    /// A value written as a name or a mapping, refusing anything else with
    /// "expected string or map".
    #[derive(Debug)]
    struct Named;

    impl<'de> Deserialize<'de> for Named {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct NamedVisitor;
            impl<'de> Visitor<'de> for NamedVisitor {
                type Value = Named;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("string or map")
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<Named, E> {
                    Ok(Named)
                }
            }
            deserializer.deserialize_any(NamedVisitor)
        }
    }

    /// Where and what runner says about `tree` read as a `T`, with serde's own
    /// message checked to be on one line.
    fn explain_as<T: DeserializeOwned + std::fmt::Debug>(tree: Value) -> (String, String) {
        let error = serde_path_to_error::deserialize::<_, T>(tree.clone()).unwrap_err();
        let (path, message) = explain_type_error(&error, &tree, &first_type_error::<T>);
        assert_eq!(message.lines().count(), 1, "{message}");
        (path, message)
    }

    /// [`explain_as`] for the test schema, the tree being `train` (with
    /// `epochs: 1` unless given) merged with `rest`.
    fn explain(train: Value, rest: Value) -> (String, String) {
        let mut tree = json!({"train": {"epochs": 1}});
        for (key, value) in train.as_object().unwrap() {
            tree["train"][key] = value.clone();
        }
        for (key, value) in rest.as_object().unwrap() {
            tree[key] = value.clone();
        }
        explain_as::<File>(tree)
    }

    fn pair(path: &str, message: &str) -> (String, String) {
        (path.to_string(), message.to_string())
    }

    #[test]
    fn unknown_field() {
        assert_eq!(
            explain(json!({"epocs": 1}), json!({})),
            pair(
                "train.epocs",
                "unknown key `epocs` (did you mean `epochs`?); valid keys: epochs, seed, lr, shuffle, betas, upsampler"
            )
        );
        assert_eq!(
            explain(json!({}), json!({"empty": {"x": 1}})),
            pair("empty.x", "unknown key `x`; no keys are allowed here")
        );
        assert_eq!(
            explain(json!({}), json!({"terms": [{"bce": {"wieght": 1}}]})),
            pair(
                "terms.0.bce.wieght",
                "unknown key `wieght` (did you mean `weight`?); valid keys: weight"
            )
        );
    }

    #[test]
    fn unknown_variant() {
        assert_eq!(
            explain(json!({"upsampler": "n16"}), json!({})),
            pair(
                "train.upsampler",
                "unknown value `n16` for train.upsampler (did you mean `n15`?); expected one of convt, n15"
            )
        );
        // Written as a mapping key, the variant reads as a key.
        assert_eq!(
            explain(json!({}), json!({"terms": [{"fftt": {}}]})),
            pair(
                "terms.0.fftt",
                "unknown key `fftt` (did you mean `fft`?); valid keys: bce, fft"
            )
        );
        assert_eq!(
            explain_as::<Upsampler>(json!("n16")),
            pair(
                "",
                "unknown value `n16` (did you mean `n15`?); expected one of convt, n15"
            )
        );
    }

    #[test]
    fn missing_field() {
        assert_eq!(
            explain_as::<File>(json!({"train": {}})),
            pair("train.epochs", "missing required key `epochs`")
        );
    }

    #[test]
    fn bare_variant_name() {
        assert_eq!(
            explain(json!({}), json!({"terms": ["fft"]})),
            pair(
                "terms.0",
                "`fft` takes its options as a mapping: write `{fft: {}}`"
            )
        );
    }

    #[test]
    fn several_keys_for_one() {
        assert_eq!(
            explain(json!({}), json!({"terms": [{"bce": {}, "fft": {}}]})),
            pair(
                "terms.0",
                "each entry takes exactly one key, e.g. `{bce: {}}`, got 2: bce, fft"
            )
        );
    }

    #[test]
    fn word_for_boolean() {
        assert_eq!(
            explain(json!({"shuffle": "yes"}), json!({})),
            pair(
                "train.shuffle",
                "invalid type: string \"yes\", expected a boolean (only true and false are booleans, got `yes`)"
            )
        );
        assert_eq!(
            explain(json!({"shuffle": 1}), json!({})),
            pair(
                "train.shuffle",
                "invalid type: integer `1`, expected a boolean"
            )
        );
    }

    #[test]
    fn list_for_mapping() {
        assert_eq!(
            explain(json!({}), json!({"model": [1, 2]})),
            pair("model", "invalid type: list, expected a mapping")
        );
        // An item of a real list keeps its own path.
        assert_eq!(
            explain(json!({"betas": [0.9, "x"]}), json!({})),
            pair(
                "train.betas.1",
                "invalid type: string \"x\", expected a number"
            )
        );
    }

    #[test]
    fn number_problem() {
        for (epochs, words) in [
            (json!(1.5), "must be a whole number, got 1.5"),
            (
                json!(2.0),
                "must be a whole number written without a decimal point or exponent, got 2.0",
            ),
            (
                json!(-1),
                "must be a whole number from 0 to 4294967295, got -1",
            ),
            (
                json!(1_000_000_000_000u64),
                "must be a whole number from 0 to 4294967295, got 1000000000000",
            ),
            (
                json!(1e23),
                "must be a whole number from 0 to 4294967295, got 1e+23",
            ),
            (
                json!(".inf"),
                "must be a whole number from 0 to 4294967295, got .inf",
            ),
        ] {
            assert_eq!(
                explain(json!({"epochs": epochs}), json!({})),
                pair("train.epochs", words),
                "{epochs}"
            );
        }
        assert_eq!(
            explain(json!({"seed": 1.8446744073709552e19}), json!({})),
            pair(
                "train.seed",
                "must be a whole number from 0 to 18446744073709551615, got 1.8446744073709552e+19"
            )
        );
        assert_eq!(
            explain(json!({"lr": ".nan"}), json!({})),
            pair("train.lr", "must be a finite number, got .nan")
        );
    }

    #[test]
    fn plain_words() {
        for (train, path, words) in [
            (
                json!({"epochs": "many"}),
                "train.epochs",
                "invalid type: string \"many\", expected a whole number",
            ),
            (
                json!({"epochs": null}),
                "train.epochs",
                "invalid type: null, expected a whole number",
            ),
            (
                json!({"epochs": [1]}),
                "train.epochs",
                "invalid type: list, expected a whole number",
            ),
            (
                json!({"lr": {"a": 1}}),
                "train.lr",
                "invalid type: mapping, expected a number",
            ),
            (
                json!({"betas": 0.5}),
                "train.betas",
                "invalid type: floating point `0.5`, expected a list of 2 items",
            ),
            (
                json!({"betas": [0.5]}),
                "train.betas",
                "invalid length 1, expected a list of 2 items",
            ),
        ] {
            assert_eq!(explain(train, json!({})), pair(path, words));
        }
        assert_eq!(
            explain(json!({}), json!({"model": "big"})),
            pair("model", "invalid type: string \"big\", expected a mapping")
        );
        assert_eq!(
            explain(json!({}), json!({"terms": {"bce": {}}})),
            pair("terms", "invalid type: mapping, expected a list")
        );
        assert_eq!(
            explain(json!({}), json!({"named": 3})),
            pair(
                "named",
                "invalid type: integer `3`, expected a name or a mapping"
            )
        );
        assert_eq!(
            explain_as::<std::collections::BTreeMap<String, u32>>(json!([1])),
            pair("", "invalid type: list, expected a mapping")
        );
    }

    /// A message no rewrite recognises (here a type's own `de::Error::custom`)
    /// stays serde's words, on one line, at the key that failed.
    #[test]
    fn unknown_wording_is_kept_on_one_line_at_its_key() {
        #[derive(Debug)]
        struct Odd;
        impl<'de> Deserialize<'de> for Odd {
            fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
                Err(de::Error::custom("something odd\nhappened"))
            }
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Holder {
            odd: Odd,
        }
        assert_eq!(
            explain_as::<Holder>(json!({"odd": 1})),
            pair("odd", "something odd happened")
        );
    }
}
