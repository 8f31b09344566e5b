//! Where the data lives, and loading it.
//!
//! A dataset directory holds the four IDX files with their usual names
//! (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-…`). It is found,
//! in order, from: `--data DIR`; the `NUDGE_DATA` environment variable; for MNIST,
//! `../shared/data/mnist` next to the repository (or the current directory), then
//! `~/.cache/nudge/mnist` (where `nudge data fetch` puts it); for Fashion-MNIST,
//! `/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`).
//!
//! Pixels are stored as bytes and scaled to `[0, 1]` as `pixel / 255` when used.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use nudge_core::Shape;

use crate::idx;

/// Which dataset to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DatasetKind {
    /// Handwritten digits (LeCun et al.).
    #[default]
    Mnist,
    /// Zalando's Fashion-MNIST: ten kinds of garment in the same format.
    Fashion,
}

impl DatasetKind {
    /// The name used in metadata and messages.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::Fashion => "fashion-mnist",
        }
    }

    /// Human-readable class names.
    pub fn class_names(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DatasetKind::Fashion => &[
                "T-shirt",
                "trouser",
                "pullover",
                "dress",
                "coat",
                "sandal",
                "shirt",
                "sneaker",
                "bag",
                "ankle boot",
            ],
        }
    }
}

/// Examples of one shape with one label each: a dataset's split, or a user's own data.
///
/// Inputs are f32 in C-order (`C×H×W`, NCHW like PyTorch), `len()` of them back to back;
/// images from IDX or uint8 `.npy` files are scaled to `[0, 1]` as `pixel / 255` (correctly
/// rounded f32) when read.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The shape of one input.
    pub shape: Shape,
    /// `labels.len()` inputs of `shape.len()` values each, in order.
    pub inputs: Vec<f32>,
    /// One label per input.
    pub labels: Vec<usize>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per input.
    pub fn input_len(&self) -> usize {
        self.shape.len()
    }

    /// Input `i`, or `None` past the end.
    pub fn input(&self, i: usize) -> Option<&[f32]> {
        let n = self.shape.len();
        self.inputs.get(i * n..(i + 1) * n)
    }

    /// One more than the largest label (0 if there are none).
    pub fn classes(&self) -> usize {
        self.labels.iter().max().map_or(0, |&m| m + 1)
    }

    /// The first `n` examples and the rest.
    pub fn split_at(&self, n: usize) -> (Split, Split) {
        let n = n.min(self.len());
        let (inputs, rest) = self.inputs.split_at(n * self.shape.len());
        let (labels, rest_labels) = self.labels.split_at(n);
        (
            Split { shape: self.shape, inputs: inputs.to_vec(), labels: labels.to_vec() },
            Split { shape: self.shape, inputs: rest.to_vec(), labels: rest_labels.to_vec() },
        )
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Split {
        let mut out = Split { shape: self.shape, inputs: Vec::new(), labels: Vec::new() };
        for &i in indices {
            if let Some(x) = self.input(i) {
                out.inputs.extend_from_slice(x);
                out.labels.push(self.labels[i]);
            }
        }
        out
    }
}

/// Scales pixels to `[0, 1]`: `pixel / 255`, correctly rounded f32.
pub fn scale_pixels(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| f32::from(p) / 255.0).collect()
}

/// A dataset's training and test splits, and where they came from.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Which dataset.
    pub kind: DatasetKind,
    /// The directory it was read from.
    pub dir: PathBuf,
    /// Training examples.
    pub train: Split,
    /// Test examples.
    pub test: Split,
}

/// The four files of a dataset directory, without the `.gz` suffix.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The path of `stem` in `dir`: `stem.gz` if present, else `stem`, else (for messages)
/// `stem.gz`.
pub fn file_in(dir: &Path, stem: &str) -> PathBuf {
    let gz = dir.join(format!("{stem}.gz"));
    if gz.exists() {
        return gz;
    }
    let raw = dir.join(stem);
    if raw.exists() { raw } else { gz }
}

/// Whether `dir` holds the test files (enough to evaluate and attack).
pub fn has_test_files(dir: &Path) -> bool {
    FILES[2..].iter().all(|stem| file_in(dir, stem).is_file())
}

/// The repository root: `$NUDGE_REPO` if set, else the nearest ancestor of the current
/// directory holding `host/Cargo.toml`, else the directory this crate was built from.
pub fn repo_root() -> PathBuf {
    if let Some(root) = std::env::var_os("NUDGE_REPO").filter(|v| !v.is_empty()) {
        return PathBuf::from(root);
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("host").join("Cargo.toml").is_file() && dir.join("Cargo.toml").is_file() {
                return dir.to_path_buf();
            }
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR"));
    built.parent().unwrap_or(built).to_path_buf()
}

/// The per-user cache directory for a dataset (`~/.cache/nudge/<name>`), if `HOME` is set.
pub fn cache_dir(kind: DatasetKind) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("nudge").join(match kind {
        DatasetKind::Mnist => "mnist",
        DatasetKind::Fashion => "fashion-mnist",
    }))
}

/// The directories searched, in order, when neither `--data` nor `NUDGE_DATA` is given.
pub fn default_dirs(kind: DatasetKind) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    match kind {
        DatasetKind::Mnist => {
            dirs.push(repo_root().join("../shared/data/mnist"));
            dirs.push(PathBuf::from("../shared/data/mnist"));
        }
        DatasetKind::Fashion => dirs.push(PathBuf::from("/usr/share/datasets/fashion-mnist")),
    }
    dirs.extend(cache_dir(kind));
    dirs
}

/// Resolves the data directory: `explicit` (from `--data`), else `NUDGE_DATA`, else the
/// first of [`default_dirs`] that holds the test files. An explicit directory must exist.
pub fn resolve_dir(explicit: Option<&Path>, kind: DatasetKind) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return check_dir(dir, "--data");
    }
    if let Some(env) = std::env::var_os("NUDGE_DATA").filter(|v| !v.is_empty()) {
        return check_dir(Path::new(&env), "NUDGE_DATA");
    }
    let candidates = default_dirs(kind);
    candidates.iter().find(|d| has_test_files(d)).cloned().ok_or_else(|| {
        let tried: Vec<_> = candidates.iter().map(|d| d.display().to_string()).collect();
        Error::DataNotFound(format!(
            "no {} data found (looked in {}); pass --data DIR, set NUDGE_DATA, or run `nudge data fetch`",
            kind.name(),
            tried.join(", ")
        ))
    })
}

fn check_dir(dir: &Path, source: &str) -> Result<PathBuf> {
    if dir.is_dir() {
        Ok(dir.to_path_buf())
    } else {
        Err(Error::DataNotFound(format!(
            "{}: data directory (from {source}) does not exist",
            dir.display()
        )))
    }
}

/// Reads an IDX image file (any image size) and its label file, checking matching counts.
pub fn load_split(images_path: &Path, labels_path: &Path) -> Result<Split> {
    let images = idx::read_images(images_path)?;
    let labels = idx::read_labels(labels_path, MAX_LABELS)?;
    if labels.len() != images.count() {
        return Err(Error::idx(
            labels_path,
            format!(
                "{} labels for {} images in {}",
                labels.len(),
                images.count(),
                images_path.display()
            ),
        ));
    }
    Ok(Split {
        shape: Shape::new(1, images.rows, images.cols),
        inputs: scale_pixels(&images.pixels),
        labels: labels.into_iter().map(usize::from).collect(),
    })
}

/// Labels an IDX label file may hold (one byte each).
const MAX_LABELS: usize = 256;

/// Loads the test split from `dir`.
pub fn load_test(dir: &Path) -> Result<Split> {
    load_split(&file_in(dir, FILES[2]), &file_in(dir, FILES[3]))
}

/// Loads both splits from `dir`.
pub fn load(dir: &Path, kind: DatasetKind) -> Result<Dataset> {
    let (train, test) = rayon::join(
        || load_split(&file_in(dir, FILES[0]), &file_in(dir, FILES[1])),
        || load_test(dir),
    );
    Ok(Dataset { kind, dir: dir.to_path_buf(), train: train?, test: test? })
}
