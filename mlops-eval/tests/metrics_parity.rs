//! Parity with scikit-learn 1.9.1 on the golden corpus `fixtures/metrics/golden.json`
//! (regenerate with `fixtures/metrics/gen_metrics.py`). No Python is needed here.
//!
//! A float agrees when it is within 1e-12 absolute or 1e-12 relative of scikit-learn's
//! value (NaN must match NaN); confusion matrices are compared the same way entrywise;
//! a case where scikit-learn raises `ValueError` must return an error.

use mlops_eval::metrics::*;
use serde_json::Value;

const TOL: f64 = 1e-12;

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("number"),
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => panic!("bad float {other}"),
        },
        other => panic!("not a float: {other}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(num).collect()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("int"))
        .collect()
}

fn opt_floats(v: Option<&Value>) -> Option<Vec<f64>> {
    v.filter(|v| !v.is_null()).map(floats)
}

fn opt_ints(v: Option<&Value>) -> Option<Vec<i64>> {
    v.filter(|v| !v.is_null()).map(ints)
}

/// A score matrix (list of rows) or a 1-D score vector, flattened row-major.
fn matrix(v: &Value) -> (Vec<f64>, usize) {
    let a = v.as_array().expect("array");
    match a.first() {
        Some(Value::Array(r)) => {
            let cols = r.len();
            (a.iter().flat_map(floats).collect(), cols)
        }
        _ => (floats(v), 1),
    }
}

fn average(kw: &Value, default: Average) -> Average {
    match kw.get("average").and_then(|v| v.as_str()) {
        None => default,
        Some("binary") => Average::Binary,
        Some("micro") => Average::Micro,
        Some("macro") => Average::Macro,
        Some("weighted") => Average::Weighted,
        Some(o) => panic!("average {o}"),
    }
}

fn zero_division(kw: &Value) -> ZeroDivision {
    match kw.get("zero_division") {
        None => ZeroDivision::Warn,
        Some(Value::String(s)) if s == "warn" => ZeroDivision::Warn,
        Some(Value::String(s)) if s == "nan" => ZeroDivision::NaN,
        Some(v) if v.as_f64() == Some(0.0) => ZeroDivision::Zero,
        Some(v) if v.as_f64() == Some(1.0) => ZeroDivision::One,
        Some(o) => panic!("zero_division {o}"),
    }
}

enum Out {
    Scalar(f64),
    Matrix(Vec<Vec<f64>>),
}

fn run(fname: &str, data: &Value, kw: &Value) -> mlops_core::Result<Out> {
    let w = opt_floats(data.get("sample_weight"));
    let w = w.as_deref();
    let labels = opt_ints(kw.get("labels"));
    let labels = labels.as_deref();
    let flag = |k: &str, d: bool| kw.get(k).and_then(|v| v.as_bool()).unwrap_or(d);
    let s = |v: mlops_core::Result<f64>| v.map(Out::Scalar);
    match fname {
        "ndcg_score" | "dcg_score" => {
            let (t, nd) = matrix(&data["y_true"]);
            let (sc, _) = matrix(&data["y_score"]);
            let o = DcgOptions {
                k: kw.get("k").and_then(|v| v.as_u64()).map(|k| k as usize),
                sample_weight: w,
                ignore_ties: flag("ignore_ties", false),
            };
            return s(if fname == "ndcg_score" {
                ndcg_score(&t, &sc, nd, &o)
            } else {
                dcg_score(&t, &sc, nd, &o)
            });
        }
        "calibration_curve" | "expected_calibration_error" => {
            let yt = ints(&data["y_true"]);
            let p = floats(&data["y_score"]);
            let nb = kw["n_bins"].as_u64().expect("n_bins") as usize;
            if fname == "expected_calibration_error" {
                return s(expected_calibration_error(
                    &yt,
                    ScoreMatrix::column(&p),
                    nb,
                    CalibrationNorm::L1,
                ));
            }
            let strategy = match kw["strategy"].as_str() {
                Some("quantile") => BinStrategy::Quantile,
                _ => BinStrategy::Uniform,
            };
            return calibration_curve(&yt, &p, None, nb, strategy)
                .map(|c| Out::Matrix(vec![c.prob_true, c.prob_pred]));
        }
        _ => {}
    }
    if let Some(yp) = data.get("y_pred") {
        if fname.starts_with("mean_")
            || fname.starts_with("root_")
            || fname.starts_with("median_")
            || fname == "r2_score"
            || fname == "explained_variance_score"
        {
            let yt = floats(&data["y_true"]);
            let yp = floats(yp);
            let ff = flag("force_finite", true);
            return s(match fname {
                "mean_absolute_error" => mean_absolute_error(&yt, &yp, w),
                "mean_squared_error" => mean_squared_error(&yt, &yp, w),
                "root_mean_squared_error" => root_mean_squared_error(&yt, &yp, w),
                "mean_absolute_percentage_error" => mean_absolute_percentage_error(&yt, &yp, w),
                "median_absolute_error" => median_absolute_error(&yt, &yp, w),
                "r2_score" => r2_score(&yt, &yp, w, ff),
                "explained_variance_score" => explained_variance_score(&yt, &yp, w, ff),
                o => panic!("unknown {o}"),
            });
        }
        let yt = ints(&data["y_true"]);
        let yp = ints(yp);
        let prf = PrfOptions {
            average: average(kw, Average::Binary),
            zero_division: zero_division(kw),
            sample_weight: w,
            labels,
            pos_label: kw.get("pos_label").and_then(|v| v.as_i64()).unwrap_or(1),
        };
        return match fname {
            "accuracy_score" => s(accuracy_score(&yt, &yp, flag("normalize", true), w)),
            "balanced_accuracy_score" => s(balanced_accuracy_score(
                &yt,
                &yp,
                w,
                flag("adjusted", false),
            )),
            "matthews_corrcoef" => s(matthews_corrcoef(&yt, &yp, w)),
            "cohen_kappa_score" => {
                let weights = match kw.get("weights").and_then(|v| v.as_str()) {
                    None => KappaWeights::None,
                    Some("linear") => KappaWeights::Linear,
                    Some("quadratic") => KappaWeights::Quadratic,
                    Some(o) => panic!("kappa weights {o}"),
                };
                s(cohen_kappa_score(
                    &yt,
                    &yp,
                    &KappaOptions {
                        labels,
                        weights,
                        sample_weight: w,
                        ..Default::default()
                    },
                ))
            }
            "confusion_matrix" => {
                let normalize = match kw.get("normalize").and_then(|v| v.as_str()) {
                    None => None,
                    Some("true") => Some(CmNormalize::True),
                    Some("pred") => Some(CmNormalize::Pred),
                    Some("all") => Some(CmNormalize::All),
                    Some(o) => panic!("normalize {o}"),
                };
                confusion_matrix(
                    &yt,
                    &yp,
                    &ConfusionOptions {
                        labels,
                        sample_weight: w,
                        normalize,
                    },
                )
                .map(Out::Matrix)
            }
            "precision_score" => s(precision_score(&yt, &yp, &prf)),
            "recall_score" => s(recall_score(&yt, &yp, &prf)),
            "f1_score" => s(f1_score(&yt, &yp, &prf)),
            "fbeta_score" => s(fbeta_score(&yt, &yp, num(&kw["beta"]), &prf)),
            o => panic!("unknown {o}"),
        };
    }
    let yt = ints(&data["y_true"]);
    let (sc, cols) = matrix(&data["y_score"]);
    let m = ScoreMatrix::new(&sc, cols)?;
    match fname {
        "roc_auc_score" => {
            let multi_class = match kw.get("multi_class").and_then(|v| v.as_str()) {
                None => MultiClass::Raise,
                Some("ovr") => MultiClass::Ovr,
                Some("ovo") => MultiClass::Ovo,
                Some(o) => panic!("multi_class {o}"),
            };
            s(roc_auc_score(
                &yt,
                m,
                &RocAucOptions {
                    average: average(kw, Average::Macro),
                    multi_class,
                    sample_weight: w,
                    labels,
                },
            ))
        }
        "average_precision_score" => s(average_precision_score(
            &yt,
            m,
            &ApOptions {
                average: average(kw, Average::Macro),
                pos_label: kw.get("pos_label").and_then(|v| v.as_i64()).unwrap_or(1),
                sample_weight: w,
            },
        )),
        "log_loss" => s(log_loss(
            &yt,
            m,
            &LogLossOptions {
                normalize: flag("normalize", true),
                sample_weight: w,
                labels,
            },
        )),
        "brier_score_loss" => s(brier_score_loss(
            &yt,
            m,
            &BrierOptions {
                sample_weight: w,
                pos_label: kw.get("pos_label").and_then(|v| v.as_i64()),
                labels,
                scale_by_half: kw.get("scale_by_half").and_then(|v| v.as_bool()),
            },
        )),
        "top_k_accuracy_score" => s(top_k_accuracy_score(
            &yt,
            m,
            kw["k"].as_u64().expect("k") as usize,
            &TopKOptions {
                normalize: flag("normalize", true),
                sample_weight: w,
                labels,
            },
        )),
        o => panic!("unknown {o}"),
    }
}

fn close(a: f64, b: f64) -> (bool, f64) {
    if a.is_nan() || b.is_nan() {
        return (a.is_nan() && b.is_nan(), 0.0);
    }
    if a == b {
        return (true, 0.0);
    }
    let abs = (a - b).abs();
    let rel = abs / b.abs().max(f64::MIN_POSITIVE);
    let err = abs.min(rel);
    (err <= TOL, err)
}

#[test]
fn golden_corpus_matches_scikit_learn() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/metrics/golden.json");
    let text = std::fs::read_to_string(path).expect("golden.json (run gen_metrics.py)");
    let root: Value = serde_json::from_str(&text).expect("valid JSON");
    let data = &root["data"];
    let cases = root["cases"].as_array().expect("cases");
    assert!(cases.len() >= 300, "corpus too small");
    let mut failures = Vec::new();
    let mut max_err = 0.0f64;
    for case in cases {
        let id = case["id"].as_str().unwrap_or("?");
        let d = &data[case["data"].as_str().expect("data key")];
        let got = run(case["fn"].as_str().expect("fn"), d, &case["kw"]);
        let exp = &case["expected"];
        let expects_error = exp.get("error").is_some();
        match (got, expects_error) {
            (Err(_), true) => {}
            (Err(e), false) => failures.push(format!("{id}: error {e}, expected {exp}")),
            (Ok(_), true) => {
                failures.push(format!("{id}: value, expected an error ({})", case["kw"]))
            }
            (Ok(Out::Scalar(v)), false) => {
                let (ok, err) = close(v, num(exp));
                max_err = max_err.max(err);
                if !ok {
                    failures.push(format!("{id}: {v:?} vs {exp} kw={}", case["kw"]));
                }
            }
            (Ok(Out::Matrix(m)), false) => {
                let rows = exp.as_array().expect("matrix");
                let same_shape = rows.len() == m.len()
                    && rows
                        .iter()
                        .zip(&m)
                        .all(|(r, g)| r.as_array().is_some_and(|r| r.len() == g.len()));
                let ok = same_shape
                    && rows.iter().zip(&m).all(|(r, g)| {
                        floats(r).iter().zip(g).all(|(e, v)| {
                            let (ok, err) = close(*v, *e);
                            max_err = max_err.max(err);
                            ok
                        })
                    });
                if !ok {
                    failures.push(format!("{id}: {m:?} vs {exp} kw={}", case["kw"]));
                }
            }
        }
    }
    eprintln!("{} cases, max error {max_err:e}", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
