//! `runner schema`: prints the pipeline file's JSON Schema for editors.

use std::io::Write;

use super::{EXIT_FAILED, EXIT_OK};
use crate::pipeline::json_schema::pipeline_schema_text;

/// Prints the JSON Schema (draft 7) of pipeline files to stdout.
pub fn schema() -> i32 {
    match std::io::stdout().write_all(pipeline_schema_text().as_bytes()) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: could not write the schema: {e}");
            EXIT_FAILED
        }
    }
}
