//! Synthesize: anomalies drawn where the training data are not.
//!
//! [`UniformBox`] is the paper's generator: uniform samples from the box that bounds the
//! (preprocessed) training data. Other generators implement [`AnomalyGenerator`].

pub mod shapes;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::prepare::{FeatureBlock, Matrix};

/// Draws synthetic anomalies in the encoded feature space.
pub trait AnomalyGenerator {
    fn n_features(&self) -> usize;
    fn generate(&self, count: usize, rng: &mut ChaCha8Rng) -> Matrix;
}

/// Uniform samples from the bounding box of the training data.
///
/// Continuous features are uniform on [min − m·r, max + m·r] (r the range, m the margin);
/// binary features Bernoulli(0.5); a one-hot group gets one uniformly chosen category. A feature
/// constant in training stays at its constant: its box is a point, and spreading it would make
/// synthetic anomalies trivially separable on a feature that carries no information.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UniformBox {
    lower: Vec<f32>,
    upper: Vec<f32>,
    blocks: Vec<Block>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Block {
    Continuous(usize),
    Binary(usize),
    OneHot { start: usize, len: usize },
}

impl From<FeatureBlock> for Block {
    fn from(block: FeatureBlock) -> Block {
        match block {
            FeatureBlock::Continuous(j) => Block::Continuous(j),
            FeatureBlock::Binary(j) => Block::Binary(j),
            FeatureBlock::OneHot { start, len } => Block::OneHot { start, len },
        }
    }
}

impl UniformBox {
    /// Fits the box to `data` (the encoded training rows).
    pub fn fit(data: &Matrix, layout: &[FeatureBlock], margin: f32) -> UniformBox {
        let mut lower = vec![f32::INFINITY; data.cols];
        let mut upper = vec![f32::NEG_INFINITY; data.cols];
        for r in 0..data.rows {
            for (j, &x) in data.row(r).iter().enumerate() {
                lower[j] = lower[j].min(x);
                upper[j] = upper[j].max(x);
            }
        }
        for (lo, hi) in lower.iter_mut().zip(upper.iter_mut()) {
            let widen = margin * (*hi - *lo);
            *lo -= widen;
            *hi += widen;
        }
        let blocks = layout.iter().map(|&b| Block::from(b)).collect();
        UniformBox {
            lower,
            upper,
            blocks,
        }
    }

    /// Checks a box read from a file against the preprocessor's layout.
    pub fn check(&self, layout: &[FeatureBlock]) -> std::result::Result<(), String> {
        let expected: Vec<Block> = layout.iter().map(|&b| Block::from(b)).collect();
        if self.blocks != expected || self.lower.len() != self.upper.len() {
            return Err("the synthetic-anomaly box does not match the features".into());
        }
        if self
            .lower
            .iter()
            .zip(&self.upper)
            .any(|(lo, hi)| !(lo.is_finite() && hi.is_finite() && lo <= hi))
        {
            return Err(
                "the synthetic-anomaly box has bounds that are not finite and ordered".into(),
            );
        }
        Ok(())
    }

    /// Whether a one-hot group varies in training: a group with one seen category is constant.
    fn varies(&self, start: usize, len: usize) -> bool {
        (start..start + len).any(|j| self.upper[j] > self.lower[j])
    }
}

impl AnomalyGenerator for UniformBox {
    fn n_features(&self) -> usize {
        self.lower.len()
    }

    fn generate(&self, count: usize, rng: &mut ChaCha8Rng) -> Matrix {
        let mut out = Matrix::zeros(count, self.n_features());
        for i in 0..count {
            let row = out.row_mut(i);
            for block in &self.blocks {
                match *block {
                    Block::Continuous(j) => {
                        let (lo, hi) = (self.lower[j], self.upper[j]);
                        row[j] = if hi > lo {
                            rng.random_range(lo..=hi)
                        } else {
                            lo
                        };
                    }
                    Block::Binary(j) => {
                        let (lo, hi) = (self.lower[j], self.upper[j]);
                        row[j] = if hi > lo {
                            if rng.random_bool(0.5) {
                                hi
                            } else {
                                lo
                            }
                        } else {
                            lo
                        };
                    }
                    Block::OneHot { start, len } => {
                        if self.varies(start, len) {
                            row[start + rng.random_range(0..len)] = 1.0;
                        } else {
                            // The one category seen (all-zero if training saw none).
                            row[start..start + len]
                                .copy_from_slice(&self.upper[start..start + len]);
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn samples_stay_in_the_box_and_constants_stay_constant() {
        // Features: continuous in [0, 2], constant 0.5, binary {0, 1}, one-hot of 3.
        let data = Matrix::from_rows(
            6,
            vec![
                0.0, 0.5, 0.0, 1.0, 0.0, 0.0, //
                2.0, 0.5, 1.0, 0.0, 1.0, 0.0,
            ],
        );
        let layout = [
            FeatureBlock::Continuous(0),
            FeatureBlock::Continuous(1),
            FeatureBlock::Binary(2),
            FeatureBlock::OneHot { start: 3, len: 3 },
        ];
        let generator = UniformBox::fit(&data, &layout, 0.0);
        let samples = generator.generate(2000, &mut ChaCha8Rng::seed_from_u64(7));
        let mut ones = 0;
        let mut third_category = 0;
        for r in 0..samples.rows {
            let x = samples.row(r);
            assert!((0.0..=2.0).contains(&x[0]));
            assert_eq!(x[1], 0.5);
            assert!(x[2] == 0.0 || x[2] == 1.0);
            ones += x[2] as usize;
            assert_eq!(x[3] + x[4] + x[5], 1.0);
            third_category += x[5] as usize;
        }
        assert!((900..1100).contains(&ones), "{ones}");
        // Every category of the group is drawn, also one never seen set in training.
        assert!((550..780).contains(&third_category), "{third_category}");
    }

    #[test]
    fn margin_widens_the_box() {
        let data = Matrix::from_rows(1, vec![0.0, 1.0]);
        let generator = UniformBox::fit(&data, &[FeatureBlock::Continuous(0)], 0.5);
        let s = generator.generate(500, &mut ChaCha8Rng::seed_from_u64(1));
        assert!(s.data.iter().any(|&x| x < -0.25) && s.data.iter().any(|&x| x > 1.25));
        assert!(s.data.iter().all(|&x| (-0.5..=1.5).contains(&x)));
    }
}
