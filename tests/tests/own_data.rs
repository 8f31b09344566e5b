//! Every command on a network that is not MNIST's 784 inputs and 10 classes: a small CNN
//! trained by `nudge train` on 3-channel 8 × 8 images of 3 classes, given as `.npy`, then
//! evaluated, attacked, reported on, sampled and differentiated — each result checked
//! independently of the command that made it.

use std::path::Path;

use nudge_core::Classifier;
use nudge_host::model::ModelFile;
use nudge_tests::{assert_fails, nudge, stderr};

use nudge_tests::colour_data::{CLASSES, N, SHAPE, write_data};

fn run_json(args: &[&str]) -> serde_json::Value {
    let o = nudge(args);
    assert!(o.status.success(), "nudge {args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn train_eval_attack_report_and_sample_a_network_of_any_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let (x, y) = write_data(tmp.path());
    let (x, y) = (x.to_str().unwrap(), y.to_str().unwrap());
    let model = tmp.path().join("rgb.safetensors");
    let model_s = model.to_str().unwrap();
    let data = ["--inputs", x, "--labels", y];

    // Train: the input shape and class count come from the data.
    let mut args = vec!["train", "--arch", "conv4k3,relu,maxpool2,dense3", "--epochs", "4"];
    args.extend(["--validation", "150", "--shift", "0", "--out", model_s, "--json"]);
    args.extend(data);
    let j = run_json(&args);
    assert_eq!(j["scored_on"], "held-out");
    assert_eq!(j["total"], 150);
    let held_out = j["accuracy"].as_f64().unwrap();
    assert!(held_out >= 0.9, "held-out accuracy {held_out}");
    let file = ModelFile::load(&model).unwrap();
    assert_eq!(file.model.input(), SHAPE);

    // Eval on all the data: the kernel's count, recounted here through the library.
    let mut args = vec!["eval", "--model", model_s, "--json"];
    args.extend(data);
    let j = run_json(&args);
    let split = nudge_host::labelled::load(Path::new(x), Path::new(y)).unwrap();
    let net = file.classifier(&model).unwrap();
    let mut ws = net.workspace();
    let correct = (0..N)
        .filter(|&i| {
            net.predict(split.input(i).unwrap(), &mut ws).unwrap().class == split.labels[i]
        })
        .count();
    assert_eq!(
        (j["total"].as_u64(), j["correct"].as_u64()),
        (Some(N as u64), Some(correct as u64))
    );
    assert_eq!(j["confusion"].as_array().unwrap().len(), CLASSES);

    // Attack input 0 (class 0) toward class 2; the adversarial input is re-scored here.
    let png = tmp.path().join("attack.png");
    let mut args = vec!["attack", "--model", model_s, "--index", "0", "--target-class", "2"];
    args.extend(["--method", "pgd", "--eps", "0.5", "--json", "--out", png.to_str().unwrap()]);
    args.extend(data);
    let j = run_json(&args);
    let adversarial: Vec<f32> =
        j["adversarial"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    assert_eq!(adversarial.len(), SHAPE.len());
    let original = split.input(0).unwrap();
    let linf = original.iter().zip(&adversarial).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(linf <= 0.5 + 1e-6 && adversarial.iter().all(|v| (0.0..=1.0).contains(v)));
    let rescored = net.predict(&adversarial, &mut ws).unwrap().class;
    assert_eq!(j["success"], rescored == 2, "{j}");
    assert!(j["success"].as_bool().unwrap(), "PGD at ε = 0.5 flips this easy model: {j}");
    assert_eq!(j["probabilities_after"].as_array().unwrap().len(), CLASSES);
    let (w, h) = nudge_host::report::png_size(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!((w, h), (3 * 8 * 8 + 4 * 8, 8 * 8 + 2 * 8));

    // Demo: every ordered pair of the 3 classes on 2 images each.
    let mut args = vec!["demo", "--model", model_s, "--from", "1", "--to", "2"];
    args.extend(["--per-class", "2", "--method", "pgd", "--eps", "0.5", "--json"]);
    args.extend(data);
    let j = run_json(&args);
    assert_eq!(j["total"], CLASSES * (CLASSES - 1) * 2);

    // Report: a 3 × 3 gallery of colour images, a 3 × 3 heatmap, curves.
    let out = tmp.path().join("report");
    let mut args = vec!["report", "--model", model_s, "--out", out.to_str().unwrap()];
    args.extend(["--images", "2", "--curve-images", "60", "--pgd-iters", "5"]);
    args.extend(data);
    let o = nudge(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let pairs = std::fs::read(out.join("pairs.png")).unwrap();
    let size = nudge_host::report::png_size(&pairs).unwrap();
    assert_eq!(size, nudge_host::report::gallery_size(CLASSES, SHAPE));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let m = &report["models"][0];
    assert_eq!(m["pairs"]["attacks"], CLASSES * (CLASSES - 1) * 2);
    assert_eq!(m["pairs"]["success_rate"].as_array().unwrap().len(), CLASSES);
    assert_eq!(m["gallery"]["cells"].as_array().unwrap().len(), CLASSES);
    assert_eq!(m["test_images"], N);

    // Samples: one correctly classified input per class, in the data's layout.
    let samples = tmp.path().join("samples");
    std::fs::create_dir(&samples).unwrap();
    let mut args = vec!["samples", "--model", model_s, "--out", samples.to_str().unwrap()];
    args.extend(data);
    let o = nudge(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(samples.join("digits.f32")).unwrap();
    assert_eq!(bytes.len(), CLASSES * SHAPE.len() * 4);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(samples.join("digits.json")).unwrap()).unwrap();
    for (k, i) in meta["indices"].as_array().unwrap().iter().enumerate() {
        let i = i.as_u64().unwrap() as usize;
        assert_eq!(split.labels[i], k);
        let got: Vec<f32> = bytes[k * SHAPE.len() * 4..(k + 1) * SHAPE.len() * 4]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(got, split.input(i).unwrap());
    }

    // Data of the wrong shape for a model is refused with one line naming both.
    let mnist = nudge_tests::committed_model();
    let mut args = vec!["attack", "--model", mnist.to_str().unwrap(), "--index", "0"];
    args.extend(["--target-class", "1"]);
    args.extend(data);
    assert_fails(&nudge(&args), &["x.npy", "3x8x8", "784"]);
    // A class the model does not have is refused by flag.
    let mut args = vec!["attack", "--model", model_s, "--index", "0", "--target-class", "3"];
    args.extend(data);
    assert_fails(&nudge(&args), &["--target-class", "0..=2"]);
}
