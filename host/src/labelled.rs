//! A user's own labelled inputs, of any shape and class count: an IDX image file of any
//! image size, or a `.npy` array, with a label file beside it (IDX or `.npy`).
//!
//! * Inputs: IDX3 bytes (`N × rows × cols`, scaled `pixel / 255`, shape `1×rows×cols`), or
//!   `.npy` of shape `[N, D]` (flat), `[N, H, W]` (`1×H×W`) or `[N, C, H, W]`, uint8 (scaled
//!   `/ 255`) or float32 (as it is, finite).
//! * Labels: IDX1 bytes or a 1-D `.npy` integer array of `N` values ≥ 0.
//!
//! The kind of each file is read from its first bytes (gzip is undone first), not its name.

use std::path::Path;

use nudge_core::Shape;

use crate::data::{Split, scale_pixels};
use crate::error::{Error, Result};
use crate::{idx, npy};

/// Reads inputs from `inputs` and their labels from `labels`; errors name the file.
pub fn load(inputs: &Path, labels: &Path) -> Result<Split> {
    let (shape, values) = read_inputs(inputs)?;
    let labels_read = read_labels(labels)?;
    let count = values.len() / shape.len().max(1);
    if labels_read.len() != count {
        return Err(Error::argument(
            labels.display().to_string(),
            format!("{} labels for {count} inputs in {}", labels_read.len(), inputs.display()),
        ));
    }
    Ok(Split { shape, inputs: values, labels: labels_read })
}

fn read_inputs(path: &Path) -> Result<(Shape, Vec<f32>)> {
    let bytes = idx::read_maybe_gz(path)?;
    if !bytes.starts_with(b"\x93NUMPY") {
        let images = idx::parse_images(&bytes, path)?;
        let shape = Shape::new(1, images.rows, images.cols);
        return Ok((shape, scale_pixels(&images.pixels)));
    }
    let bad = |problem: String| Error::argument(path.display().to_string(), problem);
    let array = npy::parse(&bytes, path)?;
    let shape = match array.shape.as_slice() {
        [_, d] => Shape::flat(*d),
        [_, h, w] => Shape::new(1, *h, *w),
        [_, c, h, w] => Shape::new(*c, *h, *w),
        other => {
            return Err(bad(format!(
                "inputs of shape {other:?}: expected [N, D], [N, H, W] or [N, C, H, W]"
            )));
        }
    };
    if shape.is_empty() {
        return Err(bad(format!("inputs of shape {:?} have no values", array.shape)));
    }
    let values = match array.dtype {
        npy::Dtype::U8 => scale_pixels(&array.data),
        npy::Dtype::F32 => array.to_f32(),
        npy::Dtype::Int { .. } => {
            return Err(bad("integer inputs: save them as uint8 (0–255) or float32".into()));
        }
    };
    if let Some(i) = values.iter().position(|v: &f32| !v.is_finite()) {
        return Err(bad(format!("value {} at index {i} is not finite", values[i])));
    }
    Ok((shape, values))
}

fn read_labels(path: &Path) -> Result<Vec<usize>> {
    let bytes = idx::read_maybe_gz(path)?;
    if !bytes.starts_with(b"\x93NUMPY") {
        return Ok(idx::parse_labels(&bytes, 256, path)?.into_iter().map(usize::from).collect());
    }
    let bad = |problem: String| Error::argument(path.display().to_string(), problem);
    let array = npy::parse(&bytes, path)?;
    if array.shape.len() != 1 || array.dtype == npy::Dtype::F32 {
        return Err(bad(format!(
            "labels must be a 1-D integer array, not {:?} of shape {:?}",
            array.dtype, array.shape
        )));
    }
    array
        .to_i64()
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            usize::try_from(v).map_err(|_| bad(format!("label {v} at index {i} is negative")))
        })
        .collect()
}
