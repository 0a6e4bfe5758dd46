//! A training or validation set as the objectives see it: encoded rows, targets and weights.

use crate::prepare::Matrix;

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

    /// How often each row is drawn when normals and anomalies are drawn equally often: each
    /// class sums to ½, its rows in proportion to their weights.
    pub fn balanced_draw_weights(&self) -> Vec<f64> {
        let class_total = |anomaly: bool| -> f64 {
            self.target
                .iter()
                .zip(&self.weight)
                .filter(|(&t, _)| (t > 0.0) == anomaly)
                .map(|(_, &w)| w as f64)
                .sum()
        };
        let (normals, anomalies) = (class_total(false), class_total(true));
        self.target
            .iter()
            .zip(&self.weight)
            .map(|(&t, &w)| {
                let total = if t > 0.0 { anomalies } else { normals };
                // A class without rows leaves all draws to the other.
                if total > 0.0 {
                    0.5 * w as f64 / total
                } else {
                    0.0
                }
            })
            .collect()
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
