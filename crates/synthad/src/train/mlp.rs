//! The classifier: a ReLU multi-layer perceptron with one output, on candle.

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::linear::{linear, linear_no_grad};
use crate::error::Result;
use crate::prepare::Matrix;

/// Rows per forward pass when scoring: large enough to keep the matrix kernels busy, small
/// enough that activations stay in a few MiB.
const SCORE_BATCH: usize = 1024;

/// A ReLU MLP whose parameters are candle variables (trainable).
#[derive(Debug, Clone)]
pub struct Mlp {
    /// (weight [out, in], bias [out]) per layer; the last layer has one output.
    layers: Vec<(Var, Var)>,
}

impl Mlp {
    /// PyTorch's default initialisation: weights and biases uniform on ±1/√fan_in, drawn from
    /// the seeded generator so that a seed fixes the network.
    pub fn new(inputs: usize, hidden: &[usize], rng: &mut ChaCha8Rng) -> Result<Mlp> {
        let mut widths = vec![inputs];
        widths.extend_from_slice(hidden);
        widths.push(1);
        let layers = widths
            .windows(2)
            .map(|w| {
                let (fan_in, fan_out) = (w[0], w[1]);
                let bound = 1.0 / (fan_in as f32).sqrt();
                let mut draw = |n: usize| -> Vec<f32> {
                    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
                };
                let weight =
                    Tensor::from_vec(draw(fan_out * fan_in), (fan_out, fan_in), &Device::Cpu)?;
                let bias = Tensor::from_vec(draw(fan_out), fan_out, &Device::Cpu)?;
                Ok((Var::from_tensor(&weight)?, Var::from_tensor(&bias)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Mlp { layers })
    }

    /// Rebuilds a network from its tensors (weight, bias per layer).
    pub fn from_tensors(tensors: Vec<(Tensor, Tensor)>) -> Result<Mlp> {
        let layers = tensors
            .into_iter()
            .map(|(w, b)| Ok((Var::from_tensor(&w)?, Var::from_tensor(&b)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Mlp { layers })
    }

    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }

    /// Copies of the current parameter values (for restoring the best epoch).
    pub fn snapshot(&self) -> Result<Vec<(Tensor, Tensor)>> {
        self.layers
            .iter()
            .map(|(w, b)| Ok((w.as_tensor().copy()?, b.as_tensor().copy()?)))
            .collect()
    }

    pub fn restore(&self, snapshot: &[(Tensor, Tensor)]) -> Result<()> {
        for ((w, b), (sw, sb)) in self.layers.iter().zip(snapshot) {
            w.set(sw)?;
            b.set(sb)?;
        }
        Ok(())
    }

    pub fn n_inputs(&self) -> usize {
        self.layers[0].0.dims()[1]
    }

    pub fn hidden(&self) -> Vec<usize> {
        self.layers[..self.layers.len() - 1]
            .iter()
            .map(|(w, _)| w.dims()[0])
            .collect()
    }

    /// Forward pass recording the graph for backpropagation: [n, d] → [n].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = linear(&h, w.as_tensor(), b.as_tensor(), i < last)?;
        }
        Ok(h.squeeze(1)?)
    }

    /// Scores of every row without recording a graph. Batches of rows run in parallel, each
    /// on one thread: on 2 cores that beat splitting each product across threads.
    pub fn scores(&self, x: &Matrix) -> Result<Vec<f32>> {
        use rayon::prelude::*;
        let frozen: Vec<(Tensor, Tensor)> = self
            .layers
            .iter()
            .map(|(w, b)| (w.as_tensor().detach(), b.as_tensor().detach()))
            .collect();
        let last = frozen.len() - 1;
        let batches: Vec<Result<Vec<f32>>> = x
            .data
            .par_chunks(SCORE_BATCH * x.cols.max(1))
            .map(|batch| {
                let rows = batch.len() / x.cols.max(1);
                let mut h = Tensor::from_slice(batch, (rows, x.cols), &Device::Cpu)?;
                for (i, (w, b)) in frozen.iter().enumerate() {
                    h = linear_no_grad(&h, w, b, i < last)?;
                }
                Ok(h.squeeze(1)?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
            })
            .collect();
        let mut out = Vec::with_capacity(x.rows);
        for batch in batches {
            out.extend(batch?);
        }
        Ok(out)
    }

    /// The parameters as named tensors, for saving.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, (w, b))| {
                [
                    (format!("layers.{i}.weight"), w.as_tensor().clone()),
                    (format!("layers.{i}.bias"), b.as_tensor().clone()),
                ]
            })
            .collect()
    }
}
