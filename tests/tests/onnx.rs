//! ONNX models load as nudge networks and compute what ONNX Runtime computes.
//!
//! Fixtures: `tests/fixtures/make_onnx_fixtures.py` wrote three ONNX files: two exported by
//! `torch.onnx.export` (an MLP trained in torch, by the TorchScript exporter; nudge's
//! committed CNN by the default dynamo exporter, its weights in external data) and a small
//! network with every other supported form, and ONNX Runtime's logits and test accuracy.
//! Broken files are made here by editing the fixtures with the same protobuf types the
//! importer reads.

use std::path::{Path, PathBuf};

use nudge_host::model::ModelFile;
use nudge_tests::imported::{self, assert_logits};
use nudge_tests::{assert_fails, fixture, nudge, require_data};
use onnx_protobuf::{AttributeProto, Message, ModelProto, attribute_proto::AttributeType};

fn expected() -> serde_json::Value {
    imported::expected("onnx-fixtures.expected.json")
}

#[test]
fn pytorch_exported_mlp_and_cnn_predict_and_score_like_onnx_runtime() {
    let Some(dir) = require_data() else { return };
    let models = [
        ("mlp", "flatten,dense16,relu,dense10"),
        ("cnn", "conv8k3,relu,maxpool2,conv16k3,relu,maxpool2,flatten,dense10"),
    ];
    imported::assert_mnist_models(&dir, &expected(), &models, "ONNX Runtime");
    // The CNN fixture is nudge's committed CNN, its weights in `onnx-cnn.onnx.data`: the
    // import copies them exactly.
    let imported = ModelFile::load(&fixture("onnx-cnn.onnx")).unwrap();
    let committed = ModelFile::load(&nudge_tests::repo().join("models/mnist-cnn.safetensors"));
    let committed = committed.unwrap();
    assert_eq!(imported.model.input(), committed.model.input());
    let bits = |m: &ModelFile| m.model.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&imported), bits(&committed));
    // What the firmware's build script watches besides the model.
    let path = fixture("onnx-cnn.onnx");
    let bytes = std::fs::read(&path).unwrap();
    let files = nudge_host::onnx::external_data_files(&bytes, &path);
    assert_eq!(files, [fixture("onnx-cnn.onnx.data")]);
    let mlp = fixture("onnx-mlp.onnx");
    assert!(nudge_host::onnx::external_data_files(&std::fs::read(&mlp).unwrap(), &mlp).is_empty());
}

#[test]
fn every_supported_form_computes_like_onnx_runtime() {
    // Conv (stride 2, padding 1, no bias), AveragePool, Dropout, Reshape to a Constant
    // shape, MatMul + Add, Gemm (transB = 0, alpha, beta, typed float_data), final Softmax.
    let expected = expected();
    let e = &expected["ops"];
    let file = ModelFile::load(&fixture("onnx-ops.onnx")).unwrap();
    assert_eq!(file.model.arch(), "conv3k3s2p1,relu,avgpool2s1,flatten,dense5,relu,dense4");
    let inputs: Vec<Vec<f32>> = e["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| flatten(x).into_iter().map(|v| v as f32).collect())
        .collect();
    let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    assert_logits(&file, &refs, &e["logits"], "ONNX Runtime");
}

/// The numbers of a nested JSON array, in order.
fn flatten(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(flatten).collect(),
        other => vec![other.as_f64().unwrap()],
    }
}

#[test]
fn an_onnx_model_converts_attacks_and_is_found_by_content() {
    let Some(_) = require_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // By content: the file's name says nothing.
    let renamed = tmp.path().join("model.bin");
    std::fs::copy(fixture("onnx-cnn.onnx"), &renamed).unwrap();
    // The external data keeps the name the model gives it.
    std::fs::copy(fixture("onnx-cnn.onnx.data"), tmp.path().join("onnx-cnn.onnx.data")).unwrap();
    let table = imported::assert_attacks_and_converts(&renamed, tmp.path());
    // The layer table names the file's tensors.
    assert!(table.contains("0.weight, 0.bias") && table.contains("7.weight, 7.bias"), "{table}");
}

/// The ops fixture, edited by `edit`, written to `dir/name`.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&mut ModelProto)) -> PathBuf {
    let bytes = std::fs::read(fixture("onnx-ops.onnx")).unwrap();
    let mut model = ModelProto::parse_from_bytes(&bytes).unwrap();
    edit(&mut model);
    let path = dir.join(name);
    std::fs::write(&path, model.write_to_bytes().unwrap()).unwrap();
    path
}

fn int_attribute(name: &str, value: i64) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.into();
    a.type_ = AttributeType::INT.into();
    a.i = value;
    a
}

fn node_mut<'m>(m: &'m mut ModelProto, op: &str) -> &'m mut onnx_protobuf::NodeProto {
    m.graph.as_mut().unwrap().node.iter_mut().find(|n| n.op_type == op).unwrap()
}

#[test]
fn unsupported_graphs_are_refused_in_one_line_naming_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cases: Vec<(PathBuf, &[&str])> = vec![
        (
            edited(dir, "group.onnx", |m| {
                node_mut(m, "Conv").attribute.push(int_attribute("group", 3))
            }),
            &["/conv/Conv", "group"],
        ),
        (
            edited(dir, "dilation.onnx", |m| {
                let mut a = int_attribute("dilations", 0);
                a.type_ = AttributeType::INTS.into();
                a.ints = vec![2, 2];
                node_mut(m, "Conv").attribute.push(a);
            }),
            &["/conv/Conv", "dilations"],
        ),
        (
            edited(dir, "op.onnx", |m| node_mut(m, "Relu").op_type = "Sigmoid".into()),
            &["/relu1/Relu", "op Sigmoid is not supported"],
        ),
        (
            edited(dir, "branch.onnx", |m| {
                let add = node_mut(m, "Add");
                add.input[0] = "/flat".into();
            }),
            &["/fc/Add", "takes `/flat`", "only a chain of layers"],
        ),
        (
            edited(dir, "int.onnx", |m| {
                let g = m.graph.as_mut().unwrap();
                let w = g.initializer.iter_mut().find(|t| t.name == "mm.weight").unwrap();
                w.data_type = onnx_protobuf::tensor_proto::DataType::INT32 as i32;
            }),
            &["/fc/MatMul", "mm.weight", "not float32"],
        ),
        (
            edited(dir, "dynamic.onnx", |m| {
                let input = &mut m.graph.as_mut().unwrap().input[0];
                let t = match input.type_.as_mut().unwrap().value.as_mut().unwrap() {
                    onnx_protobuf::type_proto::Value::TensorType(t) => t,
                    _ => unreachable!(),
                };
                let dim = &mut t.shape.as_mut().unwrap().dim[2];
                dim.value = Some(onnx_protobuf::tensor_shape_proto::dimension::Value::DimParam(
                    "height".into(),
                ));
            }),
            &["input", "[?, 2, ?, 7]"],
        ),
        (
            edited(dir, "softmax.onnx", |m| {
                let g = m.graph.as_mut().unwrap();
                let relu = g.node.iter().position(|n| n.op_type == "Relu").unwrap();
                g.node[relu].op_type = "Softmax".into();
            }),
            &["/relu1/Relu", "only as the last node"],
        ),
    ];
    // External data: the file must lie beside the model and hold the bytes named.
    let external = |name: &str, location: &str, offset: &str| {
        let (location, offset) = (location.to_string(), offset.to_string());
        edited(dir, name, move |m| {
            let g = m.graph.as_mut().unwrap();
            let w = g.initializer.iter_mut().find(|t| t.name == "mm.weight").unwrap();
            w.raw_data.clear();
            w.data_location = onnx_protobuf::tensor_proto::DataLocation::EXTERNAL.into();
            for (key, value) in
                [("location", location), ("offset", offset), ("length", "540".into())]
            {
                let mut entry = onnx_protobuf::StringStringEntryProto::new();
                (entry.key, entry.value) = (key.into(), value);
                w.external_data.push(entry);
            }
        })
    };
    std::fs::write(dir.join("weights.data"), vec![0u8; 600]).unwrap();
    let cases: Vec<(PathBuf, &[&str])> = cases
        .into_iter()
        .chain([
            (
                external("outside.onnx", "../weights.data", "0"),
                &["mm.weight", "`../weights.data` is not a file name beside the model"][..],
            ),
            (external("missing.onnx", "nothing.data", "0"), &["mm.weight", "nothing.data"]),
            (
                external("beyond.onnx", "weights.data", "100"),
                &["mm.weight", "bytes 100..+540 lies beyond"],
            ),
        ])
        .collect();
    // The same file, in range, reads (540 zero bytes: a zero weight).
    let inside = external("inside.onnx", "weights.data", "60");
    let zero = ModelFile::load(&inside).unwrap();
    assert!(zero.model.params().iter().filter(|&&v| v == 0.0).count() >= 135);
    for (path, needles) in cases {
        let o = nudge(&["eval", "--model", path.to_str().unwrap()]);
        assert_fails(&o, &[&[path.to_str().unwrap()], needles].concat());
    }
    // Not a model at all, named .onnx: ONNX's own error.
    let junk = dir.join("junk.onnx");
    std::fs::write(&junk, b"\x0a\x05hello").unwrap();
    assert_fails(&nudge(&["eval", "--model", junk.to_str().unwrap()]), &["junk.onnx", "ONNX"]);
}
