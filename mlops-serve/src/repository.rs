//! The model repository: registered models loaded for serving (every file's digest checked),
//! described in the Open Inference Protocol's metadata form, and swapped atomically when a
//! new version is loaded under the same name.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use arrow_array::RecordBatch;
use mlops_core::learn::{DeviceSpec, Predictor, Signature};
use mlops_core::{Error, Factory, ModelRef, Result};
use serde::{Deserialize, Serialize};

/// One tensor of a model's OIP metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataTensor {
    /// Tensor (column) name.
    pub name: String,
    /// OIP datatype: `BOOL`, `INT32`, `INT64`, `FP32`, `FP64`, `BYTES`.
    pub datatype: String,
    /// Shape; `-1` is a variable dimension (the batch).
    pub shape: Vec<i64>,
}

/// A model's metadata, as `GET v2/models/{name}` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// The model name.
    pub name: String,
    /// The version served.
    pub versions: Vec<String>,
    /// The runtime.
    pub platform: String,
    /// One tensor per input column.
    pub inputs: Vec<MetadataTensor>,
    /// One tensor per output column.
    pub outputs: Vec<MetadataTensor>,
}

/// The OIP datatype of an MLflow column type.
fn oip_datatype(mlflow: &str) -> &'static str {
    match mlflow {
        "boolean" => "BOOL",
        "integer" => "INT32",
        "long" => "INT64",
        "float" => "FP32",
        "double" => "FP64",
        _ if mlflow.starts_with("tensor(float32") => "FP32",
        _ => "BYTES",
    }
}

fn metadata(model: &dyn InferenceModel, name: &str, version: u64) -> ModelMetadata {
    let (signature, classes) = (model.signature(), model.classes());
    let tensor = |c: &mlops_core::learn::package::ColumnSpec| MetadataTensor {
        name: c.name.clone(),
        datatype: oip_datatype(&c.kind).to_owned(),
        shape: if c.name == "probabilities" {
            vec![-1, classes as i64]
        } else {
            vec![-1]
        },
    };
    ModelMetadata {
        name: name.to_owned(),
        versions: vec![version.to_string()],
        platform: model.platform().to_owned(),
        inputs: signature.inputs.iter().map(tensor).collect(),
        outputs: signature.outputs.iter().map(tensor).collect(),
    }
}

/// What the server runs: a model predicting a batch of input columns, described by its
/// signature. The burn [`Predictor`] is one; a host application can serve any other (a
/// Python object, through `mlops-py`) with [`ModelRepository::insert`].
pub trait InferenceModel: Send + Sync {
    /// Input and output columns (MLflow's signature form); requests are decoded into the
    /// input types it declares.
    fn signature(&self) -> &Signature;
    /// Predicts a batch of input columns.
    fn predict(&self, batch: &RecordBatch) -> Result<RecordBatch>;
    /// Columns of a `probabilities` output (0: none), for the metadata's shape.
    fn classes(&self) -> usize {
        0
    }
    /// The runtime, reported as the metadata's `platform`.
    fn platform(&self) -> &str {
        "custom"
    }
    /// The burn predictor behind it, when it is one (its manifest, single-row path).
    fn as_predictor(&self) -> Option<&Predictor> {
        None
    }
}

impl InferenceModel for Predictor {
    fn signature(&self) -> &Signature {
        Predictor::signature(self)
    }

    fn predict(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        Predictor::predict(self, batch)
    }

    fn classes(&self) -> usize {
        self.manifest().classes.len()
    }

    fn platform(&self) -> &str {
        "mlops-burn"
    }

    fn as_predictor(&self) -> Option<&Predictor> {
        Some(self)
    }
}

/// A loaded model.
pub struct ServedModel {
    /// The name it is served under.
    pub name: String,
    /// The version.
    pub version: u64,
    /// The model.
    pub model: Arc<dyn InferenceModel>,
    /// Its OIP metadata.
    pub metadata: ModelMetadata,
}

impl std::fmt::Debug for ServedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedModel")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl ServedModel {
    /// Runs inference on a batch of input columns.
    pub fn infer(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        self.model.predict(batch)
    }

    /// The burn predictor, for a model loaded from the registry; an error naming the model
    /// otherwise.
    pub fn predictor(&self) -> Result<&Predictor> {
        self.model.as_predictor().ok_or_else(|| {
            Error::NotSupported(format!(
                "model {} is served by the {} runtime, not as a burn predictor",
                self.name,
                self.model.platform()
            ))
        })
    }
}

/// Models by serving name; loading a new version replaces the old one atomically (requests
/// holding the old `Arc` finish on it).
#[derive(Debug)]
pub struct ModelRepository {
    factory: Factory,
    device: DeviceSpec,
    models: RwLock<BTreeMap<String, Arc<ServedModel>>>,
}

impl ModelRepository {
    /// A repository loading from `factory`'s registry onto `device`.
    pub fn new(factory: Factory, device: DeviceSpec) -> Self {
        ModelRepository {
            factory,
            device,
            models: RwLock::default(),
        }
    }

    /// Loads `target` (`churn@champion`, `churn@3`) and serves it under its model name.
    pub async fn load(&self, target: &ModelRef) -> Result<Arc<ServedModel>> {
        let predictor = Predictor::load(&self.factory, target, self.device).await?;
        let version = predictor
            .version()
            .map(|v| v.version)
            .ok_or_else(|| Error::not_found("model version", target.to_string()))?;
        self.insert(&target.name, version, Arc::new(predictor))
    }

    /// Serves `model` under `name` as `version`, replacing what was served under that name.
    pub fn insert(
        &self,
        name: &str,
        version: u64,
        model: Arc<dyn InferenceModel>,
    ) -> Result<Arc<ServedModel>> {
        let metadata = metadata(model.as_ref(), name, version);
        let served = Arc::new(ServedModel {
            name: name.to_owned(),
            version,
            model,
            metadata,
        });
        self.models
            .write()
            .map_err(|_| Error::Closed("model repository lock poisoned".into()))?
            .insert(name.to_owned(), served.clone());
        Ok(served)
    }

    /// The model served under `name`.
    pub fn get(&self, name: &str) -> Result<Arc<ServedModel>> {
        self.models
            .read()
            .map_err(|_| Error::Closed("model repository lock poisoned".into()))?
            .get(name)
            .cloned()
            .ok_or_else(|| Error::not_found("served model", name))
    }

    /// Names of the models served.
    pub fn names(&self) -> Vec<String> {
        self.models
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow_types_map_to_oip_datatypes() {
        assert_eq!(oip_datatype("double"), "FP64");
        assert_eq!(oip_datatype("long"), "INT64");
        assert_eq!(oip_datatype("string"), "BYTES");
        assert_eq!(oip_datatype("tensor(float32, [-1, 3])"), "FP32");
    }
}
