use std::sync::Arc;

use arrow_array::{Float64Array, StringArray};
use arrow_schema::{Field, Schema};

use super::*;

#[test]
fn counts_nulls_and_out_of_rule_values() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("f", DataType::Float64, true),
        Field::new("c", DataType::Utf8, true),
    ]));
    let b = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float64Array::from(vec![
                Some(-10.0),
                Some(10.0),
                Some(10.5),
                None,
            ])),
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some("omega"),
                None,
                Some("b"),
            ])),
        ],
    )
    .unwrap();
    let checks = [
        Check::NotNull { column: "f".into() },
        Check::Range {
            column: "f".into(),
            min: Some(-10.0),
            max: Some(10.0),
        },
        Check::AllowedValues {
            column: "c".into(),
            values: vec!["a".into(), "b".into()],
        },
    ];
    assert_eq!(count_violations(&b, &checks).unwrap(), [1, 2, 2]);
    assert!(
        count_violations(
            &b,
            &[Check::NotNull {
                column: "zz".into()
            }]
        )
        .is_err()
    );
    assert!(
        count_violations(
            &b,
            &[Check::Range {
                column: "c".into(),
                min: None,
                max: None
            }]
        )
        .is_err()
    );
}

mod lazy {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::DataType;
    use mlops_core::ScanOptions;

    use crate::ParquetSource;
    use crate::validate::{Check, FAILED_CHECKS, RowRule, Validator, validate_into};
    use crate::write::WriteOptions;

    fn batch(
        ids: &[i64],
        ages: &[Option<f64>],
        plans: &[&str],
        emails: &[Option<&str>],
    ) -> RecordBatch {
        RecordBatch::try_from_iter_with_nullable([
            (
                "id",
                Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef,
                true,
            ),
            (
                "age",
                Arc::new(Float64Array::from(ages.to_vec())) as ArrayRef,
                true,
            ),
            (
                "plan",
                Arc::new(StringArray::from(plans.to_vec())) as ArrayRef,
                true,
            ),
            (
                "email",
                Arc::new(StringArray::from(emails.to_vec())) as ArrayRef,
                true,
            ),
        ])
        .unwrap()
    }

    fn batches() -> Vec<RecordBatch> {
        vec![
            batch(
                &[1, 2, 3],
                &[Some(30.0), None, Some(130.0)],
                &["basic", "gold", "basic"],
                &[Some("a@x.io"), Some("b@x.io"), Some("nope")],
            ),
            // Row 3 repeats id 2 (from the first batch); row 4 has a null email.
            batch(
                &[2, 5],
                &[Some(-1.0), Some(40.0)],
                &["premium", "basic"],
                &[Some("c@x.io"), None],
            ),
        ]
    }

    fn checks() -> Vec<Check> {
        vec![
            Check::NotNull {
                column: "age".into(),
            },
            Check::Range {
                column: "age".into(),
                min: Some(0.0),
                max: Some(120.0),
            },
            Check::AllowedValues {
                column: "plan".into(),
                values: vec!["basic".into(), "premium".into()],
            },
            Check::Regex {
                column: "email".into(),
                pattern: r"^[^@]+@[^@]+\.[a-z]+$".into(),
            },
            Check::Unique {
                columns: vec!["id".into()],
            },
            Check::Type {
                column: "age".into(),
                data_type: DataType::Float64,
            },
            Check::Type {
                column: "plan".into(),
                data_type: DataType::Int64,
            },
            Check::Range {
                column: "income".into(),
                min: Some(0.0),
                max: None,
            },
            Check::RowCount {
                min: Some(10),
                max: None,
            },
            Check::Custom {
                name: "id_is_odd".into(),
                column: Some("id".into()),
                rule: RowRule::new(|b| {
                    let id = b
                        .column_by_name("id")
                        .unwrap()
                        .as_primitive::<arrow_array::types::Int64Type>();
                    Ok(id
                        .iter()
                        .map(|v| v.map(|v| v % 2 == 1))
                        .collect::<BooleanArray>())
                }),
            },
        ]
    }

    #[test]
    fn every_failure_is_collected_with_its_value_and_row() {
        let mut v = Validator::new(checks()).unwrap();
        for b in batches() {
            v.check_batch(&b).unwrap();
        }
        let r = v.finish();
        assert_eq!(r.rows, 5);
        assert!(!r.passed());
        let failures: Vec<u64> = r.checks.iter().map(|c| c.failures).collect();
        // not_null 1, range 3 (null, 130, -1), isin 1 (gold), regex 2 (nope, null),
        // unique 1, dtype ok, dtype wrong 1, missing column 1, row count 1, custom 2 (ids 2, 2).
        assert_eq!(failures, [1, 3, 1, 2, 1, 0, 1, 1, 1, 2]);
        assert_eq!(r.checks[1].percent, 60.0);
        assert_eq!(r.checks[1].check, "in_range(0, 120)");
        assert!(
            r.checks[7]
                .error
                .as_deref()
                .unwrap()
                .contains("\"income\" is missing")
        );
        assert!(
            r.checks[6]
                .error
                .as_deref()
                .unwrap()
                .contains("expected Int64")
        );
        let of = |check: usize| -> Vec<(Option<String>, Option<u64>)> {
            r.failures
                .iter()
                .filter(|f| f.check_number == check)
                .map(|f| (f.failure_case.clone(), f.row))
                .collect()
        };
        assert_eq!(
            of(1),
            [
                (None, Some(1)),
                (Some("130".into()), Some(2)),
                (Some("-1".into()), Some(3))
            ]
        );
        assert_eq!(of(3), [(Some("nope".into()), Some(2)), (None, Some(4))]);
        assert_eq!(of(4), [(Some("2".into()), Some(3))]);
        assert_eq!(of(8), [(Some("5".into()), None)]);
        assert_eq!(
            r.failures
                .iter()
                .find(|f| f.check_number == 8)
                .unwrap()
                .schema_context,
            "Table"
        );

        let table = r.to_arrow().unwrap();
        assert_eq!(table.num_rows(), r.failures.len());
        assert_eq!(
            table
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>(),
            [
                "schema_context",
                "column",
                "check",
                "check_number",
                "failure_case",
                "index"
            ]
        );
        let json = r.to_json();
        assert_eq!(json["rows"], 5);
        assert_eq!(json["checks"][2]["failures"], 1);
        assert_eq!(json["failures"][0]["check"], "not_null");
    }

    #[test]
    fn failing_rows_are_quarantined_and_outputs_are_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let (clean, quarantine) = (
            dir.path().join("clean.parquet"),
            dir.path().join("q.parquet"),
        );
        let report = validate_into(
            batches().into_iter().map(Ok),
            checks(),
            &clean,
            &quarantine,
            WriteOptions::default(),
        )
        .unwrap();
        assert!(!report.passed());
        let read = |p: &std::path::Path| {
            ParquetSource::open(p)
                .unwrap()
                .read_all(&ScanOptions::default())
                .unwrap()
        };
        let good: usize = read(&clean).iter().map(RecordBatch::num_rows).sum();
        let bad = read(&quarantine);
        let bad_rows: usize = bad.iter().map(RecordBatch::num_rows).sum();
        // Only row 0 (id 1, age 30, basic, a@x.io) passes every row rule.
        assert_eq!((good, bad_rows), (1, 4));
        let reasons = bad[0]
            .column_by_name(FAILED_CHECKS)
            .unwrap()
            .as_string::<i32>();
        assert_eq!(
            reasons.value(0),
            "not_null; in_range(0, 120); isin([\"basic\", \"premium\"]); id_is_odd"
        );

        // A broken custom rule is an error, and neither file appears.
        let broken = vec![Check::Custom {
            name: "broken".into(),
            column: None,
            rule: RowRule::new(|_| Ok(BooleanArray::from(vec![true]))),
        }];
        let (c2, q2) = (dir.path().join("c2.parquet"), dir.path().join("q2.parquet"));
        let e = validate_into(
            batches().into_iter().map(Ok),
            broken,
            &c2,
            &q2,
            WriteOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("broken") && e.contains("one per row"), "{e}");
        assert!(!c2.exists() && !q2.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no partial files"
        );
    }

    #[test]
    fn bad_rules_and_caps() {
        let e = Validator::new(vec![Check::Regex {
            column: "email".into(),
            pattern: "(".into(),
        }])
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("\"(\"") && e.contains("email"), "{e}");
        let mut v = Validator::new(vec![
            Check::NotNull {
                column: "age".into(),
            },
            Check::Range {
                column: "age".into(),
                min: Some(0.0),
                max: Some(1.0),
            },
        ])
        .unwrap()
        .with_max_listed(1);
        for b in batches() {
            v.check_batch(&b).unwrap();
        }
        let r = v.finish();
        assert_eq!(r.checks[1].failures, 5);
        assert_eq!(r.failures.len(), 2);
        assert_eq!(r.failures_not_listed, 4);
        // The fast counter agrees with the validator, and counts the other rules too.
        let b = &batches()[0];
        assert_eq!(
            super::count_violations(
                b,
                &[
                    Check::Unique {
                        columns: vec!["id".into()]
                    },
                    Check::Regex {
                        column: "email".into(),
                        pattern: "@".into(),
                    }
                ]
            )
            .unwrap(),
            [0, 1]
        );
    }
}
