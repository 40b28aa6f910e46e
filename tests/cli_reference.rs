//! The CLI documents itself from its clap definitions: docs/cli.md is up to
//! date, and `runner completions` / `runner man` produce working output.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{assert_generated_doc, stderr, stdout, Project};

#[test]
fn docs_cli_md_is_the_generated_reference() {
    let generated = runner::cli::reference::markdown();
    assert_generated_doc("docs/cli.md", &generated, "cli_reference");
}

#[test]
fn bash_completion_is_valid_bash_and_knows_the_subcommands() {
    let p = Project::new();
    let out = p.run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = stdout(&out);
    for word in ["run", "diff", "verify", "terms", "--dry-run", "--only"] {
        assert!(
            script.contains(word),
            "{word} missing from the completion script"
        );
    }
    // `bash -n` parses the script without running it.
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    bash.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let checked = bash.wait_with_output().unwrap();
    assert!(checked.status.success(), "{}", stderr(&checked));
}

#[test]
fn other_shells_and_the_man_page_are_generated() {
    let p = Project::new();
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = p.run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("verify"), "{shell}");
    }
    let out = p.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is bad input");
    let man = p.run(&["man"]);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") || page.contains(".TH runner"),
        "{page}"
    );
    assert!(page.contains("verify"), "subcommands are listed");
}
