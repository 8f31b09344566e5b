//! Zero-copy, checked views of an [`Mlp`] over bytes or f32 slices.
//!
//! The byte layout is documented on [`MlpParams`]; it is also the order in which a
//! safetensors file with PyTorch names stores the tensor data when written in that order.

use crate::error::Error;
use crate::model::{Mlp, MlpParams};

impl<'w, const IN: usize, const HIDDEN: usize, const OUT: usize> Mlp<'w, IN, HIDDEN, OUT> {
    /// Size of the byte layout in bytes.
    pub const BYTES: usize = MlpParams::<IN, HIDDEN, OUT>::LEN * 4;

    /// A model viewing `bytes` in place (see the [layout](MlpParams)). Fails on a wrong length
    /// ([`Error::ByteLength`]), a start not 4-byte aligned ([`Error::Misaligned`]), or a
    /// non-finite weight ([`Error::NonFiniteWeight`]). The bytes must be little-endian,
    /// which every target nudge supports is.
    pub fn from_bytes(bytes: &'w [u8]) -> Result<Self, Error> {
        if bytes.len() != Self::BYTES {
            return Err(Error::ByteLength { expected: Self::BYTES, found: bytes.len() });
        }
        let floats: &[f32] = bytemuck::try_cast_slice(bytes)
            .map_err(|_| Error::Misaligned { required: core::mem::align_of::<f32>() })?;
        Self::from_slice(floats)
    }

    /// A model viewing one flat f32 slice in the [layout](MlpParams) order.
    pub fn from_slice(floats: &'w [f32]) -> Result<Self, Error> {
        let expected = MlpParams::<IN, HIDDEN, OUT>::LEN;
        let length_error = Error::ByteLength { expected: expected * 4, found: floats.len() * 4 };
        if floats.len() != expected {
            return Err(length_error);
        }
        let (w1, rest) = floats.split_at(HIDDEN * IN);
        let (b1, rest) = rest.split_at(HIDDEN);
        let (w2, b2) = rest.split_at(OUT * HIDDEN);
        Self::from_slices(w1, b1, w2, b2).ok_or(length_error)?
    }

    /// A model viewing four flat tensors (as stored in a safetensors file). Returns `None`
    /// when a tensor has the wrong number of elements, `Some(Err)` on non-finite weights.
    pub fn from_slices(
        fc1_weight: &'w [f32],
        fc1_bias: &'w [f32],
        fc2_weight: &'w [f32],
        fc2_bias: &'w [f32],
    ) -> Option<Result<Self, Error>> {
        let w1: &[[f32; IN]] = fc1_weight.as_chunks::<IN>().0;
        let w2: &[[f32; HIDDEN]] = fc2_weight.as_chunks::<HIDDEN>().0;
        if w1.len() * IN != fc1_weight.len() || w2.len() * HIDDEN != fc2_weight.len() {
            return None;
        }
        Some(Self::from_parts(
            w1.try_into().ok()?,
            fc1_bias.try_into().ok()?,
            w2.try_into().ok()?,
            fc2_bias.try_into().ok()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Classifier;

    type Tiny<'w> = Mlp<'w, 3, 2, 2>;

    /// A 4-byte aligned buffer for layout tests.
    #[repr(C, align(4))]
    struct Aligned([u8; 4 * 16 + 4]);

    #[rustfmt::skip]
    const FLOATS: [f32; 16] = [
        1.0, 0.0, -1.0,   0.5, 0.5, 0.5,   // fc1.weight [2][3]
        0.0, 0.1,                          // fc1.bias
        1.0, -1.0,  -1.0, 1.0,             // fc2.weight [2][2]
        0.0, 0.0,                          // fc2.bias
        9.0, 9.0,                          // (two spare floats for length tests)
    ];

    fn aligned_bytes() -> Aligned {
        let mut buf = Aligned([0; 68]);
        for (chunk, f) in buf.0.chunks_exact_mut(4).zip(FLOATS) {
            chunk.copy_from_slice(&f.to_le_bytes());
        }
        buf
    }

    #[test]
    fn reads_the_documented_layout() {
        let buf = aligned_bytes();
        let model = Tiny::from_bytes(&buf.0[..Tiny::BYTES]).unwrap();
        let mut ws = model.workspace();
        let p = model.predict(&[1.0, 0.0, 0.0], &mut ws).unwrap();
        // a = [1, 0.6], h = [1, 0.6], z = [0.4, -0.4]
        assert!((p.logits()[0] - 0.4).abs() < 1e-6 && (p.logits()[1] + 0.4).abs() < 1e-6);
        assert_eq!(p.class, 0);
    }

    #[test]
    fn rejects_wrong_length_misalignment_and_non_finite_weights() {
        let buf = aligned_bytes();
        assert_eq!(
            Tiny::from_bytes(&buf.0[..Tiny::BYTES + 4]).unwrap_err(),
            Error::ByteLength { expected: 56, found: 60 }
        );
        assert_eq!(
            Tiny::from_bytes(&buf.0[1..=Tiny::BYTES]).unwrap_err(),
            Error::Misaligned { required: 4 }
        );
        let mut floats = FLOATS;
        floats[9] = f32::NAN;
        assert_eq!(
            Tiny::from_slice(&floats[..14]).unwrap_err(),
            Error::NonFiniteWeight { index: 9 }
        );
        assert!(
            Tiny::from_slices(&floats[..5], &floats[6..8], &floats[8..12], &floats[12..14])
                .is_none()
        );
    }
}
