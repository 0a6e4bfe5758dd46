//! The neural detectors: a ReLU network and the objective that says what its output means
//! (the paper's classifier, DeepSAD, ABC, DROCC), built for the data and trained by the loop
//! in `training_loop`.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::choices::{DetectorKind, Precision};
use super::labeled_set::LabeledSet;
use super::model::{ModelParts, TensorSource};
use super::network::{Network, Record};
use super::objective::Objective;
use super::params::{Sampling, TrainParams};
use super::report::{EpochStats, TrainReport};
use super::training_loop::SHARD_ROWS;
use crate::choice::Choice;
use crate::error::{Error, Result};
use crate::prepare::Matrix;

/// A neural detector: a network and the objective that says what its output means.
#[derive(Debug, Clone)]
pub(crate) struct NeuralModel {
    kind: DetectorKind,
    pub network: Network,
    pub objective: Objective,
}

#[derive(Serialize, Deserialize)]
struct NeuralState {
    widths: Vec<usize>,
    bias: bool,
    #[serde(default)]
    precision: Precision,
    objective: Objective,
}

/// The methods [`super::Model`] dispatches to.
impl NeuralModel {
    pub(crate) fn kind(&self) -> DetectorKind {
        self.kind
    }

    pub(crate) fn inputs(&self) -> usize {
        self.network.widths()[0]
    }

    pub(crate) fn scores(&self, x: &Matrix) -> Result<Vec<f32>> {
        self.network.map_batches(x, 1, true, |batch| {
            Ok(self
                .objective
                .score(&self.network, batch, Record::Nothing)?
                .to_vec1::<f32>()?)
        })
    }

    pub(crate) fn parts(&self) -> Result<ModelParts> {
        let state = NeuralState {
            widths: self.network.widths(),
            bias: self.network.has_bias(),
            precision: self.network.precision(),
            objective: self.objective.clone(),
        };
        Ok(ModelParts {
            tensors: self.network.named_tensors(),
            state: serde_json::to_value(state).expect("the network state serializes"),
        })
    }
}

impl NeuralModel {
    pub(crate) fn from_parts(
        kind: DetectorKind,
        state: serde_json::Value,
        tensor: &TensorSource,
    ) -> Result<NeuralModel> {
        let state: NeuralState = serde_json::from_value(state)
            .map_err(|e| Error::Training(format!("network state: {e}")))?;
        let inputs = state.widths.first().copied().unwrap_or(0);
        let outputs = state.widths.last().copied().unwrap_or(0);
        // What each objective needs of the network's output.
        let fits = match &state.objective {
            Objective::Classifier { .. } => outputs == 1,
            Objective::DeepSad { center, eta } => {
                center.len() == outputs && center.iter().all(|c| c.is_finite()) && eta.is_finite()
            }
            Objective::Abc => outputs == inputs,
            Objective::Drocc { .. } => outputs == 1,
        };
        if state.widths.len() < 2
            || state.widths.contains(&0)
            || state.objective.name() != kind.name()
            || !fits
        {
            return Err(Error::Training(format!(
                "a {} network with widths {:?} does not fit detector {}",
                state.objective.name(),
                state.widths,
                kind.name()
            )));
        }
        let layers = state
            .widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                Ok((
                    tensor(&format!("layers.{i}.weight"), &[w[1], w[0]])?,
                    tensor(&format!("layers.{i}.bias"), &[w[1]])?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut network = Network::from_tensors(layers, state.bias)?;
        network.set_precision(state.precision);
        Ok(NeuralModel {
            kind,
            network,
            objective: state.objective,
        })
    }

    /// Builds the detector's network and objective, then trains it.
    pub(crate) fn fit(
        train: &LabeledSet,
        validation: &LabeledSet,
        params: &TrainParams,
        rng: &mut ChaCha8Rng,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> Result<(NeuralModel, TrainReport)> {
        let inputs = train.x.cols;
        let mut widths = vec![inputs];
        widths.extend(&params.hidden);
        let (output, bias) = match params.detector {
            // Biases would let DeepSAD map everything onto the center (Ruff et al., §3).
            DetectorKind::DeepSad => (params.deepsad.representation, false),
            DetectorKind::Abc => (inputs, true),
            _ => (1, true),
        };
        widths.push(output);
        check_network_memory(&widths, params.batch_size.min(train.len()))?;
        params.precision.check_supported()?;
        let mut network = Network::new(&widths, bias, rng)?;
        network.set_precision(params.precision);
        let objective = match params.detector {
            DetectorKind::Classifier => Objective::Classifier { loss: params.loss },
            DetectorKind::DeepSad => Objective::DeepSad {
                center: hypersphere_center(&network, train, params.sampling)?,
                eta: params.deepsad.eta,
            },
            DetectorKind::Abc => Objective::Abc,
            DetectorKind::Drocc => {
                let d = &params.drocc;
                let radius = match d.radius {
                    Some(r) => r,
                    None => nearest_neighbour_radius(&train.normals(), rng),
                };
                Objective::Drocc {
                    radius,
                    gamma: d.gamma,
                    lambda: d.lambda,
                    ascent_steps: d.ascent_steps,
                    ascent_step_size: d.step_fraction * radius,
                }
            }
            other => unreachable!("{} is not a neural detector", other.name()),
        };
        let model = NeuralModel {
            kind: params.detector,
            network,
            objective,
        };
        let report = model.train(train, validation, params, rng, on_epoch)?;
        Ok((model, report))
    }
}

/// Refuses a network that cannot be trained in this machine's memory. Per parameter: the
/// weight, AdamW's two moments, the best epoch's copy, and one gradient per shard of a batch;
/// per row of a batch and unit: about four activations and gradients.
fn check_network_memory(widths: &[usize], batch: usize) -> Result<()> {
    use crate::memory::{ensure_fits, product};
    let parameters = widths
        .windows(2)
        .map(|w| product(&[w[0] + 1, w[1]]))
        .fold(0u64, u64::saturating_add);
    let shards = batch.div_ceil(SHARD_ROWS).max(1);
    let units = widths.iter().fold(0usize, |a, &w| a.saturating_add(w));
    let bytes = parameters
        .saturating_mul(4 * (4 + shards as u64))
        .saturating_add(product(&[batch, units, 16]));
    ensure_fits(
        bytes,
        &format!(
            "a network of widths {} ({parameters} parameters)",
            widths
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-")
        ),
        "use smaller --hidden widths (or --batch-size)",
    )
}

/// DeepSAD's center: the mean representation of the training rows under the initial network,
/// with coordinates near zero moved to ±0.1 (a zero coordinate is trivially matched by zero
/// weights), as in Ruff et al.'s code. The rows are those an epoch draws: the normals when
/// every row is drawn once (Ruff et al.), normals and anomalies weighing half each under
/// balanced sampling (DeepOD computes it from its sampled loader).
fn hypersphere_center(
    network: &Network,
    train: &LabeledSet,
    sampling: Sampling,
) -> Result<Vec<f32>> {
    const EPS: f32 = 0.1;
    let width = *network.widths().last().expect("layers");
    // Not padded: the center is part of training, whose results the benchmark records.
    let outputs = network.map_batches(&train.x, width, false, |batch| {
        Ok(network
            .forward(batch, Record::Nothing)?
            .flatten_all()?
            .to_vec1::<f32>()?)
    })?;
    let weights: Vec<f64> = match sampling {
        Sampling::Shuffle => train
            .target
            .iter()
            .map(|&t| if t > 0.0 { 0.0 } else { 1.0 })
            .collect(),
        Sampling::Balanced => train.balanced_draw_weights(),
    };
    let total: f64 = weights.iter().sum();
    let mut center = vec![0.0f64; width];
    for (row, &w) in outputs.chunks_exact(width).zip(&weights) {
        for (c, &v) in center.iter_mut().zip(row) {
            *c += w * v as f64;
        }
    }
    Ok(center
        .into_iter()
        .map(|c| {
            let c = (c / total.max(f64::MIN_POSITIVE)) as f32;
            if c.abs() < EPS {
                if c < 0.0 {
                    -EPS
                } else {
                    EPS
                }
            } else {
                c
            }
        })
        .collect())
}

/// The median distance from a normal row to its nearest other normal row, over a sample of up
/// to 1,000 rows: the scale at which "near the normal data" begins, for DROCC's radius.
fn nearest_neighbour_radius(normals: &Matrix, rng: &mut ChaCha8Rng) -> f64 {
    const SAMPLE: usize = 1000;
    let mut rows: Vec<usize> = (0..normals.rows).collect();
    rows.shuffle(rng);
    rows.truncate(SAMPLE);
    let mut nearest: Vec<f64> = rows
        .iter()
        .map(|&a| {
            rows.iter()
                .filter(|&&b| b != a)
                .map(|&b| {
                    normals
                        .row(a)
                        .iter()
                        .zip(normals.row(b))
                        .map(|(x, y)| ((x - y) as f64).powi(2))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .filter(|d| d.is_finite())
        .collect();
    nearest.sort_by(f64::total_cmp);
    // Duplicated rows give zero distances; a zero radius would make every negative a normal.
    match nearest.get(nearest.len() / 2) {
        Some(&d) if d > 0.0 => d,
        _ => 1e-3,
    }
}
