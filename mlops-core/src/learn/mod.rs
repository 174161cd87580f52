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
