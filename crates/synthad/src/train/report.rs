//! What training did: per-epoch statistics and the report of a fit.

use std::time::Instant;

use serde::{Deserialize, Serialize};

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
    pub(crate) fn single_pass(rounds: usize, rows: usize, started: Instant) -> TrainReport {
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
