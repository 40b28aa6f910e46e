//! The process exit codes, defined once for every command, and read back by
//! the Slurm driver from what `runner node` exited with.

/// Success.
pub const OK: i32 = 0;
/// A node failed (or `diff` found differences).
pub const FAILED: i32 = 1;
/// Bad input: pipeline or profile file, data files, command line.
pub const INPUT: i32 = 2;
/// `runner node` stopped at a checkpoint (SIGUSR2) and asks to be run again
/// (sysexits' EX_TEMPFAIL: "try again later").
pub const RESUBMIT: i32 = 75;
/// Stopped by SIGINT or SIGTERM (what could be saved is saved).
pub const INTERRUPTED: i32 = 130;
