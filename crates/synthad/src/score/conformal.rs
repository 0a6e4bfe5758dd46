//! Split conformal p-values (Vovk et al. 2005; Bates et al. 2023, "Testing for outliers with
//! conformal p-values"): the scores of calibration normals — normal training rows that no part
//! of the fit saw — turn a score into the share of normals that score at least as high.
//!
//! Assumption: the calibration normals and the normal rows being scored are exchangeable
//! (drawn from the same distribution, e.g. the same period and source). Then for a normal row
//! P(p ≤ α) ≤ α for every α, whatever the detector: flagging p ≤ α keeps the false-positive
//! rate at most α, and Benjamini–Hochberg on a batch's p-values keeps the false-discovery rate
//! at most q (the p-values are positively dependent through the shared calibration set, where
//! BH still controls it, as Bates et al. prove).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The calibration normals' scores, sorted ascending.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Calibration {
    scores: Vec<f32>,
}

impl Calibration {
    /// From the calibration normals' scores (any order; non-finite ones are kept, a NaN score
    /// sorting above every other).
    pub fn new(mut scores: Vec<f32>) -> Calibration {
        scores.sort_by(f32::total_cmp);
        Calibration { scores }
    }

    /// A loaded model's calibration scores must be finite and sorted, as [`Calibration::new`]
    /// leaves a fitted model's.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        if self.scores.iter().any(|s| !s.is_finite()) {
            return Err("a calibration score is not finite".into());
        }
        if self.scores.windows(2).any(|w| w[0] > w[1]) {
            return Err("the calibration scores are not sorted".into());
        }
        Ok(())
    }

    /// The number of calibration normals.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// p(s) = (1 + #{calibration scores ≥ s}) / (n + 1): in [1/(n+1), 1], non-increasing in s.
    pub fn p_values(&self, scores: &[f32]) -> Result<Vec<f64>> {
        if self.scores.is_empty() {
            return Err(Error::invalid(
                "p-values",
                "requested",
                "a model with calibration normals: train it with --calibration-fraction above 0 (the default 0.1 holds out 10% of the normal rows)",
            ));
        }
        let n = self.scores.len();
        Ok(scores
            .iter()
            .map(|&s| {
                // Calibration scores below s: the first index whose score is ≥ s.
                let below = self.scores.partition_point(|&c| c.total_cmp(&s).is_lt());
                (1 + n - below) as f64 / (n + 1) as f64
            })
            .collect())
    }

    /// The smallest p-value any score can get, 1/(n+1): `fpr` below it flags nothing.
    pub fn smallest_p_value(&self) -> f64 {
        1.0 / (self.scores.len() + 1) as f64
    }
}

/// Benjamini–Hochberg at level `q`: flags the rows whose p-value is at most p₍ₖ₎, for the
/// largest k with p₍ₖ₎ ≤ k·q/m.
pub fn benjamini_hochberg(p_values: &[f64], q: f64) -> Vec<bool> {
    let m = p_values.len();
    let mut sorted: Vec<f64> = p_values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cut = (1..=m)
        .rev()
        .find(|&k| sorted[k - 1] <= k as f64 * q / m as f64)
        .map(|k| sorted[k - 1]);
    match cut {
        Some(cut) => p_values.iter().map(|&p| p <= cut).collect(),
        None => vec![false; m],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_count_calibration_scores_at_least_as_high() {
        let calibration = Calibration::new(vec![3.0, 1.0, 2.0, 2.0]);
        let p = calibration.p_values(&[0.5, 1.0, 2.0, 2.5, 9.0]).unwrap();
        // n = 4: (1 + #{c ≥ s}) / 5.
        assert_eq!(p, [1.0, 1.0, 0.8, 0.4, 0.2]);
        assert_eq!(calibration.smallest_p_value(), 0.2);
        // Bounds and monotonicity over many scores.
        let scores: Vec<f32> = (0..200).map(|i| i as f32 * 0.05 - 2.0).collect();
        let p = calibration.p_values(&scores).unwrap();
        assert!(p.iter().all(|&v| (0.2..=1.0).contains(&v)));
        assert!(p.windows(2).all(|w| w[1] <= w[0]));
        assert!(Calibration::default().p_values(&[1.0]).is_err());
    }

    #[test]
    fn a_normal_is_flagged_at_most_alpha_of_the_time() {
        // Exchangeable normals: the score of a new normal is equally likely to take any rank
        // among the n + 1; P(p ≤ α) = ⌊α(n+1)⌋ / (n+1) ≤ α, checked over every rank.
        let n = 99;
        let calibration = Calibration::new((0..n).map(|i| i as f32).collect());
        for alpha in [0.01, 0.05, 0.1, 0.37] {
            let ranks: Vec<f32> = (0..=n).map(|r| r as f32 - 0.5).collect();
            let p = calibration.p_values(&ranks).unwrap();
            let flagged = p.iter().filter(|&&v| v <= alpha).count() as f64 / (n + 1) as f64;
            assert!(flagged <= alpha + 1e-12, "α = {alpha}: {flagged}");
        }
    }

    #[test]
    fn benjamini_hochberg_steps_up() {
        // m = 5, q = 0.1: thresholds 0.02, 0.04, 0.06, 0.08, 0.1. p₍₃₎ = 0.05 ≤ 0.06 is the
        // largest passing, so the three smallest are flagged, though p₍₂₎ = 0.045 > 0.04.
        let p = [0.5, 0.01, 0.05, 0.045, 0.09];
        assert_eq!(
            benjamini_hochberg(&p, 0.1),
            [false, true, true, true, false]
        );
        assert_eq!(benjamini_hochberg(&[0.5, 0.9], 0.1), [false, false]);
    }
}
