//! Explain: which input columns push a row's score up, per row — contributions that add up to
//! the score minus a baseline score, per model:
//!
//! - networks (classifier, DeepSAD, ABC, DROCC): integrated gradients (Sundararajan et al.
//!   2017) along the straight line from a typical normal row — the calibration normal of
//!   median score, a real row, so its one-hot groups are real categories (a model without
//!   calibration normals falls back to the training mean row). Chosen over
//!   DeepLIFT because it needs only the network's input gradient, which every objective here
//!   has, and satisfies completeness (Σ = f(x) − f(baseline)) up to the integral's
//!   discretisation ([`IG_STEPS`] midpoints; the residual is reported);
//! - boosted trees: TreeSHAP (Lundberg et al. 2020), exact Shapley values of the log-odds
//!   (forust's implementation); the baseline is the expected score over the training rows;
//! - Isolation Forest: path-length attribution. Each tree is read as a regression tree of path
//!   length: a node's value is the mean path length of the training rows below it, and each
//!   split on x's path credits its feature with the change in value from parent to child
//!   (Saabas' decomposition for trees). The credits add up exactly to x's path length minus the
//!   average, and are mapped through the score's monotone transform by its secant, so they add
//!   up to the score minus the score of an average path: features whose splits isolate x early
//!   get the credit;
//! - `auto`'s ensembles: each member's contributions, weighted and standardised as its score.
//!
//! One-hot groups are folded back into their input column.

use candle_core::{Device, Var};
use forust_ml::gradientbooster::ContributionsMethod;
use forust_ml::Matrix as ColumnMatrix;

use crate::detector::Detector;
use crate::error::Result;
use crate::ingest::Table;
use crate::prepare::{Encoding, Matrix, Preprocessor};
use crate::train::boosting::BoostedTrees;
use crate::train::ensemble::Ensemble;
use crate::train::forest::{self, IsolationForest};
use crate::train::network::Record;
use crate::train::neural::NeuralModel;
use crate::train::Model;

/// Midpoints of the straight path integrated gradients average over.
pub const IG_STEPS: usize = 64;

/// Contributions of each input column to each row's score.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The input columns, as the model names them.
    pub columns: Vec<String>,
    /// rows × columns: how much each column moves the row's score from the baseline.
    pub contributions: Matrix,
    /// Each row's score.
    pub scores: Vec<f32>,
    /// The score the contributions start from (per row: the same for every row of a model).
    pub baseline: Vec<f32>,
    /// The method, for reports: "integrated gradients", "TreeSHAP", ...
    pub method: String,
}

impl Explanation {
    /// Row `r`'s columns by contribution, largest first: (column index, contribution).
    pub fn ranked(&self, r: usize) -> Vec<(usize, f32)> {
        let mut ranked: Vec<(usize, f32)> = self
            .contributions
            .row(r)
            .iter()
            .copied()
            .enumerate()
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
    }

    /// score − baseline − Σ contributions: zero where the method is exact.
    pub fn residual(&self, r: usize) -> f32 {
        self.scores[r] - self.baseline[r] - self.contributions.row(r).iter().sum::<f32>()
    }
}

/// Encoded-feature attributions of one model: rows × features, and the baseline score.
struct Attribution {
    features: Matrix,
    baseline: f32,
}

impl Detector {
    /// Per-row contributions of every input column to the score (see the module's
    /// documentation for the method per detector).
    pub fn explain(&self, table: &Table) -> Result<Explanation> {
        let x = self.preprocessor.transform(table)?;
        let scores = self.model.scores(&x)?;
        let baseline = if self.typical_normal.is_empty() {
            training_mean_row(&self.preprocessor)
        } else {
            self.typical_normal.clone()
        };
        let attribution = attribute(&self.model, &x, &baseline)?;
        let contributions = fold(&self.preprocessor, &attribution.features);
        Ok(Explanation {
            columns: self
                .preprocessor
                .columns
                .iter()
                .map(|c| c.name.clone())
                .collect(),
            contributions,
            baseline: vec![attribution.baseline; scores.len()],
            scores,
            method: method_name(&self.model).into(),
        })
    }
}

fn method_name(model: &Model) -> &'static str {
    match model {
        Model::Neural(_) => "integrated gradients from a typical normal row",
        Model::BoostedTrees(_) => "TreeSHAP",
        Model::IsolationForest(_) => "path-length attribution",
        Model::Ensemble(_) => "its members' attributions, weighted",
    }
}

/// The encoded training mean: each scaled column at its mean, each one-hot group at its
/// training frequencies — what a row of missing values encodes to; the baseline of models
/// without calibration normals.
fn training_mean_row(preprocessor: &Preprocessor) -> Vec<f32> {
    let mut row = Vec::with_capacity(preprocessor.n_features());
    for column in &preprocessor.columns {
        match &column.encoding {
            Encoding::MinMax { min, max, mean } => {
                let range = if max > min { max - min } else { 1.0 };
                row.push(((mean - min) / range) as f32);
            }
            Encoding::OneHot {
                frequencies, other, ..
            } => row.extend(frequencies.iter().chain(other).map(|&f| f as f32)),
        }
    }
    row
}

/// Sums each input column's encoded features: rows × input columns.
fn fold(preprocessor: &Preprocessor, features: &Matrix) -> Matrix {
    let widths: Vec<usize> = preprocessor
        .columns
        .iter()
        .map(|c| c.encoding.width())
        .collect();
    let mut out = Matrix::zeros(features.rows, widths.len());
    for r in 0..features.rows {
        let mut offset = 0;
        let row = features.row(r);
        for (c, &w) in widths.iter().enumerate() {
            out.row_mut(r)[c] = row[offset..offset + w].iter().sum();
            offset += w;
        }
    }
    out
}

fn attribute(model: &Model, x: &Matrix, baseline: &[f32]) -> Result<Attribution> {
    match model {
        Model::Neural(m) => integrated_gradients(m, x, baseline),
        Model::BoostedTrees(m) => Ok(tree_shap(m, x)),
        Model::IsolationForest(m) => Ok(path_length_attribution(m, x)),
        Model::Ensemble(e) => ensemble_attribution(e, x, baseline),
    }
}

fn integrated_gradients(m: &NeuralModel, x: &Matrix, baseline: &[f32]) -> Result<Attribution> {
    let d = x.cols;
    let base = Matrix::from_rows(d, baseline.to_vec());
    let baseline_score = m.scores(&base)?[0];
    let mut out = Matrix::zeros(x.rows, d);
    // Rows per backward pass: with IG_STEPS points each, about 4,096 points at a time.
    let chunk = (4096 / IG_STEPS).max(1);
    for start in (0..x.rows).step_by(chunk) {
        let rows = chunk.min(x.rows - start);
        let mut points = Vec::with_capacity(rows * IG_STEPS * d);
        for r in start..start + rows {
            let row = x.row(r);
            for k in 0..IG_STEPS {
                let alpha = (k as f32 + 0.5) / IG_STEPS as f32;
                points.extend(baseline.iter().zip(row).map(|(&b, &v)| b + alpha * (v - b)));
            }
        }
        let input = Var::from_vec(points, (rows * IG_STEPS, d), &Device::Cpu)?;
        let scores = m
            .objective
            .score(&m.network, input.as_tensor(), Record::Input)?;
        let grads = scores.sum_all()?.backward()?;
        let gradient: Vec<f32> = match grads.get(&input) {
            Some(g) => g.flatten_all()?.to_vec1()?,
            None => vec![0.0; rows * IG_STEPS * d],
        };
        for (i, r) in (start..start + rows).enumerate() {
            let row = x.row(r).to_vec();
            let target = out.row_mut(r);
            for k in 0..IG_STEPS {
                let g = &gradient[(i * IG_STEPS + k) * d..(i * IG_STEPS + k + 1) * d];
                for (t, &gj) in target.iter_mut().zip(g) {
                    *t += gj;
                }
            }
            for ((t, &v), &b) in target.iter_mut().zip(&row).zip(baseline) {
                *t *= (v - b) / IG_STEPS as f32;
            }
        }
    }
    Ok(Attribution {
        features: out,
        baseline: baseline_score,
    })
}

fn tree_shap(m: &BoostedTrees, x: &Matrix) -> Attribution {
    let values = crate::train::boosting::column_major(x);
    let contributions = m.booster().predict_contributions(
        &ColumnMatrix::new(&values, x.rows, x.cols),
        ContributionsMethod::Shapley,
        true,
    );
    // rows × (features + 1), the expected value last: the same for every row.
    let width = x.cols + 1;
    let baseline = contributions.get(x.cols).copied().unwrap_or(0.0) as f32;
    let mut features = Matrix::zeros(x.rows, x.cols);
    for r in 0..x.rows {
        for (f, &v) in features
            .row_mut(r)
            .iter_mut()
            .zip(&contributions[r * width..r * width + x.cols])
        {
            *f = v as f32;
        }
    }
    Attribution { features, baseline }
}

fn path_length_attribution(m: &IsolationForest, x: &Matrix) -> Attribution {
    let trees = m.trees.len().max(1) as f64;
    let norm = forest::average_path_length(m.sample_size).max(f64::MIN_POSITIVE);
    let score = |h: f64| 2f64.powf(-h / norm);
    // Each node's value: the mean path length of the training rows below it.
    let values: Vec<Vec<f64>> = m.trees.iter().map(|t| node_values(t)).collect();
    let average = values.iter().map(|v| v[0]).sum::<f64>() / trees;
    let mut features = Matrix::zeros(x.rows, x.cols);
    for r in 0..x.rows {
        let row = x.row(r);
        let mut credit = vec![0.0f64; x.cols];
        let mut length = 0.0;
        for (tree, value) in m.trees.iter().zip(&values) {
            let mut node = 0usize;
            while let forest::Node::Split {
                feature,
                threshold,
                left,
                right,
            } = tree[node]
            {
                let child = if row[feature as usize] < threshold {
                    left
                } else {
                    right
                } as usize;
                credit[feature as usize] += (value[child] - value[node]) / trees;
                node = child;
            }
            length += value[node] / trees;
        }
        // Path length → score by the secant of 2^(−h/c) between the average and this row.
        let delta = length - average;
        let slope = if delta.abs() > 1e-12 {
            (score(length) - score(average)) / delta
        } else {
            -std::f64::consts::LN_2 / norm * score(average)
        };
        for (f, c) in features.row_mut(r).iter_mut().zip(&credit) {
            *f = (slope * c) as f32;
        }
    }
    Attribution {
        features,
        baseline: score(average) as f32,
    }
}

/// Mean path length (depth + c(leaf size)) of the training rows below each node, leaves
/// weighted by their size; children come after their parent, so one backward pass fills it.
fn node_values(tree: &[forest::Node]) -> Vec<f64> {
    let depth = forest::node_depths(tree);
    let mut total = vec![0.0f64; tree.len()];
    let mut size = vec![0.0f64; tree.len()];
    for i in (0..tree.len()).rev() {
        match tree[i] {
            forest::Node::Leaf { size: n } => {
                let n = n as f64;
                size[i] = n;
                total[i] = n * (depth[i] as f64 + forest::average_path_length(n as usize));
            }
            forest::Node::Split { left, right, .. } => {
                size[i] = size[left as usize] + size[right as usize];
                total[i] = total[left as usize] + total[right as usize];
            }
        }
    }
    total
        .iter()
        .zip(&size)
        .zip(&depth)
        .map(|((&t, &n), &d)| if n > 0.0 { t / n } else { d as f64 })
        .collect()
}

fn ensemble_attribution(e: &Ensemble, x: &Matrix, baseline_row: &[f32]) -> Result<Attribution> {
    let total: f32 = e.members.iter().map(|m| m.weight).sum();
    let mut features = Matrix::zeros(x.rows, x.cols);
    let mut baseline = 0.0f32;
    for member in &e.members {
        let a = attribute(&member.model, x, baseline_row)?;
        let share = member.weight / total / member.scale.spread;
        for (f, v) in features.data.iter_mut().zip(&a.features.data) {
            *f += share * v;
        }
        baseline +=
            member.weight / total * (a.baseline - member.scale.center) / member.scale.spread;
    }
    Ok(Attribution { features, baseline })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{RawColumn, RawTable, TrainingSet};
    use crate::train::{DetectorKind, TrainParams};

    /// Normal rows: a uniform in [0, 1], b uniform, c a category; anomalies: a far out.
    fn data() -> (RawTable, Vec<Option<String>>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let n = 400;
        let known = |i: usize| i.is_multiple_of(40);
        let a = (0..n)
            .map(|i| {
                Some(if known(i) {
                    4.0
                } else {
                    rng.random_range(0.0..1.0)
                })
            })
            .collect();
        let b = (0..n).map(|_| Some(rng.random_range(0.0..1.0))).collect();
        let c = (0..n)
            .map(|i| Some(["x", "y", "z"][i % 3].to_string()))
            .collect();
        let raw = RawTable::from_columns(
            "t",
            vec!["a".into(), "b".into(), "c".into()],
            vec![RawColumn::Float(a), RawColumn::Float(b), RawColumn::Text(c)],
        )
        .unwrap();
        let kinds = (0..n)
            .map(|i| known(i).then(|| "far".to_string()))
            .collect();
        (raw, kinds)
    }

    fn explained(detector: DetectorKind) -> (Explanation, Vec<bool>) {
        let (raw, kinds) = data();
        let set =
            TrainingSet::from_raw(&raw, &kinds, &Default::default(), &Default::default()).unwrap();
        let params = TrainParams {
            hidden: vec![64],
            ..TrainParams::for_detector(detector)
        }
        .check()
        .unwrap();
        let (model, _) = Detector::fit(&set, &params).unwrap();
        let table = model
            .file_schema()
            .unwrap()
            .table_from(&raw, false)
            .unwrap();
        let anomalous = kinds.iter().map(Option::is_some).collect();
        (model.explain(&table).unwrap(), anomalous)
    }

    #[test]
    fn contributions_add_up_to_score_minus_baseline_where_exact() {
        for detector in [DetectorKind::Gbt, DetectorKind::IForest] {
            let (e, _) = explained(detector);
            assert_eq!(e.columns, ["a", "b", "c"]);
            for r in 0..e.scores.len() {
                let scale = 1e-4 * (1.0 + e.scores[r].abs());
                assert!(
                    e.residual(r).abs() < scale,
                    "{detector:?} row {r}: {}",
                    e.residual(r)
                );
            }
        }
    }

    #[test]
    fn integrated_gradients_add_up_within_the_discretisation() {
        for detector in [
            DetectorKind::Classifier,
            DetectorKind::DeepSad,
            DetectorKind::Abc,
        ] {
            // Within 1% of the largest score − baseline: the midpoint rule is exact on each
            // linear piece of a ReLU network, and off only where the path crosses a kink.
            let (e, _) = explained(detector);
            let range = (0..e.scores.len())
                .map(|r| (e.scores[r] - e.baseline[r]).abs())
                .fold(0.0f32, f32::max);
            for r in 0..e.scores.len() {
                assert!(
                    e.residual(r).abs() <= 0.01 * range,
                    "{detector:?} row {r}: residual {} of a range {range}",
                    e.residual(r)
                );
            }
        }
    }

    #[test]
    fn the_shifted_column_explains_the_anomalies() {
        for detector in [
            DetectorKind::Gbt,
            DetectorKind::IForest,
            DetectorKind::Classifier,
        ] {
            let (e, anomalous) = explained(detector);
            let rows: Vec<usize> = (0..e.scores.len()).filter(|&r| anomalous[r]).collect();
            let right = rows.iter().filter(|&&r| e.ranked(r)[0].0 == 0).count();
            assert!(
                right * 10 >= rows.len() * 9,
                "{detector:?}: {right} of {}",
                rows.len()
            );
        }
    }

    #[test]
    fn one_hot_groups_fold_into_their_column() {
        let (raw, kinds) = data();
        let set =
            TrainingSet::from_raw(&raw, &kinds, &Default::default(), &Default::default()).unwrap();
        let p = Preprocessor::fit(set.table(), &(0..400).collect::<Vec<_>>(), 100).unwrap();
        // a, b, c=x, c=y, c=z
        let features = Matrix::from_rows(5, vec![1.0, 2.0, 0.25, 0.5, 0.125]);
        assert_eq!(fold(&p, &features).row(0), [1.0, 2.0, 0.875]);
        let mean = training_mean_row(&p);
        assert_eq!(mean.len(), 5);
        assert!((mean[2..].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
