//! The default [`Trainer`](crate::Trainer) and predictor, on burn (feature `burn`).
//!
//! - [`BurnTrainer`] trains logistic and linear regression and MLP classifiers and regressors
//!   ([`ModelSpec`]) on the pure-Rust `flex` CPU backend, or on CUDA / wgpu when built with
//!   the `cuda` / `wgpu` features ([`DeviceSpec`], chosen at run time). It fits the feature
//!   pipeline on the training split, logs every step (`train_loss_step`) and epoch
//!   (`train_loss`, `val_loss`, `val_accuracy`) to the run through burn's `MetricLogger`,
//!   checkpoints atomically and resumes, stops early (keeping the best epoch's weights), and
//!   honours a [`CancelToken`](crate::CancelToken). It installs no global logger or panic hook
//!   and prints nothing.
//! - Same seed, data and config give bit-identical weights on the same backend: initial
//!   weights, shuffles and dropout masks all come from the run's seed, never from the
//!   backend's global generator, so concurrent trainings stay reproducible too.
//! - A model is a [`ModelPackage`]: safetensors weights, the fitted pipeline, an MLflow-style
//!   signature and a manifest. No pickle.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Float32Array, Int64Array, RecordBatch, StringArray};
//! use arrow_schema::{DataType, Field, Schema};
//! use mlops_core::learn::{BurnTrainer, DeviceSpec, ModelSpec, Optimizer, Predictor, TrainerConfig};
//! use mlops_core::{DatasetId, Digest, Factory, TrainOptions, TrainingData};
//!
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! // y = 1 when x > 0, whatever the colour.
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("x", DataType::Float32, false),
//!     Field::new("colour", DataType::Utf8, false),
//!     Field::new("y", DataType::Int64, false),
//! ]));
//! let x: Vec<f32> = (0..200).map(|i| (i as f32 - 100.0) / 50.0).collect();
//! let y: Vec<i64> = x.iter().map(|v| (*v > 0.0) as i64).collect();
//! let colour: Vec<&str> = (0..200).map(|i| ["red", "blue"][i % 2]).collect();
//! let batch = RecordBatch::try_new(schema, vec![
//!     Arc::new(Float32Array::from(x)), Arc::new(StringArray::from(colour)), Arc::new(Int64Array::from(y)),
//! ]).unwrap();
//! let data = TrainingData {
//!     train: vec![batch.clone()],
//!     train_id: DatasetId::from_digest(Digest::of(b"toy")),
//!     eval: None,
//!     label: "y".into(),
//! };
//!
//! let dir = tempfile::tempdir().unwrap();
//! let factory = Factory::open(dir.path()).unwrap();
//! let config = TrainerConfig::new(ModelSpec::LogisticRegression)
//!     .epochs(30)
//!     .batch_size(20)
//!     .optimizer(Optimizer::adam(0.05));
//! let trainer = Arc::new(BurnTrainer::new(config));
//! let options = TrainOptions::new("toy").seed(1).register_as("toy");
//! let outcome = factory.train(trainer, data, options).await.unwrap();
//! assert!(outcome.model.metrics["train_accuracy"] > 0.95);
//!
//! let model = "toy@latest".parse().unwrap();
//! let predictor = Predictor::load(&factory, &model, DeviceSpec::Cpu).await.unwrap();
//! let p = predictor.predict_row(&serde_json::json!({"x": 1.5, "colour": "green"})).unwrap();
//! assert_eq!(p.value, serde_json::json!(1));
//! # });
//! ```

mod checkpoint;
mod config;
mod device;
mod loader;
mod monitor;
mod network;
pub mod package;
mod predictor;
mod trainer;
pub mod weights;

pub use config::{
    Activation, DeviceSpec, EarlyStopping, ModelSpec, Optimizer, Task, TrainerConfig,
};
pub use device::burn_device;
pub use network::Network;
pub use package::{ModelManifest, ModelPackage, Quantization, Signature};
pub use predictor::{Prediction, Predictor};
pub use trainer::BurnTrainer;
