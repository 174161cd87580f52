//! Evaluation reports: JSON for machines, and one self-contained HTML page for people (inline
//! SVG plots, inline CSS, no script and no CDN: it opens offline and prints well).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::compare::EvalManifest;
use crate::gates::GateReport;
use crate::slices::SliceValue;

/// A curve for the report: named series of `(x, y)` points.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Curve {
    /// Series name (e.g. `candidate`, `champion`).
    pub name: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// Everything a report shows; absent parts are left out of the page.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Page title.
    pub title: String,
    /// What the evaluation ran on.
    pub manifest: Option<EvalManifest>,
    /// The candidate's metrics.
    pub metrics: BTreeMap<String, f64>,
    /// The champion's metrics on the same data, if compared.
    pub champion: Option<BTreeMap<String, f64>>,
    /// The gate verdict.
    pub gates: Option<GateReport>,
    /// ROC curves, `(false positive rate, true positive rate)`.
    pub roc: Vec<Curve>,
    /// Precision-recall curves, `(recall, precision)`.
    pub pr: Vec<Curve>,
    /// Reliability curves, `(mean predicted probability, fraction of positives)`.
    pub calibration: Vec<Curve>,
    /// Confusion matrix: class labels and counts (rows = true, columns = predicted).
    pub confusion: Option<(Vec<i64>, Vec<Vec<u64>>)>,
    /// A metric per slice: `(metric name, slices)`.
    pub slices: Option<(String, BTreeMap<String, SliceValue>)>,
}

impl Report {
    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The report as one self-contained HTML page.
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{CSS}</style></head><body><h1>{t}</h1>",
            t = esc(&self.title)
        );
        if let Some(m) = &self.manifest {
            h.push_str("<h2>Conditions</h2><table>");
            for (k, v) in [
                ("dataset", m.dataset_id.clone()),
                ("split", m.split.clone()),
                ("seed", m.seed.to_string()),
                ("metrics version", m.metrics_version.clone()),
                ("model", m.model_digest.clone()),
            ] {
                let _ = write!(h, "<tr><th>{k}</th><td><code>{}</code></td></tr>", esc(&v));
            }
            h.push_str("</table>");
        }
        if let Some(g) = &self.gates {
            let _ = write!(
                h,
                "<h2>Gates: <span class=\"{c}\">{v}</span></h2><table><tr><th>metric</th><th>observed</th><th>champion</th><th>verdict</th><th>why</th></tr>",
                c = if g.passed { "pass" } else { "fail" },
                v = if g.passed { "PASSED" } else { "FAILED" }
            );
            for o in &g.outcomes {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{c}\">{v}</td><td>{}</td></tr>",
                    esc(&o.rule.metric),
                    o.observed.map_or("—".into(), num),
                    o.champion.map_or("—".into(), num),
                    esc(&o.reason),
                    c = if o.passed { "pass" } else { "fail" },
                    v = if o.passed { "pass" } else { "fail" }
                );
            }
            h.push_str("</table>");
        }
        h.push_str("<h2>Metrics</h2><table><tr><th>metric</th><th>candidate</th>");
        if self.champion.is_some() {
            h.push_str("<th>champion</th><th>difference</th>");
        }
        h.push_str("</tr>");
        for (k, v) in &self.metrics {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td>", esc(k), num(*v));
            if let Some(c) = &self.champion {
                match c.get(k) {
                    Some(cv) => {
                        let _ = write!(h, "<td>{}</td><td>{:+.6}</td>", num(*cv), v - cv);
                    }
                    None => h.push_str("<td>—</td><td>—</td>"),
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</table><div class=\"plots\">");
        if !self.roc.is_empty() {
            h.push_str(&line_chart(
                "ROC curve",
                "false positive rate",
                "true positive rate",
                &self.roc,
                true,
            ));
        }
        if !self.pr.is_empty() {
            h.push_str(&line_chart(
                "Precision-recall curve",
                "recall",
                "precision",
                &self.pr,
                false,
            ));
        }
        if !self.calibration.is_empty() {
            h.push_str(&line_chart(
                "Calibration (reliability)",
                "mean predicted probability",
                "fraction of positives",
                &self.calibration,
                true,
            ));
        }
        if let Some((labels, m)) = &self.confusion {
            h.push_str(&confusion_svg(labels, m));
        }
        if let Some((metric, slices)) = &self.slices {
            h.push_str(&slice_bars(metric, slices));
        }
        h.push_str("</div></body></html>\n");
        h
    }
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.5em}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f4f4f4}.pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}\
.plots{display:flex;flex-wrap:wrap;gap:1.5em}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3em}\
svg text{font:11px system-ui,sans-serif;fill:#333}code{font-size:12px}";

const COLORS: [&str; 4] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v:.6}")
    }
}

/// A square chart over [0, 1] × [0, 1].
fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Curve],
    diagonal: bool,
) -> String {
    let (size, pad) = (300.0, 40.0);
    let x = |v: f64| pad + v.clamp(0.0, 1.0) * size;
    let y = |v: f64| pad + (1.0 - v.clamp(0.0, 1.0)) * size;
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg width=\"{w}\" height=\"{w}\" viewBox=\"0 0 {w} {w}\" role=\"img\">",
        esc(title),
        w = size + 2.0 * pad
    );
    for i in 0..=4 {
        let t = i as f64 / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{x0}\" y1=\"{yt}\" x2=\"{x1}\" y2=\"{yt}\" stroke=\"#eee\"/><line x1=\"{xt}\" y1=\"{y0}\" x2=\"{xt}\" y2=\"{y1}\" stroke=\"#eee\"/>\
             <text x=\"{xt}\" y=\"{yl}\" text-anchor=\"middle\">{t}</text><text x=\"{xl}\" y=\"{yt}\" text-anchor=\"end\" dy=\"4\">{t}</text>",
            x0 = x(0.0),
            x1 = x(1.0),
            y0 = y(0.0),
            y1 = y(1.0),
            xt = x(t),
            yt = y(t),
            yl = y(0.0) + 14.0,
            xl = x(0.0) - 4.0
        );
    }
    if diagonal {
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>",
            x(0.0),
            y(0.0),
            x(1.0),
            y(1.0)
        );
    }
    for (i, c) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: String = c
            .points
            .iter()
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| format!("{:.2},{:.2} ", x(*a), y(*b)))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{pts}\"/><text x=\"{lx}\" y=\"{ly}\" fill=\"{color}\" style=\"fill:{color}\">{name}</text>",
            lx = x(0.55),
            ly = y(0.1) + 14.0 * i as f64,
            name = esc(&c.name)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text><text transform=\"translate(12 {}) rotate(-90)\" text-anchor=\"middle\">{}</text></svg></figure>",
        x(0.5),
        y(0.0) + 30.0,
        esc(x_label),
        y(0.5),
        esc(y_label)
    );
    s
}

fn confusion_svg(labels: &[i64], m: &[Vec<u64>]) -> String {
    let n = labels.len().max(1);
    let cell = (300.0 / n as f64).min(80.0);
    let pad = 50.0;
    let max = m.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let w = pad + cell * n as f64 + 10.0;
    let mut s = format!(
        "<figure><figcaption>Confusion matrix (rows: true, columns: predicted)</figcaption><svg width=\"{w}\" height=\"{w}\" role=\"img\">"
    );
    for (i, row) in m.iter().enumerate().take(n) {
        for (j, &v) in row.iter().enumerate().take(n) {
            let shade = 1.0 - 0.8 * v as f64 / max;
            let g = (255.0 * shade) as u8;
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({g},{g},255)\" stroke=\"#fff\"/><text x=\"{tx}\" y=\"{ty}\" text-anchor=\"middle\" style=\"fill:{fc}\">{v}</text>",
                x = pad + j as f64 * cell,
                y = pad + i as f64 * cell,
                tx = pad + (j as f64 + 0.5) * cell,
                ty = pad + (i as f64 + 0.5) * cell + 4.0,
                fc = if shade < 0.5 { "#fff" } else { "#111" }
            );
        }
    }
    for (k, l) in labels.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"{yt}\" text-anchor=\"middle\">{l}</text><text x=\"{xl}\" y=\"{y}\" text-anchor=\"end\">{l}</text>",
            x = pad + (k as f64 + 0.5) * cell,
            yt = pad - 6.0,
            xl = pad - 6.0,
            y = pad + (k as f64 + 0.5) * cell + 4.0
        );
    }
    s.push_str("</svg></figure>");
    s
}

fn slice_bars(metric: &str, slices: &BTreeMap<String, SliceValue>) -> String {
    let (bar, gap, left, width) = (18.0, 6.0, 120.0, 240.0);
    let h = 30.0 + slices.len() as f64 * (bar + gap);
    let mut s = format!(
        "<figure><figcaption>{} per slice</figcaption><svg width=\"{}\" height=\"{h}\" role=\"img\">",
        esc(metric),
        left + width + 110.0
    );
    for (i, (name, v)) in slices.iter().enumerate() {
        let y = 10.0 + i as f64 * (bar + gap);
        let value = v.value.unwrap_or(f64::NAN);
        let len = if value.is_finite() {
            value.clamp(0.0, 1.0) * width
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{n}</text><rect x=\"{left}\" y=\"{y}\" width=\"{len:.1}\" height=\"{bar}\" fill=\"{c}\"/><text x=\"{vx}\" y=\"{ty}\">{val} (n={count})</text>",
            tx = left - 6.0,
            ty = y + 13.0,
            n = esc(name),
            c = COLORS[0],
            vx = left + len + 6.0,
            val = num(value),
            count = v.count
        );
    }
    s.push_str("</svg></figure>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gates::{Direction, GateRule, Observation, evaluate_gate};

    #[test]
    fn the_html_page_is_self_contained_and_shows_every_part() {
        let metrics = BTreeMap::from([
            ("accuracy".to_string(), 0.91),
            ("roc_auc".to_string(), 0.95),
        ]);
        let obs = metrics
            .iter()
            .map(|(k, &v)| {
                (
                    k.clone(),
                    Observation {
                        candidate: v,
                        champion: Some(0.9),
                        ..Default::default()
                    },
                )
            })
            .collect();
        let report = Report {
            title: "churn <candidate> vs champion".into(),
            metrics,
            champion: Some(BTreeMap::from([("accuracy".to_string(), 0.90)])),
            gates: Some(evaluate_gate(
                &[GateRule::threshold(
                    "accuracy",
                    Direction::GreaterIsBetter,
                    0.95,
                )],
                &obs,
            )),
            roc: vec![Curve {
                name: "candidate".into(),
                points: vec![(0.0, 0.0), (0.1, 0.8), (1.0, 1.0)],
            }],
            pr: vec![Curve {
                name: "candidate".into(),
                points: vec![(0.5, 1.0), (1.0, 0.6)],
            }],
            calibration: vec![Curve {
                name: "candidate".into(),
                points: vec![(0.1, 0.12), (0.9, 0.85)],
            }],
            confusion: Some((vec![0, 1], vec![vec![50, 5], vec![4, 41]])),
            slices: Some((
                "accuracy".into(),
                BTreeMap::from([(
                    "fr".to_string(),
                    SliceValue {
                        count: 10,
                        value: Some(0.9),
                        error: None,
                    },
                )]),
            )),
            ..Default::default()
        };
        let html = report.to_html();
        assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
        assert!(
            !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
            "offline, no CDN"
        );
        assert!(html.contains("&lt;candidate&gt;"), "user text is escaped");
        assert_eq!(html.matches("<svg").count(), 5);
        assert!(html.contains("FAILED") && html.contains("+0.010000"));
        assert_eq!(report.to_json()["metrics"]["accuracy"], 0.91);
    }
}
