//! [`NannymlDriftDetector`]: a [`DriftDetector`] with NannyML's univariate methods and
//! thresholds, for teams that moved from NannyML and want its numbers.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::DataType;
use mlops_core::{ColumnDrift, DriftDetector, DriftReport, Error, FittedReference, Result};
use serde::{Deserialize, Serialize};

use super::{NannymlMethod, NannymlReference};

/// The detector name recorded in fitted references.
pub const NANNYML_DETECTOR_NAME: &str = "mlops-eval/nannyml-univariate";

/// Options of [`NannymlDriftDetector`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NannymlOptions {
    /// Method for numeric columns (NannyML's default: `jensen_shannon`).
    pub continuous_method: NannymlMethod,
    /// Method for string and boolean columns (NannyML's default: `jensen_shannon`).
    pub categorical_method: NannymlMethod,
    /// Columns to test (`None`: every numeric, string and boolean column).
    pub columns: Option<Vec<String>>,
    /// The dataset drifts when at least this share of columns alerts; `None` (the
    /// default): when any column alerts, as NannyML's alert summary reads.
    pub drift_share: Option<f64>,
}

impl Default for NannymlOptions {
    fn default() -> Self {
        NannymlOptions {
            continuous_method: NannymlMethod::JensenShannon,
            categorical_method: NannymlMethod::JensenShannon,
            columns: None,
            drift_share: None,
        }
    }
}

/// NannyML 0.13's `UnivariateDriftCalculator` as a [`DriftDetector`]: per column the
/// method's value against the fitted reference, alerting above the threshold learnt from the
/// reference's own chunks (`chi2`: on p < 0.05). See [the module](super) for the methods.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch};
/// use mlops_core::DriftDetector;
/// use mlops_eval::drift::nannyml::NannymlDriftDetector;
///
/// let batch = |shift: f64| {
///     let x: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64 / 100.0 + shift).collect();
///     RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(x)) as _)]).unwrap()
/// };
/// let detector = NannymlDriftDetector::default();
/// let reference = detector.fit(&batch(0.0))?;
/// assert!(!detector.score(&reference, &batch(0.0))?.drifted);
/// let report = detector.score(&reference, &batch(3.0))?;
/// assert!(report.drifted && report.columns[0].method == "jensen_shannon");
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NannymlDriftDetector {
    /// Options.
    pub options: NannymlOptions,
}

enum Column {
    Continuous(Vec<f64>),
    Categorical(Vec<Option<String>>),
}

fn prim<T: ArrowPrimitiveType>(array: &dyn Array, f: impl Fn(T::Native) -> f64) -> Vec<f64> {
    array
        .as_primitive::<T>()
        .iter()
        .map(|v| v.map_or(f64::NAN, &f))
        .collect()
}

fn strings(array: &dyn Array) -> Option<Vec<Option<String>>> {
    let own = |v: Option<&str>| v.map(str::to_string);
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(own).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(own).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(own).collect(),
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|b| b.map(|b| b.to_string()))
            .collect(),
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary_opt()?;
            let keys = d.keys();
            let decoded = arrow_select::take::take(d.values().as_ref(), keys, None).ok()?;
            strings(decoded.as_ref())?
        }
        _ => return None,
    })
}

/// Reads a column positionally: numbers with NaN for nulls, or strings with `None`.
fn read(array: &dyn Array, name: &str) -> Result<Column> {
    Ok(Column::Continuous(match array.data_type() {
        DataType::Float64 => prim::<Float64Type>(array, |x| x),
        DataType::Float32 => prim::<Float32Type>(array, f64::from),
        DataType::Int8 => prim::<Int8Type>(array, f64::from),
        DataType::Int16 => prim::<Int16Type>(array, f64::from),
        DataType::Int32 => prim::<Int32Type>(array, f64::from),
        DataType::Int64 => prim::<Int64Type>(array, |x| x as f64),
        DataType::UInt8 => prim::<UInt8Type>(array, f64::from),
        DataType::UInt16 => prim::<UInt16Type>(array, f64::from),
        DataType::UInt32 => prim::<UInt32Type>(array, f64::from),
        DataType::UInt64 => prim::<UInt64Type>(array, |x| x as f64),
        other => {
            return strings(array).map(Column::Categorical).ok_or_else(|| {
                Error::invalid(
                    "NannyML drift column type",
                    format!("{name}: {other}"),
                    "an integer, float, string, boolean or dictionary-encoded string column",
                )
            });
        }
    }))
}

fn supported(dt: &DataType) -> bool {
    dt.is_integer()
        || matches!(
            dt,
            DataType::Float32
                | DataType::Float64
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Boolean
        )
        || matches!(dt, DataType::Dictionary(_, v) if matches!(v.as_ref(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
}

fn as_strs(v: &[Option<String>]) -> Vec<Option<&str>> {
    v.iter().map(|s| s.as_deref()).collect()
}

impl NannymlDriftDetector {
    /// A detector with the given options.
    pub fn new(options: NannymlOptions) -> Self {
        NannymlDriftDetector { options }
    }

    fn columns(&self, batch: &RecordBatch) -> Result<Vec<String>> {
        let schema = batch.schema();
        Ok(match &self.options.columns {
            Some(names) => {
                for n in names {
                    schema.field_with_name(n).map_err(|_| {
                        Error::invalid("NannyML drift column", n, "a column present in the batch")
                    })?;
                }
                names.clone()
            }
            None => schema
                .fields()
                .iter()
                .filter(|f| supported(f.data_type()))
                .map(|f| f.name().clone())
                .collect(),
        })
    }

    /// Fits every column without going through JSON.
    pub fn fit_columns(
        &self,
        reference: &RecordBatch,
    ) -> Result<BTreeMap<String, NannymlReference>> {
        let names = self.columns(reference)?;
        if names.is_empty() {
            return Err(Error::invalid(
                "NannyML drift columns",
                "none",
                "at least one numeric, string or boolean column",
            ));
        }
        let mut out = BTreeMap::new();
        for name in names {
            let array = reference
                .column_by_name(&name)
                .ok_or_else(|| Error::invalid("NannyML drift column", &name, "a column"))?;
            let fitted = match read(array.as_ref(), &name)? {
                Column::Continuous(v) => {
                    NannymlReference::fit_continuous(self.options.continuous_method, &v)
                }
                Column::Categorical(v) => {
                    NannymlReference::fit_categorical(self.options.categorical_method, &as_strs(&v))
                }
            }
            .map_err(|e| {
                Error::invalid(
                    "NannyML reference column",
                    format!("{name}: {e}"),
                    "a column NannyML can fit",
                )
            })?;
            out.insert(name, fitted);
        }
        Ok(out)
    }
}

impl DriftDetector for NannymlDriftDetector {
    fn name(&self) -> &str {
        NANNYML_DETECTOR_NAME
    }

    fn fit(&self, reference: &RecordBatch) -> Result<FittedReference> {
        let columns = self.fit_columns(reference)?;
        Ok(FittedReference {
            detector: NANNYML_DETECTOR_NAME.to_string(),
            version: 1,
            state: serde_json::to_value(&columns).map_err(|e| {
                Error::invalid("NannyML reference", e.to_string(), "a serializable state")
            })?,
        })
    }

    fn score(&self, reference: &FittedReference, current: &RecordBatch) -> Result<DriftReport> {
        if reference.detector != NANNYML_DETECTOR_NAME || reference.version != 1 {
            return Err(Error::invalid(
                "fitted reference",
                format!("{} version {}", reference.detector, reference.version),
                format!("{NANNYML_DETECTOR_NAME} version 1"),
            ));
        }
        let fitted: BTreeMap<String, NannymlReference> =
            serde_json::from_value(reference.state.clone()).map_err(|e| {
                Error::invalid(
                    "NannyML reference state",
                    e.to_string(),
                    "a state made by fit",
                )
            })?;
        let mut columns = Vec::with_capacity(fitted.len());
        for (name, r) in &fitted {
            let array = current.column_by_name(name).ok_or_else(|| {
                Error::invalid("current column", name, "every column of the reference")
            })?;
            let v = match read(array.as_ref(), name)? {
                Column::Continuous(v) => r.calculate_continuous(&v),
                Column::Categorical(v) => r.calculate_categorical(&as_strs(&v)),
            }
            .map_err(|e| {
                Error::invalid(
                    "current column",
                    format!("{name}: {e}"),
                    "the reference's type",
                )
            })?;
            columns.push(ColumnDrift {
                column: name.clone(),
                method: r.method.key().to_string(),
                statistic: v.value,
                p_value: v.p_value,
                drifted: v.alert,
            });
        }
        let alerts = columns.iter().filter(|c| c.drifted).count();
        let share = alerts as f64 / columns.len().max(1) as f64;
        Ok(DriftReport {
            drifted: match self.options.drift_share {
                Some(s) => share >= s,
                None => alerts > 0,
            },
            share_drifted: share,
            columns,
        })
    }
}
