//! Renders a [`DiffReport`] as an aligned terminal table, Markdown, CSV or JSON.

use std::fmt::Write as _;

use anyhow::Result;

use super::diff::{Change, DiffReport};
use super::text::aligned;
use crate::report::markdown::markdown_table;

/// Output format of `runner diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Aligned text for the terminal.
    Table,
    /// Markdown tables.
    Markdown,
    /// One CSV row per change (the summary line goes to stderr).
    Csv,
    /// The whole report as JSON.
    Json,
}

/// Δ as text ("" when not numeric).
fn delta_text(c: &Change) -> String {
    c.delta.map_or(String::new(), |d| format!("{d:+.4e}"))
}

/// Δ% as text ("" when not numeric or old is 0).
fn pct_text(c: &Change) -> String {
    c.delta_pct.map_or(String::new(), |p| {
        if p == 0.0 || p.abs() >= 0.01 {
            format!("{p:+.2}%")
        } else {
            format!("{p:+.2e}%")
        }
    })
}

/// The rows of the changed-values table (header first).
fn change_rows(report: &DiffReport, changes: &[Change]) -> Vec<Vec<String>> {
    let mut rows = vec![["row", "column", "old", "new", "Δ", "Δ%"]
        .map(str::to_string)
        .to_vec()];
    for c in changes {
        rows.push(vec![
            report.row_text(&c.key),
            c.column.clone(),
            c.old.clone(),
            c.new.clone(),
            delta_text(c),
            pct_text(c),
        ]);
    }
    rows
}

/// Aligned text for the terminal.
fn as_table(report: &DiffReport) -> String {
    let mut out = format!("A: {}\nB: {}\n", report.a, report.b);
    if !report.changed.is_empty() {
        let _ = writeln!(out, "changed ({}):", report.changed.len());
        out.push_str(&aligned(&change_rows(report, &report.changed), "  "));
    }
    for (side, keys) in [("A", &report.only_in_a), ("B", &report.only_in_b)] {
        if !keys.is_empty() {
            let _ = writeln!(out, "only in {side} ({}):", keys.len());
            for key in keys {
                let _ = writeln!(out, "  {}", report.row_text(key));
            }
        }
    }
    for c in &report.key_changes {
        let _ = writeln!(
            out,
            "note: {} changed for {}: {} -> {}",
            c.column,
            report.row_text(&c.key),
            c.old,
            c.new
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out.push_str(&report.summary_line());
    out.push('\n');
    out
}

/// Markdown: a changes table, lists of one-sided rows, notes, summary.
fn as_markdown(report: &DiffReport) -> String {
    let mut out = format!("A: `{}`  \nB: `{}`\n\n", report.a, report.b);
    if !report.changed.is_empty() {
        out.push_str(&markdown_table(&change_rows(report, &report.changed)));
        out.push('\n');
    }
    for (side, keys) in [("A", &report.only_in_a), ("B", &report.only_in_b)] {
        if !keys.is_empty() {
            let _ = writeln!(out, "Only in {side}:\n");
            for key in keys {
                let _ = writeln!(out, "- {}", report.row_text(key));
            }
            out.push('\n');
        }
    }
    for c in &report.key_changes {
        let _ = writeln!(
            out,
            "- note: `{}` changed for {}: `{}` → `{}`",
            c.column,
            report.row_text(&c.key),
            c.old,
            c.new
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "- note: {note}");
    }
    let _ = writeln!(out, "\n{}", report.summary_line());
    out
}

/// CSV: `change,row,column,old,new,delta,delta_pct`, one line per change,
/// one-sided row and node-key change.
fn as_csv(report: &DiffReport) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "change",
        "row",
        "column",
        "old",
        "new",
        "delta",
        "delta_pct",
    ])?;
    let number = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    for (what, changes) in [
        ("changed", &report.changed),
        ("key_changed", &report.key_changes),
    ] {
        for c in changes {
            writer.write_record([
                what.to_string(),
                report.row_text(&c.key),
                c.column.clone(),
                c.old.clone(),
                c.new.clone(),
                number(c.delta),
                number(c.delta_pct),
            ])?;
        }
    }
    for (what, keys) in [
        ("only_in_a", &report.only_in_a),
        ("only_in_b", &report.only_in_b),
    ] {
        for key in keys {
            writer.write_record([what, &report.row_text(key), "", "", "", "", ""])?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Renders `report` in `format`. The CSV form leaves out the summary line (the
/// caller prints it to stderr) so that stdout stays one CSV table.
pub fn render(report: &DiffReport, format: DiffFormat) -> Result<String> {
    Ok(match format {
        DiffFormat::Table => as_table(report),
        DiffFormat::Markdown => as_markdown(report),
        DiffFormat::Csv => as_csv(report)?,
        DiffFormat::Json => {
            let mut value = serde_json::to_value(report)?;
            if let Some(map) = value.as_object_mut() {
                map.insert("differs".into(), report.differs().into());
                map.insert("summary".into(), report.summary_line().into());
            }
            let mut text = serde_json::to_string_pretty(&value)?;
            text.push('\n');
            text
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::inspect::diff::{diff_tables, DiffOptions};
    use crate::inspect::table::Table;

    fn report() -> DiffReport {
        let header = "seed,status,dataset_key,train_key,eval_key,rmse_mean,rmse_std\n";
        let a = Table::parse(
            Path::new("a.csv"),
            format!("{header}0,done,d,t0,e0,2.0,0.1\n1,done,d,t1,e1,3.0,NaN\n2,done,d,t2,e2,1,1\n")
                .as_bytes(),
        )
        .unwrap();
        let b = Table::parse(
            Path::new("b.csv"),
            format!("{header}0,done,d,t0b,e0b,2.5,0.1\n1,failed,d,t1,e1,3.0,NaN\n").as_bytes(),
        )
        .unwrap();
        diff_tables(&a, &b, &DiffOptions::default()).unwrap()
    }

    #[test]
    fn json_parses_and_carries_the_changes() {
        let text = render(&report(), DiffFormat::Json).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["differs"], true);
        assert_eq!(v["changed"].as_array().unwrap().len(), 2);
        assert_eq!(v["changed"][0]["column"], "rmse_mean");
        assert_eq!(v["changed"][0]["delta"], 0.5);
        assert_eq!(v["changed"][1]["column"], "status");
        assert_eq!(v["changed"][1]["delta"], serde_json::Value::Null);
        assert_eq!(v["only_in_a"][0][0], "2");
        assert_eq!(v["key_changes"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn csv_parses_with_one_record_per_item() {
        let text = render(&report(), DiffFormat::Csv).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            headers,
            [
                "change",
                "row",
                "column",
                "old",
                "new",
                "delta",
                "delta_pct"
            ]
        );
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        // 2 changed + 2 key changes (train_key, eval_key of seed 0) + 1 only in A.
        assert_eq!(records.len(), 5);
        assert_eq!(&records[0][0], "changed");
        assert_eq!(&records[0][2], "rmse_mean");
        assert_eq!(records[0][5].parse::<f64>().unwrap(), 0.5);
        assert_eq!(records[0][6].parse::<f64>().unwrap(), 25.0);
        assert_eq!(&records[4][0], "only_in_a");
        assert_eq!(&records[4][1], "2");
    }

    #[test]
    fn table_and_markdown_show_every_section() {
        let table = render(&report(), DiffFormat::Table).unwrap();
        assert!(table.contains("changed (2):"), "{table}");
        assert!(table.contains("only in A (1):"), "{table}");
        assert!(
            table.contains("note: train_key changed for 0: t0 -> t0b"),
            "{table}"
        );
        assert!(
            table.contains("+5.0000e-1") && table.contains("+25.00%"),
            "{table}"
        );
        assert!(table.trim_end().ends_with("rtol 1e-6, atol 0)"), "{table}");
        let md = render(&report(), DiffFormat::Markdown).unwrap();
        let header = md.lines().find(|l| l.starts_with("| row")).unwrap();
        assert_eq!(header, "| row | column | old | new | Δ | Δ% |");
        assert!(md.contains("|---|---|---|---|---|---|"), "{md}");
        assert!(md.contains("| 1 | status | done | failed |  |  |"), "{md}");
        assert!(md.contains("Only in A:\n\n- 2"), "{md}");
    }
}
