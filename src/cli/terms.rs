//! `runner terms`: the reconstruction loss terms this build knows, from the
//! registry (so scripts and docs never keep their own copy of the list).

use clap::Args;
use serde_json::Value;

use super::EXIT_OK;
use crate::loss::LossTerm;

#[derive(Debug, Args)]
pub struct TermsArgs {
    /// Print each term with its default options as a `loss.terms` entry, one per
    /// line (`{bce: {weight: 1.0}}`), for scripts and pipeline files.
    #[arg(long)]
    defaults: bool,
}

/// Prints the registered terms.
pub fn terms(args: &TermsArgs) -> i32 {
    let terms = LossTerm::all_defaults();
    if args.defaults {
        for term in &terms {
            // Options are plain data; serialising them cannot fail.
            let value = serde_json::to_value(term).expect("term options serialise");
            println!("{}", flow_yaml(&value));
        }
        return EXIT_OK;
    }
    let width = terms.iter().map(|t| t.name().len()).max().unwrap_or(4);
    println!("{:width$}  {:9}  version  computes", "term", "domain");
    for term in &terms {
        println!(
            "{:width$}  {:9}  v{:<6}  {}",
            term.name(),
            term.domain().name(),
            term.version(),
            term.summary()
        );
    }
    println!("\nOptions and defaults: `runner terms --defaults`; `loss.alpha` scales spatial terms by 1 - alpha and frequency terms by alpha.");
    EXIT_OK
}

/// `value` as one line of YAML flow style: `{key: value, ...}`, `[a, b]`, plain
/// scalars (strings that need no quotes are written bare).
pub fn flow_yaml(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", flow_yaml(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow_yaml).collect();
            format!("[{}]", items.join(", "))
        }
        Value::String(s) if is_plain(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `s` reads back as the same string without quotes (an identifier
/// that YAML does not take for a boolean, null or number).
fn is_plain(s: &str) -> bool {
    let reserved = ["true", "false", "null", "yes", "no", "on", "off", "~"];
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !reserved.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every printed default reads back as the same term.
    #[test]
    fn defaults_read_back_as_the_same_terms() {
        for term in LossTerm::all_defaults() {
            let line = flow_yaml(&serde_json::to_value(&term).unwrap());
            let read: LossTerm = serde_saphyr::from_str(&line).unwrap();
            assert_eq!(read, term, "{line}");
        }
    }

    #[test]
    fn strings_that_look_like_other_scalars_are_quoted() {
        let value = serde_json::json!({"a": "yes", "b": "sum_per_image", "c": "1x", "d": 0.5});
        assert_eq!(
            flow_yaml(&value),
            r#"{a: "yes", b: sum_per_image, c: "1x", d: 0.5}"#
        );
    }
}
