//! numpy's `np.random.default_rng(seed).permutation(rows)`, reproduced bit for bit, so that the
//! benchmark's scenarios split their rows exactly as the runs in `../shared/ANCHORS.md` did.
//! With a handful of test anomalies (glass has 7) the split alone moves AUPR by 0.1–0.2; only
//! identical splits make synthad and the anchors comparable seed by seed.
//!
//! `default_rng` is a PCG64 generator (128-bit LCG, XSL-RR output) seeded through numpy's
//! `SeedSequence`; `permutation` is a Fisher–Yates shuffle drawing each index by masked
//! rejection from 32-bit halves of the 64-bit outputs (numpy's `random_interval`). The tests
//! hold outputs printed by numpy 2.4.

/// numpy's PCG64 as `default_rng` seeds it.
pub struct NumpyRng {
    state: u128,
    increment: u128,
    /// The upper half of the last 64-bit output, which numpy hands out as the next 32-bit draw.
    spare: Option<u32>,
}

const PCG_MULTIPLIER: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

impl NumpyRng {
    /// `np.random.default_rng(seed)`.
    pub fn new(seed: u64) -> NumpyRng {
        let words = seed_sequence(seed);
        let word = |i: usize| u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32);
        let initial_state = (u128::from(word(0)) << 64) | u128::from(word(1));
        let sequence = (u128::from(word(2)) << 64) | u128::from(word(3));
        // PCG's srandom: start at 0, step, add the initial state, step.
        let mut rng = NumpyRng {
            state: 0,
            increment: (sequence << 1) | 1,
            spare: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(initial_state);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self
            .state
            .wrapping_mul(PCG_MULTIPLIER)
            .wrapping_add(self.increment);
    }

    fn next_u64(&mut self) -> u64 {
        self.step();
        let rotation = (self.state >> 122) as u32;
        (((self.state >> 64) as u64) ^ (self.state as u64)).rotate_right(rotation)
    }

    fn next_u32(&mut self) -> u32 {
        if let Some(high) = self.spare.take() {
            return high;
        }
        let next = self.next_u64();
        self.spare = Some((next >> 32) as u32);
        next as u32
    }

    /// A uniform integer in [0, max]: numpy's `random_interval`.
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        loop {
            let value = if max <= u64::from(u32::MAX) {
                u64::from(self.next_u32()) & mask
            } else {
                self.next_u64() & mask
            };
            if value <= max {
                return value;
            }
        }
    }

    /// `rng.permutation(items)`.
    pub fn permutation<T: Copy>(&mut self, items: &[T]) -> Vec<T> {
        let mut v = items.to_vec();
        for i in (1..v.len()).rev() {
            let j = self.interval(i as u64) as usize;
            v.swap(i, j);
        }
        v
    }
}

/// `SeedSequence(seed).generate_state(8, uint32)`: the eight 32-bit words PCG64 is seeded from.
fn seed_sequence(seed: u64) -> [u32; 8] {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_MULT_L: u32 = 0xca01_f9dd;
    const MIX_MULT_R: u32 = 0x4973_f715;
    let entropy: Vec<u32> = if seed >> 32 == 0 {
        vec![seed as u32]
    } else {
        vec![seed as u32, (seed >> 32) as u32]
    };
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| {
        let mut v = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| {
        let r = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let mut pool = [0u32; 4];
    for (i, p) in pool.iter_mut().enumerate() {
        *p = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..pool.len() {
        for dst in 0..pool.len() {
            if src != dst {
                pool[dst] = mix(pool[dst], hashmix(pool[src]));
            }
        }
    }
    let mut hash_const = INIT_B;
    let mut words = [0u32; 8];
    for (i, w) in words.iter_mut().enumerate() {
        let mut v = pool[i % pool.len()] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        v = v.wrapping_mul(hash_const);
        *w = v ^ (v >> 16);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcg64_matches_numpy() {
        // np.random.PCG64(0).random_raw(3)
        let mut rng = NumpyRng::new(0);
        let raw: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            raw,
            [
                11749869230777074271,
                4976686463289251617,
                755828109848996024
            ]
        );
        // np.random.SeedSequence(4).generate_state(4, np.uint32)
        assert_eq!(
            seed_sequence(4)[..4],
            [1490961094, 1819501355, 502025398, 588811876]
        );
    }

    #[test]
    fn permutations_match_numpy() {
        let range = |n: usize| (0..n).collect::<Vec<_>>();
        // np.random.default_rng(0).permutation(10)
        assert_eq!(
            NumpyRng::new(0).permutation(&range(10)),
            [4, 6, 2, 7, 3, 5, 9, 0, 8, 1]
        );
        // np.random.default_rng(4).permutation(1000)[:8]
        assert_eq!(
            NumpyRng::new(4).permutation(&range(1000))[..8],
            [413, 97, 962, 234, 668, 941, 340, 888]
        );
        // np.random.default_rng(2**40).permutation(5): a seed of two 32-bit words
        assert_eq!(
            NumpyRng::new(1 << 40).permutation(&range(5)),
            [3, 0, 2, 4, 1]
        );
        // r = np.random.default_rng(1); r.permutation(7), r.permutation(9): draws continue
        let mut rng = NumpyRng::new(1);
        assert_eq!(rng.permutation(&range(7)), [5, 0, 1, 4, 2, 6, 3]);
        assert_eq!(rng.permutation(&range(9)), [1, 7, 6, 0, 2, 3, 4, 5, 8]);
    }
}
