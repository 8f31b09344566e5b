//! Plain checkpoints: a safetensors file without nudge's metadata (what
//! `safetensors.torch.save_file(model.state_dict(), …)` writes), read with a layer list the
//! user states.
//!
//! The weights alone do not say what lies between the layers that have them (ReLU, pooling,
//! flatten, dropout) or the input's shape, so for anything but an `fc1…fcN` MLP the layers
//! must come from the user (`nudge convert --arch`). The tensors are then matched to the
//! layers with parameters:
//! 1. by the names nudge itself would write (`nn.Sequential`'s `{i}.weight`, `{i}.bias`,
//!    or `fc1…fcN`), possibly under one common prefix (`net.0.weight`);
//! 2. else pair by pair in natural order of their names (`0` < `3` < `10`, `conv1` <
//!    `conv2` < `fc1`): every tensor must be a `P.weight` with its `P.bias`, as many pairs
//!    as the layers need, each of the shape its layer needs. A `nn.Dropout` between layers
//!    (which shifts `nn.Sequential`'s numbering) is therefore no problem.
//!
//! Whichever way, every shape is checked, and the mapping is returned so that it can be
//! shown to the user: nothing is matched silently.

use std::cmp::Ordering;
use std::path::Path;

use nudge_core::{LayerSpec, Shape};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::safetensors::SafeTensors;

/// A model read from a plain checkpoint, with the tensor names each parameter came from.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The model.
    pub model: Model,
    /// The file's tensor names, in the model's parameter order (weight, bias, weight, …).
    pub tensors: Vec<String>,
}

/// What an importer lists as the source of a layer's bias when the file has no bias tensor
/// (the bias is zero).
pub const ZERO_BIAS: &str = "(zero bias)";

/// The model of `layers` on `input` with its weights from `st`, matched as the
/// [module docs](self) say. Errors name `path`.
pub fn read(
    st: &SafeTensors,
    path: &Path,
    input: Shape,
    layers: Vec<LayerSpec>,
) -> Result<Matched> {
    let bad = |problem: String| Error::model(path, problem);
    let expected = crate::model::tensor_specs(input, &layers)
        .map_err(|e| Error::model(path, format!("the layers do not chain: {e}")))?;
    let by_name = by_nudge_names(st, &expected);
    let names = match by_name {
        Some(names) => names,
        None => by_order(st, &expected).map_err(bad)?,
    };
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let model = Model::from_named(st, path, input, layers, &refs)?;
    Ok(Matched { model, tensors: names })
}

/// The expected names under one common prefix (possibly empty), if the file has exactly
/// those tensors.
fn by_nudge_names(st: &SafeTensors, expected: &[(String, Vec<usize>)]) -> Option<Vec<String>> {
    let (first, _) = expected.first()?;
    let prefixes = st.tensors.keys().filter_map(|k| k.strip_suffix(first.as_str()));
    for prefix in prefixes.filter(|p| p.is_empty() || p.ends_with('.')) {
        let names: Vec<String> = expected.iter().map(|(n, _)| format!("{prefix}{n}")).collect();
        if names.len() == st.tensors.len() && names.iter().all(|n| st.tensors.contains_key(n)) {
            return Some(names);
        }
    }
    None
}

/// The file's `P.weight`/`P.bias` pairs in natural order of `P`, checked against the
/// expected count and shapes.
fn by_order(
    st: &SafeTensors,
    expected: &[(String, Vec<usize>)],
) -> std::result::Result<Vec<String>, String> {
    let mut prefixes = Vec::new();
    for name in st.tensors.keys() {
        if let Some(p) = name.strip_suffix(".weight") {
            if !st.tensors.contains_key(&format!("{p}.bias")) {
                return Err(format!("tensor {name} has no {p}.bias beside it"));
            }
            prefixes.push(p.to_string());
        } else if let Some(p) = name.strip_suffix(".bias") {
            if !st.tensors.contains_key(&format!("{p}.weight")) {
                return Err(format!("tensor {name} has no {p}.weight beside it"));
            }
        } else {
            return Err(format!(
                "unexpected tensor {name}: a plain checkpoint holds only `P.weight` and `P.bias` tensors"
            ));
        }
    }
    prefixes.sort_by(|a, b| natural_order(a, b));
    let layers = expected.len() / 2;
    if prefixes.len() != layers {
        return Err(format!(
            "the file has {} weight tensors ({}), the layers have {layers} with parameters",
            prefixes.len(),
            prefixes.iter().map(|p| format!("{p}.weight")).collect::<Vec<_>>().join(", ")
        ));
    }
    let names: Vec<String> =
        prefixes.iter().flat_map(|p| [format!("{p}.weight"), format!("{p}.bias")]).collect();
    for (name, (_, want)) in names.iter().zip(expected) {
        let have = &st.tensors[name].shape;
        if have != want {
            return Err(format!(
                "tensor {name} has shape {have:?}, but the layer it falls to (in name order) needs {want:?}"
            ));
        }
    }
    Ok(names)
}

/// Compares names part by part (split at `.`), numeric runs by value: `2` < `10`,
/// `conv2` < `conv10` < `fc1`.
fn natural_order(a: &str, b: &str) -> Ordering {
    let key = |s: &str| -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for part in s.split('.') {
            let digits = part.len() - part.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let (stem, number) = part.split_at(part.len() - digits);
            out.push((stem.to_string(), number.parse().unwrap_or(0)));
        }
        out
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        let mut names = vec!["fc1", "conv10", "conv2", "10", "2", "net.10", "net.3"];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(names, ["2", "10", "conv2", "conv10", "fc1", "net.3", "net.10"]);
    }
}
