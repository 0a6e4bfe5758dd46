//! Train: the detectors, each fitted to separate normals from anomalies (known and
//! synthetic), behind one [`Model`] trait.
//!
//! The neural detectors (the paper's classifier, DeepSAD, ABC, DROCC) share one loop: AdamW on
//! a weighted per-row objective, minibatches in parallel shards, early stopping on a validation
//! loss with the best weights restored. Boosted trees and the Isolation Forest fit in one call.

pub mod bf16;
mod boosting;
mod forest;
mod linear;
mod network;
mod objective;
mod optimizer;
mod params;

use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::prepare::Matrix;
use optimizer::AdamW;

pub use boosting::BoostedTrees;
pub use forest::IsolationForest;
pub use network::{Network, Record};
pub use objective::Objective;
pub use params::{
    DeepSadParams, DetectorKind, DroccParams, Loss, Mode, Precision, TrainParams, TreeParams,
};

/// A fitted detector's model: encoded rows in, anomaly scores out (higher = more anomalous).
pub trait Model: std::fmt::Debug + Send + Sync {
    fn kind(&self) -> DetectorKind;
    /// The number of features (encoded columns) it takes.
    fn inputs(&self) -> usize;
    fn scores(&self, x: &Matrix) -> Result<Vec<f32>>;
    /// What the model file stores: tensors, and the rest as JSON.
    fn parts(&self) -> Result<ModelParts>;
}

/// A model as stored: named tensors and JSON state.
pub struct ModelParts {
    pub tensors: Vec<(String, Tensor)>,
    pub state: serde_json::Value,
}

/// Fetches a stored tensor by name, checking its shape.
pub type TensorSource<'a> = dyn Fn(&str, &[usize]) -> Result<Tensor> + 'a;

/// Rebuilds a model from what [`Model::parts`] stored.
pub fn model_from_parts(
    kind: DetectorKind,
    state: serde_json::Value,
    tensor: &TensorSource,
) -> Result<Arc<dyn Model>> {
    Ok(match kind {
        DetectorKind::Gbt => Arc::new(BoostedTrees::from_state(state)?),
        DetectorKind::IForest => Arc::new(IsolationForest::from_state(state)?),
        _ => Arc::new(NeuralModel::from_parts(kind, state, tensor)?),
    })
}

/// Fits the model `params.detector` on `train`, validating on `validation`.
pub fn fit_model(
    train: &LabeledSet,
    validation: &LabeledSet,
    params: &TrainParams,
    rng: &mut ChaCha8Rng,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<(Arc<dyn Model>, TrainReport)> {
    if train.is_empty() || validation.is_empty() {
        return Err(Error::Training(
            "the training or validation set is empty".into(),
        ));
    }
    let started = Instant::now();
    let (model, mut report): (Arc<dyn Model>, TrainReport) = match params.detector {
        DetectorKind::Gbt => {
            let (model, rounds) = BoostedTrees::fit(train, validation, params)?;
            (
                Arc::new(model),
                TrainReport::single_pass(rounds, train.len(), started),
            )
        }
        DetectorKind::IForest => {
            let normals = train.normals();
            let model = IsolationForest::fit(&normals, &params.trees, rng);
            (
                Arc::new(model),
                TrainReport::single_pass(params.trees.trees, normals.rows, started),
            )
        }
        _ => {
            let (model, report) = NeuralModel::fit(train, validation, params, rng, on_epoch)?;
            (Arc::new(model), report)
        }
    };
    let scores = model.scores(&validation.x)?;
    let (lo, hi) = scores
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    report.collapsed = hi - lo < COLLAPSE_SPREAD;
    Ok((model, report))
}

/// Rows with targets (+1 anomaly, −1 normal) and per-row loss weights.
#[derive(Debug, Clone)]
pub struct LabeledSet {
    pub x: Matrix,
    pub target: Vec<f32>,
    pub weight: Vec<f32>,
}

impl LabeledSet {
    /// Normals against anomalies in two groups (known, synthetic), weighted so that normals
    /// and anomalies carry equal total weight and `known_share` of the anomalies' weight is on
    /// the known group (`None`: in proportion to the rows). The mean weight is 1, so the loss
    /// scale does not depend on the mix.
    pub fn balanced(
        normal: &Matrix,
        known: &Matrix,
        synthetic: &Matrix,
        known_share: Option<f64>,
    ) -> LabeledSet {
        let (n_n, n_k, n_s) = (normal.rows, known.rows, synthetic.rows);
        let total = (n_n + n_k + n_s) as f64;
        let known_share = match (n_k, n_s) {
            (0, _) => 0.0,
            (_, 0) => 1.0,
            _ => known_share.unwrap_or(n_k as f64 / (n_k + n_s) as f64),
        };
        let per_row = |group_weight: f64, n: usize| {
            if n == 0 {
                0.0
            } else {
                (total * group_weight / n as f64) as f32
            }
        };
        let (w_n, w_k, w_s) = (
            per_row(0.5, n_n),
            per_row(0.5 * known_share, n_k),
            per_row(0.5 * (1.0 - known_share), n_s),
        );
        let x = Matrix::vstack(&[normal, known, synthetic]);
        let mut target = vec![-1.0; n_n];
        target.resize(n_n + n_k + n_s, 1.0);
        let mut weight = vec![w_n; n_n];
        weight.resize(n_n + n_k, w_k);
        weight.resize(n_n + n_k + n_s, w_s);
        LabeledSet { x, target, weight }
    }

    /// Normals against anomalies as the plain means of DeepSAD's, ABC's and DROCC's objectives
    /// and of the boosted trees' log-loss: every row weighs 1, except that `known_share`, when
    /// given and both anomaly groups have rows, splits the anomaly rows' total weight between
    /// known (that share) and synthetic rows.
    pub fn unweighted(
        normal: &Matrix,
        known: &Matrix,
        synthetic: &Matrix,
        known_share: Option<f64>,
    ) -> LabeledSet {
        let mut set = LabeledSet::balanced(normal, known, synthetic, None);
        set.weight.fill(1.0);
        let (n_n, n_k, n_s) = (normal.rows, known.rows, synthetic.rows);
        if let (Some(share), true) = (known_share, n_k > 0 && n_s > 0) {
            let anomalies = (n_k + n_s) as f64;
            set.weight[n_n..n_n + n_k].fill((share * anomalies / n_k as f64) as f32);
            set.weight[n_n + n_k..].fill(((1.0 - share) * anomalies / n_s as f64) as f32);
        }
        set
    }

    /// The normal rows' indices.
    pub fn normal_rows(&self) -> Vec<u32> {
        (0..self.len() as u32)
            .filter(|&r| self.target[r as usize] < 0.0)
            .collect()
    }

    /// The normal rows.
    pub fn normals(&self) -> Matrix {
        let rows: Vec<usize> = self.normal_rows().into_iter().map(|r| r as usize).collect();
        self.x.select_rows(&rows)
    }

    pub fn len(&self) -> usize {
        self.x.rows
    }

    pub fn is_empty(&self) -> bool {
        self.x.rows == 0
    }
}

/// What one epoch did, for progress display and the fit report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub steps: usize,
    pub max_epochs: usize,
    pub train_loss: f64,
    pub validation_loss: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub epochs: usize,
    pub steps: usize,
    pub best_epoch: usize,
    pub best_validation_loss: f64,
    pub history: Vec<EpochStats>,
    pub samples_per_second: f64,
    pub seconds: f64,
    /// The model gives (nearly) the same score to every validation row: it learned nothing it
    /// can rank by.
    pub collapsed: bool,
}

impl TrainReport {
    /// The report of a model fitted in one pass (trees): `rounds` trees or boosting rounds.
    fn single_pass(rounds: usize, rows: usize, started: Instant) -> TrainReport {
        let seconds = started.elapsed().as_secs_f64();
        TrainReport {
            epochs: rounds,
            steps: 0,
            best_epoch: rounds,
            best_validation_loss: f64::NAN,
            history: Vec::new(),
            samples_per_second: rows as f64 / seconds.max(1e-9),
            seconds,
            // Set by `fit_model`.
            collapsed: false,
        }
    }
}

/// A neural detector: a network and the objective that says what its output means.
#[derive(Debug, Clone)]
pub struct NeuralModel {
    kind: DetectorKind,
    pub network: Network,
    pub objective: Objective,
}

#[derive(Serialize, Deserialize)]
struct NeuralState {
    widths: Vec<usize>,
    bias: bool,
    #[serde(default)]
    precision: Precision,
    objective: Objective,
}

impl Model for NeuralModel {
    fn kind(&self) -> DetectorKind {
        self.kind
    }

    fn inputs(&self) -> usize {
        self.network.widths()[0]
    }

    fn scores(&self, x: &Matrix) -> Result<Vec<f32>> {
        self.network.map_batches(x, |batch| {
            Ok(self
                .objective
                .score(&self.network, batch, Record::Nothing)?
                .to_vec1::<f32>()?)
        })
    }

    fn parts(&self) -> Result<ModelParts> {
        let state = NeuralState {
            widths: self.network.widths(),
            bias: self.network.has_bias(),
            precision: self.network.precision(),
            objective: self.objective.clone(),
        };
        Ok(ModelParts {
            tensors: self.network.named_tensors(),
            state: serde_json::to_value(state).expect("the network state serializes"),
        })
    }
}

impl NeuralModel {
    fn from_parts(
        kind: DetectorKind,
        state: serde_json::Value,
        tensor: &TensorSource,
    ) -> Result<NeuralModel> {
        let state: NeuralState = serde_json::from_value(state)
            .map_err(|e| Error::Training(format!("network state: {e}")))?;
        let inputs = state.widths.first().copied().unwrap_or(0);
        let outputs = state.widths.last().copied().unwrap_or(0);
        // What each objective needs of the network's output.
        let fits = match &state.objective {
            Objective::Classifier { .. } => outputs == 1,
            Objective::DeepSad { center, eta } => {
                center.len() == outputs && center.iter().all(|c| c.is_finite()) && eta.is_finite()
            }
            Objective::Abc => outputs == inputs,
            Objective::Drocc { .. } => outputs == 1,
        };
        if state.widths.len() < 2
            || state.widths.contains(&0)
            || state.objective.name() != kind.name()
            || !fits
        {
            return Err(Error::Training(format!(
                "a {} network with widths {:?} does not fit detector {}",
                state.objective.name(),
                state.widths,
                kind.name()
            )));
        }
        let layers = state
            .widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                Ok((
                    tensor(&format!("layers.{i}.weight"), &[w[1], w[0]])?,
                    tensor(&format!("layers.{i}.bias"), &[w[1]])?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut network = Network::from_tensors(layers, state.bias)?;
        network.set_precision(state.precision);
        Ok(NeuralModel {
            kind,
            network,
            objective: state.objective,
        })
    }

    /// Builds the detector's network and objective, then trains it.
    fn fit(
        train: &LabeledSet,
        validation: &LabeledSet,
        params: &TrainParams,
        rng: &mut ChaCha8Rng,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> Result<(NeuralModel, TrainReport)> {
        let inputs = train.x.cols;
        let mut widths = vec![inputs];
        widths.extend(&params.hidden);
        let (output, bias) = match params.detector {
            // Biases would let DeepSAD map everything onto the center (Ruff et al., §3).
            DetectorKind::DeepSad => (params.deepsad.representation, false),
            DetectorKind::Abc => (inputs, true),
            _ => (1, true),
        };
        widths.push(output);
        check_network_memory(&widths, params.batch_size.min(train.len()))?;
        params.precision.check_supported()?;
        let mut network = Network::new(&widths, bias, rng)?;
        network.set_precision(params.precision);
        let objective = match params.detector {
            DetectorKind::Classifier => Objective::Classifier { loss: params.loss },
            DetectorKind::DeepSad => Objective::DeepSad {
                center: hypersphere_center(&network, &train.normals())?,
                eta: params.deepsad.eta,
            },
            DetectorKind::Abc => Objective::Abc,
            DetectorKind::Drocc => {
                let d = &params.drocc;
                let radius = match d.radius {
                    Some(r) => r,
                    None => nearest_neighbour_radius(&train.normals(), rng),
                };
                Objective::Drocc {
                    radius,
                    gamma: d.gamma,
                    lambda: d.lambda,
                    ascent_steps: d.ascent_steps,
                    ascent_step_size: d.step_fraction * radius,
                }
            }
            other => unreachable!("{} is not a neural detector", other.name()),
        };
        let model = NeuralModel {
            kind: params.detector,
            network,
            objective,
        };
        let report = model.train(train, validation, params, rng, on_epoch)?;
        Ok((model, report))
    }
}

/// Refuses a network that cannot be trained in this machine's memory. Per parameter: the
/// weight, AdamW's two moments, the best epoch's copy, and one gradient per shard of a batch;
/// per row of a batch and unit: about four activations and gradients.
fn check_network_memory(widths: &[usize], batch: usize) -> Result<()> {
    use crate::memory::{ensure_fits, product};
    let parameters = widths
        .windows(2)
        .map(|w| product(&[w[0] + 1, w[1]]))
        .fold(0u64, u64::saturating_add);
    let shards = batch.div_ceil(SHARD_ROWS).max(1);
    let units = widths.iter().fold(0usize, |a, &w| a.saturating_add(w));
    let bytes = parameters
        .saturating_mul(4 * (4 + shards as u64))
        .saturating_add(product(&[batch, units, 16]));
    ensure_fits(
        bytes,
        &format!(
            "a network of widths {} ({parameters} parameters)",
            widths
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-")
        ),
        "use smaller --hidden widths (or --batch-size)",
    )
}

/// DeepSAD's center: the mean representation of the training normals under the initial
/// network, with coordinates near zero moved to ±0.1 (a zero coordinate is trivially matched
/// by zero weights), as in Ruff et al.'s code.
fn hypersphere_center(network: &Network, normals: &Matrix) -> Result<Vec<f32>> {
    const EPS: f32 = 0.1;
    let width = *network.widths().last().expect("layers");
    let outputs = network.map_batches(normals, |batch| {
        Ok(network
            .forward(batch, Record::Nothing)?
            .flatten_all()?
            .to_vec1::<f32>()?)
    })?;
    let mut center = vec![0.0f64; width];
    for row in outputs.chunks_exact(width) {
        for (c, &v) in center.iter_mut().zip(row) {
            *c += v as f64;
        }
    }
    Ok(center
        .into_iter()
        .map(|c| {
            let c = (c / normals.rows.max(1) as f64) as f32;
            if c.abs() < EPS {
                if c < 0.0 {
                    -EPS
                } else {
                    EPS
                }
            } else {
                c
            }
        })
        .collect())
}

/// The median distance from a normal row to its nearest other normal row, over a sample of up
/// to 1,000 rows: the scale at which "near the normal data" begins, for DROCC's radius.
fn nearest_neighbour_radius(normals: &Matrix, rng: &mut ChaCha8Rng) -> f64 {
    const SAMPLE: usize = 1000;
    let mut rows: Vec<usize> = (0..normals.rows).collect();
    rows.shuffle(rng);
    rows.truncate(SAMPLE);
    let mut nearest: Vec<f64> = rows
        .iter()
        .map(|&a| {
            rows.iter()
                .filter(|&&b| b != a)
                .map(|&b| {
                    normals
                        .row(a)
                        .iter()
                        .zip(normals.row(b))
                        .map(|(x, y)| ((x - y) as f64).powi(2))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .filter(|d| d.is_finite())
        .collect();
    nearest.sort_by(f64::total_cmp);
    // Duplicated rows give zero distances; a zero radius would make every negative a normal.
    match nearest.get(nearest.len() / 2) {
        Some(&d) if d > 0.0 => d,
        _ => 1e-3,
    }
}

/// Rows per shard of a minibatch. Shards run in parallel, each with single-threaded matrix
/// kernels, and their gradients are summed in a fixed order: 1.2-1.4x the throughput of
/// splitting every matrix product across threads on 2 cores (docs/performance.md), and the
/// result does not depend on the number of threads.
const SHARD_ROWS: usize = 512;

/// Spread below which validation scores count as one constant score.
const COLLAPSE_SPREAD: f32 = 1e-6;

/// Rows per chunk when computing a loss without gradients.
const EVAL_CHUNK: usize = 4096;

/// The seed of one step's random draws (DROCC's starting points). Other objectives draw
/// nothing, and leave the generator's stream as it was.
fn step_seed(objective: &Objective, rng: &mut ChaCha8Rng) -> u64 {
    match objective {
        Objective::Drocc { .. } => rng.random(),
        _ => 0,
    }
}

impl NeuralModel {
    /// Σ weight·loss / rows over a whole set, without gradients or adversarial terms.
    fn mean_loss(&self, set: &LabeledSet) -> Result<f64> {
        let mut total = 0.0;
        for start in (0..set.len()).step_by(EVAL_CHUNK) {
            let end = (start + EVAL_CHUNK).min(set.len());
            let cols = set.x.cols;
            let x = Tensor::from_slice(
                &set.x.data[start * cols..end * cols],
                (end - start, cols),
                &Device::Cpu,
            )?;
            let y = Tensor::from_slice(&set.target[start..end], end - start, &Device::Cpu)?;
            let w = Tensor::from_slice(&set.weight[start..end], end - start, &Device::Cpu)?;
            let s = self.objective.score(&self.network, &x, Record::Nothing)?;
            total += (self.objective.row_loss(&s, &y)? * w)?
                .sum_all()?
                .to_scalar::<f32>()? as f64;
        }
        Ok(total / set.len().max(1) as f64)
    }

    /// One optimizer step on the rows `chunk` of (x, y, w); returns the batch's mean loss.
    fn sharded_step(
        &self,
        optimizer: &mut AdamW,
        chunk: &[u32],
        set: &LabeledSet,
        (x, y, w): (&Tensor, &Tensor, &Tensor),
        step_seed: u64,
    ) -> Result<f64> {
        use rayon::prelude::*;
        let scale = 1.0 / chunk.len() as f64;
        let shards: Vec<Result<(candle_core::backprop::GradStore, f64)>> = chunk
            .par_chunks(SHARD_ROWS)
            .enumerate()
            .map(|(shard, rows)| {
                let index = Tensor::from_slice(rows, rows.len(), &Device::Cpu)?;
                let batch = (
                    &x.index_select(&index, 0)?,
                    &y.index_select(&index, 0)?,
                    &w.index_select(&index, 0)?,
                );
                // Positions (within the shard) of its normal rows, for DROCC's negatives.
                let normal: Vec<u32> = (0..rows.len() as u32)
                    .filter(|&i| set.target[rows[i as usize] as usize] < 0.0)
                    .collect();
                // Each shard draws from its own generator, so results do not depend on
                // which thread ran it.
                let mut rng = ChaCha8Rng::seed_from_u64(step_seed ^ shard as u64);
                let sum = self
                    .objective
                    .loss_sum(&self.network, batch, &normal, Some(&mut rng))?;
                // The shard's share of the batch mean: its sum over the batch size.
                let shard_loss = (sum * scale)?;
                let value = shard_loss.to_scalar::<f32>()? as f64;
                Ok((shard_loss.backward()?, value))
            })
            .collect();
        let mut grads = Vec::with_capacity(shards.len());
        let mut total = 0.0;
        for shard in shards {
            let (shard_grads, value) = shard?;
            grads.push(shard_grads);
            total += value;
        }
        optimizer.step(&grads)?;
        Ok(total)
    }

    /// Trains the network on `train`, stopping early on `validation`, and restores the
    /// weights of the best validation loss.
    fn train(
        &self,
        train: &LabeledSet,
        validation: &LabeledSet,
        params: &TrainParams,
        rng: &mut ChaCha8Rng,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> Result<TrainReport> {
        let device = Device::Cpu;
        let network = &self.network;
        let mut optimizer = AdamW::new(network.vars(), params.learning_rate, params.weight_decay);
        let x_all = Tensor::from_slice(&train.x.data, (train.x.rows, train.x.cols), &device)?;
        let y_all = Tensor::from_slice(&train.target, train.len(), &device)?;
        let w_all = Tensor::from_slice(&train.weight, train.len(), &device)?;

        let batch = params.batch_size.min(train.len());
        let steps_per_epoch = train.len().div_ceil(batch);
        let patience_steps = (params.patience * steps_per_epoch).max(params.min_patience_steps);

        let started = Instant::now();
        let mut order: Vec<u32> = (0..train.len() as u32).collect();
        let mut best = (f64::INFINITY, 0usize, network.snapshot()?);
        let mut steps_at_best = 0usize;
        let mut history = Vec::new();
        let mut steps = 0usize;
        let mut samples = 0usize;
        for epoch in 1..=params.max_epochs {
            order.shuffle(rng);
            let mut epoch_loss = 0.0;
            for chunk in order.chunks(batch) {
                let batch_loss = self.sharded_step(
                    &mut optimizer,
                    chunk,
                    train,
                    (&x_all, &y_all, &w_all),
                    step_seed(&self.objective, rng),
                )?;
                epoch_loss += batch_loss * chunk.len() as f64;
                steps += 1;
                samples += chunk.len();
            }
            let validation_loss = self.mean_loss(validation)?;
            if !validation_loss.is_finite() {
                return Err(Error::Training(format!(
                    "the validation loss became {validation_loss} at epoch {epoch}; lower the learning rate"
                )));
            }
            let stats = EpochStats {
                epoch,
                steps,
                max_epochs: params.max_epochs,
                train_loss: epoch_loss / train.len() as f64,
                validation_loss,
            };
            on_epoch(&stats);
            history.push(stats);
            if validation_loss < best.0 {
                best = (validation_loss, epoch, network.snapshot()?);
                steps_at_best = steps;
            } else if steps - steps_at_best >= patience_steps {
                break;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        network.restore(&best.2)?;

        Ok(TrainReport {
            epochs: history.len(),
            steps,
            best_epoch: best.1,
            best_validation_loss: best.0,
            history,
            samples_per_second: samples as f64 / seconds.max(1e-9),
            seconds,
            // Set by `fit_model`, for every kind of model.
            collapsed: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// rows × cols values uniform on [lo, hi), drawn row by row.
    fn uniform(rng: &mut ChaCha8Rng, rows: usize, cols: usize, lo: f32, hi: f32) -> Matrix {
        let data = (0..rows * cols).map(|_| rng.random_range(lo..hi)).collect();
        Matrix::from_rows(cols, data)
    }

    /// A cloud of rows within ±0.1 of `center` in every column.
    fn cloud(rng: &mut ChaCha8Rng, rows: usize, cols: usize, center: f32) -> Matrix {
        let mut m = uniform(rng, rows, cols, -0.1, 0.1);
        m.data.iter_mut().for_each(|v| *v += center);
        m
    }

    #[test]
    fn balanced_weights_split_as_asked() {
        let normal = Matrix::zeros(6, 1);
        let known = Matrix::zeros(2, 1);
        let synthetic = Matrix::zeros(4, 1);
        let set = LabeledSet::balanced(&normal, &known, &synthetic, Some(0.25));
        let sum = |r: std::ops::Range<usize>| set.weight[r].iter().sum::<f32>();
        // 12 rows: normals 6, known 12·0.5·0.25 = 1.5, synthetic 12·0.5·0.75 = 4.5.
        assert!((sum(0..6) - 6.0).abs() < 1e-5);
        assert!((sum(6..8) - 1.5).abs() < 1e-5);
        assert!((sum(8..12) - 4.5).abs() < 1e-5);
        assert_eq!(&set.target[5..7], &[-1.0, 1.0]);
        // Plain means: 1 per row; with a share, the 6 anomaly rows' weight 6 splits 1.5 / 4.5.
        let plain = LabeledSet::unweighted(&normal, &known, &synthetic, None);
        assert!(plain.weight.iter().all(|&w| w == 1.0));
        let shared = LabeledSet::unweighted(&normal, &known, &synthetic, Some(0.25));
        assert_eq!(&shared.weight[..6], &[1.0; 6]);
        assert_eq!(&shared.weight[6..8], &[0.75, 0.75]);
        assert_eq!(&shared.weight[8..], &[1.125; 4]);
        // Proportional: every anomaly row weighs the same.
        let set = LabeledSet::balanced(&normal, &known, &synthetic, None);
        assert_eq!(set.weight[6], set.weight[11]);
        assert!((set.weight[6..].iter().sum::<f32>() - 6.0).abs() < 1e-5);
    }

    #[test]
    fn a_collapsed_network_is_reported() {
        // A huge learning rate kills every ReLU within a few steps: the output is the last
        // bias for every row.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let normal = uniform(&mut rng, 200, 2, 0.0, 1.0);
        let known = uniform(&mut rng, 20, 2, 2.0, 3.0);
        let train = LabeledSet::balanced(&normal, &known, &Matrix::zeros(0, 2), None);
        let params = TrainParams {
            hidden: vec![8],
            learning_rate: 50.0,
            max_epochs: 30,
            ..Default::default()
        };
        let (model, report) = fit_model(&train, &train, &params, &mut rng, &mut |_| {}).unwrap();
        let scores = model.scores(&train.x).unwrap();
        let spread = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max)
            - scores.iter().cloned().fold(f32::INFINITY, f32::min);
        assert_eq!(
            report.collapsed,
            spread < COLLAPSE_SPREAD,
            "spread {spread}"
        );
        assert!(
            report.collapsed,
            "expected a collapse, scores spread {spread}"
        );
    }

    #[test]
    fn boosted_trees_without_a_split_report_a_collapse() {
        // One anomaly among 200 normals: from log-odds log(1/200) every row's hessian is about
        // 0.005, so no leaf reaches the minimum hessian of 1 and no tree splits.
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let normal = uniform(&mut rng, 200, 2, 0.0, 1.0);
        let known = Matrix::from_rows(2, vec![3.0, 3.0]);
        let set = LabeledSet::unweighted(&normal, &known, &Matrix::zeros(0, 2), None);
        let params = TrainParams::for_detector(DetectorKind::Gbt);
        let (_, report) = fit_model(&set, &set, &params, &mut rng, &mut |_| {}).unwrap();
        assert!(report.collapsed);
    }

    #[test]
    fn every_detector_separates_a_separable_problem_reproducibly() {
        // Normals near 0.2, anomalies near 0.8, in 2-D.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let normal = cloud(&mut rng, 200, 2, 0.2);
        let anomalies = cloud(&mut rng, 50, 2, 0.8);
        let empty = Matrix::zeros(0, 2);
        for kind in DetectorKind::ALL {
            let train = if kind == DetectorKind::Classifier {
                LabeledSet::balanced(&normal, &anomalies, &empty, None)
            } else {
                LabeledSet::unweighted(&normal, &anomalies, &empty, None)
            };
            let params = TrainParams {
                hidden: vec![16],
                max_epochs: 50,
                batch_size: 64,
                deepsad: DeepSadParams {
                    representation: 4,
                    ..Default::default()
                },
                trees: TreeParams {
                    trees: 20,
                    sample_size: 64,
                    ..Default::default()
                },
                ..TrainParams::for_detector(kind)
            };
            let fit = |seed| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let (model, report) =
                    fit_model(&train, &train, &params, &mut rng, &mut |_| {}).unwrap();
                assert_eq!(model.kind(), kind);
                (model.scores(&train.x).unwrap(), report)
            };
            let (scores, report) = fit(1);
            assert!(!report.collapsed, "{kind:?}");
            let highest_normal = scores[..200].iter().cloned().fold(f32::MIN, f32::max);
            let lowest_anomaly = scores[200..].iter().cloned().fold(f32::MAX, f32::min);
            assert!(
                lowest_anomaly > highest_normal,
                "{kind:?}: anomalies from {lowest_anomaly}, normals up to {highest_normal}"
            );
            if kind == DetectorKind::Classifier {
                assert!(highest_normal < 0.0 && lowest_anomaly > 0.0);
            }
            assert_eq!(scores, fit(1).0, "{kind:?}: same seed, same scores");
            if kind != DetectorKind::Gbt {
                assert_ne!(scores, fit(2).0, "{kind:?}: the seed matters");
            }
        }
    }

    #[test]
    fn bf16_products_train_and_survive_a_round_trip() {
        if !bf16::available() {
            eprintln!("skipped: this CPU has no AVX512-BF16");
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let train = LabeledSet::balanced(
            &cloud(&mut rng, 300, 3, 0.2),
            &cloud(&mut rng, 60, 3, 0.8),
            &Matrix::zeros(0, 3),
            None,
        );
        let params = TrainParams {
            hidden: vec![64, 64],
            max_epochs: 30,
            batch_size: 64,
            precision: Precision::Bf16,
            ..Default::default()
        };
        let (model, _) = fit_model(&train, &train, &params, &mut rng, &mut |_| {}).unwrap();
        let scores = model.scores(&train.x).unwrap();
        assert!(scores[..300].iter().all(|&s| s < 0.0) && scores[300..].iter().all(|&s| s > 0.0));
        // The stored state names the precision; the rebuilt model scores identically.
        let parts = model.parts().unwrap();
        assert_eq!(parts.state["precision"], "bf16");
        let tensors: std::collections::HashMap<String, Tensor> =
            parts.tensors.into_iter().collect();
        let source = |name: &str, _: &[usize]| Ok(tensors[name].clone());
        let mut state = parts.state;
        let rebuilt = model_from_parts(DetectorKind::Classifier, state.clone(), &source).unwrap();
        assert_eq!(rebuilt.scores(&train.x).unwrap(), scores);
        // In f32 the same weights give nearly the same scores: bf16 rounds operands only.
        state["precision"] = "f32".into();
        let f32_model = model_from_parts(DetectorKind::Classifier, state, &source).unwrap();
        let exact = f32_model.scores(&train.x).unwrap();
        let spread = scores.iter().cloned().fold(0.0f32, |m, s| m.max(s.abs()));
        for (a, b) in scores.iter().zip(&exact) {
            assert!((a - b).abs() < 0.02 * spread, "bf16 {a} vs f32 {b}");
        }
    }
}
