//! Library error wording in runner's words.
//!
//! serde, serde_json, serde_path_to_error and serde_saphyr describe a problem
//! for the programmer (`invalid type: sequence, expected u32`, `budget breached:
//! Nodes { .. }`); a pipeline's author needs it in terms of the file (`invalid
//! type: list, expected a whole number`). Every such rewrite lives here, one
//! small function per library wording, each with a test that produces the
//! library's real error from a small input: a library upgrade that changes its
//! wording then fails a test instead of quietly showing the raw text.
//!
//! - [`typing`]: errors typing the YAML tree into the schema (serde's
//!   `de::Error` wording, placed by serde_path_to_error).
//! - [`yaml`]: errors reading the YAML text (serde_saphyr's error variants).
//!
//! Wording that no rewrite recognises passes through on one line, still placed
//! at its key by the caller.

pub mod typing;
pub mod yaml;

use super::suggest::closest;

/// Whether `message` names `key` as a whole dotted path (not as part of a longer
/// one). A message that already names its key is shown without the key in
/// front, so that it is not said twice.
pub fn mentions(message: &str, key: &str) -> bool {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    message.match_indices(key).any(|(at, _)| {
        let before = message[..at].chars().next_back();
        let after = message[at + key.len()..].chars().next();
        !before.is_some_and(is_path_char) && !after.is_some_and(|c| is_path_char(c) && c != '.')
    })
}

/// A library message on one line: an error is shown as one
/// `file:line:column: key: message` line, whatever the library put in it.
fn one_line(message: &str) -> String {
    message.replace('\n', " ")
}

/// " (did you mean `x`?)" when one of `candidates` is close to `word`, else
/// nothing.
fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates) {
        Some(best) => format!(" (did you mean `{best}`?)"),
        None => String::new(),
    }
}

/// "unknown key `x` (did you mean `y`?); valid keys: a, b", or that no key is
/// allowed when `valid` is empty.
fn unknown_key(bad: &str, valid: &[&str]) -> String {
    if valid.is_empty() {
        return format!("unknown key `{bad}`; no keys are allowed here");
    }
    format!(
        "unknown key `{bad}`{}; valid keys: {}",
        did_you_mean(bad, valid),
        valid.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_mentions_key_only_as_a_whole_path() {
        assert!(mentions("loss.alpha must be", "loss.alpha"));
        assert!(mentions(
            "unknown value `n16` for model.upsampler (",
            "model.upsampler"
        ));
        assert!(!mentions("missing required key `name`", "dataset.name"));
        assert!(!mentions("loss.alphabet", "loss.alpha"));
        assert!(mentions("see loss.alpha.", "loss.alpha"));
    }

    #[test]
    fn unknown_keys_suggest_the_closest_and_list_the_valid_ones() {
        assert_eq!(
            unknown_key("bacth", &["epochs", "batch"]),
            "unknown key `bacth` (did you mean `batch`?); valid keys: epochs, batch"
        );
        assert_eq!(
            unknown_key("xyz", &["epochs", "batch"]),
            "unknown key `xyz`; valid keys: epochs, batch"
        );
        assert_eq!(
            unknown_key("x", &[]),
            "unknown key `x`; no keys are allowed here"
        );
    }

    #[test]
    fn library_text_is_kept_to_one_line() {
        assert_eq!(one_line("a\nb\nc"), "a b c");
    }
}
