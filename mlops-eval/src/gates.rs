//! Gates: declarative rules over metrics that decide promotion.

use mlops_core::{Error, Result};

/// Whether a metric is better when larger (accuracy) or smaller (loss).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Larger is better.
    GreaterIsBetter,
    /// Smaller is better.
    LessIsBetter,
}

/// Checks an observed metric against an absolute threshold; the error names the metric,
/// the observed value and the threshold.
pub fn check_threshold(
    metric: &str,
    observed: f64,
    threshold: f64,
    direction: Direction,
) -> Result<bool> {
    if observed.is_nan() {
        return Err(Error::invalid(
            format!("value of metric {metric:?}"),
            "NaN",
            "a number",
        ));
    }
    Ok(match direction {
        Direction::GreaterIsBetter => observed >= threshold,
        Direction::LessIsBetter => observed <= threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_respect_direction() {
        assert!(check_threshold("acc", 0.91, 0.9, Direction::GreaterIsBetter).unwrap());
        assert!(!check_threshold("loss", 0.91, 0.9, Direction::LessIsBetter).unwrap());
        assert!(check_threshold("acc", f64::NAN, 0.9, Direction::GreaterIsBetter).is_err());
    }
}
