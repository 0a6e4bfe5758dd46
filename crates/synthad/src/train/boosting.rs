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
fn column_major(x: &Matrix) -> Vec<f64> {
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
        let mut booster = GradientBooster::default()
            .set_iterations(t.trees)
            .set_learning_rate(params.learning_rate as f32)
            .set_max_leaves(t.max_leaves)
            .set_max_depth(usize::MAX)
            .set_evaluation_metric(Some(Metric::LogLoss))
            .set_early_stopping_rounds(Some(t.early_stopping_rounds))
            .set_num_threads(Some(rayon::current_num_threads()))
            .set_seed(params.seed);
        // Best-first growth to a leaf budget, as scikit-learn's HistGradientBoosting does.
        booster.grow_policy = GrowPolicy::LossGuide;
        let (train_x, val_x) = (column_major(&train.x), column_major(&validation.x));
        let (train_y, val_y) = (labels(train), labels(validation));
        let (train_w, val_w) = (weights(train), weights(validation));
        let evaluation = vec![(
            ColumnMatrix::new(&val_x, validation.len(), validation.x.cols),
            val_y.as_slice(),
            val_w.as_slice(),
        )];
        booster
            .fit(
                &ColumnMatrix::new(&train_x, train.len(), train.x.cols),
                &train_y,
                &train_w,
                Some(evaluation),
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
        // Prediction walks `nodes[child]` until a leaf: every child must lie after its parent
        // (no loops) and inside the tree, and every split read a feature the model has.
        for tree in &booster.trees {
            let nodes = &tree.nodes;
            let bad = nodes.is_empty()
                || nodes.iter().enumerate().any(|(i, n)| {
                    !n.is_leaf
                        && (n.split_feature >= state.features
                            || [n.left_child, n.right_child, n.missing_node]
                                .iter()
                                .any(|&c| c <= i || c >= nodes.len()))
                });
            if bad {
                return Err(Error::Training(
                    "boosted trees: a tree refers to nodes or features it lacks".into(),
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
        // Four normals at x = 0, four anomalies at x = 1. From log-odds 0 (p = ½), log-loss
        // gradients are p − y = ±½ and hessians p(1 − p) = ¼ per row; a split leaf of four
        // rows has G = ±2, H = 1, and value −G / (H + λ) with λ = 1 → ∓1, times the learning
        // rate 0.1: scores −0.1 and +0.1.
        let normal = Matrix::from_rows(1, vec![0.0; 4]);
        let anomalies = Matrix::from_rows(1, vec![1.0; 4]);
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
            let expected = if i < 4 { -0.1 } else { 0.1 };
            assert!((s - expected).abs() < 1e-6, "{scores:?}");
        }
    }
}
