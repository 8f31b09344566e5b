//! NumPy's `.npy` format (version 1.0) for float32 arrays: what `numpy.load` reads.
//!
//! Layout: the magic `\x93NUMPY`, version `1 0`, a little-endian `u16` header length, an
//! ASCII dict `{'descr': '<f4', 'fortran_order': False, 'shape': (…), }` padded with spaces
//! and ended by `\n` so that the data starts on a 64-byte boundary, then the values in C
//! order, little-endian.

/// The bytes of a `.npy` file holding `values` with `shape` (C order). The product of
/// `shape` must be `values.len()`.
pub fn f32_bytes(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    // 10 bytes of magic, version and length come first; the header ends with '\n'.
    let total = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + 4 * values.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&u16::try_from(header.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
