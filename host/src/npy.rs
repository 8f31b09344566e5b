//! NumPy's `.npy` format: writing float32 arrays (version 1.0, what `numpy.load` reads) and
//! reading the arrays a dataset is made of (`numpy.save` of uint8, float32 or integer
//! arrays, versions 1–3).
//!
//! Layout: the magic `\x93NUMPY`, the version (`1 0`), a little-endian header length (`u16`;
//! `u32` from version 2), an ASCII dict `{'descr': '<f4', 'fortran_order': False, 'shape':
//! (…), }` padded with spaces and ended by `\n` so that the data starts on a 64-byte
//! boundary, then the values in C order.

use std::path::Path;

use crate::error::{Error, Result};

/// The element types [`parse`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `|u1`, `uint8`.
    U8,
    /// `<f4`, little-endian `float32`.
    F32,
    /// A little-endian integer of this many bytes, signed or not (`<i4`, `<u2`, `<i8`, …).
    Int {
        /// Bytes per element: 1, 2, 4 or 8.
        bytes: usize,
        /// Whether it is signed.
        signed: bool,
    },
}

/// A parsed `.npy` array: its dtype, its shape and its data bytes (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Element type.
    pub dtype: Dtype,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// `product(shape)` elements.
    pub data: Vec<u8>,
}

impl Array {
    /// The elements as f32: float32 as it is, integers converted (exactly up to 2²⁴).
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            Dtype::F32 => self
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            _ => self.to_i64().into_iter().map(|v| v as f32).collect(),
        }
    }

    /// The elements as integers, or `None` for a float array.
    pub fn to_i64(&self) -> Vec<i64> {
        let (bytes, signed) = match self.dtype {
            Dtype::U8 => (1, false),
            Dtype::Int { bytes, signed } => (bytes, signed),
            Dtype::F32 => return Vec::new(),
        };
        self.data
            .chunks_exact(bytes)
            .map(|c| {
                let mut le = [0u8; 8];
                le[..bytes].copy_from_slice(c);
                if signed && c.last().is_some_and(|b| b & 0x80 != 0) {
                    le[bytes..].fill(0xff);
                }
                i64::from_le_bytes(le)
            })
            .collect()
    }
}

/// Parses a `.npy` file's bytes; errors name `path` and say what is wrong.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Array> {
    let bad = |problem: String| Error::argument(path.display().to_string(), problem);
    let rest = bytes
        .strip_prefix(b"\x93NUMPY")
        .ok_or_else(|| bad("not a .npy file (no \\x93NUMPY magic)".into()))?;
    let (header_len, rest) = match rest {
        [1, 0, a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        [2 | 3, 0, a, b, c, d, rest @ ..] => (u32::from_le_bytes([*a, *b, *c, *d]) as usize, rest),
        [major, minor, ..] => {
            return Err(bad(format!(".npy version {major}.{minor} is not supported")));
        }
        _ => return Err(bad("truncated .npy header".into())),
    };
    let header = rest.get(..header_len).ok_or_else(|| bad("truncated .npy header".into()))?;
    let header =
        std::str::from_utf8(header).map_err(|_| bad("the .npy header is not text".into()))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let value = header.get(at..)?.trim_start().strip_prefix(':')?.trim_start();
        Some(value)
    };
    let descr = field("descr")
        .and_then(|v| v.strip_prefix('\'')?.split('\'').next())
        .ok_or_else(|| bad("the .npy header has no 'descr'".into()))?;
    let dtype = match descr {
        "|u1" | "<u1" | "u1" => Dtype::U8,
        "<f4" => Dtype::F32,
        "|i1" | "<i1" => Dtype::Int { bytes: 1, signed: true },
        "<i2" => Dtype::Int { bytes: 2, signed: true },
        "<u2" => Dtype::Int { bytes: 2, signed: false },
        "<i4" => Dtype::Int { bytes: 4, signed: true },
        "<u4" => Dtype::Int { bytes: 4, signed: false },
        "<i8" => Dtype::Int { bytes: 8, signed: true },
        "<u8" => Dtype::Int { bytes: 8, signed: false },
        other => {
            return Err(bad(format!(
                "dtype '{other}' is not supported (uint8, float32 or a little-endian integer)"
            )));
        }
    };
    if field("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(bad("Fortran-order arrays are not supported (save a C-order array)".into()));
    }
    let dims = field("shape")
        .and_then(|v| v.strip_prefix('(')?.split(')').next())
        .ok_or_else(|| bad("the .npy header has no 'shape'".into()))?;
    let shape: Vec<usize> = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| bad(format!("bad dimension `{d}` in the .npy shape"))))
        .collect::<Result<_>>()?;
    let size = match dtype {
        Dtype::U8 => 1,
        Dtype::F32 => 4,
        Dtype::Int { bytes, .. } => bytes,
    };
    let len = shape
        .iter()
        .try_fold(size, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} is too large")))?;
    let data = rest.get(header_len..).unwrap_or(&[]);
    if data.len() != len {
        return Err(bad(format!(
            "shape {shape:?} of {descr} needs {len} data bytes, the file has {}",
            data.len()
        )));
    }
    Ok(Array { dtype, shape, data: data.to_vec() })
}

/// The bytes of a `.npy` file holding `values` with `shape` (C order). The product of
/// `shape` must be `values.len()`.
pub fn f32_bytes(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes("<f4", shape, &data)
}

/// The bytes of a `.npy` file (version 1.0, C order) of elements of type `descr` (`<f4`,
/// `|u1`, `<i8`, …) with `shape`, given their little-endian bytes `data`.
pub fn bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // 10 bytes of magic, version and length come first; the header ends with '\n'.
    let total = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&u16::try_from(header.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_parses_back() {
        let b = f32_bytes(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.5, -5.0]);
        let a = parse(&b, Path::new("a.npy")).unwrap();
        assert_eq!((a.dtype, a.shape.clone()), (Dtype::F32, vec![2, 3]));
        assert_eq!(a.to_f32(), [0.0, 1.0, 2.0, 3.0, 4.5, -5.0]);
    }

    #[test]
    fn integers_of_every_width_and_bad_files() {
        let header = |descr: &str, shape: &[usize]| bytes(descr, shape, &[]);
        let p = Path::new("l.npy");
        let mut b = header("<i8", &[3]);
        for v in [7i64, -2, 9] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(parse(&b, p).unwrap().to_i64(), [7, -2, 9]);
        let mut b = header("|u1", &[2, 2]);
        b.extend_from_slice(&[0, 255, 3, 4]);
        assert_eq!(parse(&b, p).unwrap().to_f32(), [0.0, 255.0, 3.0, 4.0]);
        let err = |b: &[u8]| parse(b, p).unwrap_err().to_string();
        assert!(err(&b[..b.len() - 1]).contains("needs 4 data bytes, the file has 3"));
        assert!(err(b"PK\x03\x04").contains("not a .npy file"));
        let mut f8 = header("<f8", &[1]);
        f8.extend_from_slice(&0f64.to_le_bytes());
        assert!(err(&f8).contains("dtype '<f8' is not supported"));
        let mut fortran = header("<f4", &[1]);
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran.splice(at..at + 5, *b"True ");
        fortran.extend_from_slice(&0f32.to_le_bytes());
        assert!(err(&fortran).contains("Fortran-order"));
    }

    #[test]
    fn header_is_padded_to_64_bytes_and_data_follows() {
        let b = f32_bytes(&[1, 2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let header_len = usize::from(u16::from_le_bytes([b[8], b[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + header_len]).unwrap();
        assert!(
            header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }")
        );
        assert!(header.ends_with('\n'));
        assert_eq!(b.len(), 10 + header_len + 24);
        assert_eq!(&b[10 + header_len + 4..10 + header_len + 8], &1.0f32.to_le_bytes());
        let flat = f32_bytes(&[4], &[0.0; 4]);
        assert!(std::str::from_utf8(&flat[10..74]).unwrap().contains("'shape': (4,)"));
    }
}
