//! A burn `DataLoader` over a dense feature matrix: batches are gathered straight from the
//! contiguous `f32` rows (no per-row objects), and the training order of epoch `e` is a
//! permutation drawn from `(seed, e)`, so a run resumed at epoch `e` sees the same batches as
//! one that never stopped.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::network::{ClassBatch, ValueBatch};
use crate::features::FeatureMatrix;
use crate::rng::Rng;

/// Targets of the rows of a [`FeatureMatrix`].
#[derive(Clone, Debug)]
pub enum Targets {
    /// Class indices.
    Classes(Vec<i64>),
    /// Regression targets.
    Values(Vec<f32>),
}

/// Features and targets, shared by the loaders of one run.
#[derive(Debug)]
pub struct TrainMatrix {
    /// The features.
    pub x: FeatureMatrix,
    /// One target per row.
    pub y: Targets,
}

/// A batch type the loader can build from row indices.
pub trait FromRows: Send + Sized + 'static {
    /// Builds the batch of `rows` on `device`.
    fn from_rows(data: &TrainMatrix, rows: Rows<'_>, device: &Device, noise: Option<u64>) -> Self;
}

/// Which rows make a batch: a contiguous range or gathered indices.
#[derive(Clone, Copy)]
pub enum Rows<'a> {
    /// `start..end`.
    Range(usize, usize),
    /// Arbitrary rows.
    Picked(&'a [usize]),
}

impl Rows<'_> {
    fn len(&self) -> usize {
        match self {
            Rows::Range(a, b) => b - a,
            Rows::Picked(r) => r.len(),
        }
    }

    fn gather<T: Copy>(&self, values: &[T], width: usize) -> Vec<T> {
        match *self {
            Rows::Range(a, b) => values[a * width..b * width].to_vec(),
            Rows::Picked(rows) => {
                let mut out = Vec::with_capacity(rows.len() * width);
                for &r in rows {
                    out.extend_from_slice(&values[r * width..(r + 1) * width]);
                }
                out
            }
        }
    }
}

fn features(data: &TrainMatrix, rows: Rows<'_>, device: &Device) -> Tensor<2> {
    let w = data.x.width;
    let x = rows.gather(&data.x.values, w);
    Tensor::from_data(TensorData::new(x, [rows.len(), w]), device)
}

impl FromRows for ClassBatch {
    fn from_rows(data: &TrainMatrix, rows: Rows<'_>, device: &Device, noise: Option<u64>) -> Self {
        let y = match &data.y {
            Targets::Classes(c) => rows.gather(c, 1),
            Targets::Values(v) => rows.gather(v, 1).into_iter().map(|v| v as i64).collect(),
        };
        ClassBatch {
            x: features(data, rows, device),
            y: Tensor::<1, Int>::from_data(TensorData::new(y, [rows.len()]), device),
            noise,
        }
    }
}

impl FromRows for ValueBatch {
    fn from_rows(data: &TrainMatrix, rows: Rows<'_>, device: &Device, noise: Option<u64>) -> Self {
        let y = match &data.y {
            Targets::Values(v) => rows.gather(v, 1),
            Targets::Classes(c) => rows.gather(c, 1).into_iter().map(|v| v as f32).collect(),
        };
        ValueBatch {
            x: features(data, rows, device),
            y: Tensor::from_data(TensorData::new(y, [rows.len(), 1]), device),
            noise,
        }
    }
}

/// Batches of a [`TrainMatrix`], shuffled per epoch when `seed` is set.
pub struct MatrixLoader<B> {
    data: Arc<TrainMatrix>,
    batch_size: usize,
    seed: Option<u64>,
    /// Epochs started so far; shared by every copy made by `to_device`.
    epochs: Arc<AtomicUsize>,
    start: usize,
    end: usize,
    device: Device,
    _batch: PhantomData<fn() -> B>,
}

impl<B: FromRows> MatrixLoader<B> {
    /// A loader over every row. With `seed`, rows are reshuffled each epoch and dropout is
    /// active; `first_epoch` is the epoch the next `iter()` starts (1 unless resuming).
    pub fn new(
        data: Arc<TrainMatrix>,
        batch_size: usize,
        seed: Option<u64>,
        first_epoch: usize,
        device: Device,
    ) -> Self {
        let end = data.x.rows;
        MatrixLoader {
            data,
            batch_size,
            seed,
            epochs: Arc::new(AtomicUsize::new(first_epoch.saturating_sub(1))),
            start: 0,
            end,
            device,
            _batch: PhantomData,
        }
    }

    fn copy(&self, start: usize, end: usize, device: Device) -> Self {
        MatrixLoader {
            data: self.data.clone(),
            batch_size: self.batch_size,
            seed: self.seed,
            epochs: self.epochs.clone(),
            start,
            end,
            device,
            _batch: PhantomData,
        }
    }
}

/// Mixes the run seed with an epoch or batch number (SplitMix64 finaliser).
pub(crate) fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<B: FromRows> DataLoader<B> for MatrixLoader<B> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<B> + 'a> {
        let epoch = self.epochs.fetch_add(1, Ordering::SeqCst) as u64 + 1;
        let order = self.seed.map(|seed| {
            let mut rows: Vec<usize> = (self.start..self.end).collect();
            Rng::new(mix(seed, epoch)).shuffle(&mut rows);
            rows
        });
        Box::new(MatrixIter {
            loader: self,
            order,
            epoch,
            pos: 0,
            batch: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.end - self.start
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<B>> {
        Arc::new(self.copy(self.start, self.end, device.clone()))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<B>> {
        let s = (self.start + start).min(self.end);
        let e = (self.start + end).clamp(s, self.end);
        Arc::new(self.copy(s, e, self.device.clone()))
    }
}

struct MatrixIter<'a, B> {
    loader: &'a MatrixLoader<B>,
    order: Option<Vec<usize>>,
    epoch: u64,
    pos: usize,
    batch: u64,
}

impl<B: FromRows> Iterator for MatrixIter<'_, B> {
    type Item = Result<B, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let l = self.loader;
        let total = l.end - l.start;
        if self.pos >= total {
            return None;
        }
        let n = l.batch_size.min(total - self.pos);
        let rows = match &self.order {
            Some(order) => Rows::Picked(&order[self.pos..self.pos + n]),
            None => Rows::Range(l.start + self.pos, l.start + self.pos + n),
        };
        let noise = l
            .seed
            .map(|seed| mix(mix(seed, self.epoch), self.batch + 1));
        let batch = B::from_rows(&l.data, rows, &l.device, noise);
        self.pos += n;
        self.batch += 1;
        Some(Ok(batch))
    }
}

impl<B: FromRows> DataLoaderIterator<B> for MatrixIter<'_, B> {
    fn progress(&self) -> Progress {
        Progress::new(self.pos, self.loader.end - self.loader.start, None)
    }
}
