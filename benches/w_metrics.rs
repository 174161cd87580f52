//! W-METRICS (`../shared/BENCHMARKS.md`): classification metrics on a `preds*.parquet`
//! file, printing one JSON line with the same fields as the scikit-learn peer
//! (`../shared/bench/peers/peer_metrics.py`).
//!
//! ```text
//! cargo run --release -p mlops-benches --bin w_metrics -- --input bench-data/preds_bin.parquet
//! ```
//! `benches/w_metrics.py` runs this beside scikit-learn, interleaved, and prints the ratios
//! and the agreement.

use std::fs::File;
use std::time::Instant;

use arrow_array::{Array, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow_schema::DataType;
use mlops_eval::metrics::{
    Average, BinaryCurve, ConfusionOptions, LogLossOptions, MultiClass, PrfOptions, RocAucOptions,
    ScoreMatrix, ZeroDivision, accuracy_score, brier_score_loss, confusion_matrix, f1_score,
    log_loss, precision_recall_fscore, roc_auc_score,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

#[path = "common.rs"]
mod common;
use common::peak_rss_mb;

fn ints(batch: &RecordBatch, name: &str, out: &mut Vec<i64>) {
    let col = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"));
    match col.data_type() {
        DataType::Int32 => {
            let a = col.as_any().downcast_ref::<Int32Array>().expect("int32");
            out.extend(a.values().iter().map(|v| *v as i64));
        }
        DataType::Int64 => {
            let a = col.as_any().downcast_ref::<Int64Array>().expect("int64");
            out.extend_from_slice(a.values());
        }
        t => panic!("column {name}: unsupported type {t}"),
    }
}

fn floats(batch: &RecordBatch, name: &str, out: &mut Vec<f64>) {
    let col = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"));
    let a = col
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("float64");
    out.extend_from_slice(a.values());
}

struct Data {
    label: Vec<i64>,
    score: Vec<f64>,
    /// Row-major probabilities (empty for a binary file).
    proba: Vec<f64>,
    k: usize,
}

fn load(path: &str) -> Data {
    let file = File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
    let schema = builder.schema().clone();
    let mut pcols: Vec<(usize, String)> = schema
        .fields()
        .iter()
        .filter_map(|f| {
            f.name()
                .strip_prefix("proba_")
                .map(|k| (k.parse().expect("proba_K"), f.name().clone()))
        })
        .collect();
    pcols.sort();
    let k = pcols.len();
    let reader = builder.with_batch_size(1 << 16).build().expect("reader");
    let (mut label, mut score) = (Vec::new(), Vec::new());
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); k];
    for batch in reader {
        let batch = batch.expect("batch");
        ints(&batch, "label", &mut label);
        floats(&batch, "score", &mut score);
        for (c, (_, name)) in cols.iter_mut().zip(&pcols) {
            floats(&batch, name, c);
        }
    }
    let n = label.len();
    let mut proba = Vec::with_capacity(n * k);
    for i in 0..n {
        for c in &cols {
            proba.push(c[i]);
        }
    }
    Data {
        label,
        score,
        proba,
        k,
    }
}

fn binary(d: &Data) -> (serde_json::Value, Vec<Vec<f64>>) {
    let y = &d.label;
    std::thread::scope(|sc| {
        // the sort behind ROC AUC and AP runs beside the counting metrics
        let curve = sc.spawn(|| {
            let c = BinaryCurve::new(y, &d.score, 1, None).expect("curve");
            (c.roc_auc(), c.average_precision())
        });
        let pred: Vec<i64> = d.score.iter().map(|s| i64::from(*s >= 0.5)).collect();
        let prf = PrfOptions {
            zero_division: ZeroDivision::Zero,
            ..Default::default()
        };
        let (precision, recall, f1) = precision_recall_fscore(y, &pred, 1.0, &prf).expect("prf");
        let m = ScoreMatrix::column(&d.score);
        let accuracy = accuracy_score(y, &pred, true, None).expect("accuracy");
        let log_loss = log_loss(y, m, &LogLossOptions::default()).expect("log_loss");
        let brier = brier_score_loss(y, m, &Default::default()).expect("brier");
        let labels = [0i64, 1];
        let cm = confusion_matrix(
            y,
            &pred,
            &ConfusionOptions {
                labels: Some(&labels),
                ..Default::default()
            },
        )
        .expect("confusion");
        let (roc_auc, average_precision) = curve.join().expect("curve thread");
        let metrics = json!({
            "accuracy": accuracy,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "roc_auc": roc_auc,
            "average_precision": average_precision,
            "log_loss": log_loss,
            "brier": brier,
        });
        (metrics, cm)
    })
}

fn multi(d: &Data) -> (serde_json::Value, Vec<Vec<f64>>) {
    let y = &d.label;
    let k = d.k;
    let pred: Vec<i64> = d
        .proba
        .chunks_exact(k)
        .map(|row| {
            let mut best = 0;
            for j in 1..k {
                if row[j] > row[best] {
                    best = j;
                }
            }
            best as i64
        })
        .collect();
    let labels: Vec<i64> = (0..k as i64).collect();
    let m = ScoreMatrix::new(&d.proba, k).expect("matrix");
    std::thread::scope(|sc| {
        // the one-vs-rest sorts run beside the counting metrics
        let auc = sc.spawn(|| {
            let o = RocAucOptions {
                average: Average::Macro,
                multi_class: MultiClass::Ovr,
                labels: Some(&labels),
                sample_weight: None,
            };
            roc_auc_score(y, m, &o).expect("roc_auc")
        });
        let f1 = |average| {
            let o = PrfOptions {
                average,
                zero_division: ZeroDivision::Zero,
                labels: Some(&labels),
                ..Default::default()
            };
            f1_score(y, &pred, &o).expect("f1")
        };
        let accuracy = accuracy_score(y, &pred, true, None).expect("accuracy");
        let (f1_macro, f1_weighted) = (f1(Average::Macro), f1(Average::Weighted));
        let ll = log_loss(
            y,
            m,
            &LogLossOptions {
                labels: Some(&labels),
                ..Default::default()
            },
        )
        .expect("log_loss");
        let cm = confusion_matrix(
            y,
            &pred,
            &ConfusionOptions {
                labels: Some(&labels),
                ..Default::default()
            },
        )
        .expect("confusion");
        let metrics = json!({
            "accuracy": accuracy,
            "f1_macro": f1_macro,
            "f1_weighted": f1_weighted,
            "log_loss": ll,
            "roc_auc_ovr_macro": auc.join().expect("roc_auc thread"),
        });
        (metrics, cm)
    })
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut input = String::from("bench-data/preds_bin.parquet");
    let mut i = 0;
    while i < argv.len() {
        match argv[i].as_str() {
            "--input" => input = argv.get(i + 1).cloned().expect("--input PATH"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    let t0 = Instant::now();
    let d = load(&input);
    let read = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let (metrics, cm) = if d.k == 0 { binary(&d) } else { multi(&d) };
    let metrics_s = t1.elapsed().as_secs_f64();
    let total = t0.elapsed().as_secs_f64();
    let kind = if d.k == 0 {
        "binary".to_string()
    } else {
        format!("multiclass_{}", d.k)
    };
    let cm: Vec<Vec<i64>> = cm
        .iter()
        .map(|r| r.iter().map(|v| *v as i64).collect())
        .collect();
    let out = json!({
        "workload": "W-METRICS",
        "impl": "mlops",
        "kind": kind,
        "input": input,
        "rows": d.label.len(),
        "metrics": metrics,
        "confusion_matrix": cm,
        "time_s": {"read": read, "metrics": metrics_s, "total": total},
        "rows_per_s": d.label.len() as f64 / metrics_s,
        "peak_rss_mb": peak_rss_mb(),
    });
    println!("{out}");
}
