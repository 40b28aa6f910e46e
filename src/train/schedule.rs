//! Learning-rate schedules.

use crate::pipeline::schema::{LrSchedule, OptimizerConfig, TrainConfig};

/// Version of the learning-rate schedules.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// The learning rate of step `step` (0-based: the number of steps already taken).
///
/// `triangular2` follows tensorflow-addons' `CyclicalLearningRate` with the scale
/// 1/2^(cycle-1) (what Dalal's code uses):
/// cycle = floor(1 + step / (2 s)), x = |step / s - 2 cycle + 1|,
/// lr = min + (max - min) * max(0, 1 - x) / 2^(cycle - 1).
pub fn learning_rate(train: &TrainConfig, step: u64) -> f64 {
    match &train.lr_schedule {
        LrSchedule::Constant => {
            let OptimizerConfig::Adam(adam) = &train.optimizer;
            adam.lr
        }
        LrSchedule::Triangular2(c) => {
            let s = c.step_size as f64;
            let t = step as f64;
            let cycle = (1.0 + t / (2.0 * s)).floor();
            let x = (t / s - 2.0 * cycle + 1.0).abs();
            c.min_lr + (c.max_lr - c.min_lr) * (1.0 - x).max(0.0) / 2f64.powf(cycle - 1.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::schema::Triangular2;

    fn cyclic(min_lr: f64, max_lr: f64, step_size: u32) -> TrainConfig {
        TrainConfig {
            lr_schedule: LrSchedule::Triangular2(Triangular2 {
                min_lr,
                max_lr,
                step_size,
            }),
            ..TrainConfig::default()
        }
    }

    #[test]
    fn constant_is_the_optimizer_lr() {
        let t = TrainConfig::default();
        assert_eq!(learning_rate(&t, 0), 1e-4);
        assert_eq!(learning_rate(&t, 12345), 1e-4);
    }

    #[test]
    fn triangular2_rises_falls_and_halves_its_peak() {
        let t = cyclic(1e-4, 1e-3, 2000);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(learning_rate(&t, 0), 1e-4));
        assert!(close(learning_rate(&t, 1000), 1e-4 + 0.5 * 9e-4));
        assert!(close(learning_rate(&t, 2000), 1e-3));
        assert!(close(learning_rate(&t, 3000), 1e-4 + 0.5 * 9e-4));
        assert!(close(learning_rate(&t, 4000), 1e-4));
        // Second cycle: peak is half as high above min.
        assert!(close(learning_rate(&t, 6000), 1e-4 + 9e-4 / 2.0));
        // Third cycle: a quarter.
        assert!(close(learning_rate(&t, 10000), 1e-4 + 9e-4 / 4.0));
        // Direct loop: the same values from the definition step by step.
        for step in (0..20_000).step_by(97) {
            let cycle = 1 + step / 4000;
            let pos = step % 4000; // position inside the cycle
            let frac = if pos <= 2000 {
                pos as f64 / 2000.0
            } else {
                (4000 - pos) as f64 / 2000.0
            };
            let want = 1e-4 + 9e-4 * frac / f64::from(1u32 << (cycle - 1));
            assert!(close(learning_rate(&t, step), want), "step {step}");
        }
    }
}
