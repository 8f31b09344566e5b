//! Model files: export → import round trip, the PyTorch-layout fixture, Python's
//! `safetensors.numpy` reading ours, and every kind of broken file.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use nudge_core::Classifier;
use nudge_host::model::ModelFile;
use nudge_host::safetensors::{self, Tensor};
use nudge_tests::{assert_fails, committed_model, fixture, nudge, require_data};

/// Absolute and relative tolerance for f32 logits against the float64 NumPy reference.
const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-5;

#[test]
fn export_import_round_trip_is_exact() {
    let file = ModelFile::load(&committed_model()).unwrap();
    assert_eq!(file.model.arch(), "784-64-10");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.safetensors");
    file.save(&path, false).unwrap();
    let back = ModelFile::load(&path).unwrap();
    assert_eq!(back, file);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(committed_model()).unwrap(),
        "not canonical"
    );
    let err = file.save(&path, false).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn committed_model_metadata_is_complete() {
    let file = ModelFile::load(&committed_model()).unwrap();
    for key in ["dataset", "accuracy", "seed", "hidden", "nudge_version", "recipe"] {
        assert!(file.metadata.contains_key(key), "missing metadata {key}");
    }
}

/// The fixture is what `safetensors.torch.save_file` writes for `nn.Linear(784, 16)` and
/// `nn.Linear(16, 10)`; `make_pytorch_fixture.py` wrote it with the float64 logits of the
/// first 32 test images.
#[test]
fn pytorch_layout_fixture_loads_and_predicts_like_numpy() {
    let Some(dir) = require_data() else { return };
    let file = ModelFile::load(&fixture("pytorch-h16.safetensors")).unwrap();
    assert_eq!(file.model.arch(), "784-16-10");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("pytorch-h16.expected.json")).unwrap())
            .unwrap();
    assert_predicts(&file, &dir, &expected, "NumPy");
}

/// `file` gives the logits of `expected` (within [`ATOL`] + [`RTOL`]·|logit|) on the first
/// `expected["count"]` test images of `dir`, and its classes where the margin is clear.
fn assert_predicts(file: &ModelFile, dir: &Path, expected: &serde_json::Value, reference: &str) {
    let test = nudge_host::data::load_test(dir).unwrap();
    let model = file.model.classifier("fixture").unwrap();
    let mut ws = model.workspace();
    for i in 0..expected["count"].as_u64().unwrap() as usize {
        let pred = model.predict(test.input(i).unwrap(), &mut ws).unwrap();
        for (k, want) in expected["logits"][i].as_array().unwrap().iter().enumerate() {
            let (got, want) = (f64::from(pred.logits()[k]), want.as_f64().unwrap());
            let delta = (got - want).abs();
            assert!(
                delta <= ATOL + RTOL * want.abs(),
                "image {i} logit {k}: got {got}, {reference} {want}, delta {delta}"
            );
        }
        if expected["margins"][i].as_f64().unwrap() > 1e-4 {
            assert_eq!(pred.class as u64, expected["classes"][i].as_u64().unwrap(), "image {i}");
        }
    }
}

#[test]
fn our_file_loads_in_python_safetensors_numpy() {
    let script = r#"
import sys
from safetensors.numpy import load_file
from safetensors import safe_open
t = load_file(sys.argv[1])
shapes = {k: list(v.shape) for k, v in t.items()}
assert shapes == {"fc1.weight": [64, 784], "fc1.bias": [64], "fc2.weight": [10, 64], "fc2.bias": [10]}, shapes
assert all(str(v.dtype) == "float32" for v in t.values())
with safe_open(sys.argv[1], framework="numpy") as f:
    m = f.metadata()
assert m["hidden"] == "64" and m["dataset"] == "mnist", m
print("ok", float(t["fc2.bias"][0]))
"#;
    let out = match Command::new("python3").arg("-c").arg(script).arg(committed_model()).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: python3 not available ({e})");
            return;
        }
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("No module named") {
        eprintln!("skipped: python3 lacks safetensors/numpy (pip install safetensors numpy)");
        return;
    }
    assert!(out.status.success(), "python: {err}");
    let text = String::from_utf8_lossy(&out.stdout);
    let bias: f32 = text.trim().strip_prefix("ok ").unwrap().parse().unwrap();
    let file = ModelFile::load(&committed_model()).unwrap();
    // fc2.bias is the last tensor: its first value is the tenth from the end.
    let ours = file.model.params()[file.model.params().len() - 10];
    assert!((bias - ours).abs() <= 1e-6 * ours.abs().max(1.0), "python {bias}, ours {ours}");
}

/// The committed model's tensors as (name, tensor) pairs, to break one at a time.
fn tensors() -> Vec<(String, Tensor)> {
    let st = safetensors::read(&committed_model()).unwrap();
    ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
        .iter()
        .map(|n| (n.to_string(), st.tensors[*n].clone()))
        .collect()
}

fn serialize(ts: &[(String, Tensor)]) -> Vec<u8> {
    let refs: Vec<(&str, &Tensor)> = ts.iter().map(|(n, t)| (n.as_str(), t)).collect();
    safetensors::serialize(&refs, &BTreeMap::new())
}

fn with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Every broken model file: `nudge eval` exits 1 with one line naming the file and the
/// problem, and the library returns the same error.
#[test]
fn broken_model_files_are_rejected_by_name() {
    let Some(_) = require_data() else { return };
    let good = std::fs::read(committed_model()).unwrap();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "too short"),
        ("truncated", good[..good.len() / 2].to_vec(), "outside"),
        (
            "header longer than file",
            {
                let mut b = good.clone();
                b[..8].copy_from_slice(&(good.len() as u64).to_le_bytes());
                b
            },
            "larger than the rest of the file",
        ),
        ("header not JSON", with_header("{\"fc1.weight\": ", &[]), "not valid JSON"),
        ("header not an object", with_header("[1, 2, 3]", &[]), "not a JSON object"),
        (
            "overlapping offsets",
            with_header(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
                &[0; 6],
            ),
            "overlap",
        ),
        (
            "offsets past the end",
            with_header(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &[0; 4]),
            "outside",
        ),
    ];
    type Edit<'a> = &'a dyn Fn(&mut Vec<(String, Tensor)>);
    let mut variant = |what: &'static str, edit: Edit, needle: &'static str| {
        let mut ts = tensors();
        edit(&mut ts);
        cases.push((what, serialize(&ts), needle));
    };
    variant("unknown dtype", &|ts| ts[1].1.dtype = "Q4".into(), "unknown dtype");
    variant(
        "wrong dtype",
        &|ts| {
            ts[3].1 = Tensor { dtype: "F16".into(), shape: vec![10], data: vec![0; 20] };
        },
        "tensor fc2.bias has dtype F16, expected F32",
    );
    variant(
        "wrong shape",
        &|ts| {
            ts[0].1 = Tensor::f32(vec![32, 784], &vec![0.0; 32 * 784]);
        },
        "tensor fc2.weight has shape [10, 64], expected [10, 32] (its inputs are fc1's outputs)",
    );
    variant(
        "transposed",
        &|ts| ts[2].1.shape = vec![64, 10],
        "tensor fc2.weight has shape [64, 10], expected [64, 64] (its inputs are fc1's outputs)",
    );
    variant(
        "missing tensor",
        &|ts| {
            ts.remove(3);
        },
        "missing tensor fc2.bias",
    );
    variant(
        "extra tensor",
        &|ts| ts.push(("conv.weight".into(), Tensor::f32(vec![1], &[0.0]))),
        "unexpected tensor conv.weight",
    );
    variant(
        "NaN weight",
        &|ts| ts[1].1.data[8..12].copy_from_slice(&f32::NAN.to_le_bytes()),
        "tensor fc1.bias has a non-finite value (NaN) at index 2",
    );
    variant(
        "infinite weight",
        &|ts| ts[2].1.data[0..4].copy_from_slice(&f32::INFINITY.to_le_bytes()),
        "tensor fc2.weight has a non-finite value (inf) at index 0",
    );

    let dir = tempfile::tempdir().unwrap();
    for (i, (what, bytes, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.safetensors"));
        std::fs::write(&path, bytes).unwrap();
        let lib = ModelFile::load(&path).unwrap_err().to_string();
        assert!(lib.contains(needle) && lib.contains(path.to_str().unwrap()), "{what}: {lib}");
        assert_fails(
            &nudge(&["eval", "--model", path.to_str().unwrap()]),
            &[path.to_str().unwrap(), needle],
        );
    }
    // A directory, and a path that does not exist.
    assert_fails(&nudge(&["eval", "--model", dir.path().to_str().unwrap()]), &["directory"]);
    let missing = dir.path().join("nope.safetensors");
    assert_fails(
        &nudge(&["eval", "--model", missing.to_str().unwrap()]),
        &["nope.safetensors", "No such file"],
    );
}

#[test]
fn loading_needs_no_python_for_the_fixture() {
    // The fixture is committed: this test only reads it.
    assert!(Path::new(&fixture("pytorch-h16.safetensors")).is_file());
    let st = safetensors::read(&fixture("pytorch-h16.safetensors")).unwrap();
    assert_eq!(st.tensors["fc1.weight"].shape, vec![16, 784]);
    assert_eq!(st.metadata["source"], "tests/fixtures/make_pytorch_fixture.py");
}

/// A plain `nn.Sequential` CNN checkpoint — no nudge metadata, and a Dropout that shifts
/// its numbering (`0`, `4`, `8`) — converted with `--arch`, predicts like ONNX Runtime on
/// the same network (`make_sequential_cnn_fixture.py` wrote both, with the versions).
#[test]
fn plain_sequential_cnn_checkpoint_converts_and_predicts_like_onnx_runtime() {
    let Some(dir) = require_data() else { return };
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("sequential-cnn.expected.json")).unwrap())
            .unwrap();
    let arch = expected["arch"].as_str().unwrap();
    let checkpoint = fixture("sequential-cnn.safetensors");
    let checkpoint = checkpoint.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cnn.safetensors");
    let out_arg = out.to_str().unwrap();

    // Without the layers the file cannot be read; the one-line error says what to do.
    assert_fails(&nudge(&["eval", "--model", checkpoint]), &[checkpoint, "nudge convert"]);
    let o = nudge(&["convert", "--model", checkpoint, "--arch", arch, "--out", out_arg]);
    assert!(o.status.success(), "convert failed: {}", nudge_tests::stderr(&o));
    let table = nudge_tests::stdout(&o);
    for row in ["0.weight, 0.bias", "4.weight, 4.bias", "8.weight, 8.bias", "6x3x3"] {
        assert!(table.contains(row), "layer table lacks {row}:\n{table}");
    }

    let file = ModelFile::load(&out).unwrap();
    assert_eq!(file.metadata["converted_from"], checkpoint);
    assert_predicts(&file, &dir, &expected, "ONNX Runtime");

    // The converted file is nudge's own: it converts again without --arch, to the same
    // bytes; an existing --out is refused without --force.
    let again = tmp.path().join("again.safetensors");
    let o = nudge(&["convert", "--model", out_arg, "--out", again.to_str().unwrap()]);
    assert!(o.status.success(), "{}", nudge_tests::stderr(&o));
    assert_eq!(ModelFile::load(&again).unwrap().model, file.model);
    let before = std::fs::read(&out).unwrap();
    let o = nudge(&["convert", "--model", checkpoint, "--arch", arch, "--out", out_arg]);
    assert_fails(&o, &["already exists", "--force"]);
    assert_eq!(std::fs::read(&out).unwrap(), before, "--out changed without --force");
}

/// Layers that do not fit the checkpoint are refused with the tensor and both shapes, and
/// nothing is written.
#[test]
fn a_checkpoint_with_the_wrong_layers_is_refused_by_name() {
    let checkpoint = fixture("sequential-cnn.safetensors");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cnn.safetensors");
    let run = |arch: &str| {
        nudge(&[
            "convert",
            "--model",
            checkpoint.to_str().unwrap(),
            "--arch",
            arch,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    // Eight channels where the file has four.
    assert_fails(
        &run("conv8k3p1,relu,maxpool2,conv6k3s2,relu,avgpool2,dense10"),
        &["sequential-cnn.safetensors", "0.weight", "[4, 1, 3, 3]", "[8, 1, 3, 3]"],
    );
    // One layer with parameters too few.
    assert_fails(&run("conv4k3p1,relu,maxpool2,dense10"), &["3 weight tensors", "have 2"]);
    // Stride 1 instead of 2: the dense layer's inputs no longer match.
    assert_fails(
        &run("conv4k3p1,relu,maxpool2,conv6k3,relu,avgpool2,dense10"),
        &["8.weight", "[10, 54]", "[10, 216]"],
    );
    assert!(!out.exists(), "a refused conversion wrote {}", out.display());
}

/// nudge's own names under a common prefix (`net.0.weight`, an `nn.Sequential` kept as an
/// attribute) are matched by name; the committed CNN read that way is the same model.
#[test]
fn sequential_names_under_a_prefix_are_matched() {
    let cnn = ModelFile::load(&nudge_tests::repo().join("models/mnist-cnn.safetensors")).unwrap();
    let tensors: Vec<(String, Tensor)> =
        cnn.model.to_tensors().into_iter().map(|(name, t)| (format!("net.{name}"), t)).collect();
    let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let bytes = safetensors::serialize(&refs, &BTreeMap::new());
    let path = Path::new("prefixed.safetensors");
    let st = safetensors::parse(&bytes, path).unwrap();
    let layers = cnn.model.layers().to_vec();
    let matched = nudge_host::checkpoint::read(&st, path, cnn.model.input(), layers).unwrap();
    assert_eq!(matched.model, cnn.model);
    assert_eq!(matched.tensors.first().map(String::as_str), Some("net.0.weight"));
}
