//! A fitted detector's model, one variant per kind of algorithm (as Hugging Face tokenizers'
//! `ModelWrapper`): encoded rows in, anomaly scores out (higher = more anomalous).

use candle_core::Tensor;

use super::boosting::BoostedTrees;
use super::choices::{DetectorKind, Precision};
use super::ensemble::Ensemble;
use super::forest::IsolationForest;
use super::neural::NeuralModel;
use crate::choice::Choice;
use crate::error::{Error, Result};
use crate::prepare::Matrix;

#[derive(Debug, Clone)]
pub(crate) enum Model {
    /// The classifier, DeepSAD, ABC, DROCC: a network and its objective.
    Neural(NeuralModel),
    BoostedTrees(BoostedTrees),
    IsolationForest(IsolationForest),
    /// `auto`'s weighted combination of the others.
    Ensemble(Ensemble),
}

/// A model as stored: named tensors and JSON state.
pub(crate) struct ModelParts {
    pub tensors: Vec<(String, Tensor)>,
    pub state: serde_json::Value,
}

/// Fetches a stored tensor by name, checking its shape.
pub(crate) type TensorSource<'a> = dyn Fn(&str, &[usize]) -> Result<Tensor> + 'a;

impl Model {
    pub fn kind(&self) -> DetectorKind {
        match self {
            Model::Neural(m) => m.kind(),
            Model::BoostedTrees(m) => m.kind(),
            Model::IsolationForest(m) => m.kind(),
            Model::Ensemble(_) => DetectorKind::Auto,
        }
    }

    /// The number of features (encoded columns) it takes.
    pub fn inputs(&self) -> usize {
        match self {
            Model::Neural(m) => m.inputs(),
            Model::BoostedTrees(m) => m.inputs(),
            Model::IsolationForest(m) => m.inputs(),
            Model::Ensemble(m) => m.inputs(),
        }
    }

    pub fn scores(&self, x: &Matrix) -> Result<Vec<f32>> {
        match self {
            Model::Neural(m) => m.scores(x),
            Model::BoostedTrees(m) => m.scores(x),
            Model::IsolationForest(m) => m.scores(x),
            Model::Ensemble(m) => m.scores(x),
        }
    }

    /// What the model file stores: tensors, and the rest as JSON.
    pub fn parts(&self) -> Result<ModelParts> {
        match self {
            Model::Neural(m) => m.parts(),
            Model::BoostedTrees(m) => m.parts(),
            Model::IsolationForest(m) => m.parts(),
            Model::Ensemble(m) => m.parts(),
        }
    }

    /// Rebuilds a model from what [`Model::parts`] stored.
    pub fn from_parts(
        kind: DetectorKind,
        state: serde_json::Value,
        tensor: &TensorSource,
    ) -> Result<Model> {
        Ok(match kind {
            DetectorKind::Gbt => Model::BoostedTrees(BoostedTrees::from_state(state)?),
            DetectorKind::IForest => Model::IsolationForest(IsolationForest::from_state(state)?),
            DetectorKind::Auto => Model::Ensemble(Ensemble::from_parts(state, tensor)?),
            _ => Model::Neural(NeuralModel::from_parts(kind, state, tensor)?),
        })
    }

    /// The number format of the matrix products; the neural models only have any (an
    /// ensemble's neural members take it, the others keep theirs).
    pub fn set_precision(&mut self, precision: Precision) -> Result<()> {
        match self {
            Model::Neural(m) => {
                precision.check_supported()?;
                m.network.set_precision(precision);
                Ok(())
            }
            Model::Ensemble(e)
                if e.members
                    .iter()
                    .any(|m| matches!(m.model, Model::Neural(_))) =>
            {
                for member in &mut e.members {
                    if let Model::Neural(_) = member.model {
                        member.model.set_precision(precision)?;
                    }
                }
                Ok(())
            }
            other => Err(Error::InvalidParam {
                name: "precision".into(),
                value: format!("{precision:?}").to_lowercase(),
                expected: format!(
                    "a neural model; a {} model has no matrix products",
                    other.kind().name()
                ),
            }),
        }
    }
}
