//! The `nudge` command line on the real data: help, exit codes, one-line errors, and the
//! seed's claims (2.A–2.D) as numbers.

use std::time::{Duration, Instant};

use nudge_tests::{
    assert_fails, committed_model, json, nudge, nudge_cmd, require_data, stderr, stdout,
};

const COMMANDS: [&[&str]; 10] = [
    &[],
    &["demo"],
    &["toy"],
    &["train"],
    &["eval"],
    &["attack"],
    &["samples"],
    &["report"],
    &["data"],
    &["data", "fetch"],
];

#[test]
fn every_command_has_help() {
    for cmd in COMMANDS {
        let mut args = cmd.to_vec();
        args.push("--help");
        let o = nudge(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage:"), "{args:?}: {}", stdout(&o));
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["attack", "--target-class", "3"],
        &["attack", "--index", "0", "--target-class", "3", "--method", "bogus"],
        &["attack", "--index", "x", "--target-class", "3"],
        &["train", "--optimizer", "rmsprop"],
    ] {
        let o = nudge(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn toy_reproduces_the_seed_section_2() {
    let j = json(&nudge(&["toy", "--json", "--iters", "20", "--step", "0.5"]));
    // f(xA) = σ(−2), f(xB) = σ(2).
    let s2 = 1.0 / (1.0 + (-2.0f64).exp());
    assert!((j["f_a"].as_f64().unwrap() - (1.0 - s2)).abs() < 1e-6);
    assert!((j["f_b"].as_f64().unwrap() - s2).abs() < 1e-6);
    // 2.A: ∇θ f(xA) = σ(1−σ)·xA; 2.B: ∇x f(xA) = σ(1−σ)·θ.
    let k = s2 * (1.0 - s2);
    let ga: Vec<f64> =
        j["grad_theta_a"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let gx: Vec<f64> =
        j["grad_x_a"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    for (i, (a, x)) in ga.iter().zip(&gx).enumerate() {
        let want_a = k * [1.0, 0.0, 1.0, 0.0, 0.0, 0.0][i];
        let want_x = k * [-1.0, 1.0, -1.0, 1.0, 0.0, 0.0][i];
        assert!((a - want_a).abs() < 1e-6 && (x - want_x).abs() < 1e-6, "element {i}: {a} {x}");
    }
    // 2.C: the decision flips and the input ends up looking like xB.
    let last = j["trajectory"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["class"], 1);
    assert!(
        last["cos_b"].as_f64().unwrap() > 0.99 && last["cos_a"].as_f64().unwrap() < 0.01,
        "{last}"
    );
    let text = stdout(&nudge(&["toy", "--input", "b"]));
    assert!(
        text.contains("2.A")
            && text.contains("2.B")
            && text.contains("2.C")
            && text.contains("flips")
    );
}

#[test]
fn committed_model_scores_what_its_metadata_claims() {
    let Some(_) = require_data() else { return };
    let j = json(&nudge(&["eval", "--json"]));
    let accuracy = j["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.95, "accuracy {accuracy}");
    assert_eq!(j["total"], 10_000);
    assert_eq!(j["correct"].as_u64().unwrap() as f64 / 10_000.0, accuracy);
    let claimed: f64 = j["metadata"]["accuracy"].as_str().unwrap().parse().unwrap();
    assert!((claimed - accuracy).abs() < 5e-5, "metadata says {claimed}, eval gives {accuracy}");
    assert_eq!(j["metadata"]["hidden"], "64");
    assert_eq!(j["metadata"]["dataset"], "mnist");
    let confusion = j["confusion"].as_array().unwrap();
    let diagonal: u64 = (0..10).map(|i| confusion[i][i].as_u64().unwrap()).sum();
    assert_eq!(diagonal, j["correct"].as_u64().unwrap());
    // The text form shows the same number.
    let text = stdout(&nudge(&["eval", "--model", committed_model().to_str().unwrap()]));
    assert!(text.contains(&format!("{:.2}%", 100.0 * accuracy)), "{text}");
}

/// Seed 2.D: for several class pairs, the class flips to the target with high confidence
/// while every pixel moves by a small amount.
#[test]
fn attacks_flip_the_class_with_a_small_perturbation() {
    let Some(_) = require_data() else { return };
    for (from, to) in [(7, 3), (1, 8), (0, 6), (4, 9), (3, 5)] {
        let args =
            ["attack", "--input-class", &from.to_string(), "--target-class", &to.to_string()];
        // The seed's gradient ascent: no budget; it stops at p(target) ≥ 0.9.
        let g = json(&nudge(&[&args[..], &["--json"]].concat()));
        assert_eq!(g["method"], "gradient");
        assert_eq!(g["source_class"], from);
        assert_eq!(g["initial_class"], from);
        assert!(g["initial_target_prob"].as_f64().unwrap() < 0.1, "{from}→{to}: {g}");
        assert_eq!(g["success"], true, "{from}→{to}");
        assert_eq!(g["final_class"], to);
        assert!(g["final_target_prob"].as_f64().unwrap() >= 0.9);
        assert!(g["l2"].as_f64().unwrap() < 4.0, "{from}→{to}: L2 {}", g["l2"]);
        assert!(g["linf"].as_f64().unwrap() < 0.6, "{from}→{to}: L∞ {}", g["linf"]);
        let adv = g["adversarial"].as_array().unwrap();
        assert_eq!(adv.len(), 784);
        assert!(adv.iter().all(|v| (0.0..=1.0).contains(&v.as_f64().unwrap())));
        // PGD in L∞ with ε = 0.2: no pixel moves by more than 0.2.
        let p = json(&nudge(&[&args[..], &["--method", "pgd", "--eps", "0.2", "--json"]].concat()));
        assert_eq!(p["success"], true, "pgd {from}→{to}: {p}");
        assert!(p["final_target_prob"].as_f64().unwrap() >= 0.9);
        assert!(p["linf"].as_f64().unwrap() <= 0.2 + 1e-6);
    }
}

#[test]
fn attack_writes_a_png_and_never_overwrites() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("attack.png");
    let png_s = png.to_str().unwrap();
    let o = nudge(&[
        "attack",
        "--index",
        "0",
        "--target-class",
        "3",
        "--method",
        "pgd-l2",
        "--out",
        png_s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("before:") && text.contains("after:") && text.contains("L∞"), "{text}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let o = nudge(&["attack", "--index", "0", "--target-class", "3", "--out", png_s]);
    assert_fails(&o, &["attack.png", "--force"]);
    assert_eq!(std::fs::read(&png).unwrap(), bytes);
    let o = nudge(&[
        "attack",
        "--index",
        "0",
        "--target-class",
        "3",
        "--method",
        "fgsm",
        "--out",
        png_s,
        "--force",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn bad_arguments_fail_with_one_line_naming_them() {
    let Some(_) = require_data() else { return };
    let base = ["attack", "--index", "0"];
    let cases: &[(&[&str], &[&str])] = &[
        (&["--target-class", "10"], &["--target-class", "10"]),
        (&["--target-class", "7"], &["--target-class", "true class"]),
        (&["--target-class", "3", "--eps", "-0.1", "--method", "pgd"], &["--eps"]),
        (&["--target-class", "3", "--step", "0"], &["--step"]),
        (&["--target-class", "3", "--step", "NaN"], &["--step"]),
        (&["--target-class", "3", "--iters", "0"], &["--iters"]),
        (&["--target-class", "3", "--confidence", "1.5"], &["--confidence"]),
        (
            &["--target-class", "3", "--out", "/nonexistent-dir/a.png"],
            &["/nonexistent-dir", "does not exist"],
        ),
    ];
    for (extra, needles) in cases {
        assert_fails(&nudge(&[&base[..], extra].concat()), needles);
    }
    assert_fails(
        &nudge(&["attack", "--index", "10000", "--target-class", "3"]),
        &["--index", "10000"],
    );
    assert_fails(
        &nudge(&["attack", "--input-class", "12", "--target-class", "3"]),
        &["--input-class"],
    );
    assert_fails(
        &nudge(&["attack", "--input-class", "3", "--target-class", "3"]),
        &["--target-class"],
    );
    assert_fails(&nudge(&["demo", "--from", "11"]), &["--from"]);
    assert_fails(&nudge(&["demo", "--per-class", "0"]), &["--per-class"]);
    assert_fails(
        &nudge(&["eval", "--model", "/nonexistent/m.safetensors"]),
        &["/nonexistent/m.safetensors"],
    );
    assert_fails(
        &nudge(&["eval", "--data", "/nonexistent/data"]),
        &["/nonexistent/data", "--data"],
    );
    assert_fails(&nudge(&["train", "--hidden", "0", "--no-save"]), &["--hidden"]);
    assert_fails(&nudge(&["train", "--arch", "conv8", "--no-save"]), &["--arch", "conv8"]);
    assert_fails(&nudge(&["train", "--arch", "96-10", "--no-save"]), &["--arch", "96", "784"]);
    assert_fails(
        &nudge(&["train", "--arch", "conv8k3,relu,dense3", "--no-save"]),
        &["--arch", "labels up to 9", "3 classes"],
    );
    assert_fails(&nudge(&["train", "--lr", "-1", "--no-save"]), &["--lr"]);
    assert_fails(&nudge(&["train", "--epochs", "0", "--no-save"]), &["--epochs"]);
    assert_fails(
        &nudge(&["train", "--out", "/nonexistent-dir/m.safetensors"]),
        &["/nonexistent-dir"],
    );
    assert_fails(
        &nudge(&["train", "--out", committed_model().to_str().unwrap()]),
        &["mnist-mlp-h64.safetensors", "already exists", "--force"],
    );
}

#[test]
fn demo_shows_one_attack_and_the_pair_table() {
    let Some(_) = require_data() else { return };
    let j = json(&nudge(&["demo", "--per-class", "1", "--json"]));
    assert!(j["accuracy"].as_f64().unwrap() >= 0.95);
    assert_eq!(j["single"]["success"], true);
    assert_eq!(j["total"], 90);
    let successes = j["successes"].as_u64().unwrap();
    assert!(successes >= 85, "{successes} of 90 pairs flipped");
    assert!(j["median_final_target_prob"].as_f64().unwrap() >= 0.9);
    assert!(j["median_linf"].as_f64().unwrap() < 0.5);
    let text = stdout(&nudge(&["demo", "--per-class", "1"]));
    assert!(
        text.contains("in\\to") && text.contains("median L∞") && text.contains("attacks succeeded"),
        "{text}"
    );
}

#[test]
fn demo_without_data_runs_the_toy_section_and_says_how_to_get_mnist() {
    let empty = tempfile::tempdir().unwrap();
    let o = nudge_cmd()
        .current_dir(empty.path())
        .env("NUDGE_REPO", empty.path())
        .env("HOME", empty.path())
        .env_remove("XDG_CACHE_HOME")
        .arg("demo")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("No MNIST data found")
            && text.contains("nudge data fetch")
            && text.contains("2.C"),
        "{text}"
    );
}

#[test]
fn samples_writes_ten_correct_digits_for_the_firmware() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = nudge(&["samples", "--out", out]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(dir.path().join("digits.f32")).unwrap();
    assert_eq!(bytes.len(), 10 * 784 * 4);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("digits.json")).unwrap()).unwrap();
    let indices: Vec<usize> =
        meta["indices"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let test = nudge_host::data::load_test(&nudge_tests::data_dir()).unwrap();
    for (k, &i) in indices.iter().enumerate() {
        assert_eq!(test.labels[i], k);
        let want = test.input(i).unwrap();
        for (p, w) in bytes[k * 3136..(k + 1) * 3136].chunks_exact(4).zip(want) {
            assert_eq!(f32::from_le_bytes(p.try_into().unwrap()).to_bits(), w.to_bits());
        }
    }
    assert_fails(&nudge(&["samples", "--out", out]), &["digits.f32", "already exists"]);
    assert!(nudge(&["samples", "--out", out, "--force"]).status.success());
    assert_fails(&nudge(&["samples", "--out", "/nonexistent-dir"]), &["/nonexistent-dir"]);
}

#[test]
fn data_fetch_offline_fails_fast_with_advice_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mnist");
    let start = Instant::now();
    // Nothing listens on port 9 of localhost; the real mirror is unreachable here too.
    let o = nudge(&[
        "data",
        "fetch",
        "--dir",
        target.to_str().unwrap(),
        "--mirror",
        "https://127.0.0.1:9/mnist",
        "--timeout",
        "5",
    ]);
    assert_fails(&o, &["--data", "NUDGE_DATA", "127.0.0.1"]);
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(std::fs::read_dir(&target).map(|d| d.count()).unwrap_or(0), 0, "left files behind");
}

#[test]
fn data_info_reports_the_shared_copy() {
    let Some(dir) = require_data() else { return };
    let o = nudge(&["data", "info"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text.contains("10000 training and 10000 test images"), "{text}");
    let canonical = std::fs::canonicalize(dir).unwrap();
    assert!(
        text.contains("shared/data/mnist") || text.contains(canonical.to_str().unwrap()),
        "{text}"
    );
}
