//! [`Predictor`]: a registered model loaded for inference (its digests verified), applying
//! the saved feature pipeline and the network to record batches or single JSON rows.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use burn::tensor::{Device, Tensor, TensorData};

use super::config::{DeviceSpec, Task};
use super::device::burn_device;
use super::network::Network;
use super::package::{ModelManifest, ModelPackage, Quantization, Signature};
use super::weights;
use crate::error::{Error, Result};
use crate::factory::Factory;
use crate::features::{FeatureMatrix, FeaturePipeline};
use crate::ids::ModelRef;
use crate::registry::ModelVersion;

/// One prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The predicted class (in the label's type) or value.
    pub value: serde_json::Value,
    /// Class probabilities in [`ModelManifest::classes`] order (empty for regression).
    pub probabilities: Vec<f32>,
}

/// A model ready to predict. `Send + Sync`: share it as `Arc<Predictor>`.
#[derive(Debug)]
pub struct Predictor {
    manifest: ModelManifest,
    pipeline: FeaturePipeline,
    signature: Signature,
    net: Network,
    device: Device,
    version: Option<ModelVersion>,
}

impl Predictor {
    /// Builds a predictor from a package, on `device`.
    pub fn from_package(package: &ModelPackage, device: DeviceSpec) -> Result<Self> {
        let device = burn_device(device)?;
        let net = weights::load(&package.weights, &package.manifest.config.model, &device)?;
        if net.inputs() != package.pipeline.width() {
            return Err(Error::invalid(
                "model weights",
                format!("{} inputs", net.inputs()),
                format!(
                    "{} inputs, as the feature pipeline makes",
                    package.pipeline.width()
                ),
            ));
        }
        Ok(Predictor {
            manifest: package.manifest.clone(),
            pipeline: package.pipeline.clone(),
            signature: package.signature.clone(),
            net,
            device,
            version: None,
        })
    }

    /// Loads a registered model (`churn@champion`, `churn@3`) through the factory; every
    /// file is checked against its digest.
    pub async fn load(factory: &Factory, model: &ModelRef, device: DeviceSpec) -> Result<Self> {
        let loaded = factory.load_model(model).await?;
        let package = ModelPackage::from_files(&loaded.files)?;
        let mut p = Predictor::from_package(&package, device)?;
        p.version = Some(loaded.version);
        Ok(p)
    }

    /// The manifest (config, classes, metrics, data ids).
    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }

    /// The fitted feature pipeline.
    pub fn pipeline(&self) -> &FeaturePipeline {
        &self.pipeline
    }

    /// Input and output columns.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The registered version, when loaded from the registry.
    pub fn version(&self) -> Option<&ModelVersion> {
        self.version.as_ref()
    }

    /// Raw network outputs (logits or values) for a feature matrix, row-major.
    pub fn forward(&self, features: &FeatureMatrix) -> Result<Vec<f32>> {
        if features.rows == 0 {
            return Ok(Vec::new());
        }
        let x = Tensor::<2>::from_data(
            TensorData::new(features.values.clone(), [features.rows, features.width]),
            &self.device,
        );
        let out = self.net.forward(x, None);
        let data = out
            .try_into_data()
            .map_err(|e| Error::Inference(format!("forward pass: {e}")))?;
        data.as_slice::<f32>()
            .map(<[f32]>::to_vec)
            .map_err(|e| Error::Inference(format!("output: {e:?}")))
    }

    /// Predicts a batch: `prediction` (the class in the label's type, or the value), and for
    /// classifiers `probabilities` (one list per row) and, with two classes, `score` (the
    /// probability of the second class, as scikit-learn's `predict_proba[:, 1]`).
    pub fn predict(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let features = self.pipeline.transform(batch)?;
        let out = self.forward(&features)?;
        let rows = features.rows;
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        match self.manifest.task {
            Task::Regression => {
                fields.push(Field::new("prediction", DataType::Float64, false));
                columns.push(Arc::new(Float64Array::from_iter_values(
                    out.iter().map(|v| *v as f64),
                )));
            }
            Task::Classification => {
                let k = self.manifest.classes.len();
                let probs = softmax_rows(&out, k);
                let best: Vec<usize> = probs.chunks_exact(k).map(argmax).collect();
                let (field, column) = self.class_column(&best)?;
                fields.push(field);
                columns.push(column);
                let item = Arc::new(Field::new("item", DataType::Float32, false));
                let list = FixedSizeListArray::try_new(
                    item.clone(),
                    k as i32,
                    Arc::new(Float32Array::from(probs.clone())),
                    None,
                )
                .map_err(|e| Error::Inference(format!("probabilities column: {e}")))?;
                fields.push(Field::new(
                    "probabilities",
                    DataType::FixedSizeList(item, k as i32),
                    false,
                ));
                columns.push(Arc::new(list));
                if k == 2 {
                    fields.push(Field::new("score", DataType::Float64, false));
                    columns.push(Arc::new(Float64Array::from_iter_values(
                        (0..rows).map(|r| probs[r * 2 + 1] as f64),
                    )));
                }
            }
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::Inference(format!("prediction batch: {e}")))
    }

    /// Predicts one row given as a JSON object, through the same pipeline code as batches.
    pub fn predict_row(&self, row: &serde_json::Value) -> Result<Prediction> {
        let values = self.pipeline.transform_row(row)?;
        let features = FeatureMatrix {
            rows: 1,
            width: values.len(),
            values,
        };
        let out = self.forward(&features)?;
        Ok(match self.manifest.task {
            Task::Regression => Prediction {
                value: serde_json::json!(out[0] as f64),
                probabilities: Vec::new(),
            },
            Task::Classification => {
                let probabilities = softmax_rows(&out, self.manifest.classes.len());
                let key = &self.manifest.classes[argmax(&probabilities)];
                Prediction {
                    value: class_json(key, &self.label_type()),
                    probabilities,
                }
            }
        })
    }

    fn label_type(&self) -> DataType {
        self.manifest
            .label_type
            .parse::<DataType>()
            .unwrap_or(DataType::Utf8)
    }

    /// The predicted classes as a column of the label's kind (integers, booleans, floats
    /// or text).
    fn class_column(&self, best: &[usize]) -> Result<(Field, ArrayRef)> {
        let keys: Vec<&str> = best
            .iter()
            .map(|i| self.manifest.classes[*i].as_str())
            .collect();
        let t = self.label_type();
        let parse_err =
            |k: &str| Error::invalid("class key", k, format!("a value of the label type {t}"));
        Ok(if t.is_integer() {
            let v = keys
                .iter()
                .map(|k| k.parse::<i64>().map_err(|_| parse_err(k)))
                .collect::<Result<Vec<_>>>()?;
            (
                Field::new("prediction", DataType::Int64, false),
                Arc::new(Int64Array::from(v)),
            )
        } else if t.is_floating() {
            let v = keys
                .iter()
                .map(|k| k.parse::<f64>().map_err(|_| parse_err(k)))
                .collect::<Result<Vec<_>>>()?;
            (
                Field::new("prediction", DataType::Float64, false),
                Arc::new(Float64Array::from(v)),
            )
        } else if t == DataType::Boolean {
            let v: Vec<bool> = keys.iter().map(|k| *k == "true").collect();
            (
                Field::new("prediction", DataType::Boolean, false),
                Arc::new(BooleanArray::from(v)),
            )
        } else {
            (
                Field::new("prediction", DataType::Utf8, false),
                Arc::new(StringArray::from(keys)),
            )
        })
    }

    /// The same model with int8 weights (a quarter of the size), as a package to register.
    pub fn quantized_package(&self) -> Result<ModelPackage> {
        let mut manifest = self.manifest.clone();
        manifest.quantization = Some(Quantization::Int8PerChannel);
        Ok(ModelPackage {
            manifest,
            pipeline: self.pipeline.clone(),
            signature: self.signature.clone(),
            weights: weights::save_int8(&self.net)?,
        })
    }
}

/// The class key as a JSON value of the label's kind.
fn class_json(key: &str, t: &DataType) -> serde_json::Value {
    if t.is_integer() {
        key.parse::<i64>()
            .map(Into::into)
            .unwrap_or_else(|_| key.into())
    } else if t.is_floating() {
        key.parse::<f64>()
            .map(Into::into)
            .unwrap_or_else(|_| key.into())
    } else if *t == DataType::Boolean {
        (key == "true").into()
    } else {
        key.into()
    }
}

/// Row-wise softmax of `k` logits per row, computed stably in f32.
fn softmax_rows(logits: &[f32], k: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks_exact(k) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        out.extend(exps.iter().map(|e| e / sum));
    }
    out
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Predictor>();
}
