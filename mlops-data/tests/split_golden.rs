//! Split membership is frozen: the buckets of integer and string keys and a stratified
//! split's membership equal `fixtures/split_golden.json`, made by Python's `xxhash` package
//! (`fixtures/gen_split_golden.py`), on every machine, thread count and version.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt32Array};
use mlops_data::split::StratifiedSplit;
use mlops_data::split::{bucket_i64, bucket_str};

fn golden() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/split_golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn buckets_match_the_golden_file() {
    let g = golden();
    let mut checked = 0;
    for (seed, table) in g["hash"].as_object().unwrap() {
        let seed: u64 = seed.parse().unwrap();
        for pair in table["int"].as_array().unwrap() {
            let (k, b) = (pair[0].as_i64().unwrap(), pair[1].as_u64().unwrap());
            assert_eq!(bucket_i64(k, seed), b, "int key {k}, seed {seed}");
            checked += 1;
        }
        for pair in table["str"].as_array().unwrap() {
            let (k, b) = (pair[0].as_str().unwrap(), pair[1].as_u64().unwrap());
            assert_eq!(bucket_str(k, seed), b, "string key {k:?}, seed {seed}");
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * (606 + 306));
}

#[test]
fn stratified_membership_matches_the_golden_file_in_any_row_order() {
    let g = &golden()["stratified"];
    let keys: Vec<i64> = g["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let labels: Vec<&str> = g["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let want: Vec<u64> = g["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let split = StratifiedSplit {
        train: g["train"].as_f64().unwrap(),
        eval: g["eval"].as_f64().unwrap(),
        seed: g["seed"].as_u64().unwrap(),
    };
    let table = RecordBatch::try_from_iter([
        ("key", Arc::new(Int64Array::from(keys.clone())) as ArrayRef),
        (
            "label",
            Arc::new(StringArray::from(labels.clone())) as ArrayRef,
        ),
    ])
    .unwrap();
    // The same rows reversed: membership must not depend on order.
    let reversed = arrow_select::take::take_record_batch(
        &table,
        &UInt32Array::from_iter_values((0..keys.len() as u32).rev()),
    )
    .unwrap();
    for t in [&table, &reversed] {
        let parts = split.split_batch(t, "key", "label").unwrap();
        for (s, part) in parts.iter().enumerate() {
            let got: std::collections::HashSet<i64> = part
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .copied()
                .collect();
            let expected: std::collections::HashSet<i64> = keys
                .iter()
                .zip(&want)
                .filter(|(_, w)| **w == s as u64)
                .map(|(k, _)| *k)
                .collect();
            assert_eq!(got, expected, "split {s}");
        }
    }
    // Every stratum is split in the same proportions (within one row of rounding).
    let parts = split.split_batch(&table, "key", "label").unwrap();
    for stratum in ["churn", "stay", "rare"] {
        let n = labels.iter().filter(|l| **l == stratum).count() as f64;
        let in_train = parts[0]
            .column(1)
            .as_string::<i32>()
            .iter()
            .filter(|l| *l == Some(stratum))
            .count() as f64;
        assert!(
            (in_train - 0.7 * n).abs() <= 0.5 + 1e-9,
            "{stratum}: {in_train} of {n}"
        );
    }
    let bad = StratifiedSplit {
        train: 0.9,
        eval: 0.2,
        seed: 0,
    };
    assert!(
        bad.split_batch(&table, "key", "label")
            .unwrap_err()
            .to_string()
            .contains("at most 1")
    );
    assert!(
        split
            .split_batch(&table, "key", "nope")
            .unwrap_err()
            .to_string()
            .contains("nope")
    );
}
