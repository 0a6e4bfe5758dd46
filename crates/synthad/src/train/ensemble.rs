//! A weighted combination of fitted models — what `auto` returns. Each member's scores are
//! standardised against its own held-out normal rows (median and spread), so members on
//! different scales average meaningfully, and scoring one row needs no other rows.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::choices::DetectorKind;
use super::model::{Model, ModelParts, TensorSource};
use crate::choice::Choice;
use crate::error::{Error, Result};
use crate::prepare::Matrix;

#[derive(Debug, Clone)]
pub(crate) struct Ensemble {
    pub members: Vec<Member>,
    pub leaderboard: Leaderboard,
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The candidate it is a model of ("gbt", "deepsad+synthetic").
    pub name: String,
    pub model: Model,
    pub scale: Standardize,
    pub weight: f32,
}

/// (score − center) / spread, from a model's scores of normal rows it did not train on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Standardize {
    pub center: f32,
    pub spread: f32,
}

impl Standardize {
    /// The median, and the spread between the 10th and 90th percentile (the standard
    /// deviation, or 1, where those coincide).
    pub fn fit(normal_scores: &[f32]) -> Standardize {
        let mut sorted: Vec<f32> = normal_scores
            .iter()
            .copied()
            .filter(|s| s.is_finite())
            .collect();
        sorted.sort_by(f32::total_cmp);
        if sorted.is_empty() {
            return Standardize {
                center: 0.0,
                spread: 1.0,
            };
        }
        let at = |q: f64| {
            sorted[((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
        };
        let center = at(0.5);
        let mut spread = at(0.9) - at(0.1);
        if spread.partial_cmp(&1e-12) != Some(std::cmp::Ordering::Greater) {
            let n = sorted.len() as f32;
            let mean = sorted.iter().sum::<f32>() / n;
            spread = (sorted.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / n).sqrt();
        }
        if !(spread > 1e-12 && spread.is_finite()) {
            spread = 1.0;
        }
        Standardize { center, spread }
    }

    pub fn apply(&self, scores: &mut [f32]) {
        for s in scores {
            *s = (*s - self.center) / self.spread;
        }
    }
}

/// What `auto` tried and chose: the candidates with their internal estimates, in the order
/// they were fitted, and the combination's estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    pub candidates: Vec<Candidate>,
    /// Cross-fitting folds: every candidate was fitted this many times, each time scoring
    /// the rows it did not see.
    pub folds: usize,
    /// How the weights were chosen.
    pub rule: String,
    /// The chosen combination's estimate, on the same rows as the candidates'.
    pub estimate: Option<f64>,
    /// Seconds the search took, measured at the fit and never stored: a model file is a pure
    /// function of data, parameters and seed (`None` once loaded).
    #[serde(skip)]
    pub seconds: Option<f64>,
    pub budget_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub name: String,
    /// "fitted", or why not: "skipped: the time budget ran out".
    pub status: String,
    /// AUPR of held-out known anomalies against held-out normals.
    pub seen_aupr: Option<f64>,
    /// AUPR of held-out synthetic anomalies of each shape against held-out normals.
    pub shapes_aupr: Vec<(String, f64)>,
    /// The criterion the selection maximises: ¾ of the seen AUPR (where there are known
    /// anomalies) and ¼ of the mean AUPR over shapes.
    pub estimate: Option<f64>,
    /// Seconds its folds took; like [`Leaderboard::seconds`], not stored.
    #[serde(skip)]
    pub seconds: Option<f64>,
    /// Its share of the combination.
    pub weight: f64,
}

#[derive(Serialize, Deserialize)]
struct MemberState {
    name: String,
    kind: DetectorKind,
    state: serde_json::Value,
    scale: Standardize,
    weight: f32,
}

#[derive(Serialize, Deserialize)]
struct EnsembleState {
    members: Vec<MemberState>,
    leaderboard: Leaderboard,
}

impl Ensemble {
    pub fn inputs(&self) -> usize {
        self.members.first().map_or(0, |m| m.model.inputs())
    }

    /// The weighted mean of the members' standardised scores.
    pub fn scores(&self, x: &Matrix) -> Result<Vec<f32>> {
        let total: f32 = self.members.iter().map(|m| m.weight).sum();
        let mut out = vec![0.0f32; x.rows];
        for member in &self.members {
            let mut scores = member.model.scores(x)?;
            member.scale.apply(&mut scores);
            for (o, s) in out.iter_mut().zip(scores) {
                *o += member.weight / total * s;
            }
        }
        Ok(out)
    }

    pub fn parts(&self) -> Result<ModelParts> {
        let mut tensors = Vec::new();
        let mut members = Vec::new();
        for (i, member) in self.members.iter().enumerate() {
            let parts = member.model.parts()?;
            tensors.extend(
                parts
                    .tensors
                    .into_iter()
                    .map(|(name, t)| (format!("members.{i}.{name}"), t)),
            );
            members.push(MemberState {
                name: member.name.clone(),
                kind: member.model.kind(),
                state: parts.state,
                scale: member.scale,
                weight: member.weight,
            });
        }
        let state = EnsembleState {
            members,
            leaderboard: self.leaderboard.clone(),
        };
        Ok(ModelParts {
            tensors,
            state: serde_json::to_value(state).expect("the ensemble state serializes"),
        })
    }

    pub fn from_parts(state: serde_json::Value, tensor: &TensorSource) -> Result<Ensemble> {
        let state: EnsembleState =
            serde_json::from_value(state).map_err(|e| Error::Training(format!("ensemble: {e}")))?;
        if state.members.is_empty() {
            return Err(Error::Training("ensemble: no members".into()));
        }
        let mut members = Vec::with_capacity(state.members.len());
        for (i, m) in state.members.into_iter().enumerate() {
            if m.kind == DetectorKind::Auto {
                return Err(Error::Training("ensemble: a member is an ensemble".into()));
            }
            let positive = |v: f32| v.is_finite() && v > 0.0;
            if !(positive(m.weight) && positive(m.scale.spread) && m.scale.center.is_finite()) {
                return Err(Error::Training(format!(
                    "ensemble: member {i} has a weight or scale that is not finite and positive"
                )));
            }
            let prefix = format!("members.{i}.");
            let source = |name: &str, shape: &[usize]| -> Result<Tensor> {
                tensor(&format!("{prefix}{name}"), shape)
            };
            let model = Model::from_parts(m.kind, m.state, &source).map_err(|e| {
                Error::Training(format!("ensemble member {i} ({}): {e}", m.kind.name()))
            })?;
            members.push(Member {
                name: m.name,
                model,
                scale: m.scale,
                weight: m.weight,
            });
        }
        let inputs = members[0].model.inputs();
        if members.iter().any(|m| m.model.inputs() != inputs) {
            return Err(Error::Training(
                "ensemble: members take different numbers of features".into(),
            ));
        }
        Ok(Ensemble {
            members,
            leaderboard: state.leaderboard,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardizing_centers_on_the_median_and_scales_by_the_central_spread() {
        let normals: Vec<f32> = (0..=100).map(|i| i as f32).collect();
        let s = Standardize::fit(&normals);
        assert_eq!((s.center, s.spread), (50.0, 80.0));
        let mut scores = vec![50.0, 130.0];
        s.apply(&mut scores);
        assert_eq!(scores, [0.0, 1.0]);
        // Constant scores fall back to a unit spread, and never divide by zero.
        let flat = Standardize::fit(&[3.0; 10]);
        assert_eq!((flat.center, flat.spread), (3.0, 1.0));
    }
}
