//! Command-line overrides: `-o key.path=value`.
//!
//! The value is read as one YAML scalar or flow collection with YAML 1.2
//! booleans (only `true`/`false`; `yes`, `no`, `on`, `off` stay strings). A comma
//! outside brackets and quotes makes a sweep: `-o model.upsampler=convt,n15`.
//! Values starting with `[` or `{` are flow collections (`-o
//! train.optimizer.adam.betas=[0.5,0.9]`); several of them separated by commas
//! sweep over collections.

use serde_json::Value;

use super::messages::yaml::value_message;

/// One parsed `-o` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The argument as given, e.g. `model.upsampler=convt,n15`.
    pub text: String,
    /// Dotted key path, e.g. `model.upsampler`.
    pub key: String,
    /// The value(s): one for a plain override, several for a sweep.
    pub values: Vec<Value>,
}

impl Override {
    /// Whether the override lists several values (a sweep).
    pub fn is_sweep(&self) -> bool {
        self.values.len() > 1
    }
}

/// YAML parser options shared by pipeline files and override values: YAML 1.2
/// booleans, duplicate keys rejected, one-line error messages. `.nan`, `.inf` and
/// `-.inf` (and literals too large for a 64-bit float) are read as those strings,
/// so that typing rejects them at their key path (see [`non_finite`]).
pub fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::AsString;
    options.with_snippet = false;
    options
}

/// The spelling of a non-finite number as the YAML reader passes it on (a string,
/// see [`yaml_options`]), or `None` for any other value.
pub fn non_finite(value: &Value) -> Option<&str> {
    match value.as_str()? {
        s @ (".nan" | ".inf" | "-.inf") => Some(s),
        _ => None,
    }
}

/// Checks a dotted key path: non-empty segments without spaces or `=`.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the key is empty".to_string());
    }
    if let Some(bad) = key.chars().find(|c| c.is_whitespace() || *c == '=') {
        return Err(format!("the key `{key}` contains {bad:?}"));
    }
    if key.split('.').any(str::is_empty) {
        return Err(format!("the key `{key}` has an empty segment"));
    }
    Ok(())
}

/// Parses one `-o` argument.
pub fn parse_override(text: &str) -> Result<Override, String> {
    let Some((key, raw)) = text.split_once('=') else {
        return Err("expected KEY=VALUE, e.g. -o train.epochs=5".to_string());
    };
    let key = key.trim();
    check_key(key).map_err(|e| format!("{e}; expected KEY=VALUE, e.g. -o train.epochs=5"))?;
    let parts = split_top_level(raw)?;
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let part = part.trim();
        if part.is_empty() {
            return Err(if parts.len() > 1 {
                format!("empty value in the list `{raw}`")
            } else {
                format!("no value after `{key}=`; write `{key}=null` for null")
            });
        }
        values.push(parse_value(part)?);
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(format!("the value {} is listed twice", value_text(v)));
        }
    }
    Ok(Override {
        text: text.to_string(),
        key: key.to_string(),
        values,
    })
}

/// Splits `raw` at commas that are outside brackets, braces and quotes.
fn split_top_level(raw: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth: usize = 0;
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            // '' is an escaped quote inside single quotes; it closes and reopens.
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| format!("unbalanced `{c}` in `{raw}`"))?;
                }
                ',' if depth == 0 => {
                    parts.push(&raw[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in `{raw}`"));
    }
    if depth != 0 {
        return Err(format!("unclosed bracket in `{raw}`"));
    }
    parts.push(&raw[start..]);
    Ok(parts)
}

/// Parses one value as a YAML scalar or flow collection (no comma splitting).
pub fn parse_value(text: &str) -> Result<Value, String> {
    let text = text.trim();
    let value: Value = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| format!("cannot read the value `{text}`: {}", value_message(&e)))?;
    let flow = text.starts_with('[') || text.starts_with('{');
    if !flow && (value.is_object() || value.is_array()) {
        return Err(format!(
            "the value `{text}` is not a single value; quote it, or write a list as [a, b] and a mapping as {{k: v}}"
        ));
    }
    Ok(value)
}

/// A value as the user would type it on the command line, such that
/// [`parse_value`] reads it back as the same value (strings are quoted only when
/// they would otherwise read differently).
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let plain = !s.contains(',')
                && !s.starts_with(char::is_whitespace)
                && !s.ends_with(char::is_whitespace)
                && parse_value(s).ok().as_ref() == Some(value);
            if plain {
                s.clone()
            } else {
                value.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// The `-o` argument (without `-o`) that sets `key` to `value`.
pub fn override_text(key: &str, value: &Value) -> String {
    format!("{key}={}", value_text(value))
}

/// Sets the value at dotted `path` inside `tree`, creating missing mappings on
/// the way. A numeric segment indexes an existing sequence.
pub fn set_path(tree: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    let mut node = tree;
    for (depth, segment) in segments.iter().enumerate() {
        let here = segments[..depth].join(".");
        let last = depth + 1 == segments.len();
        if node.is_null() {
            if segment.parse::<usize>().is_ok() {
                return Err(format!(
                    "cannot set {path}: {here} is not a list in the file (set the whole list instead, e.g. -o '{here}=[...]')"
                ));
            }
            *node = Value::Object(serde_json::Map::new());
        }
        node = match node {
            Value::Object(map) => {
                if last {
                    map.insert(segment.to_string(), value);
                    return Ok(());
                }
                map.entry(segment.to_string()).or_insert(Value::Null)
            }
            Value::Array(items) => {
                let len = items.len();
                let Ok(index) = segment.parse::<usize>() else {
                    return Err(format!(
                        "cannot set {path}: {here} is a list, and `{segment}` is not an index"
                    ));
                };
                let Some(slot) = items.get_mut(index) else {
                    return Err(format!(
                        "cannot set {path}: index {index} is out of range, {here} has {len} item{}",
                        if len == 1 { "" } else { "s" }
                    ));
                };
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            other => {
                return Err(format!(
                    "cannot set {path}: {here} is {}, not a mapping",
                    kind_of(other)
                ))
            }
        };
    }
    // `path` always has at least one segment, so the loop returns.
    Err(format!("cannot set {path}"))
}

/// The value at dotted `path` inside `tree`, if present.
pub fn get_path<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(tree);
    }
    let mut node = tree;
    for segment in path.split('.') {
        node = match node {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// "a string", "a number", ... for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(text: &str) -> Vec<Value> {
        parse_override(text).unwrap().values
    }

    #[test]
    fn scalars_and_strict_booleans() {
        let o = parse_override("train.epochs=5").unwrap();
        assert_eq!(o.key, "train.epochs");
        assert_eq!(o.values, vec![json!(5)]);
        assert!(!o.is_sweep());
        assert_eq!(values("train.shuffle=true"), vec![json!(true)]);
        for word in ["yes", "no", "on", "off", "y", "n"] {
            assert_eq!(
                values(&format!("dataset.binarize={word}")),
                vec![json!(word)]
            );
        }
        assert_eq!(values("train.optimizer.adam.lr=1e-3"), vec![json!(0.001)]);
        assert_eq!(values("loss.alpha=null"), vec![Value::Null]);
        assert_eq!(values("name='a,b'"), vec![json!("a,b")]);
        assert_eq!(values("name=\"x\""), vec![json!("x")]);
        assert_eq!(values(" train.epochs = 5 "), vec![json!(5)]);
    }

    /// Non-finite numbers pass through as their canonical spelling, for typing to
    /// reject at the key that gets them.
    #[test]
    fn non_finite_numbers_read_as_their_spelling() {
        for (text, spelled) in [
            (".nan", ".nan"),
            (".NaN", ".nan"),
            (".inf", ".inf"),
            ("+.inf", ".inf"),
            ("-.Inf", "-.inf"),
            ("1e999", ".inf"),
        ] {
            let value = parse_value(text).unwrap();
            assert_eq!(non_finite(&value), Some(spelled), "{text}");
        }
        assert_eq!(non_finite(&json!(1.5)), None);
        assert_eq!(non_finite(&json!("nan")), None);
        let err = parse_value("{a: 1, a: 2}").unwrap_err();
        assert_eq!(
            err,
            "cannot read the value `{a: 1, a: 2}`: duplicate key `a`"
        );
    }

    #[test]
    fn commas_make_sweeps_outside_brackets() {
        let o = parse_override("model.upsampler=convt,n15").unwrap();
        assert!(o.is_sweep());
        assert_eq!(o.values, vec![json!("convt"), json!("n15")]);
        assert_eq!(
            values("train.optimizer.adam.betas=[0.5, 0.9]"),
            vec![json!([0.5, 0.9])]
        );
        assert_eq!(
            values("loss.terms.0={bce: {weight: 1}}"),
            vec![json!({"bce": {"weight": 1}})]
        );
        assert_eq!(values("x=[1,2],[3,4]"), vec![json!([1, 2]), json!([3, 4])]);
        assert_eq!(values("x='a,b',c"), vec![json!("a,b"), json!("c")]);
    }

    #[test]
    fn malformed_overrides_are_rejected() {
        assert!(parse_override("foo").unwrap_err().contains("KEY=VALUE"));
        assert!(parse_override("=5").unwrap_err().contains("empty"));
        assert!(parse_override("a..b=5")
            .unwrap_err()
            .contains("empty segment"));
        assert!(parse_override("a=").unwrap_err().contains("null"));
        assert!(parse_override("a=1,,2")
            .unwrap_err()
            .contains("empty value"));
        assert!(parse_override("a=[1,2").is_err());
        assert!(parse_override("a=1]").is_err());
        assert!(parse_override("a='x").is_err());
        assert!(parse_override("a=b: c")
            .unwrap_err()
            .contains("not a single value"));
        assert!(parse_override("a=1,1").unwrap_err().contains("twice"));
    }

    #[test]
    fn values_print_back_to_themselves() {
        for v in [
            json!("n15"),
            json!("a,b"),
            json!("yes"),
            json!("5"),
            json!("true"),
            json!(""),
            json!(" x"),
            json!("x: y"),
            json!(0.5),
            json!(1.0),
            json!(1e-4),
            json!(3),
            json!(true),
            Value::Null,
            json!([0.5, 0.9]),
            json!({"bce": {"weight": 1}}),
        ] {
            let text = override_text("k", &v);
            assert_eq!(
                parse_override(&text).unwrap().values,
                vec![v.clone()],
                "{text}"
            );
        }
        assert_eq!(
            override_text("model.upsampler", &json!("n15")),
            "model.upsampler=n15"
        );
    }

    #[test]
    fn setting_paths() {
        let mut tree =
            json!({"loss": {"terms": [{"bce": {}}, {"fft": {}}]}, "train": {"epochs": 1}});
        set_path(&mut tree, "loss.terms.1.fft.weight", json!(0.3)).unwrap();
        assert_eq!(tree["loss"]["terms"][1]["fft"]["weight"], json!(0.3));
        set_path(&mut tree, "train.optimizer.adam.lr", json!(0.1)).unwrap();
        assert_eq!(tree["train"]["optimizer"]["adam"]["lr"], json!(0.1));
        set_path(&mut tree, "loss.terms.0", json!({"fft": {}})).unwrap();
        assert_eq!(tree["loss"]["terms"][0], json!({"fft": {}}));
        let err = set_path(&mut tree, "loss.terms.2.fft.weight", json!(1)).unwrap_err();
        assert!(
            err.contains("loss.terms has 2 items") && err.contains("index 2"),
            "{err}"
        );
        let err = set_path(&mut tree, "train.epochs.x", json!(1)).unwrap_err();
        assert!(err.contains("train.epochs is a number"), "{err}");
        let err = set_path(&mut tree, "eval.metrics.0", json!("rmse_ai")).unwrap_err();
        assert!(err.contains("eval.metrics is not a list"), "{err}");
        assert_eq!(
            get_path(&tree, "loss.terms.1.fft.weight"),
            Some(&json!(0.3))
        );
        assert_eq!(get_path(&tree, "loss.terms.7"), None);
    }
}
