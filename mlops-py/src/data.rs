//! The data layer from Python: read, fingerprint, validate, dedup, split and join tables
//! that arrive and leave through the Arrow PyCapsule interface. Work runs with the GIL
//! released.

use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use futures::TryStreamExt;
use mlops_core::ScanOptions;
use mlops_data::near_dup::{MinHashOptions, Shingle, near_duplicates as near_dups};
use mlops_data::validate::{Check, Validator};
use mlops_data::{Dedup, HashSplit, PitJoin, StratifiedSplit, dataset_id};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::arrow::{PyArrowStream, Table, import};
use crate::errors::to_py;

fn invalid(what: &str, value: &str, expected: &str) -> PyErr {
    to_py(mlops_core::Error::invalid(
        what.to_owned(),
        value,
        expected.to_owned(),
    ))
}

fn stream(schema: SchemaRef, batches: Vec<RecordBatch>) -> PyArrowStream {
    PyArrowStream::new(schema, batches)
}

/// Reads a file, a folder of Parquet files or a `file://` URL.
#[pyfunction]
fn read(py: Python<'_>, location: &str) -> PyResult<PyArrowStream> {
    let (schema, batches) = py
        .detach(|| {
            futures::executor::block_on(async {
                let src = mlops_data::open_location(location).await?;
                let batches: Vec<RecordBatch> = src
                    .scan(ScanOptions::default())
                    .await?
                    .try_collect()
                    .await?;
                Ok::<_, mlops_core::Error>((src.schema(), batches))
            })
        })
        .map_err(to_py)?;
    Ok(stream(schema, batches))
}

/// The content fingerprint (dataset id) of a table.
#[pyfunction]
fn fingerprint(py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<String> {
    let Table { schema, batches } = import(table)?;
    py.detach(|| dataset_id(&schema, &batches))
        .map(|id| id.to_string())
        .map_err(to_py)
}

fn dtype(name: &str) -> PyResult<DataType> {
    Ok(match name {
        "int64" => DataType::Int64,
        "int32" => DataType::Int32,
        "float64" | "double" => DataType::Float64,
        "float32" | "float" => DataType::Float32,
        "bool" | "boolean" => DataType::Boolean,
        "string" | "utf8" => DataType::Utf8,
        "large_string" | "large_utf8" => DataType::LargeUtf8,
        "timestamp[us, tz=UTC]" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "timestamp[us]" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "date32" | "date32[day]" => DataType::Date32,
        other => {
            return Err(invalid(
                "dtype",
                other,
                "int64, int32, float64, float32, bool, string, large_string, timestamp[us], timestamp[us, tz=UTC] or date32",
            ));
        }
    })
}

/// A check from a dict: `{"check": "not_null" | "in_range" | "isin" | "str_matches" |
/// "unique" | "row_count" | "dtype", ...}`.
fn check(d: &Bound<'_, PyDict>) -> PyResult<Check> {
    let get = |k: &str| d.get_item(k);
    let text = |k: &str| -> PyResult<String> {
        get(k)?
            .ok_or_else(|| invalid("check", &format!("{d}"), &format!("a {k:?} entry")))?
            .extract()
    };
    let float = |k: &str| -> PyResult<Option<f64>> { get(k)?.map(|v| v.extract()).transpose() };
    let count = |k: &str| -> PyResult<Option<u64>> { get(k)?.map(|v| v.extract()).transpose() };
    let kind = text("check")?;
    Ok(match kind.as_str() {
        "not_null" => Check::NotNull {
            column: text("column")?,
        },
        "in_range" => Check::Range {
            column: text("column")?,
            min: float("min")?,
            max: float("max")?,
        },
        "isin" => Check::AllowedValues {
            column: text("column")?,
            values: get("values")?
                .ok_or_else(|| invalid("isin check", &format!("{d}"), "a \"values\" list"))?
                .extract()?,
        },
        "str_matches" => Check::Regex {
            column: text("column")?,
            pattern: text("pattern")?,
        },
        "unique" => Check::Unique {
            columns: match get("columns")? {
                Some(c) => c.extract()?,
                None => vec![text("column")?],
            },
        },
        "row_count" => Check::RowCount {
            min: count("min")?,
            max: count("max")?,
        },
        "dtype" => Check::Type {
            column: text("column")?,
            data_type: dtype(&text("dtype")?)?,
        },
        other => {
            return Err(invalid(
                "check",
                other,
                "not_null, in_range, isin, str_matches, unique, row_count or dtype",
            ));
        }
    })
}

/// Validates a table lazily; returns the report (a JSON string with every check's counts
/// and percentages) and the failure cases as a table.
#[pyfunction]
#[pyo3(signature = (table, checks, *, max_listed = 1000))]
fn validate(
    py: Python<'_>,
    table: &Bound<'_, PyAny>,
    checks: &Bound<'_, PyList>,
    max_listed: usize,
) -> PyResult<(String, PyArrowStream)> {
    let checks = checks
        .iter()
        .map(|c| check(c.cast::<PyDict>()?))
        .collect::<PyResult<Vec<_>>>()?;
    let Table { batches, .. } = import(table)?;
    let report = py
        .detach(|| {
            let mut v = Validator::new(checks)?.with_max_listed(max_listed);
            for b in &batches {
                v.check_batch(b)?;
            }
            Ok::<_, mlops_core::Error>(v.finish())
        })
        .map_err(to_py)?;
    let failures = report.to_arrow().map_err(to_py)?;
    Ok((
        report.to_json().to_string(),
        stream(failures.schema(), vec![failures]),
    ))
}

/// Removes exact duplicate rows, keeping the first; returns the table and the rows removed.
#[pyfunction]
fn dedup(py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<(PyArrowStream, u64)> {
    let Table { schema, batches } = import(table)?;
    let (kept, removed) = py
        .detach(|| {
            let mut d = Dedup::new(schema.clone())?;
            let kept = batches
                .iter()
                .map(|b| d.push(b))
                .collect::<mlops_core::Result<Vec<_>>>()?;
            Ok::<_, mlops_core::Error>((kept, d.report().rows_removed))
        })
        .map_err(to_py)?;
    Ok((stream(schema, kept), removed))
}

type Three = (PyArrowStream, PyArrowStream, PyArrowStream);

fn three(schema: &SchemaRef, parts: [Vec<RecordBatch>; 3]) -> Three {
    let [a, b, c] = parts;
    (
        stream(schema.clone(), a),
        stream(schema.clone(), b),
        stream(schema.clone(), c),
    )
}

/// Splits by the frozen hash of an entity key: `train`% and `eval`% of the buckets.
#[pyfunction]
#[pyo3(signature = (table, key, *, train = 80, eval = 10, seed = 0))]
fn split(
    py: Python<'_>,
    table: &Bound<'_, PyAny>,
    key: &str,
    train: u64,
    eval: u64,
    seed: u64,
) -> PyResult<Three> {
    let Table { schema, batches } = import(table)?;
    let parts = py
        .detach(|| {
            let s = HashSplit {
                seed,
                ..HashSplit::new(train, eval)?
            };
            let mut parts: [Vec<RecordBatch>; 3] = Default::default();
            for b in &batches {
                for (p, x) in parts.iter_mut().zip(s.split_batch(b, key)?) {
                    p.push(x);
                }
            }
            Ok::<_, mlops_core::Error>(parts)
        })
        .map_err(to_py)?;
    Ok(three(&schema, parts))
}

/// Splits each label value in the same proportions, ranked by the frozen hash of `key`.
#[pyfunction]
#[pyo3(signature = (table, key, label, *, train = 0.8, eval = 0.1, seed = 0))]
fn stratified_split(
    py: Python<'_>,
    table: &Bound<'_, PyAny>,
    key: &str,
    label: &str,
    train: f64,
    eval: f64,
    seed: u64,
) -> PyResult<Three> {
    let t = import(table)?;
    let schema = t.schema.clone();
    let parts = py
        .detach(|| {
            let whole = t.concat()?;
            let [a, b, c] =
                StratifiedSplit { train, eval, seed }.split_batch(&whole, key, label)?;
            Ok::<_, mlops_core::Error>([vec![a], vec![b], vec![c]])
        })
        .map_err(to_py)?;
    Ok(three(&schema, parts))
}

/// Joins feature rows onto entity rows as of each entity row's time (Feast's semantics).
#[pyfunction]
#[pyo3(signature = (entities, features, keys, entity_time, feature_time, *, created_time = None, ttl_seconds = None, filter_by_created = false, prefix = None))]
#[allow(clippy::too_many_arguments)]
fn point_in_time_join(
    py: Python<'_>,
    entities: &Bound<'_, PyAny>,
    features: &Bound<'_, PyAny>,
    keys: Vec<String>,
    entity_time: String,
    feature_time: String,
    created_time: Option<String>,
    ttl_seconds: Option<f64>,
    filter_by_created: bool,
    prefix: Option<String>,
) -> PyResult<PyArrowStream> {
    let (e, f) = (import(entities)?, import(features)?);
    let ttl = ttl_seconds
        .map(|s| {
            Duration::try_from_secs_f64(s)
                .map_err(|_| invalid("ttl_seconds", &s.to_string(), "a non-negative number"))
        })
        .transpose()?;
    let spec = PitJoin {
        keys,
        entity_time,
        feature_time,
        created_time,
        ttl,
        filter_by_created,
        features: None,
        prefix,
    };
    let joined = py
        .detach(|| mlops_data::point_in_time_join(&e.concat()?, &f.concat()?, &spec))
        .map_err(to_py)?;
    Ok(stream(joined.schema(), vec![joined]))
}

/// Near-duplicate texts (MinHash-LSH, keep-first): returns a keep flag per text and the
/// removed `(index, duplicate_of, similarity)` triples.
#[pyfunction]
#[pyo3(signature = (texts, *, threshold = 0.8, num_perm = 128, ngram = 5, words = false, seed = 1))]
#[allow(clippy::type_complexity)]
fn near_duplicates(
    py: Python<'_>,
    texts: Vec<Option<String>>,
    threshold: f64,
    num_perm: usize,
    ngram: usize,
    words: bool,
    seed: u64,
) -> PyResult<(Vec<bool>, Vec<(u64, u64, f64)>)> {
    let shingle = if words {
        Shingle::Words(ngram)
    } else {
        Shingle::Chars(ngram)
    };
    let (keep, report) = py
        .detach(|| {
            near_dups(
                texts.iter().map(|t| t.as_deref()),
                MinHashOptions::for_threshold(threshold, num_perm, shingle, seed),
            )
        })
        .map_err(to_py)?;
    Ok((
        keep,
        report
            .removed
            .into_iter()
            .map(|r| (r.index, r.duplicate_of, r.similarity))
            .collect(),
    ))
}

/// Registers the data functions in `mlops._mlops`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyArrowStream>()?;
    for f in [
        wrap_pyfunction!(read, m)?,
        wrap_pyfunction!(fingerprint, m)?,
        wrap_pyfunction!(validate, m)?,
        wrap_pyfunction!(dedup, m)?,
        wrap_pyfunction!(split, m)?,
        wrap_pyfunction!(stratified_split, m)?,
        wrap_pyfunction!(point_in_time_join, m)?,
        wrap_pyfunction!(near_duplicates, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
