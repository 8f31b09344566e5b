//! A strict reader and a writer of the [safetensors] format.
//!
//! Layout: `N` as a little-endian u64, then `N` bytes of JSON header, then the data buffer.
//! The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}`
//! (offsets into the data buffer) and may hold `"__metadata__"`, a map of strings.
//!
//! The reader checks everything the format promises: the header fits in the file, is a JSON
//! object, every dtype is known, every tensor's byte size matches its shape, and the tensors
//! tile the data buffer exactly (no overlap, no gap, nothing past the end).
//!
//! [safetensors]: https://github.com/huggingface/safetensors

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Largest header accepted (the format's own limit is 100 MB).
pub const MAX_HEADER: u64 = 100 * 1024 * 1024;

/// A tensor read from a file: its dtype, shape and raw little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dtype as spelled in the header (`F32`, `F16`, …).
    pub dtype: String,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// The tensor's bytes.
    pub data: Vec<u8>,
}

impl Tensor {
    /// An F32 tensor from values.
    pub fn f32(shape: Vec<usize>, values: &[f32]) -> Self {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor { dtype: "F32".into(), shape, data }
    }
}

/// The contents of a safetensors file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SafeTensors {
    /// Tensors by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// The `__metadata__` strings.
    pub metadata: BTreeMap<String, String>,
}

/// Bytes per element of a dtype, or `None` for a dtype the format does not define.
pub fn dtype_size(dtype: &str) -> Option<usize> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

fn non_negative_ints(value: Option<&Value>) -> Option<Vec<usize>> {
    value?.as_array()?.iter().map(|v| v.as_u64().and_then(|n| usize::try_from(n).ok())).collect()
}

/// Whether `bytes` start like a safetensors file: a little-endian header length that fits,
/// then `{`.
pub fn looks_like(bytes: &[u8]) -> bool {
    let Some((len, rest)) = bytes.split_first_chunk::<8>() else { return false };
    let len = u64::from_le_bytes(*len);
    len > 0 && len <= rest.len() as u64 && rest.first() == Some(&b'{')
}

/// Parses safetensors bytes; `path` is used in messages.
pub fn parse(bytes: &[u8], path: &Path) -> Result<SafeTensors> {
    let bad = |problem: String| Error::model(path, problem);
    if bytes.len() < 8 {
        return Err(bad(format!(
            "file is {} bytes, too short for a safetensors header",
            bytes.len()
        )));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
    let available = (bytes.len() - 8) as u64;
    if n > available {
        return Err(bad(format!(
            "header length {n} is larger than the rest of the file ({available} bytes)"
        )));
    }
    if n > MAX_HEADER {
        return Err(bad(format!("header length {n} exceeds the {MAX_HEADER}-byte limit")));
    }
    let header_end = 8 + n as usize;
    let header: Value = serde_json::from_slice(&bytes[8..header_end])
        .map_err(|e| bad(format!("header is not valid JSON ({e})")))?;
    let Value::Object(header) = header else {
        return Err(bad("header is not a JSON object".into()));
    };
    let data = &bytes[header_end..];

    let mut out = SafeTensors::default();
    let mut spans = Vec::new();
    for (name, entry) in &header {
        if name == "__metadata__" {
            let Value::Object(meta) = entry else {
                return Err(bad("__metadata__ is not a JSON object".into()));
            };
            for (k, v) in meta {
                let Value::String(s) = v else {
                    return Err(bad(format!("__metadata__ value for {k:?} is not a string")));
                };
                out.metadata.insert(k.clone(), s.clone());
            }
            continue;
        }
        let Value::Object(entry) = entry else {
            return Err(bad(format!("tensor {name}: entry is not a JSON object")));
        };
        let dtype = entry
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("tensor {name}: missing or non-string dtype")))?;
        let size = dtype_size(dtype)
            .ok_or_else(|| bad(format!("tensor {name}: unknown dtype {dtype:?}")))?;
        let shape = non_negative_ints(entry.get("shape")).ok_or_else(|| {
            bad(format!("tensor {name}: shape is not a list of non-negative integers"))
        })?;
        let offsets = non_negative_ints(entry.get("data_offsets"))
            .filter(|o| o.len() == 2)
            .ok_or_else(|| {
                bad(format!("tensor {name}: data_offsets is not a pair of non-negative integers"))
            })?;
        let (begin, end) = (offsets[0], offsets[1]);
        if begin > end || end > data.len() {
            return Err(bad(format!(
                "tensor {name}: data_offsets [{begin}, {end}] lie outside the {}-byte data section",
                data.len()
            )));
        }
        let needed = shape
            .iter()
            .try_fold(size, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| bad(format!("tensor {name}: shape {shape:?} overflows")))?;
        if needed != end - begin {
            return Err(bad(format!(
                "tensor {name}: shape {shape:?} of {dtype} needs {needed} bytes, data_offsets give {}",
                end - begin
            )));
        }
        spans.push((begin, end, name.clone()));
        out.tensors.insert(
            name.clone(),
            Tensor { dtype: dtype.to_string(), shape, data: data[begin..end].to_vec() },
        );
    }
    spans.sort();
    let mut cursor = 0;
    for (begin, end, name) in &spans {
        if *begin < cursor {
            return Err(bad(format!(
                "tensor {name}: data_offsets [{begin}, {end}] overlap another tensor"
            )));
        }
        if *begin > cursor {
            return Err(bad(format!(
                "tensor {name}: gap of {} bytes before its data",
                begin - cursor
            )));
        }
        cursor = *end;
    }
    if cursor != data.len() {
        return Err(bad(format!("{} bytes after the last tensor's data", data.len() - cursor)));
    }
    Ok(out)
}

/// Reads and parses a safetensors file.
pub fn read(path: &Path) -> Result<SafeTensors> {
    let bytes = crate::fsutil::read(path)?;
    parse(&bytes, path)
}

/// Serialises tensors (data in the order given) and metadata. The header is padded with
/// spaces to a multiple of 8 bytes so that the data starts aligned.
pub fn serialize(tensors: &[(&str, &Tensor)], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        let meta = metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        header.insert("__metadata__".into(), Value::Object(meta));
    }
    let mut offset = 0;
    for (name, t) in tensors {
        let end = offset + t.data.len();
        header.insert(
            (*name).to_string(),
            serde_json::json!({ "dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut json = Value::Object(header).to_string().into_bytes();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for (_, t) in tensors {
        out.extend_from_slice(&t.data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("m.safetensors")
    }

    fn sample() -> Vec<u8> {
        let a = Tensor::f32(vec![2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let b = Tensor::f32(vec![1], &[5.0]);
        let meta = BTreeMap::from([("k".to_string(), "v".to_string())]);
        serialize(&[("a", &a), ("b", &b)], &meta)
    }

    /// A file with a hand-written header and `data_len` zero bytes of data.
    fn with_header(header: &str, data_len: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend(std::iter::repeat_n(0, data_len));
        out
    }

    fn err(bytes: &[u8]) -> String {
        parse(bytes, p()).unwrap_err().to_string()
    }

    #[test]
    fn round_trips() {
        let st = parse(&sample(), p()).unwrap();
        assert_eq!(st.tensors["a"].shape, vec![2, 2]);
        assert_eq!(st.tensors["b"].data, 5.0f32.to_le_bytes());
        assert_eq!(st.metadata["k"], "v");
        assert_eq!((sample().len() - 8 - 16 - 4) % 8, 0, "header padded to 8 bytes");
    }

    #[test]
    fn rejects_every_malformation_with_a_message() {
        let good = sample();
        assert!(err(&[]).contains("too short"));
        assert!(err(&good[..good.len() - 1]).contains("outside"));
        let mut huge = good.clone();
        huge[..8].copy_from_slice(&1_000_000u64.to_le_bytes());
        assert!(err(&huge).contains("larger than the rest of the file"));
        assert!(err(&with_header("{nope", 0)).contains("not valid JSON"));
        assert!(err(&with_header("[1,2]", 0)).contains("not a JSON object"));
        let t = |dtype: &str, shape: &str, off: &str| {
            format!(r#"{{"t":{{"dtype":"{dtype}","shape":{shape},"data_offsets":{off}}}}}"#)
        };
        assert!(err(&with_header(&t("Q7", "[1]", "[0,4]"), 4)).contains("unknown dtype"));
        assert!(err(&with_header(&t("F32", "[2]", "[0,4]"), 4)).contains("needs 8 bytes"));
        assert!(err(&with_header(&t("F32", "[-1]", "[0,4]"), 4)).contains("shape"));
        assert!(err(&with_header(&t("F32", "[1]", "[4,8]"), 4)).contains("outside"));
        assert!(err(&with_header(&t("F32", "[1]", "[0,4]"), 8)).contains("after the last tensor"));
        let overlap = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                          "b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
        assert!(err(&with_header(overlap, 4)).contains("overlap"));
        let meta = r#"{"__metadata__":{"a":1}}"#;
        assert!(err(&with_header(meta, 0)).contains("not a string"));
    }
}
