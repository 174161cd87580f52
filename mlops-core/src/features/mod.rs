//! Feature pipelines shared by training and serving.
//!
//! A [`PipelineSpec`] says what to do with each input column (impute, then standardize,
//! min-max scale, one-hot or ordinal encode with an unknown bucket, bucketize, or hash).
//! [`PipelineSpec::fit`] learns the statistics on the training split and returns a
//! [`FeaturePipeline`], which is plain serializable data saved with the model. The same fitted
//! pipeline turns a record batch ([`FeaturePipeline::transform`]) or a single JSON request
//! ([`FeaturePipeline::transform_row`]) into `f32` features, through the same per-value code,
//! so batch and per-row outputs agree bit for bit.
//!
//! Conventions follow scikit-learn: `StandardScaler` (population standard deviation, a
//! near-zero scale replaced by 1), `MinMaxScaler`, `OneHotEncoder`/`OrdinalEncoder`
//! (categories sorted), `SimpleImputer` (mean, median, most frequent with ties to the
//! smallest, constant), `KBinsDiscretizer` (uniform or linear-quantile edges, ordinal
//! output) and `FeatureHasher`/`HashingVectorizer` (MurmurHash3, alternate sign).
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Float64Array, RecordBatch, StringArray};
//! use arrow_schema::{DataType, Field, Schema};
//! use mlops_core::features::{ColumnSpec, PipelineSpec, Transform};
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("age", DataType::Float64, true),
//!     Field::new("plan", DataType::Utf8, true),
//! ]));
//! let batch = RecordBatch::try_new(schema, vec![
//!     Arc::new(Float64Array::from(vec![Some(20.0), None, Some(40.0)])),
//!     Arc::new(StringArray::from(vec!["pro", "free", "pro"])),
//! ]).unwrap();
//! let spec = PipelineSpec::new(vec![
//!     ColumnSpec::new("age", Transform::Standardize).impute_mean(),
//!     ColumnSpec::new("plan", Transform::one_hot()),
//! ]);
//! let pipeline = spec.fit(&[batch.clone()]).unwrap();
//! assert_eq!(pipeline.output_names(), ["age", "plan=free", "plan=pro", "plan=<other>"]);
//! let m = pipeline.transform(&batch).unwrap();
//! assert_eq!(m.row(1), [0.0, 1.0, 0.0, 0.0]);   // the missing age became the mean
//! let one = pipeline.transform_row(&serde_json::json!({"age": 40.0, "plan": "team"})).unwrap();
//! assert_eq!(one, m.row(2)[..1].iter().copied().chain([0.0, 0.0, 1.0]).collect::<Vec<_>>());
//! ```

mod cell;
pub(crate) mod fit;
pub mod hash;

use std::collections::HashMap;
use std::sync::OnceLock;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

pub use cell::Cell;
pub(crate) use cell::ColumnCells;

use crate::error::{Error, Result};

/// How missing values (null, NaN) of a column are filled before its transform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "strategy", content = "value")]
pub enum Impute {
    /// The training mean (numbers only).
    Mean,
    /// The training median (numbers only).
    Median,
    /// The most frequent training value; ties go to the smallest.
    MostFrequent,
    /// A fixed value.
    Constant(serde_json::Value),
}

/// What a column becomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Transform {
    /// The number itself.
    Passthrough,
    /// `(x - mean) / std` with the training mean and population standard deviation (1 for a
    /// near-constant column, by scikit-learn's test on the variance).
    Standardize,
    /// `(x - min) / (max - min)` with the training minimum and maximum.
    MinMax,
    /// One column per training category (sorted) plus an `<other>` bucket for unknown,
    /// missing and infrequent values.
    OneHot {
        /// Categories seen fewer times than this go to the `<other>` bucket.
        #[serde(default)]
        min_frequency: Option<u64>,
        /// Keep at most this many categories (the most frequent; ties to the larger, as
        /// scikit-learn breaks them). scikit-learn's `max_categories` also counts the
        /// infrequent column: ours `k` is theirs `k + 1`.
        #[serde(default)]
        max_categories: Option<usize>,
    },
    /// The index of the category among the sorted training categories; unknown and missing
    /// values get the next index (the unknown bucket).
    Ordinal,
    /// The bin index: the number of edges `<= x`.
    Bucketize {
        /// Fixed inner edges, ascending. When absent, `bins` edges are fitted.
        #[serde(default)]
        boundaries: Option<Vec<f64>>,
        /// How many bins to fit (default 5).
        #[serde(default)]
        bins: Option<usize>,
        /// `quantile` (default) or `uniform`.
        #[serde(default)]
        strategy: Option<BinStrategy>,
    },
    /// Hash the value (or, with `tokenize`, each token of the text) into `buckets` columns.
    Hash {
        /// Output width.
        buckets: usize,
        /// Sign each hit by the hash, as scikit-learn does by default.
        #[serde(default = "yes")]
        alternate_sign: bool,
        /// Split text into lowercase word tokens first (`HashingVectorizer`'s analyzer).
        #[serde(default)]
        tokenize: bool,
    },
}

fn yes() -> bool {
    true
}

/// How [`Transform::Bucketize`] fits its edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinStrategy {
    /// Equal-frequency bins (linearly interpolated quantiles, numpy's default).
    Quantile,
    /// Equal-width bins between the training minimum and maximum.
    Uniform,
}

impl Transform {
    /// One-hot encoding keeping every training category.
    pub fn one_hot() -> Self {
        Transform::OneHot {
            min_frequency: None,
            max_categories: None,
        }
    }

    /// Bucketizing with fixed inner edges.
    pub fn buckets(boundaries: Vec<f64>) -> Self {
        Transform::Bucketize {
            boundaries: Some(boundaries),
            bins: None,
            strategy: None,
        }
    }

    /// Signed hashing of the value into `buckets` columns.
    pub fn hash(buckets: usize) -> Self {
        Transform::Hash {
            buckets,
            alternate_sign: true,
            tokenize: false,
        }
    }

    /// True when the transform reads numbers (rather than category keys).
    fn is_numeric(&self) -> bool {
        matches!(
            self,
            Transform::Passthrough
                | Transform::Standardize
                | Transform::MinMax
                | Transform::Bucketize { .. }
        )
    }
}

/// What to do with one input column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// The input column.
    pub column: String,
    /// How missing values are filled first; without it a missing value is an error for
    /// numeric transforms, the unknown bucket for encoders, and no hit for hashing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impute: Option<Impute>,
    /// The transform.
    pub transform: Transform,
}

impl ColumnSpec {
    /// A column with a transform and no imputation.
    pub fn new(column: impl Into<String>, transform: Transform) -> Self {
        ColumnSpec {
            column: column.into(),
            impute: None,
            transform,
        }
    }

    /// Fills missing values with the training mean first.
    pub fn impute_mean(mut self) -> Self {
        self.impute = Some(Impute::Mean);
        self
    }

    /// Fills missing values with `impute` first.
    pub fn impute(mut self, impute: Impute) -> Self {
        self.impute = Some(impute);
        self
    }
}

/// The unfitted pipeline: one [`ColumnSpec`] per input column, outputs in this order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineSpec {
    /// The columns.
    pub columns: Vec<ColumnSpec>,
}

impl PipelineSpec {
    /// A pipeline over these columns.
    pub fn new(columns: Vec<ColumnSpec>) -> Self {
        PipelineSpec { columns }
    }

    /// A sensible default for every column of `schema` except `exclude` (the label, ids):
    /// numbers and booleans are mean-imputed and standardized, everything else one-hot
    /// encoded.
    pub fn auto(schema: &arrow_schema::Schema, exclude: &[&str]) -> Self {
        let columns = schema
            .fields()
            .iter()
            .filter(|f| !exclude.contains(&f.name().as_str()))
            .map(|f| {
                let numeric =
                    f.data_type().is_numeric() || *f.data_type() == arrow_schema::DataType::Boolean;
                if numeric {
                    ColumnSpec::new(f.name().clone(), Transform::Standardize).impute_mean()
                } else {
                    ColumnSpec::new(f.name().clone(), Transform::one_hot())
                }
            })
            .collect();
        PipelineSpec { columns }
    }

    /// Learns every statistic from the training batches.
    pub fn fit(&self, batches: &[RecordBatch]) -> Result<FeaturePipeline> {
        if self.columns.is_empty() {
            return Err(Error::invalid(
                "feature pipeline",
                "no columns",
                "at least one feature column",
            ));
        }
        let columns = self
            .columns
            .iter()
            .map(|spec| fit::fit_column(spec, batches))
            .collect::<Result<Vec<_>>>()?;
        Ok(FeaturePipeline { columns })
    }
}

/// A fitted value substituted for missing inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// A number.
    Number(f64),
    /// A category key.
    Text(String),
}

/// A transform with its learned statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FittedTransform {
    /// The number itself.
    Passthrough,
    /// `(x - mean) / scale`.
    Standardize {
        /// Training mean.
        mean: f64,
        /// Training population standard deviation (1 for a near-constant column).
        scale: f64,
    },
    /// `(x - min) / range`.
    MinMax {
        /// Training minimum.
        min: f64,
        /// Training `max - min` (1 when near zero).
        range: f64,
    },
    /// One column per category, then `<other>`.
    OneHot {
        /// Kept categories, sorted.
        categories: Categories,
    },
    /// The category's index; `categories.len()` for anything else.
    Ordinal {
        /// Categories, sorted.
        categories: Categories,
    },
    /// The number of inner edges `<= x`.
    Bucketize {
        /// Inner edges, ascending.
        boundaries: Vec<f64>,
    },
    /// Signed hashing.
    Hash {
        /// Output width.
        buckets: usize,
        /// Sign by hash.
        alternate_sign: bool,
        /// Tokenize text first.
        tokenize: bool,
    },
}

/// The categories of an encoder, in output order (numerically sorted when the input was
/// numeric, else by code point, as scikit-learn sorts them), with a lookup built on first use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Categories {
    values: Vec<String>,
    #[serde(skip)]
    lookup: Lookup,
}

#[derive(Clone, Debug, Default)]
struct Lookup(OnceLock<HashMap<String, usize>>);

impl PartialEq for Lookup {
    fn eq(&self, _: &Self) -> bool {
        true // a cache: equal whenever the categories are
    }
}

impl Categories {
    /// Categories in output order.
    pub fn new(values: Vec<String>) -> Self {
        Categories {
            values,
            lookup: Lookup::default(),
        }
    }

    /// The categories in output order.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// How many categories.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The slot of `key`: its index, or `len()` (the unknown bucket) when absent or missing.
    pub fn slot(&self, key: Option<&str>) -> usize {
        let lookup = self.lookup.0.get_or_init(|| {
            self.values
                .iter()
                .enumerate()
                .map(|(i, v)| (v.clone(), i))
                .collect()
        });
        key.and_then(|k| lookup.get(k).copied())
            .unwrap_or(self.values.len())
    }
}

/// One fitted column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedColumn {
    /// The input column.
    pub column: String,
    /// True when the input was numeric at fit time (the signature's type).
    pub numeric_input: bool,
    /// The value substituted for missing inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<Fill>,
    /// The transform.
    pub transform: FittedTransform,
}

/// The name of the bucket that takes unknown, missing and infrequent categories.
pub const OTHER: &str = "<other>";

impl FittedColumn {
    /// How many output columns this column makes.
    pub fn width(&self) -> usize {
        match &self.transform {
            FittedTransform::OneHot { categories } => categories.len() + 1,
            FittedTransform::Hash { buckets, .. } => *buckets,
            _ => 1,
        }
    }

    fn output_names(&self, out: &mut Vec<String>) {
        let c = &self.column;
        match &self.transform {
            FittedTransform::OneHot { categories } => {
                out.extend(categories.values().iter().map(|k| format!("{c}={k}")));
                out.push(format!("{c}={OTHER}"));
            }
            FittedTransform::Hash { buckets, .. } => {
                out.extend((0..*buckets).map(|i| format!("{c}#{i}")));
            }
            _ => out.push(c.clone()),
        }
    }

    /// The fast path of [`apply`](Self::apply) for a numeric transform over a float or
    /// integer column without nulls: the same arithmetic on the raw values, so the same bits.
    /// Returns false (having written nothing that matters) when the column does not qualify
    /// or holds a NaN, and the caller takes the general path.
    fn apply_dense(
        &self,
        array: &arrow_array::ArrayRef,
        out: &mut [f32],
        stride: usize,
        offset: usize,
    ) -> bool {
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
        use arrow_schema::DataType;
        if array.null_count() > 0 {
            return false;
        }
        let f: &dyn Fn(f64) -> f32 = match &self.transform {
            FittedTransform::Passthrough => &|x| x as f32,
            FittedTransform::Standardize { mean, scale } => &move |x| ((x - mean) / scale) as f32,
            FittedTransform::MinMax { min, range } => &move |x| ((x - min) / range) as f32,
            _ => return false,
        };
        fn fill<T: Copy>(
            values: &[T],
            to: impl Fn(T) -> f64,
            f: &dyn Fn(f64) -> f32,
            out: &mut [f32],
            stride: usize,
            offset: usize,
        ) -> bool {
            for (row, v) in values.iter().enumerate() {
                let x = to(*v);
                if x.is_nan() {
                    return false;
                }
                out[row * stride + offset] = f(x);
            }
            true
        }
        match array.data_type() {
            DataType::Float32 => fill(
                array.as_primitive::<Float32Type>().values(),
                |v| v as f64,
                f,
                out,
                stride,
                offset,
            ),
            DataType::Float64 => fill(
                array.as_primitive::<Float64Type>().values(),
                |v| v,
                f,
                out,
                stride,
                offset,
            ),
            DataType::Int32 => fill(
                array.as_primitive::<Int32Type>().values(),
                |v| v as f64,
                f,
                out,
                stride,
                offset,
            ),
            DataType::Int64 => fill(
                array.as_primitive::<Int64Type>().values(),
                |v| v as f64,
                f,
                out,
                stride,
                offset,
            ),
            _ => false,
        }
    }

    /// Writes this column's features for one value into `out` (exactly `width()` slots, all
    /// zero on entry). The one code path for batches and single requests.
    fn apply(&self, cell: Cell<'_>, out: &mut [f32]) -> Result<()> {
        let cell = match (&cell, &self.fill) {
            (Cell::Missing, Some(Fill::Number(x))) => Cell::Number(*x),
            (Cell::Missing, Some(Fill::Text(t))) => Cell::Text(t.as_str().into()),
            _ => cell,
        };
        let number = |cell: &Cell<'_>| -> Result<f64> {
            cell.number(&self.column)?.ok_or_else(|| {
                Error::invalid(
                    format!("value of feature column \"{}\"", self.column),
                    "null",
                    "a number; add an imputer to the column's spec to fill missing values",
                )
            })
        };
        match &self.transform {
            FittedTransform::Passthrough => out[0] = number(&cell)? as f32,
            FittedTransform::Standardize { mean, scale } => {
                out[0] = ((number(&cell)? - mean) / scale) as f32
            }
            FittedTransform::MinMax { min, range } => {
                out[0] = ((number(&cell)? - min) / range) as f32
            }
            FittedTransform::Bucketize { boundaries } => {
                let x = number(&cell)?;
                out[0] = boundaries.partition_point(|b| *b <= x) as f32;
            }
            FittedTransform::OneHot { categories } => {
                out[categories.slot(cell.category().as_deref())] = 1.0;
            }
            FittedTransform::Ordinal { categories } => {
                out[0] = categories.slot(cell.category().as_deref()) as f32;
            }
            FittedTransform::Hash {
                buckets,
                alternate_sign,
                tokenize,
            } => {
                if let Some(key) = cell.category() {
                    let mut hit = |token: &str| {
                        let (i, sign) = hash::bucket_of(token, *buckets, *alternate_sign);
                        out[i] += sign;
                    };
                    if *tokenize {
                        hash::tokens(&key).for_each(|t| hit(&t));
                    } else {
                        hit(&key);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A fitted pipeline: serializable, saved with the model, applied identically at training
/// and serving time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeaturePipeline {
    /// The fitted columns, in output order.
    pub columns: Vec<FittedColumn>,
}

/// Dense `f32` features, row-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureMatrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of features per row.
    pub width: usize,
    /// `rows * width` values, row after row.
    pub values: Vec<f32>,
}

impl FeatureMatrix {
    /// The features of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.width..(i + 1) * self.width]
    }
}

impl FeaturePipeline {
    /// The number of output features.
    pub fn width(&self) -> usize {
        self.columns.iter().map(FittedColumn::width).sum()
    }

    /// The names of the output features, in order.
    pub fn output_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.width());
        self.columns.iter().for_each(|c| c.output_names(&mut out));
        out
    }

    /// The input columns the pipeline reads.
    pub fn input_columns(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.column.as_str()).collect()
    }

    /// Transforms a batch; errors name the column and the row.
    pub fn transform(&self, batch: &RecordBatch) -> Result<FeatureMatrix> {
        let mut m = FeatureMatrix {
            rows: 0,
            width: self.width(),
            values: Vec::new(),
        };
        self.transform_into(batch, &mut m)?;
        Ok(m)
    }

    /// Transforms several batches into one matrix.
    pub fn transform_all(&self, batches: &[RecordBatch]) -> Result<FeatureMatrix> {
        let mut m = FeatureMatrix {
            rows: 0,
            width: self.width(),
            values: Vec::new(),
        };
        m.values
            .reserve(batches.iter().map(|b| b.num_rows()).sum::<usize>() * m.width);
        for b in batches {
            self.transform_into(b, &mut m)?;
        }
        Ok(m)
    }

    /// Appends a batch's rows to `m`.
    pub fn transform_into(&self, batch: &RecordBatch, m: &mut FeatureMatrix) -> Result<()> {
        let width = self.width();
        let n = batch.num_rows();
        let start = m.values.len();
        m.values.resize(start + n * width, 0.0);
        let mut offset = 0;
        for col in &self.columns {
            let array = batch.column_by_name(&col.column).ok_or_else(|| {
                Error::invalid(
                    "record batch",
                    format!("columns {:?}", column_names(batch)),
                    format!("a column named \"{}\" (the pipeline reads it)", col.column),
                )
            })?;
            let w = col.width();
            if col.apply_dense(array, &mut m.values[start..], width, offset) {
                offset += w;
                continue;
            }
            let cells = ColumnCells::new(&col.column, array)?;
            for row in 0..n {
                let at = start + row * width + offset;
                col.apply(cells.get(row), &mut m.values[at..at + w])
                    .map_err(|e| at_row(e, m.rows + row))?;
            }
            offset += w;
        }
        m.rows += n;
        Ok(())
    }

    /// Transforms one request given as a JSON object of column values.
    pub fn transform_row(&self, row: &serde_json::Value) -> Result<Vec<f32>> {
        let object = row.as_object().ok_or_else(|| {
            Error::invalid(
                "feature row",
                row.to_string(),
                "a JSON object of column values",
            )
        })?;
        let mut out = vec![0.0; self.width()];
        let mut offset = 0;
        for col in &self.columns {
            let value = object.get(&col.column).unwrap_or(&serde_json::Value::Null);
            let w = col.width();
            col.apply(Cell::from_json(value)?, &mut out[offset..offset + w])?;
            offset += w;
        }
        Ok(out)
    }
}

fn column_names(batch: &RecordBatch) -> Vec<String> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

fn at_row(e: Error, row: usize) -> Error {
    match e {
        Error::InvalidInput {
            what,
            value,
            expected,
        } => Error::InvalidInput {
            what: format!("{what} at row {row}").into(),
            value,
            expected,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests;
