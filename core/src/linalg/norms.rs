//! Perturbation sizes: L∞, L2 and L0 distances between two vectors.
//!
//! `‖a−b‖∞ = maxᵢ |aᵢ−bᵢ|`, `‖a−b‖₂ = √(Σᵢ (aᵢ−bᵢ)²)` (the sum in [`dot`](super::dot)'s lane
//! order, the root correctly rounded), `‖a−b‖₀ = #{i : aᵢ ≠ bᵢ}`. Pairs are taken up to the
//! shorter of `a` and `b`.

use super::reduce::{LANES, combine_lanes};

/// Largest absolute element-wise difference.
#[inline]
pub fn linf_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| {
        let d = (x - y).abs();
        if d > m { d } else { m }
    })
}

/// Euclidean distance, summed in the fixed lane order.
#[inline]
pub fn l2_distance(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let d = x - y;
        acc[i % LANES] += d * d;
    }
    crate::math::sqrt(combine_lanes(acc))
}

/// Euclidean norm `‖a‖₂`, summed in the fixed lane order.
#[inline]
pub fn l2_norm(a: &[f32]) -> f32 {
    crate::math::sqrt(combine_lanes(super::reduce::dot_lanes(a, a)))
}

/// Number of elements that differ.
#[inline]
pub fn l0_distance(a: &[f32], b: &[f32]) -> u32 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_of_a_known_pair() {
        let a = [0.0f32, 0.5, 1.0, 0.25];
        let b = [0.0f32, 0.1, 0.0, 0.25];
        assert_eq!(linf_distance(&a, &b), 1.0);
        assert_eq!(l0_distance(&a, &b), 2);
        let want = (0.4f64 * 0.4 + 1.0).sqrt();
        assert!((f64::from(l2_distance(&a, &b)) - want).abs() < 1e-6);
        assert_eq!(l2_norm(&[3.0f32, 4.0]), 5.0);
    }
}
