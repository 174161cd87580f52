//! The fingerprint and the split agree with the peers' reference code
//! (`../shared/bench/peers/common.py`) on a table made by `../shared/bench/gen.py`;
//! `fixtures/gen_fingerprint.py` regenerates the fixture.

use mlops_core::ScanOptions;
use mlops_data::{Dedup, HashSplit, ParquetSource, content_fingerprint};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

fn golden() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/tabular_small.json")).unwrap())
        .unwrap()
}

#[test]
fn fingerprint_matches_the_reference_implementation() {
    let src = ParquetSource::open(format!("{DIR}/tabular_small.parquet")).unwrap();
    let batches = src
        .read_all(&ScanOptions {
            batch_size: Some(333),
            ..Default::default()
        })
        .unwrap();
    let schema = batches[0].schema();
    let g = golden();
    assert_eq!(src.num_rows(), g["rows"].as_u64().unwrap());
    assert_eq!(
        content_fingerprint(&schema, &batches).unwrap(),
        g["fingerprint"].as_str().unwrap()
    );
}

#[test]
fn split_sizes_match_the_reference_implementation() {
    let src = ParquetSource::open(format!("{DIR}/tabular_small.parquet")).unwrap();
    let g = golden();
    let mut counts = [0usize; 3];
    for b in src.read_all(&ScanOptions::default()).unwrap() {
        let parts = HashSplit::default().split_batch(&b, "user_id").unwrap();
        for (c, p) in counts.iter_mut().zip(&parts) {
            *c += p.num_rows();
        }
    }
    let want = &g["split_rows"];
    assert_eq!(
        counts,
        [
            want["train"].as_u64().unwrap() as usize,
            want["eval"].as_u64().unwrap() as usize,
            want["test"].as_u64().unwrap() as usize
        ]
    );
}

#[test]
fn dedup_keeps_as_many_rows_as_the_reference() {
    let src = ParquetSource::open(format!("{DIR}/tabular_small.parquet")).unwrap();
    let batches = src
        .read_all(&ScanOptions {
            batch_size: Some(500),
            ..Default::default()
        })
        .unwrap();
    let mut d = Dedup::new(batches[0].schema()).unwrap();
    let kept: usize = batches.iter().map(|b| d.push(b).unwrap().num_rows()).sum();
    assert_eq!(kept as u64, golden()["rows_after_dedup"].as_u64().unwrap());
    assert_eq!(d.report().rows_removed, 100, "gen.py made 5% duplicates");
}
