//! The pipeline file's JSON Schema: `docs/pipeline.schema.json` is what
//! `runner schema` prints, every shipped pipeline names it and passes it, and it
//! rejects what runner rejects for its shape (unknown keys, unknown names).

mod common;

use std::path::{Path, PathBuf};

use common::{assert_generated_doc, repo, stderr, stdout, yaml_files, Project};
use serde_json::Value;

/// The first line every shipped pipeline starts with, up to the schema's path.
const MODELINE: &str = "# yaml-language-server: $schema=";

fn schema() -> Value {
    runner::pipeline::json_schema::pipeline_schema().to_value()
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft7::new(&schema()).expect("the generated schema is a valid draft-7 schema")
}

/// A YAML file as the JSON value the validator sees, read as runner reads it
/// (YAML 1.2 booleans, as editors' YAML servers).
fn yaml_value(text: &str) -> Value {
    serde_saphyr::from_str_with_options(text, runner::pipeline::overrides::yaml_options())
        .expect("test YAML parses")
}

/// The validator's messages for `instance` (empty when it is valid).
fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect()
}

/// Every shipped pipeline (`common::shipped_pipelines`), at least the ten known.
fn shipped_pipelines() -> Vec<PathBuf> {
    let files = common::shipped_pipelines();
    assert!(files.len() >= 10, "found only {files:?}");
    files
}

#[test]
fn docs_schema_is_what_runner_schema_prints() {
    let p = Project::new();
    let out = p.run(&["schema"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stdout(&out);
    assert_eq!(
        printed,
        runner::pipeline::json_schema::pipeline_schema_text()
    );
    assert_generated_doc("docs/pipeline.schema.json", &printed, "pipeline_schema");
}

#[test]
fn every_shipped_pipeline_names_the_schema_on_its_first_line() {
    let schema_file = repo().join("docs/pipeline.schema.json");
    for file in shipped_pipelines() {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or("");
        let relative = first.strip_prefix(MODELINE).unwrap_or_else(|| {
            panic!(
                "{}: the first line must be `{MODELINE}<path to docs/pipeline.schema.json>`",
                file.display()
            )
        });
        let target = file.parent().unwrap().join(relative.trim());
        assert!(
            same_file(&target, &schema_file),
            "{}: {relative} is not docs/pipeline.schema.json",
            file.display()
        );
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The shipped pipelines and the test pipelines that cover every dataset and
/// every loss term all pass the schema, and runner reads each of them.
#[test]
fn shipped_and_test_pipelines_pass_the_schema() {
    let validator = validator();
    let mut files = shipped_pipelines();
    files.extend(yaml_files(&repo().join("tests/keys")));
    files.extend(yaml_files(&repo().join("reference")));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let errors = schema_errors(&validator, &yaml_value(&text));
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

/// Small files, each valid or not, where the schema and runner must agree.
/// Each is judged by the schema and by runner's loader (`runner config`).
#[test]
fn schema_and_runner_agree_on_keys_and_names() {
    let base = "dataset: {name: shapes, size: 32}\n";
    let cases: &[(&str, String, bool)] = &[
        ("minimal", base.to_string(), true),
        (
            "every section",
            format!(
                "{base}name: x\ndescription: y\nmodel: {{arch: irmae_shape, latent: 16, upsampler: n15, replace: output, init: keras}}\n\
                 train: {{epochs: 1, batch: 4, seed: 3, device: 'cuda:1', optimizer: {{adam: {{lr: 0.001}}}}, lr_schedule: {{triangular2: {{min_lr: 0.0001, max_lr: 0.001, step_size: 10}}}}}}\n\
                 loss: {{alpha: 0.5, kl: {{beta: 1.0, convention: sum_half}}, terms: [{{bce: {{}}}}, {{fft: {{weight: 2}}}}]}}\n\
                 eval: {{images: 4, metrics: [rmse_ai, psnr], reconstruct: sample, samples: 0}}\n\
                 report: {{table: {{rows: [train.seed], labels: {{'0': first}}}}}}\n\
                 sweep: {{train.seed: [0, 1]}}\n"
            ),
            true,
        ),
        ("unknown top-level key", format!("{base}modle: {{}}\n"), false),
        ("unknown model key", format!("{base}model: {{upsamplr: n15}}\n"), false),
        ("unknown up-sampler", format!("{base}model: {{upsampler: n99}}\n"), false),
        ("unknown metric", format!("{base}eval: {{metrics: [rmse_aii]}}\n"), false),
        ("unknown loss term", format!("{base}loss: {{terms: [{{fftt: {{}}}}]}}\n"), false),
        (
            "unknown option of a term",
            format!("{base}loss: {{terms: [{{fft: {{norm: ortho, wieght: 1}}}}]}}\n"),
            false,
        ),
        ("unknown dataset", "dataset: {name: svhn}\n".to_string(), false),
        ("no dataset", "model: {arch: auto}\n".to_string(), false),
        (
            "an option of another dataset",
            "dataset: {name: shapes, binarize: true}\n".to_string(),
            false,
        ),
        (
            "that option on its own dataset",
            "dataset: {name: mnist, root: data/mnist, binarize: true}\n".to_string(),
            true,
        ),
        ("bad device", format!("{base}train: {{device: gpu}}\n"), false),
        ("text for a number", format!("{base}train: {{epochs: many}}\n"), false),
        ("empty sweep list", format!("{base}sweep: {{train.seed: []}}\n"), false),
        ("sweep value twice", format!("{base}sweep: {{train.seed: [1, 1]}}\n"), false),
    ];
    let validator = validator();
    let p = Project::new();
    for (what, text, valid) in cases {
        let errors = schema_errors(&validator, &yaml_value(text));
        assert_eq!(errors.is_empty(), *valid, "{what}: schema said {errors:#?}");
        let file = p.write("case.yaml", text);
        let out = p.run(&["config", file.to_str().unwrap()]);
        let expected = if *valid { 0 } else { 2 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{what}: runner config said {}",
            stderr(&out)
        );
    }
}
