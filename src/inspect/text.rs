//! Plain-text helpers shared by the inspection commands: aligned columns, byte
//! sizes and short numbers.

use std::fmt::Write as _;

/// Rows of cells as left-aligned columns separated by two spaces, each line
/// indented by `indent` (widths count characters, not bytes, so `Δ` aligns).
pub fn aligned(rows: &[Vec<String>], indent: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `n` and `word`, plural unless `n` is 1 (`1 node`, `3 nodes`).
pub fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A byte count as `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A number with about five significant digits: plain between 1e-3 and 1e5,
/// scientific otherwise.
pub fn short_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs();
    if (1e-3..1e5).contains(&magnitude) {
        let decimals = (4 - magnitude.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.4e}")
    }
}

/// A text field shown as a short number when it parses as one.
pub fn short_field(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(x) => short_number(x),
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_by_characters() {
        let rows = vec![
            vec!["Δ".to_string(), "x".to_string()],
            vec!["abc".to_string(), "y".to_string()],
        ];
        assert_eq!(aligned(&rows, "  "), "  Δ    x\n  abc  y\n");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(0.123456789), "0.12346");
        assert_eq!(short_number(12.3456789), "12.346");
        assert_eq!(short_number(-2.5e-7), "-2.5000e-7");
        assert_eq!(short_number(123456.0), "1.2346e5");
        assert_eq!(short_number(f64::NAN), "NaN");
        assert_eq!(short_field("done"), "done");
    }
}
