//! The training loop of the neural detectors: AdamW on a weighted per-row objective,
//! minibatches in parallel shards, early stopping on a validation loss with the best weights
//! restored.

use std::time::Instant;

use candle_core::{Device, Tensor};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::labeled_set::LabeledSet;
use super::network::Record;
use super::neural::NeuralModel;
use super::objective::Objective;
use super::optimizer::AdamW;
use super::params::{Sampling, TrainParams};
use super::report::{EpochStats, TrainReport};
use crate::error::{Error, Result};

/// Rows per shard of a minibatch. Shards run in parallel, each with single-threaded matrix
/// kernels, and their gradients are summed in a fixed order: 1.2-1.4x the throughput of
/// splitting every matrix product across threads on 2 cores (docs/performance.md), and the
/// result does not depend on the number of threads.
pub(super) const SHARD_ROWS: usize = 512;

/// Rows per chunk when computing a loss without gradients.
const EVAL_CHUNK: usize = 4096;

/// Draws rows so that normals and anomalies come equally often, each class's rows in
/// proportion to their weights (DeepOD's `WeightedRandomSampler`).
fn balanced_sampler(set: &LabeledSet) -> Result<WeightedIndex<f64>> {
    WeightedIndex::new(set.balanced_draw_weights())
        .map_err(|e| Error::Training(format!("balanced sampling: {e}")))
}

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
    pub(super) fn train(
        &self,
        train: &LabeledSet,
        validation: &LabeledSet,
        params: &TrainParams,
        rng: &mut ChaCha8Rng,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> Result<TrainReport> {
        let device = Device::Cpu;
        let network = &self.network;
        let mut optimizer = AdamW::new(
            network.vars(),
            params.learning_rate,
            params.weight_decay,
            params.adam_epsilon,
        );
        let x_all = Tensor::from_slice(&train.x.data, (train.x.rows, train.x.cols), &device)?;
        let y_all = Tensor::from_slice(&train.target, train.len(), &device)?;
        // Balanced sampling weighs rows by how often they are drawn, and the loss by 1.
        let sampler = match params.sampling {
            Sampling::Shuffle => None,
            Sampling::Balanced => Some(balanced_sampler(train)?),
        };
        let w_all = match sampler {
            None => Tensor::from_slice(&train.weight, train.len(), &device)?,
            Some(_) => Tensor::ones(train.len(), candle_core::DType::F32, &device)?,
        };

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
            match &sampler {
                None => order.shuffle(rng),
                Some(draw) => order.iter_mut().for_each(|r| *r = draw.sample(rng) as u32),
            }
            let mut epoch_loss = 0.0;
            for chunk in order.chunks(batch) {
                crate::process::check_stop()?;
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
            // NaN where nothing is held out (the detector keeps its last epoch).
            let validation_loss = if validation.is_empty() {
                f64::NAN
            } else {
                self.mean_loss(validation)?
            };
            if !validation_loss.is_finite() && !validation.is_empty() {
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
            if validation.is_empty() {
                // Nothing to stop on: every epoch runs, the last one counts.
                best.1 = epoch;
            } else if validation_loss < best.0 {
                best = (validation_loss, epoch, network.snapshot()?);
                steps_at_best = steps;
            } else if steps - steps_at_best >= patience_steps {
                break;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        if params.keep_best {
            network.restore(&best.2)?;
        }

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
