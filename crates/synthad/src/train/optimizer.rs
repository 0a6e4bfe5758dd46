//! AdamW (Loshchilov & Hutter), updating each parameter in place in one pass that also sums
//! the shards' gradients.
//!
//! Why not candle-nn's AdamW: it runs a dozen tensor ops per parameter per step, each
//! allocating and streaming a parameter-sized buffer, plus one more per shard to add the
//! gradients — 15% of a training step on one thread, 24% on two (nsl-kdd, docs/performance.md).
//! The arithmetic here is candle-nn's (and PyTorch's), operation for operation in f32, so the
//! parameters come out bit for bit the same.

use std::cell::RefCell;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp1, Layout, Storage, Var};

use super::linear::contiguous_f32;
use crate::error::{Error, Result};

pub(crate) struct AdamW {
    vars: Vec<Var>,
    /// First and second moments of each parameter.
    moments: Vec<(Vec<f32>, Vec<f32>)>,
    steps: i32,
    learning_rate: f64,
    weight_decay: f64,
    epsilon: f64,
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;

impl AdamW {
    pub(crate) fn new(
        vars: Vec<Var>,
        learning_rate: f64,
        weight_decay: f64,
        epsilon: f64,
    ) -> AdamW {
        let moments = vars
            .iter()
            .map(|v| (vec![0.0; v.elem_count()], vec![0.0; v.elem_count()]))
            .collect();
        AdamW {
            vars,
            moments,
            steps: 0,
            learning_rate,
            weight_decay,
            epsilon,
        }
    }

    /// One step on the sum of the shards' gradients, added in shard order.
    pub(crate) fn step(&mut self, shard_grads: &[GradStore]) -> Result<()> {
        self.steps += 1;
        let scale_m = 1.0 / (1.0 - BETA1.powi(self.steps));
        let scale_v = 1.0 / (1.0 - BETA2.powi(self.steps));
        for (var, (m, v)) in self.vars.iter().zip(&mut self.moments) {
            let storages: Vec<_> = shard_grads
                .iter()
                .filter_map(|grads| grads.get(var))
                .map(|g| g.storage_and_layout())
                .collect();
            if storages.is_empty() {
                continue;
            }
            let grads = storages
                .iter()
                .map(|(storage, layout)| match &**storage {
                    Storage::Cpu(storage) => contiguous_f32(storage, layout),
                    _ => Err(candle_core::Error::Msg("AdamW: CPU tensors only".into())),
                })
                .collect::<candle_core::Result<Vec<&[f32]>>>()?;
            if grads.iter().any(|g| g.len() != m.len()) {
                return Err(Error::Training(
                    "AdamW: a gradient's shape differs from its parameter's".into(),
                ));
            }
            let update = Update {
                grads,
                moments: RefCell::new((m, v)),
                f32s: [
                    BETA1 as f32,
                    (1.0 - BETA1) as f32,
                    BETA2 as f32,
                    (1.0 - BETA2) as f32,
                    scale_m as f32,
                    scale_v as f32,
                    (1.0 - self.learning_rate * self.weight_decay) as f32,
                    self.epsilon as f32,
                    self.learning_rate as f32,
                ],
            };
            var.as_tensor().inplace_op1(&update)?;
        }
        Ok(())
    }
}

/// The update of one parameter, applied in place by candle.
struct Update<'a> {
    grads: Vec<&'a [f32]>,
    moments: RefCell<(&'a mut Vec<f32>, &'a mut Vec<f32>)>,
    /// β1, 1−β1, β2, 1−β2, the two bias corrections, 1 − lr·λ, ε, lr — as f32, the precision
    /// candle-nn's scalar ops compute in.
    f32s: [f32; 9],
}

impl InplaceOp1 for Update<'_> {
    fn name(&self) -> &'static str {
        "adamw"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let theta = match (storage, layout.contiguous_offsets()) {
            (CpuStorage::F32(values), Some((start, end))) => &mut values[start..end],
            _ => {
                return Err(candle_core::Error::Msg(
                    "AdamW: parameters must be contiguous f32".into(),
                ))
            }
        };
        let [b1, one_b1, b2, one_b2, scale_m, scale_v, decay, eps, lr] = self.f32s;
        // The shards' sum, ((g0 + g1) + g2)…, in its own pass so both loops vectorize.
        let summed;
        let grad = match &self.grads[..] {
            [only] => only,
            [first, rest @ ..] => {
                let mut sum = first.to_vec();
                for shard in rest {
                    for (s, &g) in sum.iter_mut().zip(*shard) {
                        *s += g;
                    }
                }
                summed = sum;
                &summed[..]
            }
            [] => return Ok(()),
        };
        let mut moments = self.moments.borrow_mut();
        let (m, v) = &mut *moments;
        for (((theta, m), v), &g) in theta
            .iter_mut()
            .zip(m.iter_mut())
            .zip(v.iter_mut())
            .zip(grad)
        {
            // As candle-nn: scalar products are affine maps v·a + 0, which the + 0.0 keeps.
            *m = (*m * b1 + 0.0) + (g * one_b1 + 0.0);
            *v = (*v * b2 + 0.0) + ((g * g) * one_b2 + 0.0);
            let m_hat = *m * scale_m + 0.0;
            let v_hat = *v * scale_v + 0.0;
            let adjusted = m_hat / (v_hat.sqrt() * 1.0 + eps);
            *theta = (*theta * decay + 0.0) - (adjusted * lr + 0.0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// Gradients of Σ c·θ for a fixed c (so the gradient is c), one store per shard.
    fn grads_of(theta: &Var, shards: &[[f32; 3]]) -> Vec<GradStore> {
        shards
            .iter()
            .map(|c| {
                let c = Tensor::new(c, &Device::Cpu).unwrap();
                (theta.as_tensor() * c)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap()
            })
            .collect()
    }

    /// Three steps against AdamW written out in f64 (PyTorch's formulation), with the
    /// gradient split over two shards.
    #[test]
    fn matches_the_textbook_update() {
        const EPS: f64 = 1e-8;
        let (lr, wd) = (0.01, 0.1);
        let theta = Var::new(&[1.0f32, -2.0, 0.5], &Device::Cpu).unwrap();
        let mut optimizer = AdamW::new(vec![theta.clone()], lr, wd, EPS);
        let shards = [[0.3f32, -1.0, 0.0], [0.1, 0.5, -0.25]];
        let mut expected = [1.0f64, -2.0, 0.5];
        let (mut m, mut v) = ([0.0f64; 3], [0.0f64; 3]);
        for t in 1..=3 {
            optimizer.step(&grads_of(&theta, &shards)).unwrap();
            for i in 0..3 {
                let g = shards[0][i] as f64 + shards[1][i] as f64;
                m[i] = BETA1 * m[i] + (1.0 - BETA1) * g;
                v[i] = BETA2 * v[i] + (1.0 - BETA2) * g * g;
                let m_hat = m[i] / (1.0 - BETA1.powi(t));
                let v_hat = v[i] / (1.0 - BETA2.powi(t));
                expected[i] = expected[i] * (1.0 - lr * wd) - lr * m_hat / (v_hat.sqrt() + EPS);
            }
        }
        let got = theta.as_tensor().to_vec1::<f32>().unwrap();
        for (g, e) in got.iter().zip(expected) {
            assert!((*g as f64 - e).abs() < 1e-6, "{got:?} vs {expected:?}");
        }
        // A zero gradient still moves every weight: decoupled decay and the momentum.
        let before = theta.as_tensor().to_vec1::<f32>().unwrap();
        optimizer.step(&grads_of(&theta, &[[0.0; 3]])).unwrap();
        let after = theta.as_tensor().to_vec1::<f32>().unwrap();
        assert!(before.iter().zip(&after).all(|(b, a)| a != b));
    }
}
