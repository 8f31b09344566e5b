//! Robust accuracy against the L∞ budget ε: measurement, `epsilon.csv` and `epsilon.png`.
//!
//! `robust(ε) = #{i : f(xᵢ) = yᵢ and the attack at ε fails on xᵢ} / n`, so `robust(0)` is the
//! clean accuracy. Attacks:
//! * FGSM (Goodfellow et al., 2014): `x = clip(x⁰ + ε·sign ∇ₓ CE)`, run independently per ε.
//! * PGD-k untargeted (Madry et al., 2017): `k` steps of `α = 2.5ε/k` on the cross-entropy,
//!   stopping at the first misclassification.
//! * PGD-k targeted: the same toward a target drawn per image (seeded, uniform over the
//!   other nine classes) on `log p_target`; the attack succeeds when the target is predicted.
//! * Random sign noise (a baseline, not an attack): `x = clip(x⁰ + ε·s)` with seeded random
//!   signs `s`: how much of the ε-ball is harmless.
//!
//! PGD runs over the grid in increasing ε and an image, once broken, stays broken: an
//! adversarial example within ε' ≤ ε is one within ε. At ε = 0 the ball is a single point and
//! one step is taken.

use nudge_core::attack::AttackScratch;
use nudge_core::rng::SplitMix64;
use nudge_core::{Attack, Classifier, EarlyStop, Fgsm, Goal, PgdLinf};
use plotters::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use super::{FONT, ModelReport, ReportConfig, plot_error};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::model::Net;

/// Which attack a curve measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CurveKind {
    /// One signed gradient step of size ε.
    Fgsm,
    /// Untargeted PGD L∞.
    Pgd,
    /// Targeted PGD L∞ toward a random other class.
    PgdTargeted,
    /// Random signs of size ε: the baseline of a non-adversarial change of the same size.
    Noise,
}

impl CurveKind {
    /// All kinds, in plotting order.
    pub const ALL: [CurveKind; 4] =
        [CurveKind::Noise, CurveKind::Fgsm, CurveKind::Pgd, CurveKind::PgdTargeted];

    /// Column name in `epsilon.csv`.
    pub fn key(self) -> &'static str {
        match self {
            CurveKind::Fgsm => "fgsm",
            CurveKind::Pgd => "pgd",
            CurveKind::PgdTargeted => "pgd_targeted",
            CurveKind::Noise => "random_noise",
        }
    }

    /// Legend text for `iterations` PGD steps.
    pub fn title(self, iterations: u32) -> String {
        match self {
            CurveKind::Fgsm => "FGSM".to_string(),
            CurveKind::Pgd => format!("PGD-{iterations} untargeted"),
            CurveKind::PgdTargeted => format!("PGD-{iterations} targeted (random target)"),
            CurveKind::Noise => "random ±ε noise (no attack)".to_string(),
        }
    }

    fn colour(self) -> RGBColor {
        match self {
            CurveKind::Fgsm => RGBColor(31, 119, 180),
            CurveKind::Pgd => RGBColor(214, 39, 40),
            CurveKind::PgdTargeted => RGBColor(44, 160, 44),
            CurveKind::Noise => RGBColor(148, 103, 189),
        }
    }
}

/// Robust accuracy of one attack over the ε grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// The attack.
    pub kind: CurveKind,
    /// Images still correctly classified (and not hit) at each ε.
    pub robust: Vec<usize>,
    /// `robust / images` at each ε.
    pub accuracy: Vec<f64>,
}

/// The curves of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpsilonCurves {
    /// The ε grid.
    pub epsilons: Vec<f32>,
    /// Test images attacked (the first ones of the test set).
    pub images: usize,
    /// Of which correctly classified.
    pub correct: usize,
    /// `correct / images`: what every curve starts at.
    pub clean_accuracy: f64,
    /// PGD iterations.
    pub pgd_iterations: u32,
    /// One curve per [`CurveKind`], in [`CurveKind::ALL`] order.
    pub curves: Vec<Curve>,
    /// Median over the correctly classified images of the smallest grid ε at which untargeted
    /// PGD broke them (`None` if half of them or more survived the whole grid).
    pub median_breaking_eps: Option<f32>,
    /// The same for targeted PGD.
    pub median_breaking_eps_targeted: Option<f32>,
}

impl EpsilonCurves {
    /// The curve of `kind`.
    pub fn curve(&self, kind: CurveKind) -> Option<&Curve> {
        self.curves.iter().find(|c| c.kind == kind)
    }

    /// Robust accuracy of `kind` at the grid point nearest to `eps`.
    pub fn at(&self, kind: CurveKind, eps: f32) -> Option<(f32, f64)> {
        let curve = self.curve(kind)?;
        let (i, &e) = self
            .epsilons
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - eps).abs().total_cmp(&(b.1 - eps).abs()))?;
        curve.accuracy.get(i).map(|&a| (e, a))
    }
}

/// The target of the targeted curve for image `index` of class `label`: uniform over the
/// other `classes − 1` classes (`classes ≥ 2`), from `seed`.
pub fn target_for(seed: u64, index: usize, label: usize, classes: usize) -> usize {
    let classes = classes.max(2);
    let mut rng = SplitMix64::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let k = ((rng.next_u64() >> 32) * (classes as u64 - 1)) >> 32;
    (label + 1 + k as usize) % classes
}

/// Per image: whether it survives each attack at each ε (`[kind][ε]`, [`CurveKind::ALL`]
/// order).
type Survival = [Vec<bool>; 4];

/// Measures the curves on `data` (with the model's clean predictions). `advance(k)` is
/// called as images complete.
pub(super) fn measure(
    model: &Net<'_>,
    data: &Split,
    predictions: &[usize],
    cfg: &ReportConfig,
    advance: &(dyn Fn(u64) + Sync),
) -> Result<EpsilonCurves> {
    let eps = &cfg.epsilons;
    let (n, classes) = (data.input_len(), model.classes());
    let per_image = data
        .inputs
        .par_chunks_exact(n.max(1))
        .zip(&data.labels)
        .zip(predictions)
        .enumerate()
        .map_init(
            || (AttackScratch::<_, Vec<f32>>::for_model(model), vec![0.0f32; n]),
            |(scratch, adv), (index, ((x, &label), &predicted))| -> Result<Survival> {
                let mut out: Survival = std::array::from_fn(|_| vec![false; eps.len()]);
                if predicted == label {
                    let kernel = |e| Error::kernel(format!("ε curves, test image {index}"), e);
                    let target = target_for(cfg.seed, index, label, classes);
                    let goals = [Goal::untargeted(label), Goal::targeted(label, target)];
                    let mut rng = SplitMix64::new(cfg.seed ^ 0x006E_6F69_7365 ^ index as u64);
                    let signs: Vec<f32> = (0..n)
                        .map(|_| if rng.next_u64() >> 63 == 0 { -1.0 } else { 1.0 })
                        .collect();
                    for (k, &e) in eps.iter().enumerate() {
                        for ((a, &x0), &s) in adv.iter_mut().zip(x).zip(&signs) {
                            *a = (x0 + e * s).clamp(0.0, 1.0);
                        }
                        let pred = model.predict(adv, &mut scratch.model).map_err(kernel)?;
                        out[0][k] = pred.class == label;
                        let r = Fgsm::new(e).run(model, x, goals[0], adv, scratch, &mut ());
                        out[1][k] = !r.map_err(kernel)?.success;
                    }
                    for (g, goal) in goals.into_iter().enumerate() {
                        let c = g + 2;
                        for (k, &e) in eps.iter().enumerate() {
                            if k > 0 && !out[c][k - 1] {
                                break;
                            }
                            let attack = pgd(e, cfg.pgd_iterations);
                            let r = attack.run(model, x, goal, adv, scratch, &mut ());
                            out[c][k] = !r.map_err(kernel)?.success;
                        }
                    }
                }
                advance(1);
                Ok(out)
            },
        )
        .collect::<Result<Vec<Survival>>>()?;
    let n = data.len();
    let curves = CurveKind::ALL
        .iter()
        .enumerate()
        .map(|(c, &kind)| {
            let robust: Vec<usize> =
                (0..eps.len()).map(|k| per_image.iter().filter(|s| s[c][k]).count()).collect();
            let accuracy = robust.iter().map(|&r| r as f64 / n.max(1) as f64).collect();
            Curve { kind, robust, accuracy }
        })
        .collect();
    let correct = predictions.iter().zip(&data.labels).filter(|&(p, l)| p == l).count();
    let correct_images: Vec<&Survival> = per_image.iter().filter(|s| s[0][0]).collect();
    let median_breaking = |c: usize| {
        // Unbroken images sort last (ε = ∞); the median exists if fewer than half are.
        let mut first: Vec<f32> = correct_images
            .iter()
            .map(|s| s[c].iter().position(|&alive| !alive).map_or(f32::INFINITY, |k| eps[k]))
            .collect();
        first.sort_by(f32::total_cmp);
        first.get(first.len() / 2).copied().filter(|e| e.is_finite())
    };
    Ok(EpsilonCurves {
        median_breaking_eps: median_breaking(2),
        median_breaking_eps_targeted: median_breaking(3),
        epsilons: eps.clone(),
        images: n,
        correct,
        clean_accuracy: correct as f64 / n.max(1) as f64,
        pgd_iterations: cfg.pgd_iterations,
        curves,
    })
}

/// PGD-`k` in L∞ at `eps` with `α = 2.5ε/k`, stopping on success; one step at ε = 0.
pub fn pgd(eps: f32, iterations: u32) -> PgdLinf {
    if eps > 0.0 {
        PgdLinf {
            early_stop: EarlyStop::OnSuccess,
            ..PgdLinf::new(eps, 2.5 * eps / iterations as f32, iterations)
        }
    } else {
        PgdLinf { early_stop: EarlyStop::OnSuccess, ..PgdLinf::new(0.0, 1.0, 1) }
    }
}

/// `epsilon.csv`: one row per (model, ε), a robust-accuracy column per attack.
pub fn csv(models: &[ModelReport]) -> String {
    let mut out = String::from("model,epsilon,images,clean_accuracy");
    for kind in CurveKind::ALL {
        out.push(',');
        out.push_str(kind.key());
    }
    out.push('\n');
    for m in models {
        let e = &m.epsilon;
        for (k, eps) in e.epsilons.iter().enumerate() {
            out.push_str(&format!("{},{eps:.4},{},{:.6}", m.label, e.images, e.clean_accuracy));
            for kind in CurveKind::ALL {
                let v = e.curve(kind).and_then(|c| c.accuracy.get(k)).copied().unwrap_or(f64::NAN);
                out.push_str(&format!(",{v:.6}"));
            }
            out.push('\n');
        }
    }
    out
}

/// Size of `epsilon.png`.
pub const SIZE: (u32, u32) = (1300, 660);
/// Width of the legend panel on the right.
const LEGEND: u32 = 330;

/// Draws `epsilon.png`: one curve per attack (solid for the first model, dashed for the
/// second, dotted beyond), the clean accuracy of each model as a grey line.
pub fn png(models: &[ModelReport]) -> Result<Vec<u8>> {
    let (w, h) = SIZE;
    let mut buf = vec![255u8; (w * h * 3) as usize];
    draw(&mut buf, models).map_err(|e| plot_error("epsilon.png", e))?;
    super::encode_png(&buf, w, h)
}

fn draw(
    buf: &mut [u8],
    models: &[ModelReport],
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_horizontally(SIZE.0 - LEGEND);
    // (label, colour, dashed, marker: 0 none, 1 circle, 2 triangle, 255 a model's heading)
    let mut entries: Vec<(String, RGBColor, bool, u8)> = Vec::new();
    let max_eps =
        models.iter().filter_map(|m| m.epsilon.epsilons.last().copied()).fold(0.3f32, f32::max);
    let images = models.first().map_or(0, |m| m.epsilon.images);
    let iters = models.first().map_or(40, |m| m.epsilon.pgd_iterations);
    let title = format!("Robust accuracy against the L∞ budget ε ({images} test images)");
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, (FONT, 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(64)
        .build_cartesian_2d(0f32..max_eps, 0f64..1.0)?;
    chart
        .configure_mesh()
        .x_desc("ε (L∞ distance, pixel values in [0, 1])")
        .y_desc("accuracy under attack")
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .x_label_formatter(&|v| format!("{v:.2}"))
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (m_index, m) in models.iter().enumerate() {
        let e = &m.epsilon;
        let grey = RGBColor(120, 120, 120);
        let clean = [(0.0, e.clean_accuracy), (max_eps, e.clean_accuracy)];
        let line = if m_index == 0 { "solid" } else { "dashed" };
        entries.push((format!("{} ({line})", m.label), BLACK, false, 255));
        let label = format!("clean accuracy {:.1}%", 100.0 * e.clean_accuracy);
        chart.draw_series(DashedLineSeries::new(clean, 3, 6, grey.stroke_width(1)))?;
        entries.push((label, grey, true, 0));
        for kind in CurveKind::ALL {
            let Some(curve) = e.curve(kind) else { continue };
            let points: Vec<(f32, f64)> =
                e.epsilons.iter().copied().zip(curve.accuracy.iter().copied()).collect();
            let colour = kind.colour();
            let style = colour.stroke_width(if m_index == 0 { 3 } else { 2 });
            let label = kind.title(iters);
            if m_index == 0 {
                chart.draw_series(LineSeries::new(points.clone(), style))?;
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
                entries.push((label, colour, false, 1));
            } else {
                chart.draw_series(DashedLineSeries::new(points.clone(), 10, 6, style))?;
                chart.draw_series(
                    points.iter().map(|&p| TriangleMarker::new(p, 5, colour.filled())),
                )?;
                entries.push((label, colour, true, 2));
            }
        }
    }
    // The legend, in its own panel so that it never hides a curve.
    let left = plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Left,
        plotters::style::text_anchor::VPos::Center,
    );
    for (k, (label, colour, dashed, marker)) in entries.iter().enumerate() {
        let y = 70 + 26 * k as i32;
        if *marker == 255 {
            let text = (FONT, 16).into_font().into_text_style(&legend).pos(left);
            legend.draw(&Text::new(label.clone(), (8, y), text))?;
            continue;
        }
        let style = colour.stroke_width(if *dashed { 2 } else { 3 });
        if *dashed {
            legend.draw(&PathElement::new([(8, y), (18, y)], style))?;
            legend.draw(&PathElement::new([(24, y), (34, y)], style))?;
        } else {
            legend.draw(&PathElement::new([(8, y), (34, y)], style))?;
        }
        match marker {
            1 => legend.draw(&Circle::new((21, y), 4, colour.filled()))?,
            2 => legend.draw(&TriangleMarker::new((21, y), 5, colour.filled()))?,
            _ => {}
        }
        let text = (FONT, 14).into_font().into_text_style(&legend).pos(left);
        legend.draw(&Text::new(label.clone(), (42, y), text))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_other_classes_and_all_reached() {
        for classes in [2, 10, 37] {
            let mut seen = vec![false; classes];
            for i in 0..2000 {
                let t = target_for(7, i, 1, classes);
                assert_ne!(t, 1);
                seen[t] = true;
            }
            assert_eq!(seen.iter().filter(|&&s| s).count(), classes - 1);
        }
    }

    #[test]
    fn pgd_step_follows_madry_and_zero_is_one_step() {
        let a = pgd(0.1, 40);
        assert!((a.alpha - 0.00625).abs() < 1e-7 && a.iterations == 40);
        let z = pgd(0.0, 40);
        assert_eq!((z.epsilon, z.iterations), (0.0, 1));
        <PgdLinf as Attack>::validate(&z).unwrap();
    }
}
