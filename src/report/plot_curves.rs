//! Training curves from train_log.csv: one panel per logged quantity (the total
//! loss, each loss term, the KL term) against the step, one line per run.
//!
//! Drawn by the report node from the files on disk rather than by the train node,
//! so a plotting problem can never fail (or slow down) a training run.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure::{
    draw_labelled_line, draw_series_legend, padded, plot_error, series_color, Figure, GRID_LIGHT,
};
use super::fonts::FAMILY;

/// train_log.csv columns that are not curves of the loss.
const NOT_CURVES: [&str; 4] = ["epoch", "step", "lr", "wall_s"];

/// A parsed train_log.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainLog {
    /// The `step` column.
    pub steps: Vec<f64>,
    /// (column name, values) for each loss column (`loss`, the terms, `kl`), in
    /// file order.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl TrainLog {
    /// Parses the text of a train_log.csv (header `epoch,step,loss,...`).
    pub fn parse(text: &str) -> Result<TrainLog> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
        let step_at = header
            .iter()
            .position(|h| *h == "step")
            .ok_or_else(|| anyhow!("no `step` column"))?;
        let curve_at: Vec<usize> = (0..header.len())
            .filter(|&i| !NOT_CURVES.contains(&header[i]))
            .collect();
        let mut log = TrainLog {
            steps: Vec::new(),
            columns: curve_at
                .iter()
                .map(|&i| (header[i].to_string(), Vec::new()))
                .collect(),
        };
        for (n, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != header.len() {
                return Err(anyhow!(
                    "line {}: {} fields, header has {}",
                    n + 2,
                    fields.len(),
                    header.len()
                ));
            }
            let number = |i: usize| -> Result<f64> {
                fields[i]
                    .parse()
                    .map_err(|_| anyhow!("line {}: bad number {:?}", n + 2, fields[i]))
            };
            log.steps.push(number(step_at)?);
            for (slot, &i) in curve_at.iter().enumerate() {
                log.columns[slot].1.push(number(i)?);
            }
        }
        Ok(log)
    }

    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<TrainLog> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        TrainLog::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// One line of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveLine {
    /// Index of the run in the figure (picks its colour in every panel).
    pub run: usize,
    /// Legend text (the run's label).
    pub label: String,
    /// (step, value) points.
    pub points: Vec<(f64, f64)>,
}

/// One panel: a logged quantity of every run.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePanel {
    /// Column name (`loss`, `bce`, `kl`, ...).
    pub title: String,
    /// One line per run that logged this column.
    pub lines: Vec<CurveLine>,
}

/// Panels for the columns of all `runs` ((label, log) pairs), in order of first
/// appearance; each panel has a line for every run that has that column.
pub fn curve_panels(runs: &[(String, TrainLog)]) -> Vec<CurvePanel> {
    let mut panels: Vec<CurvePanel> = Vec::new();
    for (run, (label, log)) in runs.iter().enumerate() {
        for (name, values) in &log.columns {
            let line = CurveLine {
                run,
                label: label.clone(),
                points: log
                    .steps
                    .iter()
                    .copied()
                    .zip(values.iter().copied())
                    .filter(|(_, v)| v.is_finite())
                    .collect(),
            };
            match panels.iter_mut().find(|p| &p.title == name) {
                Some(panel) => panel.lines.push(line),
                None => panels.push(CurvePanel {
                    title: name.clone(),
                    lines: vec![line],
                }),
            }
        }
    }
    panels
}

/// A grid of panels; with several runs, a legend in the first free grid slot (or,
/// when the grid is full, inside the first panel).
pub struct CurvesFigure {
    /// The panels, row by row.
    pub panels: Vec<CurvePanel>,
}

impl CurvesFigure {
    /// Panels per row.
    fn columns(&self) -> usize {
        self.panels.len().clamp(1, 3)
    }

    /// (label, run index) of every run, in run order.
    fn runs(&self) -> Vec<(String, usize)> {
        let mut runs: Vec<(String, usize)> = Vec::new();
        for line in self.panels.iter().flat_map(|p| &p.lines) {
            if !runs.iter().any(|(_, r)| *r == line.run) {
                runs.push((line.label.clone(), line.run));
            }
        }
        runs.sort_by_key(|(_, r)| *r);
        runs
    }
}

/// Draws a legend of `runs` (label, run index) at the top left of `area`.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    runs: &[(String, usize)],
) -> Result<()> {
    let style = TextStyle::from((FAMILY, 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, run)) in runs.iter().enumerate() {
        let y = 40 + 24 * i as i32;
        let color = series_color(*run);
        area.draw(&PathElement::new(
            vec![(30, y), (60, y)],
            color.stroke_width(3),
        ))
        .map_err(plot_error)?;
        area.draw(&Text::new(label.clone(), (70, y), style.clone()))
            .map_err(plot_error)?;
    }
    Ok(())
}

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns();
        let rows = self.panels.len().div_ceil(columns).max(1);
        (420 * columns as u32, 320 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let columns = self.columns();
        let rows = self.panels.len().div_ceil(columns).max(1);
        let areas = root.split_evenly((rows, columns));
        let runs = self.runs();
        let legend_slot = areas.get(self.panels.len()).filter(|_| runs.len() > 1);
        if let Some(slot) = legend_slot {
            draw_legend(slot, &runs)?;
        }
        for (p, (panel, area)) in self.panels.iter().zip(&areas).enumerate() {
            let xs = || {
                panel
                    .lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|p| p.0))
            };
            let ys = || {
                panel
                    .lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|p| p.1))
            };
            let (x0, x1) = padded(
                xs().fold(f64::INFINITY, f64::min),
                xs().fold(f64::NEG_INFINITY, f64::max),
            );
            let (y0, y1) = padded(
                ys().fold(f64::INFINITY, f64::min),
                ys().fold(f64::NEG_INFINITY, f64::max),
            );
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, (FAMILY, 18))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .light_line_style(GRID_LIGHT)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .x_desc("step")
                .label_style((FAMILY, 12))
                .axis_desc_style((FAMILY, 13))
                .draw()
                .map_err(plot_error)?;
            for line in &panel.lines {
                let color = series_color(line.run);
                draw_labelled_line(&mut chart, line.points.clone(), color, &line.label)?;
            }
            if p == 0 && runs.len() > 1 && legend_slot.is_none() {
                draw_series_legend(&mut chart, 12)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "epoch,step,loss,bce,fft,kl,lr,wall_s\n\
                       0,10,3.5,0.7,6.0,0.1,0.0001,1.0\n\
                       0,20,2.5,0.6,4.0,0.2,0.0001,2.0\n";

    #[test]
    fn parse_keeps_steps_and_loss_columns() {
        let log = TrainLog::parse(LOG).unwrap();
        assert_eq!(log.steps, [10.0, 20.0]);
        let names: Vec<&str> = log.columns.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["loss", "bce", "fft", "kl"]);
        assert_eq!(log.columns[2].1, [6.0, 4.0]);
        assert!(TrainLog::parse("epoch,loss\n0,1\n").is_err());
        assert!(TrainLog::parse("epoch,step,loss\n0,10\n").is_err());
        assert!(TrainLog::parse("epoch,step,loss\n0,10,x\n").is_err());
    }

    #[test]
    fn panels_gather_each_column_over_runs() {
        let a = TrainLog::parse(LOG).unwrap();
        let b =
            TrainLog::parse("epoch,step,loss,bce,kl,lr,wall_s\n0,10,0.9,0.8,0.1,0.1,1\n").unwrap();
        let panels = curve_panels(&[("a".into(), a), ("b".into(), b)]);
        let titles: Vec<&str> = panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["loss", "bce", "fft", "kl"]);
        assert_eq!(panels[0].lines.len(), 2);
        assert_eq!(panels[0].lines[0].points, [(10.0, 3.5), (20.0, 2.5)]);
        assert_eq!(
            (panels[0].lines[1].label.as_str(), panels[0].lines[1].run),
            ("b", 1)
        );
        assert_eq!(panels[0].lines[1].points, [(10.0, 0.9)]);
        // Only run a has an fft term.
        assert_eq!(panels[2].lines.len(), 1);
        assert_eq!(
            (panels[2].lines[0].label.as_str(), panels[2].lines[0].run),
            ("a", 0)
        );
    }

    #[test]
    fn figure_has_one_panel_per_column() {
        let dir = tempfile::tempdir().unwrap();
        let log = TrainLog::parse(LOG).unwrap();
        let figure = CurvesFigure {
            panels: curve_panels(&[("seed=0".into(), log.clone()), ("seed=1".into(), log)]),
        };
        // Four panels: three per row, two rows.
        assert_eq!(figure.size(), (3 * 420, 2 * 320));
        crate::report::figure::save_figure(&figure, &dir.path().join("curves")).unwrap();
        let png = image::open(dir.path().join("curves.png"))
            .unwrap()
            .to_rgb8();
        assert_eq!(png.dimensions(), figure.size());
        assert!(png.pixels().any(|p| p.0 == [0, 0, 0]));
        assert!(png.pixels().any(|p| p.0 == [255, 255, 255]));
        let svg = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
        let texts = crate::report::figure::svg_texts(&svg);
        for text in ["loss", "bce", "fft", "kl", "seed=0", "seed=1", "step"] {
            assert!(texts.iter().any(|t| t == text), "{text} not in {texts:?}");
        }
    }
}
