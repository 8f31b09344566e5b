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
        counts[usize::from(l)] += 1;
    }
    assert_eq!(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    let x = d.test.input(0).unwrap();
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(
        x.iter().filter(|&&v| v == 1.0).count(),
        d.test.images[0].iter().filter(|&&p| p == 255).count()
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
    assert_eq!(split.images.len(), 3);
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
        ("not 28x28", small, labels.clone(), &["t10k-images-idx3-ubyte", "14x14"]),
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
            &["t10k-labels-idx1-ubyte", "label 10 at index 1"],
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
