//! The Slurm driver's own cost on a 48-cell grid (1 dataset, 48 train and 48
//! eval nodes) against a real Slurm (`scripts/slurm-up.sh` starts a local one):
//!
//! 1. submitting 48 ready training nodes (the dataset already cached): seconds
//!    from the driver's start (planning and the `sbatch --test-only` checks
//!    included) until its 48th "submitted as job" line; target < 5 s;
//! 2. the driver's CPU time while it waits for those jobs, as a share of one
//!    core over 20 s (it reads the jobs' exit records every second and calls
//!    squeue at growing intervals); target: near 0 (< 0.01);
//! 3. a re-run of the grid once every node is done: wall time, target < 1 s,
//!    and no sbatch call.
//!
//! Each figure is printed with its target and the ratio figure/target (below
//! 1.0 meets it). Run with `cargo bench --bench slurm_submit` once Slurm is up.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn report(what: &str, value: f64, unit: &str, target: f64) {
    println!(
        "{what:<58} {value:>8.3} {unit:<4} target < {target} {unit}   ratio {:.3}",
        value / target
    );
}

/// The grid: 48 tiny cells of one dataset.
fn pipeline() -> String {
    let seeds: Vec<String> = (1..=48).map(|s| s.to_string()).collect();
    format!(
        "name: grid48\n\
         dataset: {{name: shapes, train_images: 32, test_images: 8}}\n\
         train: {{epochs: 1, batch: 16}}\n\
         loss: {{alpha: 0.5, terms: [{{bce: {{}}}}, {{fft: {{}}}}]}}\n\
         eval: {{images: 4}}\n\
         sweep:\n  train.seed: [{}]\n",
        seeds.join(", ")
    )
}

/// `runner ARGS` in `dir`, with `bin/` (the logging sbatch) first on PATH.
fn runner(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runner"));
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.args(args)
        .current_dir(dir)
        .env("PATH", format!("{}:{path}", dir.join("bin").display()))
        .env_remove("RUNNER_CACHE_DIR")
        .env_remove("RUNNER_RESULTS_DIR");
    cmd
}

/// The sbatch calls that submitted a job.
fn submissions(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("sbatch.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.contains("--test-only"))
        .count()
}

/// User + system CPU seconds of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the driver runs");
    // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // Linux reports 100 ticks per second (USER_HZ) to user space.
    ticks / 100.0
}

fn main() {
    let sbatch = Command::new("sh")
        .args(["-c", "command -v sbatch"])
        .output()
        .expect("sh runs");
    let sbatch = String::from_utf8_lossy(&sbatch.stdout).trim().to_string();
    let up = !sbatch.is_empty()
        && Command::new("sinfo")
            .arg("--noheader")
            .output()
            .is_ok_and(|o| o.status.success());
    if !up {
        eprintln!("slurm_submit: no Slurm here; start one with scripts/slurm-up.sh");
        std::process::exit(1);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    std::fs::write(dir.join("p.yaml"), pipeline()).unwrap();
    std::fs::write(dir.join("cluster.yaml"), "poll_seconds: 1\nmax_jobs: 200\n").unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let wrapper = dir.join("bin/sbatch");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{sbatch}' \"$@\"\n",
            dir.join("sbatch.log").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    println!("Slurm driver on a 48-cell grid (1 dataset, 48 train, 48 eval nodes)");

    // The dataset, built once here (a cell outside the grid shares it).
    let prep = runner(dir, &["p.yaml", "-o", "train.seed=0", "--no-progress"])
        .output()
        .unwrap();
    assert!(
        prep.status.success(),
        "{}",
        String::from_utf8_lossy(&prep.stderr)
    );

    // 1 and 2: 48 ready training nodes.
    let slurm = [
        "p.yaml",
        "--executor",
        "slurm",
        "--profile",
        "cluster.yaml",
        "--no-progress",
    ];
    let start = Instant::now();
    let mut driver = runner(dir, &slurm)
        .stderr(Stdio::piped())
        .spawn()
        .expect("runner starts");
    let mut lines = BufReader::new(driver.stderr.take().unwrap()).lines();
    let mut submitted = 0;
    for line in lines.by_ref().map_while(Result::ok) {
        if line.contains("submitted as job") {
            submitted += 1;
            if submitted == 48 {
                break;
            }
        }
    }
    let submit_secs = start.elapsed().as_secs_f64();
    assert_eq!(submitted, 48, "the driver submitted {submitted} jobs");
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).count());
    let before = cpu_seconds(driver.id());
    let clock = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let share = (cpu_seconds(driver.id()) - before) / clock.elapsed().as_secs_f64();
    let _ = Command::new("kill")
        .args(["-INT", &driver.id().to_string()])
        .status();
    let _ = driver.wait();
    let _ = drain.join();
    report(
        "submit 48 ready training nodes (from the driver's start)",
        submit_secs,
        "s",
        5.0,
    );
    println!(
        "{:<58} {:>8.1} ms per sbatch call (with bookkeeping)",
        "",
        submit_secs * 1000.0 / 48.0
    );
    report(
        "driver CPU while 48 jobs run, share of one core over 20 s",
        share,
        "core",
        0.01,
    );

    // 3: everything done (computed here), then the driver again.
    let local = runner(dir, &["p.yaml", "-j", "2", "--no-progress"])
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let calls = submissions(dir);
    let start = Instant::now();
    let cached = runner(dir, &slurm).output().unwrap();
    let cached_secs = start.elapsed().as_secs_f64();
    assert!(
        cached.status.success(),
        "{}",
        String::from_utf8_lossy(&cached.stderr)
    );
    let new_calls = submissions(dir) - calls;
    report(
        "re-run of the finished grid (97 nodes fresh)",
        cached_secs,
        "s",
        1.0,
    );
    println!("{:<58} {new_calls:>8} sbatch submissions (expected 0)", "");
    assert_eq!(new_calls, 0);
}
