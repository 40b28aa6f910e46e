//! End-to-end runs of the real binary on tiny pipelines: caching, staleness,
//! sweeps, failures, concurrency and interruption.

mod common;

use std::path::{Path, PathBuf};

use common::{stderr, stdout, Project, Running, TINY};
use runner::report::grid;

/// The run folders under `results/tiny/runs` of `p`.
fn run_dirs(p: &Project) -> Vec<PathBuf> {
    std::fs::read_dir(p.path().join("results/tiny/runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|d| d.is_dir())
        .collect()
}

/// Whether `dir` holds a finished node.
fn is_done(dir: &Path) -> bool {
    dir.join("DONE").exists()
}

#[test]
fn second_run_is_fresh_and_writes_summary() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    let first = p.run(&["p.yaml", "--no-progress"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let summary = std::fs::read_to_string(p.path().join("results/tiny/summary.csv")).unwrap();
    let mut lines = summary.lines();
    let header = lines.next().unwrap();
    for column in [
        "status",
        "train_key",
        "rmse_spatial_mean",
        "rmse_fft2_std",
        "rmse_ai_mean",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = lines.next().unwrap();
    assert!(row.starts_with("done,"), "{row}");
    assert!(lines.next().is_none());

    // `train.device: auto` (the default) says once when it means the CPU.
    let notices = |err: &str| err.lines().filter(|l| l.starts_with("note: ")).count();
    let err = stderr(&first);
    if cfg!(not(feature = "cuda")) {
        assert!(
            err.lines().next().unwrap().starts_with(
                "note: train.device is auto and this runner was built without CUDA support"
            ),
            "{err}"
        );
        assert_eq!(notices(&err), 1, "{err}");
    }

    let second = p.run(&["p.yaml", "--no-progress"]);
    assert_eq!(second.status.code(), Some(0));
    let err = stderr(&second);
    assert!(err.contains("are fresh; nothing to run"), "{err}");
    assert!(err.contains("0 ran"), "{err}");
    assert_eq!(notices(&err), 0, "nothing trains, nothing to say: {err}");

    let dry = p.run(&["p.yaml", "--dry-run"]);
    let out = stdout(&dry);
    assert!(out.contains("0 to run"), "{out}");
    assert!(!out.contains("missing") && !out.contains("stale"), "{out}");
}

#[test]
fn run_directory_holds_the_layout() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    assert_eq!(p.run(&["p.yaml", "--no-progress"]).status.code(), Some(0));
    let runs: Vec<_> = std::fs::read_dir(p.path().join("results/tiny/runs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].path();
    for file in ["config.yaml", "model.safetensors", "train_log.csv", "DONE"] {
        assert!(run.join(file).is_file(), "missing {file}");
    }
    // The resume checkpoint is removed once the final weights are written.
    assert!(!run.join("checkpoint.safetensors").exists());
    let evals: Vec<_> = std::fs::read_dir(run.join("eval"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    assert_eq!(evals.len(), 1);
    let eval = evals[0].path();
    for file in [
        "metrics.csv",
        "summary.csv",
        "spectrum.csv",
        "samples.png",
        "recon.png",
        "DONE",
    ] {
        assert!(eval.join(file).is_file(), "missing {file}");
    }
    // 8 test images -> 8 rows; 32x32 -> 20 radial bins.
    let metrics = std::fs::read_to_string(eval.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 8);
    let spectrum = std::fs::read_to_string(eval.join("spectrum.csv")).unwrap();
    assert_eq!(
        spectrum.lines().next().unwrap(),
        "bin,frequency,real_mean,real_std,recon_mean,recon_std,sample_mean,sample_std"
    );
    assert_eq!(spectrum.lines().count(), 1 + 20);
    // Prior samples (64 by default) fill the last two columns on every row.
    for line in spectrum.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 8, "{line}");
        assert!(fields[6].parse::<f64>().unwrap().is_finite(), "{line}");
        assert!(fields[7].parse::<f64>().unwrap() >= 0.0, "{line}");
    }
    // Recon grid: 8 test images over their 8 reconstructions, 32x32 scaled up 3
    // times, with gaps, after a column of row labels.
    let recon = image::open(eval.join("recon.png")).unwrap().to_rgb8();
    let scale = grid::grid_scale(32, 32);
    assert_eq!(scale, 3);
    let labels = runner::eval::run::recon_row_labels(2);
    assert_eq!(labels, ["input", "reconstruction"]);
    let layout = grid::GridLayout::new(16, 32, 32, 8, &labels).unwrap();
    assert!(layout.label_width > 0);
    assert_eq!(
        recon.dimensions(),
        (
            (layout.label_width + 8 * 32 * scale + 9 * grid::GAP) as u32,
            (2 * 32 * scale + 3 * grid::GAP) as u32
        )
    );
    // Nearest neighbour: each test image pixel is a 3x3 block.
    let (ox, oy) = layout.origin(0);
    for (x, y) in [(0, 0), (5, 7), (31, 31)] {
        let at = |dx: usize, dy: usize| {
            *recon.get_pixel((ox + x * scale + dx) as u32, (oy + y * scale + dy) as u32)
        };
        assert_eq!(at(0, 0), at(scale - 1, scale - 1), "pixel {x},{y}");
    }
    // 64 prior samples, 8 per row, scaled the same way and without labels.
    let samples = image::open(eval.join("samples.png")).unwrap();
    let side = (8 * 32 * scale + 9 * grid::GAP) as u32;
    assert_eq!((samples.width(), samples.height()), (side, side));
    let log = std::fs::read_to_string(run.join("train_log.csv")).unwrap();
    assert!(
        log.starts_with("epoch,step,loss,bce,fft,kl,lr,wall_s"),
        "{log}"
    );
}

#[test]
fn changing_one_sweep_value_reruns_only_its_cells() {
    let p = Project::new();
    let text = format!("{TINY}sweep:\n  train.seed: [0, 1]\n  model.upsampler: [convt, n15]\n");
    p.write("p.yaml", &text);
    assert_eq!(
        p.run(&["p.yaml", "--no-progress", "-j", "2"]).status.code(),
        Some(0)
    );
    p.write("p.yaml", &text.replace("[0, 1]", "[0, 2]"));
    let dry = stdout(&p.run(&["p.yaml", "--dry-run"]));
    // seed=2 x {convt, n15}: 2 train + 2 eval missing, plus the report.
    let missing: Vec<&str> = dry
        .lines()
        .filter(|l| l.trim_start().starts_with("missing"))
        .collect();
    assert_eq!(missing.len(), 4, "{dry}");
    assert!(missing.iter().all(|l| l.contains("train.seed=2")), "{dry}");
    assert!(dry.contains("5 to run"), "{dry}");
    let fresh = dry
        .lines()
        .filter(|l| l.trim_start().starts_with("fresh"))
        .count();
    assert_eq!(fresh, 1 + 2 + 2, "{dry}");
}

#[test]
fn dry_run_names_the_changed_key() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    assert_eq!(p.run(&["p.yaml", "--no-progress"]).status.code(), Some(0));
    let dry = stdout(&p.run(&["p.yaml", "--dry-run", "-o", "train.epochs=2"]));
    assert!(dry.contains("stale"), "{dry}");
    assert!(dry.contains("train.epochs: 1 -> 2"), "{dry}");
    // The dataset does not depend on train.epochs.
    let dataset_line = dry.lines().find(|l| l.contains("dataset")).unwrap();
    assert!(dataset_line.trim_start().starts_with("fresh"), "{dry}");
    // Only eval settings changed: train stays fresh.
    let dry = stdout(&p.run(&["p.yaml", "--dry-run", "-o", "eval.images=4"]));
    let train_line = dry.lines().find(|l| l.contains("train ")).unwrap();
    assert!(train_line.trim_start().starts_with("fresh"), "{dry}");
    assert!(dry.contains("eval.images: 8 -> 4"), "{dry}");
}

#[test]
fn force_reruns_fresh_nodes() {
    let p = Project::new();
    p.write("p.yaml", TINY);
    assert_eq!(p.run(&["p.yaml", "--no-progress"]).status.code(), Some(0));
    let out = p.run(&["p.yaml", "--no-progress", "--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("4 ran"), "{}", stderr(&out));
}

#[test]
fn diverging_cell_fails_alone_with_rerun_command() {
    let p = Project::new();
    let text = format!("{TINY}sweep:\n  train.optimizer.adam.lr: [1.0e-4, 1.0e+30]\n");
    p.write("p.yaml", &text);
    let out = p.run(&["p.yaml", "--no-progress"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("diverged at epoch 1"), "{err}");
    assert!(
        err.contains("re-run: runner run p.yaml --results-dir results --cache-dir .runner/cache --only train.optimizer.adam.lr="),
        "{err}"
    );
    let summary = std::fs::read_to_string(p.path().join("results/tiny/summary.csv")).unwrap();
    assert_eq!(
        summary.lines().filter(|l| l.contains(",done,")).count(),
        1,
        "{summary}"
    );
    assert_eq!(
        summary.lines().filter(|l| l.contains(",failed,")).count(),
        1,
        "{summary}"
    );
}

/// Two runners on the same pipeline and results folder, the second started
/// while the first holds the lock of a training node: the second must find it
/// busy (and say so), work on the other cell meanwhile, and no node is computed
/// twice.
#[test]
fn two_processes_never_run_a_node_twice() {
    let p = Project::new();
    let text = TINY
        .replace("train_images: 64", "train_images: 256")
        .replace("epochs: 1", "epochs: 10");
    p.write("p.yaml", &format!("{text}sweep:\n  train.seed: [0, 1]\n"));
    let mut a = Running::start(&p, &["p.yaml", "--no-progress"]);
    // After its first epoch, `a` holds the first training node for 9 more.
    a.wait_for("epoch 1/10 done");
    let b = Running::start(&p, &["p.yaml", "--no-progress"]);
    let (status_a, err_a) = a.finish();
    let (status_b, err_b) = b.finish();
    assert_eq!(status_a.code(), Some(0), "{err_a}");
    assert_eq!(status_b.code(), Some(0), "{err_b}");
    assert!(
        err_b.contains("busy    train"),
        "the second runner must have found the training node the first held:\n{err_b}"
    );
    let both = format!("{err_a}\n{err_b}");
    assert!(
        both.contains("(finished by another runner)"),
        "one runner must have taken the other's result:\n{both}"
    );
    let trained = both
        .lines()
        .filter(|l| l.trim_start().starts_with("done") && l.contains("train "))
        .count();
    assert_eq!(
        trained, 2,
        "each of the 2 train nodes runs exactly once:\n{both}"
    );
    let again = p.run(&["p.yaml", "--dry-run"]);
    assert!(stdout(&again).contains("0 to run"), "{}", stdout(&again));
}

/// SIGINT during training: the runner stops after the current step, saves the
/// checkpoint, exits 130 and leaves nothing that looks complete.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly_with_exit_130() {
    let p = Project::new();
    let text = TINY
        .replace("train_images: 64", "train_images: 256")
        .replace("epochs: 1", "epochs: 50");
    p.write("p.yaml", &text);
    let mut run = Running::start(&p, &["p.yaml", "--no-progress"]);
    // Training is under way (the dataset is built first) and 49 epochs are left.
    run.wait_for("epoch 1/50 done");
    run.signal("INT");
    let (status, err) = run.finish();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupt: stopping after the current step"),
        "{err}"
    );
    assert!(err.contains("the checkpoint is saved"), "{err}");
    assert!(err.contains("re-run the same command to continue"), "{err}");
    // Nothing that looks complete: no DONE in any run, no summary table; the
    // checkpoint to resume from is there.
    let runs = run_dirs(&p);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(!is_done(&runs[0]));
    assert!(runs[0].join("checkpoint.safetensors").is_file());
    assert!(!p.path().join("results/tiny/summary.csv").exists());
}

#[test]
fn config_prints_every_cell_with_keys() {
    let p = Project::new();
    let text = format!("{TINY}sweep:\n  model.upsampler: [convt, n15]\n");
    p.write("p.yaml", &text);
    let out = p.run(&["config", "p.yaml", "-o", "train.seed=0,1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("# cell ").count(), 4, "{text}");
    assert!(
        text.contains("# cell 4/4: model.upsampler=n15 train.seed=1"),
        "{text}"
    );
    assert_eq!(text.matches("# keys: dataset").count(), 4);
    assert!(!p.wrote_results());
}

/// The metric columns of results/tiny/summary.csv.
fn metric_columns(p: &Project) -> Vec<String> {
    let text = std::fs::read_to_string(p.path().join("results/tiny/summary.csv")).unwrap();
    let row = text.lines().nth(1).unwrap().to_string();
    row.split(',').skip(4).map(str::to_string).collect()
}

#[cfg(unix)]
#[test]
fn sigkill_mid_training_resumes_to_the_same_result() {
    let text = TINY
        .replace("train_images: 64", "train_images: 256")
        .replace(
            "train: {epochs: 1, batch: 16}",
            "train: {epochs: 8, batch: 16, shuffle: true}",
        );
    let whole = Project::new();
    whole.write("p.yaml", &text);
    let out = whole.run(&["p.yaml", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let killed = Project::new();
    killed.write("p.yaml", &text);
    let mut run = Running::start(&killed, &["p.yaml", "--no-progress"]);
    // The checkpoint of epoch 1 is written before its line is printed; kill
    // without warning inside epoch 2.
    run.wait_for("epoch 1/8 done");
    run.child.kill().unwrap();
    let (status, err) = run.finish();
    assert_eq!(status.code(), None, "killed by a signal: {err}");
    let runs = run_dirs(&killed);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        runs[0].join("checkpoint.safetensors").is_file(),
        "no checkpoint to resume from:\n{err}"
    );
    assert!(!is_done(&runs[0]), "killed before the end:\n{err}");

    let out = killed.run(&["p.yaml", "--no-progress"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains(": resuming after epoch") && !l.contains("after epoch 0,")),
        "resumes from a finished epoch:\n{err}"
    );
    assert_eq!(
        metric_columns(&killed),
        metric_columns(&whole),
        "resumed run must equal the uninterrupted one"
    );
    let log = |p: &Project| {
        let run = std::fs::read_dir(p.path().join("results/tiny/runs"))
            .unwrap()
            .flatten()
            .find(|e| e.path().is_dir())
            .unwrap()
            .path();
        let text = std::fs::read_to_string(run.join("train_log.csv")).unwrap();
        // Drop the wall-time column.
        text.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(log(&killed), log(&whole), "same loss curve");
}

#[test]
fn parallel_runs_give_identical_results() {
    let text = format!("{TINY}sweep:\n  train.seed: [0, 1]\n  model.upsampler: [convt, z15]\n");
    let tables: Vec<String> = (0..2)
        .map(|_| {
            let p = Project::new();
            p.write("p.yaml", &text);
            let out = p.run(&["p.yaml", "--no-progress", "-j", "2"]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            std::fs::read_to_string(p.path().join("results/tiny/summary.csv")).unwrap()
        })
        .collect();
    assert_eq!(
        tables[0], tables[1],
        "same pipeline, same numbers, also with -j 2"
    );
}

/// Every loss term of the library (as `runner terms --defaults` lists them, so
/// a new term is covered without editing this test) in one mix runs through the
/// binary; the log has a column per term and the learned loss parameters are
/// saved with the model.
#[test]
fn every_loss_term_trains_end_to_end() {
    let p = Project::new();
    let listed = p.run(&["terms", "--defaults"]);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    // Options that take another code path than the defaults.
    let variants = [
        ("mse", "{mse: {sigma_mode: learned}}"),
        ("ssim", "{ssim: {variant: zero_padded}}"),
        ("ai", "{ai: {order: durall_code}}"),
        ("ffl", "{ffl: {patch_factor: 2}}"),
        ("fuoli", "{fuoli: {phase: wrapped}}"),
        ("stft", "{stft: {mode: code_rows}}"),
        ("wiener", "{wiener: {kernel: learned, kernel_size: 5}}"),
    ];
    let mut names = vec![];
    let mut entries = String::new();
    for line in stdout(&listed).lines() {
        let name = line[1..].split(':').next().unwrap().to_string();
        let entry = variants
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(line, |(_, v)| v);
        entries.push_str(&format!("    - {entry}\n"));
        names.push(name);
    }
    assert!(names.len() >= 11, "{names:?}");
    p.write(
        "p.yaml",
        &format!(
            "name: tiny\n\
             dataset: {{name: shapes, train_images: 32, test_images: 8}}\n\
             train: {{epochs: 1, batch: 16}}\n\
             loss:\n  terms:\n{entries}\
             eval: {{images: 8, metrics: [rmse_spatial, sq_err_pixel, psnr, ssim]}}\n"
        ),
    );
    let out = p.run(&["p.yaml", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runs = p.path().join("results/tiny/runs");
    let train_dir = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.is_dir())
        .expect("a run directory");
    let log = std::fs::read_to_string(train_dir.join("train_log.csv")).unwrap();
    let header = format!("epoch,step,loss,{},kl,", names.join(","));
    assert!(log.starts_with(&header), "{header}\n{log}");
    let model = std::fs::read(train_dir.join("model.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(model[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8_lossy(&model[8..8 + header_len]);
    assert!(header.contains("\"loss.log_sigma\""), "{header}");
    assert!(
        header.contains("\"loss.kernel_head.logits.weight\""),
        "{header}"
    );

    // Björk's per-pixel statistic: per image it is the square of the pixel RMSE, and
    // its summary mean is the mean over the (equally sized) images.
    let eval_dir = std::fs::read_dir(train_dir.join("eval"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.is_dir())
        .expect("an eval directory");
    let metrics = std::fs::read_to_string(eval_dir.join("metrics.csv")).unwrap();
    let mut lines = metrics.lines();
    assert_eq!(
        lines.next(),
        Some("image,rmse_spatial,sq_err_pixel,psnr,ssim")
    );
    let mut per_image = Vec::new();
    for line in lines {
        let v: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        assert!((v[2] - v[1] * v[1]).abs() <= 1e-6 * v[2], "{line}");
        assert!((v[3] - 10.0 * (1.0 / v[2]).log10()).abs() < 1e-5, "{line}");
        per_image.push(v[2]);
    }
    assert_eq!(per_image.len(), 8);
    let summary = std::fs::read_to_string(eval_dir.join("summary.csv")).unwrap();
    let row = summary
        .lines()
        .find(|l| l.starts_with("sq_err_pixel,"))
        .expect("sq_err_pixel row");
    let mean: f64 = row.split(',').nth(1).unwrap().parse().unwrap();
    let std: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
    let expected = per_image.iter().sum::<f64>() / 8.0;
    assert!(
        (mean - expected).abs() <= 1e-6 * expected,
        "{mean} vs {expected}"
    );
    // Over pixels the spread includes within-image variation, so it is at least the
    // spread of the per-image means.
    let between = (per_image
        .iter()
        .map(|v| (v - expected).powi(2))
        .sum::<f64>()
        / 8.0)
        .sqrt();
    assert!(std >= between * (1.0 - 1e-9), "{std} < {between}");
}

/// The one run directory of the `tiny` pipeline in `p`.
fn only_run(p: &Project) -> std::path::PathBuf {
    let runs: Vec<_> = std::fs::read_dir(p.path().join("results/tiny/runs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// `train.threads` changes how fast, not what: the same cell on 1 and 2 threads
/// gets the same key and writes the same bytes; more threads than cores is
/// allowed with a notice; a finished run stays fresh when only the count changes.
#[test]
fn thread_count_gives_the_same_key_and_bit_identical_weights() {
    let (one, two) = (Project::new(), Project::new());
    for (p, threads) in [(&one, "1"), (&two, "2")] {
        p.write("p.yaml", TINY);
        let out = p.run(&[
            "p.yaml",
            "--no-progress",
            "-o",
            &format!("train.threads={threads}"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let (run1, run2) = (only_run(&one), only_run(&two));
    assert_eq!(run1.file_name(), run2.file_name(), "same training key");
    for file in ["model.safetensors", "train_log.csv"] {
        let bytes = |run: &std::path::Path| std::fs::read(run.join(file)).unwrap();
        if file == "train_log.csv" {
            // The last column is wall time.
            let curve = |run: &std::path::Path| -> Vec<String> {
                String::from_utf8(bytes(run))
                    .unwrap()
                    .lines()
                    .map(|l| l.rsplit_once(',').unwrap().0.to_string())
                    .collect()
            };
            assert_eq!(curve(&run1), curve(&run2), "same loss curve");
        } else {
            assert!(
                bytes(&run1) == bytes(&run2),
                "{file} differs between 1 and 2 threads"
            );
        }
    }

    let again = two.run(&["p.yaml", "--no-progress", "-o", "train.threads=3"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(stderr(&again).contains("0 ran"), "{}", stderr(&again));

    let many = Project::new();
    many.write("p.yaml", TINY);
    let out = many.run(&["p.yaml", "--no-progress", "-o", "train.threads=512"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("notice: train.threads is 512"), "{said}");
}
