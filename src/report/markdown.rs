//! Markdown tables, shared by the paper tables (table.md) and `runner diff --format
//! markdown`.

use std::fmt::Write as _;

/// A Markdown table from rows (header first); `|` in cells is escaped.
pub fn markdown_table(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
        if i == 0 {
            let _ = writeln!(out, "|{}", "---|".repeat(row.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_separator_rows_and_escaped_pipes() {
        let rows = vec![
            vec!["a".to_string(), "b|c".to_string()],
            vec!["1".to_string(), "2".to_string()],
        ];
        assert_eq!(
            markdown_table(&rows),
            "| a | b\\|c |\n|---|---|\n| 1 | 2 |\n"
        );
    }
}
