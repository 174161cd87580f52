use arrow_array::StringArray;

use super::*;

const S: i64 = 1_000_000; // one second in microseconds
const T0: i64 = 1_750_000_000 * S;

fn ts(v: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

fn text(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn predictions(ids: &[&str], at: &[i64]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (REQUEST_ID, text(ids)),
        (MODEL_VERSION, text(&vec!["3"; ids.len()])),
        (PREDICTED_AT, ts(at.iter().map(|s| T0 + s * S).collect())),
        (
            "tenure",
            Arc::new(Int64Array::from_iter_values(0..ids.len() as i64)) as ArrayRef,
        ),
        (
            PREDICTION,
            Arc::new(Int64Array::from(vec![1; ids.len()])) as ArrayRef,
        ),
    ])
    .unwrap()
}

fn feedback(rows: &[(&str, i64, i64, &str)]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            REQUEST_ID,
            text(&rows.iter().map(|r| r.0).collect::<Vec<_>>()),
        ),
        (
            LABEL,
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))) as ArrayRef,
        ),
        (LABELLED_AT, ts(rows.iter().map(|r| T0 + r.2 * S).collect())),
        (STATUS, text(&rows.iter().map(|r| r.3).collect::<Vec<_>>())),
    ])
    .unwrap()
}

#[test]
fn logs_are_append_only_segments_with_one_schema() {
    let dir = tempfile::tempdir().unwrap();
    let log = AppendLog::open(dir.path(), LogKind::Predictions).unwrap();
    let a = log.append(&predictions(&["r1", "r2"], &[0, 1])).unwrap();
    let b = log.append(&predictions(&["r3"], &[2])).unwrap();
    assert!(a.ends_with("seg-0000000001.parquet") && b.ends_with("seg-0000000002.parquet"));
    let before = fs::read(&a).unwrap();

    // Another schema is refused, naming both; nothing already stored changes.
    let other = predictions(&["r4"], &[3]).project(&[0, 1, 2, 4]).unwrap();
    let e = log.append(&other).unwrap_err().to_string();
    assert!(
        e.contains("tenure") && e.contains("the log's schema"),
        "{e}"
    );
    // A missing column or a null request id is refused too.
    let e = log
        .append(&predictions(&["r4"], &[3]).project(&[0, 2, 3, 4]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains(MODEL_VERSION), "{e}");
    let schema = predictions(&["r4"], &[3]).schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[0] = fields[0].clone().with_nullable(true);
    let nulls = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        vec![
            Arc::new(StringArray::from(vec![None::<&str>])),
            text(&["3"]),
            ts(vec![T0]),
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![1])),
        ],
    )
    .unwrap();
    assert!(
        log.append(&nulls)
            .unwrap_err()
            .to_string()
            .contains("row 0")
    );
    assert_eq!(fs::read(&a).unwrap(), before);

    // Reopening continues the numbering and keeps the schema.
    let log = AppendLog::open(dir.path(), LogKind::Predictions).unwrap();
    assert!(log.schema().is_some());
    let c = log.append(&predictions(&["r4"], &[3])).unwrap();
    assert!(c.ends_with("seg-0000000003.parquet"));
    let rows: usize = log.read().unwrap().iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 4);
    assert_eq!(log.segments().unwrap().len(), 3);
}

#[test]
fn labels_join_by_request_id_with_corrections_statuses_and_delays() {
    let preds = predictions(
        &["r1", "r2", "r3", "r4", "r5", "r1", "r7", "r8"],
        &[0, 0, 0, 0, 0, 1, 100, 1_000],
    );
    let fb = feedback(&[
        ("r1", 0, 10, "submitted"),
        ("r1", 1, 50, "ground_truth"), // a correction: the later label wins
        ("r2", 1, 10, "draft"),        // not accepted
        ("r3", 1, 600, "submitted"),   // after as_of: not known yet
        ("r4", 0, 400, "submitted"),   // later than the 300 s delay
        ("r6", 1, 10, "submitted"),    // never logged
        ("r7", 0, 130, "submitted"),
    ]);
    let spec = LabelJoin {
        max_label_delay: Some(Duration::from_secs(300)),
        ..LabelJoin::as_of(T0 + 500 * S)
    };
    let out = join_labels(
        std::slice::from_ref(&preds),
        std::slice::from_ref(&fb),
        &spec,
    )
    .unwrap();
    let r = &out.report;
    // r8 was served after as_of; r1 is logged twice.
    assert_eq!(r.predictions, 6);
    assert_eq!(r.duplicate_requests, 1);
    assert_eq!((r.labelled, r.corrected), (2, 1));
    assert_eq!(
        (
            r.rejected_status,
            r.future_labels,
            r.late_labels,
            r.orphan_labels
        ),
        (1, 1, 1, 1)
    );
    // r2, r3, r4, r5 have no accepted label: all served at 0, so 500 s > 300 s: expired.
    assert_eq!((r.pending, r.expired), (0, 4));
    let ids = strings(out.batch.column_by_name(REQUEST_ID).unwrap());
    assert_eq!(ids, ["r1", "r7"]);
    let labels = out
        .batch
        .column_by_name(LABEL)
        .unwrap()
        .as_primitive::<arrow_array::types::Int64Type>();
    assert_eq!(labels.values().to_vec(), [1, 0]);
    let delay = out
        .batch
        .column_by_name(LABEL_DELAY_MS)
        .unwrap()
        .as_primitive::<arrow_array::types::Int64Type>();
    assert_eq!(delay.values().to_vec(), [50_000, 30_000]);
    // The features travel with the label.
    assert!(out.batch.column_by_name("tenure").is_some());

    // The same as_of rebuilds the same dataset version; a later one knows more.
    let again = join_labels(
        std::slice::from_ref(&preds),
        std::slice::from_ref(&fb),
        &spec,
    )
    .unwrap();
    assert_eq!(again.dataset_id, out.dataset_id);
    let later = LabelJoin {
        as_of_us: T0 + 700 * S,
        max_label_delay: None,
        ..spec.clone()
    };
    let more = join_labels(std::slice::from_ref(&preds), &[fb], &later).unwrap();
    assert_eq!(more.report.labelled, 4); // r1, r3, r4 (no delay limit) and r7
    assert_ne!(more.dataset_id, out.dataset_id);

    // Without a delay limit, unlabelled predictions are pending, not expired.
    let drafts = feedback(&[("r1", 1, 10, "draft")]);
    let none = join_labels(
        std::slice::from_ref(&preds),
        &[drafts],
        &LabelJoin::as_of(T0 + 500 * S),
    )
    .unwrap();
    assert_eq!(
        (
            none.report.labelled,
            none.report.pending,
            none.report.expired
        ),
        (0, 6, 0)
    );
    assert_eq!(none.batch.num_rows(), 0);
    // No feedback at all is an error: the label's type is unknown.
    assert!(
        join_labels(&[preds], &[], &spec)
            .unwrap_err()
            .to_string()
            .contains("feedback")
    );
}
