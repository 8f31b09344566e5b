//! Fuzzes the core's checked byte view of a model, and the kernel on whatever it accepts.
//!
//! Input: a 4-byte-aligned copy of the fuzz bytes, viewed as a tiny `Mlp<8, 4, 3>` (the
//! first bytes), with the rest as an input image. Any panic is a bug: the view must return a
//! typed error for every wrong length, alignment or non-finite weight, and the kernel must
//! return a typed error for every non-finite input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nudge_core::attack::AttackScratch;
use nudge_core::{Attack, Classifier, Goal, Mlp, PgdLinf};

type Tiny<'w> = Mlp<'w, 8, 4, 3>;

fuzz_target!(|data: &[u8]| {
    // Copy into f32 storage so the view sees aligned bytes; also try it misaligned.
    let mut words = vec![0f32; data.len() / 4 + 2];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    bytes[..data.len()].copy_from_slice(data);
    let _ = Tiny::from_bytes(&bytes[1..=data.len().min(Tiny::BYTES)]);
    let Some(model_bytes) = bytes.get(..Tiny::BYTES.min(data.len())) else { return };
    let Ok(model) = Tiny::from_bytes(model_bytes) else { return };

    let rest = &data[Tiny::BYTES..];
    let mut x = [0.0f32; 8];
    for (xi, chunk) in x.iter_mut().zip(rest.chunks_exact(4)) {
        *xi = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    let class = usize::from(rest.get(32).copied().unwrap_or(0) % 4);
    let target = usize::from(rest.get(33).copied().unwrap_or(1) % 4);
    let _ = model.predict(&x, &mut model.workspace());
    let mut adversarial = [0.0f32; 8];
    let mut scratch = AttackScratch::<_, Vec<f32>>::for_model(&model);
    let attack = PgdLinf::new(0.1, 0.02, 5);
    let goal = Goal::targeted(class, target);
    let _ = attack.run(&model, &x, goal, &mut adversarial, &mut scratch, &mut ());
});
