//! Parity of the NannyML mode with NannyML 0.13.1 itself, against the golden fixtures written
//! by `fixtures/drift/gen_nannyml.py` (see there how to rerun it): every value, p-value,
//! upper threshold and alert, within 1e-9, through the method API and through
//! [`NannymlDriftDetector`] on Arrow batches.

use std::sync::Arc;

use arrow_array::{Float64Array, RecordBatch, StringArray};
use mlops_core::DriftDetector;
use mlops_eval::drift::nannyml::{
    NannymlDriftDetector, NannymlMethod, NannymlOptions, NannymlReference,
};
use serde_json::Value;

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/drift/nannyml_golden.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file")).expect("JSON")
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "nan" => Some(f64::NAN),
        other => panic!("bad float {other}"),
    }
}

fn sample(v: &Value) -> Vec<f64> {
    if let Some(spec) = v.get("lcg") {
        let s: Vec<f64> = spec.as_array().unwrap().iter().filter_map(num).collect();
        let (n, a, c, m) = (s[0] as u64, s[1] as u64, s[2] as u64, s[3] as u64);
        return (0..n)
            .map(|i| {
                let u = ((a * i + c) % m) as f64 / m as f64;
                s[5] + s[4] * u * u
            })
            .collect();
    }
    v.as_array().unwrap().iter().filter_map(num).collect()
}

fn strings(v: &Value) -> Vec<Option<String>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn method(key: &str) -> NannymlMethod {
    serde_json::from_value(Value::String(key.to_string())).expect("method key")
}

fn close(got: f64, want: f64) -> bool {
    (got.is_nan() && want.is_nan()) || (got - want).abs() <= 1e-12 + 1e-9 * want.abs()
}

#[test]
fn every_value_threshold_and_alert_matches_nannyml() {
    let doc = fixtures();
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let continuous = case["type"] == "continuous";
        for r in case["results"].as_array().unwrap() {
            let m = method(r["method"].as_str().unwrap());
            let (fitted, got) = if continuous {
                let f = NannymlReference::fit_continuous(m, &sample(&case["reference"])).unwrap();
                let v = f.calculate_continuous(&sample(&case["current"])).unwrap();
                (f, v)
            } else {
                let (rs, cs) = (strings(&case["reference"]), strings(&case["current"]));
                let rs: Vec<Option<&str>> = rs.iter().map(|s| s.as_deref()).collect();
                let cs: Vec<Option<&str>> = cs.iter().map(|s| s.as_deref()).collect();
                let f = NannymlReference::fit_categorical(m, &rs).unwrap();
                let v = f.calculate_categorical(&cs).unwrap();
                (f, v)
            };
            let want = num(&r["value"]).unwrap();
            let want_upper = num(&r["upper_threshold"]);
            let ok_upper = match (fitted.upper_threshold, want_upper) {
                (None, None) => true,
                (Some(a), Some(b)) => close(a, b),
                _ => false,
            };
            let ok_p = match (got.p_value, r.get("p_value").and_then(num)) {
                (None, None) => true,
                (Some(a), Some(b)) => close(a, b),
                _ => false,
            };
            let ok = close(got.value, want) && ok_upper && ok_p && got.alert == r["alert"];
            if !ok {
                failures.push(format!(
                    "{name}/{}: value {} vs {want}, upper {:?} vs {want_upper:?}, p {:?}, alert {} vs {}",
                    m.key(),
                    got.value,
                    fitted.upper_threshold,
                    got.p_value,
                    got.alert,
                    r["alert"]
                ));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 44, "only {checked} fixture values");
}

#[test]
fn the_detector_reports_nannymls_values_on_arrow_batches() {
    let doc = fixtures();
    let cases = doc["cases"].as_array().unwrap();
    let num_case = cases
        .iter()
        .find(|c| c["name"] == "integers_shifted")
        .unwrap();
    let cat_case = cases
        .iter()
        .find(|c| c["name"] == "many_categories")
        .unwrap();
    // Same length for both columns: cut to the shorter of each side.
    let (xr, xc) = (sample(&num_case["reference"]), sample(&num_case["current"]));
    let (cr, cc) = (
        strings(&cat_case["reference"]),
        strings(&cat_case["current"]),
    );
    assert!(cr.len() >= xr.len() && cc.len() >= xc.len());
    let batch = |x: &[f64], c: &[Option<String>]| {
        RecordBatch::try_from_iter([
            ("x", Arc::new(Float64Array::from(x.to_vec())) as _),
            ("c", Arc::new(StringArray::from(c[..x.len()].to_vec())) as _),
        ])
        .unwrap()
    };
    for key in ["hellinger", "wasserstein"] {
        let detector = NannymlDriftDetector::new(NannymlOptions {
            continuous_method: method(key),
            categorical_method: NannymlMethod::Chi2,
            ..Default::default()
        });
        let fitted = detector.fit(&batch(&xr, &cr)).unwrap();
        // Through JSON, as a stored reference would be.
        let fitted: mlops_core::FittedReference =
            serde_json::from_str(&serde_json::to_string(&fitted).unwrap()).unwrap();
        let report = detector.score(&fitted, &batch(&xc, &cc)).unwrap();
        let x = report.columns.iter().find(|c| c.column == "x").unwrap();
        let want = num_case["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["method"] == key)
            .unwrap();
        assert!(
            close(x.statistic, num(&want["value"]).unwrap()),
            "{key}: {}",
            x.statistic
        );
        assert_eq!(x.drifted, want["alert"] == true);
        let c = report.columns.iter().find(|c| c.column == "c").unwrap();
        assert_eq!(c.method, "chi2");
        assert!(c.p_value.is_some());
        assert!(report.drifted);
    }
    // A reference from another detector is refused, naming it.
    let other = mlops_core::FittedReference {
        detector: "someone-else".into(),
        version: 1,
        state: Value::Null,
    };
    let err = NannymlDriftDetector::default()
        .score(&other, &batch(&xc, &cc))
        .unwrap_err()
        .to_string();
    assert!(err.contains("someone-else"), "{err}");
}
