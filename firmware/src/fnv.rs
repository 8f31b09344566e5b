//! 64-bit FNV-1a, to fingerprint images and blobs in the log.
//!
//! `h₀ = 0xcbf29ce484222325`, `hᵢ₊₁ = (hᵢ ⊕ byteᵢ) · 0x100000001b3 (mod 2⁶⁴)`.

/// FNV-1a 64 offset basis.
const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64 prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// FNV-1a 64 of the little-endian bytes of `values`' bit patterns.
#[cfg_attr(nudge_int8, allow(dead_code))] // the int8 run hashes bytes only
pub fn hash_f32(values: &[f32]) -> u64 {
    values
        .iter()
        .flat_map(|v| v.to_bits().to_le_bytes())
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}
