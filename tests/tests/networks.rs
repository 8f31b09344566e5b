//! Networks that are not the 784-H-10 MLP, end to end through the CLI: a CNN trained with
//! `--arch`, saved with its layers in the metadata and `nn.Sequential` tensor names, loaded
//! back, evaluated, attacked and differentiated; a three-layer MLP; and the network trainer
//! reproducing the committed MLP bit for bit.

use nudge_host::model::{LAYERS_KEY, ModelFile};
use nudge_host::safetensors;
use nudge_tests::{assert_fails, committed_model, json, nudge, nudge_cmd, require_data, stderr};

/// A small CNN with every layer kind (strided conv with padding, max and average pooling).
const CNN: &str = "conv4k3s1p1,relu,maxpool2,conv8k3s2,relu,avgpool2s1,dense10";

fn train(arch: &str, out: &std::path::Path, extra: &[&str]) {
    let mut args = vec!["train", "--arch", arch, "--epochs", "3", "--validation", "6000", "--json"];
    args.extend_from_slice(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    let o = nudge_cmd().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    assert!(j["accuracy"].as_f64().unwrap() > 0.5, "{j}");
}

#[test]
fn a_cnn_trains_saves_loads_evaluates_attacks_and_explains() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cnn.safetensors");
    train(CNN, &path, &[]);

    // Its layers are in the metadata, spelt out (flatten included); the tensors have
    // nn.Sequential's names and PyTorch's shapes.
    let st = safetensors::read(&path).unwrap();
    assert_eq!(
        st.metadata[LAYERS_KEY],
        "conv4k3p1,relu,maxpool2,conv8k3s2,relu,avgpool2s1,flatten,dense10"
    );
    assert_eq!(st.metadata["nudge.input"], "1x28x28");
    assert_eq!(st.tensors["0.weight"].shape, [4, 1, 3, 3]);
    assert_eq!(st.tensors["3.weight"].shape, [8, 4, 3, 3]);
    // 14×14 → conv s2 → 6×6 → avgpool 2 s1 → 5×5: 8·25 features.
    assert_eq!(st.tensors["7.weight"].shape, [10, 200]);
    let file = ModelFile::load(&path).unwrap();
    assert_eq!(ModelFile::parse(&file.to_bytes(), &path).unwrap(), file);

    let eval = json(&nudge(&["eval", "--model", path.to_str().unwrap(), "--json"]));
    assert_eq!(eval["arch"], st.metadata[LAYERS_KEY].as_str());
    let accuracy = eval["accuracy"].as_f64().unwrap();
    assert_eq!(format!("{accuracy:.4}"), file.metadata["accuracy"]);

    let png = dir.path().join("attack.png");
    let o = nudge(&[
        "attack",
        "--model",
        path.to_str().unwrap(),
        "--input-class",
        "1",
        "--target-class",
        "7",
        "--method",
        "pgd",
        "--eps",
        "0.3",
        "--iters",
        "60",
        "--step",
        "0.02",
        "--json",
        "--out",
        png.to_str().unwrap(),
    ]);
    let attack = json(&o);
    assert!(png.is_file());
    assert!(attack["linf"].as_f64().unwrap() <= 0.3 + 1e-6, "{attack}");

    let npy = dir.path().join("g.npy");
    let o = nudge(&[
        "gradient",
        "--model",
        path.to_str().unwrap(),
        "--index",
        "0",
        "--target-class",
        "3",
        "--out",
        npy.to_str().unwrap(),
        "--png",
        dir.path().join("g.png").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&npy).unwrap();
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'shape': (1, 28, 28)"), "{header}");
    assert_eq!(bytes.len(), 10 + header_len + 4 * 784);
    // Not all zero, and finite.
    let values: Vec<f32> = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert!(values.iter().all(|v| v.is_finite()) && values.iter().any(|&v| v != 0.0));
    // Never overwritten without --force.
    assert_fails(
        &nudge(&[
            "gradient",
            "--model",
            path.to_str().unwrap(),
            "--index",
            "0",
            "--out",
            npy.to_str().unwrap(),
        ]),
        &["already exists"],
    );
}

#[test]
fn a_three_layer_mlp_round_trips_with_fc_names() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp3.safetensors");
    train("784-32-16-10", &path, &[]);
    let st = safetensors::read(&path).unwrap();
    let names: Vec<&str> = st.tensors.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "fc3.bias", "fc3.weight"]
    );
    // No layer metadata is needed: the MLP follows from the names and shapes.
    assert!(!st.metadata.contains_key(LAYERS_KEY));
    assert_eq!(ModelFile::load(&path).unwrap().model.arch(), "784-32-16-10");
}

/// The trainer works on networks; an MLP trained with the committed recipe must still be
/// the committed file's tensors, bit for bit.
#[test]
fn the_network_trainer_reproduces_the_committed_mlp() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("again.safetensors");
    let o = nudge_cmd().args(["train", "--out", path.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = safetensors::read(&path).unwrap();
    let committed = safetensors::read(&committed_model()).unwrap();
    assert_eq!(ours.tensors, committed.tensors);
}

/// `models/mnist-cnn.safetensors`, trained by nudge (`conv8k3,relu,maxpool2,conv16k3,relu,
/// maxpool2,dense10`, 20 epochs), scores at least 98% and what its metadata claims.
#[test]
fn the_committed_cnn_scores_at_least_98_percent() {
    let Some(_) = require_data() else { return };
    let cnn = nudge_tests::repo().join("models/mnist-cnn.safetensors");
    let j = json(&nudge(&["eval", "--model", cnn.to_str().unwrap(), "--json"]));
    let accuracy = j["accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.98, "accuracy {accuracy}");
    assert_eq!(format!("{accuracy:.4}"), j["metadata"]["accuracy"].as_str().unwrap());
    assert_eq!(j["arch"], "conv8k3,relu,maxpool2,conv16k3,relu,maxpool2,flatten,dense10");
}
