//! How a swept value is shown to the user: in summary.csv, cell labels, table rows
//! and plot legends. One rendering for all of them, so a `report.table.labels` key
//! written after reading summary.csv matches the table row.

use serde_json::Value;

/// A JSON value as a user would read it.
///
/// * strings without quotes: `n15`;
/// * a list of single-key mappings (a `loss.terms` list) as the term names joined
///   with `+`, each followed by its written options in parentheses when it has any:
///   `bce+fft`, `bce+fft(weight=0.5)`, so lists that differ only in an option still
///   read differently;
/// * anything else as compact JSON: `0.5`, `[0.9,0.999]`.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) if !items.is_empty() && items.iter().all(is_term) => items
            .iter()
            .filter_map(Value::as_object)
            .filter_map(|term| term.iter().next())
            .map(|(name, options)| term_text(name, options))
            .collect::<Vec<_>>()
            .join("+"),
        other => other.to_string(),
    }
}

/// Whether `v` is shaped like a loss term: a mapping with exactly one key.
fn is_term(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.len() == 1)
}

/// `name` or `name(key=value,...)` for a term's options.
fn term_text(name: &str, options: &Value) -> String {
    match options {
        Value::Null => name.to_string(),
        Value::Object(map) if map.is_empty() => name.to_string(),
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", value_text(v)))
                .collect();
            format!("{name}({})", parts.join(","))
        }
        other => format!("{name}({})", value_text(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_and_strings() {
        assert_eq!(value_text(&json!("n15")), "n15");
        assert_eq!(value_text(&json!(0.5)), "0.5");
        assert_eq!(value_text(&json!(3)), "3");
        assert_eq!(value_text(&json!(true)), "true");
        assert_eq!(value_text(&json!([0.9, 0.999])), "[0.9,0.999]");
        assert_eq!(value_text(&json!([])), "[]");
    }

    #[test]
    fn loss_term_lists_join_names_and_show_written_options() {
        assert_eq!(value_text(&json!([{"bce": {}}])), "bce");
        assert_eq!(value_text(&json!([{"bce": {}}, {"fft": {}}])), "bce+fft");
        assert_eq!(value_text(&json!([{"bce": null}, {"ai": {}}])), "bce+ai");
        assert_eq!(
            value_text(&json!([{"bce": {}}, {"fft": {"weight": 0.5, "norm": "ortho"}}])),
            "bce+fft(norm=ortho,weight=0.5)"
        );
        // Lists that differ only in an option read differently.
        assert_ne!(
            value_text(&json!([{"fft": {"norm": "ortho"}}])),
            value_text(&json!([{"fft": {"norm": "backward"}}]))
        );
        // A mapping with two keys is not a term list.
        assert_eq!(
            value_text(&json!([{"a": 1, "b": 2}])),
            "[{\"a\":1,\"b\":2}]"
        );
    }
}
