//! Feedback capture: an append-only log of served predictions and one of the labels and
//! corrections that arrive later, joined by request id into a labelled dataset.
//!
//! Both logs are folders of Parquet segments, `seg-0000000001.parquet`, ...: each append
//! writes one new segment atomically (temporary file, fsync, rename) and never touches an
//! existing one, so a crash loses at most the append in flight and readers never see half
//! a segment. The first segment fixes the log's schema; an append with another schema is
//! refused with an error naming the difference.
//!
//! - The **prediction log** holds [`REQUEST_ID`] (string, unique), [`MODEL_VERSION`]
//!   (string), [`PREDICTED_AT`] (timestamp) and [`PREDICTION`], plus any feature, score or
//!   context columns: the feature values as the model saw them.
//! - The **feedback log** holds [`REQUEST_ID`], [`LABEL`], [`LABELLED_AT`] (timestamp) and
//!   optionally [`STATUS`] (as Argilla's and Label Studio's: `submitted`, `ground_truth`,
//!   `draft`, `discarded`) and any annotator columns.
//!
//! [`join_labels`] emits one labelled row per prediction whose label arrived in time:
//! labels after [`LabelJoin::as_of`] do not exist yet (so a dataset version can be rebuilt
//! exactly later), labels later than [`LabelJoin::max_label_delay`] after the prediction are
//! ignored, only accepted statuses count, and among several labels for one request the
//! latest wins (a correction overrides the first answer).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{
    Array, ArrayRef, Int64Array, RecordBatch, TimestampMicrosecondArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use mlops_core::{DatasetId, Error, Result};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::fingerprint::dataset_id;
use crate::write::{WriteOptions, write_parquet};

/// The request id column of both logs (a non-null string, unique in the prediction log).
pub const REQUEST_ID: &str = "request_id";
/// The model version that served the prediction.
pub const MODEL_VERSION: &str = "model_version";
/// When the prediction was served.
pub const PREDICTED_AT: &str = "predicted_at";
/// The served prediction.
pub const PREDICTION: &str = "prediction";
/// The true label or correction.
pub const LABEL: &str = "label";
/// When the label was given.
pub const LABELLED_AT: &str = "labelled_at";
/// The label's review status (optional column).
pub const STATUS: &str = "status";
/// The joined output's delay between prediction and label, in milliseconds.
pub const LABEL_DELAY_MS: &str = "label_delay_ms";

/// Which log a folder holds, and so which columns it requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// Served predictions.
    Predictions,
    /// Labels and corrections.
    Feedback,
}

impl LogKind {
    fn required(self) -> &'static [(&'static str, Kind)] {
        match self {
            LogKind::Predictions => &[
                (REQUEST_ID, Kind::Text),
                (MODEL_VERSION, Kind::Text),
                (PREDICTED_AT, Kind::Time),
                (PREDICTION, Kind::Any),
            ],
            LogKind::Feedback => &[
                (REQUEST_ID, Kind::Text),
                (LABEL, Kind::Any),
                (LABELLED_AT, Kind::Time),
            ],
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Time,
    Any,
}

/// An append-only log of record batches in a folder of Parquet segments.
#[derive(Debug)]
pub struct AppendLog {
    dir: PathBuf,
    kind: LogKind,
    /// The log's schema (from its first segment) and the next segment number.
    state: Mutex<(Option<SchemaRef>, u64)>,
}

fn segment_number(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("seg-")?
        .strip_suffix(".parquet")?
        .parse()
        .ok()
}

fn io(what: &'static str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid(what, path.display().to_string(), e.to_string())
}

impl AppendLog {
    /// Opens (creating if needed) the log in `dir`; an existing log's schema is read from
    /// its first segment.
    pub fn open(dir: impl AsRef<Path>, kind: LogKind) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| io("log folder", &dir, e))?;
        let log = AppendLog {
            dir,
            kind,
            state: Mutex::new((None, 1)),
        };
        let segments = log.segments()?;
        let mut state = (None, 1);
        if let Some(first) = segments.first() {
            let file = fs::File::open(first).map_err(|e| io("log segment", first, e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| io("log segment", first, e))?;
            state.0 = Some(reader.schema().clone());
        }
        if let Some(last) = segments.last() {
            state.1 = segment_number(last).unwrap_or(0) + 1;
        }
        *log.state.lock().map_err(|_| poisoned())? = state;
        Ok(log)
    }

    /// The log's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's schema, once something was appended.
    pub fn schema(&self) -> Option<SchemaRef> {
        self.state.lock().ok().and_then(|s| s.0.clone())
    }

    /// The segment files, in append order.
    pub fn segments(&self) -> Result<Vec<PathBuf>> {
        let mut out: Vec<(u64, PathBuf)> = fs::read_dir(&self.dir)
            .map_err(|e| io("log folder", &self.dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| segment_number(&p).map(|n| (n, p)))
            .collect();
        out.sort();
        Ok(out.into_iter().map(|(_, p)| p).collect())
    }

    /// Appends one batch as a new segment, after checking its columns; returns the segment.
    pub fn append(&self, batch: &RecordBatch) -> Result<PathBuf> {
        if batch.num_rows() == 0 {
            return Err(Error::invalid("log append", "0 rows", "at least one row"));
        }
        check_columns(batch, self.kind)?;
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        if let Some(schema) = &state.0
            && schema.fields() != batch.schema().fields()
        {
            return Err(Error::invalid(
                format!("schema of an append to {}", self.dir.display()),
                describe(&batch.schema()),
                format!("the log's schema {}", describe(schema)),
            ));
        }
        // Never overwrite: skip numbers already taken (another process may append too).
        let mut path;
        loop {
            path = self.dir.join(format!("seg-{:010}.parquet", state.1));
            state.1 += 1;
            if !path.exists() {
                break;
            }
        }
        write_parquet(
            &path,
            &batch.schema(),
            std::slice::from_ref(batch),
            WriteOptions::default(),
        )?;
        if state.0.is_none() {
            state.0 = Some(batch.schema());
        }
        Ok(path)
    }

    /// Every row of the log, segment by segment.
    pub fn read(&self) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for path in self.segments()? {
            let file = fs::File::open(&path).map_err(|e| io("log segment", &path, e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(|e| io("log segment", &path, e))?;
            for batch in reader {
                out.push(batch.map_err(|e| io("log segment", &path, e))?);
            }
        }
        Ok(out)
    }
}

fn poisoned() -> Error {
    Error::invalid("append log", "a poisoned lock", "no panic while appending")
}

fn describe(schema: &Schema) -> String {
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect();
    format!("[{}]", cols.join(", "))
}

fn check_columns(batch: &RecordBatch, kind: LogKind) -> Result<()> {
    for (name, want) in kind.required() {
        let col = batch.column_by_name(name).ok_or_else(|| {
            Error::invalid(
                format!("column of the {kind:?} log"),
                *name,
                "a column of the appended batch",
            )
        })?;
        let ok = match want {
            Kind::Text => matches!(col.data_type(), DataType::Utf8 | DataType::LargeUtf8),
            Kind::Time => matches!(col.data_type(), DataType::Timestamp(_, _)),
            Kind::Any => true,
        };
        if !ok {
            return Err(Error::invalid(
                format!("type of column {name:?} of the {kind:?} log"),
                col.data_type().to_string(),
                match want {
                    Kind::Text => "Utf8 or LargeUtf8",
                    _ => "a Timestamp",
                },
            ));
        }
        if !matches!(want, Kind::Any) && col.null_count() > 0 {
            let row = (0..col.len()).find(|&r| col.is_null(r)).unwrap_or(0);
            return Err(Error::invalid(
                format!("column {name:?} at row {row}"),
                "null",
                "a value in every row",
            ));
        }
    }
    Ok(())
}

/// How labels join predictions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelJoin {
    /// Only labels given at or before this time (microseconds since the epoch) count, so
    /// the same call later rebuilds the same dataset.
    pub as_of_us: i64,
    /// Labels given later than this after their prediction are ignored; predictions without
    /// a label that are younger than this at `as_of` are pending rather than expired.
    pub max_label_delay: Option<Duration>,
    /// Accepted values of the [`STATUS`] column when the feedback log has one.
    pub statuses: Vec<String>,
}

impl LabelJoin {
    /// Labels up to `as_of_us`, any delay, statuses `submitted` and `ground_truth`.
    pub fn as_of(as_of_us: i64) -> Self {
        LabelJoin {
            as_of_us,
            max_label_delay: None,
            statuses: vec!["submitted".into(), "ground_truth".into()],
        }
    }
}

/// What a label join did with every prediction and label.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelJoinReport {
    /// Distinct predictions considered (served at or before `as_of`).
    pub predictions: u64,
    /// Predictions that got a label (the output rows).
    pub labelled: u64,
    /// Predictions without a label yet that may still get one.
    pub pending: u64,
    /// Predictions whose label delay ran out without a label.
    pub expired: u64,
    /// Request ids logged more than once (the first row is kept).
    pub duplicate_requests: u64,
    /// Labels for request ids that were never logged.
    pub orphan_labels: u64,
    /// Labels given after `as_of` (not yet known).
    pub future_labels: u64,
    /// Labels that arrived after the maximum delay.
    pub late_labels: u64,
    /// Labels whose status is not accepted (drafts, discarded).
    pub rejected_status: u64,
    /// Labelled predictions whose label was corrected (more than one accepted label).
    pub corrected: u64,
    /// Median and 95th percentile of the label delay of the output rows, milliseconds.
    pub delay_p50_ms: Option<i64>,
    /// See `delay_p50_ms`.
    pub delay_p95_ms: Option<i64>,
}

/// The labelled dataset a join produced, with its content id and report.
#[derive(Clone, Debug)]
pub struct LabelledData {
    /// The prediction log's columns for every labelled prediction (in log order), plus
    /// [`LABEL`], [`LABELLED_AT`] and [`LABEL_DELAY_MS`].
    pub batch: RecordBatch,
    /// The content id of `batch` (a dataset version).
    pub dataset_id: DatasetId,
    /// What happened to every prediction and label.
    pub report: LabelJoinReport,
}

fn micros(col: &ArrayRef, name: &str) -> Result<Vec<i64>> {
    fn scaled<T: arrow_array::ArrowPrimitiveType<Native = i64>>(
        col: &ArrayRef,
        f: impl Fn(i64) -> i64,
    ) -> Vec<i64> {
        col.as_primitive::<T>()
            .values()
            .iter()
            .map(|&v| f(v))
            .collect()
    }
    Ok(match col.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            scaled::<TimestampSecondType>(col, |v| v.saturating_mul(1_000_000))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            scaled::<TimestampMillisecondType>(col, |v| v.saturating_mul(1_000))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            scaled::<TimestampMicrosecondType>(col, |v| v)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            scaled::<TimestampNanosecondType>(col, |v| v.div_euclid(1_000))
        }
        other => {
            return Err(Error::invalid(
                format!("type of column {name:?}"),
                other.to_string(),
                "a Timestamp",
            ));
        }
    })
}

fn strings(col: &ArrayRef) -> Vec<String> {
    match col.data_type() {
        DataType::LargeUtf8 => col
            .as_string::<i64>()
            .iter()
            .map(|v| v.unwrap_or_default().to_owned())
            .collect(),
        _ => col
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap_or_default().to_owned())
            .collect(),
    }
}

fn concat(batches: &[RecordBatch], what: &str) -> Result<Option<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    arrow_select::concat::concat_batches(&first.schema(), batches)
        .map(Some)
        .map_err(|e| Error::invalid(format!("{what} batches"), "schemas", e.to_string()))
}

/// numpy's linear percentile of sorted integers.
fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some((sorted[lo] as f64 + (sorted[hi] - sorted[lo]) as f64 * (pos - lo as f64)).round() as i64)
}

/// Joins labels to predictions by request id (rules in the module docs).
pub fn join_labels(
    predictions: &[RecordBatch],
    feedback: &[RecordBatch],
    spec: &LabelJoin,
) -> Result<LabelledData> {
    for b in predictions {
        check_columns(b, LogKind::Predictions)?;
    }
    for b in feedback {
        check_columns(b, LogKind::Feedback)?;
    }
    let preds = concat(predictions, "prediction")?
        .ok_or_else(|| Error::invalid("predictions", "no batches", "at least one prediction"))?;
    let mut report = LabelJoinReport::default();
    let ids = strings(
        preds
            .column_by_name(REQUEST_ID)
            .ok_or_else(|| missing(REQUEST_ID))?,
    );
    let served = micros(
        preds
            .column_by_name(PREDICTED_AT)
            .ok_or_else(|| missing(PREDICTED_AT))?,
        PREDICTED_AT,
    )?;
    let delay_us = spec
        .max_label_delay
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    // First row of each request id served by `as_of`.
    let mut row_of: HashMap<&str, usize> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        if served[i] > spec.as_of_us {
            continue;
        }
        if row_of.contains_key(id.as_str()) {
            report.duplicate_requests += 1;
        } else {
            row_of.insert(id, i);
        }
    }
    report.predictions = row_of.len() as u64;

    // The winning label per prediction row: (labelled_at, feedback row) of the latest.
    let mut best: HashMap<usize, (i64, usize)> = HashMap::new();
    let mut accepted_count: HashMap<usize, u32> = HashMap::new();
    let fb = concat(feedback, "feedback")?;
    if let Some(fb) = &fb {
        let fids = strings(
            fb.column_by_name(REQUEST_ID)
                .ok_or_else(|| missing(REQUEST_ID))?,
        );
        let at = micros(
            fb.column_by_name(LABELLED_AT)
                .ok_or_else(|| missing(LABELLED_AT))?,
            LABELLED_AT,
        )?;
        let status = fb.column_by_name(STATUS).map(strings);
        for (j, id) in fids.iter().enumerate() {
            if at[j] > spec.as_of_us {
                report.future_labels += 1;
                continue;
            }
            if let Some(s) = &status
                && !spec.statuses.iter().any(|ok| *ok == s[j])
            {
                report.rejected_status += 1;
                continue;
            }
            let Some(&row) = row_of.get(id.as_str()) else {
                report.orphan_labels += 1;
                continue;
            };
            if delay_us.is_some_and(|d| at[j].saturating_sub(served[row]) > d) {
                report.late_labels += 1;
                continue;
            }
            *accepted_count.entry(row).or_default() += 1;
            let cand = (at[j], j);
            let slot = best.entry(row).or_insert(cand);
            if cand > *slot {
                *slot = cand;
            }
        }
    }
    report.corrected = accepted_count.values().filter(|&&c| c > 1).count() as u64;
    let mut rows: Vec<usize> = best.keys().copied().collect();
    rows.sort_unstable();
    report.labelled = rows.len() as u64;
    for &row in row_of.values() {
        if best.contains_key(&row) {
            continue;
        }
        let waited = spec.as_of_us.saturating_sub(served[row]);
        if delay_us.is_some_and(|d| waited > d) {
            report.expired += 1;
        } else {
            report.pending += 1;
        }
    }

    let take_rows = UInt32Array::from_iter_values(rows.iter().map(|&r| r as u32));
    let mut fields: Vec<Arc<Field>> = preds.schema().fields().iter().cloned().collect();
    let mut cols: Vec<ArrayRef> = preds
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &take_rows, None))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::invalid("prediction rows", "take", e.to_string()))?;
    let label_rows: Vec<(i64, usize)> = rows.iter().map(|r| best[r]).collect();
    let fb = fb.ok_or_else(|| {
        Error::invalid(
            "feedback",
            "no batches",
            "at least one feedback batch (the label's type comes from it)",
        )
    })?;
    let (label_col, label_field) = {
        let col = fb.column_by_name(LABEL).ok_or_else(|| missing(LABEL))?;
        let idx = UInt32Array::from_iter_values(label_rows.iter().map(|&(_, j)| j as u32));
        let taken = arrow_select::take::take(col.as_ref(), &idx, None)
            .map_err(|e| Error::invalid("label rows", "take", e.to_string()))?;
        (taken, Field::new(LABEL, col.data_type().clone(), true))
    };
    for name in [LABEL, LABELLED_AT, LABEL_DELAY_MS] {
        if fields.iter().any(|f| f.name() == name) {
            return Err(Error::invalid(
                "prediction log column",
                name,
                "a name the join does not add",
            ));
        }
    }
    let delays: Vec<i64> = rows
        .iter()
        .zip(&label_rows)
        .map(|(&r, &(at, _))| (at - served[r]).div_euclid(1_000))
        .collect();
    let mut sorted = delays.clone();
    sorted.sort_unstable();
    report.delay_p50_ms = percentile(&sorted, 0.5);
    report.delay_p95_ms = percentile(&sorted, 0.95);
    fields.push(Arc::new(label_field));
    cols.push(label_col);
    fields.push(Arc::new(Field::new(
        LABELLED_AT,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    )));
    cols.push(Arc::new(
        TimestampMicrosecondArray::from_iter_values(label_rows.iter().map(|&(at, _)| at))
            .with_timezone("UTC"),
    ));
    fields.push(Arc::new(Field::new(LABEL_DELAY_MS, DataType::Int64, false)));
    cols.push(Arc::new(Int64Array::from(delays)));
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols)
        .map_err(|e| Error::invalid("labelled table", "columns", e.to_string()))?;
    let id = dataset_id(&schema, std::slice::from_ref(&batch))?;
    Ok(LabelledData {
        batch,
        dataset_id: id,
        report,
    })
}

fn missing(name: &str) -> Error {
    Error::invalid("log column", name, "a column of the log")
}

#[cfg(test)]
mod tests;
