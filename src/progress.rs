//! Progress reporting: indicatif bars on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shared progress output of one `runner` invocation.
#[derive(Clone)]
pub struct Progress {
    multi: MultiProgress,
    interactive: bool,
}

impl Progress {
    /// Bars when stderr is a terminal and `enabled`, plain lines otherwise.
    pub fn new(enabled: bool) -> Self {
        let interactive = enabled && std::io::stderr().is_terminal();
        let target = if interactive {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            interactive,
        }
    }

    /// Prints one line above the bars (or plainly).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.interactive {
            let _ = self.multi.println(line.as_ref());
        } else {
            eprintln!("{}", line.as_ref());
        }
    }

    /// Whether bars are drawn (if not, callers print occasional plain lines).
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// A bar of `len` steps labelled `prefix`.
    pub fn bar(&self, prefix: &str, len: u64) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(len));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>14} [{bar:30}] {pos}/{len} {msg} {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(prefix.to_string());
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    }

    /// A one-line status (a spinner and a message) below the other bars.
    pub fn status_line(&self) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    }
}
