//! The networks: a stack of linear layers (no hidden layer for the linear models), wrapped
//! as a classifier or a regressor that burn's learner trains.
//!
//! Randomness never comes from the backend's global generator: initial weights are drawn from
//! the run's seed, and dropout masks from a seed carried by each batch, so that concurrent
//! trainings in one process (a sweep's trials) stay reproducible.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::tensor::activation;
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::{ClassificationOutput, InferenceStep, RegressionOutput, TrainOutput, TrainStep};

use super::config::{Activation, ModelSpec};
use super::weights::LayerData;
use crate::rng::Rng;

/// Linear layers with an activation (and optional dropout) between them.
#[derive(Module, Debug)]
pub struct Network {
    /// The layers, input to output.
    pub layers: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    dropout: f64,
}

/// A stream id mixed into the seed for weight initialisation.
const INIT_STREAM: u64 = 0x696e_6974_5f77_6569; // "init_wei"

impl Network {
    /// A network for `spec` from `inputs` features to `outputs` values, its weights and
    /// biases drawn from `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` (PyTorch's `nn.Linear`
    /// default) with a generator seeded by `seed`.
    pub fn init(
        spec: &ModelSpec,
        inputs: usize,
        outputs: usize,
        seed: u64,
        device: &Device,
    ) -> Self {
        let mut widths = vec![inputs];
        widths.extend_from_slice(spec.layers().0);
        widths.push(outputs);
        let mut rng = Rng::new(seed ^ INIT_STREAM);
        let layers = widths
            .windows(2)
            .map(|w| {
                let (inputs, outputs) = (w[0], w[1]);
                let k = 1.0 / (inputs.max(1) as f32).sqrt();
                let mut draw = |n: usize| -> Vec<f32> {
                    (0..n).map(|_| (rng.next_f32() * 2.0 - 1.0) * k).collect()
                };
                LayerData {
                    weight: draw(inputs * outputs),
                    inputs,
                    outputs,
                    bias: draw(outputs),
                }
            })
            .collect();
        Network::from_layers(spec, layers, device)
    }

    /// A network for `spec` with the given layer values.
    pub(crate) fn from_layers(spec: &ModelSpec, layers: Vec<LayerData>, device: &Device) -> Self {
        let (_, activation, dropout) = spec.layers();
        let layers = layers
            .into_iter()
            .map(|l| Linear {
                weight: Param::from_data(TensorData::new(l.weight, [l.inputs, l.outputs]), device),
                bias: Some(Param::from_data(
                    TensorData::new(l.bias, [l.outputs]),
                    device,
                )),
            })
            .collect();
        Network {
            layers,
            activation,
            dropout,
        }
    }

    /// The forward pass. `noise` seeds dropout during training; `None` disables it.
    pub fn forward(&self, mut x: Tensor<2>, noise: Option<u64>) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = match self.activation {
                    Activation::Relu => activation::relu(x),
                    Activation::Tanh => activation::tanh(x),
                    Activation::Sigmoid => activation::sigmoid(x),
                    Activation::Gelu => activation::gelu(x),
                };
                if let Some(seed) = noise
                    && self.dropout > 0.0
                {
                    x = dropout(x, self.dropout, seed.wrapping_add(i as u64));
                }
            }
        }
        x
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.weight.dims()[0])
    }
}

/// Inverted dropout with a mask drawn from `seed`.
fn dropout(x: Tensor<2>, p: f64, seed: u64) -> Tensor<2> {
    let dims = x.dims();
    let keep = 1.0 - p as f32;
    let scale = 1.0 / keep;
    let mut rng = Rng::new(seed);
    let mask: Vec<f32> = (0..dims[0] * dims[1])
        .map(|_| if rng.next_f32() < keep { scale } else { 0.0 })
        .collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, dims), &x.device());
    x * mask
}

/// Features with class indices.
#[derive(Clone, Debug)]
pub struct ClassBatch {
    /// `[rows, features]`.
    pub x: Tensor<2>,
    /// `[rows]` class indices.
    pub y: Tensor<1, Int>,
    /// Dropout seed (training batches only).
    pub noise: Option<u64>,
}

/// Features with target values.
#[derive(Clone, Debug)]
pub struct ValueBatch {
    /// `[rows, features]`.
    pub x: Tensor<2>,
    /// `[rows, 1]` targets.
    pub y: Tensor<2>,
    /// Dropout seed (training batches only).
    pub noise: Option<u64>,
}

/// A network trained with softmax cross-entropy.
#[derive(Module, Debug)]
pub struct Classifier {
    /// The network, one logit per class.
    pub net: Network,
}

impl Classifier {
    fn output(&self, b: ClassBatch) -> ClassificationOutput {
        let logits = self.net.forward(b.x, b.noise);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), b.y.clone());
        ClassificationOutput::new(loss, logits, b.y)
    }
}

impl TrainStep for Classifier {
    type Input = ClassBatch;
    type Output = ClassificationOutput;
    fn step(&self, batch: ClassBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.output(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Classifier {
    type Input = ClassBatch;
    type Output = ClassificationOutput;
    fn step(&self, batch: ClassBatch) -> ClassificationOutput {
        self.output(ClassBatch {
            noise: None,
            ..batch
        })
    }
}

/// A network trained with mean squared error.
#[derive(Module, Debug)]
pub struct Regressor {
    /// The network, one output.
    pub net: Network,
}

impl Regressor {
    fn output(&self, b: ValueBatch) -> RegressionOutput {
        let out = self.net.forward(b.x, b.noise);
        let loss = MseLoss::new().forward(out.clone(), b.y.clone(), Reduction::Mean);
        RegressionOutput::new(loss, out, b.y)
    }
}

impl TrainStep for Regressor {
    type Input = ValueBatch;
    type Output = RegressionOutput;
    fn step(&self, batch: ValueBatch) -> TrainOutput<RegressionOutput> {
        let item = self.output(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Regressor {
    type Input = ValueBatch;
    type Output = RegressionOutput;
    fn step(&self, batch: ValueBatch) -> RegressionOutput {
        self.output(ValueBatch {
            noise: None,
            ..batch
        })
    }
}
