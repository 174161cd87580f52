//! Parity of `mlops_core::features` with scikit-learn 1.9.1 on the golden corpus
//! `fixtures/features/features_golden.json` (regenerate with
//! `fixtures/features/gen_features.py`, whose docstring says how each of our transforms maps
//! onto scikit-learn's estimators). No Python is needed here.
//!
//! Each case fits one column spec on the training table (cut into two batches) and
//! transforms the training table and a second table with unseen values. Outputs (our `f32`)
//! agree when within 1e-6 absolute or relative of scikit-learn's float64; fitted statistics
//! within 1e-12; categories exactly (text by string, numbers by value); MurmurHash3 exactly.
//! The per-row JSON path must give the same bits as the batch path.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use mlops_core::features::hash::murmur3_32;
use mlops_core::features::{ColumnSpec, FeaturePipeline, Fill, FittedTransform, PipelineSpec};
use serde_json::Value;

const OUT_TOL: f64 = 1e-6;
const STAT_TOL: f64 = 1e-12;

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/features/features_golden.json"
    );
    let text = std::fs::read_to_string(path).expect("features_golden.json (run gen_features.py)");
    serde_json::from_str(&text).expect("valid JSON")
}

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

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1.0)
}

/// One input column: its Arrow array, and its values as JSON requests carry them.
fn column(kind: &str, values: &[Value]) -> (ArrayRef, DataType, Vec<Value>) {
    let json: Vec<Value> = values
        .iter()
        .map(|v| match v {
            Value::String(s) if kind == "float64" && s == "nan" => Value::Null,
            other => other.clone(),
        })
        .collect();
    let (array, dtype): (ArrayRef, DataType) = match kind {
        "float64" => (
            Arc::new(Float64Array::from(
                values
                    .iter()
                    .map(|v| (!v.is_null()).then(|| num(v)))
                    .collect::<Vec<_>>(),
            )),
            DataType::Float64,
        ),
        "int64" => (
            Arc::new(Int64Array::from(
                values.iter().map(Value::as_i64).collect::<Vec<_>>(),
            )),
            DataType::Int64,
        ),
        "bool" => (
            Arc::new(BooleanArray::from(
                values.iter().map(Value::as_bool).collect::<Vec<_>>(),
            )),
            DataType::Boolean,
        ),
        "utf8" => (
            Arc::new(StringArray::from(
                values.iter().map(Value::as_str).collect::<Vec<_>>(),
            )),
            DataType::Utf8,
        ),
        other => panic!("column type {other}"),
    };
    (array, dtype, json)
}

/// The training (`"fit"`) or applied (`"apply"`) table as a batch and as JSON rows.
fn table(columns: &serde_json::Map<String, Value>, which: &str) -> (RecordBatch, Vec<Value>) {
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    let mut rows: Vec<serde_json::Map<String, Value>> = Vec::new();
    for (name, c) in columns {
        let values = c[which].as_array().expect("values");
        let (array, dtype, json) = column(c["type"].as_str().expect("type"), values);
        fields.push(Field::new(name.clone(), dtype, true));
        arrays.push(array);
        rows.resize(json.len(), serde_json::Map::new());
        for (row, v) in rows.iter_mut().zip(json) {
            row.insert(name.clone(), v);
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("batch");
    (batch, rows.into_iter().map(Value::Object).collect())
}

/// Compares one fitted statistic (a number) and records a failure.
fn stat(fails: &mut Vec<String>, id: &str, what: &str, got: f64, want: &Value) {
    let want = num(want);
    if !close(got, want, STAT_TOL) {
        fails.push(format!("{id}: {what} = {got:?}, scikit-learn {want:?}"));
    }
}

fn check_categories(fails: &mut Vec<String>, id: &str, got: &[String], want: &Value) {
    let want = want.as_array().expect("categories");
    let same = got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| match w {
            Value::String(s) => g == s,
            Value::Number(n) => g.parse::<f64>().ok() == n.as_f64(),
            _ => false,
        });
    if !same {
        fails.push(format!(
            "{id}: categories {got:?}, scikit-learn {}",
            Value::Array(want.clone())
        ));
    }
}

fn check_stats(fails: &mut Vec<String>, id: &str, p: &FeaturePipeline, want: &Value) {
    let col = &p.columns[0];
    let has = |k: &str| want.get(k).is_some();
    match (&col.fill, want.get("fill")) {
        (None, None) => {}
        (Some(Fill::Number(x)), Some(w)) => stat(fails, id, "fill", *x, w),
        (Some(Fill::Text(t)), Some(Value::String(w))) if t == w => {}
        (Some(Fill::Text(t)), Some(Value::Number(w))) if t.parse::<f64>().ok() == w.as_f64() => {}
        (got, w) => fails.push(format!("{id}: fill {got:?}, scikit-learn {w:?}")),
    }
    let mut seen = vec!["fill", "fit_out", "apply_out"];
    match &col.transform {
        FittedTransform::Standardize { mean, scale } if has("mean") && has("scale") => {
            stat(fails, id, "mean", *mean, &want["mean"]);
            stat(fails, id, "scale", *scale, &want["scale"]);
            seen.extend(["mean", "scale"]);
        }
        FittedTransform::MinMax { min, range } if has("min") && has("range") => {
            stat(fails, id, "min", *min, &want["min"]);
            stat(fails, id, "range", *range, &want["range"]);
            seen.extend(["min", "range"]);
        }
        FittedTransform::Bucketize { boundaries } if has("boundaries") => {
            let w: Vec<f64> = want["boundaries"]
                .as_array()
                .expect("boundaries")
                .iter()
                .map(num)
                .collect();
            let same = boundaries.len() == w.len()
                && boundaries
                    .iter()
                    .zip(&w)
                    .all(|(g, w)| close(*g, *w, STAT_TOL));
            if !same {
                fails.push(format!(
                    "{id}: boundaries {boundaries:?}, scikit-learn {w:?}"
                ));
            }
            seen.push("boundaries");
        }
        FittedTransform::OneHot { categories } | FittedTransform::Ordinal { categories }
            if has("categories") =>
        {
            check_categories(fails, id, categories.values(), &want["categories"]);
            seen.push("categories");
        }
        FittedTransform::Passthrough | FittedTransform::Hash { .. } => {}
        other => fails.push(format!(
            "{id}: fitted {other:?}, expected statistics {want}"
        )),
    }
    for k in want.as_object().expect("expected").keys() {
        if !seen.contains(&k.as_str()) {
            fails.push(format!("{id}: statistic {k} was not compared"));
        }
    }
}

fn check_outputs(
    fails: &mut Vec<String>,
    id: &str,
    which: &str,
    p: &FeaturePipeline,
    batch: &RecordBatch,
    rows: &[Value],
    want: &Value,
) {
    let want = want.as_array().expect("output rows");
    let m = match p.transform(batch) {
        Ok(m) => m,
        Err(e) => {
            fails.push(format!("{id}: transform of the {which} table failed: {e}"));
            return;
        }
    };
    assert_eq!(m.rows, want.len(), "{id}: {which} rows");
    for (r, w) in want.iter().enumerate() {
        let w: Vec<f64> = w.as_array().expect("row").iter().map(num).collect();
        let got = m.row(r);
        let same = got.len() == w.len()
            && got
                .iter()
                .zip(&w)
                .all(|(g, w)| close(*g as f64, *w, OUT_TOL));
        if !same {
            fails.push(format!(
                "{id}: {which} row {r} ({}) = {got:?}, scikit-learn {w:?}",
                rows[r][&p.columns[0].column]
            ));
            return; // one row per table is enough to diagnose
        }
        match p.transform_row(&rows[r]) {
            Ok(one)
                if one
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(got.iter().map(|v| v.to_bits())) => {}
            other => fails.push(format!(
                "{id}: {which} row {r} per-row path {other:?}, batch path {got:?}"
            )),
        }
    }
}

#[test]
fn feature_pipelines_match_scikit_learn() {
    let g = golden();
    let columns = g["columns"].as_object().expect("columns");
    let (fit, fit_rows) = table(columns, "fit");
    let (apply, apply_rows) = table(columns, "apply");
    let split = g["fit_split"].as_u64().expect("fit_split") as usize;
    let training = [
        fit.slice(0, split),
        fit.slice(split, fit.num_rows() - split),
    ];

    let cases = g["cases"].as_array().expect("cases");
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    let mut fails = Vec::new();
    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    for case in cases {
        let id = case["id"].as_str().expect("id");
        let spec: ColumnSpec = serde_json::from_value(case["spec"].clone()).expect("spec");
        *per_kind
            .entry(id.split('/').next().unwrap_or(id).to_owned())
            .or_default() += 1;
        let p = match PipelineSpec::new(vec![spec]).fit(&training) {
            Ok(p) => p,
            Err(e) => {
                fails.push(format!("{id}: fit failed: {e}"));
                continue;
            }
        };
        let want = &case["expected"];
        check_stats(&mut fails, id, &p, want);
        check_outputs(&mut fails, id, "fit", &p, &fit, &fit_rows, &want["fit_out"]);
        check_outputs(
            &mut fails,
            id,
            "apply",
            &p,
            &apply,
            &apply_rows,
            &want["apply_out"],
        );
    }
    let failing: std::collections::BTreeSet<&str> = fails
        .iter()
        .map(|f| f.split(": ").next().unwrap_or(f))
        .collect();
    assert!(
        fails.is_empty(),
        "{} of {} cases ({per_kind:?}) disagree with scikit-learn {}:\n{}",
        failing.len(),
        cases.len(),
        g["sklearn"],
        fails.join("\n")
    );
}

#[test]
fn murmur3_matches_scikit_learn() {
    let g = golden();
    let vectors = g["murmur"].as_array().expect("murmur");
    assert!(vectors.len() >= 50);
    for v in vectors {
        let s = v["s"].as_str().expect("s");
        let h = v["h"].as_i64().expect("h") as i32;
        assert_eq!(murmur3_32(s.as_bytes(), 0), h, "murmurhash3_32({s:?})");
    }
}
