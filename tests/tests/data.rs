//! IDX reading on the real files and on every kind of broken file, through the library and
//! through the CLI (exit 1, one line naming the file).

use std::io::Write;
use std::path::{Path, PathBuf};

use nudge_host::data;
use nudge_host::idx::{self, IdxImages};
use nudge_tests::{assert_fails, nudge, require_data};

#[test]
fn reads_the_shared_mnist_copy() {
    let Some(dir) = require_data() else { return };
    let d = data::load(&dir, data::DatasetKind::Mnist).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (10_000, 10_000));
    // The first test digit is a 7, the first training digit a 5 (LeCun's files).
    assert_eq!((d.test.labels[0], d.train.labels[0]), (7, 5));
    let mut counts = [0usize; 10];
    for &l in &d.test.labels {
        counts[l] += 1;
    }
    assert_eq!(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    let x = d.test.input(0).unwrap();
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(
        x.iter().filter(|&&v| v == 1.0).count(),
        idx::read_images(&data::file_in(&d.dir, data::FILES[2])).unwrap().pixels[..784]
            .iter()
            .filter(|&&p| p == 255)
            .count()
    );
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A data directory with 3 test images of 28×28 and the given label bytes (raw IDX, not gz).
fn write_dir(dir: &Path, images: &[u8], labels: &[u8]) -> PathBuf {
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
    dir.to_path_buf()
}

fn good_images(n: usize) -> Vec<u8> {
    idx::encode_images(&IdxImages { rows: 28, cols: 28, pixels: vec![0; n * 784] })
}

#[test]
fn gzip_and_raw_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let images = good_images(3);
    let labels = idx::encode_labels(&[1, 2, 3]);
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), gz(&images)).unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), &labels).unwrap();
    let split = data::load_test(dir.path()).unwrap();
    assert_eq!(split.labels, vec![1, 2, 3]);
    assert_eq!((split.len(), split.inputs.len()), (3, 3 * 784));
    assert_eq!(split.shape, nudge_core::Shape::new(1, 28, 28));
}

/// Each broken directory makes `nudge eval` fail with exit 1 and a message naming the file
/// and the problem.
#[test]
fn broken_idx_files_are_rejected_by_name() {
    let Some(_) = require_data() else { return };
    let images = good_images(3);
    let labels = idx::encode_labels(&[1, 2, 3]);
    let mut bad_magic = images.clone();
    bad_magic[3] = 2;
    let mut count_high = images.clone();
    count_high[4..8].copy_from_slice(&4u32.to_be_bytes());
    let small = idx::encode_images(&IdxImages { rows: 14, cols: 14, pixels: vec![0; 3 * 196] });
    let mut corrupt_gz = gz(&images);
    let n = corrupt_gz.len();
    corrupt_gz[n / 2] ^= 0xff;
    corrupt_gz.truncate(n - 4);
    // (what is wrong, images file, labels file, words the error must contain)
    type Case<'a> = (&'a str, Vec<u8>, Vec<u8>, &'a [&'a str]);
    let cases: Vec<Case> = vec![
        ("wrong magic", bad_magic, labels.clone(), &["t10k-images-idx3-ubyte", "bad magic"]),
        (
            "truncated images",
            images[..images.len() - 10].to_vec(),
            labels.clone(),
            &["t10k-images-idx3-ubyte", "truncated"],
        ),
        (
            "header count too high",
            count_high,
            labels.clone(),
            &["t10k-images-idx3-ubyte", "truncated"],
        ),
        (
            "trailing bytes",
            [images.clone(), vec![0; 5]].concat(),
            labels.clone(),
            &["unexpected bytes"],
        ),
        // Any image size reads; the model then refuses it, naming both shapes.
        ("not 28x28", small, labels.clone(), &["inputs of shape 1x14x14", "784"]),
        (
            "count mismatch",
            images.clone(),
            idx::encode_labels(&[1, 2]),
            &["t10k-labels-idx1-ubyte", "2 labels for 3 images"],
        ),
        (
            "label out of range",
            images.clone(),
            idx::encode_labels(&[1, 10, 3]),
            &["labels up to 10", "the model has 10 classes"],
        ),
        ("empty labels file", images.clone(), vec![], &["t10k-labels-idx1-ubyte", "too short"]),
        ("truncated header", images[..10].to_vec(), labels.clone(), &["truncated header"]),
        ("corrupt gzip", corrupt_gz, labels.clone(), &["t10k-images-idx3-ubyte", "corrupt gzip"]),
    ];
    for (what, img, lab, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = write_dir(dir.path(), &img, &lab);
        let o = nudge(&["eval", "--data", d.to_str().unwrap()]);
        assert_fails(&o, needles);
        eprintln!("{what}: ok");
    }
}

#[test]
fn missing_files_and_directories_are_named() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let o = nudge(&["eval", "--data", dir.path().to_str().unwrap()]);
    assert_fails(&o, &["t10k-images-idx3-ubyte.gz"]);
    std::fs::create_dir(dir.path().join("t10k-images-idx3-ubyte.gz")).unwrap();
    let o = nudge(&["eval", "--data", dir.path().to_str().unwrap()]);
    assert_fails(&o, &["t10k-images-idx3-ubyte.gz", "directory"]);
}

#[test]
fn nudge_data_env_is_used_when_no_flag_is_given() {
    let Some(_) = require_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let o = nudge_tests::nudge_cmd().env("NUDGE_DATA", dir.path()).args(["eval"]).output().unwrap();
    assert_fails(&o, &[dir.path().to_str().unwrap()]);
    let o = nudge_tests::nudge_cmd()
        .env("NUDGE_DATA", "/nonexistent/nudge-data")
        .args(["eval"])
        .output()
        .unwrap();
    assert_fails(&o, &["/nonexistent/nudge-data", "NUDGE_DATA"]);
}

#[test]
fn fashion_mnist_reads_when_installed() {
    let dir = Path::new("/usr/share/datasets/fashion-mnist");
    if !data::has_test_files(dir) {
        eprintln!("skipped: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        return;
    }
    let d = data::load(dir, data::DatasetKind::Fashion).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (60_000, 10_000));
    assert_eq!(data::resolve_dir(None, data::DatasetKind::Fashion).ok().as_deref(), Some(dir));
}

// ---------------------------------------------------------------------------------------
// A user's own data: `nudge eval --inputs --labels`, `.npy` or IDX of any image size.

fn eval_json(model: &Path, inputs: &Path, labels: &Path) -> serde_json::Value {
    let o = nudge(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--inputs",
        inputs.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--json",
    ]);
    nudge_tests::json(&o)
}

/// The first 500 MNIST test images as uint8 `[500, 28, 28]` and as float32 `[500, 784]`
/// (`pixel / 255`), labels as int64: the same scores as the dataset's own files.
#[test]
fn npy_inputs_score_like_the_idx_files() {
    let Some(dir) = require_data() else { return };
    let test = data::load_test(&dir).unwrap();
    let n = 500;
    let tmp = tempfile::tempdir().unwrap();
    // pixel / 255 in f32 times 255 rounds back to the pixel exactly.
    let pixels: Vec<u8> =
        test.inputs[..n * 784].iter().map(|&v| (v * 255.0).round() as u8).collect();
    let floats: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    let labels: Vec<u8> = test.labels[..n].iter().flat_map(|&l| (l as i64).to_le_bytes()).collect();
    let (u8_path, f32_path, labels_path) =
        (tmp.path().join("x8.npy"), tmp.path().join("x32.npy"), tmp.path().join("y.npy"));
    std::fs::write(&u8_path, nudge_host::npy::bytes("|u1", &[n, 28, 28], &pixels)).unwrap();
    std::fs::write(&f32_path, nudge_host::npy::f32_bytes(&[n, 784], &floats)).unwrap();
    std::fs::write(&labels_path, nudge_host::npy::bytes("<i8", &[n], &labels)).unwrap();

    let model = nudge_tests::committed_model();
    let file = nudge_host::model::ModelFile::load(&model).unwrap();
    let (first, _) = test.split_at(n);
    let want =
        nudge_host::model::evaluate(&file.classifier(&model).unwrap(), &first, "test").unwrap();
    for inputs in [&u8_path, &f32_path] {
        let j = eval_json(&model, inputs, &labels_path);
        assert_eq!(j["total"], n, "{}", inputs.display());
        assert_eq!(j["correct"], want.correct, "{}", inputs.display());
        assert_eq!(j["confusion"], serde_json::json!(want.confusion));
    }
}

/// Images of 12×8 pixels in IDX files and a linear model on them with 4 classes: scored
/// against a float64 evaluation of `W x + b` written here; and the mismatches refused.
#[test]
fn idx_images_of_any_size_and_any_class_count() {
    use nudge_core::rng::SplitMix64;
    use nudge_core::{LayerSpec, Shape};
    let (n, rows, cols, classes) = (200, 12, 8, 4);
    let mut rng = SplitMix64::new(96);
    let pixels: Vec<u8> = (0..n * rows * cols).map(|_| (rng.next_u64() >> 56) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|_| (rng.next_u64() % classes as u64) as u8).collect();
    let tmp = tempfile::tempdir().unwrap();
    let (images_path, labels_path) = (tmp.path().join("x.idx"), tmp.path().join("y.idx"));
    std::fs::write(
        &images_path,
        idx::encode_images(&IdxImages { rows, cols, pixels: pixels.clone() }),
    )
    .unwrap();
    std::fs::write(&labels_path, idx::encode_labels(&labels)).unwrap();

    let input = Shape::new(1, rows, cols);
    let layers = vec![LayerSpec::Flatten, LayerSpec::Dense { outputs: classes }];
    let params: Vec<f32> =
        (0..classes * rows * cols + classes).map(|_| rng.uniform(-0.1, 0.1)).collect();
    let model = nudge_host::model::Model::new(input, layers, params.clone()).unwrap();
    let model_path = tmp.path().join("linear.safetensors");
    let file = nudge_host::model::ModelFile { model, metadata: Default::default() };
    file.save(&model_path, false).unwrap();

    let features = rows * cols;
    let (weight, bias) = params.split_at(classes * features);
    let mut correct = 0;
    for (image, &label) in pixels.chunks_exact(features).zip(&labels) {
        let z: Vec<f64> = (0..classes)
            .map(|k| {
                let row = &weight[k * features..(k + 1) * features];
                let dot: f64 =
                    row.iter().zip(image).map(|(&w, &p)| f64::from(w) * f64::from(p) / 255.0).sum();
                dot + f64::from(bias[k])
            })
            .collect();
        let best = (0..classes).fold(0, |b, k| if z[k] > z[b] { k } else { b });
        correct += usize::from(best == usize::from(label));
    }
    let j = eval_json(&model_path, &images_path, &labels_path);
    assert_eq!(j["total"], n);
    assert_eq!(j["correct"], correct);
    assert_eq!(j["confusion"].as_array().unwrap().len(), classes);

    // `nudge gradient` on the same data: ∇ₓ log p(T) = Wᵀ(e_T − p) with respect to the
    // scaled input (pixel / 255), in float64 here.
    let (grad_path, png_path) = (tmp.path().join("g.npy"), tmp.path().join("g.png"));
    let o = nudge(&[
        "gradient",
        "--model",
        model_path.to_str().unwrap(),
        "--inputs",
        images_path.to_str().unwrap(),
        "--labels",
        labels_path.to_str().unwrap(),
        "--index",
        "3",
        "--target-class",
        "2",
        "--out",
        grad_path.to_str().unwrap(),
        "--png",
        png_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", nudge_tests::stderr(&o));
    let array = nudge_host::npy::parse(&std::fs::read(&grad_path).unwrap(), &grad_path).unwrap();
    assert_eq!(array.shape, [1, rows, cols]);
    let image: Vec<f64> =
        pixels[3 * features..4 * features].iter().map(|&p| f64::from(p) / 255.0).collect();
    let z: Vec<f64> = (0..classes)
        .map(|k| {
            let row = &weight[k * features..(k + 1) * features];
            row.iter().zip(&image).map(|(&w, &x)| f64::from(w) * x).sum::<f64>()
                + f64::from(bias[k])
        })
        .collect();
    let total: f64 = z.iter().map(|v| v.exp()).sum();
    for (i, got) in array.to_f32().into_iter().enumerate() {
        let want: f64 = (0..classes)
            .map(|k| {
                let e = if k == 2 { 1.0 } else { 0.0 };
                f64::from(weight[k * features + i]) * (e - z[k].exp() / total)
            })
            .sum();
        assert!((f64::from(got) - want).abs() < 1e-6, "pixel {i}: {got} vs {want}");
    }
    assert!(std::fs::read(&png_path).unwrap().starts_with(b"\x89PNG"));

    // The committed 784-input MLP on 96-pixel images; a label beyond the model's classes;
    // fewer labels than images: one line each, naming the files.
    let images = images_path.to_str().unwrap();
    let run = |model: &Path, labels: &Path| {
        nudge(&[
            "eval",
            "--model",
            model.to_str().unwrap(),
            "--inputs",
            images,
            "--labels",
            labels.to_str().unwrap(),
        ])
    };
    assert_fails(
        &run(&nudge_tests::committed_model(), &labels_path),
        &["x.idx", "1x12x8 (96 values)", "784"],
    );
    let high = tmp.path().join("high.idx");
    let mut bad_labels = labels.clone();
    bad_labels[7] = 9;
    std::fs::write(&high, idx::encode_labels(&bad_labels)).unwrap();
    assert_fails(&run(&model_path, &high), &["labels up to 9", "4 classes"]);
    let short = tmp.path().join("short.idx");
    std::fs::write(&short, idx::encode_labels(&labels[..150])).unwrap();
    assert_fails(&run(&model_path, &short), &["short.idx", "150 labels for 200 inputs"]);
}
