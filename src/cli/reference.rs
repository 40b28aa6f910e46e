//! What the CLI says about itself, generated from the clap definitions so it
//! cannot drift: shell completions (`runner completions SHELL`), the man page
//! (`runner man`) and the Markdown CLI reference in `docs/cli.md` (checked by
//! `tests/cli_reference.rs`).

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, EXIT_FAILED, EXIT_OK};

/// A shell that `runner completions` writes a script for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShellName {
    /// Bash: `runner completions bash > ~/.local/share/bash-completion/completions/runner`.
    Bash,
    /// Zsh: write `_runner` into a folder of `$fpath`.
    Zsh,
    /// Fish: `runner completions fish > ~/.config/fish/completions/runner.fish`.
    Fish,
    /// Elvish.
    Elvish,
    /// PowerShell.
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: ShellName,
}

/// Prints the completion script of `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> i32 {
    use clap_complete::Shell;
    let shell = match args.shell {
        ShellName::Bash => Shell::Bash,
        ShellName::Zsh => Shell::Zsh,
        ShellName::Fish => Shell::Fish,
        ShellName::Elvish => Shell::Elvish,
        ShellName::Powershell => Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut Cli::command(), "runner", &mut std::io::stdout());
    EXIT_OK
}

/// Prints the man page (roff) to stdout: `runner man > runner.1; man ./runner.1`.
pub fn man() -> i32 {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        eprintln!("error: could not render the man page: {e}");
        return EXIT_FAILED;
    }
    match std::io::stdout().write_all(&page) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: could not write the man page: {e}");
            EXIT_FAILED
        }
    }
}

/// The CLI reference as Markdown: every command's full help, as `--help` prints
/// it, under a heading of its own.
pub fn markdown() -> String {
    let mut root = Cli::command().term_width(100);
    root.build();
    let mut text = String::from(
        "# Command-line reference\n\n\
         Generated from runner's own help texts (`runner help COMMAND` prints the same);\n\
         `tests/cli_reference.rs` fails when this file is out of date, and\n\
         `RUNNER_BLESS_DOCS=1 cargo test --release --test cli_reference` rewrites it.\n",
    );
    let mut add = |title: &str, command: &mut clap::Command| {
        let help = command.render_long_help().to_string();
        text.push_str(&format!(
            "\n## `{title}`\n\n```text\n{}\n```\n",
            help.trim_end()
        ));
    };
    add("runner", &mut root.clone());
    for sub in root.get_subcommands_mut() {
        let name = format!("runner {}", sub.get_name());
        add(&name, sub);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_has_a_section() {
        let text = markdown();
        for sub in Cli::command().get_subcommands() {
            let heading = format!("## `runner {}`", sub.get_name());
            assert!(text.contains(&heading), "{heading}");
        }
    }
}
