//! `report.md`: the pictures stitched together, and the seed's questions 2.C–2.E answered
//! with the numbers just measured. Every figure in the text comes from the [`Report`].

use std::fmt::Write as _;

use super::{CurveKind, ModelReport, Report, opt};

/// The ε at which the text quotes robust accuracy (the target point).
pub const QUOTE_EPS: f32 = 0.1;

fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

/// ε as written by a person (`0.225`, not `0.22500001`).
pub fn eps_str(e: f32) -> String {
    let s = format!("{e:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() { "0".to_string() } else { s.to_string() }
}

fn pct_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), pct)
}

/// Robust accuracy of `kind` at ε ≈ `eps`, formatted, with the grid ε it used.
fn robust_at(m: &ModelReport, kind: CurveKind, eps: f32) -> String {
    m.epsilon.at(kind, eps).map_or_else(|| "—".to_string(), |(_, a)| pct(a))
}

/// A (source, target, success rate) cell.
type Cell = (usize, usize, f64);

/// The easiest and hardest (source → target) pairs.
fn extremes(m: &ModelReport) -> Option<(Cell, Cell)> {
    let mut cells = Vec::new();
    for (s, row) in m.pairs.success_rate.iter().enumerate() {
        for (t, r) in row.iter().enumerate() {
            if let Some(r) = r {
                cells.push((s, t, *r));
            }
        }
    }
    let hardest = cells.iter().copied().min_by(|a, b| a.2.total_cmp(&b.2))?;
    let easiest = cells.iter().copied().max_by(|a, b| a.2.total_cmp(&b.2))?;
    Some((easiest, hardest))
}

/// The whole `report.md`.
pub fn render(r: &Report) -> String {
    let mut md = String::new();
    let names: Vec<&str> = r.models.iter().map(|m| m.label.as_str()).collect();
    let _ = writeln!(md, "# Robustness report: {}\n", names.join(" vs "));
    let _ = writeln!(
        md,
        "Measured by `nudge report` (nudge {}) on the {} test set in `{}`, {} threads, {:.1} s.\n",
        r.nudge_version,
        r.dataset,
        r.data_dir.display(),
        r.threads,
        r.seconds
    );
    summary_table(&mut md, r);
    for (i, m) in r.models.iter().enumerate() {
        if i == 0 {
            answers(&mut md, m, r);
        }
    }
    if r.models.len() > 1 {
        comparison(&mut md, r);
    }
    method(&mut md, r);
    md
}

fn summary_table(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## At a glance\n");
    let e = QUOTE_EPS;
    let iters = r.models.first().map_or(40, |m| m.epsilon.pgd_iterations);
    let _ = writeln!(
        md,
        "| model | architecture | clean accuracy | **robust accuracy, AutoAttack** | random ±{e} noise | FGSM ε={e} | PGD-{iters} ε={e} | targeted PGD-{iters} ε={e} | pair attacks succeeding | median L∞ | median target confidence |"
    );
    let _ = writeln!(
        md,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for m in &r.models {
        let _ = writeln!(
            md,
            "| {} | {} | {} ({}/{}) | **{}** | {} | {} | {} | {} | {} of {} ({}) | {} | {} |",
            m.label,
            m.arch,
            pct(m.clean_accuracy),
            m.correct,
            m.test_images,
            autoattack_cell(m),
            robust_at(m, CurveKind::Noise, e),
            robust_at(m, CurveKind::Fgsm, e),
            robust_at(m, CurveKind::Pgd, e),
            robust_at(m, CurveKind::PgdTargeted, e),
            m.pairs.successes,
            m.pairs.attacks,
            pct(m.pairs.success_rate_overall()),
            opt(m.pairs.median_linf, 3),
            opt(m.pairs.median_confidence, 3),
        );
    }
    let _ = writeln!(
        md,
        "\nThe robust accuracy is AutoAttack's standard ensemble (APGD-CE, APGD-T, Square; \
         `nudge robustness`) at L∞ ε = {} on the first {} test images: the figure to compare \
         models by. The other ε columns are accuracy under one attack on the first {} test \
         images (an image counts if it is classified correctly and the attack fails); a single \
         fixed-step attack such as PGD overestimates robustness. The pair attacks are targeted \
         PGD with ε = {} (see *Method*).\n",
        r.models.first().map_or(0.0, |m| m.autoattack.config.epsilon),
        r.models.first().map_or(0, |m| m.autoattack.images),
        r.models.first().map_or(0, |m| m.epsilon.images),
        r.models.first().map_or(0.0, |m| m.pairs.attack.eps),
    );
}

/// The AutoAttack robust accuracy, with its ε.
fn autoattack_cell(m: &ModelReport) -> String {
    let a = &m.autoattack;
    format!("{} (ε = {})", pct(a.robust_accuracy), eps_str(a.config.epsilon))
}

fn answers(md: &mut String, m: &ModelReport, r: &Report) {
    let p = &m.pairs;
    let g = &m.gallery;
    let a = &p.attack;
    let grey_levels =
        |v: Option<f32>| v.map_or_else(|| "—".to_string(), |v| format!("{:.0}", v * 255.0));

    let _ = writeln!(md, "## 2.D (i): does the output change, and what do the images look like?\n");
    let _ = writeln!(md, "![pairs](pairs.png)\n");
    let _ = writeln!(
        md,
        "Row *s*, column *t*: one correctly classified test image of digit *s*, pushed by targeted \
         PGD (ε = {}, at most {} steps of {}) toward *t*; the diagonal is the untouched image. \
         **{} of the {} off-diagonal cells reached their target.** Of those, {} are still nearer \
         (in L2) to the mean test image of their *source* digit than to that of their target: the \
         pictures still look like the source digit, with faint speckle, and the model now reads \
         them as another digit.\n",
        a.eps,
        a.iterations,
        a.step,
        g.successes,
        g.cells.iter().map(|row| row.len().saturating_sub(1)).sum::<usize>(),
        g.nearer_source,
    );
    let _ = writeln!(
        md,
        "Contrast with the seed's 6-feature toy (2.C, `nudge toy`): there the only way to flip \
         the logistic regression is to turn xA into xB, an example of the other class. With 784 \
         inputs a change of at most ε per pixel, spread over many pixels, suffices.\n"
    );

    let _ = writeln!(md, "## How often does the label flip? (success.png)\n");
    let _ = writeln!(md, "![success](success.png)\n");
    let _ = write!(
        md,
        "Over {} targeted attacks ({} source images per class, each toward all {} other classes), \
         **{} reached the target** within ε = {} in L∞.",
        p.attacks,
        p.images_per_class.iter().min().copied().unwrap_or(0),
        p.success_rate.len().saturating_sub(1),
        pct(p.success_rate_overall()),
        a.eps
    );
    if let Some(((es, et, er), (hs, ht, hr))) = extremes(m) {
        let _ = write!(
            md,
            " The easiest pair is {es} → {et} ({}), the hardest {hs} → {ht} ({}).",
            pct(er),
            pct(hr)
        );
    }
    let _ = writeln!(
        md,
        " Untargeted, PGD-{} at ε = {} leaves {} accuracy (clean: {}); AutoAttack's ensemble, \
         which adapts its step size and adds a targeted and a gradient-free attack, leaves \
         **{}**.\n",
        m.epsilon.pgd_iterations,
        QUOTE_EPS,
        robust_at(m, CurveKind::Pgd, QUOTE_EPS),
        pct(m.epsilon.clean_accuracy),
        autoattack_cell(m),
    );

    let _ = writeln!(md, "## At what confidence?\n");
    let _ = writeln!(
        md,
        "The model's median confidence in the *true* class on the original images was {}. After \
         a successful attack the median probability it gives the *target* is **{}**, and {} of \
         the successful attacks end at ≥ 0.9 (the attack stops once the target reaches {}). The \
         model is not confused, it is confidently wrong.\n",
        opt(p.median_initial_confidence, 3),
        opt(p.median_confidence, 3),
        pct_opt(p.confident_fraction),
        a.stop_confidence
    );

    let _ = writeln!(md, "## With how small a change?\n");
    let e = &m.epsilon;
    let breaking = |v: Option<f32>| {
        v.map_or_else(
            || "more than the largest ε measured".to_string(),
            |v| format!("ε ≤ {} ({:.0} of 255 grey levels per pixel)", eps_str(v), v * 255.0),
        )
    };
    let _ = writeln!(
        md,
        "Half of the correctly classified test digits are misclassified after a change of \
         **{}** (untargeted PGD-{}); to force a chosen wrong digit, half need {}. In the pair \
         experiment the successful attacks measure:\n",
        breaking(e.median_breaking_eps),
        e.pgd_iterations,
        breaking(e.median_breaking_eps_targeted),
    );
    let _ = writeln!(
        md,
        "| measure (successful attacks, median) | value |\n| --- | ---: |\n\
         | L∞: largest change of any pixel | {} ({} of 255 grey levels) |\n\
         | L2: length of the whole change | {} |\n\
         | L0: values changed (of {}) | {} |\n\
         | iterations | {} |\n",
        opt(p.median_linf, 3),
        grey_levels(p.median_linf),
        opt(p.median_l2, 2),
        m.gallery.shape.len(),
        opt(p.median_l0, 0),
        opt(p.median_iterations, 0),
    );

    let _ = writeln!(md, "## Accuracy against the size of the change (epsilon.png, epsilon.csv)\n");
    let _ = writeln!(md, "![epsilon](epsilon.png)\n");
    curve_table(md, r);

    let at = |kind| m.epsilon.at(kind, QUOTE_EPS).map_or(0.0, |(_, a)| a);
    let (clean, noise, pgd) = (m.epsilon.clean_accuracy, at(CurveKind::Noise), at(CurveKind::Pgd));
    let broken = if clean > 0.0 { (clean - pgd) / clean } else { 0.0 };
    let _ = writeln!(
        md,
        "## 2.D (ii): is this classifier reliable? How does that square with its test accuracy?\n"
    );
    let _ = writeln!(
        md,
        "Both numbers are true, and they measure different things. The test accuracy, {}, is an \
         average over digits drawn the way people write them. Moving every pixel of those digits \
         by ±{QUOTE_EPS} in *random* directions costs {:.1} points (accuracy {}); the same budget \
         spent *along the gradient* costs {:.1} points (accuracy {}, PGD-{}). For {} of the \
         correctly classified test digits a misclassified point lies within L∞ {QUOTE_EPS}, yet \
         random changes of that size rarely find it: such points fill a vanishing fraction of \
         the ball, so a test set sampled from natural digits never contains them. Test accuracy \
         is an average-case statement about the data distribution; robustness is a worst-case \
         statement about the neighbourhood of each point.\n",
        pct(m.clean_accuracy),
        100.0 * (clean - noise),
        pct(noise),
        100.0 * (clean - pgd),
        pct(pgd),
        m.epsilon.pgd_iterations,
        pct(broken),
    );
    let _ = writeln!(
        md,
        "So: reliable on honest inputs, **not reliable against anyone who can choose the input**. \
         The locally linear behaviour that makes the model easy to train (ReLU layers; Goodfellow \
         et al., 2014) is what lets many small per-pixel changes add up to a large change of the \
         logits.\n"
    );

    let _ = writeln!(md, "## 2.E: what follows in the real world?\n");
    let _ = writeln!(
        md,
        "Anyone who controls an input to a deployed classifier can, as measured here, change its \
         decision {} of the time with a perturbation of at most {} per pixel, and the model \
         reports the wrong answer with a median confidence of {}. Confidence scores therefore \
         cannot flag the attack. Consequences: stickers that make a car misread a stop sign, spam \
         and abusive content that slips past automatic filters, violent or adult images passing \
         moderation, forged cheques or postcodes read as other digits, and, because examples \
         transfer between models, attacks on systems whose weights the attacker never saw.\n",
        pct(p.success_rate_overall()),
        a.eps,
        opt(p.median_confidence, 2),
    );
    if r.models.len() < 2 {
        let _ = writeln!(
            md,
            "A defence is adversarial training (`nudge train --adversarial pgd`); run \
             `nudge report --compare ROBUST_MODEL` to see it measured side by side.\n"
        );
    }
}

fn curve_table(md: &mut String, r: &Report) {
    let Some(first) = r.models.first() else { return };
    let quote: Vec<f32> = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
        .into_iter()
        .filter(|e| first.epsilon.epsilons.iter().any(|g| (g - e).abs() < 1e-6))
        .collect();
    let _ = write!(md, "| model | attack |");
    for e in &quote {
        let _ = write!(md, " ε={} |", eps_str(*e));
    }
    let _ = write!(md, "\n| --- | --- |");
    for _ in &quote {
        let _ = write!(md, " ---: |");
    }
    md.push('\n');
    for m in &r.models {
        for kind in CurveKind::ALL {
            let _ = write!(md, "| {} | {} |", m.label, kind.title(m.epsilon.pgd_iterations));
            for &e in &quote {
                let _ = write!(md, " {} |", robust_at(m, kind, e));
            }
            md.push('\n');
        }
    }
    let _ = writeln!(
        md,
        "\nAt ε = 0 every row equals the clean accuracy on these {} images ({}). The full grid is \
         in `epsilon.csv`.\n",
        first.epsilon.images,
        pct(first.epsilon.clean_accuracy)
    );
}

fn comparison(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## The defence: standard vs adversarially trained, side by side\n");
    let _ = writeln!(
        md,
        "| | {} |\n| --- |{}",
        r.models.iter().map(|m| m.label.as_str()).collect::<Vec<_>>().join(" | "),
        " ---: |".repeat(r.models.len())
    );
    let row = |md: &mut String, name: &str, f: &dyn Fn(&ModelReport) -> String| {
        let cells: Vec<String> = r.models.iter().map(f).collect();
        let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
    };
    row(md, "training recipe", &|m| m.recipe.clone().unwrap_or_else(|| "—".to_string()));
    row(md, "clean accuracy", &|m| pct(m.clean_accuracy));
    row(md, "**robust accuracy, AutoAttack**", &|m| format!("**{}**", autoattack_cell(m)));
    for e in [0.05, QUOTE_EPS, 0.2, 0.3] {
        let iters = r.models.first().map_or(40, |m| m.epsilon.pgd_iterations);
        row(md, &format!("PGD-{iters} accuracy, ε = {e}"), &|m| robust_at(m, CurveKind::Pgd, e));
    }
    row(md, &format!("FGSM accuracy, ε = {QUOTE_EPS}"), &|m| {
        robust_at(m, CurveKind::Fgsm, QUOTE_EPS)
    });
    row(md, "targeted pair attacks succeeding", &|m| pct(m.pairs.success_rate_overall()));
    row(md, "median L∞ of successes", &|m| opt(m.pairs.median_linf, 3));
    row(md, "median target confidence of successes", &|m| opt(m.pairs.median_confidence, 3));
    let (a, b) = (&r.models[0], &r.models[1]);
    let _ = writeln!(
        md,
        "\nUnder PGD-{} at ε = {QUOTE_EPS}, {} keeps {} and {} keeps {}; clean accuracy moves \
         from {} to {} ({:+.1} points). The defence buys robustness at the ε it was trained \
         for; at larger ε the curves of `epsilon.png` (dashed: {}) fall again: robustness is \
         bought per threat model, not once and for all.\n",
        a.epsilon.pgd_iterations,
        a.label,
        robust_at(a, CurveKind::Pgd, QUOTE_EPS),
        b.label,
        robust_at(b, CurveKind::Pgd, QUOTE_EPS),
        pct(a.clean_accuracy),
        pct(b.clean_accuracy),
        100.0 * (b.clean_accuracy - a.clean_accuracy),
        b.label,
    );
    let _ = writeln!(
        md,
        "The same gallery for {} (from its own first correctly classified test image of each \
         class; {} of its {} off-diagonal cells reached their target):\n\n![pairs of the second model]({})\n",
        b.label,
        b.gallery.successes,
        b.gallery.cells.iter().map(|row| row.len().saturating_sub(1)).sum::<usize>(),
        super::COMPARE_GALLERY
    );
}

fn method(md: &mut String, r: &Report) {
    let Some(m) = r.models.first() else { return };
    let a = &m.pairs.attack;
    let _ = writeln!(md, "## Method\n");
    let _ = writeln!(
        md,
        "* **Pair experiment and gallery:** for each source digit, the first {} correctly \
         classified test images; targeted PGD L∞ on `log p_target`, ε = {}, step {}, at most {} \
         steps, stopping once the target has probability ≥ {}. Success = the target is predicted \
         at the end. Medians are over successful attacks.",
        m.pairs.images_per_class.iter().max().copied().unwrap_or(0),
        a.eps,
        a.step,
        a.iterations,
        a.stop_confidence
    );
    let _ = writeln!(
        md,
        "* **Curves:** the first {} test images, ε ∈ {{{}}}. Accuracy under attack = classified \
         correctly and the attack fails. FGSM: one signed step on the cross-entropy. PGD-{k}: \
         {k} signed steps of α = 2.5ε/{k} (Madry et al., 2017), no random start, stopping at \
         the first success; targeted toward a seeded random other class. PGD is run over the \
         grid in increasing ε, and an image broken at some ε stays broken at larger ε (an example \
         within ε' ≤ ε is within ε). Random noise: every pixel moved by ±ε with a random sign, \
         then clipped to [0, 1].",
        m.epsilon.images,
        m.epsilon.epsilons.iter().map(|&e| eps_str(e)).collect::<Vec<_>>().join(", "),
        k = m.epsilon.pgd_iterations,
    );
    let aa = &m.autoattack;
    let _ = writeln!(
        md,
        "* **AutoAttack:** the first {} test images; APGD-CE ({} steps, random start), then on \
         the images still robust APGD-T (targeted DLR loss, {} steps toward each of the {} \
         classes with the highest clean logits after the true one), then Square ({} queries) \
         (Croce & Hein, 2020; FAB-T left out), each stopping at the first misclassification, \
         seed {}. Robust accuracy after each: {}.",
        aa.images,
        aa.config.iterations,
        aa.config.iterations,
        aa.config.target_classes,
        aa.config.queries,
        aa.config.seed,
        aa.passes
            .iter()
            .map(|p| format!("{} {}", p.attack, pct(p.robust_accuracy)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let _ = writeln!(
        md,
        "* **Time:** {}.\n",
        r.models
            .iter()
            .map(|m| format!(
                "{}: clean {:.1} s, pairs {:.1} s, gallery {:.1} s, curves {:.1} s, AutoAttack {:.1} s",
                m.label,
                m.seconds.clean,
                m.seconds.pairs,
                m.seconds.gallery,
                m.seconds.epsilon,
                m.seconds.autoattack
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
}
