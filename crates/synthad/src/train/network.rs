//! The networks of the neural detectors: ReLU multi-layer perceptrons on candle, with any
//! output width (1 for classifiers, a representation for DeepSAD, the input for autoencoders)
//! and optionally without biases (DeepSAD's hypersphere needs them off).

use candle_core::{Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::choices::Precision;
use super::linear::Linear;
use crate::error::Result;
use crate::prepare::Matrix;

/// Rows per forward pass when scoring: large enough to keep the matrix kernels busy, small
/// enough that activations stay in a few MiB.
pub(crate) const SCORE_BATCH: usize = 1024;

/// What a forward pass records for backpropagation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Nothing: scoring and validation.
    Nothing,
    /// The graph to the parameters (and to the input, where it is a variable): training.
    Parameters,
    /// Only the graph to the input: DROCC's search for adversarial points, which needs the
    /// input's gradient and would throw the weights' away.
    Input,
}

/// A ReLU MLP whose parameters are candle variables; the last layer has no activation.
#[derive(Debug, Clone)]
pub struct Network {
    /// (weight [out, in], bias [out]) per layer.
    layers: Vec<(Var, Var)>,
    /// Whether the biases are trained; when not, they stay zero and are no parameters.
    bias: bool,
    precision: Precision,
}

impl Network {
    /// PyTorch's default initialisation: weights (and biases) uniform on ±1/√fan_in, drawn
    /// from the seeded generator so that a seed fixes the network.
    pub fn new(widths: &[usize], bias: bool, rng: &mut ChaCha8Rng) -> Result<Network> {
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
                let bias = if bias {
                    Tensor::from_vec(draw(fan_out), fan_out, &Device::Cpu)?
                } else {
                    Tensor::zeros(fan_out, candle_core::DType::F32, &Device::Cpu)?
                };
                Ok((Var::from_tensor(&weight)?, Var::from_tensor(&bias)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Network {
            layers,
            bias,
            precision: Precision::F32,
        })
    }

    /// Rebuilds a network from its tensors (weight, bias per layer).
    pub fn from_tensors(tensors: Vec<(Tensor, Tensor)>, bias: bool) -> Result<Network> {
        let layers = tensors
            .into_iter()
            .map(|(w, b)| Ok((Var::from_tensor(&w)?, Var::from_tensor(&b)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Network {
            layers,
            bias,
            precision: Precision::F32,
        })
    }

    /// The trainable parameters.
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(w, b)| {
                let mut v = vec![w.clone()];
                if self.bias {
                    v.push(b.clone());
                }
                v
            })
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

    /// Widths from input to output.
    pub fn widths(&self) -> Vec<usize> {
        let mut widths = vec![self.layers[0].0.dims()[1]];
        widths.extend(self.layers.iter().map(|(w, _)| w.dims()[0]));
        widths
    }

    pub fn has_bias(&self) -> bool {
        self.bias
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Sets the number format of the matrix products (the parameters stay f32).
    pub fn set_precision(&mut self, precision: Precision) {
        self.precision = precision;
    }

    /// Forward pass [n, d] → [n, out], recording what `record` asks for backpropagation.
    pub fn forward(&self, x: &Tensor, record: Record) -> Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            let layer = Linear {
                relu: i < last,
                precision: self.precision,
            };
            h = match record {
                Record::Nothing => layer.apply(&h, w.as_tensor(), b.as_tensor(), false)?,
                Record::Parameters => layer.apply(&h, w.as_tensor(), b.as_tensor(), true)?,
                // Detached, the parameters are constants: no gradient is computed for them.
                Record::Input => {
                    layer.apply(&h, &w.as_tensor().detach(), &b.as_tensor().detach(), true)?
                }
            };
        }
        Ok(h)
    }

    /// `per_batch` on every batch of rows of `x` without recording a graph, batches in
    /// parallel, each on one thread: on 2 cores that beat splitting each product across
    /// threads. Results are concatenated in row order; `per_batch` gives `per_row` values for
    /// each row.
    ///
    /// With `full_batches`, a last partial batch is padded with zero rows to [`SCORE_BATCH`]
    /// rows (their results dropped): the matrix kernels pick their code path by the number of
    /// rows, and a row's last bits would otherwise depend on how many rows were scored with
    /// it — a file read in other chunks (Spark's batches, Python's frames) would score
    /// differently in the last bit.
    pub fn map_batches(
        &self,
        x: &Matrix,
        per_row: usize,
        full_batches: bool,
        per_batch: impl Fn(&Tensor) -> Result<Vec<f32>> + Sync,
    ) -> Result<Vec<f32>> {
        use rayon::prelude::*;
        let cols = x.cols.max(1);
        let batches: Vec<Result<Vec<f32>>> = x
            .data
            .par_chunks(SCORE_BATCH * cols)
            .map(|batch| {
                let rows = batch.len() / cols;
                if full_batches && rows < SCORE_BATCH {
                    let mut padded = batch.to_vec();
                    padded.resize(SCORE_BATCH * cols, 0.0);
                    let tensor = Tensor::from_vec(padded, (SCORE_BATCH, x.cols), &Device::Cpu)?;
                    let mut out = per_batch(&tensor)?;
                    out.truncate(rows * per_row);
                    return Ok(out);
                }
                per_batch(&Tensor::from_slice(batch, (rows, x.cols), &Device::Cpu)?)
            })
            .collect();
        let mut out = Vec::with_capacity(x.rows * per_row);
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Recording only the input's graph gives the same input gradient as recording
    /// everything, and no gradient for the parameters.
    #[test]
    fn input_only_records_no_parameter_gradients() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let network = Network::new(&[3, 16, 2], true, &mut rng).unwrap();
        let x = Var::new(&[[0.5f32, -1.0, 2.0], [1.5, 0.25, -0.75]], &Device::Cpu).unwrap();
        let gradients = |record| {
            let out = network.forward(x.as_tensor(), record).unwrap();
            out.sqr().unwrap().sum_all().unwrap().backward().unwrap()
        };
        let (all, input) = (gradients(Record::Parameters), gradients(Record::Input));
        let dx =
            |g: &candle_core::backprop::GradStore| g.get(&x).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(dx(&all), dx(&input));
        for var in network.vars() {
            assert!(all.get(&var).is_some() && input.get(&var).is_none());
        }
    }
}
