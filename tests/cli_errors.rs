//! Bad input: one clear message naming the file (and line, column, key where
//! there is one), exit code 2, and nothing written.

mod common;

use common::{idx_images, stderr, Project, TINY};

/// Runs `runner p.yaml` on `text` and returns (exit code, stderr).
fn run_text(p: &Project, text: &str) -> (Option<i32>, String) {
    p.write("p.yaml", text);
    let out = p.run(&["p.yaml", "--no-progress"]);
    (out.status.code(), stderr(&out))
}

#[test]
fn unknown_key_names_line_column_and_suggestion() {
    let p = Project::new();
    let (code, err) = run_text(
        &p,
        "dataset: {name: shapes}\ntrain:\n  epochs: 1\n  bacth: 16\n",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("p.yaml:4:3"), "{err}");
    assert!(err.contains("train.bacth"), "{err}");
    assert!(err.contains("did you mean `batch`"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one message: {err}");
    assert!(!p.wrote_results());
}

#[test]
fn wrong_type_names_the_key() {
    let p = Project::new();
    let (code, err) = run_text(&p, "dataset: {name: shapes}\ntrain:\n  epochs: many\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("p.yaml:3:"), "{err}");
    assert!(err.contains("train.epochs"), "{err}");
    assert!(!p.wrote_results());
}

#[test]
fn yaml_1_1_booleans_are_not_booleans() {
    let p = Project::new();
    let (code, err) = run_text(&p, "dataset: {name: shapes}\ntrain:\n  shuffle: yes\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("train.shuffle"), "{err}");
}

#[test]
fn invalid_values_are_rejected() {
    for (text, key, line) in [
        (
            "dataset: {name: shapes}\ntrain:\n  optimizer: {adam: {lr: -0.001}}\n",
            "train.optimizer.adam.lr",
            3,
        ),
        (
            "dataset: {name: shapes}\nloss:\n  alpha: 1.5\n",
            "loss.alpha",
            3,
        ),
        (
            "dataset: {name: shapes}\nmodel:\n  upsampler: n16\n",
            "model.upsampler",
            3,
        ),
        (
            "dataset: {name: shapes}\nloss:\n  terms: [{bce: {}}, {fftt: {}}]\n",
            "loss.terms",
            3,
        ),
        (
            "dataset: {name: shapes}\ntrain:\n  threads: 0\n",
            "train.threads",
            3,
        ),
        (
            "dataset: {name: shapes}\ntrain:\n  threads: -2\n",
            "train.threads",
            3,
        ),
        (
            "dataset: {name: shapes}\ntrain:\n  threads: 1.5\n",
            "train.threads",
            3,
        ),
        (
            "dataset: {name: shapes}\ntrain:\n  threads: two\n",
            "train.threads",
            3,
        ),
    ] {
        let p = Project::new();
        let (code, err) = run_text(&p, text);
        assert_eq!(code, Some(2), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
        assert!(err.contains(&format!("p.yaml:{line}:")), "{text}: {err}");
        assert!(!p.wrote_results(), "{text}");
    }
}

/// A GPU this binary or machine cannot use stops the run before anything is
/// written, at the line that asks for it (or the `-o` that does).
#[test]
fn unusable_cuda_device_is_named_where_it_is_asked_for() {
    let p = Project::new();
    // GPU 4095 exists nowhere; without the `cuda` feature no GPU does.
    let (code, err) = run_text(&p, "dataset: {name: shapes}\ntrain:\n  device: cuda:4095\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("p.yaml:3:"), "{err}");
    assert!(err.contains("train.device"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one message: {err}");
    if cfg!(not(feature = "cuda")) {
        assert!(err.contains("built without CUDA support"), "{err}");
        assert!(err.contains("--features cuda"), "{err}");
    }
    assert!(!p.wrote_results());

    p.write("q.yaml", "dataset: {name: shapes}\n");
    let out = p.run(&["q.yaml", "-o", "train.device=cuda:4095", "--dry-run"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("-o train.device=cuda:4095"), "{err}");
    assert!(!p.wrote_results());
}

#[test]
fn bad_override_is_named() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    let out = p.run(&["p.yaml", "-o", "train.optimizer.adam.lr=-1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("-o train.optimizer.adam.lr=-1"), "{err}");
    assert!(!p.wrote_results());
}

#[test]
fn missing_and_empty_pipeline_files() {
    let p = Project::new();
    let out = p.run(&["nope.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.yaml"), "{}", stderr(&out));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    let (code, err) = run_text(&p, "# only a comment\n\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("p.yaml") && err.contains("empty"), "{err}");
    assert!(!p.wrote_results());
}

#[test]
fn missing_mnist_file_says_where_to_put_it() {
    let p = Project::new();
    let (code, err) = run_text(
        &p,
        "dataset: {name: mnist, root: mnistdir}\ntrain: {epochs: 1}\n",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("mnistdir/train-images-idx3-ubyte"), "{err}");
    assert!(!p.wrote_results(), "nothing is written");
}

#[test]
fn truncated_idx_file_is_reported() {
    let p = Project::new();
    let full = idx_images(4, 28, 28, &[7u8; 4 * 28 * 28]);
    std::fs::create_dir_all(p.path().join("m")).unwrap();
    std::fs::write(
        p.path().join("m/train-images-idx3-ubyte"),
        &full[..full.len() - 100],
    )
    .unwrap();
    std::fs::write(p.path().join("m/t10k-images-idx3-ubyte"), &full).unwrap();
    let (code, err) = run_text(&p, "dataset: {name: mnist, root: m, train_images: 4, test_images: 4}\ntrain: {epochs: 1}\neval: {images: 4}\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("m/train-images-idx3-ubyte"), "{err}");
    assert!(!p.wrote_results(), "nothing is written");
}

#[test]
fn tiny_mnist_files_train_end_to_end() {
    let p = Project::new();
    let pixels: Vec<u8> = (0..6 * 28 * 28).map(|i| (i * 37 % 256) as u8).collect();
    let file = idx_images(6, 28, 28, &pixels);
    std::fs::create_dir_all(p.path().join("data/mnist")).unwrap();
    std::fs::write(p.path().join("data/mnist/train-images-idx3-ubyte"), &file).unwrap();
    std::fs::write(p.path().join("data/mnist/t10k-images-idx3-ubyte"), &file).unwrap();
    let (code, err) = run_text(
        &p,
        "dataset: {name: mnist, train_images: 6, test_images: 6, binarize: true}\ntrain: {epochs: 1, batch: 3}\neval: {images: 4}\n",
    );
    assert_eq!(code, Some(0), "{err}");
}

/// Dalal's net with both of its reference code's choices (raw decoder output to
/// the losses and metrics, Keras-aligned transposed convs) trains and evaluates;
/// the eval scores the raw output (values outside [0, 1] are not clipped).
#[test]
fn dalal_net_with_logits_input_and_keras_alignment_runs_end_to_end() {
    let p = Project::new();
    let pixels: Vec<u8> = (0..6 * 28 * 28).map(|i| (i * 37 % 256) as u8).collect();
    let file = idx_images(6, 28, 28, &pixels);
    std::fs::create_dir_all(p.path().join("data/mnist")).unwrap();
    std::fs::write(p.path().join("data/mnist/train-images-idx3-ubyte"), &file).unwrap();
    std::fs::write(p.path().join("data/mnist/t10k-images-idx3-ubyte"), &file).unwrap();
    let (code, err) = run_text(
        &p,
        "name: dalal\n\
         dataset: {name: mnist, size: 28, train_images: 6, test_images: 6, binarize: true}\n\
         model: {arch: dalal_mnist, convt_alignment: keras}\n\
         train: {epochs: 1, batch: 3}\n\
         loss: {input: logits, kl: {beta: 0.005}, terms: [{ssim: {weight: 500}}, {stft: {weight: 0.0015}}]}\n\
         eval: {images: 4, samples: 2, metrics: [psnr, ssim]}\n",
    );
    assert_eq!(code, Some(0), "{err}");
    let summary = std::fs::read_to_string(p.path().join("results/dalal/summary.csv")).unwrap();
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(row[0], "done", "{summary}");
    let psnr = header.iter().position(|&c| c == "psnr_mean").unwrap();
    assert!(row[psnr].parse::<f64>().unwrap().is_finite(), "{summary}");
    let config = p.run(&["config", "p.yaml"]);
    let shown = common::stdout(&config);
    assert!(
        shown.contains("logits") && shown.contains("keras"),
        "{shown}"
    );
}

/// `model.convt_alignment: keras` on a net without 3x3 stride-2 transposed convs
/// is a config error at its line, exit 2, before anything runs.
#[test]
fn keras_alignment_on_an_irmae_net_is_refused_at_its_line() {
    let p = Project::new();
    let (code, err) = run_text(
        &p,
        "dataset: {name: shapes}\nmodel:\n  convt_alignment: keras\ntrain: {epochs: 1}\n",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("p.yaml:3:"), "{err}");
    assert!(err.contains("model.convt_alignment"), "{err}");
    assert!(err.contains("dalal_mnist"), "{err}");
    assert!(!p.wrote_results(), "nothing is written");
}

/// A truncated cache entry is stale already when planning (its DONE records
/// the sizes); one with a flipped byte is caught by its manifest's hash when
/// loaded. Either way it is rebuilt, never used.
#[test]
fn corrupted_cache_entry_is_rebuilt_not_used() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    assert_eq!(p.run(&["p.yaml", "--no-progress"]).status.code(), Some(0));
    let datasets = p.path().join(".runner/cache/datasets");
    let entry = std::fs::read_dir(&datasets)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    let bin = entry.join("train.bin");
    let intact = std::fs::read(&bin).unwrap();
    let mut bytes = intact.clone();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&bin, &bytes).unwrap();
    let dry = p.run(&["p.yaml", "--dry-run", "-o", "train.seed=5"]);
    let plan = String::from_utf8_lossy(&dry.stdout).to_string();
    assert!(
        plan.contains("stale    dataset") && plan.contains("train.bin altered"),
        "{plan}"
    );
    let out = p.run(&["p.yaml", "--no-progress", "-o", "train.seed=5"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(std::fs::read(&bin).unwrap(), intact, "rebuilt");

    // Same size, one byte flipped: only the hash tells, when a node loads it.
    let mut flipped = intact.clone();
    flipped[10] ^= 0x40;
    std::fs::write(&bin, &flipped).unwrap();
    let out = p.run(&["p.yaml", "--no-progress", "-o", "train.seed=6"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("unusable") && err.contains("blake3") && err.contains("rebuilding"),
        "{err}"
    );
    assert_eq!(std::fs::read(&bin).unwrap(), intact, "rebuilt");
}

/// `runner run` with the Slurm executor: a bad profile or a machine without
/// Slurm's commands is an input error before anything is submitted or written.
#[test]
fn bad_profile_or_missing_sbatch_stops_the_slurm_executor() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    p.write("cluster.yaml", "partition: gpu\ntrain: {cpu: 2, mem: 4G}\n");
    let out = p.run(&["p.yaml", "--executor", "slurm", "--profile", "cluster.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim(),
        "error: cluster.yaml:2:9: train.cpu: unknown key `cpu` (did you mean `cpus`?); \
         valid keys: cpus, mem, time, gpus, extra"
    );
    assert!(!p.wrote_results());

    // RUNNER_EXECUTOR and RUNNER_PROFILE say the same; an empty PATH has no sbatch.
    p.write("cluster.yaml", "partition: gpu\n");
    let empty = p.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = p
        .command(&["p.yaml"])
        .env("RUNNER_EXECUTOR", "slurm")
        .env("RUNNER_PROFILE", "cluster.yaml")
        .env("PATH", &empty)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: cluster.yaml: `sbatch` is not on PATH"),
        "{err}"
    );
    assert!(!p.wrote_results());

    let out = p.run(&["p.yaml", "--profile", "nope.yaml", "--executor", "slurm"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "error: nope.yaml: profile file not found"
    );
}

/// Options that belong to the other executor are refused, not ignored.
#[test]
fn executor_options_are_checked() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    let out = p.run(&["p.yaml", "--detach"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--detach submits the driver to Slurm"));
    let out = p.run(&["p.yaml", "--executor", "slurm", "--gpus", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Slurm jobs get theirs from the profile"));
    if runner::device::gpu_count() == 0 {
        let out = p.run(&["p.yaml", "--gpus", "0,1"]);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            stderr(&out).trim(),
            "error: --gpus 0: this machine has 0 CUDA GPU(s)"
        );
    }
    let out = p.run(&["p.yaml", "--executor", "pbs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values: local, slurm"));
    assert!(!p.wrote_results());
}

/// `runner node` with a key that names no planned node.
#[test]
fn node_with_an_unknown_key_is_an_input_error() {
    let p = Project::new();
    let out = p.run(&["node", "abcdef0123"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: no planned node with key abcdef0123"),
        "{}",
        stderr(&out)
    );
    let out = p.run(&["node", "xyz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a node key"));
}
