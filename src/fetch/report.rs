//! What `runner data get` prints: a byte progress bar on a terminal (bytes,
//! rate, ETA), and plain lines otherwise, one each 10% of a transfer, which
//! logs keep and tests synchronise on.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress output of one `runner data` command.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    interactive: bool,
}

impl Report {
    /// Bars when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Self {
        Report {
            interactive: std::io::stderr().is_terminal(),
        }
    }

    /// Prints one line on stderr.
    pub fn line(&self, text: impl AsRef<str>) {
        eprintln!("{}", text.as_ref());
    }

    /// Progress of one transfer of `label`, which starts at byte `start` of
    /// `total` (when known).
    pub fn transfer(&self, label: &str, start: u64, total: Option<u64>) -> Transfer {
        let bar = if self.interactive {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            let template = if total.is_some() {
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
            } else {
                "{prefix} {spinner} {bytes} {binary_bytes_per_sec}"
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.set_position(start);
            bar.enable_steady_tick(Duration::from_millis(250));
            Some(bar)
        } else {
            None
        };
        Transfer {
            label: label.to_string(),
            total,
            bar,
            tenths: total.map_or(0, |t| tenths(start, t)),
        }
    }
}

impl Default for Report {
    fn default() -> Self {
        Report::new()
    }
}

/// Tenths of `total` that `at` has reached.
fn tenths(at: u64, total: u64) -> u64 {
    // An empty file is complete at once.
    (at.min(total) * 10).checked_div(total).unwrap_or(10)
}

/// Progress of one transfer.
pub struct Transfer {
    label: String,
    total: Option<u64>,
    bar: Option<ProgressBar>,
    tenths: u64,
}

impl Transfer {
    /// The transfer has reached byte `at`.
    pub fn at(&mut self, at: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(at);
            return;
        }
        if let Some(total) = self.total {
            let now = tenths(at, total);
            if now > self.tenths {
                self.tenths = now;
                eprintln!("  {}: {}% ({at} of {total} bytes)", self.label, now * 10);
            }
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
