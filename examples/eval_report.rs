//! Evaluate a candidate against the champion under identical conditions and write the
//! report: metrics, paired bootstrap interval, McNemar's test, fairness, slices, gates,
//! and a self-contained HTML page with ROC, PR, calibration and confusion-matrix plots.
//!
//! ```text
//! cargo run --release -p mlops-examples --example eval_report [-- <output folder>]
//! ```
//! Writes `report.html` and `report.json` (default folder: `eval-report/`).

use std::collections::BTreeMap;

use mlops_core::Result;
use mlops_eval::compare::{
    BootstrapOptions, EvalManifest, METRICS_VERSION, check_comparable, mcnemar, paired_bootstrap,
};
use mlops_eval::fairness::{Method, demographic_parity_ratio, group_rates};
use mlops_eval::gates::{Direction, GateRule, Observation, evaluate_gate};
use mlops_eval::metrics::{self, BinStrategy, BinaryCurve, ConfusionOptions, ScoreMatrix};
use mlops_eval::report::{Curve, Report};
use mlops_eval::rng::Rng;
use mlops_eval::slices::by_segment;

/// Synthetic test set: labels, two models' scores (the candidate sharper), a segment.
fn data(n: usize) -> (Vec<i64>, Vec<f64>, Vec<f64>, Vec<&'static str>) {
    let mut r = Rng::new(2026);
    let (mut y, mut a, mut b, mut seg) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let label = (r.next_f64() < 0.4) as i64;
        let noise = r.next_f64() - 0.5;
        let base = if label == 1 { 0.68 } else { 0.32 };
        a.push((base + 0.55 * noise).clamp(0.001, 0.999));
        b.push((base + 0.75 * (r.next_f64() - 0.5)).clamp(0.001, 0.999));
        seg.push(["fr", "de", "us", "jp"][r.below(4) as usize]);
        y.push(label);
    }
    (y, a, b, seg)
}

fn main() -> Result<()> {
    let out = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "eval-report".into()),
    );
    let (y, cand, champ, segment) = data(5_000);
    let pred = |s: &[f64]| s.iter().map(|&p| (p >= 0.5) as i64).collect::<Vec<_>>();
    let (pa, pb) = (pred(&cand), pred(&champ));

    // Identical conditions: only the model may differ.
    let manifest = |model: &str| EvalManifest {
        dataset_id: "5f3c".repeat(16),
        split: "test".into(),
        seed: 7,
        metrics_version: METRICS_VERSION.into(),
        model_digest: model.into(),
    };
    check_comparable(&manifest("candidate"), &manifest("champion"))?;

    let metric_set = |p: &[i64], s: &[f64]| -> Result<BTreeMap<String, f64>> {
        let curve = BinaryCurve::new(&y, s, 1, None)?;
        Ok(BTreeMap::from([
            (
                "accuracy".to_string(),
                metrics::accuracy_score(&y, p, true, None)?,
            ),
            ("roc_auc".to_string(), curve.roc_auc()),
            ("average_precision".to_string(), curve.average_precision()),
            (
                "log_loss".to_string(),
                metrics::log_loss(&y, ScoreMatrix::column(s), &Default::default())?,
            ),
        ]))
    };
    let mut cand_m = metric_set(&pa, &cand)?;
    let champ_m = metric_set(&pb, &champ)?;

    // Paired bootstrap of the accuracy difference, and McNemar on the same rows.
    let acc = |p: &[i64], rows: &[usize]| {
        rows.iter().filter(|&&i| p[i] == y[i]).count() as f64 / rows.len() as f64
    };
    let boot = paired_bootstrap(
        y.len(),
        |m, rows| {
            Ok(if m == 0 {
                acc(&pa, rows)
            } else {
                acc(&pb, rows)
            })
        },
        BootstrapOptions {
            seed: 7,
            ..Default::default()
        },
    )?;
    let right = |p: &[i64]| p.iter().zip(&y).map(|(a, b)| a == b).collect::<Vec<_>>();
    let mc = mcnemar(&right(&pa), &right(&pb))?;
    println!(
        "accuracy {:.4} vs {:.4}: difference {:+.4}, 95% CI [{:+.4}, {:+.4}] ({} resamples), McNemar p = {:.3e}",
        boot.candidate,
        boot.champion,
        boot.difference,
        boot.ci_low,
        boot.ci_high,
        boot.resamples,
        mc.p_value
    );

    let fairness = group_rates(&y, &pa, &segment, 1, 30)?;
    cand_m.insert(
        "demographic_parity_ratio".into(),
        demographic_parity_ratio(&fairness, Method::BetweenGroups),
    );

    let mut obs: BTreeMap<String, Observation> = cand_m
        .iter()
        .map(|(k, &v)| {
            (
                k.clone(),
                Observation {
                    candidate: v,
                    champion: champ_m.get(k).copied(),
                    ..Default::default()
                },
            )
        })
        .collect();
    if let Some(o) = obs.get_mut("accuracy") {
        o.difference_ci = Some((boot.ci_low, boot.ci_high));
    }
    let gates = evaluate_gate(
        &[
            GateRule::threshold("roc_auc", Direction::GreaterIsBetter, 0.80),
            GateRule::beats_champion("accuracy", Direction::GreaterIsBetter, 0.0),
            GateRule::threshold("demographic_parity_ratio", Direction::GreaterIsBetter, 0.8),
            GateRule::threshold("log_loss", Direction::LessIsBetter, 0.6),
        ],
        &obs,
    );
    for o in &gates.outcomes {
        println!(
            "  gate {:<26} {}  {}",
            o.rule.metric,
            if o.passed { "pass" } else { "FAIL" },
            o.reason
        );
    }

    let curves = |f: fn(&BinaryCurve) -> Vec<(f64, f64)>| -> Result<Vec<Curve>> {
        Ok(vec![
            Curve {
                name: "candidate".into(),
                points: f(&BinaryCurve::new(&y, &cand, 1, None)?),
            },
            Curve {
                name: "champion".into(),
                points: f(&BinaryCurve::new(&y, &champ, 1, None)?),
            },
        ])
    };
    let calib = |s: &[f64], name: &str| -> Result<Curve> {
        let c = metrics::calibration_curve(&y, s, None, 10, BinStrategy::Uniform)?;
        Ok(Curve {
            name: name.into(),
            points: c
                .prob_pred
                .iter()
                .copied()
                .zip(c.prob_true.iter().copied())
                .collect(),
        })
    };
    let cm = metrics::confusion_matrix(&y, &pa, &ConfusionOptions::default())?;
    let slices = by_segment(&segment, |rows| Ok(acc(&pa, rows)))?;
    let report = Report {
        title: "churn: candidate vs champion".into(),
        manifest: Some(manifest("candidate")),
        metrics: cand_m,
        champion: Some(champ_m),
        gates: Some(gates),
        roc: curves(BinaryCurve::roc_points)?,
        pr: curves(BinaryCurve::pr_points)?,
        calibration: vec![calib(&cand, "candidate")?, calib(&champ, "champion")?],
        confusion: Some((
            vec![0, 1],
            cm.iter()
                .map(|r| r.iter().map(|&v| v as u64).collect())
                .collect(),
        )),
        slices: Some(("accuracy".into(), slices)),
    };
    std::fs::create_dir_all(&out)
        .map_err(|e| mlops_core::Error::io(out.display().to_string(), e))?;
    let html = out.join("report.html");
    std::fs::write(&html, report.to_html())
        .map_err(|e| mlops_core::Error::io(html.display().to_string(), e))?;
    let json = out.join("report.json");
    std::fs::write(&json, report.to_json().to_string())
        .map_err(|e| mlops_core::Error::io(json.display().to_string(), e))?;
    println!("wrote {} and {}", html.display(), json.display());
    Ok(())
}
