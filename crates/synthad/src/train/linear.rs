//! A fused dense layer for candle: y = relu(x·wᵀ + b) (or without the ReLU), forward and
//! backward, on the same `gemm` kernels candle's matmul uses.
//!
//! Why: candle runs a layer as four ops (transpose-matmul, broadcast add, ReLU, and in the
//! backward pass a mask and a sum), each allocating and streaming a batch-sized buffer. With
//! 500-wide layers and batches of 1024 those passes and their page faults took about 40% of a
//! training step (perf, docs/performance.md). Fused, the bias seeds the product's accumulator,
//! the ReLU runs in place, and the backward pass computes the masked gradient once and reuses it
//! for the three products. candle still builds the graph and runs backpropagation.
//!
//! Past 500 lines with its tests, which pin the backward pass's exactness to the bit: the
//! layer and those checks belong together.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use gemm::{gemm, Parallelism};

use super::bf16;
use super::choices::Precision;
use crate::error::Result;

/// The fused layer; `relu` selects the activation. Its matrix kernels run on the calling
/// thread: training and scoring run shards of rows in parallel instead, which scaled better
/// on 2 cores than splitting each product across threads (docs/performance.md).
pub(crate) struct Linear {
    pub relu: bool,
    pub precision: Precision,
}

/// dst (m × n, row-major, `read_dst` accumulates) += lhs · rhs, with explicit strides
/// (row stride, column stride) for each operand; bf16 products where asked, available and
/// worth it ([`bf16::pays`]).
#[allow(clippy::too_many_arguments)]
fn matmul(
    precision: Precision,
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    read_dst: bool,
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
) {
    assert!(dst.len() >= m * n);
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(k == 0 || n == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    let kernel = (precision == Precision::Bf16 && bf16::pays(m, n, k))
        .then(bf16::Bf16Kernel::detect)
        .flatten();
    if let Some(kernel) = kernel {
        kernel.matmul(
            m,
            n,
            k,
            dst,
            read_dst,
            lhs,
            (lhs_rs, lhs_cs),
            rhs,
            (rhs_rs, rhs_cs),
        );
        return;
    }
    sgemm(
        (m, n, k),
        dst,
        read_dst,
        lhs,
        (lhs_rs, lhs_cs),
        rhs,
        (rhs_rs, rhs_cs),
        1,
    );
}

/// dst (m × n, row-major; `read_dst` accumulates into it) += lhs · rhs with the `gemm`
/// crate's f32 kernels on `threads` threads (1: the calling thread); operand strides are
/// (row stride, column stride).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    read_dst: bool,
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
    threads: usize,
) {
    assert!(dst.len() >= m * n);
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(k == 0 || n == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    let parallelism = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above keep every index the kernel touches inside the slices, and
    // `dst` does not alias `lhs` or `rhs` (it is a distinct &mut).
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            read_dst,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}

pub(super) fn contiguous_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<&'a [f32]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&storage.as_slice::<f32>()?[start..end]),
        None => Err(candle_core::Error::Msg(
            "linear: operands must be contiguous".into(),
        )),
    }
}

/// Runs `f` on the f32 values of a contiguous CPU tensor, without copying them.
fn with_slice<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        candle_core::Storage::Cpu(storage) => Ok(f(contiguous_f32(storage, layout)?)),
        _ => Err(candle_core::Error::Msg("linear: CPU tensors only".into())),
    }
}

/// The rows of `dz` (row-major, `outputs` wide) that the products need: those with a nonzero
/// gradient, or all when that changes the kernels' rounding. Leaving rows of zeros out of a
/// sum changes nothing (fma(0, x, s) = s) as long as gemm takes the same path: it does not for
/// a single output (a vectorized dot product over rows, whose lanes would shift) or for at
/// most 2 rows (an outer-product path that rounds each term), so such cases keep zero rows.
fn rows_with_gradient(dz: &[f32], outputs: usize) -> Vec<usize> {
    let rows = dz.len() / outputs.max(1);
    if outputs <= 1 {
        return (0..rows).collect();
    }
    // An OR over the bits (the sign bit shifted out, so −0 counts as zero) vectorizes; a
    // short-circuiting `any` did not, and cost 5% of a training step.
    let active: Vec<bool> = dz
        .chunks_exact(outputs)
        .map(|g| g.iter().fold(0u32, |bits, v| bits | (v.to_bits() << 1)) != 0)
        .collect();
    let count = active.iter().filter(|&&a| a).count();
    // Enough zero rows (the first ones) to reach 3, where the sum runs on the micro-kernels.
    let mut padding = 3usize.saturating_sub(count).min(rows - count);
    (0..rows)
        .filter(|&r| {
            active[r] || {
                let pad = padding > 0;
                padding -= pad as usize;
                pad
            }
        })
        .collect()
}

/// The rows `rows` of a row-major matrix with `cols` columns, in order.
fn gather_rows(data: &[f32], cols: usize, rows: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * cols);
    for &r in rows {
        out.extend_from_slice(&data[r * cols..(r + 1) * cols]);
    }
    out
}

/// The inverse of [`gather_rows`]: a `total`-row matrix holding `data`'s rows at `rows`, zero
/// elsewhere.
fn scatter_rows(data: &[f32], cols: usize, rows: &[usize], total: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; total * cols];
    for (&r, row) in rows.iter().zip(data.chunks_exact(cols)) {
        out[r * cols..(r + 1) * cols].copy_from_slice(row);
    }
    out
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "fused-linear"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        w: &CpuStorage,
        w_layout: &Layout,
        b: &CpuStorage,
        b_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, inputs) = x_layout.shape().dims2()?;
        let (outputs, w_inputs) = w_layout.shape().dims2()?;
        if inputs != w_inputs || b_layout.shape().dims1()? != outputs {
            return Err(candle_core::Error::Msg(format!(
                "linear: x {:?}, w {:?}, b {:?} do not fit",
                x_layout.shape(),
                w_layout.shape(),
                b_layout.shape()
            )));
        }
        let (x, w, b) = (
            contiguous_f32(x, x_layout)?,
            contiguous_f32(w, w_layout)?,
            contiguous_f32(b, b_layout)?,
        );
        // The bias seeds the accumulator; the product adds onto it.
        let mut y = Vec::with_capacity(rows * outputs);
        for _ in 0..rows {
            y.extend_from_slice(b);
        }
        // wᵀ[k, j] = w[j, k]: row stride 1, column stride `inputs`.
        matmul(
            self.precision,
            rows,
            outputs,
            inputs,
            &mut y,
            true,
            x,
            (inputs, 1),
            w,
            (1, inputs),
        );
        if self.relu {
            for v in &mut y {
                *v = v.max(0.0);
            }
        }
        Ok((CpuStorage::F32(y), Shape::from((rows, outputs))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        y: &Tensor,
        grad_y: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (rows, inputs) = x.dims2()?;
        let outputs = w.dims2()?.0;
        // Each gradient only where something needs it: the input data need none, and DROCC's
        // search for adversarial points needs the input's but not the parameters'.
        let (x_tracked, w_tracked, b_tracked) = (x.track_op(), w.track_op(), b.track_op());
        let (x, w) = (x.contiguous()?, w.contiguous()?);
        // dz = dL/d(x·wᵀ + b): the output gradient, masked by the ReLU.
        let grad_y = grad_y.contiguous()?;
        let dz: Vec<f32> = if self.relu {
            // One branch-free pass (it vectorizes): copy the gradient where the unit was active.
            with_slice(&grad_y, |g| {
                with_slice(y, |y| {
                    g.iter()
                        .zip(y)
                        .map(|(&g, &out)| if out > 0.0 { g } else { 0.0 })
                        .collect()
                })
            })??
        } else {
            with_slice(&grad_y, <[f32]>::to_vec)?
        };
        // Rows whose gradient is all zero add nothing to dw, db or dx. The hinge loss is flat
        // beyond the margin, so once a classifier fits, most rows are such rows (99% of
        // nsl-kdd's after 5 epochs, docs/performance.md): the products run on the others only.
        let active = rows_with_gradient(&dz, outputs);
        let m = active.len();
        let dz = if m == rows {
            dz
        } else {
            gather_rows(&dz, outputs, &active)
        };
        // dw = dzᵀ · x  (outputs × inputs); dzᵀ[j, r] = dz[r, j].
        let dw = if w_tracked {
            let mut dw = vec![0.0f32; outputs * inputs];
            if m > 0 {
                with_slice(&x, |x| {
                    let gathered;
                    let x = if m == rows {
                        x
                    } else {
                        gathered = gather_rows(x, inputs, &active);
                        &gathered
                    };
                    matmul(
                        self.precision,
                        outputs,
                        inputs,
                        m,
                        &mut dw,
                        false,
                        &dz,
                        (1, outputs),
                        x,
                        (inputs, 1),
                    )
                })?;
            }
            Some(Tensor::from_vec(dw, (outputs, inputs), w.device())?)
        } else {
            None
        };
        // db = column sums of dz.
        let db = if b_tracked {
            let mut db = vec![0.0f32; outputs];
            for row in dz.chunks_exact(outputs) {
                for (s, &g) in db.iter_mut().zip(row) {
                    *s += g;
                }
            }
            Some(Tensor::from_vec(db, outputs, w.device())?)
        } else {
            None
        };
        // dx = dz · w (rows × inputs), only when something upstream needs it; zero on the
        // rows without gradient.
        let dx = if x_tracked {
            let mut dx = vec![0.0f32; m * inputs];
            if m > 0 {
                with_slice(&w, |w| {
                    matmul(
                        self.precision,
                        m,
                        inputs,
                        outputs,
                        &mut dx,
                        false,
                        &dz,
                        (outputs, 1),
                        w,
                        (inputs, 1),
                    )
                })?;
            }
            if m < rows {
                dx = scatter_rows(&dx, inputs, &active, rows);
            }
            Some(Tensor::from_vec(dx, (rows, inputs), w.device())?)
        } else {
            None
        };
        Ok((dx, dw, db))
    }
}

impl Linear {
    /// Applies the layer; `grad` records it for backpropagation.
    pub(crate) fn apply(self, x: &Tensor, w: &Tensor, b: &Tensor, grad: bool) -> Result<Tensor> {
        Ok(if grad {
            x.apply_op3(w, b, self)?
        } else {
            x.apply_op3_no_bwd(w, b, &self)?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// The fused layer agrees with candle's own ops, forward and backward.
    #[test]
    fn matches_candle_ops() {
        let device = Device::Cpu;
        let x = Var::new(&[[0.5f32, -1.0, 2.0], [1.5, 0.25, -0.75]], &device).unwrap();
        let w = Var::new(&[[0.1f32, 0.2, -0.3], [-0.4, 0.5, 0.6]], &device).unwrap();
        let b = Var::new(&[0.05f32, -0.1], &device).unwrap();
        let weights = Tensor::new(&[[1.0f32, -2.0], [0.5, 3.0]], &device).unwrap();
        for relu in [false, true] {
            let fused = Linear {
                relu,
                precision: Precision::F32,
            }
            .apply(&x, &w, &b, true)
            .unwrap();
            let mut reference = x
                .matmul(&w.t().unwrap())
                .unwrap()
                .broadcast_add(&b)
                .unwrap();
            if relu {
                reference = reference.relu().unwrap();
            }
            let close = |a: &Tensor, b: &Tensor| {
                let d = (a - b)
                    .unwrap()
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert!(d < 1e-6, "relu {relu}: differ by {d}");
            };
            close(&fused, &reference);
            let g_fused = (fused * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g_ref = (reference * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&x, &w, &b] {
                close(g_fused.get(v).unwrap(), g_ref.get(v).unwrap());
            }
        }
    }

    #[test]
    fn rows_needed_are_the_nonzero_ones_padded_to_three() {
        let dz = |rows: &[usize]| {
            let mut dz = vec![0.0f32; 8 * 2];
            for &r in rows {
                dz[r * 2 + 1] = 0.5;
            }
            dz
        };
        assert_eq!(rows_with_gradient(&dz(&[1, 4, 6, 7]), 2), [1, 4, 6, 7]);
        assert_eq!(rows_with_gradient(&dz(&[5]), 2), [0, 1, 5]);
        assert_eq!(rows_with_gradient(&dz(&[]), 2), [0, 1, 2]);
        assert_eq!(rows_with_gradient(&[0.0, 0.0, 1.0], 1), [0, 1, 2]);
        assert_eq!(rows_with_gradient(&[0.0; 4], 2), [0, 1]);
    }

    /// With most rows' gradient zero (a hinge loss beyond the margin), the gradients equal a
    /// dense computation over every row bit for bit, and the input gradient of those rows is 0.
    #[test]
    fn rows_without_gradient_are_skipped_exactly() {
        use rand::{Rng, SeedableRng};
        let device = Device::Cpu;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (rows, inputs, outputs) = (40, 24, 30);
        let mut values =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
        let (x_values, w_values, b_values, upstream) = (
            values(rows * inputs),
            values(outputs * inputs),
            values(outputs),
            values(rows * outputs),
        );
        let x = Var::from_vec(x_values.clone(), (rows, inputs), &device).unwrap();
        let w = Var::from_vec(w_values.clone(), (outputs, inputs), &device).unwrap();
        let b = Var::from_vec(b_values, outputs, &device).unwrap();
        for active in [vec![], vec![17], vec![3, 38], vec![0, 9, 10, 25, 31]] {
            let mut weights = vec![0.0f32; rows * outputs];
            for &r in &active {
                weights[r * outputs..(r + 1) * outputs]
                    .copy_from_slice(&upstream[r * outputs..(r + 1) * outputs]);
            }
            let weights = Tensor::from_vec(weights.clone(), (rows, outputs), &device).unwrap();
            let layer = Linear {
                relu: false,
                precision: Precision::F32,
            };
            let y = layer.apply(&x, &w, &b, true).unwrap();
            let grads = (y * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            // Dense: dw = dzᵀ·x over all rows, where dz = the upstream weights.
            let dz = weights.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let mut dense = vec![0.0f32; outputs * inputs];
            matmul(
                Precision::F32,
                outputs,
                inputs,
                rows,
                &mut dense,
                false,
                &dz,
                (1, outputs),
                &x_values,
                (inputs, 1),
            );
            let dw = grads
                .get(&w)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert!(
                dw.iter()
                    .zip(&dense)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "rows {active:?}: dw differs from the dense product"
            );
            let dx = grads.get(&x).unwrap().to_vec2::<f32>().unwrap();
            for (r, row) in dx.iter().enumerate() {
                let expected_zero = !active.contains(&r);
                assert_eq!(
                    row.iter().all(|&v| v == 0.0),
                    expected_zero,
                    "row {r} of dx"
                );
            }
        }
    }
}
