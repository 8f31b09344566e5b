//! Full-integer int8 TFLite models run on nudge's int8 network with the reference
//! runtimes' arithmetic, bit for bit.
//!
//! Fixtures: `tests/fixtures/make_int8_fixtures.py` trained an MLP and a CNN on MNIST with
//! Keras, converted them with TensorFlow's full-integer int8 quantization, and recorded the
//! outputs of two runtimes on 64 test images (the first 32, then 32 where the runtimes
//! disagree) and their correct counts on all 10,000: LiteRT's reference kernels
//! (`BUILTIN_REF`) and TensorFlow Lite Micro's interpreter. The two differ by one step on
//! some FULLY_CONNECTED outputs (LiteRT rounds the requantization once, TFLM twice); nudge
//! reproduces each exactly in the matching [`Arithmetic`]. Tolerance: none (exact equality).

use nudge_core::quant::{Arithmetic, QuantNetwork};
use nudge_host::tflite::int8::{self, Int8Model};
use nudge_host::tflite::schema::tflite as fb;
use nudge_tests::{fixture, imported, require_data};

fn expected() -> serde_json::Value {
    imported::expected("int8-fixtures.expected.json")
}

fn load(name: &str) -> Int8Model {
    let path = fixture(&format!("int8-{name}.tflite"));
    int8::read(&std::fs::read(&path).unwrap(), &path).unwrap()
}

/// The network's int8 outputs on `x` (an f32 image, quantized by the network).
fn run(net: &QuantNetwork<'_>, x: &[f32], arena: &mut [i8]) -> Vec<i8> {
    net.forward_f32(x, arena).unwrap().to_vec()
}

/// The first largest output's class (numpy's argmax, which the fixture script used).
fn argmax(v: &[i8]) -> usize {
    let mut best = 0;
    for (k, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = k;
        }
    }
    best
}

/// Each runtime's outputs on the fixture images are nudge's, exactly, and so is its
/// correct count on the whole test set.
fn assert_runtimes(name: &str) {
    let Some(dir) = require_data() else { return };
    let test = nudge_host::data::load_test(&dir).unwrap();
    let e = &expected()[name];
    let model = load(name);
    let base = model.network().unwrap();
    let indices: Vec<usize> =
        e["indices"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(indices.len(), 64, "{name}: fixture images");
    let float_out = e["output_type"] == "float32";
    assert_eq!(model.float_output, float_out, "{name}: DEQUANTIZE at the end");
    let mut arena = vec![0i8; base.arena_len()];
    for (runtime, arithmetic) in [("litert", Arithmetic::LiteRt), ("tflm", Arithmetic::Tflm)] {
        let net = base.clone().with_arithmetic(arithmetic);
        let want_rows = e[format!("{runtime}_outputs")].as_array().unwrap();
        let mut mismatches = Vec::new();
        for (row, &i) in want_rows.iter().zip(&indices) {
            let got = run(&net, test.input(i).unwrap(), &mut arena);
            let want = row.as_array().unwrap();
            if float_out {
                // The file's DEQUANTIZE, compared as f32 bits.
                let mut logits = vec![0.0f32; got.len()];
                net.dequantize_logits(&got, &mut logits).unwrap();
                let want: Vec<f32> = want.iter().map(|v| v.as_f64().unwrap() as f32).collect();
                if logits.iter().map(|v| v.to_bits()).ne(want.iter().map(|v| v.to_bits())) {
                    mismatches.push(format!("image {i}: nudge {logits:?}, {runtime} {want:?}"));
                }
            } else {
                let want: Vec<i8> = want.iter().map(|v| v.as_i64().unwrap() as i8).collect();
                if got != want {
                    mismatches.push(format!("image {i}: nudge {got:?}, {runtime} {want:?}"));
                }
            }
        }
        assert!(mismatches.is_empty(), "{name} ({runtime}): {}", mismatches.join("\n"));
        let correct = (0..test.len())
            .filter(|&i| argmax(&run(&net, test.input(i).unwrap(), &mut arena)) == test.labels[i])
            .count();
        assert_eq!(
            correct as u64,
            e[format!("{runtime}_test_correct")].as_u64().unwrap(),
            "{name} ({runtime}): correct test images"
        );
        assert_eq!(test.len() as u64, e["test_total"].as_u64().unwrap());
    }
}

#[test]
fn keras_int8_mlp_computes_exactly_like_litert_and_tflm() {
    assert_runtimes("mlp");
}

#[test]
fn keras_int8_cnn_computes_exactly_like_litert_and_tflm() {
    assert_runtimes("cnn");
}

#[test]
fn the_fixture_images_include_ones_where_the_runtimes_disagree() {
    // Otherwise the test above could not tell the two arithmetics apart.
    let e = expected();
    for name in ["mlp", "cnn"] {
        let (a, b) = (&e[name]["litert_outputs"], &e[name]["tflm_outputs"]);
        let differing =
            a.as_array().unwrap().iter().zip(b.as_array().unwrap()).filter(|(x, y)| x != y);
        assert!(differing.count() > 0, "{name}");
    }
}

#[test]
fn the_int8_input_model_is_quantized_like_the_fixture_script() {
    // The MLP's file takes int8: its input quantization is the file's, and nudge quantizes
    // each image to the same integers as the script gave LiteRT (their sums match).
    let Some(dir) = require_data() else { return };
    let test = nudge_host::data::load_test(&dir).unwrap();
    let e = &expected()["mlp"];
    let model = load("mlp");
    assert!(!model.float_input);
    let q = model.input_quantization;
    assert_eq!(f64::from(q.scale), e["input_scale"].as_f64().unwrap());
    assert_eq!(i64::from(q.zero_point), e["input_zero_point"].as_i64().unwrap());
    let sums = e["input_sums"].as_array().unwrap();
    for (&i, sum) in e["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect::<Vec<_>>()
        .iter()
        .zip(sums)
    {
        let got: i64 = test.input(i).unwrap().iter().map(|&x| i64::from(q.quantize(x))).sum();
        assert_eq!(got, sum.as_i64().unwrap(), "image {i}");
    }
}

#[test]
fn the_models_import_as_the_layers_keras_built() {
    use nudge_core::quant::{Activation, QuantLayerSpec};
    let mlp = load("mlp");
    assert_eq!(mlp.input, nudge_core::Shape::new(1, 28, 28));
    let kinds = |m: &Int8Model| -> Vec<String> {
        m.layers.iter().map(|l| format!("{}:{:?}", l.float_spec().name(), l.activation())).collect()
    };
    assert_eq!(kinds(&mlp), ["flatten:None", "dense:Relu", "dense:None"]);
    let cnn = load("cnn");
    assert!(cnn.float_input && cnn.float_output);
    assert_eq!(
        kinds(&cnn),
        [
            "conv2d:Relu",
            "maxpool2d:None",
            "conv2d:Relu6",
            "avgpool2d:None",
            "flatten:None",
            "dense:None"
        ]
    );
    // SAME padding of the first convolution: one pixel on each side.
    let QuantLayerSpec::Conv2d { padding, .. } = cnn.layers[0] else { panic!() };
    assert_eq!(padding, [1, 1]);
    assert_eq!(cnn.layers[2].activation(), Activation::Relu6);
    // Per-channel scales: one per output channel, not all equal.
    assert_eq!(cnn.weight_scales.len(), 8 + 16 + 10);
    assert!(cnn.weight_scales[..8].windows(2).any(|w| w[0] != w[1]));
}

#[test]
fn a_float_model_is_refused_naming_the_op() {
    let path = fixture("tflite-mlp.tflite");
    let err = int8::read(&std::fs::read(&path).unwrap(), &path).unwrap_err().to_string();
    assert!(err.contains("tflite-mlp.tflite") && err.contains("not QUANTIZE"), "{err}");
}

/// The twin's argmax agrees with the int8 network's on at least this share of the first
/// 1,000 test images (measured: MLP 0.995, CNN 0.996).
const TWIN_AGREEMENT: f64 = 0.98;
/// Mean |twin logit − dequantized int8 logit|, in steps of the output scale, at most
/// (measured: MLP 0.28, CNN 1.77 — four rounded layers, and a RELU6 the twin does not clamp).
const TWIN_MEAN_STEPS: f64 = 3.0;

#[test]
fn the_float_twin_agrees_with_the_int8_network_and_gives_gradients() {
    let Some(dir) = require_data() else { return };
    let test = nudge_host::data::load_test(&dir).unwrap();
    let n = 1000;
    for name in ["mlp", "cnn"] {
        let model = load(name);
        let net = model.network().unwrap();
        let layers = net.twin_layers().unwrap();
        let mut params = vec![0.0f32; net.twin_param_count()];
        net.twin_params(&mut params).unwrap();
        let twin = nudge_core::Network::new(net.input_shape(), &layers, &params).unwrap();
        let (mut arena, mut farena) = (vec![0i8; net.arena_len()], vec![0.0f32; twin.arena_len()]);
        let mut dequantized = vec![0.0f32; net.classes()];
        let step = f64::from(net.output_quantization().scale);
        let (mut agree, mut steps) = (0usize, 0.0f64);
        for i in 0..n {
            let x = test.input(i).unwrap();
            let q = run(&net, x, &mut arena);
            net.dequantize_logits(&q, &mut dequantized).unwrap();
            let z = twin.forward(x, &mut farena).unwrap().to_vec();
            let twin_class =
                z.iter().enumerate().fold(0, |b, (k, &v)| if v > z[b] { k } else { b });
            agree += usize::from(twin_class == argmax(&q));
            steps +=
                z.iter().zip(&dequantized).map(|(&a, &b)| f64::from((a - b).abs())).sum::<f64>()
                    / (step * z.len() as f64);
        }
        let (agreement, mean_steps) = (agree as f64 / n as f64, steps / n as f64);
        assert!(agreement >= TWIN_AGREEMENT, "{name}: argmax agreement {agreement}");
        assert!(mean_steps <= TWIN_MEAN_STEPS, "{name}: mean |Δ logit| {mean_steps} steps");
        // Its input gradient exists and is not zero.
        let x = test.input(0).unwrap();
        twin.forward(x, &mut farena).unwrap();
        let mut dz = vec![0.0f32; twin.classes()];
        dz[test.labels[0]] = 1.0;
        let mut gx = vec![0.0f32; twin.input_len()];
        twin.backward(x, &mut farena, &dz, Some(&mut gx), None).unwrap();
        assert!(gx.iter().all(|g| g.is_finite()) && gx.iter().any(|&g| g != 0.0), "{name}");
    }
}

#[test]
fn nudge_eval_runs_an_int8_model_with_either_arithmetic() {
    let Some(dir) = require_data() else { return };
    let e = expected();
    for (name, arch) in [
        ("mlp", "flatten,dense32,relu,dense10"),
        ("cnn", "conv8k3p1,relu,maxpool2,conv16k3,relu6,avgpool2,flatten,dense10"),
    ] {
        let path = fixture(&format!("int8-{name}.tflite"));
        for (flag, runtime) in [("tflm", "tflm"), ("litert", "litert")] {
            let o = nudge_tests::nudge(&[
                "eval",
                "--model",
                path.to_str().unwrap(),
                "--data",
                dir.to_str().unwrap(),
                "--int8-arithmetic",
                flag,
                "--json",
            ]);
            assert!(o.status.success(), "{}", nudge_tests::stderr(&o));
            let j = nudge_tests::json(&o);
            assert_eq!(j["arch"], arch, "{name}");
            assert_eq!(j["metadata"]["format"], "tflite-int8");
            assert_eq!(j["metadata"]["arithmetic"], runtime);
            assert_eq!(j["correct"], e[name][format!("{runtime}_test_correct")], "{name} {flag}");
            assert_eq!(j["total"], 10_000);
        }
    }
}

/// The CNN fixture, edited by `edit`, read by the int8 importer.
fn edited(edit: impl FnOnce(&mut fb::Model)) -> nudge_host::Result<Int8Model> {
    use planus::ReadAsRoot;
    let bytes = std::fs::read(fixture("int8-cnn.tflite")).unwrap();
    let mut model = fb::Model::try_from(fb::ModelRef::read_as_root(&bytes).unwrap()).unwrap();
    edit(&mut model);
    // planus 1.3.0 writes the identifier and the root offset in each other's place
    // (planus-org/planus#377; see tests/tflite.rs): swap them back.
    let mut out = planus::Builder::new().finish(&model, Some(*b"TFL3")).to_vec();
    if out[..4] == *b"TFL3" {
        let offset = u32::from_le_bytes(out[4..8].try_into().unwrap()) + 4;
        out[..4].copy_from_slice(&offset.to_le_bytes());
        out[4..8].copy_from_slice(b"TFL3");
    }
    int8::read(&out, std::path::Path::new("edited.tflite"))
}

/// The error message of [`edited`].
fn refusal(edit: impl FnOnce(&mut fb::Model)) -> String {
    edited(edit).expect_err("the edited model was accepted").to_string()
}

#[test]
fn an_unedited_copy_is_the_same_model() {
    // The editing itself changes nothing.
    assert_eq!(edited(|_| {}).unwrap(), load("cnn"));
}

fn tensor(m: &mut fb::Model, index: usize) -> &mut fb::Tensor {
    &mut m.subgraphs.as_mut().unwrap()[0].tensors.as_mut().unwrap()[index]
}

fn op_options(m: &mut fb::Model, index: usize) -> &mut fb::BuiltinOptions {
    let ops = m.subgraphs.as_mut().unwrap()[0].operators.as_mut().unwrap();
    ops[index].builtin_options.as_mut().unwrap()
}

#[test]
fn unsupported_int8_graphs_are_refused_in_one_line_naming_the_op() {
    // The CNN: op 0 QUANTIZE, 1 CONV_2D (filter tensor 7), 2 MAX_POOL_2D (output tensor 10),
    // 3 CONV_2D, 4 AVERAGE_POOL_2D, 5 RESHAPE, 6 FULLY_CONNECTED, 7 DEQUANTIZE.
    let check = |message: String, needles: &[&str]| {
        assert!(!message.contains('\n'), "{message}");
        for n in needles {
            assert!(message.contains(n), "{message:?} lacks {n:?}");
        }
    };
    check(
        refusal(|m| {
            let q = tensor(m, 10).quantization.as_mut().unwrap();
            q.scale = Some(vec![0.5]);
        }),
        &["edited.tflite", "op 2 (MAX_POOL_2D", "quantized as", "needs them equal"],
    );
    check(
        refusal(|m| {
            let q = tensor(m, 7).quantization.as_mut().unwrap();
            q.zero_point.as_mut().unwrap()[3] = 1;
        }),
        &["op 1 (CONV_2D", "non-zero zero point", "symmetric"],
    );
    check(
        refusal(|m| {
            let fb::BuiltinOptions::Conv2DOptions(c) = op_options(m, 3) else { panic!() };
            c.fused_activation_function = fb::ActivationFunctionType::Tanh;
        }),
        &["op 3 (CONV_2D", "fused activation Tanh"],
    );
    check(
        refusal(|m| {
            let q = tensor(m, 7).quantization.as_mut().unwrap();
            q.scale.as_mut().unwrap().pop();
        }),
        &["op 1 (CONV_2D", "7 scales", "expected 1, or 8"],
    );
    check(refusal(|m| tensor(m, 10).type_ = 3), &["op 2 (MAX_POOL_2D", "is uint8, not int8"]);
    check(
        refusal(|m| {
            let q = tensor(m, 12).quantization.as_mut().unwrap();
            q.zero_point = Some(vec![300]);
        }),
        &["op 4 (AVERAGE_POOL_2D", "not a valid int8 quantization"],
    );
}

#[test]
fn the_int8_blob_computes_what_the_imported_model_computes() {
    // nudge's own int8 file (what a firmware build would flash), viewed in place.
    let Some(dir) = require_data() else { return };
    let test = nudge_host::data::load_test(&dir).unwrap();
    for name in ["mlp", "cnn"] {
        let model = load(name);
        let blob = model.to_bytes().unwrap();
        // A 4-byte aligned copy, as the format needs.
        let mut buffer = vec![0u8; blob.len() + 3];
        let start = buffer.as_ptr().align_offset(4);
        let bytes = &mut buffer[start..start + blob.len()];
        bytes.copy_from_slice(&blob);
        let from_blob = QuantNetwork::from_bytes(bytes).unwrap();
        let direct = model.network().unwrap();
        assert_eq!(from_blob.arena_len(), direct.arena_len());
        let (mut a, mut b) = (vec![0i8; direct.arena_len()], vec![0i8; direct.arena_len()]);
        for i in 0..200 {
            let x = test.input(i).unwrap();
            assert_eq!(run(&from_blob, x, &mut a), run(&direct, x, &mut b), "{name} image {i}");
        }
    }
}
