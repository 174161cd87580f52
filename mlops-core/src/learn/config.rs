//! The trainer's configuration: every field is logged as a run param, and the whole value is
//! saved with the model, so a run can be repeated exactly.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::PipelineSpec;

/// Which network to train, named after scikit-learn's estimators.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ModelSpec {
    /// Softmax regression: one linear layer to one logit per class.
    LogisticRegression,
    /// Least squares: one linear layer to one output.
    LinearRegression,
    /// A multi-layer perceptron classifier (softmax cross-entropy).
    MlpClassifier {
        /// Hidden layer widths.
        hidden: Vec<usize>,
        /// Activation after each hidden layer.
        #[serde(default)]
        activation: Activation,
        /// Dropout probability after each hidden activation.
        #[serde(default)]
        dropout: f64,
    },
    /// A multi-layer perceptron regressor (mean squared error).
    MlpRegressor {
        /// Hidden layer widths.
        hidden: Vec<usize>,
        /// Activation after each hidden layer.
        #[serde(default)]
        activation: Activation,
        /// Dropout probability after each hidden activation.
        #[serde(default)]
        dropout: f64,
    },
}

impl ModelSpec {
    /// An MLP classifier with ReLU and no dropout.
    pub fn mlp_classifier(hidden: &[usize]) -> Self {
        ModelSpec::MlpClassifier {
            hidden: hidden.to_vec(),
            activation: Activation::Relu,
            dropout: 0.0,
        }
    }

    /// An MLP regressor with ReLU and no dropout.
    pub fn mlp_regressor(hidden: &[usize]) -> Self {
        ModelSpec::MlpRegressor {
            hidden: hidden.to_vec(),
            activation: Activation::Relu,
            dropout: 0.0,
        }
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        match self {
            ModelSpec::LogisticRegression | ModelSpec::MlpClassifier { .. } => Task::Classification,
            ModelSpec::LinearRegression | ModelSpec::MlpRegressor { .. } => Task::Regression,
        }
    }

    /// Hidden widths, activation and dropout (none for the linear models).
    pub fn layers(&self) -> (&[usize], Activation, f64) {
        match self {
            ModelSpec::MlpClassifier {
                hidden,
                activation,
                dropout,
            }
            | ModelSpec::MlpRegressor {
                hidden,
                activation,
                dropout,
            } => (hidden, *activation, *dropout),
            _ => (&[], Activation::Relu, 0.0),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let (hidden, _, dropout) = self.layers();
        if hidden.contains(&0) {
            return Err(Error::invalid(
                "hidden layer widths",
                format!("{hidden:?}"),
                "positive widths",
            ));
        }
        if !(0.0..1.0).contains(&dropout) {
            return Err(Error::invalid(
                "dropout",
                dropout.to_string(),
                "a probability in [0, 1)",
            ));
        }
        Ok(())
    }
}

/// What a model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A class among those seen in training.
    Classification,
    /// A number.
    Regression,
}

/// The nonlinearity between hidden layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(0, x)`.
    #[default]
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// The logistic function.
    Sigmoid,
    /// Gaussian error linear unit.
    Gelu,
}

/// The optimiser, with PyTorch's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Optimizer {
    /// Adam (Kingma and Ba), as `torch.optim.Adam`.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        #[serde(default = "beta_1")]
        beta_1: f32,
        /// Second-moment decay.
        #[serde(default = "beta_2")]
        beta_2: f32,
        /// Added to the denominator.
        #[serde(default = "epsilon")]
        epsilon: f32,
        /// L2 penalty added to the gradient.
        #[serde(default)]
        weight_decay: f32,
    },
    /// Stochastic gradient descent with optional momentum.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum (0: none).
        #[serde(default)]
        momentum: f64,
        /// L2 penalty added to the gradient.
        #[serde(default)]
        weight_decay: f32,
    },
}

fn beta_1() -> f32 {
    0.9
}
fn beta_2() -> f32 {
    0.999
}
fn epsilon() -> f32 {
    1e-8
}

impl Optimizer {
    /// Adam with PyTorch's defaults and this learning rate.
    pub fn adam(lr: f64) -> Self {
        Optimizer::Adam {
            lr,
            beta_1: beta_1(),
            beta_2: beta_2(),
            epsilon: epsilon(),
            weight_decay: 0.0,
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::Adam { lr, .. } | Optimizer::Sgd { lr, .. } => *lr,
        }
    }
}

/// Stop when the validation loss has not improved for `patience` epochs, and keep the
/// weights of the best epoch (as scikit-learn's `early_stopping=True` does).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// An improvement must lower the validation loss by more than this.
    #[serde(default)]
    pub min_delta: f64,
}

/// Where tensors live. Chosen at run time; a backend that was not compiled in is an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "index")]
pub enum DeviceSpec {
    /// The pure-Rust CPU backend (`flex`), always available.
    #[default]
    Cpu,
    /// An NVIDIA GPU (feature `cuda`).
    Cuda(usize),
    /// The default wgpu adapter: Vulkan, Metal or DX12 (feature `wgpu`).
    Wgpu,
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceSpec::Wgpu => f.write_str("wgpu"),
        }
    }
}

impl FromStr for DeviceSpec {
    type Err = Error;
    /// `cpu`, `cuda`, `cuda:1`, `wgpu`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" | "flex" => Ok(DeviceSpec::Cpu),
            "cuda" | "gpu" => Ok(DeviceSpec::Cuda(0)),
            "wgpu" => Ok(DeviceSpec::Wgpu),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(DeviceSpec::Cuda)
                .ok_or_else(|| Error::invalid("device", s, "cpu, cuda, cuda:<index> or wgpu")),
        }
    }
}

/// Everything that shapes a training run except the data and the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainerConfig {
    /// The network.
    pub model: ModelSpec,
    /// The feature pipeline; `None` uses [`PipelineSpec::auto`] over every column but the
    /// label.
    #[serde(default)]
    pub features: Option<PipelineSpec>,
    /// Passes over the training data.
    pub epochs: usize,
    /// Rows per optimiser step (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Early stopping on the validation loss (needs evaluation data).
    #[serde(default)]
    pub early_stopping: Option<EarlyStopping>,
    /// Where to train.
    #[serde(default)]
    pub device: DeviceSpec,
}

impl TrainerConfig {
    /// A configuration with PyTorch-like defaults: 10 epochs, batches of 256, Adam at 1e-3,
    /// on the CPU.
    pub fn new(model: ModelSpec) -> Self {
        TrainerConfig {
            model,
            features: None,
            epochs: 10,
            batch_size: 256,
            optimizer: Optimizer::adam(1e-3),
            early_stopping: None,
            device: DeviceSpec::Cpu,
        }
    }

    /// Sets the number of epochs.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the batch size.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the optimiser.
    pub fn optimizer(mut self, optimizer: Optimizer) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Sets the feature pipeline.
    pub fn features(mut self, features: PipelineSpec) -> Self {
        self.features = Some(features);
        self
    }

    /// Stops early on the validation loss.
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.early_stopping = Some(EarlyStopping {
            patience,
            min_delta: 0.0,
        });
        self
    }

    /// Sets the device.
    pub fn device(mut self, device: DeviceSpec) -> Self {
        self.device = device;
        self
    }

    /// Checks every value; errors name the field and the rule.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        if self.epochs == 0 {
            return Err(Error::invalid("epochs", "0", "at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("batch size", "0", "at least 1"));
        }
        let lr = self.optimizer.lr();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::invalid(
                "learning rate",
                lr.to_string(),
                "a positive number",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_from_text() {
        assert_eq!("cuda:2".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(2));
        assert_eq!("cpu".parse::<DeviceSpec>().unwrap().to_string(), "cpu");
        let err = "tpu".parse::<DeviceSpec>().unwrap_err().to_string();
        assert!(err.contains("tpu") && err.contains("cuda"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let c = TrainerConfig::new(ModelSpec::mlp_classifier(&[0]));
        assert!(c.validate().unwrap_err().to_string().contains("hidden"));
        let c = TrainerConfig::new(ModelSpec::LogisticRegression).optimizer(Optimizer::adam(-1.0));
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("learning rate")
        );
    }

    #[test]
    fn config_flattens_into_params() {
        let c = TrainerConfig::new(ModelSpec::mlp_classifier(&[8, 4]));
        let mut out = Vec::new();
        crate::train::flatten_config("", &serde_json::to_value(&c).unwrap(), &mut out);
        let get = |k: &str| out.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("model.kind"), Some("mlp_classifier"));
        assert_eq!(get("model.hidden"), Some("[8,4]"));
        assert_eq!(get("optimizer.lr"), Some("0.001"));
        assert_eq!(get("device.kind"), Some("cpu"));
    }
}
