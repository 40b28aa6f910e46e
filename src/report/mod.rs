//! The report node: result tables and plots written from finished nodes.

pub mod figure;
pub mod fonts;
pub mod grid;
pub mod markdown;
pub mod node;
pub mod plot_curves;
pub mod plot_spectrum;
pub mod summary;
pub mod table;

pub use node::write_report;

/// Version of the report (tables and plots).
/// Part of the report node's key: bump it when a change alters what it writes
/// (see `crate::code_version`). 2: curves with y-axis labels, log axes, dashed
/// weight-0 terms and the table's labels in the legend.
pub const VERSION: u32 = 2;
