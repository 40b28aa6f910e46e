//! Training curves from train_log.csv: one panel per logged quantity (the total
//! loss, each loss term, the KL term) against the step, one line per run.
//!
//! Drawn by the report node from the files on disk rather than by the train node,
//! so a plotting problem can never fail (or slow down) a training run.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figure::{
    draw_labelled_line, draw_series_legend, padded, plot_error, series_color, Figure, GRID_LIGHT,
};
use super::fonts::FAMILY;
use crate::pipeline::schema::LossConfig;

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

/// What the curves figure draws of one training run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCurves {
    /// Legend text (the run's label, as the table and the spectrum name it).
    pub label: String,
    /// Its train_log.csv.
    pub log: TrainLog,
    /// Logged columns that are not part of this run's objective (a term of
    /// weight 0, e.g. the frequency term at `loss.alpha: 0`, or `kl` at β = 0):
    /// drawn dashed.
    pub unweighted: Vec<String>,
}

/// The train_log.csv columns of a run with loss `cfg` that are logged but weigh
/// nothing in its objective: every term whose effective weight is 0 (at
/// `loss.alpha: 0`, each frequency term) and `kl` when β is 0.
pub fn unweighted_columns(cfg: &LossConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for term in &cfg.terms {
        let name = term.name();
        // A name logged twice counts as weighted when any of its terms is.
        let weightless = (0..cfg.terms.len())
            .filter(|&j| cfg.terms[j].name() == name)
            .all(|j| cfg.effective_weight(j) == 0.0);
        if weightless && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    if cfg.kl.beta == 0.0 {
        out.push("kl".to_string());
    }
    out
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
    /// The column weighs nothing in this run's objective: drawn dashed.
    pub unweighted: bool,
}

/// One panel: a logged quantity of every run.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePanel {
    /// Column name (`loss`, `bce`, `kl`, ...).
    pub title: String,
    /// One line per run that logged this column.
    pub lines: Vec<CurveLine>,
}

impl CurvePanel {
    /// What the panel's values are, for its y axis: the total objective, or a
    /// term (or KL) before its weight.
    pub fn y_label(&self) -> String {
        match self.title.as_str() {
            "loss" => "objective Σ w·term + β·KL".to_string(),
            "kl" => "KL divergence, unweighted".to_string(),
            term => format!("{term} term, unweighted"),
        }
    }

    /// Whether the y axis is logarithmic: when every value is positive and they
    /// span more than [`LOG_SPAN`] (runs whose objectives differ by orders of
    /// magnitude, e.g. `loss.alpha` 0 next to 0.5 with a large frequency term,
    /// would otherwise lie flat on the axis, over each other).
    pub fn log_scale(&self) -> bool {
        let values = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        lo > 0.0 && hi.is_finite() && hi / lo > LOG_SPAN
    }

    /// The caption: the column name, and what dashed lines mean when it has any.
    pub fn caption(&self) -> String {
        if self.lines.iter().any(|l| l.unweighted) {
            format!("{} (dashed: weight 0)", self.title)
        } else {
            self.title.clone()
        }
    }
}

/// Largest ratio of a panel's largest to smallest value drawn on a linear axis.
pub const LOG_SPAN: f64 = 30.0;

/// Panels for the columns of all `runs`, in order of first appearance; each
/// panel has a line for every run that has that column (a run without a term
/// has no line in its panel).
pub fn curve_panels(runs: &[RunCurves]) -> Vec<CurvePanel> {
    let mut panels: Vec<CurvePanel> = Vec::new();
    for (run, curves) in runs.iter().enumerate() {
        let log = &curves.log;
        for (name, values) in &log.columns {
            let line = CurveLine {
                run,
                label: curves.label.clone(),
                points: log
                    .steps
                    .iter()
                    .copied()
                    .zip(values.iter().copied())
                    .filter(|(_, v)| v.is_finite())
                    .collect(),
                unweighted: curves.unweighted.contains(name),
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
    pub fn runs(&self) -> Vec<(String, usize)> {
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

/// Draws a legend of `runs` (label, run index) at the top left of `area`, its
/// rows closer together when many runs would not fit.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    runs: &[(String, usize)],
) -> Result<()> {
    let (_, height) = area.dim_in_pixel();
    let fit = (height as i32 - 50) / runs.len().max(1) as i32;
    let spacing = fit.clamp(12, 24);
    let size = (spacing - 6).clamp(10, 14);
    let style = TextStyle::from((FAMILY, size).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, run)) in runs.iter().enumerate() {
        let y = 30 + spacing * i as i32;
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

/// A tick value in few characters: up to 3 significant digits, scientific
/// notation outside [0.001, 100000).
fn tick_text(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        return "0".into();
    }
    if !(0.001..100_000.0).contains(&a) {
        return format!("{v:.1e}").replace(".0e", "e");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Draws `panel` on `area` with x range `x` and y axis `y` (linear or log);
/// `legend`: the run legend goes inside this panel.
fn draw_panel<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    panel: &CurvePanel,
    x: (f64, f64),
    y: Y,
    legend: bool,
) -> Result<()>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let y_desc = if panel.log_scale() {
        format!("{} (log)", panel.y_label())
    } else {
        panel.y_label()
    };
    let mut chart = ChartBuilder::on(area)
        .caption(panel.caption(), (FAMILY, 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(x.0..x.1, y)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(GRID_LIGHT)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| tick_text(*y))
        .x_desc("step")
        .y_desc(y_desc)
        .label_style((FAMILY, 12))
        .axis_desc_style((FAMILY, 13))
        .draw()
        .map_err(plot_error)?;
    for line in &panel.lines {
        let color = series_color(line.run);
        draw_labelled_line(
            &mut chart,
            line.points.clone(),
            color,
            &line.label,
            line.unweighted,
        )?;
    }
    if legend {
        draw_series_legend(&mut chart, 12)?;
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
            let x = padded(
                xs().fold(f64::INFINITY, f64::min),
                xs().fold(f64::NEG_INFINITY, f64::max),
            );
            let (lo, hi) = (
                ys().fold(f64::INFINITY, f64::min),
                ys().fold(f64::NEG_INFINITY, f64::max),
            );
            let legend = p == 0 && runs.len() > 1 && legend_slot.is_none();
            if panel.log_scale() {
                // 5% of the span on each side, in log space.
                let pad = (hi / lo).powf(0.05);
                draw_panel(area, panel, x, (lo / pad..hi * pad).log_scale(), legend)?;
            } else {
                let (y0, y1) = padded(lo, hi);
                draw_panel(area, panel, x, y0..y1, legend)?;
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

    fn run(label: &str, log: TrainLog, unweighted: &[&str]) -> RunCurves {
        RunCurves {
            label: label.into(),
            log,
            unweighted: unweighted.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn panels_gather_each_column_over_runs() {
        let a = TrainLog::parse(LOG).unwrap();
        let b =
            TrainLog::parse("epoch,step,loss,bce,kl,lr,wall_s\n0,10,0.9,0.8,0.1,0.1,1\n").unwrap();
        let panels = curve_panels(&[run("a", a, &[]), run("b", b, &[])]);
        let titles: Vec<&str> = panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["loss", "bce", "fft", "kl"]);
        assert_eq!(panels[0].lines.len(), 2);
        assert_eq!(panels[0].lines[0].points, [(10.0, 3.5), (20.0, 2.5)]);
        assert_eq!(
            (panels[0].lines[1].label.as_str(), panels[0].lines[1].run),
            ("b", 1)
        );
        assert_eq!(panels[0].lines[1].points, [(10.0, 0.9)]);
        // Only run a has an fft term: run b, without it, has no line there.
        assert_eq!(panels[2].lines.len(), 1);
        assert_eq!(
            (panels[2].lines[0].label.as_str(), panels[2].lines[0].run),
            ("a", 0)
        );
        assert!(panels.iter().flat_map(|p| &p.lines).all(|l| !l.unweighted));
    }

    #[test]
    fn a_weightless_term_is_dashed_for_the_runs_that_do_not_optimise_it() {
        use crate::loss::LossTerm;
        let terms: Vec<LossTerm> =
            serde_json::from_value(serde_json::json!([{"bce": {}}, {"fft": {}}])).unwrap();
        let mut loss = LossConfig {
            alpha: Some(0.0),
            terms,
            ..LossConfig::default()
        };
        // alpha 0: the frequency term is logged but weighs nothing.
        assert_eq!(unweighted_columns(&loss), ["fft"]);
        loss.alpha = Some(0.5);
        assert!(unweighted_columns(&loss).is_empty());
        loss.alpha = Some(1.0);
        loss.kl.beta = 0.0;
        assert_eq!(unweighted_columns(&loss), ["bce", "kl"]);

        let log = TrainLog::parse(LOG).unwrap();
        let panels = curve_panels(&[
            run("Vanilla-VAE", log.clone(), &["fft"]),
            run("FFT", log, &[]),
        ]);
        let fft = panels.iter().find(|p| p.title == "fft").unwrap();
        let dashed: Vec<bool> = fft.lines.iter().map(|l| l.unweighted).collect();
        assert_eq!(dashed, [true, false]);
        assert_eq!(fft.caption(), "fft (dashed: weight 0)");
        let bce = panels.iter().find(|p| p.title == "bce").unwrap();
        assert!(bce.lines.iter().all(|l| !l.unweighted));
        assert_eq!(bce.caption(), "bce");
    }

    #[test]
    fn panels_spanning_orders_of_magnitude_get_a_log_axis() {
        // alpha 0 next to alpha 0.5: objectives ~0.5 and ~100.
        let small = TrainLog::parse("epoch,step,loss\n0,10,0.7\n0,20,0.5\n").unwrap();
        let large = TrainLog::parse("epoch,step,loss\n0,10,140\n0,20,100\n").unwrap();
        let panels = curve_panels(&[run("a", small.clone(), &[]), run("b", large, &[])]);
        assert!(panels[0].log_scale());
        let panels = curve_panels(&[run("a", small, &[])]);
        assert!(!panels[0].log_scale());
        // A value at or below 0 keeps the axis linear.
        let zero = TrainLog::parse("epoch,step,loss\n0,10,0\n0,20,100\n").unwrap();
        assert!(!curve_panels(&[run("a", zero, &[])])[0].log_scale());
    }

    #[test]
    fn tick_texts_are_short() {
        assert_eq!(tick_text(100.0), "100");
        assert_eq!(tick_text(0.001), "0.001");
        assert_eq!(tick_text(0.25), "0.25");
        assert_eq!(tick_text(1.5), "1.5");
        assert_eq!(tick_text(2.0), "2");
        assert_eq!(tick_text(0.0001), "1e-4");
        assert_eq!(tick_text(0.0), "0");
    }

    #[test]
    fn figure_has_one_panel_per_column() {
        let dir = tempfile::tempdir().unwrap();
        let log = TrainLog::parse(LOG).unwrap();
        let figure = CurvesFigure {
            panels: curve_panels(&[run("seed=0", log.clone(), &[]), run("seed=1", log, &[])]),
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
        // Every panel says on its y axis what it plots.
        for text in [
            "objective Σ w·term + β·KL",
            "bce term, unweighted",
            "fft term, unweighted",
            "KL divergence, unweighted",
        ] {
            assert!(texts.iter().any(|t| t == text), "{text} not in {texts:?}");
        }
    }
}
