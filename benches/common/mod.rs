//! Helpers shared by the benchmarks.

// Each bench is its own crate and uses only some of these.
#![allow(dead_code)]

use std::time::Instant;

/// Median wall time of `runs` calls of `f`, in seconds, and the last call's result.
pub fn median_secs<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut last = None;
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            last = Some(f());
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    (times[times.len() / 2], last.expect("runs >= 1"))
}

/// An unsigned integer from the environment variable `name`, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {v:?}")),
        Err(_) => default,
    }
}
