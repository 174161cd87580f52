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

fn metadata(name: &str, version: u64, signature: &Signature, classes: usize) -> ModelMetadata {
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
        platform: "mlops-burn".into(),
        inputs: signature.inputs.iter().map(tensor).collect(),
        outputs: signature.outputs.iter().map(tensor).collect(),
    }
}

/// A loaded model.
#[derive(Debug)]
pub struct ServedModel {
    /// The name it is served under.
    pub name: String,
    /// The registered version.
    pub version: u64,
    /// The predictor.
    pub predictor: Predictor,
    /// Its OIP metadata.
    pub metadata: ModelMetadata,
}

impl ServedModel {
    /// Runs inference on a batch of input columns.
    pub fn infer(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        self.predictor.predict(batch)
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
        let name = target.name.clone();
        let classes = predictor.manifest().classes.len();
        let metadata = metadata(&name, version, predictor.signature(), classes);
        let model = Arc::new(ServedModel {
            name: name.clone(),
            version,
            predictor,
            metadata,
        });
        self.models
            .write()
            .map_err(|_| Error::Closed("model repository lock poisoned".into()))?
            .insert(name, model.clone());
        Ok(model)
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
