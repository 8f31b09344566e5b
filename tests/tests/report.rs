//! The robustness report end to end on a small N: a small model trained here on the shared
//! MNIST files, measured and written, and its numbers checked for internal consistency
//! (success rates in [0, 1], the ε = 0 point equals the clean accuracy, the gallery's diagonal
//! is the clean image, PNGs decode with the expected sizes). No timing is checked.
//!
//! Also: `nudge report` from the command line, the committed robust model's claim, and
//! adversarial training against standard training on a small model.
//!
//! Data: `../shared/data/mnist` beside the repository; the tests skip (saying so) without it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nudge_host::data::{self, DatasetKind, Split};
use nudge_host::model::ModelFile;
use nudge_host::report::{self, CurveKind, ReportConfig};
use nudge_host::train::{Adversarial, AdversarialMethod, Optimizer, Schedule, TrainConfig};
use nudge_tests::{assert_fails, committed_model, data_dir, nudge, repo, require_data, stdout};

/// The committed adversarially trained model.
fn robust_model() -> PathBuf {
    repo().join("models/mnist-mlp-h64-robust.safetensors")
}

/// The dataset, loaded once.
fn dataset() -> &'static data::Dataset {
    static DATA: OnceLock<data::Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = data_dir();
        data::load(&dir, DatasetKind::Mnist)
            .unwrap_or_else(|e| panic!("MNIST not found at {} ({e})", dir.display()))
    })
}

/// A small model (784-32-10, 2 epochs on 3,000 images): accurate enough to attack.
fn small_model() -> ModelFile {
    small_model_with(None)
}

fn small_model_with(adversarial: Option<Adversarial>) -> ModelFile {
    let (train, _) = dataset().train.split_at(3000);
    let cfg = TrainConfig {
        // Adversarial training needs its ε warm-up and a few more passes.
        epochs: if adversarial.is_some() { 6 } else { 2 },
        batch: 32,
        lr: 2e-3,
        optimizer: Optimizer::Adam,
        schedule: Schedule::Cosine,
        weight_decay: 0.0,
        shift: 0,
        seed: 3,
        validation: 200,
    };
    let image = nudge_core::Shape::new(1, 28, 28);
    let arch = nudge_host::arch::parse("784-32-10", image, "test").unwrap();
    let (model, _) = nudge_host::train::train_robust(
        &train,
        &arch,
        &cfg,
        adversarial,
        &mut |_, _| {},
        &mut |_| {},
    )
    .unwrap();
    ModelFile { model, metadata: Default::default() }
}

fn small_test() -> Split {
    dataset().test.split_at(300).0
}

fn small_config() -> ReportConfig {
    ReportConfig {
        images_per_class: 2,
        curve_images: 120,
        epsilons: vec![0.0, 0.05, 0.1, 0.2],
        pgd_iterations: 10,
        ..ReportConfig::default()
    }
}

#[test]
fn report_end_to_end_is_consistent() {
    let Some(_) = require_data() else { return };
    let model = small_model();
    let test = small_test();
    let cfg = small_config();
    let models = vec![(PathBuf::from("small.safetensors"), model.clone())];
    let r = report::run(&models, &data_dir(), "mnist", &test, &cfg, &report::Silent).unwrap();
    let m = &r.models[0];
    assert!(m.clean_accuracy > 0.7, "the small model should learn: {}", m.clean_accuracy);

    // Success rates are rates; the diagonal is empty; counts add up.
    let p = &m.pairs;
    let mut successes = 0.0;
    for (s, row) in p.success_rate.iter().enumerate() {
        for (t, rate) in row.iter().enumerate() {
            if s == t {
                assert!(rate.is_none(), "diagonal cell {s} has a rate");
            } else {
                let rate = rate.unwrap_or_else(|| panic!("no rate for {s} → {t}"));
                assert!((0.0..=1.0).contains(&rate), "{s} → {t}: {rate}");
                successes += rate * p.images_per_class[s] as f64;
            }
        }
    }
    assert_eq!(p.attacks, 9 * p.images_per_class.iter().sum::<usize>());
    assert!((successes - p.successes as f64).abs() < 1e-6, "{successes} vs {}", p.successes);
    if let Some(linf) = p.median_linf {
        assert!(linf <= p.attack.eps + 1e-6, "median L∞ {linf} beyond ε {}", p.attack.eps);
    }

    // The curves start at the clean accuracy, are fractions, and PGD never beats FGSM's
    // image count by more than chance would allow at ε = 0 (it is equal there).
    let e = &m.epsilon;
    assert_eq!(e.epsilons[0], 0.0);
    let clean_on_curve_images = nudge_host::model::evaluate(
        &model.model.classifier("test").unwrap(),
        &test.split_at(e.images).0,
        "test",
    )
    .unwrap()
    .accuracy();
    assert_eq!(e.clean_accuracy, clean_on_curve_images);
    for kind in CurveKind::ALL {
        let c = e.curve(kind).unwrap();
        assert_eq!(c.accuracy.len(), e.epsilons.len());
        assert_eq!(c.accuracy[0], e.clean_accuracy, "{kind:?} at ε = 0");
        assert!(c.accuracy.iter().all(|a| (0.0..=1.0).contains(a)));
    }
    let pgd = &e.curve(CurveKind::Pgd).unwrap().accuracy;
    assert!(pgd.windows(2).all(|w| w[1] <= w[0]), "PGD accuracy must not rise with ε: {pgd:?}");

    // The gallery's diagonal is the clean image; off-diagonal cells stay within ε.
    for (s, row) in m.gallery.cells.iter().enumerate() {
        let index = m.gallery.sources[s].unwrap();
        let clean = test.input(index).unwrap();
        for cell in row {
            assert_eq!(cell.source, s);
            if cell.target == s {
                assert_eq!(cell.image, clean.to_vec(), "diagonal of row {s}");
                assert_eq!(cell.linf, 0.0);
            } else {
                assert!(cell.linf <= p.attack.eps + 1e-6);
            }
        }
    }

    // The files: all written, PNGs of the expected sizes, CSV and JSON agree with the data.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let written = report::write(&r, &out, false).unwrap();
    assert_eq!(written.len(), report::FILES.len());
    let size = |name: &str| report::png_size(&std::fs::read(out.join(name)).unwrap()).unwrap();
    assert_eq!(size("pairs.png"), report::gallery_size(10, nudge_core::Shape::new(1, 28, 28)));
    assert_eq!(size("success.png"), report::heatmap_size(1));
    assert_eq!(size("epsilon.png"), report::epsilon_size());
    let csv = std::fs::read_to_string(out.join("epsilon.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + e.epsilons.len());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["models"][0]["pairs"]["attacks"], p.attacks);
    assert_eq!(json["models"][0]["epsilon"]["curves"][0]["accuracy"][0], e.clean_accuracy);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for picture in ["pairs.png", "success.png", "epsilon.png"] {
        assert!(md.contains(&format!("({picture})")), "report.md does not show {picture}");
    }

    // The headline: AutoAttack on the curves' images, in the JSON and the text, no
    // higher than the PGD curve at the same ε.
    let aa = &m.autoattack;
    assert_eq!((aa.images, aa.config.epsilon), (e.images, 0.1));
    assert_eq!(aa.clean_accuracy, e.clean_accuracy);
    assert!(aa.robust_accuracy <= e.at(CurveKind::Pgd, 0.1).unwrap().1);
    assert_eq!(json["models"][0]["autoattack"]["robust"], aa.robust);
    let headline = format!("**{:.1}% (ε = 0.1)**", 100.0 * aa.robust_accuracy);
    assert!(md.contains(&headline), "report.md lacks the headline {headline}");

    // A second write refuses to clobber, and --force replaces.
    let err = report::write(&r, &out, false).unwrap_err();
    assert!(matches!(err, nudge_host::Error::Exists { .. }), "{err}");
    report::write(&r, &out, true).unwrap();
}

#[test]
fn comparison_puts_two_models_side_by_side() {
    let Some(_) = require_data() else { return };
    let model = small_model();
    let test = small_test();
    let cfg = ReportConfig { images_per_class: 1, curve_images: 40, ..small_config() };
    let models = vec![
        (PathBuf::from("a/m.safetensors"), model.clone()),
        (PathBuf::from("b/m.safetensors"), model),
    ];
    let r = report::run(&models, &data_dir(), "mnist", &test, &cfg, &report::Silent).unwrap();
    assert_eq!(r.models.len(), 2);
    // The same weights measure the same: the engine is deterministic.
    assert_eq!(r.models[0].epsilon, r.models[1].epsilon);
    assert_eq!(r.models[0].pairs, r.models[1].pairs);
    let dir = tempfile::tempdir().unwrap();
    let written = report::write(&r, dir.path(), false).unwrap();
    assert_eq!(written.len(), report::files(2).len());
    let bytes = std::fs::read(dir.path().join("success.png")).unwrap();
    assert_eq!(report::png_size(&bytes).unwrap(), report::heatmap_size(2));
    // Both models' galleries, the second shown in the comparison section.
    let bytes = std::fs::read(dir.path().join(report::COMPARE_GALLERY)).unwrap();
    assert_eq!(
        report::png_size(&bytes).unwrap(),
        report::gallery_size(10, nudge_core::Shape::new(1, 28, 28))
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("(pairs-compare.png)"), "report.md does not show the second gallery");
    let csv = std::fs::read_to_string(dir.path().join("epsilon.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * cfg.epsilons.len());
}

#[test]
fn cli_writes_the_report_and_refuses_to_clobber() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let out_s = out.to_str().unwrap();
    let robust = robust_model();
    let args = [
        "report",
        "--compare",
        robust.to_str().unwrap(),
        "--out",
        out_s,
        "--images",
        "1",
        "--curve-images",
        "60",
        "--epsilons",
        "0,0.1",
        "--pgd-iters",
        "5",
    ];
    let o = nudge(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("wrote 7 files"), "{}", stdout(&o));
    for name in report::files(2) {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let size = |name: &str| report::png_size(&std::fs::read(out.join(name)).unwrap()).unwrap();
    assert_eq!(size("success.png"), report::heatmap_size(2));
    let before = std::fs::read(out.join("report.json")).unwrap();
    // Without --force: one line naming a file, nothing replaced.
    let o = nudge(&args);
    assert_fails(&o, &["already exists"]);
    assert_eq!(std::fs::read(out.join("report.json")).unwrap(), before);
    let o = nudge(&[&args[..], &["--force"]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The engine is deterministic: the same numbers again (the timings aside).
    let strip = |b: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
        v["seconds"] = serde_json::Value::Null;
        for m in v["models"].as_array_mut().unwrap() {
            m["seconds"] = serde_json::Value::Null;
            let aa = &mut m["autoattack"];
            aa["seconds"] = serde_json::Value::Null;
            for pass in aa["passes"].as_array_mut().unwrap() {
                pass["seconds"] = serde_json::Value::Null;
            }
        }
        v
    };
    assert_eq!(strip(&std::fs::read(out.join("report.json")).unwrap()), strip(&before));
}

#[test]
fn committed_robust_model_resists_pgd_where_the_standard_one_does_not() {
    let Some(_) = require_data() else { return };
    let test = dataset().test.clone();
    let cfg = ReportConfig {
        images_per_class: 1,
        curve_images: 500,
        epsilons: vec![0.0, 0.1],
        ..ReportConfig::default()
    };
    let measure = |path: &Path| {
        let file = ModelFile::load(path).unwrap();
        report::measure(&file, path, "m", &test, &cfg, &report::Silent).unwrap()
    };
    let (standard, robust) = (measure(&committed_model()), measure(&robust_model()));
    let pgd = |m: &report::ModelReport| m.epsilon.at(CurveKind::Pgd, 0.1).unwrap().1;
    assert!(pgd(&standard) < 0.2, "standard model: PGD-40 accuracy {}", pgd(&standard));
    assert!(pgd(&robust) >= 0.6, "robust model: PGD-40 accuracy {}", pgd(&robust));
    // The headline figure, AutoAttack on the same 500 images, is at most PGD-40's.
    for m in [&standard, &robust] {
        assert_eq!(m.autoattack.images, 500);
        assert!(
            m.autoattack.robust_accuracy <= pgd(m),
            "AutoAttack {} > PGD-40 {}",
            m.autoattack.robust_accuracy,
            pgd(m)
        );
    }
    assert!(
        robust.autoattack.robust_accuracy >= 0.6,
        "robust model: AutoAttack {}",
        robust.autoattack.robust_accuracy
    );
    let drop = standard.clean_accuracy - robust.clean_accuracy;
    assert!(
        drop <= 0.03,
        "clean accuracy {} vs {}",
        robust.clean_accuracy,
        standard.clean_accuracy
    );
}

#[test]
fn adversarial_training_raises_robust_accuracy() {
    let Some(_) = require_data() else { return };
    let test = small_test();
    let cfg = ReportConfig {
        images_per_class: 1,
        curve_images: 200,
        epsilons: vec![0.0, 0.1],
        pgd_iterations: 20,
        ..ReportConfig::default()
    };
    let pgd_at = |file: &ModelFile| {
        let r = report::measure(file, Path::new("m"), "m", &test, &cfg, &report::Silent).unwrap();
        r.epsilon.at(CurveKind::Pgd, 0.1).unwrap().1
    };
    let standard = pgd_at(&small_model());
    for method in [AdversarialMethod::FgsmRandomStart, AdversarialMethod::Pgd { steps: 3 }] {
        let adv = Adversarial { method, eps: 0.1, warmup: 3 };
        let robust = pgd_at(&small_model_with(Some(adv)));
        assert!(robust > standard + 0.2, "{method:?}: {robust} vs standard {standard}");
    }
}
