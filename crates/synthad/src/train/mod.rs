//! Train: the binary classifier that separates normals from anomalies (known and synthetic).
//!
//! AdamW on a weighted hinge (or logistic) loss, minibatches, early stopping on a validation
//! loss with the best weights restored.

mod linear;
mod mlp;
mod params;

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::prepare::Matrix;

pub use mlp::Mlp;
pub use params::{Loss, Mode, TrainParams};

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
    /// The network gives (nearly) the same output for every validation row: it learned nothing
    /// it can rank by.
    pub collapsed: bool,
}

/// Per-row loss of output `f` for target `y` (±1).
fn row_loss(loss: Loss, f: f64, y: f64) -> f64 {
    let margin = y * f;
    match loss {
        Loss::Hinge => (1.0 - margin).max(0.0),
        Loss::Logistic => (-margin).max(0.0) + (-margin.abs()).exp().ln_1p(),
    }
}

fn weighted_loss(loss: Loss, scores: &[f32], set: &LabeledSet) -> f64 {
    let total: f64 = scores
        .iter()
        .zip(&set.target)
        .zip(&set.weight)
        .map(|((&f, &y), &w)| w as f64 * row_loss(loss, f as f64, y as f64))
        .sum();
    total / scores.len().max(1) as f64
}

/// Σ weight·loss over the rows of a batch (or shard).
fn batch_loss_sum(loss: Loss, output: &Tensor, target: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let margin = (output * target)?;
    let per_row = match loss {
        Loss::Hinge => (1.0 - margin)?.relu()?,
        // softplus(−m) = relu(−m) + log(1 + exp(−|m|)), stable for large |m|.
        Loss::Logistic => (margin.neg()?.relu()? + (margin.abs()?.neg()?.exp()? + 1.0)?.log()?)?,
    };
    Ok((per_row * weight)?.sum_all()?)
}

/// Rows per shard of a minibatch. Shards run in parallel, each with single-threaded matrix
/// kernels, and their gradients are summed in a fixed order: 1.2-1.4x the throughput of
/// splitting every matrix product across threads on 2 cores (docs/performance.md), and the
/// result does not depend on the number of threads.
const SHARD_ROWS: usize = 512;

/// One optimizer step on the rows `chunk` of (x, y, w); returns the batch's mean loss.
fn sharded_step(
    mlp: &Mlp,
    optimizer: &mut AdamW,
    chunk: &[u32],
    (x, y, w): (&Tensor, &Tensor, &Tensor),
    loss: Loss,
) -> Result<f64> {
    use rayon::prelude::*;
    let scale = 1.0 / chunk.len() as f64;
    let shards: Vec<Result<(candle_core::backprop::GradStore, f64)>> = chunk
        .par_chunks(SHARD_ROWS)
        .map(|rows| {
            let index = Tensor::from_slice(rows, rows.len(), &Device::Cpu)?;
            let output = mlp.forward(&x.index_select(&index, 0)?)?;
            let (yb, wb) = (y.index_select(&index, 0)?, w.index_select(&index, 0)?);
            // The shard's share of the batch mean: its sum over the batch size.
            let shard_loss = (batch_loss_sum(loss, &output, &yb, &wb)? * scale)?;
            let value = shard_loss.to_scalar::<f32>()? as f64;
            Ok((shard_loss.backward()?, value))
        })
        .collect();
    let mut shards = shards.into_iter();
    let (mut grads, mut total) = shards.next().expect("a batch has rows")?;
    for shard in shards {
        let (other, value) = shard?;
        total += value;
        for var in mlp.vars() {
            if let (Some(a), Some(b)) = (grads.get(&var), other.get(&var)) {
                let sum = (a + b)?;
                grads.insert(&var, sum);
            }
        }
    }
    optimizer.step(&grads)?;
    Ok(total)
}

/// Spread below which validation scores count as one constant output.
const COLLAPSE_SPREAD: f32 = 1e-6;

/// Trains an MLP on `train`, stopping early on `validation`.
pub fn train_mlp(
    train: &LabeledSet,
    validation: &LabeledSet,
    params: &TrainParams,
    rng: &mut ChaCha8Rng,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<(Mlp, TrainReport)> {
    if train.is_empty() || validation.is_empty() {
        return Err(Error::Training(
            "the training or validation set is empty".into(),
        ));
    }
    let device = Device::Cpu;
    let mlp = Mlp::new(train.x.cols, &params.hidden, rng)?;
    let mut optimizer = AdamW::new(
        mlp.vars(),
        ParamsAdamW {
            lr: params.learning_rate,
            weight_decay: params.weight_decay,
            ..Default::default()
        },
    )?;
    let x_all = Tensor::from_slice(&train.x.data, (train.x.rows, train.x.cols), &device)?;
    // Gradients flow to the weights only; the data never needs one.
    let y_all = Tensor::from_slice(&train.target, train.len(), &device)?;
    let w_all = Tensor::from_slice(&train.weight, train.len(), &device)?;

    let batch = params.batch_size.min(train.len());
    let steps_per_epoch = train.len().div_ceil(batch);
    let patience_steps = (params.patience * steps_per_epoch).max(params.min_patience_steps);

    let started = Instant::now();
    let mut order: Vec<u32> = (0..train.len() as u32).collect();
    let mut best = (f64::INFINITY, 0usize, mlp.snapshot()?);
    let mut steps_at_best = 0usize;
    let mut history = Vec::new();
    let mut steps = 0usize;
    let mut samples = 0usize;
    for epoch in 1..=params.max_epochs {
        order.shuffle(rng);
        let mut epoch_loss = 0.0;
        for chunk in order.chunks(batch) {
            let batch_loss = sharded_step(
                &mlp,
                &mut optimizer,
                chunk,
                (&x_all, &y_all, &w_all),
                params.loss,
            )?;
            epoch_loss += batch_loss * chunk.len() as f64;
            steps += 1;
            samples += chunk.len();
        }
        let validation_loss = weighted_loss(params.loss, &mlp.scores(&validation.x)?, validation);
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
            best = (validation_loss, epoch, mlp.snapshot()?);
            steps_at_best = steps;
        } else if steps - steps_at_best >= patience_steps {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    mlp.restore(&best.2)?;

    let scores = mlp.scores(&validation.x)?;
    let (lo, hi) = scores
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    let report = TrainReport {
        epochs: history.len(),
        steps,
        best_epoch: best.1,
        best_validation_loss: best.0,
        history,
        samples_per_second: samples as f64 / seconds.max(1e-9),
        seconds,
        collapsed: hi - lo < COLLAPSE_SPREAD,
    };
    Ok((mlp, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

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
        // Proportional: every anomaly row weighs the same.
        let set = LabeledSet::balanced(&normal, &known, &synthetic, None);
        assert_eq!(set.weight[6], set.weight[11]);
        assert!((set.weight[6..].iter().sum::<f32>() - 6.0).abs() < 1e-5);
    }

    #[test]
    fn losses_match_their_definitions() {
        assert_eq!(row_loss(Loss::Hinge, 0.25, 1.0), 0.75);
        assert_eq!(row_loss(Loss::Hinge, 2.0, 1.0), 0.0);
        assert_eq!(row_loss(Loss::Hinge, 0.5, -1.0), 1.5);
        let logistic = row_loss(Loss::Logistic, 0.3, -1.0);
        assert!((logistic - (1.0f64 + 0.3f64.exp()).ln()).abs() < 1e-12);
        // The tensor loss agrees with the row loss.
        let device = Device::Cpu;
        let out = Tensor::new(&[0.25f32, 0.5, -3.0], &device).unwrap();
        let y = Tensor::new(&[1.0f32, -1.0, -1.0], &device).unwrap();
        let w = Tensor::new(&[2.0f32, 1.0, 1.0], &device).unwrap();
        for loss in [Loss::Hinge, Loss::Logistic] {
            let t = batch_loss_sum(loss, &out, &y, &w)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap() as f64;
            let expected = 2.0 * row_loss(loss, 0.25, 1.0)
                + row_loss(loss, 0.5, -1.0)
                + row_loss(loss, -3.0, -1.0);
            assert!((t - expected).abs() < 1e-6, "{loss:?}: {t} vs {expected}");
        }
    }

    #[test]
    fn a_collapsed_network_is_reported() {
        // A huge learning rate kills every ReLU within a few steps: the output is the last
        // bias for every row.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let normal = Matrix::from_rows(
            2,
            (0..400)
                .map(|_| rand::Rng::random_range(&mut rng, 0.0..1.0))
                .collect(),
        );
        let known = Matrix::from_rows(
            2,
            (0..40)
                .map(|_| rand::Rng::random_range(&mut rng, 2.0..3.0))
                .collect(),
        );
        let train = LabeledSet::balanced(&normal, &known, &Matrix::zeros(0, 2), None);
        let params = TrainParams {
            hidden: vec![8],
            learning_rate: 50.0,
            max_epochs: 30,
            ..Default::default()
        };
        let (mlp, report) = train_mlp(&train, &train, &params, &mut rng, &mut |_| {}).unwrap();
        let scores = mlp.scores(&train.x).unwrap();
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
    fn learns_a_separable_problem_and_is_reproducible() {
        // Normals near 0.2, anomalies near 0.8, in 2-D.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let points = |c: f32, n: usize, rng: &mut ChaCha8Rng| {
            let data = (0..n * 2)
                .map(|_| c + rand::Rng::random_range(rng, -0.1..0.1))
                .collect();
            Matrix::from_rows(2, data)
        };
        let normal = points(0.2, 200, &mut rng);
        let anomalies = points(0.8, 50, &mut rng);
        let empty = Matrix::zeros(0, 2);
        let train = LabeledSet::balanced(&normal, &anomalies, &empty, None);
        let params = TrainParams {
            hidden: vec![16],
            max_epochs: 50,
            batch_size: 64,
            ..Default::default()
        };
        let fit = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (mlp, report) = train_mlp(&train, &train, &params, &mut rng, &mut |_| {}).unwrap();
            (mlp.scores(&train.x).unwrap(), report)
        };
        let (scores, report) = fit(1);
        assert!(!report.collapsed);
        assert!(scores[..200].iter().all(|&s| s < 0.0) && scores[200..].iter().all(|&s| s > 0.0));
        assert_eq!(scores, fit(1).0, "same seed, same scores");
        assert_ne!(scores, fit(2).0);
    }
}
