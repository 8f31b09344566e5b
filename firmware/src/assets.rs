//! The model and the sample inputs (one per class), baked into flash by `build.rs`, and the
//! model's kernel: the fused `Mlp` for a D-H-K MLP, the layer kernel (cfg `nudge_network`)
//! for any other network. The sizes (`INPUT`, `CLASSES`, …) come from the model, in
//! `model.rs`.

use nudge_core::Error;
#[cfg(not(nudge_network))]
use nudge_core::{Mlp, MlpWorkspace};
#[cfg(nudge_network)]
use nudge_core::{
    Network,
    network::{NetworkClassifier, NetworkWorkspace},
};

include!(concat!(env!("OUT_DIR"), "/model.rs"));

/// The firmware's model type.
#[cfg(not(nudge_network))]
pub type Model = Mlp<'static, INPUT, HIDDEN, CLASSES>;
/// The firmware's model type: the network over a static arena of [`ARENA`] f32.
#[cfg(nudge_network)]
pub type Model = NetworkClassifier<'static, [f32; ARENA], CLASSES>;

/// The model's scratch space.
#[cfg(not(nudge_network))]
pub type Workspace = MlpWorkspace<HIDDEN, CLASSES>;
/// The model's scratch space: the arena.
#[cfg(nudge_network)]
pub type Workspace = NetworkWorkspace<[f32; ARENA], CLASSES>;

/// Which kernel runs the model (for the boot line).
pub const KERNEL: &str = if cfg!(nudge_network) { "network" } else { "mlp" };

/// A zeroed workspace, in a `const` context (for the static buffers).
pub const fn workspace() -> Workspace {
    #[cfg(not(nudge_network))]
    return MlpWorkspace::new();
    #[cfg(nudge_network)]
    return NetworkWorkspace::with_arena([0.0; ARENA]);
}

/// One input of the model (an image: C×H×W, row-major, pixel/255).
pub type Image = [f32; INPUT];

/// Bytes aligned for reading as f32 in place.
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

/// The model blob in the kernel's layout (see `build.rs`).
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.bin")));

/// The sample digits: image k is of class k.
static DIGITS: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/digits.bin")));

/// A checked, zero-copy view of the model in flash. Not inlined, so that the frames of the
/// check (a network view is 3.2 KB: 32 layer slots) are not part of the run's frame.
#[inline(never)]
pub fn model() -> Result<Model, Error> {
    #[cfg(not(nudge_network))]
    return Mlp::from_bytes(&MODEL.0);
    #[cfg(nudge_network)]
    return Network::from_bytes(&MODEL.0)?.classifier();
}

/// Multiply-accumulates of one input gradient (forward and backward pass) at the input
/// `workspace` was last run on: `(nominal, executed)`.
///
/// MLP: nominal `2·(H·D + K·H)`; executed skips the first layer's backward rows of
/// inactive hidden units (`H·D + 2·K·H + active·D`). Network: both are twice the
/// forward pass's MACs (every layer's input gradient is needed, the first's included).
pub fn gradient_macs(model: &Model, workspace: &Workspace) -> (u64, u64) {
    #[cfg(not(nudge_network))]
    {
        let _ = model;
        let active = workspace.hidden().iter().filter(|&&h| h > 0.0).count();
        let nominal = 2 * (HIDDEN * INPUT + CLASSES * HIDDEN);
        let executed = HIDDEN * INPUT + 2 * CLASSES * HIDDEN + active * INPUT;
        (nominal as u64, executed as u64)
    }
    #[cfg(nudge_network)]
    {
        let _ = workspace;
        let macs = 2 * model.network().macs() as u64;
        (macs, macs)
    }
}

/// The raw model bytes (for hashing).
pub fn model_bytes() -> &'static [u8] {
    &MODEL.0
}

/// The raw digit bytes (for hashing).
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
