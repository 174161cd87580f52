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
//! The end-to-end path is one task per column, taken by `--threads` workers (default: every
//! core) from a shared counter, so reading and computing overlap across columns:
//! - numeric column: both sides decoded straight from the Parquet column chunks into two
//!   buffers the worker reuses (no record batches, no copies, no fresh pages to fault in),
//!   the reference std taken while the values are in cache, both sides sorted in place by
//!   the library's radix sort (`mlops_eval::drift::sort_f64_with`, scratch reused), then KS
//!   (scipy `auto`) and Wasserstein (normed by std(ref)) in one merge
//!   (`ks_wasserstein_sorted`; its time is split between the two), PSI on reference deciles
//!   and JS base 2 on 10 shared bins by binary search of the sorted sides (`O(bins log n)`);
//! - string column: read as dictionary keys (a bincount, no hashing per row), chi-square
//!   goodness of fit against the scaled reference counts.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_schema::{DataType, Field, Schema};
use mlops_eval::drift::binned::{PSI_EPS, histogram_bin_edges, histogram_sorted, quantile_edges};
use mlops_eval::drift::{
    SortScratch, chisquare_counts, jensenshannon, ks_wasserstein_sorted, sort_f64_with,
    std_population,
};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::basic::Type as PhysicalType;
use parquet::column::reader::get_typed_column_reader;
use parquet::data_type::DoubleType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::{Map, Value, json};

#[path = "common.rs"]
mod common;
use common::peak_rss_mb;

/// A column of both files: its name, its leaf index in each file, and how to read it.
struct Column {
    name: String,
    ref_leaf: usize,
    cur_leaf: usize,
    numeric: bool,
}

/// The columns of the reference with their leaf in the current file.
fn columns(ref_path: &str, cur_path: &str) -> (Vec<Column>, usize, usize) {
    let open = |p: &str| {
        SerializedFileReader::new(File::open(p).unwrap_or_else(|e| panic!("{p}: {e}")))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
    };
    let (r, c) = (open(ref_path), open(cur_path));
    let rows = |f: &SerializedFileReader<File>| f.metadata().file_metadata().num_rows() as usize;
    let cur_schema = c.metadata().file_metadata().schema_descr_ptr();
    let leaf_of = |name: &str| {
        (0..cur_schema.num_columns())
            .find(|&i| cur_schema.column(i).name() == name)
            .unwrap_or_else(|| panic!("column {name} missing from {cur_path}"))
    };
    let ref_schema = r.metadata().file_metadata().schema_descr_ptr();
    let cols = (0..ref_schema.num_columns())
        .map(|i| {
            let d = ref_schema.column(i);
            let numeric = match d.physical_type() {
                PhysicalType::DOUBLE => true,
                PhysicalType::BYTE_ARRAY => false,
                t => panic!("column {}: unsupported physical type {t}", d.name()),
            };
            Column {
                name: d.name().to_string(),
                ref_leaf: i,
                cur_leaf: leaf_of(d.name()),
                numeric,
            }
        })
        .collect();
    (cols, rows(&r), rows(&c))
}

/// Decodes a DOUBLE column of every row group into `out` (cleared first), nulls skipped;
/// `def` holds the definition levels (reused).
fn read_doubles(
    file: &SerializedFileReader<File>,
    leaf: usize,
    out: &mut Vec<f64>,
    def: &mut Vec<i16>,
) {
    out.clear();
    for rg in 0..file.num_row_groups() {
        let group = file.get_row_group(rg).expect("row group");
        let rows = group.metadata().num_rows() as usize;
        out.reserve(rows);
        let mut reader =
            get_typed_column_reader::<DoubleType>(group.get_column_reader(leaf).expect("column"));
        loop {
            def.clear();
            let (records, _, _) = reader
                .read_records(rows, Some(&mut *def), None, out)
                .expect("decode");
            if records == 0 {
                break;
            }
        }
    }
}

/// Category counts of a string column, read as dictionary keys and bincounted.
fn read_categories(path: &str, leaf: usize) -> BTreeMap<String, u64> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file.try_clone().expect("file")).expect("parquet");
    let fields: Vec<Field> = builder
        .schema()
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
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).expect("parquet");
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [leaf]);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(1 << 20)
        .build()
        .expect("reader");
    let mut counts: HashMap<String, u64> = HashMap::new();
    for b in reader {
        let b = b.expect("batch");
        let dict = b.column(0).as_dictionary::<Int32Type>();
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
    counts.into_iter().collect()
}

#[derive(Default, Clone, Copy)]
struct Times {
    read: f64,
    sort: f64,
    ks: f64,
    psi: f64,
    wasserstein: f64,
    js: f64,
    chi2: f64,
}

impl Times {
    fn add(&mut self, o: &Times) {
        self.read += o.read;
        self.sort += o.sort;
        self.ks += o.ks;
        self.psi += o.psi;
        self.wasserstein += o.wasserstein;
        self.js += o.js;
        self.chi2 += o.chi2;
    }
}

/// A worker's reusable buffers: both sides of a column and the sort scratch.
#[derive(Default)]
struct Buffers {
    r: Vec<f64>,
    c: Vec<f64>,
    def: Vec<i16>,
    scratch: SortScratch,
}

/// PSI on reference deciles (BENCHMARKS.md): bins `searchsorted(edges, x, 'right')`, read
/// off both sorted sides at the edges; exact zeros replaced by 1e-4.
fn psi_deciles(rs: &[f64], cs: &[f64]) -> f64 {
    let mut edges = vec![f64::NEG_INFINITY];
    edges.extend(quantile_edges(rs, 10));
    edges.push(f64::INFINITY);
    let (pr, pc) = (histogram_sorted(rs, &edges), histogram_sorted(cs, &edges));
    let (nr, nc) = (rs.len() as f64, cs.len() as f64);
    let mut s = 0.0;
    for (r, c) in pr.iter().zip(&pc) {
        let q = *c as f64 / nc;
        let q = if q == 0.0 { PSI_EPS } else { q };
        let r = *r as f64 / nr;
        let r = if r == 0.0 { PSI_EPS } else { r };
        s += (q - r) * (q / r).ln();
    }
    s
}

/// Jensen-Shannon distance, base 2, on `numpy.histogram_bin_edges(concat, 10)`.
fn js_shared_bins(rs: &[f64], cs: &[f64]) -> f64 {
    let lo = rs[0].min(cs[0]);
    let hi = rs[rs.len() - 1].max(cs[cs.len() - 1]);
    let edges = histogram_bin_edges(lo, hi, 10);
    let p: Vec<f64> = histogram_sorted(rs, &edges)
        .iter()
        .map(|c| *c as f64 / rs.len() as f64)
        .collect();
    let q: Vec<f64> = histogram_sorted(cs, &edges)
        .iter()
        .map(|c| *c as f64 / cs.len() as f64)
        .collect();
    jensenshannon(&p, &q, Some(2.0))
}

fn numeric_column(
    files: &(SerializedFileReader<File>, SerializedFileReader<File>),
    col: &Column,
    buf: &mut Buffers,
) -> (Value, Times) {
    let mut t = Times::default();
    let t0 = Instant::now();
    read_doubles(&files.0, col.ref_leaf, &mut buf.r, &mut buf.def);
    read_doubles(&files.1, col.cur_leaf, &mut buf.c, &mut buf.def);
    t.read = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let std = std_population(&buf.r);
    t.wasserstein += t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    sort_f64_with(&mut buf.r, &mut buf.scratch);
    sort_f64_with(&mut buf.c, &mut buf.scratch);
    t.sort = t0.elapsed().as_secs_f64();
    let (rs, cs) = (&buf.r, &buf.c);
    // KS and Wasserstein in one merge; its time is split between the two.
    let t0 = Instant::now();
    let kw = ks_wasserstein_sorted(rs, cs).expect("ks");
    let wd = kw.wasserstein / std;
    let half = t0.elapsed().as_secs_f64() / 2.0;
    t.ks = half;
    t.wasserstein += half;
    let t0 = Instant::now();
    let psi = psi_deciles(rs, cs);
    t.psi = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let js = js_shared_bins(rs, cs);
    t.js = t0.elapsed().as_secs_f64();
    (
        json!({
            "ks_stat": kw.ks_statistic, "ks_p": kw.ks_p_value, "psi": psi, "wasserstein_norm": wd,
            "js_base2": js, "ks_drift": kw.ks_p_value < 0.05, "psi_drift": psi > 0.1,
        }),
        t,
    )
}

fn categorical_column(ref_path: &str, cur_path: &str, col: &Column) -> (Value, Times) {
    let mut t = Times::default();
    let t0 = Instant::now();
    let rc = read_categories(ref_path, col.ref_leaf);
    let cc = read_categories(cur_path, col.cur_leaf);
    t.read = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let r = chisquare_counts(&rc, &cc).expect("chisquare");
    t.chi2 = t0.elapsed().as_secs_f64();
    (
        json!({"chi2_stat": r.statistic, "chi2_p": r.p_value, "chi2_df": r.dof, "chi2_drift": r.p_value < 0.05}),
        t,
    )
}

fn main() {
    let mut ref_path = "bench-data/drift_ref.parquet".to_string();
    let mut cur_path = "bench-data/drift_cur.parquet".to_string();
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
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
    let (cols, rows_ref, rows_cur) = columns(&ref_path, &cur_path);
    // Numeric columns first: the categorical ones are short and fill the tail.
    let mut order: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].numeric).collect();
    order.extend((0..cols.len()).filter(|&i| !cols[i].numeric));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Value, Times)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (cols, order, next) = (&cols, &order, &next);
                let (ref_path, cur_path) = (&ref_path, &cur_path);
                s.spawn(move || {
                    let open = |p: &str| {
                        SerializedFileReader::new(File::open(p).expect("open")).expect("parquet")
                    };
                    let files = (open(ref_path), open(cur_path));
                    let mut buf = Buffers::default();
                    let mut out = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&j) = order.get(k) else { break };
                        let (v, t) = if cols[j].numeric {
                            numeric_column(&files, &cols[j], &mut buf)
                        } else {
                            categorical_column(ref_path, cur_path, &cols[j])
                        };
                        out.push((j, v, t));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    let total = start.elapsed().as_secs_f64();
    results.sort_by_key(|r| r.0);
    let mut per = Map::new();
    let mut acc = Times::default();
    for (j, v, t) in results {
        per.insert(cols[j].name.clone(), v);
        acc.add(&t);
    }

    let list = |key: &str| -> Vec<String> {
        cols.iter()
            .filter(|c| per[&c.name].get(key).and_then(Value::as_bool) == Some(true))
            .map(|c| c.name.clone())
            .collect()
    };
    let drifted =
        json!({"ks": list("ks_drift"), "psi": list("psi_drift"), "chi2": list("chi2_drift")});
    let expected =
        json!({"ks": ["f0", "f1", "f2", "f3"], "psi": ["f1", "f3"], "chi2": ["c0", "c1"]});
    let n_numeric = cols.iter().filter(|c| c.numeric).count();
    let stats = acc.sort + acc.ks + acc.psi + acc.wasserstein + acc.js + acc.chi2;
    let out = json!({
        "workload": "W-DRIFT", "impl": "mlops", "threads": threads,
        "rows_ref": rows_ref, "rows_cur": rows_cur,
        "columns": per, "drifted": drifted, "as_expected": drifted == expected,
        // Per-step times are summed over the workers (thread-seconds); total is wall time.
        "time_s": {
            "read": acc.read, "stats": stats,
            "stat_sort": acc.sort, "stat_ks": acc.ks, "stat_psi": acc.psi,
            "stat_wasserstein": acc.wasserstein, "stat_js": acc.js, "stat_chi2": acc.chi2,
            "total": total,
        },
        "cells_per_s": (rows_ref + rows_cur) as f64 * cols.len() as f64 / total,
        "numeric_values_per_s_stats": (rows_ref + rows_cur) as f64 * n_numeric as f64 / (stats - acc.chi2),
        "peak_rss_mb": peak_rss_mb(),
    });
    println!("{out}");
}
