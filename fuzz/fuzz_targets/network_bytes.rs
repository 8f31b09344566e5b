//! Fuzzes the core's checked view of a network blob (`Network::from_bytes`) and the passes
//! on whatever it accepts.
//!
//! Input: a 4-byte-aligned copy of the fuzz bytes (and a misaligned one). Any panic is a
//! bug: every bad magic, version, layer record, shape, length, alignment or weight must be
//! a typed error. A network the view accepts is run forward and backward on an input made
//! from its first parameters, with an arena of exactly `arena_len()` elements.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nudge_core::Network;

/// Networks larger than this (arena or input) are accepted by the view but not run: time
/// and the harness's own buffers, not safety (a pooling layer can take 2²⁸ inputs to one
/// output, so a small arena does not bound the input the harness allocates).
const MAX_ARENA: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let mut words = vec![0u32; data.len() / 4 + 2];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    bytes[..data.len()].copy_from_slice(data);
    let _ = Network::from_bytes(&bytes[1..=data.len()]);
    let Ok(network) = Network::from_bytes(&bytes[..data.len()]) else { return };
    if network.arena_len() > MAX_ARENA
        || network.input_len() > MAX_ARENA
        || network.macs() > 1 << 20
    {
        return;
    }
    let x: Vec<f32> = (0..network.input_len()).map(|i| (i % 7) as f32 / 7.0).collect();
    let mut arena = vec![0.0f32; network.arena_len()];
    if network.forward(&x, &mut arena).is_err() {
        return;
    }
    let logit_grad = vec![1.0f32; network.classes()];
    let mut dx = vec![0.0f32; x.len()];
    let mut dtheta = vec![0.0f32; network.param_count()];
    network
        .backward(&x, &mut arena, &logit_grad, Some(&mut dx), Some(&mut dtheta))
        .expect("buffers of the sizes the network states are accepted");
});
