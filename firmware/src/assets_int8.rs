//! The int8 network and the sample inputs (one per class), baked into flash by `build.rs`
//! (cfg `nudge_int8`): the network's `NDGQ` blob, viewed in place by
//! [`QuantNetwork::from_bytes`], and a static int8 arena of [`ARENA`] elements. The sizes
//! (`INPUT`, `CLASSES`, …) come from the network, in `model.rs`.

use nudge_core::{Error, quant::QuantNetwork};

// The picture sizes and target count are the float run's; the int8 run draws nothing.
#[allow(dead_code)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}
pub use generated::{ARCH, ARENA, CHANNELS, CLASSES, INPUT};

/// Which kernel runs the model (for the boot line).
pub const KERNEL: &str = "int8";

/// One input of the network (f32, quantized by the network as TFLite's QUANTIZE does).
pub type Image = [f32; INPUT];

/// Bytes aligned for reading as i32/f32 in place.
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

/// The network's `NDGQ` blob (see `build.rs`).
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.bin")));

/// The sample inputs: input k is of class k.
static DIGITS: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/digits.bin")));

/// A checked, zero-copy view of the network in flash. Not inlined, so that the frames of
/// the check (the view holds 32 layer slots) are not part of the run's frame.
#[inline(never)]
pub fn network() -> Result<QuantNetwork<'static>, Error> {
    QuantNetwork::from_bytes(&MODEL.0)
}

/// The raw model bytes (for hashing).
pub fn model_bytes() -> &'static [u8] {
    &MODEL.0
}

/// The raw input bytes (for hashing).
pub fn digit_bytes() -> &'static [u8] {
    &DIGITS.0
}

/// The sample inputs, one per class, viewed in place.
pub fn digits() -> &'static [Image; CLASSES] {
    // The build script checked the length (CLASSES × INPUT f32) and the struct the alignment.
    let floats: &[f32] = bytemuck::cast_slice(&DIGITS.0);
    let (images, _) = floats.as_chunks::<INPUT>();
    images.try_into().expect("build.rs checked: one input per class")
}
