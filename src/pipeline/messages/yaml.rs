//! serde_saphyr's errors reading YAML text, in runner's words.
//!
//! serde_saphyr's own wording is written for the programmer calling it (it
//! suggests changing `Options`, prints limits as `Debug` structs); these
//! rewrites name the problem in terms of the file and leave the place to the
//! caller, which shows it as `file:line:column`. They match on the error's
//! variant; only the parser's recursion limit is recognised by its words.

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{DefaultMessageFormatter, Error, MessageFormatter};

/// The problem a serde_saphyr error describes, in runner's words and without
/// the location; wording no rewrite knows follows "invalid YAML: ".
pub fn yaml_message(error: &Error) -> String {
    rewritten(error).unwrap_or_else(|| format!("invalid YAML: {}", library_words(core(error).0)))
}

/// As [`yaml_message`] for a single `-o` value, without "invalid YAML: ": the
/// caller already says that it cannot read the value.
pub fn value_message(error: &Error) -> String {
    rewritten(error).unwrap_or_else(|| library_words(core(error).0))
}

/// The message of the first rewrite that recognises `error`, if any.
fn rewritten(error: &Error) -> Option<String> {
    let (core, through_alias) = core(error);
    duplicate_key(core)
        .or_else(|| second_document(core))
        .or_else(|| budget(core, through_alias))
        .or_else(|| alias_limit(core))
        .or_else(|| non_finite_float(core))
        .or_else(|| nested_too_deeply(core))
}

/// Whether `error` is a key written twice in one mapping; the caller then
/// names the key's path and where it was first written.
pub fn is_duplicate_key(error: &Error) -> bool {
    matches!(core(error).0, Error::DuplicateMappingKey { .. })
}

/// The error inside serde_saphyr's wrappers (a source snippet, an alias being
/// expanded), and whether an alias was being expanded: a limit reached only
/// through aliases is worth saying so, the file itself may look small.
fn core(error: &Error) -> (&Error, bool) {
    let mut core = error;
    let mut through_alias = false;
    loop {
        match core {
            Error::WithSnippet { error, .. } => core = error,
            Error::AliasError { error, .. } => {
                core = error;
                through_alias = true;
            }
            _ => return (core, through_alias),
        }
    }
}

/// `DuplicateMappingKey` ("duplicate mapping key: k, set DuplicateKeyPolicy in
/// Options if acceptable") -> "duplicate key `k`"; the advice is for the
/// programmer, and runner rejects repeated keys on purpose.
fn duplicate_key(core: &Error) -> Option<String> {
    match core {
        Error::DuplicateMappingKey { key: Some(key), .. } => Some(format!("duplicate key `{key}`")),
        Error::DuplicateMappingKey { key: None, .. } => Some("duplicate key".to_string()),
        _ => None,
    }
}

/// `MultipleDocuments` ("multiple YAML documents detected; {hint}", the hint
/// naming library functions to call instead) -> "a second YAML document starts
/// here; a pipeline file holds one".
fn second_document(core: &Error) -> Option<String> {
    matches!(core, Error::MultipleDocuments { .. })
        .then(|| "a second YAML document starts here; a pipeline file holds one".to_string())
}

/// `Budget` ("budget breached: Nodes { nodes: 250001 }") -> which limit, in
/// words (see [`budget_message`]).
fn budget(core: &Error, through_alias: bool) -> Option<String> {
    match core {
        Error::Budget { breach, .. } => Some(budget_message(breach, through_alias)),
        _ => None,
    }
}

/// The alias limits ("alias replay limit exceeded: total_replayed_events=N >
/// M", "alias expansion limit exceeded for anchor id I: N > M", "alias replay
/// stack depth exceeded: depth=N > M") -> "too many YAML nodes: aliases expand
/// to more than M nodes", "too many aliases: one anchor is used more than M
/// times", "aliases are nested more than M deep".
fn alias_limit(core: &Error) -> Option<String> {
    match core {
        Error::AliasReplayLimitExceeded {
            max_total_replayed_events,
            ..
        } => Some(format!(
            "too many YAML nodes: aliases expand to more than {max_total_replayed_events} nodes"
        )),
        Error::AliasExpansionLimitExceeded {
            max_expansions_per_anchor,
            ..
        } => Some(format!(
            "too many aliases: one anchor is used more than {max_expansions_per_anchor} times"
        )),
        Error::AliasReplayStackDepthExceeded { max_depth, .. } => {
            Some(format!("aliases are nested more than {max_depth} deep"))
        }
        _ => None,
    }
}

/// `NonFiniteFloat` ("non-finite float `.nan` rejected by the configured
/// policy") -> "must be a finite number, got .nan".
fn non_finite_float(core: &Error) -> Option<String> {
    match core {
        Error::NonFiniteFloat { value, .. } => {
            Some(format!("must be a finite number, got {value}"))
        }
        _ => None,
    }
}

/// The YAML parser's "recursion limit exceeded" (brackets nested past what it
/// follows, when no budget stops them first) -> "lists or mappings are nested
/// too deeply". The only rewrite here that matches words, not a variant.
fn nested_too_deeply(core: &Error) -> Option<String> {
    (library_words(core) == "recursion limit exceeded")
        .then(|| "lists or mappings are nested too deeply".to_string())
}

/// serde_saphyr's default words for `core`, on one line.
fn library_words(core: &Error) -> String {
    super::one_line(&DefaultMessageFormatter.format_message(core))
}

/// Which limit of the YAML reader a file exceeds, in words; `through_alias` when
/// an alias expanded it past the limit. The limits named are serde_saphyr's
/// defaults, which runner reads with.
fn budget_message(breach: &BudgetBreach, through_alias: bool) -> String {
    let limits = serde_saphyr::Budget::default();
    let expanded = if through_alias {
        " once aliases are expanded"
    } else {
        ""
    };
    match breach {
        BudgetBreach::Nodes { .. } => format!(
            "too many YAML nodes{expanded}: more than {} values, lists and mappings (a pipeline needs a few hundred)",
            limits.max_nodes
        ),
        BudgetBreach::Events { .. } => format!(
            "too many YAML nodes{expanded}: more than {} parser events",
            limits.max_events
        ),
        BudgetBreach::Aliases { .. } => {
            format!("too many aliases: more than {}", limits.max_aliases)
        }
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => format!(
            "too many aliases: {aliases} aliases of {anchors} anchors (more than {} per anchor)",
            limits.alias_anchor_ratio_multiplier
        ),
        BudgetBreach::Anchors { .. } => {
            format!("too many anchors: more than {}", limits.max_anchors)
        }
        BudgetBreach::Depth { .. } => format!(
            "lists or mappings are nested more than {} deep",
            limits.max_depth
        ),
        BudgetBreach::Documents { .. } => format!(
            "too many YAML documents: more than {}",
            limits.max_documents
        ),
        BudgetBreach::ScalarBytes { .. } => format!(
            "too much text: the values hold more than {} bytes",
            limits.max_total_scalar_bytes
        ),
        BudgetBreach::MergeKeys { .. } => format!(
            "too many merge keys (`<<`): more than {}",
            limits.max_merge_keys
        ),
        // A limit runner does not name (one added by a later serde_saphyr) still
        // reads as a limit, not as broken YAML.
        _ => "the file exceeds a size limit of the YAML reader".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::overrides::yaml_options;
    use serde_json::Value;

    /// serde_saphyr's error reading `text` with runner's options changed by
    /// `adjust` (small limits, so that each is reached by a few lines).
    fn error_with(text: &str, adjust: impl FnOnce(&mut serde_saphyr::Options)) -> Error {
        let mut options = yaml_options();
        adjust(&mut options);
        serde_saphyr::from_str_with_options::<Value>(text, options).unwrap_err()
    }

    /// The message for `text` read with `adjust`ed options, with serde_saphyr's
    /// own wording for the assertion that follows.
    fn message_with(text: &str, adjust: impl FnOnce(&mut serde_saphyr::Options)) -> String {
        let error = error_with(text, adjust);
        let message = yaml_message(&error);
        assert_eq!(message.lines().count(), 1, "{message} (from {error:?})");
        message
    }

    /// Runner's limits, but `set` applied to the reader's budget.
    fn budget_of(
        set: impl FnOnce(&mut serde_saphyr::Budget),
    ) -> impl FnOnce(&mut serde_saphyr::Options) {
        move |options| {
            let mut budget = options.budget.clone().unwrap_or_default();
            set(&mut budget);
            options.budget = Some(budget);
        }
    }

    #[test]
    fn duplicate_key() {
        let error = error_with("a: 1\nb: 2\na: 3\n", |_| {});
        assert_eq!(yaml_message(&error), "duplicate key `a`");
        assert!(is_duplicate_key(&error));
        assert!(!is_duplicate_key(&error_with("a: [1\n", |_| {})));
        // A key that is no scalar has no name to give. A pipeline's keys are
        // strings, so only a type with list keys gets this far.
        let error = serde_saphyr::from_str_with_options::<
            std::collections::BTreeMap<Vec<String>, u32>,
        >("? [a]\n: 1\n? [a]\n: 2\n", yaml_options())
        .unwrap_err();
        assert_eq!(yaml_message(&error), "duplicate key", "{error:?}");
    }

    #[test]
    fn second_document() {
        assert_eq!(
            message_with("a: 1\n---\nb: 2\n", |_| {}),
            "a second YAML document starts here; a pipeline file holds one"
        );
    }

    /// A change to the reader's budget, boxed to sit in a table.
    type Limit = Box<dyn FnOnce(&mut serde_saphyr::Budget)>;

    fn limit(set: impl FnOnce(&mut serde_saphyr::Budget) + 'static) -> Limit {
        Box::new(set)
    }

    #[test]
    fn budget_limits() {
        let limits = serde_saphyr::Budget::default();
        for (text, set, words) in [
            (
                "[1, 2, 3, 4, 5]",
                limit(|b| b.max_nodes = 3),
                format!(
                    "too many YAML nodes: more than {} values, lists and mappings (a pipeline needs a few hundred)",
                    limits.max_nodes
                ),
            ),
            (
                "[1, 2, 3, 4, 5]",
                limit(|b| b.max_events = 3),
                format!("too many YAML nodes: more than {} parser events", limits.max_events),
            ),
            (
                "a: &x 1\nb: *x\nc: *x\n",
                limit(|b| b.max_aliases = 1),
                format!("too many aliases: more than {}", limits.max_aliases),
            ),
            (
                "a: &x [1]\nb: *x\nc: *x\nd: *x\n",
                limit(|b| {
                    b.alias_anchor_min_aliases = 1;
                    b.alias_anchor_ratio_multiplier = 2;
                }),
                format!(
                    "too many aliases: 3 aliases of 1 anchors (more than {} per anchor)",
                    limits.alias_anchor_ratio_multiplier
                ),
            ),
            (
                "a: &x 1\nb: &y 2\n",
                limit(|b| b.max_anchors = 1),
                format!("too many anchors: more than {}", limits.max_anchors),
            ),
            (
                "[[[[1]]]]",
                limit(|b| b.max_depth = 2),
                format!("lists or mappings are nested more than {} deep", limits.max_depth),
            ),
            (
                "abcdefgh: ijklmnop",
                limit(|b| b.max_total_scalar_bytes = 4),
                format!(
                    "too much text: the values hold more than {} bytes",
                    limits.max_total_scalar_bytes
                ),
            ),
            (
                "a: &x {b: 1}\nc: {<<: *x}\nd: {<<: *x}\n",
                limit(|b| b.max_merge_keys = 1),
                format!("too many merge keys (`<<`): more than {}", limits.max_merge_keys),
            ),
        ] {
            assert_eq!(message_with(text, budget_of(set)), words, "{text}");
        }
    }

    #[test]
    fn budget_limit_reached_through_an_alias() {
        let message = message_with(
            "a: &a [1, 2, 3]\nb: [*a, *a, *a, *a]\n",
            budget_of(|b| b.max_nodes = 8),
        );
        assert!(
            message.starts_with("too many YAML nodes once aliases are expanded: "),
            "{message}"
        );
    }

    #[test]
    fn alias_limits() {
        let message = message_with("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", |o| {
            o.alias_limits.max_total_replayed_events = 4
        });
        assert_eq!(
            message,
            "too many YAML nodes: aliases expand to more than 4 nodes"
        );
        let message = message_with("a: &a 1\nb: [*a, *a, *a]\n", |o| {
            o.alias_limits.max_alias_expansions_per_anchor = 2
        });
        assert_eq!(
            message,
            "too many aliases: one anchor is used more than 2 times"
        );
        let message = message_with("a: &a [1]\nb: *a\n", |o| {
            o.alias_limits.max_replay_stack_depth = 0
        });
        assert_eq!(message, "aliases are nested more than 0 deep");
    }

    #[test]
    fn non_finite_float() {
        let message = message_with("a: .nan\n", |o| {
            o.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::Reject
        });
        assert_eq!(message, "must be a finite number, got .nan");
    }

    #[test]
    fn nesting_past_the_reader() {
        let text = format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000));
        let message = message_with(&text, |o| o.budget = None);
        assert_eq!(message, "lists or mappings are nested too deeply");
    }

    /// Wording no rewrite knows passes through on one line, marked as a YAML
    /// problem.
    #[test]
    fn anything_else_is_invalid_yaml_on_one_line() {
        let message = message_with("a: [1, 2\nb: 3\n", |_| {});
        assert!(message.starts_with("invalid YAML: "), "{message}");
        let message = message_with("a: b: c\n", |_| {});
        assert!(message.starts_with("invalid YAML: "), "{message}");
        // A `-o` value's message leaves the lead to its caller.
        let error = error_with("[1, 2", |_| {});
        let message = value_message(&error);
        assert_eq!(yaml_message(&error), format!("invalid YAML: {message}"));
        assert_eq!(
            value_message(&error_with("{a: 1, a: 2}", |_| {})),
            "duplicate key `a`"
        );
    }
}
