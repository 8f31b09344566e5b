//! Cortex-M4F inner loops: the same sums as the portable loops, with multi-register loads.
//!
//! LLVM loads one float per instruction on the Cortex-M4F (`vldr`), so a multiply-accumulate
//! costs three instructions. These loops load eight consecutive floats per `vldmia` and
//! accumulate with `vmla.f32`, the **non-fused** multiply-accumulate (the product is
//! rounded to f32 before it is added, exactly like Rust's `a * b + c`; LLVM itself selects
//! `vmla` for that expression on this target). Each lane and each element is accumulated
//! in the order the portable code documents, so results are the same bits; the
//! host/firmware agreement test (`tests/tests/firmware_agreement.rs`) checks exactly that.
#![allow(unsafe_code)]

use super::reduce::LANES;

/// `acc[l] += a[k][l] · b[k][l]` for `k = 0, 1, …` in order: the chunk loop of
/// [`dot_lanes`](super::reduce::dot_lanes).
#[inline]
pub(crate) fn dot_chunks(a: &[[f32; LANES]], b: &[[f32; LANES]], acc: &mut [f32; LANES]) {
    let chunks = a.len().min(b.len());
    if chunks == 0 {
        return;
    }
    // SAFETY: the loop reads `chunks` 32-byte chunks from `a` and from `b`, both at least
    // that long, and reads and writes the 32 bytes of `acc`; every register it changes is
    // declared, and it touches no stack.
    unsafe {
        core::arch::asm!(
            "vldmia {acc}, {{s0-s7}}",
            "2:",
            "vldmia {a}!, {{s8-s15}}",
            "vldmia {b}!, {{s16-s23}}",
            "vmla.f32 s0, s8, s16",
            "vmla.f32 s1, s9, s17",
            "vmla.f32 s2, s10, s18",
            "vmla.f32 s3, s11, s19",
            "vmla.f32 s4, s12, s20",
            "vmla.f32 s5, s13, s21",
            "vmla.f32 s6, s14, s22",
            "vmla.f32 s7, s15, s23",
            "subs {n}, {n}, #1",
            "bne 2b",
            "vstmia {acc}, {{s0-s7}}",
            acc = in(reg) acc.as_mut_ptr(),
            a = inout(reg) a.as_ptr() => _,
            b = inout(reg) b.as_ptr() => _,
            n = inout(reg) chunks => _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            options(nostack),
        );
    }
}

/// `o = (((o + g₀w₀) + g₁w₁) + g₂w₂) + g₃w₃` element by element over whole chunks: the
/// four-row step of [`matvec_transposed_acc`](super::transposed::matvec_transposed_acc).
#[inline]
pub(crate) fn add_scaled4_chunks(
    out: &mut [[f32; LANES]],
    rows: [&[[f32; LANES]]; 4],
    gains: [f32; 4],
) {
    let chunks = rows.iter().fold(out.len(), |n, r| n.min(r.len()));
    if chunks == 0 {
        return;
    }
    // SAFETY: the loop reads the 16 bytes of `gains`, `chunks` 32-byte chunks from each row,
    // and reads and writes `chunks` chunks of `out`, all at least that long; every register it changes is
    // declared, and it touches no stack.
    unsafe {
        core::arch::asm!(
            "vldmia {g}, {{s16-s19}}",
            "2:",
            "vldmia {o}, {{s0-s7}}",
            "vldmia {w0}!, {{s8-s15}}",
            "vmla.f32 s0, s8, s16",
            "vmla.f32 s1, s9, s16",
            "vmla.f32 s2, s10, s16",
            "vmla.f32 s3, s11, s16",
            "vmla.f32 s4, s12, s16",
            "vmla.f32 s5, s13, s16",
            "vmla.f32 s6, s14, s16",
            "vmla.f32 s7, s15, s16",
            "vldmia {w1}!, {{s8-s15}}",
            "vmla.f32 s0, s8, s17",
            "vmla.f32 s1, s9, s17",
            "vmla.f32 s2, s10, s17",
            "vmla.f32 s3, s11, s17",
            "vmla.f32 s4, s12, s17",
            "vmla.f32 s5, s13, s17",
            "vmla.f32 s6, s14, s17",
            "vmla.f32 s7, s15, s17",
            "vldmia {w2}!, {{s8-s15}}",
            "vmla.f32 s0, s8, s18",
            "vmla.f32 s1, s9, s18",
            "vmla.f32 s2, s10, s18",
            "vmla.f32 s3, s11, s18",
            "vmla.f32 s4, s12, s18",
            "vmla.f32 s5, s13, s18",
            "vmla.f32 s6, s14, s18",
            "vmla.f32 s7, s15, s18",
            "vldmia {w3}!, {{s8-s15}}",
            "vmla.f32 s0, s8, s19",
            "vmla.f32 s1, s9, s19",
            "vmla.f32 s2, s10, s19",
            "vmla.f32 s3, s11, s19",
            "vmla.f32 s4, s12, s19",
            "vmla.f32 s5, s13, s19",
            "vmla.f32 s6, s14, s19",
            "vmla.f32 s7, s15, s19",
            "vstmia {o}!, {{s0-s7}}",
            "subs {n}, {n}, #1",
            "bne 2b",
            o = inout(reg) out.as_mut_ptr() => _,
            w0 = inout(reg) rows[0].as_ptr() => _,
            w1 = inout(reg) rows[1].as_ptr() => _,
            w2 = inout(reg) rows[2].as_ptr() => _,
            w3 = inout(reg) rows[3].as_ptr() => _,
            n = inout(reg) chunks => _,
            g = in(reg) gains.as_ptr(),
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            options(nostack),
        );
    }
}
