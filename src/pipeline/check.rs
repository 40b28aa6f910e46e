//! Small range checks shared by the resolver and the components' own option
//! checks; each returns the [`ConfigIssue`] at the value's key path.

use super::schema::ConfigIssue;

/// Checks that `value` is finite and > 0.
pub fn positive(value: f64, path: &str) -> Result<(), ConfigIssue> {
    require(value.is_finite() && value > 0.0, path, || {
        format!("{path} must be > 0, got {value}")
    })
}

/// Checks that `value` is finite and >= 0.
pub fn non_negative(value: f64, path: &str) -> Result<(), ConfigIssue> {
    require(value.is_finite() && value >= 0.0, path, || {
        format!("{path} must be >= 0, got {value}")
    })
}

/// An issue at `path` with `message()` unless `ok`.
pub fn require(ok: bool, path: &str, message: impl FnOnce() -> String) -> Result<(), ConfigIssue> {
    if ok {
        Ok(())
    } else {
        Err(ConfigIssue::new(path, message()))
    }
}
