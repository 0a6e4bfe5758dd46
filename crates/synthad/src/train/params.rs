//! Training hyperparameters as a validated params struct: build with [`TrainParams::default`]
//! (or [`TrainParams::for_detector`]), change fields, then [`TrainParams::check`].

use serde::{Deserialize, Serialize};

use super::choices::{DetectorKind, Loss, Mode, Precision};
use crate::choice::Choice;
use crate::error::{Error, Result};

/// DeepSAD's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeepSadParams {
    /// Weight η of the labeled-anomaly term.
    pub eta: f64,
    /// Width of the representation the hypersphere lives in.
    pub representation: usize,
}

impl Default for DeepSadParams {
    fn default() -> Self {
        // DeepOD 0.4's defaults, which the anchors ran.
        DeepSadParams {
            eta: 1.0,
            representation: 128,
        }
    }
}

/// How a neural detector's minibatches draw training rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Every row once per epoch, in a shuffled order; row weights scale the loss.
    #[default]
    Shuffle,
    /// As many rows per epoch as the set holds, drawn with replacement so that normals and
    /// anomalies are drawn equally often (within the anomalies, in proportion to their row
    /// weights): DeepOD's `WeightedRandomSampler`. Every drawn row then weighs 1.
    Balanced,
}

/// `auto`'s settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoParams {
    /// The candidates, in the order they are fitted: bench method names ("gbt",
    /// "deepsad+synthetic", "iforest", "synthetic" for the paper's classifier).
    pub candidates: Vec<String>,
    /// Cross-fitting folds: each candidate is fitted this many times, each fit scoring the
    /// rows it left out; the fits together are the candidate's model.
    pub folds: usize,
    /// Seconds the search may take; a candidate that would not finish in what is left is
    /// skipped, and so are the ones after it.
    pub budget_seconds: f64,
}

impl Default for AutoParams {
    fn default() -> Self {
        AutoParams {
            candidates: super::auto::DEFAULT_CANDIDATES.map(String::from).to_vec(),
            folds: 3,
            budget_seconds: 300.0,
        }
    }
}

/// DROCC's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DroccParams {
    /// Inner radius r of the shell where negatives are searched; `None`: the median distance
    /// of a training normal to its nearest other normal (in a sample of them).
    pub radius: Option<f64>,
    /// The shell's outer radius is γ·r.
    pub gamma: f64,
    /// Weight λ of the adversarial term.
    pub lambda: f64,
    pub ascent_steps: usize,
    /// Step length of the ascent as a fraction of r.
    pub step_fraction: f64,
}

impl Default for DroccParams {
    fn default() -> Self {
        DroccParams {
            radius: None,
            gamma: 2.0,
            lambda: 1.0,
            ascent_steps: 10,
            step_fraction: 0.1,
        }
    }
}

/// Tree ensembles' settings: boosted trees use all, the Isolation Forest `trees` and
/// `sample_size`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TreeParams {
    /// Boosting rounds, or trees of the forest.
    pub trees: usize,
    /// Leaves per boosted tree (grown best-first).
    pub max_leaves: usize,
    /// Stop boosting after this many rounds without a better validation log-loss.
    pub early_stopping_rounds: usize,
    /// Rows drawn (without replacement) to grow each isolation tree.
    pub sample_size: usize,
}

impl Default for TreeParams {
    fn default() -> Self {
        // scikit-learn's HistGradientBoostingClassifier (100 rounds, 31 leaves, 10 rounds of
        // patience) and Liu et al.'s Isolation Forest (100 trees of 256 rows).
        TreeParams {
            trees: 100,
            max_leaves: 31,
            early_stopping_rounds: 10,
            sample_size: 256,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainParams {
    pub detector: DetectorKind,
    pub mode: Mode,
    /// Widths of the hidden ReLU layers.
    pub hidden: Vec<usize>,
    pub loss: Loss,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Adam's ε, added to the root of the second moment.
    pub adam_epsilon: f64,
    pub batch_size: usize,
    pub max_epochs: usize,
    /// Early-stopping patience in epochs without a better validation loss ...
    pub patience: usize,
    /// ... but never fewer optimizer steps than this. With few rows an epoch is one step, and a
    /// patience of a few steps ends training inside the first transient.
    pub min_patience_steps: usize,
    /// How minibatches draw rows.
    pub sampling: Sampling,
    /// Whether to restore the weights of the epoch with the best validation loss (else the
    /// last epoch's are kept, as DeepOD does).
    pub keep_best: bool,
    /// Share of normal and of known-anomaly rows held out for early stopping (or the best epoch)
    /// and the threshold; none are held out by detectors that choose nothing on them (deepsad's
    /// fixed epochs, gbt below 10,000 rows, iforest), whose threshold the calibration normals set.
    pub validation_fraction: f64,
    /// Share of the normal rows held out from everything else — fitting, early stopping, the
    /// threshold (except for detectors without validation rows, whose threshold they set) —
    /// whose scores calibrate p-values and `--fpr` (split conformal prediction).
    /// 0 keeps every normal row for training, and the model has no p-values.
    pub calibration_fraction: f64,
    /// Synthetic anomalies per normal training row.
    pub synthetic_ratio: f64,
    /// Share of the anomaly class's weight carried by known anomalies when there are synthetic
    /// ones too (the rest goes to synthetic ones). `None`: every anomaly row weighs the same, so
    /// the share is the known rows' share of the anomaly rows (the paper's plain union).
    /// For the classifier, normals and anomalies as classes always weigh the same; the other
    /// detectors keep their objectives' plain means and only move weight between the two
    /// anomaly groups.
    pub known_weight: Option<f64>,
    /// Widens the synthetic box by this fraction of each feature's range on each side.
    pub margin: f64,
    /// Most features one categorical column becomes; rarer categories share an "other"
    /// feature (see [`crate::prepare::one_hot`]).
    pub max_categories: usize,
    /// False-positive rate on held-out normals (validation, calibration, or for `auto` cross-fitted
    /// ones) at which the decision threshold is set.
    pub target_fpr: f64,
    pub seed: u64,
    pub precision: Precision,
    pub auto: AutoParams,
    pub deepsad: DeepSadParams,
    pub drocc: DroccParams,
    pub trees: TreeParams,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            detector: DetectorKind::Classifier,
            mode: Mode::Synthetic,
            hidden: vec![500, 500],
            loss: Loss::Hinge,
            learning_rate: 1e-3,
            weight_decay: 1e-2,
            batch_size: 1024,
            max_epochs: 100,
            patience: 7,
            min_patience_steps: 100,
            sampling: Sampling::Shuffle,
            keep_best: true,
            adam_epsilon: 1e-8,
            validation_fraction: 0.2,
            calibration_fraction: 0.1,
            synthetic_ratio: 1.0,
            known_weight: None,
            margin: 0.0,
            max_categories: 100,
            target_fpr: 0.05,
            seed: 0,
            precision: Precision::F32,
            auto: AutoParams::default(),
            deepsad: DeepSadParams::default(),
            drocc: DroccParams::default(),
            trees: TreeParams::default(),
        }
    }
}

impl TrainParams {
    /// The defaults for one detector: each neural detector gets the network size, batch and
    /// optimizer settings of its reference implementation, and, as those train a fixed number
    /// of epochs, a patience as long as the run (the best validation epoch is still kept);
    /// boosting gets a learning rate of 0.1.
    pub fn for_detector(detector: DetectorKind) -> TrainParams {
        let base = TrainParams {
            detector,
            ..Default::default()
        };
        match detector {
            DetectorKind::Classifier | DetectorKind::IForest | DetectorKind::Auto => base,
            // DeepOD 0.4.1's DeepSAD: 100-50 hidden, batch 64, Adam with ε 1e-6 and no weight
            // decay (BaseDeepAD._training), normals and anomalies drawn equally often, a fixed
            // number of epochs (the anchors ran 50) and the last epoch's weights — so no rows
            // are held out for validation.
            DetectorKind::DeepSad => TrainParams {
                hidden: vec![100, 50],
                batch_size: 64,
                max_epochs: 50,
                patience: 50,
                weight_decay: 0.0,
                adam_epsilon: 1e-6,
                sampling: Sampling::Balanced,
                keep_best: false,
                ..base
            },
            DetectorKind::Abc => TrainParams {
                hidden: vec![128, 32, 128],
                batch_size: 256,
                patience: 100,
                weight_decay: 1e-5,
                ..base
            },
            DetectorKind::Drocc => TrainParams {
                hidden: vec![128],
                batch_size: 256,
                patience: 100,
                weight_decay: 1e-5,
                ..base
            },
            DetectorKind::Gbt => TrainParams {
                learning_rate: 0.1,
                ..base
            },
        }
    }

    /// The detector and what it learns from, for messages: "deepsad, synthetic mode".
    pub fn describe(&self) -> String {
        match self.detector {
            DetectorKind::IForest => "iforest (normal rows only)".into(),
            DetectorKind::Auto => "auto".into(),
            d => format!("{}, {} mode", d.name(), self.mode.name()),
        }
    }

    /// Whether the validation rows choose the model (early stopping, the best epoch) for a
    /// training set of `rows` rows (see [`TrainParams::training_rows`]); where they do not,
    /// none are held out.
    pub fn selects_on_validation(&self, rows: usize) -> bool {
        match self.detector {
            DetectorKind::Gbt => super::boosting::early_stops(rows),
            DetectorKind::IForest | DetectorKind::Auto => false,
            _ => self.keep_best || self.patience < self.max_epochs,
        }
    }

    /// The rows a fit on `normals` normal and `known` known-anomaly rows trains on, synthetic
    /// ones included, before any validation rows are held out.
    pub fn training_rows(&self, normals: usize, known: usize) -> usize {
        let known = if self.uses_known() { known } else { 0 };
        normals + known + self.synthetic_rows_at_most(normals)
    }

    /// An upper bound on the synthetic anomalies drawn for `normals` normal rows.
    pub fn synthetic_rows_at_most(&self, normals: usize) -> usize {
        if self.uses_synthetic() {
            (self.synthetic_ratio * normals as f64).ceil() as usize
        } else {
            0
        }
    }

    /// Whether the detector learns from the known anomalies.
    pub fn uses_known(&self) -> bool {
        self.mode.uses_known() && self.detector != DetectorKind::IForest
    }

    /// Whether synthetic anomalies are generated for the detector.
    pub fn uses_synthetic(&self) -> bool {
        self.mode.uses_synthetic() && self.detector != DetectorKind::IForest
    }

    /// Validates the parameters, naming the first that is out of range. Training takes only
    /// [`CheckedParams`], so unchecked parameters cannot reach it.
    pub fn check(self) -> Result<CheckedParams> {
        self.check_values()?;
        self.precision.check_supported()?;
        Ok(CheckedParams(self))
    }

    /// Every range, but not whether this CPU runs the precision: a model trained in bf16
    /// still loads and scores (in f32 products) elsewhere.
    pub(crate) fn check_values(&self) -> Result<()> {
        let fail = |name: &str, value: &dyn std::fmt::Display, expected: &str| {
            Err(Error::invalid(name, value, expected))
        };
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return fail(
                "hidden",
                &format!("{:?}", self.hidden),
                "at least one hidden layer width, all positive",
            );
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return fail("learning_rate", &self.learning_rate, "a positive number");
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return fail("weight_decay", &self.weight_decay, "a number ≥ 0");
        }
        if !(self.adam_epsilon > 0.0 && self.adam_epsilon.is_finite()) {
            return fail("adam_epsilon", &self.adam_epsilon, "a positive number");
        }
        if self.batch_size == 0 {
            return fail("batch_size", &0, "a positive number of rows");
        }
        if self.max_epochs == 0 {
            return fail("max_epochs", &0, "a positive number of epochs");
        }
        if !(0.0..=0.5).contains(&self.calibration_fraction) {
            return fail(
                "calibration_fraction",
                &self.calibration_fraction,
                "a share in [0, 0.5]",
            );
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return fail(
                "validation_fraction",
                &self.validation_fraction,
                "a share in (0, 1)",
            );
        }
        if !(self.synthetic_ratio >= 0.0 && self.synthetic_ratio.is_finite()) {
            return fail("synthetic_ratio", &self.synthetic_ratio, "a number ≥ 0");
        }
        if self.uses_synthetic() && !self.uses_known() && self.synthetic_ratio == 0.0 {
            return fail(
                "synthetic_ratio",
                &0,
                "a number > 0: unsupervised mode learns from synthetic anomalies only",
            );
        }
        if let Some(w) = self.known_weight.filter(|w| !(0.0..=1.0).contains(w)) {
            return fail("known_weight", &w, "a share in [0, 1]");
        }
        if !(self.margin >= 0.0 && self.margin.is_finite()) {
            return fail("margin", &self.margin, "a number ≥ 0");
        }
        if self.max_categories < 2 {
            return fail(
                "max_categories",
                &self.max_categories,
                "at least 2 (a kept category and \"other\")",
            );
        }
        if !(self.target_fpr > 0.0 && self.target_fpr < 1.0) {
            return fail("target_fpr", &self.target_fpr, "a rate in (0, 1)");
        }
        if self.deepsad.representation == 0 {
            return fail("deepsad.representation", &0, "a positive width");
        }
        if !(self.deepsad.eta > 0.0 && self.deepsad.eta.is_finite()) {
            return fail("deepsad.eta", &self.deepsad.eta, "a positive number");
        }
        let d = &self.drocc;
        if let Some(r) = d.radius.filter(|r| !(*r > 0.0 && r.is_finite())) {
            return fail("drocc.radius", &r, "a positive number");
        }
        if !(d.gamma >= 1.0 && d.gamma.is_finite()) {
            return fail(
                "drocc.gamma",
                &d.gamma,
                "a number ≥ 1 (the outer radius is γ·r)",
            );
        }
        if !(d.lambda >= 0.0 && d.lambda.is_finite()) {
            return fail("drocc.lambda", &d.lambda, "a number ≥ 0");
        }
        if !(d.step_fraction >= 0.0 && d.step_fraction.is_finite()) {
            return fail("drocc.step_fraction", &d.step_fraction, "a number ≥ 0");
        }
        let t = &self.trees;
        // Upper bounds on counts keep a typo from allocating until the process aborts.
        if !(1..=1_000_000).contains(&t.trees) {
            return fail("trees.trees", &t.trees, "1 to 1,000,000 trees");
        }
        if t.max_leaves < 2 {
            return fail("trees.max_leaves", &t.max_leaves, "at least 2 leaves");
        }
        if t.sample_size < 2 {
            return fail(
                "trees.sample_size",
                &t.sample_size,
                "a sample of at least 2 rows",
            );
        }
        let a = &self.auto;
        if !(2..=20).contains(&a.folds) {
            return fail("auto.folds", &a.folds, "2 to 20 folds");
        }
        if !(a.budget_seconds > 0.0 && a.budget_seconds.is_finite()) {
            return fail(
                "auto.budget_seconds",
                &a.budget_seconds,
                "a positive number of seconds",
            );
        }
        if a.candidates.is_empty() {
            return fail("auto.candidates", &"none", "at least one candidate");
        }
        for name in &a.candidates {
            super::auto::candidate(name, self)?;
        }
        Ok(())
    }
}

/// Parameters that passed [`TrainParams::check`]: the only kind training accepts (linfa's
/// checked-parameters pattern). Read them through `Deref`; change them by going back to
/// [`TrainParams`] with [`CheckedParams::into_inner`] and checking again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckedParams(TrainParams);

impl CheckedParams {
    pub fn into_inner(self) -> TrainParams {
        self.0
    }
}

impl std::ops::Deref for CheckedParams {
    type Target = TrainParams;
    fn deref(&self) -> &TrainParams {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_bad_values_are_named() {
        assert!(TrainParams::default().check().is_ok());
        let name_of = |params: TrainParams| match params.check() {
            Err(Error::InvalidParam { name, .. }) => name,
            other => panic!("expected an invalid parameter, got {other:?}"),
        };
        let hidden = TrainParams {
            hidden: vec![500, 0],
            ..Default::default()
        };
        assert_eq!(name_of(hidden), "hidden");
        let unsupervised = TrainParams {
            mode: Mode::Unsupervised,
            synthetic_ratio: 0.0,
            ..Default::default()
        };
        assert_eq!(name_of(unsupervised), "synthetic_ratio");
        let batch = TrainParams {
            batch_size: 0,
            ..Default::default()
        };
        assert_eq!(name_of(batch), "batch_size");
        let mut eta = TrainParams::default();
        eta.deepsad.eta = f64::NAN;
        assert_eq!(name_of(eta), "deepsad.eta");
    }
}
