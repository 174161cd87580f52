//! The files a trained model is made of, and their formats.
//!
//! | file | content |
//! |---|---|
//! | `model.safetensors` | the weights (`layers.<i>.weight` as `[inputs, outputs]`, `layers.<i>.bias`), or their int8 form |
//! | `pipeline.json` | the fitted [`FeaturePipeline`] |
//! | `signature.json` | input and output columns in MLflow's signature form |
//! | `model.json` | the [`ModelManifest`]: config, task, classes, metrics, data ids |
//!
//! No pickle, no code: every file is data, and a loader checks each one's digest.

use std::collections::BTreeMap;

use arrow_schema::{DataType, Schema};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::config::{Task, TrainerConfig};
use crate::error::{Error, Result};
use crate::features::FeaturePipeline;
use crate::ids::DatasetId;
use crate::train::Completion;

/// The manifest's format tag; a loader refuses others.
pub const FORMAT: &str = "mlops.burn/1";
/// File names inside a model package.
pub const WEIGHTS: &str = "model.safetensors";
/// The fitted feature pipeline.
pub const PIPELINE: &str = "pipeline.json";
/// The input/output signature.
pub const SIGNATURE: &str = "signature.json";
/// The manifest.
pub const MANIFEST: &str = "model.json";

/// Everything about a trained model except its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The trainer configuration, in full.
    pub config: TrainerConfig,
    /// Classification or regression.
    pub task: Task,
    /// The label column.
    pub label: String,
    /// The label's Arrow type at training time (`Int64`, `Utf8`, ...).
    pub label_type: String,
    /// Class keys in output order (classification only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Input features after the pipeline.
    pub inputs: usize,
    /// Network outputs (classes, or 1).
    pub outputs: usize,
    /// The seed of the run.
    pub seed: u64,
    /// Content id of the training split.
    pub train_dataset: DatasetId,
    /// Content id of the evaluation split.
    #[serde(default)]
    pub eval_dataset: Option<DatasetId>,
    /// The last epoch trained and the epoch whose weights were kept.
    pub epochs: usize,
    /// The epoch whose weights these are.
    pub weights_epoch: usize,
    /// How the training ended.
    pub completion: Completion,
    /// Final metrics (JSON has no NaN: a non-finite value is written as null and read back
    /// as NaN).
    #[serde(deserialize_with = "metrics_with_nulls")]
    pub metrics: BTreeMap<String, f64>,
    /// How the weights are stored.
    #[serde(default)]
    pub quantization: Option<Quantization>,
}

fn metrics_with_nulls<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, f64>, D::Error> {
    let raw: BTreeMap<String, Option<f64>> = Deserialize::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

/// Weight storage with reduced precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantization {
    /// Symmetric int8 per output column (`w ≈ q * scale`), biases in f32.
    Int8PerChannel,
}

/// One column of a signature, in MLflow's column-spec form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// MLflow type: `boolean`, `integer`, `long`, `float`, `double`, `string`, `tensor`.
    #[serde(rename = "type")]
    pub kind: String,
    /// False when the column may be absent (missing values are imputed or bucketed).
    pub required: bool,
}

/// Input and output columns, as MLflow's `ModelSignature.to_dict()` lays them out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// Input columns.
    pub inputs: Vec<ColumnSpec>,
    /// Output columns.
    pub outputs: Vec<ColumnSpec>,
}

/// MLflow's name for an Arrow type.
pub(crate) fn mlflow_type(t: &DataType) -> &'static str {
    match t {
        DataType::Boolean => "boolean",
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            "integer"
        }
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "long",
        DataType::Float16 | DataType::Float32 => "float",
        DataType::Float64 => "double",
        DataType::Dictionary(_, v) => mlflow_type(v),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
        _ => "binary",
    }
}

impl Signature {
    /// The signature of a model reading `pipeline`'s columns from `schema`.
    pub(crate) fn of(
        pipeline: &FeaturePipeline,
        schema: &Schema,
        manifest_task: Task,
        label_type: &DataType,
        classes: usize,
    ) -> Self {
        let mut seen = std::collections::BTreeSet::new();
        let inputs = pipeline
            .columns
            .iter()
            .filter(|c| seen.insert(c.column.clone()))
            .map(|c| ColumnSpec {
                name: c.column.clone(),
                kind: schema
                    .field_with_name(&c.column)
                    .map(|f| mlflow_type(f.data_type()))
                    .unwrap_or(if c.numeric_input { "double" } else { "string" })
                    .to_owned(),
                required: c.fill.is_none(),
            })
            .collect();
        let mut outputs = vec![ColumnSpec {
            name: "prediction".into(),
            kind: match manifest_task {
                Task::Classification => mlflow_type(label_type).to_owned(),
                Task::Regression => "double".into(),
            },
            required: true,
        }];
        if manifest_task == Task::Classification {
            outputs.push(ColumnSpec {
                name: "probabilities".into(),
                kind: format!("tensor(float32, [-1, {classes}])"),
                required: true,
            });
            if classes == 2 {
                outputs.push(ColumnSpec {
                    name: "score".into(),
                    kind: "double".into(),
                    required: true,
                });
            }
        }
        Signature { inputs, outputs }
    }
}

/// A model as its four files.
#[derive(Clone, Debug)]
pub struct ModelPackage {
    /// The manifest.
    pub manifest: ModelManifest,
    /// The fitted feature pipeline.
    pub pipeline: FeaturePipeline,
    /// Input and output columns.
    pub signature: Signature,
    /// The safetensors bytes.
    pub weights: Bytes,
}

fn json<T: Serialize>(value: &T) -> Result<Bytes> {
    serde_json::to_vec_pretty(value)
        .map(Bytes::from)
        .map_err(|e| Error::invalid("model package", e.to_string(), "serializable JSON"))
}

fn parse<T: for<'de> Deserialize<'de>>(files: &BTreeMap<String, Bytes>, name: &str) -> Result<T> {
    let bytes = files
        .get(name)
        .ok_or_else(|| Error::not_found("model package file", name))?;
    serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(
            format!("model package file {name}"),
            e.to_string(),
            "the JSON this version of mlops writes",
        )
    })
}

impl ModelPackage {
    /// The package as files by name.
    pub fn to_files(&self) -> Result<BTreeMap<String, Bytes>> {
        Ok(BTreeMap::from([
            (MANIFEST.to_owned(), json(&self.manifest)?),
            (PIPELINE.to_owned(), json(&self.pipeline)?),
            (SIGNATURE.to_owned(), json(&self.signature)?),
            (WEIGHTS.to_owned(), self.weights.clone()),
        ]))
    }

    /// Reads a package back from its files, checking the format tag.
    pub fn from_files(files: &BTreeMap<String, Bytes>) -> Result<Self> {
        let manifest: ModelManifest = parse(files, MANIFEST)?;
        if manifest.format != FORMAT {
            return Err(Error::invalid(
                "model format",
                &manifest.format,
                format!("{FORMAT} (written by this version of mlops)"),
            ));
        }
        Ok(ModelPackage {
            pipeline: parse(files, PIPELINE)?,
            signature: parse(files, SIGNATURE)?,
            weights: files
                .get(WEIGHTS)
                .cloned()
                .ok_or_else(|| Error::not_found("model package file", WEIGHTS))?,
            manifest,
        })
    }
}
