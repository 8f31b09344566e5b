//! The model and the sample digits, baked into flash by `build.rs`.

use nudge_core::{Error, Mlp};

include!(concat!(env!("OUT_DIR"), "/model.rs"));

/// Pixels per image.
pub const INPUT: usize = 28 * 28;
/// Classes (digits 0–9).
pub const CLASSES: usize = 10;

/// The firmware's model type.
pub type Model = Mlp<'static, INPUT, HIDDEN, CLASSES>;

/// One 28×28 image, row-major, pixel/255.
pub type Image = [f32; INPUT];

/// Bytes aligned for reading as f32 in place.
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

/// The model blob in nudge-core's layout (see `build.rs`).
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.bin")));

/// The sample digits: image k is of class k.
static DIGITS: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/digits.bin")));

/// A checked, zero-copy view of the model in flash.
pub fn model() -> Result<Model, Error> {
    Mlp::from_bytes(&MODEL.0)
}

/// The raw model bytes (for hashing).
pub fn model_bytes() -> &'static [u8] {
    &MODEL.0
}

/// The raw digit bytes (for hashing).
pub fn digit_bytes() -> &'static [u8] {
    &DIGITS.0
}

/// The ten sample digits, viewed in place.
pub fn digits() -> &'static [Image; CLASSES] {
    // The build script checked the length (10 × 784 f32) and the struct the alignment.
    let floats: &[f32] = bytemuck::cast_slice(&DIGITS.0);
    let (images, _) = floats.as_chunks::<INPUT>();
    images.try_into().expect("build.rs checked: 10 images")
}
