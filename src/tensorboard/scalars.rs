//! Which scalars runner logs to TensorBoard, under which tags: the rows of a
//! training log and the means and stds of an eval.
//!
//! | tag                  | source                                        |
//! |----------------------|-----------------------------------------------|
//! | `loss/total`         | train_log.csv `loss`                          |
//! | `loss/<term>`        | train_log.csv, the term's column (`bce`, ...) |
//! | `loss/kl`            | train_log.csv `kl`                            |
//! | `train/lr`           | train_log.csv `lr`                            |
//! | `train/images_per_s` | images trained since the previous row / the `wall_s` elapsed |
//! | `eval/<metric>`      | the eval's summary.csv `mean`                 |
//! | `eval/<metric>_std`  | the eval's summary.csv `std`                  |

use anyhow::{anyhow, bail, Context, Result};

use super::event::{Event, Payload};

/// Columns of train_log.csv before the loss columns (`epoch,step`).
const LEADING: usize = 2;
/// Columns after them (`lr,wall_s`).
const TRAILING: usize = 2;

/// One row of train_log.csv as numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    /// The step the row was logged at.
    pub step: u64,
    /// The loss columns (total, each term, KL) as (column name, value).
    pub losses: Vec<(String, f64)>,
    /// Learning rate of the row's last step.
    pub lr: f64,
    /// Training seconds so far (continued across resumes).
    pub wall_s: f64,
}

/// The rows of a train_log.csv text (`epoch,step,loss,<terms>,kl,lr,wall_s`).
pub fn parse_train_log(text: &str) -> Result<Vec<LogRow>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| anyhow!("the training log is empty"))?
        .split(',')
        .collect();
    if header.len() < LEADING + TRAILING + 1 || header[1] != "step" {
        bail!("the training log's header is not epoch,step,<losses>,lr,wall_s");
    }
    let names = &header[LEADING..header.len() - TRAILING];
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            bail!(
                "training log row {}: {} columns, the header has {}",
                i + 1,
                fields.len(),
                header.len()
            );
        }
        let number = |j: usize| -> Result<f64> {
            fields[j]
                .parse::<f64>()
                .with_context(|| format!("training log row {}, column {}", i + 1, header[j]))
        };
        let losses = names
            .iter()
            .enumerate()
            .map(|(k, name)| Ok((name.to_string(), number(LEADING + k)?)))
            .collect::<Result<Vec<_>>>()?;
        rows.push(LogRow {
            step: fields[1]
                .parse()
                .with_context(|| format!("training log row {}, column step", i + 1))?,
            losses,
            lr: number(fields.len() - 2)?,
            wall_s: number(fields.len() - 1)?,
        });
    }
    Ok(rows)
}

/// The tag of train_log.csv's loss column `name`.
pub fn loss_tag(name: &str) -> String {
    match name {
        "loss" => "loss/total".into(),
        other => format!("loss/{other}"),
    }
}

/// One scalar event per row of `rows`. `images(from, to)` is the number of
/// images trained in steps `from + 1..=to`, for `train/images_per_s`.
/// `end_unix` is when training finished: each event's wall time is that minus
/// the training time after its row, so TensorBoard's relative time axis is the
/// training time (the pauses of a stopped and resumed run are left out).
pub fn train_events(
    rows: &[LogRow],
    images: impl Fn(u64, u64) -> u64,
    end_unix: f64,
) -> Vec<Event> {
    let last_wall = rows.last().map_or(0.0, |r| r.wall_s);
    let (mut prev_step, mut prev_wall) = (0u64, 0.0f64);
    rows.iter()
        .map(|row| {
            let mut values: Vec<(String, f32)> = row
                .losses
                .iter()
                .map(|(name, v)| (loss_tag(name), *v as f32))
                .collect();
            values.push(("train/lr".into(), row.lr as f32));
            let seconds = row.wall_s - prev_wall;
            // The wall time is logged to the millisecond: a row closer than
            // that to the previous one has no rate of its own, and the next
            // row's rate spans both.
            if seconds > 0.0 {
                let rate = images(prev_step, row.step) as f64 / seconds;
                values.push(("train/images_per_s".into(), rate as f32));
                (prev_step, prev_wall) = (row.step, row.wall_s);
            }
            Event {
                wall_time: end_unix - (last_wall - row.wall_s),
                step: row.step as i64,
                payload: Payload::Scalars(values),
            }
        })
        .collect()
}

/// The eval's metrics as one event at `step` (the training run's last step):
/// `eval/<metric>` for each mean, `eval/<metric>_std` for each std.
pub fn eval_event(metrics: &[(String, f64, f64)], step: u64, wall_time: f64) -> Event {
    let mut values = Vec::new();
    for (name, mean, std) in metrics {
        values.push((format!("eval/{name}"), *mean as f32));
        values.push((format!("eval/{name}_std"), *std as f32));
    }
    Event {
        wall_time,
        step: step as i64,
        payload: Payload::Scalars(values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "epoch,step,loss,bce,fft,kl,lr,wall_s\n\
                       1,10,0.5,0.4,0.05,0.05,1e-3,2.000\n\
                       1,12,0.4,0.3,0.05,0.05,1e-3,2.000\n\
                       2,20,0.3,0.2,0.05,0.05,5e-4,4.000\n";

    #[test]
    fn rows_parse_by_the_header() {
        let rows = parse_train_log(LOG).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].step, 20);
        let names: Vec<&str> = rows[0].losses.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["loss", "bce", "fft", "kl"]);
        assert_eq!((rows[2].lr, rows[2].wall_s), (5e-4, 4.0));
        assert!(parse_train_log("").is_err());
        assert!(parse_train_log("epoch,step,loss,kl,lr,wall_s\n1,2,3\n").is_err());
    }

    #[test]
    fn images_per_second_spans_the_steps_since_the_previous_row() {
        let rows = parse_train_log(LOG).unwrap();
        let events = train_events(&rows, |a, b| (b - a) * 4, 1000.0);
        let values = |i: usize| match &events[i].payload {
            Payload::Scalars(v) => v.clone(),
            _ => unreachable!(),
        };
        assert_eq!(values(0)[0], ("loss/total".to_string(), 0.5));
        assert_eq!(values(0)[3], ("loss/kl".to_string(), 0.05));
        assert_eq!(
            values(0).last().unwrap(),
            &("train/images_per_s".to_string(), 20.0)
        );
        // Row 2 logged no time after row 1: no rate.
        assert!(values(1).iter().all(|(t, _)| t != "train/images_per_s"));
        assert_eq!(values(2).last().unwrap().1, 10.0 * 4.0 / 2.0);
        assert_eq!(events[2].wall_time, 1000.0);
        assert_eq!(events[0].wall_time, 998.0);
    }
}
