//! Two-stage Ctrl-C: the first asks every running node to stop at its next safe
//! point (nothing that looks complete is left half-written), the second exits at
//! once (atomic writes still guarantee no partial result looks complete).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static PRESSES: AtomicUsize = AtomicUsize::new(0);

/// Installs the Ctrl-C handler once; later calls do nothing.
pub fn install() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = ctrlc::set_handler(|| {
        let presses = PRESSES.fetch_add(1, Ordering::SeqCst);
        REQUESTED.store(true, Ordering::SeqCst);
        if presses == 0 {
            eprintln!("\ninterrupt: stopping after the current step (Ctrl-C again to abort now)");
        } else {
            eprintln!("\ninterrupt: aborting");
            std::process::exit(130);
        }
    });
}

/// Whether the user asked to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
