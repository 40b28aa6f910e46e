//! Stop requests. Ctrl-C (SIGINT), SIGTERM (`kill`, `scancel`, a system
//! shutdown) and Slurm's time-limit warning (SIGUSR2, asked for with
//! `--signal=B:USR2@<grace>`) all ask every running node to stop at its next
//! safe point: training saves its checkpoint at the next step boundary, and
//! nothing that looks complete is left half-written. A second Ctrl-C or SIGTERM
//! exits at once (atomic writes still guarantee no partial result looks
//! complete).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Why a stop was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Ctrl-C.
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGUSR2: the job's time limit is near; save and ask to be resubmitted.
    Resubmit,
}

/// 0: no request; else a [`StopReason`] code (the first one wins).
static REASON: AtomicU8 = AtomicU8::new(0);

impl StopReason {
    fn code(self) -> u8 {
        match self {
            StopReason::Interrupt => 1,
            StopReason::Terminate => 2,
            StopReason::Resubmit => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(StopReason::Interrupt),
            2 => Some(StopReason::Terminate),
            3 => Some(StopReason::Resubmit),
            _ => None,
        }
    }

    /// The signal's name, for messages and exit records.
    pub fn signal_name(self) -> &'static str {
        match self {
            StopReason::Interrupt => "SIGINT",
            StopReason::Terminate => "SIGTERM",
            StopReason::Resubmit => "SIGUSR2",
        }
    }
}

/// Records a stop request (the first reason is kept).
pub fn request(reason: StopReason) {
    let _ = REASON.compare_exchange(0, reason.code(), Ordering::SeqCst, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REASON.load(Ordering::SeqCst) != 0
}

/// Why a stop was asked for, if it was.
pub fn reason() -> Option<StopReason> {
    StopReason::from_code(REASON.load(Ordering::SeqCst))
}

/// Installs the handlers of SIGINT, SIGTERM and SIGUSR2 once (on a thread of
/// their own, so the messages are printed safely); later calls do nothing.
pub fn install() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR2};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR2]) else {
        return;
    };
    std::thread::spawn(move || {
        let mut stops = 0;
        for signal in signals.forever() {
            let reason = match signal {
                SIGINT => StopReason::Interrupt,
                SIGTERM => StopReason::Terminate,
                _ => StopReason::Resubmit,
            };
            // A second Ctrl-C or SIGTERM aborts at once (128 + the signal).
            if reason != StopReason::Resubmit {
                stops += 1;
                if stops > 1 {
                    eprintln!("\n{}: aborting", reason.signal_name());
                    std::process::exit(128 + signal);
                }
            }
            request(reason);
            eprintln!(
                "\n{}: stopping after the current step{}",
                match reason {
                    StopReason::Interrupt => "interrupt",
                    StopReason::Terminate => "terminated (SIGTERM)",
                    StopReason::Resubmit => "time limit near (SIGUSR2)",
                },
                match reason {
                    StopReason::Interrupt => " (Ctrl-C again to abort now)",
                    StopReason::Terminate => " (send it again to abort now)",
                    StopReason::Resubmit => "",
                }
            );
        }
    });
}
