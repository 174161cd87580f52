use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use proptest::prelude::*;

use super::*;

fn table(x: Vec<Option<f64>>, n: Vec<Option<i64>>, s: Vec<Option<&str>>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float64, true),
        Field::new("n", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(x)),
        Arc::new(Int64Array::from(n)),
        Arc::new(StringArray::from(s)),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

fn every_transform() -> PipelineSpec {
    PipelineSpec::new(vec![
        ColumnSpec::new("x", Transform::Standardize).impute_mean(),
        ColumnSpec::new("x", Transform::MinMax).impute(Impute::Median),
        ColumnSpec::new(
            "x",
            Transform::Bucketize {
                boundaries: None,
                bins: Some(3),
                strategy: Some(BinStrategy::Quantile),
            },
        )
        .impute(Impute::Constant(serde_json::json!(0.0))),
        ColumnSpec::new("n", Transform::one_hot()),
        ColumnSpec::new("n", Transform::Ordinal).impute(Impute::MostFrequent),
        ColumnSpec::new("s", Transform::one_hot()).impute(Impute::MostFrequent),
        ColumnSpec::new(
            "s",
            Transform::Hash {
                buckets: 8,
                alternate_sign: true,
                tokenize: true,
            },
        ),
    ])
}

fn row_json(batch: &RecordBatch, row: usize) -> serde_json::Value {
    let x = batch
        .column(0)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    let n = batch
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let s = batch
        .column(2)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let mut o = serde_json::Map::new();
    if x.is_valid(row) {
        o.insert("x".into(), serde_json::json!(x.value(row)));
    }
    if n.is_valid(row) {
        o.insert("n".into(), serde_json::json!(n.value(row)));
    }
    if s.is_valid(row) {
        o.insert("s".into(), serde_json::json!(s.value(row)));
    }
    serde_json::Value::Object(o)
}

#[test]
fn standardize_uses_the_population_std_and_a_unit_scale_for_constants() {
    let b = table(
        vec![Some(1.0), Some(2.0), Some(3.0)],
        vec![Some(5), Some(5), Some(5)],
        vec![Some("a"), Some("a"), Some("a")],
    );
    let p = PipelineSpec::new(vec![
        ColumnSpec::new("x", Transform::Standardize),
        ColumnSpec::new("n", Transform::Standardize),
    ])
    .fit(std::slice::from_ref(&b))
    .unwrap();
    let m = p.transform(&b).unwrap();
    let s = (2.0f64 / 3.0).sqrt();
    assert_eq!(m.row(0), [(-1.0 / s) as f32, 0.0]);
    assert_eq!(m.row(2), [(1.0 / s) as f32, 0.0]);
}

#[test]
fn one_hot_sorts_categories_and_sends_unknown_and_missing_to_other() {
    let b = table(
        vec![Some(0.0); 4],
        vec![Some(10), Some(9), Some(10), None],
        vec![Some("b"), Some("a"), Some("b"), None],
    );
    let p = PipelineSpec::new(vec![
        ColumnSpec::new("n", Transform::one_hot()),
        ColumnSpec::new("s", Transform::Ordinal),
    ])
    .fit(std::slice::from_ref(&b))
    .unwrap();
    // 9 < 10 numerically (as text "10" < "9").
    assert_eq!(p.output_names(), ["n=9", "n=10", "n=<other>", "s"]);
    let m = p.transform(&b).unwrap();
    assert_eq!(m.row(0), [0.0, 1.0, 0.0, 1.0]);
    assert_eq!(m.row(3), [0.0, 0.0, 1.0, 2.0]);
    let unknown = p
        .transform_row(&serde_json::json!({"n": 11, "s": "zz"}))
        .unwrap();
    assert_eq!(unknown, [0.0, 0.0, 1.0, 2.0]);
}

#[test]
fn min_frequency_and_max_categories_fold_rare_values_into_other() {
    let s = vec![
        Some("a"),
        Some("a"),
        Some("a"),
        Some("b"),
        Some("b"),
        Some("c"),
    ];
    let b = table(vec![Some(0.0); 6], vec![Some(0); 6], s);
    let spec = |min_frequency, max_categories| {
        PipelineSpec::new(vec![ColumnSpec::new(
            "s",
            Transform::OneHot {
                min_frequency,
                max_categories,
            },
        )])
        .fit(std::slice::from_ref(&b))
        .unwrap()
        .output_names()
    };
    assert_eq!(spec(Some(2), None), ["s=a", "s=b", "s=<other>"]);
    assert_eq!(spec(None, Some(1)), ["s=a", "s=<other>"]);
}

#[test]
fn imputers_follow_scikit_learn() {
    let b = table(
        vec![Some(1.0), None, Some(4.0), Some(10.0), Some(f64::NAN)],
        vec![Some(3), Some(2), Some(2), Some(3), None],
        vec![Some("q"), Some("p"), None, Some("q"), Some("p")],
    );
    let fills = |column: &str, impute: Impute, transform: Transform| {
        PipelineSpec::new(vec![ColumnSpec::new(column, transform).impute(impute)])
            .fit(std::slice::from_ref(&b))
            .unwrap()
            .columns[0]
            .fill
            .clone()
            .unwrap()
    };
    assert_eq!(
        fills("x", Impute::Mean, Transform::Passthrough),
        Fill::Number(5.0)
    );
    assert_eq!(
        fills("x", Impute::Median, Transform::Passthrough),
        Fill::Number(4.0)
    );
    // Ties go to the smallest value.
    assert_eq!(
        fills("n", Impute::MostFrequent, Transform::Passthrough),
        Fill::Number(2.0)
    );
    assert_eq!(
        fills("s", Impute::MostFrequent, Transform::one_hot()),
        Fill::Text("p".into())
    );
}

#[test]
fn missing_numbers_without_an_imputer_name_the_column_and_row() {
    let b = table(
        vec![Some(1.0), None],
        vec![Some(1), Some(2)],
        vec![Some("a"); 2],
    );
    let spec = PipelineSpec::new(vec![ColumnSpec::new("x", Transform::Standardize)]);
    let err = spec.fit(std::slice::from_ref(&b)).unwrap_err().to_string();
    assert!(
        err.contains("\"x\"") && err.contains("row 1") && err.contains("imputer"),
        "{err}"
    );

    let fitted = PipelineSpec::new(vec![ColumnSpec::new("n", Transform::Standardize)])
        .fit(std::slice::from_ref(&b))
        .unwrap();
    let err = fitted
        .transform_row(&serde_json::json!({}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"n\"") && err.contains("null"), "{err}");
    let err = fitted
        .transform_row(&serde_json::json!({"n": "seven"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("seven"), "{err}");
}

#[test]
fn a_missing_column_and_text_under_a_scaler_are_typed_errors() {
    let b = table(vec![Some(1.0)], vec![Some(1)], vec![Some("a")]);
    let err = PipelineSpec::new(vec![ColumnSpec::new("zz", Transform::MinMax)])
        .fit(std::slice::from_ref(&b))
        .unwrap_err();
    assert!(err.to_string().contains("\"zz\""), "{err}");
    let err = PipelineSpec::new(vec![ColumnSpec::new("s", Transform::Standardize)])
        .fit(std::slice::from_ref(&b))
        .unwrap_err();
    assert!(err.to_string().contains("holds text"), "{err}");
    let err = PipelineSpec::new(vec![ColumnSpec::new(
        "x",
        Transform::buckets(vec![2.0, 1.0]),
    )])
    .fit(std::slice::from_ref(&b))
    .unwrap_err();
    assert!(err.to_string().contains("ascending"), "{err}");
}

#[test]
fn bucketize_counts_edges_at_or_below_the_value() {
    let b = table(
        vec![Some(0.5), Some(1.0), Some(3.0)],
        vec![None; 3],
        vec![None; 3],
    );
    let p = PipelineSpec::new(vec![ColumnSpec::new(
        "x",
        Transform::buckets(vec![1.0, 2.0]),
    )])
    .fit(std::slice::from_ref(&b))
    .unwrap();
    assert_eq!(p.transform(&b).unwrap().values, [0.0, 1.0, 2.0]);
}

#[test]
fn booleans_are_numbers_and_categories() {
    let schema = Arc::new(Schema::new(vec![Field::new("b", DataType::Boolean, true)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(BooleanArray::from(vec![true, false, true]))],
    )
    .unwrap();
    let spec = PipelineSpec::auto(&schema, &[]);
    assert_eq!(spec.columns[0].transform, Transform::Standardize);
    let p = PipelineSpec::new(vec![ColumnSpec::new("b", Transform::one_hot())])
        .fit(std::slice::from_ref(&batch))
        .unwrap();
    assert_eq!(p.output_names(), ["b=false", "b=true", "b=<other>"]);
    assert_eq!(
        p.transform_row(&serde_json::json!({"b": true})).unwrap(),
        [0.0, 1.0, 0.0]
    );
}

#[test]
fn a_fitted_pipeline_round_trips_through_json() {
    let b = table(
        vec![Some(1.0), Some(2.0), None],
        vec![Some(1), Some(2), Some(2)],
        vec![Some("a b"), Some("c"), None],
    );
    let p = every_transform().fit(std::slice::from_ref(&b)).unwrap();
    let text = serde_json::to_string(&p).unwrap();
    let back: FeaturePipeline = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.transform(&b).unwrap(), p.transform(&b).unwrap());
}

proptest! {
    /// Training and serving agree: the batch path and the per-row JSON path give the same
    /// bits for every row, whatever the data.
    #[test]
    fn batch_and_per_row_outputs_agree_bit_for_bit(
        rows in proptest::collection::vec(
            (
                proptest::option::weighted(0.9, -1e6f64..1e6),
                proptest::option::weighted(0.9, -5i64..5),
                proptest::option::weighted(0.9, "[a-c ]{0,6}"),
            ),
            2..40,
        ),
        split in 1usize..40,
    ) {
        let x: Vec<_> = rows.iter().map(|r| r.0).collect();
        let n: Vec<_> = rows.iter().map(|r| r.1).collect();
        let s: Vec<_> = rows.iter().map(|r| r.2.as_deref()).collect();
        let batch = table(x, n, s);
        prop_assume!(rows.iter().any(|r| r.0.is_some()));
        // Fit on a prefix, apply to everything (so unknown categories occur).
        let fit_rows = split.min(batch.num_rows());
        let pipeline = every_transform().fit(&[batch.slice(0, fit_rows)]);
        prop_assume!(pipeline.is_ok());
        let pipeline = pipeline.unwrap();
        let m = pipeline.transform(&batch).unwrap();
        for row in 0..batch.num_rows() {
            let one = pipeline.transform_row(&row_json(&batch, row)).unwrap();
            let a: Vec<u32> = one.iter().map(|v| v.to_bits()).collect();
            let b: Vec<u32> = m.row(row).iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(a, b, "row {}", row);
        }
    }
}
