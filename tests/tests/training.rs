//! Training: determinism (same seed → byte-identical weights, whatever the thread count),
//! learning on real data, and that an interrupted run leaves the previous model untouched.

use std::time::Duration;

use nudge_host::data::Split;
use nudge_host::train::{Optimizer, Schedule, TrainConfig};
use nudge_tests::{assert_fails, nudge_cmd, require_data, stderr};

fn small_config(seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch: 32,
        lr: 4e-3,
        optimizer: Optimizer::Adam,
        schedule: Schedule::Cosine,
        weight_decay: 1e-4,
        shift: 1,
        seed,
        validation: 200,
    }
}

/// `784-H-10`.
fn mlp_arch(hidden: usize) -> nudge_host::arch::Arch {
    let image = nudge_core::Shape::new(1, 28, 28);
    nudge_host::arch::parse(&format!("784-{hidden}-10"), image, "test").unwrap()
}

fn subset(n: usize) -> Option<Split> {
    let dir = require_data()?;
    let d = nudge_host::data::load(&dir, nudge_host::data::DatasetKind::Mnist).unwrap();
    Some(d.train.split_at(n).0)
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let Some(data) = subset(2000) else { return };
    let run = |seed| {
        let arch = mlp_arch(16);
        let (model, h) = nudge_host::train::train(
            &data,
            &arch,
            &small_config(seed),
            &mut |_, _| {},
            &mut |_| {},
        )
        .unwrap();
        (nudge_host::model::ModelFile { model, metadata: Default::default() }.to_bytes(), h)
    };
    let (a, history) = run(7);
    let (b, _) = run(7);
    let (c, _) = run(8);
    assert_eq!(a, b, "same seed, different weights");
    assert_ne!(a, c);
    assert_eq!(history.len(), 2);
    assert!(history[1].loss < history[0].loss);
    assert!(history[1].val_accuracy > 0.6, "{history:?}");
}

#[test]
fn thread_count_does_not_change_the_weights() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("t{threads}.safetensors"));
        let o = nudge_cmd()
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "train",
                "--hidden",
                "32",
                "--epochs",
                "1",
                "--validation",
                "9000",
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        outputs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn train_reports_epochs_and_test_accuracy_as_json() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let o = nudge_cmd()
        .args([
            "train",
            "--hidden",
            "16",
            "--epochs",
            "2",
            "--validation",
            "8000",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let j = nudge_tests::json(&o);
    assert_eq!(j["epochs"].as_array().unwrap().len(), 2);
    assert_eq!(j["total"], 10_000);
    assert!(j["accuracy"].as_f64().unwrap() > 0.6, "{j}");
    let file = nudge_host::model::ModelFile::load(&out).unwrap();
    assert_eq!(file.metadata["accuracy"], format!("{:.4}", j["accuracy"].as_f64().unwrap()));
    // And the logistic regression of the seed.
    let j = nudge_tests::json(
        &nudge_cmd().args(["train", "--arch", "logreg", "--json"]).output().unwrap(),
    );
    assert!(j["cosine_with_seed_theta"].as_f64().unwrap() > 0.99);
}

/// Ctrl-C during training: the previous model is untouched and no partial file appears.
#[test]
fn interrupted_training_leaves_the_previous_model_untouched() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.safetensors");
    std::fs::write(&out, b"previous model").unwrap();
    let mut child = nudge_cmd()
        .args(["train", "--epochs", "200", "--force", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SIGINT, as Ctrl-C sends.
    let killed =
        std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    if !killed.is_ok_and(|s| s.success()) {
        child.kill().unwrap();
    }
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(std::fs::read(&out).unwrap(), b"previous model");
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // Without --force the existing file is refused before any training.
    let o = nudge_cmd().args(["train", "--out", out.to_str().unwrap()]).output().unwrap();
    assert_fails(&o, &["model.safetensors", "already exists"]);
}
