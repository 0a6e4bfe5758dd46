//! Train: the detectors, each fitted to separate normals from anomalies (known and
//! synthetic), behind one `Model` enum.
//!
//! The neural detectors (the paper's classifier, DeepSAD, ABC, DROCC) share one loop
//! (`training_loop`): AdamW on a weighted per-row objective, minibatches in parallel shards,
//! early stopping on a validation loss with the best weights restored. Boosted trees and the
//! Isolation Forest fit in one call; `auto` cross-fits several of them and combines them into
//! an ensemble. [`TrainParams`] are checked into [`CheckedParams`] before anything trains.

mod auto;
pub(crate) mod bf16;
pub(crate) mod boosting;
pub(crate) mod choices;
pub(crate) mod data;
pub(crate) mod ensemble;
pub(crate) mod forest;
pub(crate) mod labeled_set;
pub(crate) mod linear;
mod model;
pub(crate) mod network;
pub(crate) mod neural;
pub(crate) mod objective;
mod optimizer;
mod params;
mod report;
mod training_loop;

use std::time::Instant;

use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use boosting::BoostedTrees;
use forest::IsolationForest;
use neural::NeuralModel;

pub(crate) use auto::fit_auto;
pub use choices::{DetectorKind, Loss, Mode, Precision};
pub use ensemble::{Candidate, Leaderboard};
pub(crate) use labeled_set::LabeledSet;
pub(crate) use model::{Model, ModelParts};
pub use params::{
    AutoParams, CheckedParams, DeepSadParams, DroccParams, Sampling, TrainParams, TreeParams,
};
pub use report::{EpochStats, TrainReport};

/// Spread below which validation scores count as one constant score.
const COLLAPSE_SPREAD: f32 = 1e-6;

/// Fits the model `params.detector` on `train`, validating on `validation` (empty where
/// validation does not pick the model: see [`TrainParams::selects_on_validation`]).
pub(crate) fn fit_model(
    train: &LabeledSet,
    validation: &LabeledSet,
    params: &CheckedParams,
    rng: &mut ChaCha8Rng,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<(Model, TrainReport)> {
    if train.is_empty() {
        return Err(Error::Training("the training set is empty".into()));
    }
    let started = Instant::now();
    let (model, mut report) = match params.detector {
        DetectorKind::Gbt => {
            let (model, rounds) = BoostedTrees::fit(train, validation, params)?;
            (
                Model::BoostedTrees(model),
                TrainReport::single_pass(rounds, train.len(), started),
            )
        }
        DetectorKind::Auto => {
            return Err(Error::Training(
                "auto chooses among fitted models and is fitted by Detector::fit".into(),
            ))
        }
        DetectorKind::IForest => {
            let normals = train.normals();
            let model = IsolationForest::fit(&normals, &params.trees, rng);
            (
                Model::IsolationForest(model),
                TrainReport::single_pass(params.trees.trees, normals.rows, started),
            )
        }
        _ => {
            let (model, report) = NeuralModel::fit(train, validation, params, rng, on_epoch)?;
            (Model::Neural(model), report)
        }
    };
    // A model that ranks nothing gives every row one score, seen or not.
    let checked = if validation.is_empty() {
        train
    } else {
        validation
    };
    let scores = model.scores(&checked.x)?;
    let (lo, hi) = scores
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    report.collapsed = hi - lo < COLLAPSE_SPREAD;
    Ok((model, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choice::Choice;
    use crate::prepare::Matrix;
    use candle_core::Tensor;
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
        let (model, report) = fit_model(
            &train,
            &train,
            &params.clone().check().unwrap(),
            &mut rng,
            &mut |_| {},
        )
        .unwrap();
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
        // Two anomalies that look exactly like the 200 normals: no split separates anything,
        // and every row gets the prior's score.
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let normal = Matrix::from_rows(2, vec![0.5; 400]);
        let known = Matrix::from_rows(2, vec![0.5, 0.5, 0.5, 0.5]);
        let set = LabeledSet::unweighted(&normal, &known, &Matrix::zeros(0, 2), None);
        let params = TrainParams::for_detector(DetectorKind::Gbt);
        let (_, report) = fit_model(
            &set,
            &set,
            &params.clone().check().unwrap(),
            &mut rng,
            &mut |_| {},
        )
        .unwrap();
        assert!(report.collapsed);
    }

    #[test]
    fn every_detector_separates_a_separable_problem_reproducibly() {
        // Normals near 0.2, anomalies near 0.8, in 2-D.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let normal = cloud(&mut rng, 200, 2, 0.2);
        let anomalies = cloud(&mut rng, 50, 2, 0.8);
        let empty = Matrix::zeros(0, 2);
        for &kind in DetectorKind::ALL
            .iter()
            .filter(|&&k| k != DetectorKind::Auto)
        {
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
                let (model, report) = fit_model(
                    &train,
                    &train,
                    &params.clone().check().unwrap(),
                    &mut rng,
                    &mut |_| {},
                )
                .unwrap();
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
        let (model, _) = fit_model(
            &train,
            &train,
            &params.clone().check().unwrap(),
            &mut rng,
            &mut |_| {},
        )
        .unwrap();
        let scores = model.scores(&train.x).unwrap();
        assert!(scores[..300].iter().all(|&s| s < 0.0) && scores[300..].iter().all(|&s| s > 0.0));
        // The stored state names the precision; the rebuilt model scores identically.
        let parts = model.parts().unwrap();
        assert_eq!(parts.state["precision"], "bf16");
        let tensors: std::collections::HashMap<String, Tensor> =
            parts.tensors.into_iter().collect();
        let source = |name: &str, _: &[usize]| Ok(tensors[name].clone());
        let mut state = parts.state;
        let rebuilt = Model::from_parts(DetectorKind::Classifier, state.clone(), &source).unwrap();
        assert_eq!(rebuilt.scores(&train.x).unwrap(), scores);
        // In f32 the same weights give nearly the same scores: bf16 rounds operands only.
        state["precision"] = "f32".into();
        let f32_model = Model::from_parts(DetectorKind::Classifier, state, &source).unwrap();
        let exact = f32_model.scores(&train.x).unwrap();
        let spread = scores.iter().cloned().fold(0.0f32, |m, s| m.max(s.abs()));
        for (a, b) in scores.iter().zip(&exact) {
            assert!((a - b).abs() < 0.02 * spread, "bf16 {a} vs f32 {b}");
        }
    }
}
