//! Training hyperparameters as a validated params struct: build with [`TrainParams::default`],
//! change fields, then [`TrainParams::check`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What the anomaly class is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Normals vs known + synthetic anomalies: the framework.
    Synthetic,
    /// Normals vs known anomalies only: the supervised baseline.
    Vanilla,
    /// Normals vs synthetic anomalies only; known anomalies are not used.
    Unsupervised,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Vanilla, Mode::Synthetic, Mode::Unsupervised];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Synthetic => "synthetic",
            Mode::Vanilla => "vanilla",
            Mode::Unsupervised => "unsupervised",
        }
    }

    pub fn uses_known(self) -> bool {
        self != Mode::Unsupervised
    }

    pub fn uses_synthetic(self) -> bool {
        self != Mode::Vanilla
    }
}

impl std::str::FromStr for Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Mode> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::InvalidParams(format!(
                    "unknown mode {s:?}; use synthetic, vanilla or unsupervised"
                ))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// max(0, 1 − y·f(x)): the loss of the paper's convergence theory.
    Hinge,
    /// log(1 + exp(−y·f(x))).
    Logistic,
}

impl std::str::FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Loss> {
        match s {
            "hinge" => Ok(Loss::Hinge),
            "logistic" => Ok(Loss::Logistic),
            _ => Err(Error::InvalidParams(format!(
                "unknown loss {s:?}; use hinge or logistic"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainParams {
    pub mode: Mode,
    /// Widths of the hidden ReLU layers.
    pub hidden: Vec<usize>,
    pub loss: Loss,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    pub batch_size: usize,
    pub max_epochs: usize,
    /// Early-stopping patience in epochs without a better validation loss ...
    pub patience: usize,
    /// ... but never fewer optimizer steps than this. With few rows an epoch is one step, and a
    /// patience of a few steps ends training inside the first transient.
    pub min_patience_steps: usize,
    /// Share of normal and of known-anomaly rows held out for early stopping and the threshold.
    pub validation_fraction: f64,
    /// Synthetic anomalies per normal training row.
    pub synthetic_ratio: f64,
    /// Share of the anomaly class's weight carried by known anomalies when there are synthetic
    /// ones too (the rest goes to synthetic ones). `None`: every anomaly row weighs the same, so
    /// the share is the known rows' share of the anomaly rows (the paper's plain union).
    /// Normals and anomalies as classes always weigh the same.
    pub known_weight: Option<f64>,
    /// Widens the synthetic box by this fraction of each feature's range on each side.
    pub margin: f64,
    /// False-positive rate on validation normals at which the decision threshold is set.
    pub target_fpr: f64,
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            mode: Mode::Synthetic,
            hidden: vec![500, 500],
            loss: Loss::Hinge,
            learning_rate: 1e-3,
            weight_decay: 1e-2,
            batch_size: 1024,
            max_epochs: 100,
            patience: 7,
            min_patience_steps: 100,
            validation_fraction: 0.2,
            synthetic_ratio: 1.0,
            known_weight: None,
            margin: 0.0,
            target_fpr: 0.05,
            seed: 0,
        }
    }
}

impl TrainParams {
    /// Validates the parameters, naming the first that is out of range.
    pub fn check(self) -> Result<TrainParams> {
        let fail = |m: String| Err(Error::InvalidParams(m));
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return fail(format!(
                "hidden layer widths must be positive and at least one layer given, got {:?}",
                self.hidden
            ));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return fail(format!(
                "learning rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return fail(format!(
                "weight decay must be ≥ 0, got {}",
                self.weight_decay
            ));
        }
        if self.batch_size == 0 || self.max_epochs == 0 {
            return fail("batch size and max epochs must be positive".into());
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return fail(format!(
                "validation fraction must be in (0, 1), got {}",
                self.validation_fraction
            ));
        }
        if !(self.synthetic_ratio >= 0.0 && self.synthetic_ratio.is_finite()) {
            return fail(format!(
                "synthetic ratio must be ≥ 0, got {}",
                self.synthetic_ratio
            ));
        }
        if self.mode == Mode::Unsupervised && self.synthetic_ratio == 0.0 {
            return fail(
                "unsupervised mode needs synthetic anomalies (synthetic ratio > 0)".into(),
            );
        }
        if let Some(w) = self.known_weight.filter(|w| !(0.0..=1.0).contains(w)) {
            return fail(format!("known weight must be in [0, 1], got {w}"));
        }
        if !(self.margin >= 0.0 && self.margin.is_finite()) {
            return fail(format!("margin must be ≥ 0, got {}", self.margin));
        }
        if !(self.target_fpr > 0.0 && self.target_fpr < 1.0) {
            return fail(format!(
                "target false-positive rate must be in (0, 1), got {}",
                self.target_fpr
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_bad_values_are_named() {
        assert!(TrainParams::default().check().is_ok());
        let err = TrainParams {
            hidden: vec![500, 0],
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert!(err.to_string().contains("hidden layer widths"));
        let err = TrainParams {
            mode: Mode::Unsupervised,
            synthetic_ratio: 0.0,
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert!(err.to_string().contains("unsupervised"));
    }
}
