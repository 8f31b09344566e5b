//! Float32 TFLite models load as nudge networks and compute what LiteRT computes.
//!
//! Fixtures: `tests/fixtures/make_tflite_fixtures.py` wrote three `.tflite` files with
//! Keras and TensorFlow's converter (an MLP and a CNN trained on MNIST, and a small
//! three-channel network with every other supported form) and LiteRT's logits and test
//! accuracy. Broken files are made here by editing the fixtures with the same FlatBuffers
//! types the importer reads.

use std::path::{Path, PathBuf};

use nudge_host::model::ModelFile;
use nudge_host::tflite::schema::tflite as fb;
use nudge_tests::imported::{self, assert_logits};
use nudge_tests::{assert_fails, fixture, nudge, require_data};
use planus::ReadAsRoot;

fn expected() -> serde_json::Value {
    imported::expected("tflite-fixtures.expected.json")
}

#[test]
fn keras_mlp_and_cnn_predict_and_score_like_litert() {
    let Some(dir) = require_data() else { return };
    let models = [
        ("mlp", "flatten,dense16,relu,dense10"),
        ("cnn", "conv8k3,relu,maxpool2,conv16k3,relu,maxpool2,flatten,dense10"),
    ];
    imported::assert_mnist_models(&dir, &expected(), &models, "LiteRT");
    for (name, _) in models {
        let file = ModelFile::load(&fixture(&format!("tflite-{name}.tflite"))).unwrap();
        assert_eq!(file.metadata.get("format").map(String::as_str), Some("tflite"), "{name}");
    }
}

#[test]
fn every_supported_form_computes_like_litert_with_three_channels() {
    // RELU, CONV_2D (SAME, stride 2; VALID without bias), MAX_POOL_2D with a fused ReLU,
    // AVERAGE_POOL_2D, RESHAPE of a 2×2×5 NHWC tensor to a shape computed from the batch
    // (SHAPE, STRIDED_SLICE, PACK), FULLY_CONNECTED with and without a fused ReLU.
    let expected = expected();
    let e = &expected["ops"];
    let file = ModelFile::load(&fixture("tflite-ops.tflite")).unwrap();
    assert_eq!(
        file.model.arch(),
        "relu,conv4k3s2p1,maxpool2s1,relu,conv5k2,avgpool2s1,flatten,dense6,relu,dense4"
    );
    assert_eq!(file.model.input(), nudge_core::Shape::new(3, 9, 9));
    // LiteRT's inputs are H×W×C; nudge takes the same image as C×H×W.
    let inputs: Vec<Vec<f32>> = e["inputs"].as_array().unwrap().iter().map(hwc_to_chw).collect();
    let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    assert_logits(&file, &refs, &e["logits"], "LiteRT");
}

/// A JSON image `[h][w][c]` as nudge's `c, h, w` values.
fn hwc_to_chw(image: &serde_json::Value) -> Vec<f32> {
    let rows = image.as_array().unwrap();
    let (h, w) = (rows.len(), rows[0].as_array().unwrap().len());
    let c = rows[0][0].as_array().unwrap().len();
    let mut out = vec![0.0f32; c * h * w];
    for (y, row) in rows.iter().enumerate() {
        for (x, pixel) in row.as_array().unwrap().iter().enumerate() {
            for (k, v) in pixel.as_array().unwrap().iter().enumerate() {
                out[(k * h + y) * w + x] = v.as_f64().unwrap() as f32;
            }
        }
    }
    out
}

#[test]
fn a_tflite_model_converts_attacks_and_is_found_by_content() {
    let Some(_) = require_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // By content: the file's name says nothing.
    let renamed = tmp.path().join("model.bin");
    std::fs::copy(fixture("tflite-cnn.tflite"), &renamed).unwrap();
    let table = imported::assert_attacks_and_converts(&renamed, tmp.path());
    // The layer table names the file's tensors.
    assert!(table.contains("conv2d_1/convolution") && table.contains("dense10"), "{table}");
}

/// The ops fixture, edited by `edit`, written to `dir/name`.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&mut fb::Model)) -> PathBuf {
    let bytes = std::fs::read(fixture("tflite-ops.tflite")).unwrap();
    let mut model = fb::Model::try_from(fb::ModelRef::read_as_root(&bytes).unwrap()).unwrap();
    edit(&mut model);
    let path = dir.join(name);
    std::fs::write(&path, serialize(&model)).unwrap();
    path
}

/// A model's bytes, with TFLite's identifier at bytes 4..8. planus 1.3.0's
/// `Builder::finish` writes the identifier and the root offset in each other's place
/// (planus-org/planus#377), so the two words are swapped back.
fn serialize(model: &fb::Model) -> Vec<u8> {
    let mut builder = planus::Builder::new();
    let mut bytes = builder.finish(model, Some(*b"TFL3")).to_vec();
    if bytes[..4] == *b"TFL3" {
        // The offset is relative to its own position: 4 more from position 0.
        let offset = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) + 4;
        bytes[..4].copy_from_slice(&offset.to_le_bytes());
        bytes[4..8].copy_from_slice(b"TFL3");
    }
    bytes
}

#[test]
fn the_edited_fixtures_are_faithful_copies() {
    // The editing itself changes nothing: an unedited copy is the same network.
    let tmp = tempfile::tempdir().unwrap();
    let copy = edited(tmp.path(), "copy.tflite", |_| {});
    let (a, b) = (ModelFile::load(&fixture("tflite-ops.tflite")).unwrap(), ModelFile::load(&copy));
    assert_eq!(a.model, b.unwrap().model);
}

fn graph(m: &mut fb::Model) -> &mut fb::SubGraph {
    &mut m.subgraphs.as_mut().unwrap()[0]
}

/// The `n`th operator whose builtin code is `code`.
fn operator(m: &mut fb::Model, code: i32, n: usize) -> &mut fb::Operator {
    let codes: Vec<i32> =
        m.operator_codes.as_ref().unwrap().iter().map(|c| c.builtin_code).collect();
    let ops = graph(m).operators.as_mut().unwrap();
    ops.iter_mut().filter(|o| codes[o.opcode_index as usize] == code).nth(n).unwrap()
}

/// Points the `n`th operator of `code` at a new operator code `new_code`.
fn recode(m: &mut fb::Model, code: i32, n: usize, new_code: i32) {
    let codes = m.operator_codes.as_mut().unwrap();
    codes.push(fb::OperatorCode {
        deprecated_builtin_code: new_code.min(127) as i8,
        builtin_code: new_code,
        version: 1,
        custom_code: None,
    });
    let index = codes.len() as i32 - 1;
    operator(m, code, n).opcode_index = index as u32;
}

fn conv_options(o: &mut fb::Operator) -> &mut fb::Conv2DOptions {
    match o.builtin_options.as_mut().unwrap() {
        fb::BuiltinOptions::Conv2DOptions(c) => c,
        _ => unreachable!(),
    }
}

fn pool_options(o: &mut fb::Operator) -> &mut fb::Pool2DOptions {
    match o.builtin_options.as_mut().unwrap() {
        fb::BuiltinOptions::Pool2DOptions(p) => p,
        _ => unreachable!(),
    }
}

const CONV_2D: i32 = 3;
const MAX_POOL_2D: i32 = 17;
const RELU: i32 = 19;
const FULLY_CONNECTED: i32 = 9;
const RESHAPE: i32 = 22;
const SHAPE: i32 = 77;

#[test]
fn unsupported_graphs_are_refused_in_one_line_naming_the_op() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    const CONV_OUT: &str = "sequential_3_1/conv2d_2_1/BiasAdd";
    let cases: Vec<(PathBuf, &[&str])> = vec![
        (
            edited(dir, "relu6.tflite", |m| recode(m, RELU, 0, 21)),
            &["op 0 (RELU6", "not supported"],
        ),
        (
            edited(dir, "depthwise.tflite", |m| recode(m, CONV_2D, 0, 4)),
            &["op 1 (DEPTHWISE_CONV_2D", CONV_OUT, "not supported"],
        ),
        (
            edited(dir, "fused.tflite", |m| {
                let o = operator(m, CONV_2D, 0);
                conv_options(o).fused_activation_function = fb::ActivationFunctionType::Relu6;
            }),
            &["op 1 (CONV_2D", "fused activation Relu6"],
        ),
        (
            edited(dir, "dilation.tflite", |m| {
                conv_options(operator(m, CONV_2D, 1)).dilation_w_factor = 2;
            }),
            &["op 3 (CONV_2D", "dilation"],
        ),
        (
            // A stride nudge would read differently: the output tensor's shape disagrees.
            edited(dir, "stride.tflite", |m| {
                conv_options(operator(m, CONV_2D, 0)).stride_h = 1;
            }),
            &["op 1 (CONV_2D", "[1, 5, 5, 4]", "nudge computes 4x9x5"],
        ),
        (
            // SAME on a 4-wide input by a 2-wide window at stride 1 pads 0 before, 1 after.
            edited(dir, "same.tflite", |m| {
                pool_options(operator(m, MAX_POOL_2D, 0)).padding = fb::Padding::Same;
            }),
            &["op 2 (MAX_POOL_2D", "pads 0 before and 1 after"],
        ),
        (
            edited(dir, "int8.tflite", |m| {
                let filter = operator(m, CONV_2D, 0).inputs.as_ref().unwrap()[1] as usize;
                graph(m).tensors.as_mut().unwrap()[filter].type_ = 9;
            }),
            &["op 1 (CONV_2D", "is int8, not float32", "quantized"],
        ),
        (
            edited(dir, "branch.tflite", |m| {
                let input = graph(m).inputs.as_ref().unwrap()[0];
                operator(m, FULLY_CONNECTED, 1).inputs.as_mut().unwrap()[0] = input;
            }),
            &["op 10 (FULLY_CONNECTED", "only a chain of layers"],
        ),
        (
            // The dynamic-batch shape ops are skipped only while they feed a RESHAPE's shape.
            edited(dir, "shape-read.tflite", |m| {
                let shape_out = operator(m, SHAPE, 0).outputs.as_ref().unwrap()[0];
                operator(m, RESHAPE, 0).inputs.as_mut().unwrap()[0] = shape_out;
            }),
            &["op 5 (SHAPE", "not float32"],
        ),
        (
            edited(dir, "softmax.tflite", |m| recode(m, RELU, 0, 25)),
            &["op 0 (SOFTMAX", "only as the last op"],
        ),
        (
            edited(dir, "dynamic.tflite", |m| {
                let input = graph(m).inputs.as_ref().unwrap()[0] as usize;
                graph(m).tensors.as_mut().unwrap()[input].shape_signature =
                    Some(vec![1, -1, -1, 3]);
            }),
            &["input `serving_default", "signature [1, -1, -1, 3]"],
        ),
        (
            edited(dir, "custom.tflite", |m| {
                recode(m, RELU, 0, 32);
                let codes = m.operator_codes.as_mut().unwrap();
                codes.last_mut().unwrap().custom_code = Some("MyGelu".into());
            }),
            &["op 0 (custom op MyGelu", "custom ops are not supported"],
        ),
        (
            edited(dir, "truncated-weight.tflite", |m| {
                let filter = operator(m, CONV_2D, 0).inputs.as_ref().unwrap()[1] as usize;
                let buffer = graph(m).tensors.as_ref().unwrap()[filter].buffer as usize;
                m.buffers.as_mut().unwrap()[buffer].data.as_mut().unwrap().truncate(8);
            }),
            &["op 1 (CONV_2D", "holds 8 bytes for shape [4, 3, 3, 3]"],
        ),
    ];
    for (path, needles) in cases {
        let o = nudge(&["eval", "--model", path.to_str().unwrap()]);
        assert_fails(&o, &[&[path.to_str().unwrap()], needles].concat());
    }
    // A file cut short, and the identifier on bytes that are not a FlatBuffer.
    let bytes = std::fs::read(fixture("tflite-ops.tflite")).unwrap();
    let cut = dir.join("cut.tflite");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_fails(&nudge(&["eval", "--model", cut.to_str().unwrap()]), &["cut.tflite", "TFLite"]);
    let named = dir.join("named.tflite");
    std::fs::write(&named, b"{\"not\": \"a model\"}").unwrap();
    assert_fails(
        &nudge(&["eval", "--model", named.to_str().unwrap()]),
        &["named.tflite", "no TFL3 identifier"],
    );
    let junk = dir.join("junk.tflite");
    std::fs::write(&junk, b"\xff\xff\xff\x7fTFL3 and nothing else").unwrap();
    assert_fails(
        &nudge(&["eval", "--model", junk.to_str().unwrap()]),
        &["junk.tflite", "not a valid TFLite model"],
    );
}
