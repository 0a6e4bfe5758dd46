//! What the neural detectors minimise, and how each turns a network's output into an anomaly
//! score. Every objective is a per-row loss of the score `s` and the target `y` (+1 anomaly,
//! −1 normal), weighted per row; DROCC adds a term on adversarially searched points.

use candle_core::{Device, Tensor, Var};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::choices::Loss;
use super::network::{Network, Record};
use crate::error::Result;

/// Added to DeepSAD's distance before inverting it (Ruff et al.'s code uses the same).
const DEEPSAD_EPS: f64 = 1e-6;
/// Floor of 1 − exp(−e) in ABC's anomaly loss, so a zero reconstruction error gives a large
/// finite loss instead of infinity.
const ABC_FLOOR: f64 = 1e-12;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "objective", rename_all = "lowercase")]
pub enum Objective {
    /// The paper's classifier: the score is the output f; loss hinge max(0, 1 − y·f) or
    /// logistic log(1 + exp(−y·f)).
    Classifier { loss: Loss },
    /// DeepSAD (Ruff et al., 2020): the score is ‖φ(x) − c‖²; normals minimise it, anomalies
    /// minimise η·(‖φ(x) − c‖²)⁻¹.
    DeepSad { center: Vec<f32>, eta: f64 },
    /// ABC (Yamanaka et al., 2019): the score is the reconstruction error e = ‖x − g(x)‖²;
    /// normals minimise e, anomalies −log(1 − exp(−e)).
    Abc,
    /// DROCC (Goyal et al., 2020): the score is an anomaly logit f; normals minimise
    /// log(1 + exp(f)), anomalies log(1 + exp(−f)), and λ times the anomaly loss of points
    /// x + h, with r ≤ ‖h‖ ≤ γ·r, found by gradient ascent on that loss around each normal x.
    Drocc {
        radius: f64,
        gamma: f64,
        lambda: f64,
        ascent_steps: usize,
        ascent_step_size: f64,
    },
}

/// softplus(z) = log(1 + exp(z)), stable for large |z|: relu(z) + log(1 + exp(−|z|)).
fn softplus(z: &Tensor) -> Result<Tensor> {
    Ok((z.relu()? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?)
}

impl Objective {
    pub fn name(&self) -> &'static str {
        match self {
            Objective::Classifier { .. } => "classifier",
            Objective::DeepSad { .. } => "deepsad",
            Objective::Abc => "abc",
            Objective::Drocc { .. } => "drocc",
        }
    }

    /// Anomaly score per row, [n], recording what `record` asks for backpropagation.
    pub fn score(&self, net: &Network, x: &Tensor, record: Record) -> Result<Tensor> {
        let out = net.forward(x, record)?;
        Ok(match self {
            Objective::Classifier { .. } | Objective::Drocc { .. } => out.squeeze(1)?,
            Objective::DeepSad { center, .. } => {
                let c = Tensor::from_slice(center, (1, center.len()), &Device::Cpu)?;
                out.broadcast_sub(&c)?.sqr()?.sum(1)?
            }
            Objective::Abc => (out - x)?.sqr()?.sum(1)?,
        })
    }

    /// Per-row loss of scores `s` for targets `y` (±1), [n].
    pub fn row_loss(&self, s: &Tensor, y: &Tensor) -> Result<Tensor> {
        // Each row's branch, for the objectives with a different loss per class: the anomaly
        // loss where y = +1, the normal one where y = −1.
        let pick = |a: Tensor, n: Tensor| -> Result<Tensor> {
            let anomaly = ((y + 1.0)? * 0.5)?;
            let normal = (1.0 - &anomaly)?;
            Ok(((a * &anomaly)? + (n * &normal)?)?)
        };
        match self {
            Objective::Classifier { loss: Loss::Hinge } => Ok((1.0 - (s * y)?)?.relu()?),
            Objective::Classifier {
                loss: Loss::Logistic,
            }
            | Objective::Drocc { .. } => softplus(&(s * y)?.neg()?),
            Objective::DeepSad { eta, .. } => {
                pick(((s + DEEPSAD_EPS)?.recip()? * *eta)?, s.clone())
            }
            Objective::Abc => {
                let miss = (1.0 - s.neg()?.exp()?)?.clamp(ABC_FLOOR, 1.0)?;
                pick(miss.log()?.neg()?, s.clone())
            }
        }
    }

    /// Σ weight·loss over the rows of a batch (or shard), recording the graph. With
    /// `adversary` (training), DROCC adds its term on the batch's normal rows `normal_rows`.
    pub fn loss_sum(
        &self,
        net: &Network,
        (x, y, w): (&Tensor, &Tensor, &Tensor),
        normal_rows: &[u32],
        adversary: Option<&mut ChaCha8Rng>,
    ) -> Result<Tensor> {
        let record = if adversary.is_some() {
            Record::Parameters
        } else {
            Record::Nothing
        };
        let s = self.score(net, x, record)?;
        let mut total = (self.row_loss(&s, y)? * w)?.sum_all()?;
        if let (
            Objective::Drocc {
                radius,
                gamma,
                lambda,
                ascent_steps,
                ascent_step_size,
            },
            Some(rng),
        ) = (self, adversary)
        {
            if !normal_rows.is_empty() {
                let index = Tensor::from_slice(normal_rows, normal_rows.len(), &Device::Cpu)?;
                let x_normal = x.index_select(&index, 0)?;
                let w_normal = w.index_select(&index, 0)?;
                let search = AdversarialSearch {
                    radius: *radius,
                    gamma: *gamma,
                    steps: *ascent_steps,
                    step_size: *ascent_step_size,
                };
                let x_adv = search.run(self, net, &x_normal, rng)?;
                let s_adv = self.score(net, &x_adv, Record::Parameters)?;
                let ones = Tensor::ones(s_adv.dims(), s_adv.dtype(), &Device::Cpu)?;
                let adv_loss = (self.row_loss(&s_adv, &ones)? * &w_normal)?.sum_all()?;
                total = (total + (adv_loss * *lambda)?)?;
            }
        }
        Ok(total)
    }
}

/// DROCC's search for negatives: start from x + N(0, I), take normalised gradient-ascent steps
/// on the loss of calling the point an anomaly (find points the network still deems normal),
/// then project h = x_adv − x onto the shell r ≤ ‖h‖ ≤ γ·r.
struct AdversarialSearch {
    radius: f64,
    gamma: f64,
    steps: usize,
    step_size: f64,
}

impl AdversarialSearch {
    fn run(
        &self,
        objective: &Objective,
        net: &Network,
        x: &Tensor,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        let noise: Vec<f32> = (0..x.elem_count())
            .map(|_| StandardNormal.sample(rng))
            .collect();
        let mut x_adv = (x + Tensor::from_vec(noise, x.dims(), &Device::Cpu)?)?;
        let ones = Tensor::ones(x.dim(0)?, x.dtype(), &Device::Cpu)?;
        for _ in 0..self.steps {
            let point = Var::from_tensor(&x_adv)?;
            let s = objective.score(net, point.as_tensor(), Record::Input)?;
            let loss = objective.row_loss(&s, &ones)?.sum_all()?;
            let grads = loss.backward()?;
            let Some(g) = grads.get(&point) else { break };
            let norm = (g.sqr()?.sum_keepdim(1)?.sqrt()? + 1e-12)?;
            x_adv = (x_adv + (g.broadcast_div(&norm)? * self.step_size)?)?.detach();
        }
        let h = (x_adv - x)?;
        let norm = (h.sqr()?.sum_keepdim(1)?.sqrt()? + 1e-12)?;
        let target = norm.clamp(self.radius, self.gamma * self.radius)?;
        Ok((x + h.broadcast_mul(&(target / norm)?)?)?.detach())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn t(v: &[f32]) -> Tensor {
        Tensor::new(v, &Device::Cpu).unwrap()
    }

    fn values(t: Tensor) -> Vec<f64> {
        t.to_vec1::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5 * (1.0 + y.abs()), "{a:?} vs {b:?}");
        }
    }

    /// A network that is the identity on 2 inputs (one layer, no bias), and its sum as a
    /// 1-output layer.
    fn identity(outputs: usize) -> Network {
        let w = match outputs {
            2 => Tensor::new(&[[1.0f32, 0.0], [0.0, 1.0]], &Device::Cpu),
            _ => Tensor::new(&[[1.0f32, 1.0]], &Device::Cpu),
        }
        .unwrap();
        let b = Tensor::zeros(outputs, candle_core::DType::F32, &Device::Cpu).unwrap();
        Network::from_tensors(vec![(w, b)], false).unwrap()
    }

    #[test]
    fn losses_match_hand_computed_values() {
        let s = t(&[0.25, 0.5, 2.0]);
        let y = t(&[1.0, -1.0, 1.0]);
        let loss = |o: Objective| values(o.row_loss(&s, &y).unwrap());
        // Hinge: 1 − 0.25, 1 + 0.5, max(0, 1 − 2).
        close(
            &loss(Objective::Classifier { loss: Loss::Hinge }),
            &[0.75, 1.5, 0.0],
        );
        let sp = |z: f64| (1.0 + z.exp()).ln();
        close(
            &loss(Objective::Classifier {
                loss: Loss::Logistic,
            }),
            &[sp(-0.25), sp(0.5), sp(-2.0)],
        );
        // DeepSAD, η = 2: anomalies 2/s, normals s.
        close(
            &loss(Objective::DeepSad {
                center: vec![],
                eta: 2.0,
            }),
            &[2.0 / 0.25, 0.5, 1.0],
        );
        // ABC: anomalies −log(1 − e^(−s)), normals s.
        let abc = |e: f64| -(1.0 - (-e).exp()).ln();
        close(&loss(Objective::Abc), &[abc(0.25), 0.5, abc(2.0)]);
    }

    #[test]
    fn scores_are_distance_reconstruction_error_and_output() {
        let x = Tensor::new(&[[1.0f32, 2.0], [0.0, -1.0]], &Device::Cpu).unwrap();
        let deepsad = Objective::DeepSad {
            center: vec![1.0, 1.0],
            eta: 1.0,
        };
        // ‖x − c‖²: (0² + 1²), (1² + 2²).
        close(
            &values(deepsad.score(&identity(2), &x, Record::Nothing).unwrap()),
            &[1.0, 5.0],
        );
        // The identity reconstructs perfectly.
        close(
            &values(
                Objective::Abc
                    .score(&identity(2), &x, Record::Nothing)
                    .unwrap(),
            ),
            &[0.0, 0.0],
        );
        let classifier = Objective::Classifier { loss: Loss::Hinge };
        close(
            &values(classifier.score(&identity(1), &x, Record::Nothing).unwrap()),
            &[3.0, -1.0],
        );
    }

    #[test]
    fn drocc_negatives_lie_on_the_shell_and_add_the_adversarial_loss() {
        let drocc = Objective::Drocc {
            radius: 0.5,
            gamma: 2.0,
            lambda: 1.0,
            ascent_steps: 3,
            ascent_step_size: 0.1,
        };
        let net = identity(1);
        let x = Tensor::new(&[[0.0f32, 0.0], [3.0, 4.0]], &Device::Cpu).unwrap();
        let search = AdversarialSearch {
            radius: 0.5,
            gamma: 2.0,
            steps: 3,
            step_size: 0.1,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x_adv = search.run(&drocc, &net, &x, &mut rng).unwrap();
        let distances = values(
            (x_adv.clone() - &x)
                .unwrap()
                .sqr()
                .unwrap()
                .sum(1)
                .unwrap()
                .sqrt()
                .unwrap(),
        );
        assert!(
            distances
                .iter()
                .all(|&d| (0.5 - 1e-5..=1.0 + 1e-5).contains(&d)),
            "{distances:?}"
        );
        // The ascent raises the anomaly loss log(1 + exp(−f)): f = x₁ + x₂ moves down, so
        // each step moves along −(1, 1)/√2.
        let sums = values(x_adv.sum(1).unwrap());
        assert!(sums[1] < 7.0, "{sums:?}");
        // Total = clean loss + λ · adversarial loss of those same points.
        let y = t(&[-1.0, -1.0]);
        let w = t(&[1.0, 1.0]);
        let clean = drocc
            .loss_sum(&net, (&x, &y, &w), &[], None)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        let sp = |z: f64| (1.0 + z.exp()).ln();
        close(&[clean], &[sp(0.0) + sp(7.0)]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let with_adversary = drocc
            .loss_sum(&net, (&x, &y, &w), &[0, 1], Some(&mut rng))
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        let adversarial: f64 = sums.iter().map(|&f| sp(-f)).sum();
        close(&[with_adversary], &[clean + adversarial]);
    }
}
