//! W-DATA (`../shared/BENCHMARKS.md`): read, validate, dedup, split, write, fingerprint, on
//! mlops-data, printing one JSON line shaped like the peers' (`peer_data.py`).
//!
//! ```text
//! cargo run --release -p mlops-benches --bin w_data -- --input bench-data/tabular.parquet --out-dir bench-out/data
//! ```

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use mlops_core::ScanOptions;
use mlops_data::{
    Check, Dedup, HashSplit, ParquetSource, WriteOptions, content_fingerprint, count_violations,
    write_parquet,
};
use serde_json::json;

const SPLITS: [&str; 3] = ["train", "eval", "test"];

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let input = PathBuf::from(arg("--input").expect("--input PATH"));
    let out_dir =
        PathBuf::from(arg("--out-dir").unwrap_or_else(|| "bench-out/data".into())).join("mlops");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut steps = serde_json::Map::new();
    let start = Instant::now();
    let mut lap = {
        let mut last = Instant::now();
        move |name: &str, steps: &mut serde_json::Map<String, serde_json::Value>| {
            steps.insert(name.into(), json!(last.elapsed().as_secs_f64()));
            last = Instant::now();
        }
    };

    let src = ParquetSource::open(&input).unwrap();
    let batches = src
        .read_all(&ScanOptions {
            batch_size: Some(1 << 20),
            ..Default::default()
        })
        .unwrap();
    let schema = src_schema(&batches);
    lap("read", &mut steps);

    let allowed = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
    ];
    let checks = [
        (
            "id_null",
            Check::NotNull {
                column: "id".into(),
            },
        ),
        (
            "label_null",
            Check::NotNull {
                column: "label".into(),
            },
        ),
        (
            "user_id_null",
            Check::NotNull {
                column: "user_id".into(),
            },
        ),
        (
            "f0_out_of_range",
            Check::Range {
                column: "f0".into(),
                min: Some(-10.0),
                max: Some(10.0),
            },
        ),
        (
            "c0_not_allowed",
            Check::AllowedValues {
                column: "c0".into(),
                values: allowed.iter().map(|s| s.to_string()).collect(),
            },
        ),
    ];
    let rules: Vec<Check> = checks.iter().map(|(_, c)| c.clone()).collect();
    let mut violations = [0u64; 5];
    for b in &batches {
        for (v, n) in violations
            .iter_mut()
            .zip(count_violations(b, &rules).unwrap())
        {
            *v += n;
        }
    }
    lap("validate", &mut steps);

    let mut dedup = Dedup::new(schema.clone()).unwrap();
    let kept: Vec<RecordBatch> = batches.iter().map(|b| dedup.push(b).unwrap()).collect();
    drop(batches);
    lap("dedup", &mut steps);

    let split = HashSplit::default();
    let mut parts: [Vec<RecordBatch>; 3] = Default::default();
    for b in &kept {
        for (p, s) in parts
            .iter_mut()
            .zip(split.split_batch(b, "user_id").unwrap())
        {
            p.push(s);
        }
    }
    drop(kept);
    lap("split", &mut steps);

    // The three files are written in parallel, one thread each.
    std::thread::scope(|scope| {
        for (name, p) in SPLITS.iter().zip(&parts) {
            let (path, schema) = (out_dir.join(format!("{name}.parquet")), &schema);
            scope.spawn(move || write_parquet(&path, schema, p, WriteOptions::default()).unwrap());
        }
    });
    lap("write", &mut steps);

    // The three fingerprints are independent: one thread each.
    let mut fps = serde_json::Map::new();
    let digests: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|p| {
                let schema = &schema;
                scope.spawn(move || content_fingerprint(schema, p).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (name, d) in SPLITS.iter().zip(digests) {
        fps.insert(name.to_string(), json!(d));
    }
    lap("fingerprint", &mut steps);
    let total = start.elapsed().as_secs_f64();
    steps.insert("total".into(), json!(total));

    // Untimed checks: split sizes, users per split, read-back fingerprints.
    let mut split_rows = serde_json::Map::new();
    let mut split_users = serde_json::Map::new();
    let mut users: Vec<HashSet<i64>> = Vec::new();
    let mut readback = serde_json::Map::new();
    for (name, p) in SPLITS.iter().zip(&parts) {
        let u: HashSet<i64> = p
            .iter()
            .flat_map(|b| {
                b.column_by_name("user_id")
                    .unwrap()
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        split_rows.insert(
            name.to_string(),
            json!(p.iter().map(|b| b.num_rows()).sum::<usize>()),
        );
        split_users.insert(name.to_string(), json!(u.len()));
        users.push(u);
        let back = ParquetSource::open(out_dir.join(format!("{name}.parquet")))
            .unwrap()
            .read_all(&ScanOptions::default())
            .unwrap();
        readback.insert(
            name.to_string(),
            json!(content_fingerprint(&schema, &back).unwrap() == fps[*name].as_str().unwrap()),
        );
    }
    let disjoint = (0..3).all(|i| (i + 1..3).all(|j| users[i].is_disjoint(&users[j])));
    let size = std::fs::metadata(&input).map(|m| m.len()).unwrap_or(0) as f64;
    let rows_in = dedup.report().rows_in;
    let out = json!({
        "workload": "W-DATA", "engine": "mlops", "input": input,
        "threads": 3,
        "rows_in": rows_in,
        "violations": checks.iter().zip(violations).map(|((n, _), v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "rows_after_dedup": dedup.report().rows_kept,
        "split_rows": split_rows, "split_users": split_users, "users_disjoint": disjoint,
        "fingerprints": fps, "readback_ok": readback,
        "time_s": steps, "rows_per_s": rows_in as f64 / total, "input_mb_per_s": size / 1e6 / total,
        "peak_rss_mb": peak_rss_mb(),
    });
    println!("{out}");
}

fn src_schema(batches: &[RecordBatch]) -> arrow_schema::SchemaRef {
    batches
        .first()
        .map(|b| b.schema())
        .expect("the input has at least one batch")
}

#[path = "common.rs"]
mod common;
use common::peak_rss_mb;
