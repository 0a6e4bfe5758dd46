//! Gradient-boosted trees (forust-ml) on normals (0) vs anomalies (1): the strong practical
//! baseline for tabular data. The score is the predicted log-odds of "anomaly".

use std::sync::Arc;

use forust_ml::gradientbooster::GrowPolicy;
use forust_ml::metric::Metric;
use forust_ml::{GradientBooster, Matrix as ColumnMatrix};

use serde::{Deserialize, Serialize};

use super::{DetectorKind, LabeledSet, ModelParts, TrainParams};
use crate::error::{Error, Result};
use crate::prepare::Matrix;

#[derive(Clone)]
pub struct BoostedTrees {
    features: usize,
    /// Shared: forust's booster is not `Clone`, and a fitted one never changes.
    booster: Arc<GradientBooster>,
}

impl std::fmt::Debug for BoostedTrees {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoostedTrees")
            .field("trees", &self.booster.trees.len())
            .finish()
    }
}

/// What the model file stores: forust's own JSON of the booster, as a string.
#[derive(Serialize, Deserialize)]
struct BoostedState {
    features: usize,
    booster: String,
}

/// A row-major f32 matrix as the column-major f64 values forust reads.
pub(crate) fn column_major(x: &Matrix) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.rows * x.cols);
    for c in 0..x.cols {
        out.extend((0..x.rows).map(|r| x.data[r * x.cols + c] as f64));
    }
    out
}

fn labels(set: &LabeledSet) -> Vec<f64> {
    set.target.iter().map(|&t| f64::from(t > 0.0)).collect()
}

fn weights(set: &LabeledSet) -> Vec<f64> {
    set.weight.iter().map(|&w| w as f64).collect()
}

/// Whether boosting on this many rows stops early on the validation rows: scikit-learn's
/// "auto", past 10,000 rows. Below that every round is kept and no row needs holding out.
pub(crate) fn early_stops(rows: usize) -> bool {
    rows > 10_000
}

/// scikit-learn's leaves hold at least 20 rows (and a hessian of 1e-3); forust bounds the
/// hessian alone, so the bound is 20 rows' hessian at the start, p(1 − p) each for the
/// weighted share p of anomalies.
fn min_leaf_hessian(train: &LabeledSet) -> f32 {
    const MIN_ROWS: f64 = 20.0;
    let total: f64 = train.weight.iter().map(|&w| w as f64).sum();
    let anomalies: f64 = train
        .target
        .iter()
        .zip(&train.weight)
        .filter(|(&t, _)| t > 0.0)
        .map(|(_, &w)| w as f64)
        .sum();
    let p = anomalies / total.max(f64::MIN_POSITIVE);
    (MIN_ROWS * p * (1.0 - p)).max(1e-3) as f32
}

impl BoostedTrees {
    /// Boosts up to `params.trees.trees` rounds, stopping when the validation log-loss has not
    /// improved for `early_stopping_rounds`; returns the model and the rounds it kept.
    pub fn fit(
        train: &LabeledSet,
        validation: &LabeledSet,
        params: &TrainParams,
    ) -> Result<(BoostedTrees, usize)> {
        let fail = |e: forust_ml::errors::ForustError| Error::Training(format!("boosting: {e}"));
        // forust reads f64 columns and bins them: about 10 bytes per value, twice over.
        crate::memory::ensure_fits(
            crate::memory::product(&[train.len() + validation.len(), train.x.cols, 20]),
            "boosting on these rows",
            "train on a sample of the rows or lower --max-categories",
        )?;
        let t = &params.trees;
        // scikit-learn's HistGradientBoostingClassifier: no L2 on the leaf values, a minimum
        // leaf hessian of 1e-3 (forust's default of 1 stops small sets from ever splitting),
        // and early stopping only past 10,000 rows ("auto"): the caller holds validation rows
        // out exactly then (`TrainParams::selects_on_validation`).
        let early_stopping = !validation.is_empty();
        let mut booster = GradientBooster::default()
            .set_iterations(t.trees)
            .set_learning_rate(params.learning_rate as f32)
            .set_max_leaves(t.max_leaves)
            .set_max_depth(usize::MAX)
            .set_l2(0.0)
            .set_min_leaf_weight(min_leaf_hessian(train))
            .set_evaluation_metric(early_stopping.then_some(Metric::LogLoss))
            .set_early_stopping_rounds(early_stopping.then_some(t.early_stopping_rounds))
            // The current thread pool, not a count stored in the model: a model file must
            // not depend on the machine that wrote it.
            .set_num_threads(None)
            .set_seed(params.seed);
        // Best-first growth to a leaf budget, as scikit-learn's HistGradientBoosting does.
        booster.grow_policy = GrowPolicy::LossGuide;
        let (train_x, val_x) = (column_major(&train.x), column_major(&validation.x));
        let (train_y, val_y) = (labels(train), labels(validation));
        let (train_w, val_w) = (weights(train), weights(validation));
        // One class only (normals and no anomalies, say in one of auto's folds): forust's
        // starting log-odds would be infinite. Start just short of certainty instead, so every
        // score is finite and equal.
        let weighted = |y: f64| {
            train_y
                .iter()
                .zip(&train_w)
                .map(|(&t, &w)| if t == y { w } else { 0.0 })
                .sum::<f64>()
        };
        let (positive, negative) = (weighted(1.0), weighted(0.0));
        if positive == 0.0 || negative == 0.0 {
            let p =
                (positive / (positive + negative).max(f64::MIN_POSITIVE)).clamp(1e-6, 1.0 - 1e-6);
            booster = booster
                .set_base_score((p / (1.0 - p)).ln())
                .set_initialize_base_score(false);
        }
        let evaluation = early_stopping.then(|| {
            vec![(
                ColumnMatrix::new(&val_x, validation.len(), validation.x.cols),
                val_y.as_slice(),
                val_w.as_slice(),
            )]
        });
        booster
            .fit(
                &ColumnMatrix::new(&train_x, train.len(), train.x.cols),
                &train_y,
                &train_w,
                evaluation,
            )
            .map_err(fail)?;
        let rounds = booster.prediction_iteration.unwrap_or(booster.trees.len());
        let features = train.x.cols;
        Ok((
            BoostedTrees {
                features,
                booster: Arc::new(booster),
            },
            rounds,
        ))
    }

    pub(crate) fn from_state(state: serde_json::Value) -> Result<BoostedTrees> {
        let state: BoostedState = serde_json::from_value(state)
            .map_err(|e| Error::Training(format!("boosted trees: {e}")))?;
        let booster = GradientBooster::from_json(&state.booster)
            .map_err(|e| Error::Training(format!("boosted trees: {e}")))?;
        // Prediction uses the first `prediction_iteration` trees (fuzzing found a file asking
        // for more trees than it holds).
        let rounds = booster.trees.len();
        if [booster.prediction_iteration, booster.best_iteration]
            .iter()
            .any(|i| i.is_some_and(|i| i > rounds))
        {
            return Err(Error::Training(format!(
                "boosted trees: the model asks for more boosting rounds than its {rounds} trees"
            )));
        }
        if !booster.base_score.is_finite() {
            return Err(Error::Training(format!(
                "boosted trees: the base score is {}",
                booster.base_score
            )));
        }
        // Prediction walks `nodes[child]` until a leaf: every child must lie after its parent
        // (no loops) and inside the tree, every split read a feature the model has, and every
        // value be a number (a NaN split sends every row one way; an infinite leaf is an
        // infinite score).
        for tree in &booster.trees {
            let nodes = &tree.nodes;
            let bad = nodes.is_empty()
                || nodes.iter().enumerate().any(|(i, n)| {
                    !n.weight_value.is_finite()
                        || !n.is_leaf
                            && (n.split_value.is_nan()
                                || n.split_feature >= state.features
                                || [n.left_child, n.right_child, n.missing_node]
                                    .iter()
                                    .any(|&c| c <= i || c >= nodes.len()))
                });
            if bad {
                return Err(Error::Training(
                    "boosted trees: a tree refers to nodes or features it lacks, or holds a value that is not a number".into(),
                ));
            }
        }
        Ok(BoostedTrees {
            features: state.features,
            booster: Arc::new(booster),
        })
    }
}

/// The methods [`super::Model`] dispatches to.
impl BoostedTrees {
    pub(crate) fn kind(&self) -> DetectorKind {
        DetectorKind::Gbt
    }

    pub(crate) fn inputs(&self) -> usize {
        self.features
    }

    /// The fitted booster, for export.
    pub(crate) fn booster(&self) -> &GradientBooster {
        &self.booster
    }

    pub(crate) fn scores(&self, x: &Matrix) -> Result<Vec<f32>> {
        let values = column_major(x);
        let log_odds = self
            .booster
            .predict(&ColumnMatrix::new(&values, x.rows, x.cols), true);
        Ok(log_odds.into_iter().map(|v| v as f32).collect())
    }

    pub(crate) fn parts(&self) -> Result<ModelParts> {
        let json = self
            .booster
            .json_dump()
            .map_err(|e| Error::Training(format!("boosted trees: {e}")))?;
        let state = BoostedState {
            features: self.features,
            booster: json,
        };
        Ok(ModelParts {
            tensors: Vec::new(),
            state: serde_json::to_value(state).expect("the booster state serializes"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::TreeParams;

    #[test]
    fn one_round_gives_the_newton_leaf_values() {
        // 40 normals at x = 0, 40 anomalies at x = 1. From log-odds 0 (p = ½), log-loss
        // gradients are p − y = ±½ and hessians p(1 − p) = ¼ per row; each leaf holds 40 rows
        // (H = 10, above the minimum of 20 rows' hessian, 5), G = ±20, and value −G / H = ∓2
        // with scikit-learn's λ = 0, times the learning rate 0.1: scores −0.2 and +0.2.
        let normal = Matrix::from_rows(1, vec![0.0; 40]);
        let anomalies = Matrix::from_rows(1, vec![1.0; 40]);
        let set = LabeledSet::unweighted(&normal, &anomalies, &Matrix::zeros(0, 1), None);
        let params = TrainParams {
            learning_rate: 0.1,
            trees: TreeParams {
                trees: 1,
                ..Default::default()
            },
            ..TrainParams::for_detector(DetectorKind::Gbt)
        };
        let (model, rounds) = BoostedTrees::fit(&set, &set, &params).unwrap();
        assert_eq!(rounds, 1);
        let scores = model.scores(&set.x).unwrap();
        for (i, s) in scores.iter().enumerate() {
            let expected = if i < 40 { -0.2 } else { 0.2 };
            assert!((s - expected).abs() < 1e-6, "{scores:?}");
        }
        // Four rows a side are under 20 rows' hessian: no split, every score the prior's.
        let small = LabeledSet::unweighted(
            &Matrix::from_rows(1, vec![0.0; 4]),
            &Matrix::from_rows(1, vec![1.0; 4]),
            &Matrix::zeros(0, 1),
            None,
        );
        let (model, _) = BoostedTrees::fit(&small, &small, &params).unwrap();
        let scores = model.scores(&small.x).unwrap();
        assert!(scores.iter().all(|&s| s == scores[0]), "{scores:?}");
    }
}
