//! End-to-end runs of the report node: the declared table against the cells'
//! summary values, the plots, and plot problems reported as warnings.

mod common;

use std::path::Path;

use common::{stderr, Project, TINY};

/// TINY swept over two up-samplers and two seeds, with a table by up-sampler.
fn tabled() -> String {
    format!(
        "{TINY}sweep:\n  model.upsampler: [convt, n15]\n  train.seed: [0, 1]\n\
         report:\n  table:\n    rows: [model.upsampler]\n    metrics: [rmse_ai, rmse_spatial]\n    \
         labels: {{convt: ConvT}}\n"
    )
}

/// The rows of a CSV file as maps from column name to field.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

/// The text of every `<text>` element of the SVG at `path`, trimmed.
fn svg_texts(path: &Path) -> Vec<String> {
    runner::report::figure::svg_texts(&std::fs::read_to_string(path).unwrap())
}

/// Decodes `path` and checks its size range and that it is not one flat colour.
fn check_png(path: &Path) -> (u32, u32) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let first = *img.get_pixel(0, 0);
    assert!(
        img.pixels().any(|p| *p != first),
        "{} is one colour",
        path.display()
    );
    img.dimensions()
}

#[test]
fn table_aggregates_seed_means_and_plots_are_drawn() {
    let p = Project::new();
    p.write("p.yaml", &tabled());
    let out = p.run(&["p.yaml", "--no-progress", "-j", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let dir = p.path().join("results/tiny");

    // Independent aggregation from summary.csv: per up-sampler, the mean and
    // population std over the two seeds of each cell's metric mean.
    let summary = csv_rows(&dir.join("summary.csv"));
    assert_eq!(summary.len(), 4);
    let table = csv_rows(&dir.join("table.csv"));
    assert_eq!(table.len(), 2);
    for (row, (value, shown)) in table.iter().zip([("convt", "ConvT"), ("n15", "n15")]) {
        assert_eq!(row["model.upsampler"], shown);
        assert_eq!(
            (&*row["cells"], &*row["done"], &*row["std_over"]),
            ("2", "2", "cells")
        );
        for metric in ["rmse_ai", "rmse_spatial"] {
            let means: Vec<f64> = summary
                .iter()
                .filter(|s| s["model.upsampler"] == value)
                .map(|s| s[&format!("{metric}_mean")].parse().unwrap())
                .collect();
            assert_eq!(means.len(), 2);
            let mean = (means[0] + means[1]) / 2.0;
            let std = (means[0] - means[1]).abs() / 2.0;
            let got_mean: f64 = row[&format!("{metric}_mean")].parse().unwrap();
            let got_std: f64 = row[&format!("{metric}_std")].parse().unwrap();
            assert!((got_mean - mean).abs() <= 1e-8 * mean.abs(), "{row:?}");
            assert!((got_std - std).abs() <= 1e-8 * mean.abs(), "{row:?}");
        }
        assert!(!row.contains_key("rmse_fft2_mean"), "only declared metrics");
    }
    let md = std::fs::read_to_string(dir.join("table.md")).unwrap();
    assert!(md.starts_with("# tiny\n"), "{md}");
    assert!(
        md.contains("| model.upsampler | rmse_ai | rmse_spatial |"),
        "{md}"
    );
    assert!(md.contains("| ConvT | ") && md.contains("| n15 | "), "{md}");
    assert!(md.contains("they differ in train.seed"), "{md}");

    // Pipeline plots: the spectrum with one legend entry per table row (its seeds
    // averaged), the curves.
    let (w, h) = check_png(&dir.join("spectrum.png"));
    assert_eq!((w, h), (900, 600));
    let svg = std::fs::read_to_string(dir.join("spectrum.svg")).unwrap();
    assert!(
        !svg.contains("train.seed=0"),
        "one curve per row, not per cell"
    );
    for label in [
        "real data",
        "ConvT (mean of 2 runs)",
        "n15 (mean of 2 runs)",
    ] {
        assert!(svg.contains(label), "{label} missing from spectrum.svg");
    }
    // TINY logs loss, bce, fft and kl: four panels, three per row.
    assert_eq!(check_png(&dir.join("curves.png")), (3 * 420, 2 * 320));
    // Its legend names each run by its table row, then the seed that tells the
    // runs of a row apart.
    let texts = svg_texts(&dir.join("curves.svg"));
    for row in &table {
        for seed in [0, 1] {
            let label = format!("{} (train.seed={seed})", row["model.upsampler"]);
            assert!(texts.contains(&label), "{label} not in {texts:?}");
        }
    }
    assert!(
        !texts.iter().any(|t| t.contains("model.upsampler=")),
        "{texts:?}"
    );

    // Every run has its own curves.
    let runs: Vec<_> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 4);
    for run in &runs {
        check_png(&run.join("curves.png"));
        assert!(run.join("curves.svg").is_file());
    }
}

#[test]
fn plots_name_cells_as_the_table_does_and_dash_weightless_terms() {
    let p = Project::new();
    // Every swept key a row: each run is one table row. At alpha 0 the
    // frequency term is logged but weighs nothing.
    let text = format!(
        "{TINY}sweep:\n  model.upsampler: [convt, n15]\n  loss.alpha: [0.0, 0.5]\n\
         report:\n  table:\n    rows: [loss.alpha, model.upsampler]\n    \
         labels: {{\"0.0\": Vanilla-VAE, \"0.5\": FFT, convt: ConvT, n15: N.1.5}}\n"
    );
    p.write("p.yaml", &text);
    let out = p.run(&["p.yaml", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let dir = p.path().join("results/tiny");
    let rows: Vec<String> = csv_rows(&dir.join("table.csv"))
        .iter()
        .map(|r| format!("{} / {}", r["loss.alpha"], r["model.upsampler"]))
        .collect();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.contains(&"Vanilla-VAE / N.1.5".to_string()),
        "{rows:?}"
    );
    // The curves' legend and the spectrum's name the runs exactly as the table.
    let curves = svg_texts(&dir.join("curves.svg"));
    let spectrum = svg_texts(&dir.join("spectrum.svg"));
    for row in &rows {
        assert_eq!(
            curves.iter().filter(|t| *t == row).count(),
            1,
            "{row}: {curves:?}"
        );
        assert!(spectrum.contains(row), "{row}: {spectrum:?}");
    }
    assert!(!curves.iter().any(|t| t.contains('=')), "{curves:?}");
    // Only the fft panel has dashed lines (the alpha 0 runs); every panel says on
    // its y axis what it plots.
    for text in [
        "fft (dashed: weight 0)",
        "bce",
        "loss",
        "kl",
        "bce term, unweighted",
        "fft term, unweighted",
    ] {
        assert!(curves.iter().any(|t| t == text), "{text} not in {curves:?}");
    }
    assert!(
        curves
            .iter()
            .any(|t| t.starts_with("objective Σ w·term + β·KL")),
        "{curves:?}"
    );
    assert!(
        curves
            .iter()
            .any(|t| t.starts_with("KL divergence, unweighted")),
        "{curves:?}"
    );
    // A run's own curves: its legend-less panels, dashed where it does not
    // optimise a term.
    let vanilla = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("curves.svg"))
        .filter(|p| p.is_file())
        .filter(|p| svg_texts(p).iter().any(|t| t == "fft (dashed: weight 0)"))
        .count();
    assert_eq!(vanilla, 2, "the two alpha 0 runs");
}

#[test]
fn a_plot_that_cannot_be_drawn_is_a_warning() {
    let p = Project::new();
    let text = format!("{TINY}sweep:\n  model.upsampler: [convt, n15]\n");
    p.write("p.yaml", &text);
    assert_eq!(p.run(&["p.yaml", "--no-progress"]).status.code(), Some(0));
    // A folder where the spectrum figure goes: it cannot be written. Then
    // change only the report (a table).
    let figure = p.path().join("results/tiny/spectrum.png");
    std::fs::remove_file(&figure).unwrap();
    std::fs::create_dir(&figure).unwrap();
    p.write(
        "p.yaml",
        &format!("{text}report: {{table: {{rows: [model.upsampler]}}}}\n"),
    );
    let out = p.run(&["p.yaml", "--no-progress"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("1 ran"), "only the report reruns: {err}");
    assert!(err.contains("warning: plot"), "{err}");
    assert!(err.contains("spectrum"), "{err}");
    assert!(p.path().join("results/tiny/table.md").is_file());
    assert!(p.path().join("results/tiny/.report/DONE").is_file());
}

#[test]
fn without_prior_samples_the_sample_columns_are_empty() {
    let p = Project::new();
    p.write(
        "p.yaml",
        &TINY.replace("eval: {images: 8}", "eval: {images: 8, samples: 0}"),
    );
    let out = p.run(&["p.yaml", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let eval = std::fs::read_dir(p.path().join("results/tiny/runs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("eval"))
        .find(|e| e.is_dir())
        .unwrap();
    // The eval directory (its `.lock` file lies beside it).
    let eval = std::fs::read_dir(eval)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|e| e.is_dir())
        .unwrap();
    let rows = csv_rows(&eval.join("spectrum.csv"));
    assert_eq!(rows.len(), 20);
    for row in &rows {
        assert_eq!((&*row["sample_mean"], &*row["sample_std"]), ("", ""));
        let bin: f64 = row["bin"].parse().unwrap();
        let frequency: f64 = row["frequency"].parse().unwrap();
        assert!((frequency - bin / 32.0).abs() < 1e-12, "{row:?}");
    }
    assert!(!eval.join("samples.png").exists());
    assert!(eval.join("recon.png").is_file());
    // No table declared: none written.
    assert!(!p.path().join("results/tiny/table.csv").exists());
}
