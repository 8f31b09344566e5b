//! A small seeded random number generator for attack random starts.
//!
//! SplitMix64 (Steele, Lea & Flood, 2014): `state += 0x9E3779B97F4A7C15`, then two
//! xor-shift-multiply rounds. Integer-only, so a seed gives the same stream on every
//! target; uniform floats take the top 24 bits, so they are exact in f32.

/// SplitMix64 generator.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float uniform on `[0, 1)`, a multiple of 2⁻²⁴.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    /// A float uniform on `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// An integer uniform on `[0, n)` (0 when `n` is 0), by Lemire's multiply-shift of
    /// the top 32 bits: no division, a bias below `n/2³²`.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n.min(u32::MAX as usize) as u64;
        (((self.next_u64() >> 32) * n) >> 32) as usize
    }

    /// `−1.0` or `1.0`, each with probability ½.
    pub fn sign(&mut self) -> f32 {
        if self.next_u64() >> 63 == 0 { -1.0 } else { 1.0 }
    }

    /// A standard normal float, by the Box–Muller transform
    /// `√(−2 ln u₁)·cos(2π u₂)` with `u₁ ∈ (0, 1]`. libm's `logf` and `cosf` are used
    /// whatever the math backend, so a seed gives the same stream everywhere.
    pub fn normal(&mut self) -> f32 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        libm::sqrtf(-2.0 * libm::logf(u1)) * libm::cosf(core::f32::consts::TAU * u2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_output_matches_the_reference_splitmix64() {
        // Reference value of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn below_covers_the_range_evenly_and_normal_has_unit_variance() {
        let mut rng = SplitMix64::new(7);
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            counts[rng.below(5)] += 1;
        }
        assert!(counts.iter().all(|&c| (9_500..10_500).contains(&c)), "{counts:?}");
        assert_eq!(SplitMix64::new(1).below(0), 0);
        let n = 100_000;
        let (mut sum, mut squares) = (0.0f64, 0.0f64);
        for _ in 0..n {
            let v = f64::from(rng.normal());
            assert!(v.is_finite());
            sum += v;
            squares += v * v;
        }
        let mean = sum / f64::from(n);
        let variance = squares / f64::from(n) - mean * mean;
        assert!(mean.abs() < 0.02 && (variance - 1.0).abs() < 0.02, "{mean} {variance}");
    }

    #[test]
    fn unit_stays_in_range() {
        let mut rng = SplitMix64::new(42);
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
