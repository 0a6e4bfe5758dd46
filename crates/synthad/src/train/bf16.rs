//! A bfloat16 matrix product for x86-64 CPUs with AVX512-BF16 (AMD Zen 4, Intel Sapphire
//! Rapids and later): operands rounded to bf16, products summed in f32 by VDPBF16PS.
//!
//! Why: on Zen 4 a 512-bit f32 FMA retires 32 FLOP per cycle and the `gemm` crate's f32 kernels
//! already run at that limit (docs/performance.md); VDPBF16PS does two multiply-adds per f32
//! lane, 64 FLOP per cycle. The cost is precision: inputs keep 8 significant bits, so results
//! differ from f32 by about 2⁻⁹ relative per product term; sums stay f32.
//!
//! Layout: C (m × n, row-major) = A (m × k) · B (k × n), both operands given by strides. B is
//! packed into panels of 32 columns holding, for each pair of rows (2p, 2p + 1), the two bf16
//! values of a column in one u32 lane; A into panels of 8 rows with the same pairs. The
//! 8 × 32 micro-kernel keeps 16 accumulators in registers.
//!
//! The network layers use it through `Precision::Bf16`; the throughput benchmark directly.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

const MR: usize = 8;
const NR: usize = 32;
/// Row pairs per block of the inner dimension.
const KC: usize = 128;

/// Whether an m × n × k product is worth the bf16 kernel: it computes whole MR × NR tiles
/// over pairs along k, so with one output column (the score layer), a handful of rows (the
/// gradient rows left after rows beyond the margin are skipped) or a short k, most of each
/// tile would be padding — there f32 is faster, and exact.
pub fn pays(m: usize, n: usize, k: usize) -> bool {
    m >= MR && n >= NR / 2 && k >= 16
}

/// Proof that this CPU runs AVX512-BF16 (memchr's pattern): only [`Bf16Kernel::detect`]
/// makes one, so the intrinsics behind its methods are sound wherever a value exists.
#[derive(Debug, Clone, Copy)]
pub struct Bf16Kernel(());

impl Bf16Kernel {
    /// The kernel, where this CPU has AVX512-F and AVX512-BF16.
    pub fn detect() -> Option<Bf16Kernel> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::sync::OnceLock;
            static AVAILABLE: OnceLock<bool> = OnceLock::new();
            let available = *AVAILABLE.get_or_init(|| {
                is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16")
            });
            available.then_some(Bf16Kernel(()))
        }
        #[cfg(not(target_arch = "x86_64"))]
        None
    }
}

/// Whether this CPU can run the bf16 kernel.
pub fn available() -> bool {
    Bf16Kernel::detect().is_some()
}

/// f32 → bf16 bits, rounding to nearest, ties to even; NaN stays NaN.
fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) as u16) | 0x0040;
    }
    let rounding = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

/// Two bf16 values in one lane: `lo` multiplies the even row, `hi` the odd one.
fn pair(lo: f32, hi: f32) -> u32 {
    u32::from(to_bf16(lo)) | (u32::from(to_bf16(hi)) << 16)
}

/// Packs a `rows` × `k` operand, element (r, p) at `data[r * rs + p * ps]`, into panels of
/// `WIDTH` rows: panel, row pair p2, row r. Rows past `rows` and the odd row past `k` are
/// zero. With the kernel, reads in memory order and converts 16 values per instruction where
/// one of the strides is 1 (every call of the network layers); element by element otherwise,
/// on any CPU.
fn pack<const WIDTH: usize>(
    kernel: Option<Bf16Kernel>,
    data: &[f32],
    rows: usize,
    k: usize,
    (rs, ps): (usize, usize),
) -> Vec<u32> {
    // A constant width turns the slot arithmetic into shifts and masks.
    let width = WIDTH;
    let k2 = k.div_ceil(2);
    let panels = rows.div_ceil(width);
    let mut packed = vec![0u32; panels * k2 * width];
    if rows == 0 || k == 0 {
        return packed;
    }
    assert!(data.len() > (rows - 1) * rs + (k - 1) * ps);
    let at = |r: usize, p: usize| if p < k { data[r * rs + p * ps] } else { 0.0 };
    let slot = |r: usize, p2: usize| (r / width) * k2 * width + p2 * width + r % width;
    // Vectorised: whole chunks of 16 pairs (ps = 1) or 16 rows (rs = 1); the rest below.
    let (full_p2, full_rows) = match (kernel, ps, rs) {
        (None, _, _) => (0, 0),
        (Some(_), 1, _) => (k / 32 * 16, rows),
        (Some(_), _, 1) => (k / 2, rows / 16 * 16),
        _ => (0, 0),
    };
    #[cfg(target_arch = "x86_64")]
    if full_p2 > 0 && full_rows > 0 {
        let mut lanes = [0u32; 16];
        if ps == 1 {
            // Panel by panel and 16 pairs at a time, so the writes stay within 16 × WIDTH
            // lanes of the packed panel.
            for panel in 0..panels {
                for p2 in (0..full_p2).step_by(16) {
                    for r in panel * width..rows.min((panel + 1) * width) {
                        // SAFETY: full_p2 > 0 only with a detected kernel, so AVX512-BF16
                        // runs; the 32 values p = 2·p2 .. 2·p2 + 32 ≤ k of row r are inside
                        // `data` (asserted above).
                        unsafe { pairs_along_row(data.as_ptr().add(r * rs + 2 * p2), &mut lanes) };
                        for (t, &v) in lanes.iter().enumerate() {
                            packed[slot(r, p2 + t)] = v;
                        }
                    }
                }
            }
        } else {
            for p2 in 0..full_p2 {
                for r in (0..full_rows).step_by(16) {
                    // SAFETY: as above; rows r .. r + 16 ≤ rows of p = 2·p2 and 2·p2 + 1 < k.
                    unsafe {
                        pairs_across_rows(
                            data.as_ptr().add(r + 2 * p2 * ps),
                            data.as_ptr().add(r + (2 * p2 + 1) * ps),
                            &mut lanes,
                        )
                    };
                    for (t, &v) in lanes.iter().enumerate() {
                        packed[slot(r + t, p2)] = v;
                    }
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let (full_p2, full_rows) = (0, 0);
    // What the vectorised part left: the pairs past full_p2 of its rows, then the other rows.
    for r in 0..rows {
        let first = if r < full_rows { full_p2 } else { 0 };
        for p2 in first..k2 {
            packed[slot(r, p2)] = pair(at(r, 2 * p2), at(r, 2 * p2 + 1));
        }
    }
    packed
}

/// 32 consecutive values of a row → 16 lanes of (even, odd) bf16 pairs.
///
/// # Safety
/// The CPU must have AVX512-F and AVX512-BF16, and `src` must point to 32 readable f32s.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn pairs_along_row(src: *const f32, lanes: &mut [u32; 16]) {
    // SAFETY: the caller guarantees the features and the 32 values at `src`; `lanes` holds
    // the 64 bytes stored.
    unsafe {
        let pairs = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src.add(16)), _mm512_loadu_ps(src));
        _mm512_storeu_si512(
            lanes.as_mut_ptr().cast(),
            std::mem::transmute::<__m512bh, __m512i>(pairs),
        );
    }
}

/// 16 consecutive values of an even row and of the odd row after it → 16 lanes of pairs.
///
/// # Safety
/// The CPU must have AVX512-F and AVX512-BF16, and `even` and `odd` must each point to 16
/// readable f32s.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn pairs_across_rows(even: *const f32, odd: *const f32, lanes: &mut [u32; 16]) {
    // SAFETY: the caller guarantees the features and the 16 values behind each pointer;
    // `lanes` holds the 64 bytes stored.
    unsafe {
        let widen =
            |v: __m256bh| _mm512_cvtepu16_epi32(std::mem::transmute::<__m256bh, __m256i>(v));
        let lo = widen(_mm512_cvtneps_pbh(_mm512_loadu_ps(even)));
        let hi = _mm512_slli_epi32::<16>(widen(_mm512_cvtneps_pbh(_mm512_loadu_ps(odd))));
        _mm512_storeu_si512(lanes.as_mut_ptr().cast(), _mm512_or_si512(lo, hi));
    }
}

impl Bf16Kernel {
    /// dst (m × n, row-major; `accumulate` adds to it) = lhs · rhs in bf16 with f32 sums.
    /// Operand strides are (row stride, column stride).
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(
        self,
        m: usize,
        n: usize,
        k: usize,
        dst: &mut [f32],
        accumulate: bool,
        lhs: &[f32],
        (lhs_rs, lhs_cs): (usize, usize),
        rhs: &[f32],
        (rhs_rs, rhs_cs): (usize, usize),
    ) {
        assert!(dst.len() >= m * n);
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            if !accumulate {
                dst[..m * n].fill(0.0);
            }
            return;
        }
        let a = pack::<MR>(Some(self), lhs, m, k, (lhs_rs, lhs_cs));
        // B's columns are the packed rows.
        let b = pack::<NR>(Some(self), rhs, n, k, (rhs_cs, rhs_rs));
        let k2 = k.div_ceil(2);
        let mut tile = [0.0f32; MR * NR];
        // Blocks of KC row pairs keep one B panel (KC × 32 lanes, 16 KiB) in L1 across a row of
        // tiles; C accumulates over the blocks.
        for kb in (0..k2).step_by(KC) {
            let kc = KC.min(k2 - kb);
            let add = accumulate || kb > 0;
            for ip in 0..m.div_ceil(MR) {
                let a_panel = &a[ip * k2 * MR + kb * MR..][..kc * MR];
                for jp in 0..n.div_ceil(NR) {
                    let b_panel = &b[jp * k2 * NR + kb * NR..][..kc * NR];
                    let rows = MR.min(m - ip * MR);
                    let cols = NR.min(n - jp * NR);
                    if rows == MR && cols == NR {
                        // A whole tile: the kernel updates C in place.
                        let c = &mut dst[ip * MR * n + jp * NR..][..(MR - 1) * n + NR];
                        // SAFETY: `self` proves AVX512-BF16; the panels hold kc rows of MR
                        // and NR lanes; `c` covers MR rows of NR values at row stride n.
                        #[cfg(target_arch = "x86_64")]
                        unsafe {
                            kernel(kc, a_panel, b_panel, c.as_mut_ptr(), n, add)
                        };
                        continue;
                    }
                    // SAFETY: as above, into the MR × NR scratch tile.
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        kernel(kc, a_panel, b_panel, tile.as_mut_ptr(), NR, false)
                    };
                    for r in 0..rows {
                        let out = &mut dst[(ip * MR + r) * n + jp * NR..][..cols];
                        let sums = &tile[r * NR..r * NR + cols];
                        if add {
                            out.iter_mut().zip(sums).for_each(|(o, s)| *o += s);
                        } else {
                            out.copy_from_slice(sums);
                        }
                    }
                }
            }
        }
    }
}

/// C (MR × NR at row stride `ldc`; `add` adds to it) = A panel · B panel, over k2 row pairs.
///
/// # Safety
/// The CPU must have AVX512-F and AVX512-BF16, the panels must hold k2 rows of MR and NR
/// lanes, and `c` must point to MR rows of NR writable values, `ldc` apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn kernel(k2: usize, a: &[u32], b: &[u32], c: *mut f32, ldc: usize, add: bool) {
    debug_assert!(a.len() >= k2 * MR && b.len() >= k2 * NR);
    // SAFETY (whole body): the caller guarantees the features, the panels' lengths and the
    // MR × NR values behind `c`; every index below stays inside them.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        for p in 0..k2 {
            // p < k2, so every read is inside the panels.
            let b0: __m512bh =
                std::mem::transmute(_mm512_loadu_si512(b.as_ptr().add(p * NR).cast()));
            let b1: __m512bh =
                std::mem::transmute(_mm512_loadu_si512(b.as_ptr().add(p * NR + 16).cast()));
            for (r, acc) in acc.iter_mut().enumerate() {
                let a: __m512bh =
                    std::mem::transmute(_mm512_set1_epi32(*a.get_unchecked(p * MR + r) as i32));
                acc[0] = _mm512_dpbf16_ps(acc[0], a, b0);
                acc[1] = _mm512_dpbf16_ps(acc[1], a, b1);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let row = c.add(r * ldc);
            let (mut lo, mut hi) = (acc[0], acc[1]);
            if add {
                lo = _mm512_add_ps(lo, _mm512_loadu_ps(row));
                hi = _mm512_add_ps(hi, _mm512_loadu_ps(row.add(16)));
            }
            _mm512_storeu_ps(row, lo);
            _mm512_storeu_ps(row.add(16), hi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3f80);
        // 1 + 2⁻⁸ is halfway between bf16 neighbours 1 and 1 + 2⁻⁷: ties go to the even one, 1.
        assert_eq!(to_bf16(1.0 + 1.0 / 256.0), 0x3f80);
        // Just above halfway rounds up.
        assert_eq!(to_bf16(1.0 + 1.0 / 256.0 + 1.0 / 65536.0), 0x3f81);
        assert_eq!(to_bf16(-2.0), 0xc000);
        assert!(f32::from_bits(u32::from(to_bf16(f32::NAN)) << 16).is_nan());
    }

    /// Packing, on every CPU: each (row, pair) slot holds the pair of the rounded values at
    /// (r, 2·p2) and (r, 2·p2 + 1), zero past the operand; with the kernel, its vectorised
    /// packing gives the same lanes.
    #[test]
    fn packing_puts_every_pair_in_its_slot() {
        for &(rows, k, row_major) in &[
            (1, 1, true),
            (9, 7, true),
            (17, 64, false),
            (40, 67, true),
            (33, 35, false),
        ] {
            let data: Vec<f32> = (0..rows * k).map(|i| (i as f32 - 11.0) / 7.0).collect();
            let strides = if row_major { (k, 1) } else { (1, rows) };
            let at = |r: usize, p: usize| {
                if r < rows && p < k {
                    data[r * strides.0 + p * strides.1]
                } else {
                    0.0
                }
            };
            let packed = pack::<MR>(None, &data, rows, k, strides);
            let k2 = k.div_ceil(2);
            assert_eq!(packed.len(), rows.div_ceil(MR) * k2 * MR);
            for r in 0..rows.div_ceil(MR) * MR {
                for p2 in 0..k2 {
                    let slot = (r / MR) * k2 * MR + p2 * MR + r % MR;
                    assert_eq!(
                        packed[slot],
                        pair(at(r, 2 * p2), at(r, 2 * p2 + 1)),
                        "({rows},{k}) r {r} p2 {p2}"
                    );
                }
            }
            if let Some(kernel) = Bf16Kernel::detect() {
                assert_eq!(pack::<MR>(Some(kernel), &data, rows, k, strides), packed);
                assert_eq!(
                    pack::<NR>(Some(kernel), &data, rows, k, strides),
                    pack::<NR>(None, &data, rows, k, strides)
                );
            } else {
                eprintln!("SKIPPED vectorised packing: this CPU has no AVX512-BF16 (scalar packing tested)");
            }
        }
    }

    /// The product agrees with an f64 product of the bf16-rounded operands, for shapes with
    /// edge tiles and odd k, both transposes, overwriting and accumulating.
    #[test]
    fn matches_a_reference_product() {
        let Some(kernel) = Bf16Kernel::detect() else {
            eprintln!("SKIPPED bf16 product test: this CPU has no AVX512-BF16 (packing is tested without it)");
            return;
        };
        let round = |x: f32| f32::from_bits(u32::from(to_bf16(x)) << 16) as f64;
        for &(m, n, k) in &[
            (1, 1, 1),
            (9, 33, 7),
            (17, 70, 64),
            (8, 32, 2),
            (40, 37, 67),
            (9, 40, 300),
        ] {
            let lhs: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
                .collect();
            let rhs: Vec<f32> = (0..k * n)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 13.0)
                .collect();
            // lhs row-major (k, 1); rhs given transposed: element (p, j) at j * k + p.
            let mut dst = vec![1.0f32; m * n];
            kernel.matmul(m, n, k, &mut dst, true, &lhs, (k, 1), &rhs, (1, k));
            for i in 0..m {
                for j in 0..n {
                    let exact: f64 = (0..k)
                        .map(|p| round(lhs[i * k + p]) * round(rhs[j * k + p]))
                        .sum();
                    let got = dst[i * n + j] as f64;
                    assert!(
                        (got - 1.0 - exact).abs() < 1e-4 * (1.0 + exact.abs()),
                        "({m},{n},{k}) at ({i},{j}): {got} vs {}",
                        exact + 1.0
                    );
                }
            }
            // The other operand order: lhs column-major, rhs row-major.
            let lhs_t: Vec<f32> = (0..k * m).map(|i| lhs[(i % m) * k + i / m]).collect();
            let rhs_t: Vec<f32> = (0..k * n).map(|i| rhs[(i % n) * k + i / n]).collect();
            let mut other = vec![1.0f32; m * n];
            kernel.matmul(m, n, k, &mut other, true, &lhs_t, (1, m), &rhs_t, (n, 1));
            assert_eq!(other, dst, "({m},{n},{k}): packing orders disagree");
            let mut fresh = vec![7.0f32; m * n];
            kernel.matmul(m, n, k, &mut fresh, false, &lhs, (k, 1), &rhs, (1, k));
            for (f, d) in fresh.iter().zip(&dst) {
                assert!((f + 1.0 - d).abs() < 1e-4 * (1.0 + d.abs()));
            }
        }
    }
}
