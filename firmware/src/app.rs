//! The on-device run, generic over the board's traits.
//!
//! For every sample digit (class `src`) and every other class `tgt` (or the next
//! `TARGETS_PER_DIGIT`, set at build time by `NUDGE_TARGETS`): a targeted
//! [`GradientAscent`] (the seed's attack) and, for a subset of pairs, a targeted [`PgdLinf`].
//! Each attack logs one machine-readable line; then one adversarial digit is drawn and a
//! summary printed. The host recomputes every line bit for bit
//! (`tests/tests/firmware_agreement.rs`).
//!
//! Log lines (`defmt::println!`, one per event, `key=value` separated by spaces):
//! * `boot board=… kernel=mlp|network arch=… hidden=…|arena=… model_fnv=0x… digits_fnv=0x… unit=… resolution=…`
//! * `config method=gradient step=… iters=… stop_p=… targets=…` and
//!   `config method=pgd_linf eps=… alpha=… iters=… every=…`
//! * `digit src=… class=… p=…` (the model's prediction for each sample)
//! * `attack method=… src=… tgt=… ok=… iters=… cls=… p0=… p1=… linf=… l2=… l0=… cost=… hash=0x…`
//!   (`p0`/`p1`: target probability before/after; `cost`: the whole attack in `unit`s;
//!   `hash`: FNV-1a 64 of the adversarial image's f32 bits, little-endian)
//! * `bench calls=… active=… per_step=… macs=… milli_per_mac=…`
//! * `art-source src=… tgt=… l2=…` and `art …` (`ART_HEIGHT` lines: the original and the least
//!   perturbed successful gradient attack, side by side), `summary …`, `stack peak=… size=…`, `verdict ok`

use embedded_hal::{delay::DelayNs, digital::OutputPin};
use nudge_core::{
    Attack, AttackReport, Classifier, EarlyStop, Error, Goal, GradientAscent, Objective, PgdLinf,
    attack::AttackScratch,
};

use crate::{
    art,
    assets::{self, ARCH, CLASSES, INPUT, Image, Model, TARGETS_PER_DIGIT, Workspace},
    board::{self, Io},
    fnv,
    ticks::TickCounter,
    verdict,
};

/// Gradient ascent step size.
pub const GRADIENT_STEP: f32 = 0.05;
/// Gradient ascent iteration budget.
pub const GRADIENT_ITERS: u32 = 100;
/// Gradient ascent stops once the target has this probability.
pub const GRADIENT_STOP_P: f32 = 0.9;
/// PGD L∞ radius.
pub const PGD_EPSILON: f32 = 0.1;
/// PGD L∞ step.
pub const PGD_ALPHA: f32 = 0.01;
/// PGD L∞ iteration budget (stops on success).
pub const PGD_ITERS: u32 = 40;
/// PGD runs on the pairs whose index `src·9 + k` (k-th target of `src`) is a multiple of this.
pub const PGD_EVERY: usize = 1;
/// Gradient evaluations timed by the benchmark.
pub const BENCH_CALLS: u32 = 8;

/// The attack settings, shared with the host test through the `config` log lines.
pub fn gradient_attack() -> GradientAscent {
    GradientAscent {
        early_stop: EarlyStop::Confidence(GRADIENT_STOP_P),
        ..GradientAscent::new(GRADIENT_STEP, GRADIENT_ITERS)
    }
}

/// The PGD L∞ settings.
pub fn pgd_attack() -> PgdLinf {
    PgdLinf::new(PGD_EPSILON, PGD_ALPHA, PGD_ITERS)
}

/// Working memory of the run, in one static (about 7 KiB for the MLP at H = 64; a network's
/// arena plus 7 KiB).
struct Buffers {
    /// Model workspace and gradient.
    scratch: AttackScratch<Workspace, [f32; INPUT]>,
    /// The adversarial image being built.
    adversarial: Image,
    /// Shade levels of the adversarial digit to draw.
    art: [u8; INPUT],
}

/// Totals for the summary.
#[derive(Default)]
struct Tally {
    /// Attacks run.
    attempts: u32,
    /// Attacks that reached their target.
    successes: u32,
    /// Sum of iterations.
    iterations: u32,
    /// Sum of attack costs, in tick units.
    cost: u64,
}

impl Tally {
    fn add(&mut self, r: &AttackReport, cost: u64) {
        self.attempts += 1;
        self.successes += u32::from(r.success);
        self.iterations += r.iterations;
        self.cost += cost;
    }
}

/// Takes the run's buffers (once).
fn buffers() -> &'static mut Buffers {
    use core::sync::atomic::{AtomicBool, Ordering};
    static TAKEN: AtomicBool = AtomicBool::new(false);
    static mut BUFFERS: Buffers = Buffers {
        scratch: AttackScratch { model: assets::workspace(), gradient: [0.0; INPUT] },
        adversarial: [0.0; INPUT],
        art: [0; INPUT],
    };
    assert!(!TAKEN.swap(true, Ordering::AcqRel), "buffers taken twice");
    let buffers = &raw mut BUFFERS;
    // SAFETY: the flag above hands out this reference at most once, and nothing else
    // names `BUFFERS`.
    unsafe { &mut *buffers }
}

/// Runs everything, lights the verdict's LED and returns whether the run completed.
pub fn run<Ok: OutputPin, Err: OutputPin, D: DelayNs, T: TickCounter>(
    io: &mut Io<Ok, Err, D, T>,
) -> bool {
    verdict::run(io, attacks)
}

/// The attack run proper.
fn attacks<T: TickCounter>(ticks: &mut T) -> Result<(), Error> {
    let model = assets::model()?;
    let digits = assets::digits();
    #[cfg(not(nudge_network))]
    let (size_key, size) = ("hidden", assets::HIDDEN);
    #[cfg(nudge_network)]
    let (size_key, size) = ("arena", assets::ARENA);
    defmt::println!(
        "boot board={=str} kernel={=str} arch={=str} {=str}={=usize} model_fnv={=u64:#018x} digits_fnv={=u64:#018x} unit={=str} resolution={=u32}",
        board::NAME,
        assets::KERNEL,
        ARCH,
        size_key,
        size,
        fnv::hash_bytes(assets::model_bytes()),
        fnv::hash_bytes(assets::digit_bytes()),
        T::UNIT,
        T::RESOLUTION
    );
    let buf = buffers();

    for (src, image) in digits.iter().enumerate() {
        let p = model.predict(image, &mut buf.scratch.model)?;
        defmt::println!(
            "digit src={=usize} class={=usize} p={=f32}",
            src,
            p.class,
            p.probability(src)
        );
    }

    bench(&model, &digits[0], buf, ticks)?;

    let gradient = gradient_attack();
    let pgd = pgd_attack();
    defmt::println!(
        "config method=gradient step={=f32} iters={=u32} stop_p={=f32} targets={=usize}",
        GRADIENT_STEP,
        GRADIENT_ITERS,
        GRADIENT_STOP_P,
        TARGETS_PER_DIGIT
    );
    defmt::println!(
        "config method=pgd_linf eps={=f32} alpha={=f32} iters={=u32} every={=usize}",
        PGD_EPSILON,
        PGD_ALPHA,
        PGD_ITERS,
        PGD_EVERY
    );

    let mut grad_tally = Tally::default();
    let mut pgd_tally = Tally::default();
    let mut drawn: Option<(usize, usize, f32)> = None;
    let mut pair = 0usize;
    for (src, image) in digits.iter().enumerate() {
        // The next TARGETS_PER_DIGIT classes after `src` (cyclically), in ascending order.
        let attacked = |t: usize| t != src && (t + CLASSES - src) % CLASSES <= TARGETS_PER_DIGIT;
        for tgt in (0..CLASSES).filter(|&t| attacked(t)) {
            let goal = Goal::targeted(src, tgt);

            let (report, cost) = timed(ticks, || {
                gradient.run(&model, image, goal, &mut buf.adversarial, &mut buf.scratch, &mut ())
            })?;
            log_attack("gradient", src, tgt, &report, cost, &buf.adversarial);
            grad_tally.add(&report, cost);
            // Draw the least perturbed (in L2) successful gradient attack.
            if report.success && drawn.is_none_or(|(_, _, l2)| report.l2 < l2) {
                drawn = Some((src, tgt, report.l2));
                for (l, &v) in buf.art.iter_mut().zip(&buf.adversarial) {
                    *l = art::level(v);
                }
            }

            if pair.is_multiple_of(PGD_EVERY) {
                let (report, cost) = timed(ticks, || {
                    pgd.run(&model, image, goal, &mut buf.adversarial, &mut buf.scratch, &mut ())
                })?;
                log_attack("pgd_linf", src, tgt, &report, cost, &buf.adversarial);
                pgd_tally.add(&report, cost);
            }
            pair += 1;
        }
    }

    if let Some((src, tgt, l2)) = drawn {
        defmt::println!("art-source src={=usize} tgt={=usize} l2={=f32}", src, tgt, l2);
        art::draw(&digits[src], &buf.art);
    }
    summary("gradient", &grad_tally);
    summary("pgd_linf", &pgd_tally);
    Ok(())
}

/// Runs `f` and returns its result with its cost in tick units.
fn timed<T: TickCounter, R>(
    ticks: &mut T,
    f: impl FnOnce() -> Result<R, Error>,
) -> Result<(R, u64), Error> {
    let t0 = ticks.now();
    let r = f()?;
    let t1 = ticks.now();
    Ok((r, t1 - t0))
}

/// Logs one attack line (see the module docs).
fn log_attack(method: &str, src: usize, tgt: usize, r: &AttackReport, cost: u64, adv: &Image) {
    defmt::println!(
        "attack method={=str} src={=usize} tgt={=usize} ok={=u8} iters={=u32} cls={=usize} p0={=f32} p1={=f32} linf={=f32} l2={=f32} l0={=u32} cost={=u64} hash={=u64:#018x}",
        method,
        src,
        tgt,
        u8::from(r.success),
        r.iterations,
        r.final_class,
        r.initial_watched_probability,
        r.final_watched_probability,
        r.linf,
        r.l2,
        r.l0,
        cost,
        fnv::hash_f32(adv)
    );
}

/// Logs the summary of one method.
fn summary(method: &str, t: &Tally) {
    let evals = u64::from(t.iterations) + 2 * u64::from(t.attempts);
    defmt::println!(
        "summary method={=str} successes={=u32} attempts={=u32} mean_iters_milli={=u32} cost={=u64} cost_per_eval={=u64}",
        method,
        t.successes,
        t.attempts,
        (t.iterations * 1000).checked_div(t.attempts).unwrap_or(0),
        t.cost,
        t.cost.checked_div(evals).unwrap_or(0)
    );
}

/// Times one attack step's dominant work, `∇ₓ log p(1)` at a digit, [`BENCH_CALLS`] times;
/// its MACs are [`assets::gradient_macs`]. `active` is the MLP's active hidden units (0 for
/// a network).
fn bench<T: TickCounter>(
    model: &Model,
    x: &Image,
    buf: &mut Buffers,
    ticks: &mut T,
) -> Result<(), Error> {
    let objective = Objective::Targeted { target: 1 };
    // Warm-up (and the active-unit count of this input).
    model.input_gradient(x, objective, &mut buf.scratch.model, &mut buf.scratch.gradient)?;
    #[cfg(not(nudge_network))]
    let active = buf.scratch.model.hidden().iter().filter(|&&h| h > 0.0).count();
    #[cfg(nudge_network)]
    let active = 0;
    let (nominal, executed) = assets::gradient_macs(model, &buf.scratch.model);
    let t0 = ticks.now();
    for _ in 0..BENCH_CALLS {
        model.input_gradient(x, objective, &mut buf.scratch.model, &mut buf.scratch.gradient)?;
    }
    let per_step = (ticks.now() - t0) / u64::from(BENCH_CALLS);
    defmt::println!(
        "bench calls={=u32} active={=usize} per_step={=u64} macs_nominal={=u64} macs_executed={=u64} milli_per_mac_nominal={=u64} milli_per_mac_executed={=u64}",
        BENCH_CALLS,
        active,
        per_step,
        nominal,
        executed,
        per_step * 1000 / nominal,
        per_step * 1000 / executed
    );
    Ok(())
}
