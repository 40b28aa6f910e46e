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
/// Stopped by SIGINT (what could be saved is saved); `runner node` also for
/// SIGTERM, which its Slurm driver reads.
pub const INTERRUPTED: i32 = 130;
/// `runner run` stopped by SIGTERM (`kill`, `timeout`, systemd) after saving
/// what could be saved: 128 + 15, as a shell reports a process SIGTERM ended.
pub const TERMINATED: i32 = 143;
