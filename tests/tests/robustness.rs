//! `nudge robustness` and the AutoAttack-grade evaluation behind it, on the committed models
//! and the first MNIST test images: every adversarial example is checked independently (in
//! the ε-ball and `[0, 1]`, misclassified by a float64 forward pass written here), the
//! ensemble is at least as strong as PGD-40, results do not depend on the thread count,
//! and bad settings fail with one line. No timing is checked.
//!
//! Data: `../shared/data/mnist` beside the repository; the tests skip (saying so) without it.

use std::path::{Path, PathBuf};

use nudge_host::data::{self, Split};
use nudge_host::model::ModelFile;
use nudge_host::report::Silent;
use nudge_host::robustness::{self, AttackChoice, Config, Evaluation, Norm};
use nudge_tests::{assert_fails, json, nudge, repo, require_data};

/// Slack of the ball checks: the kernel computes `x⁰ ± ε` in f32.
const BALL_SLACK: f32 = 1e-6;

fn robust_model() -> PathBuf {
    repo().join("models/mnist-mlp-h64-robust.safetensors")
}

fn test_split(dir: &Path) -> Split {
    data::load_test(dir).expect("MNIST test split")
}

fn evaluate(model: &Path, split: &Split, images: usize, cfg: &Config) -> Evaluation {
    let file = ModelFile::load(model).unwrap();
    let net = file.classifier(model).unwrap();
    robustness::evaluate(&net, split, images, cfg, &Silent).unwrap()
}

/// An `fc1..fcN` MLP in float64, from the model file's tensors: a forward pass that shares
/// no code with the kernel.
struct Reference {
    /// Per layer: rows, columns, weights (row-major) and bias.
    layers: Vec<(usize, usize, Vec<f64>, Vec<f64>)>,
}

impl Reference {
    fn load(model: &Path) -> Self {
        let file = ModelFile::load(model).unwrap();
        let tensors = file.model.to_tensors();
        let get = |name: &str| {
            let t = &tensors.iter().find(|(n, _)| n == name).unwrap().1;
            let values: Vec<f64> = t
                .data
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect();
            (t.shape.clone(), values)
        };
        let depth = tensors.iter().filter(|(n, _)| n.ends_with(".weight")).count();
        let layers = (1..=depth)
            .map(|k| {
                let (shape, w) = get(&format!("fc{k}.weight"));
                (shape[0], shape[1], w, get(&format!("fc{k}.bias")).1)
            })
            .collect();
        Self { layers }
    }

    /// The predicted class of `x`.
    fn class(&self, x: &[f32]) -> usize {
        let mut h: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        for (k, (rows, cols, w, b)) in self.layers.iter().enumerate() {
            let last = k + 1 == self.layers.len();
            h = (0..*rows)
                .map(|r| {
                    let z = b[r] + (0..*cols).map(|c| w[r * cols + c] * h[c]).sum::<f64>();
                    if last { z } else { z.max(0.0) }
                })
                .collect();
        }
        argmax(&h)
    }
}

fn argmax(z: &[f64]) -> usize {
    (0..z.len()).fold(0, |best, i| if z[i] > z[best] { i } else { best })
}

/// Every returned image: in `[0, 1]` and the ε-ball; a broken one misclassified by the
/// float64 reference, a robust one the original itself. Returns the reference's robust count.
fn check_independently(model: &Path, split: &Split, e: &Evaluation) -> usize {
    let reference = Reference::load(model);
    let n = split.input_len();
    let mut robust = 0;
    for (i, outcome) in e.outcomes.iter().enumerate() {
        let x = split.input(i).unwrap();
        let adv = &e.adversarial[i * n..(i + 1) * n];
        assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)), "image {i} leaves [0, 1]");
        let distance = match e.config.norm {
            Norm::Linf => x.iter().zip(adv).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max),
            Norm::L2 => x.iter().zip(adv).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt(),
        };
        assert!(distance <= e.config.epsilon + BALL_SLACK, "image {i}: distance {distance}");
        let predicted = reference.class(adv);
        let label = split.labels[i];
        if outcome.broken_by.is_some() {
            assert_ne!(predicted, label, "image {i}: the reference does not see it broken");
        } else if outcome.clean_correct {
            assert_eq!(adv, x, "image {i}: a robust image is returned as it was");
        }
        robust += usize::from(predicted == label);
    }
    robust
}

#[test]
fn autoattack_examples_check_out_and_beat_pgd40_on_the_robust_model() {
    let Some(dir) = require_data() else { return };
    let split = test_split(&dir);
    let model = robust_model();
    let images = 300;
    let aa = evaluate(&model, &split, images, &Config::default());
    let pgd = evaluate(
        &model,
        &split,
        images,
        &Config { attack: AttackChoice::Pgd, ..Config::default() },
    );
    let apgd = evaluate(
        &model,
        &split,
        images,
        &Config { attack: AttackChoice::ApgdCe, ..Config::default() },
    );
    assert_eq!(check_independently(&model, &split, &aa), aa.robust, "the reference's robust count");
    check_independently(&model, &split, &apgd);
    assert_eq!(
        aa.passes.iter().map(|p| p.attack.as_str()).collect::<Vec<_>>(),
        ["apgd-ce", "apgd-t", "square"]
    );
    assert_eq!(aa.passes[0].attacked, aa.clean_correct);
    for w in aa.passes.windows(2) {
        assert_eq!(w[1].attacked, w[0].robust, "each pass attacks what the last left");
    }
    assert_eq!(aa.passes.last().unwrap().robust, aa.robust);
    assert!(
        aa.robust <= apgd.robust && apgd.robust <= pgd.robust,
        "AutoAttack {} ≤ APGD-CE {} ≤ PGD-40 {}",
        aa.robust,
        apgd.robust,
        pgd.robust
    );
    assert!(aa.robust_accuracy > 0.5, "the robust model keeps most: {}", aa.robust_accuracy);
}

#[test]
fn the_standard_model_falls_and_l2_examples_check_out() {
    let Some(dir) = require_data() else { return };
    let split = test_split(&dir);
    let model = nudge_tests::committed_model();
    let linf = evaluate(&model, &split, 200, &Config::default());
    check_independently(&model, &split, &linf);
    assert!(
        linf.robust_accuracy < 0.1,
        "standard training is not robust: {}",
        linf.robust_accuracy
    );
    let l2 = Config { norm: Norm::L2, epsilon: 1.5, ..Config::default() };
    let e = evaluate(&model, &split, 200, &l2);
    assert_eq!(
        e.passes.iter().map(|p| p.attack.as_str()).collect::<Vec<_>>(),
        ["apgd-ce", "apgd-t"]
    );
    check_independently(&model, &split, &e);
    assert!(
        e.robust < e.clean_correct / 2,
        "L2 ε = 1.5 breaks most: {} of {}",
        e.robust,
        e.clean_correct
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let Some(dir) = require_data() else { return };
    let split = test_split(&dir);
    let cfg = Config { queries: 400, ..Config::default() };
    let model = robust_model();
    let many = evaluate(&model, &split, 60, &cfg);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let one = pool.install(|| evaluate(&model, &split, 60, &cfg));
    assert_eq!(one.adversarial, many.adversarial, "same bits on 1 and {} threads", many.threads);
    assert_eq!(one.outcomes, many.outcomes);
    let other_seed = evaluate(&model, &split, 60, &Config { seed: 1, ..cfg });
    assert_ne!(other_seed.adversarial, many.adversarial, "the seed reaches the random starts");
}

#[test]
fn cli_reports_json_and_saves_examples_that_rescore_the_same() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("adv.npy");
    let model = robust_model();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "robustness",
            "--model",
            model.to_str().unwrap(),
            "--images",
            "40",
            "--queries",
            "300",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| nudge(&args(extra).iter().map(String::as_str).collect::<Vec<_>>());
    let o = run(&["--json", "--save-adversarial", out.to_str().unwrap()]);
    let j = json(&o);
    assert_eq!(j["images"], 40);
    assert_eq!(j["config"]["attack"], "autoattack");
    assert_eq!(j["passes"].as_array().unwrap().len(), 3);
    let robust = j["robust"].as_u64().unwrap() as usize;
    let images = nudge_host::npy::parse(&std::fs::read(&out).unwrap(), &out).unwrap();
    assert_eq!(images.shape, [40, 1, 28, 28]);
    let labels_path = dir.path().join("adv.labels.npy");
    let labels = nudge_host::npy::parse(&std::fs::read(&labels_path).unwrap(), &labels_path)
        .unwrap()
        .to_i64();
    let indices_path = dir.path().join("adv.indices.npy");
    let indices = nudge_host::npy::parse(&std::fs::read(&indices_path).unwrap(), &indices_path)
        .unwrap()
        .to_i64();
    assert_eq!(indices, (0..40).collect::<Vec<i64>>());
    let pixels = images.to_f32();
    let reference = Reference::load(&model);
    let rescored = (0..40)
        .filter(|&i| reference.class(&pixels[i * 784..(i + 1) * 784]) as i64 == labels[i])
        .count();
    assert_eq!(rescored, robust, "the saved images re-score to the reported robust count");

    // Nothing is overwritten without --force; with it, the same run gives the same bytes.
    let before = std::fs::read(&out).unwrap();
    assert_fails(&run(&["--save-adversarial", out.to_str().unwrap()]), &["adv.npy", "--force"]);
    let o = run(&["--save-adversarial", out.to_str().unwrap(), "--force"]);
    assert!(o.status.success());
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let text = nudge_tests::stdout(&o);
    assert!(
        text.contains("robust accuracy after apgd-ce:") && text.contains("clean accuracy"),
        "{text}"
    );
}

#[test]
fn any_network_runs_the_ensemble() {
    let Some(_) = require_data() else { return };
    let cnn = repo().join("models/mnist-cnn.safetensors");
    let o = nudge(&[
        "robustness",
        "--model",
        cnn.to_str().unwrap(),
        "--images",
        "12",
        "--queries",
        "200",
        "--json",
    ]);
    let j = json(&o);
    assert_eq!(j["arch"], "conv8k3,relu,maxpool2,conv16k3,relu,maxpool2,flatten,dense10");
    let (robust, correct) = (j["robust"].as_u64().unwrap(), j["clean_correct"].as_u64().unwrap());
    assert!(robust < correct, "ε = 0.1 breaks some of the CNN's digits: {robust} of {correct}");
}

#[test]
fn bad_settings_fail_with_one_line() {
    let Some(_) = require_data() else { return };
    assert_fails(&nudge(&["robustness", "--eps=-0.1"]), &["--eps"]);
    assert_fails(&nudge(&["robustness", "--eps", "2"]), &["--eps"]);
    assert_fails(
        &nudge(&["robustness", "--norm", "l2", "--attack", "square"]),
        &["--attack", "L∞"],
    );
    assert_fails(&nudge(&["robustness", "--iters", "0"]), &["--iters"]);
    assert_fails(&nudge(&["robustness", "--images", "0"]), &["--images"]);
    assert_fails(
        &nudge(&["robustness", "--model", "no-such.safetensors"]),
        &["no-such.safetensors"],
    );
}

/// The class of the first largest int8 logit (numpy's argmax, as TFLite users score).
fn int8_class(net: &nudge_core::quant::QuantNetwork<'_>, x: &[f32]) -> usize {
    let mut arena = vec![0i8; net.arena_len()];
    let logits = net.forward_f32(x, &mut arena).unwrap();
    (0..logits.len()).fold(0, |best, i| if logits[i] > logits[best] { i } else { best })
}

#[test]
fn an_int8_model_is_attacked_through_its_twin_and_judged_on_int8() {
    use nudge_core::Classifier;
    use nudge_core::quant::QuantClassifier;
    let Some(dir) = require_data() else { return };
    let split = test_split(&dir);
    let path = nudge_tests::fixture("int8-mlp.tflite");
    let model = nudge_host::tflite::int8::read(&std::fs::read(&path).unwrap(), &path).unwrap();
    let net = model.network().unwrap();
    let twin_model = model.twin().unwrap();
    let twin = twin_model.classifier("twin").unwrap();
    let judged =
        QuantClassifier::<_, Vec<i8>, { nudge_host::MAX_CLASSES }>::new(net.clone(), twin.clone())
            .unwrap();

    // Predictions are the int8 network's; gradients are the twin's, bit for bit.
    let x = split.input(0).unwrap();
    let mut ws = judged.workspace();
    assert_eq!(judged.predict(x, &mut ws).unwrap().class, int8_class(&net, x));
    let objective = nudge_core::Objective::Untargeted { true_class: split.labels[0] };
    let (mut g_judged, mut g_twin) = (vec![0.0; 784], vec![0.0; 784]);
    let e = judged.input_gradient(x, objective, &mut ws, &mut g_judged).unwrap();
    twin.input_gradient(x, objective, &mut twin.workspace(), &mut g_twin).unwrap();
    assert_eq!(g_judged, g_twin);
    assert_eq!(e.prediction, judged.predict(x, &mut ws).unwrap());

    // Every example AutoAttack reports on the int8 network fools the int8 network.
    let cfg = Config { queries: 300, ..Config::default() };
    let e = robustness::evaluate(&judged, &split, 80, &cfg, &Silent).unwrap();
    let mut robust = 0;
    for (i, o) in e.outcomes.iter().enumerate() {
        let (x, adv) = (split.input(i).unwrap(), &e.adversarial[i * 784..(i + 1) * 784]);
        let linf = x.iter().zip(adv).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(linf <= 0.1 + BALL_SLACK && adv.iter().all(|v| (0.0..=1.0).contains(v)));
        let class = int8_class(&net, adv);
        if o.broken_by.is_some() {
            assert_ne!(class, split.labels[i], "image {i}: int8 does not see it broken");
        }
        robust += usize::from(class == split.labels[i]);
    }
    assert_eq!(robust, e.robust);
    assert!(
        e.robust < e.clean_correct / 2,
        "ε = 0.1 breaks most: {} of {}",
        e.robust,
        e.clean_correct
    );
}

#[test]
fn cli_reports_int8_twin_and_transfer() {
    let Some(_) = require_data() else { return };
    let path = nudge_tests::fixture("int8-mlp.tflite");
    let args = [
        "robustness",
        "--model",
        path.to_str().unwrap(),
        "--images",
        "40",
        "--queries",
        "200",
        "--json",
    ];
    let j = json(&nudge(&args));
    assert_eq!(j["arithmetic"], "tflm");
    for side in ["int8", "twin"] {
        assert_eq!(j[side]["images"], 40, "{side}");
        assert_eq!(j[side]["passes"].as_array().unwrap().len(), 3, "{side}");
    }
    let (examples, fooled) =
        (j["transfer"]["examples"].as_u64().unwrap(), j["transfer"]["fooled"].as_u64().unwrap());
    let twin_broken: u64 =
        j["twin"]["passes"].as_array().unwrap().iter().map(|p| p["broken"].as_u64().unwrap()).sum();
    assert_eq!(examples, twin_broken, "every adversarial example of the twin is scored");
    assert!(fooled <= examples && fooled > 0, "{fooled} of {examples}");
}
