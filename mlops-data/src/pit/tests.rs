use arrow_array::{Int64Array, StringArray, TimestampMicrosecondArray};
use proptest::prelude::*;

use super::*;

/// One feature row: key, event time, created time, value id.
#[derive(Clone, Debug)]
struct FeatureRow {
    key: Option<i64>,
    time: Option<i64>,
    created: Option<i64>,
}

/// The naive reference: scan every feature row for every entity row.
fn naive(
    entities: &[(Option<i64>, Option<i64>)],
    features: &[FeatureRow],
    ttl: Option<i64>,
    filter_by_created: bool,
) -> Vec<Option<u32>> {
    entities
        .iter()
        .map(|&(key, t)| {
            let (Some(key), Some(t)) = (key, t) else {
                return None;
            };
            let mut best: Option<(i64, Option<i64>, usize)> = None;
            for (i, f) in features.iter().enumerate() {
                let (Some(fk), Some(ft)) = (f.key, f.time) else {
                    continue;
                };
                let fresh = ttl.is_none_or(|ttl| ttl == 0 || ft >= t - ttl);
                let created_ok = !filter_by_created || f.created.is_some_and(|c| c <= t);
                if fk == key && ft <= t && fresh && created_ok {
                    let cand = (ft, f.created, i);
                    if best.is_none_or(|b| cand > b) {
                        best = Some(cand);
                    }
                }
            }
            best.map(|b| b.2 as u32)
        })
        .collect()
}

fn tables(
    entities: &[(Option<i64>, Option<i64>)],
    features: &[FeatureRow],
) -> (RecordBatch, RecordBatch) {
    let e = RecordBatch::try_from_iter([
        (
            "user",
            Arc::new(Int64Array::from(
                entities.iter().map(|e| e.0).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(
                entities.iter().map(|e| e.1).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    let f = RecordBatch::try_from_iter([
        (
            "user",
            Arc::new(Int64Array::from(
                features.iter().map(|f| f.key).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "event_ts",
            Arc::new(TimestampMicrosecondArray::from(
                features.iter().map(|f| f.time).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "created_ts",
            Arc::new(TimestampMicrosecondArray::from(
                features.iter().map(|f| f.created).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        (
            "row",
            Arc::new(Int64Array::from_iter_values(0..features.len() as i64)) as ArrayRef,
        ),
    ])
    .unwrap();
    (e, f)
}

fn chosen(joined: &RecordBatch) -> Vec<Option<u32>> {
    joined
        .column_by_name("row")
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| v.map(|v| v as u32))
        .collect()
}

fn feature_row() -> impl Strategy<Value = FeatureRow> {
    // Small domains so that keys, times and created times collide often.
    (
        prop::option::weighted(0.95, 0i64..4),
        prop::option::weighted(0.95, 0i64..20),
        prop::option::weighted(0.9, 0i64..25),
    )
        .prop_map(|(key, time, created)| FeatureRow { key, time, created })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Zero mismatches against the naive reference: duplicate times, ties on created time,
    /// nulls, TTL of zero (none), short TTLs, and late-created corrections with and without
    /// the created-time filter.
    #[test]
    fn the_join_agrees_with_a_naive_scan(
        entities in prop::collection::vec(
            (prop::option::weighted(0.95, 0i64..5), prop::option::weighted(0.95, 0i64..25)),
            0..40,
        ),
        features in prop::collection::vec(feature_row(), 0..60),
        ttl in prop::option::of(0i64..8),
        filter_by_created in any::<bool>(),
    ) {
        let (e, f) = tables(&entities, &features);
        let spec = PitJoin {
            created_time: Some("created_ts".into()),
            ttl: ttl.map(|t| Duration::from_micros(t as u64)),
            filter_by_created,
            ..PitJoin::new(["user"], "ts", "event_ts")
        };
        let joined = point_in_time_join(&e, &f, &spec).unwrap();
        prop_assert_eq!(joined.num_rows(), entities.len());
        prop_assert_eq!(chosen(&joined), naive(&entities, &features, ttl, filter_by_created));
    }
}

#[test]
fn latest_wins_ties_go_to_the_latest_created_and_late_corrections_can_be_excluded() {
    let features = vec![
        FeatureRow {
            key: Some(1),
            time: Some(5),
            created: Some(6),
        },
        // The same event time, created later: a correction.
        FeatureRow {
            key: Some(1),
            time: Some(5),
            created: Some(30),
        },
        FeatureRow {
            key: Some(1),
            time: Some(15),
            created: Some(15),
        },
    ];
    let entities = [(Some(1), Some(10)), (Some(1), Some(20)), (Some(1), Some(4))];
    let (e, f) = tables(&entities, &features);
    let mut spec = PitJoin {
        created_time: Some("created_ts".into()),
        ..PitJoin::new(["user"], "ts", "event_ts")
    };
    // At 10 the correction (created at 30) wins the tie on event time; at 4 nothing is known.
    assert_eq!(
        chosen(&point_in_time_join(&e, &f, &spec).unwrap()),
        [Some(1), Some(2), None]
    );
    // With the filter, the correction did not exist yet at 10.
    spec.filter_by_created = true;
    assert_eq!(
        chosen(&point_in_time_join(&e, &f, &spec).unwrap()),
        [Some(0), Some(2), None]
    );
    // A 3-microsecond TTL: at 10 the value of 5 is too old; at 20 the value of 15 too.
    spec.filter_by_created = false;
    spec.ttl = Some(Duration::from_micros(3));
    assert_eq!(
        chosen(&point_in_time_join(&e, &f, &spec).unwrap()),
        [None, None, None]
    );
}

#[test]
fn composite_string_keys_units_and_prefixes() {
    let e = RecordBatch::try_from_iter([
        (
            "country",
            Arc::new(StringArray::from(vec!["fr", "fr", "de"])) as ArrayRef,
        ),
        (
            "user",
            Arc::new(Int64Array::from(vec![1, 2, 1])) as ArrayRef,
        ),
        (
            "t",
            Arc::new(arrow_array::TimestampSecondArray::from(vec![10, 10, 10])) as ArrayRef,
        ),
    ])
    .unwrap();
    let f = RecordBatch::try_from_iter([
        (
            "country",
            Arc::new(StringArray::from(vec!["fr", "de", "fr"])) as ArrayRef,
        ),
        (
            "user",
            Arc::new(Int64Array::from(vec![1, 1, 2])) as ArrayRef,
        ),
        // Milliseconds against seconds: 10,000 ms is exactly 10 s, 10,001 ms is later.
        (
            "ft",
            Arc::new(arrow_array::TimestampMillisecondArray::from(vec![
                10_000, 9_000, 10_001,
            ])) as ArrayRef,
        ),
        (
            "spend",
            Arc::new(Int64Array::from(vec![7, 8, 9])) as ArrayRef,
        ),
    ])
    .unwrap();
    let spec = PitJoin {
        prefix: Some("billing".into()),
        ..PitJoin::new(["country", "user"], "t", "ft")
    };
    let j = point_in_time_join(&e, &f, &spec).unwrap();
    let spend = j
        .column_by_name("billing__spend")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(spend.iter().collect::<Vec<_>>(), [Some(7), None, Some(8)]);
    assert_eq!(j.num_columns(), 4);
}

#[test]
fn bad_specs_are_typed_errors_naming_the_column() {
    let (e, f) = tables(&[(Some(1), Some(1))], &[]);
    let err = |spec: PitJoin| point_in_time_join(&e, &f, &spec).unwrap_err().to_string();
    assert!(err(PitJoin::new(["nope"], "ts", "event_ts")).contains("nope"));
    assert!(err(PitJoin::new(["user"], "ts", "missing")).contains("missing"));
    assert!(err(PitJoin::new(["user"], "user", "event_ts")).contains("both timestamps"));
    let filter = PitJoin {
        filter_by_created: true,
        ..PitJoin::new(["user"], "ts", "event_ts")
    };
    assert!(err(filter).contains("created time"));
    let clash = PitJoin {
        features: Some(vec!["user".into()]),
        ..PitJoin::new(["user"], "ts", "event_ts")
    };
    assert!(err(clash).contains("prefix"));
}
