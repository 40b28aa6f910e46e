//! The pipeline file's JSON Schema, for editors (`runner schema`, committed as
//! `docs/pipeline.schema.json`).
//!
//! It is derived with `schemars` from the same types serde reads the file into,
//! so it follows them: doc comments become descriptions, `deny_unknown_fields`
//! becomes `additionalProperties: false`, defaults are those of the `Default`
//! impls. Three parts are written by hand because their serde is: registry names
//! (metrics, up-samplers; `named.rs`), `dataset:` (`dataset.rs`) and `train.device`.
//!
//! Draft 7 is used because it is the draft editors' YAML plug-ins know best.
//! The schema checks the shape of a file; the ranges and rules between keys
//! (`latent >= 1`, a term that needs grey images, ...) stay with the loader
//! (`runner config`, `--dry-run`).

use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};

use super::schema::Pipeline;

/// The JSON Schema (draft 7) of a pipeline file.
pub fn pipeline_schema() -> Schema {
    let mut schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Pipeline>();
    schema.insert("title".into(), "runner pipeline file".into());
    schema
}

/// [`pipeline_schema`] as pretty-printed JSON with a final newline: what
/// `runner schema` prints and `docs/pipeline.schema.json` holds.
pub fn pipeline_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&pipeline_schema())
        .expect("a schema is plain JSON and always serialises");
    text.push('\n');
    text
}

/// The `sweep:` block: a mapping of dotted key path to a non-empty list of
/// distinct values (what `sweep::block_axes` accepts). The values are not
/// checked against the swept key's type here; the loader does that per cell.
pub fn sweep(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "description": "Sweep grid: dotted key path -> the values it takes, e.g. `model.upsampler: [convt, n15]`. Each combination is one cell.",
        "type": ["object", "null"],
        "propertyNames": {"pattern": "^[^.=\\s]+(\\.[^.=\\s]+)*$"},
        "additionalProperties": {"type": "array", "minItems": 1, "uniqueItems": true},
    })
}
