//! W-DRIFT (`../shared/BENCHMARKS.md`): per-column drift statistics between
//! `drift_ref.parquet` and `drift_cur.parquet`, printing one JSON line with the same fields
//! as the scipy peer (`../shared/bench/peers/peer_drift.py --impl scipy`).
//!
//! ```text
//! cargo run --release -p mlops-benches --bin w_drift -- \
//!     --ref bench-data/drift_ref.parquet --cur bench-data/drift_cur.parquet [--threads N]
//! ```
//! `benches/w_drift.py` runs this beside scipy and Evidently, interleaved, and prints the
//! ratios and the agreement.
//!
//! Per numeric column: the reference is fitted once (sorted values, decile edges and
//! proportions, std), then the current column is sorted and scored: KS (scipy `auto`),
//! PSI on reference deciles, Wasserstein normed by std(ref), JS base 2 on 10 shared bins.
//! Per string column: chi-square goodness of fit against the scaled reference counts.
//! Columns are spread over `--threads` worker threads (default 1, so times are per core).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use mlops_eval::drift::binned::BinnedReference;
use mlops_eval::drift::{
    KsOptions, chisquare_counts, ks_2samp_sorted, std_population, wasserstein_distance_sorted,
};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use serde_json::{Map, Value, json};
use std::sync::Arc;

#[path = "common.rs"]
mod common;
use common::peak_rss_mb;

struct Table {
    num: Vec<(String, Vec<f64>)>,
    cat: Vec<(String, BTreeMap<String, u64>)>,
    rows: usize,
}

fn read(path: &str) -> Table {
    // String columns are read as dictionaries (they are dictionary-encoded in the file), so
    // category counts come from a bincount of the keys instead of hashing every row.
    let file = File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema = ParquetRecordBatchReaderBuilder::try_new(file.try_clone().expect("file"))
        .expect("parquet")
        .schema()
        .clone();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Field::new(
                f.name(),
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                f.is_nullable(),
            ),
            _ => f.as_ref().clone(),
        })
        .collect();
    let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .expect("parquet")
        .with_batch_size(1 << 16)
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    let schema = batches.first().expect("non-empty file").schema();
    let rows = batches.iter().map(|b| b.num_rows()).sum();
    let mut num = Vec::new();
    let mut cat = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        match field.data_type() {
            DataType::Float64 => {
                let mut v = Vec::with_capacity(rows);
                for b in &batches {
                    v.extend_from_slice(b.column(i).as_primitive::<Float64Type>().values());
                }
                num.push((field.name().clone(), v));
            }
            DataType::Dictionary(_, _) => {
                let mut counts: HashMap<String, u64> = HashMap::new();
                for b in &batches {
                    let dict = b.column(i).as_dictionary::<Int32Type>();
                    let mut bins = vec![0u64; dict.values().len()];
                    match dict.keys().nulls() {
                        None => dict
                            .keys()
                            .values()
                            .iter()
                            .for_each(|k| bins[*k as usize] += 1),
                        Some(_) => dict
                            .keys()
                            .iter()
                            .flatten()
                            .for_each(|k| bins[k as usize] += 1),
                    }
                    let values = dict.values().as_string::<i32>();
                    for (k, c) in bins.iter().enumerate() {
                        if *c > 0 {
                            *counts.entry(values.value(k).to_string()).or_insert(0) += c;
                        }
                    }
                }
                cat.push((field.name().clone(), counts.into_iter().collect()));
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let mut counts: HashMap<String, u64> = HashMap::new();
                for b in &batches {
                    let col = b.column(i);
                    let mut add = |s: Option<&str>| {
                        if let Some(s) = s {
                            match counts.get_mut(s) {
                                Some(c) => *c += 1,
                                None => {
                                    counts.insert(s.to_string(), 1);
                                }
                            }
                        }
                    };
                    match col.data_type() {
                        DataType::Utf8 => col.as_string::<i32>().iter().for_each(&mut add),
                        DataType::LargeUtf8 => col.as_string::<i64>().iter().for_each(&mut add),
                        _ => col.as_string_view().iter().for_each(&mut add),
                    }
                }
                cat.push((field.name().clone(), counts.into_iter().collect()));
            }
            t => panic!("column {}: unsupported type {t}", field.name()),
        }
    }
    Table { num, cat, rows }
}

#[derive(Default, Clone, Copy)]
struct Times {
    sort: f64,
    ks: f64,
    psi: f64,
    wasserstein: f64,
    js: f64,
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    mlops_eval::drift::sort_f64(&mut s);
    s
}

fn numeric_column(r: &[f64], c: &[f64]) -> (Value, Times) {
    let mut t = Times::default();
    let t0 = Instant::now();
    let rs = sorted(r);
    let cs = sorted(c);
    t.sort = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let ks = ks_2samp_sorted(&rs, &cs, &KsOptions::default()).expect("ks");
    t.ks = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let binned = BinnedReference::from_sorted(rs, 10);
    let psi = binned.psi_quantile(c);
    t.psi = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let wd = wasserstein_distance_sorted(&binned.sorted, &cs) / std_population(r);
    t.wasserstein = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let js = binned.js_shared_bins(c, 10, Some(2.0)).expect("js");
    t.js = t0.elapsed().as_secs_f64();
    (
        json!({
            "ks_stat": ks.statistic, "ks_p": ks.p_value, "psi": psi, "wasserstein_norm": wd,
            "js_base2": js, "ks_drift": ks.p_value < 0.05, "psi_drift": psi > 0.1,
        }),
        t,
    )
}

fn main() {
    let mut ref_path = "bench-data/drift_ref.parquet".to_string();
    let mut cur_path = "bench-data/drift_cur.parquet".to_string();
    let mut threads = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ref" => ref_path = args.next().expect("--ref PATH"),
            "--cur" => cur_path = args.next().expect("--cur PATH"),
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--threads N")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let threads = threads.max(1);
    let start = Instant::now();
    let (rt, ct) = std::thread::scope(|s| {
        let h = s.spawn(|| read(&cur_path));
        let r = read(&ref_path);
        (r, h.join().expect("reader thread"))
    });
    let t_read = start.elapsed().as_secs_f64();

    let t_stats = Instant::now();
    let jobs: Vec<usize> = (0..rt.num.len()).collect();
    let chunks: Vec<Vec<usize>> = (0..threads)
        .map(|k| jobs.iter().copied().filter(|j| j % threads == k).collect())
        .collect();
    let mut results: Vec<(usize, Value, Times)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let (rt, ct) = (&rt, &ct);
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&j| {
                            let name = &rt.num[j].0;
                            let cur = &ct
                                .num
                                .iter()
                                .find(|(n, _)| n == name)
                                .expect("current column")
                                .1;
                            let (v, t) = numeric_column(&rt.num[j].1, cur);
                            (j, v, t)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    results.sort_by_key(|r| r.0);
    let mut per = Map::new();
    let mut acc = Times::default();
    for (j, v, t) in results {
        per.insert(rt.num[j].0.clone(), v);
        acc.sort += t.sort;
        acc.ks += t.ks;
        acc.psi += t.psi;
        acc.wasserstein += t.wasserstein;
        acc.js += t.js;
    }
    let t0 = Instant::now();
    for (name, rc) in &rt.cat {
        let cc = &ct
            .cat
            .iter()
            .find(|(n, _)| n == name)
            .expect("current column")
            .1;
        let r = chisquare_counts(rc, cc).expect("chisquare");
        per.insert(
            name.clone(),
            json!({"chi2_stat": r.statistic, "chi2_p": r.p_value, "chi2_df": r.dof, "chi2_drift": r.p_value < 0.05}),
        );
    }
    let t_chi2 = t0.elapsed().as_secs_f64();
    let t_stats = t_stats.elapsed().as_secs_f64();
    let total = start.elapsed().as_secs_f64();

    let list = |key: &str| -> Vec<String> {
        per.iter()
            .filter(|(_, v)| v.get(key).and_then(Value::as_bool) == Some(true))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let mut order: Vec<String> = rt
        .num
        .iter()
        .map(|c| c.0.clone())
        .chain(rt.cat.iter().map(|c| c.0.clone()))
        .collect();
    order.dedup();
    let in_order = |v: Vec<String>| -> Vec<String> {
        order.iter().filter(|c| v.contains(c)).cloned().collect()
    };
    let drifted = json!({
        "ks": in_order(list("ks_drift")), "psi": in_order(list("psi_drift")), "chi2": in_order(list("chi2_drift")),
    });
    let expected =
        json!({"ks": ["f0", "f1", "f2", "f3"], "psi": ["f1", "f3"], "chi2": ["c0", "c1"]});
    let ncols = rt.num.len() + rt.cat.len();
    let out = json!({
        "workload": "W-DRIFT", "impl": "mlops", "threads": threads,
        "rows_ref": rt.rows, "rows_cur": ct.rows,
        "columns": per, "drifted": drifted, "as_expected": drifted == expected,
        "time_s": {
            "read": t_read, "stats": t_stats,
            "stat_sort": acc.sort, "stat_ks": acc.ks, "stat_psi": acc.psi,
            "stat_wasserstein": acc.wasserstein, "stat_js": acc.js, "stat_chi2": t_chi2,
            "total": total,
        },
        "cells_per_s": 2.0 * rt.rows as f64 * ncols as f64 / total,
        "numeric_values_per_s_stats": (rt.rows + ct.rows) as f64 * rt.num.len() as f64 / (t_stats - t_chi2),
        "peak_rss_mb": peak_rss_mb(),
    });
    println!("{out}");
}
