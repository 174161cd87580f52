//! Business metrics measured in the same evaluation as quality: latency percentiles and the
//! cost per 1,000 predictions under a configurable cost model.

use serde::{Deserialize, Serialize};

use mlops_core::{Error, Result};

/// Latency percentiles in milliseconds (numpy's linear interpolation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

/// Percentiles of per-prediction latencies (ms). NaN or negative values are an error.
pub fn latency(samples_ms: &[f64]) -> Result<Latency> {
    if samples_ms.is_empty() {
        return Err(Error::invalid(
            "latency samples",
            "0 samples",
            "at least one",
        ));
    }
    if let Some(bad) = samples_ms.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(Error::invalid(
            "latency sample",
            bad.to_string(),
            "a finite number of milliseconds, 0 or more",
        ));
    }
    let mut s = samples_ms.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (s.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(s.len() - 1);
        s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
    };
    Ok(Latency {
        p50_ms: q(0.50),
        p95_ms: q(0.95),
        p99_ms: q(0.99),
        mean_ms: s.iter().sum::<f64>() / s.len() as f64,
    })
}

/// What compute costs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum CostModel {
    /// Dollars per CPU-hour; each prediction costs its CPU time.
    PerCpuHour(f64),
    /// Dollars per GPU-hour; each prediction costs its GPU time.
    PerGpuHour(f64),
    /// Dollars per 1,000 tokens (language models).
    Per1kTokens(f64),
}

/// Dollars per 1,000 predictions. `usage` holds, per prediction, the CPU or GPU seconds
/// (for hourly models) or the tokens (for the token model).
pub fn cost_per_1k_predictions(model: CostModel, usage: &[f64]) -> Result<f64> {
    if usage.is_empty() {
        return Err(Error::invalid(
            "usage samples",
            "0 samples",
            "at least one prediction",
        ));
    }
    if let Some(bad) = usage.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(Error::invalid(
            "usage sample",
            bad.to_string(),
            "a finite amount, 0 or more",
        ));
    }
    let mean = usage.iter().sum::<f64>() / usage.len() as f64;
    let per_prediction = match model {
        CostModel::PerCpuHour(d) | CostModel::PerGpuHour(d) => mean / 3600.0 * d,
        CostModel::Per1kTokens(d) => mean / 1000.0 * d,
    };
    Ok(per_prediction * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_numpy() {
        let l = latency(&[1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
        assert_eq!(l.p50_ms, 3.0);
        assert!((l.p95_ms - 80.8).abs() < 1e-12, "{l:?}");
        assert!((l.p99_ms - 96.16).abs() < 1e-12, "{l:?}");
        assert!(latency(&[]).is_err() && latency(&[f64::NAN]).is_err());
    }

    #[test]
    fn cost_models() {
        // 2 ms of CPU per prediction at $0.10 per CPU-hour.
        let c = cost_per_1k_predictions(CostModel::PerCpuHour(0.10), &[0.002; 10]).unwrap();
        assert!((c - 0.002 / 3600.0 * 0.10 * 1000.0).abs() < 1e-15);
        let t = cost_per_1k_predictions(CostModel::Per1kTokens(0.5), &[200.0, 400.0]).unwrap();
        assert!((t - 150.0).abs() < 1e-12);
        assert!(cost_per_1k_predictions(CostModel::PerGpuHour(1.0), &[-1.0]).is_err());
    }
}
