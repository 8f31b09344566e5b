//! IDX files (LeCun's MNIST format), gzip-compressed or raw.
//!
//! Layout: a 4-byte magic `0x00 0x00 <type> <ndim>` (type `0x08` = unsigned byte), then
//! `ndim` big-endian u32 dimensions, then the data, row-major. Images are `ndim = 3`
//! (count, rows, cols); labels are `ndim = 1` (count). Every field is checked: magic,
//! dimensions, that the data length is exactly what the header promises, and label range.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Largest decompressed file accepted (Fashion-MNIST's training images are 47 MB).
const MAX_BYTES: u64 = 512 * 1024 * 1024;

/// Images from an IDX3 file: `count` images of `rows × cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count · rows · cols` pixel bytes.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Number of images.
    pub fn count(&self) -> usize {
        self.pixels.len() / (self.rows * self.cols).max(1)
    }
}

/// Reads a file, decompressing it if it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = crate::fsutil::read(path)?;
    decompress_if_gz(&raw, path)
}

/// Decompresses `raw` if it starts with the gzip magic `1f 8b`, else returns it as is.
pub fn decompress_if_gz(raw: &[u8], path: &Path) -> Result<Vec<u8>> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw)
            .take(MAX_BYTES)
            .read_to_end(&mut out)
            .map_err(|e| Error::idx(path, format!("corrupt gzip data ({e})")))?;
        Ok(out)
    } else {
        Ok(raw.to_vec())
    }
}

/// Parses the header: checks the magic and returns the dimensions and the data.
fn header<'a>(
    bytes: &'a [u8],
    ndim: u8,
    what: &str,
    path: &Path,
) -> Result<(Vec<usize>, &'a [u8])> {
    if bytes.len() < 4 {
        return Err(Error::idx(
            path,
            format!("file is {} bytes, too short for an IDX header", bytes.len()),
        ));
    }
    let want = [0, 0, 0x08, ndim];
    if bytes[..4] != want {
        return Err(Error::idx(
            path,
            format!(
                "bad magic number {:02x}{:02x}{:02x}{:02x}, expected {:02x}{:02x}{:02x}{:02x} (IDX {what})",
                bytes[0], bytes[1], bytes[2], bytes[3], want[0], want[1], want[2], want[3]
            ),
        ));
    }
    let header_len = 4 + 4 * usize::from(ndim);
    if bytes.len() < header_len {
        return Err(Error::idx(
            path,
            format!("truncated header: {} bytes, need {header_len}", bytes.len()),
        ));
    }
    let dims = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    Ok((dims, &bytes[header_len..]))
}

/// Checks that `data` holds exactly `expected` bytes.
fn check_len(data: &[u8], expected: usize, what: &str, path: &Path) -> Result<()> {
    if data.len() < expected {
        Err(Error::idx(
            path,
            format!(
                "truncated: header promises {expected} bytes of {what}, file has {}",
                data.len()
            ),
        ))
    } else if data.len() > expected {
        Err(Error::idx(
            path,
            format!(
                "{} unexpected bytes after the {expected} bytes of {what}",
                data.len() - expected
            ),
        ))
    } else {
        Ok(())
    }
}

/// Parses IDX3 image bytes (already decompressed); `path` is for messages.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<IdxImages> {
    let (dims, data) = header(bytes, 3, "images, 3 dimensions", path)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(Error::idx(path, format!("image size {rows}x{cols} is empty")));
    }
    let expected = count
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(cols))
        .ok_or_else(|| Error::idx(path, "image dimensions overflow"))?;
    check_len(data, expected, &format!("{count} images of {rows}x{cols}"), path)?;
    Ok(IdxImages { rows, cols, pixels: data.to_vec() })
}

/// Parses IDX1 label bytes (already decompressed), each of which must be below `classes`.
pub fn parse_labels(bytes: &[u8], classes: usize, path: &Path) -> Result<Vec<u8>> {
    let (dims, data) = header(bytes, 1, "labels, 1 dimension", path)?;
    check_len(data, dims[0], &format!("{} labels", dims[0]), path)?;
    if let Some((i, &l)) = data.iter().enumerate().find(|(_, l)| usize::from(**l) >= classes) {
        return Err(Error::idx(
            path,
            format!("label {l} at index {i} is out of range 0..={}", classes - 1),
        ));
    }
    Ok(data.to_vec())
}

/// Reads an IDX3 image file (`.gz` or raw).
pub fn read_images(path: &Path) -> Result<IdxImages> {
    parse_images(&read_maybe_gz(path)?, path)
}

/// Reads an IDX1 label file (`.gz` or raw) with labels below `classes`.
pub fn read_labels(path: &Path, classes: usize) -> Result<Vec<u8>> {
    parse_labels(&read_maybe_gz(path)?, classes, path)
}

/// Encodes images as IDX3 bytes (uncompressed); the inverse of [`parse_images`].
pub fn encode_images(images: &IdxImages) -> Vec<u8> {
    let mut out = vec![0, 0, 8, 3];
    for d in [images.count(), images.rows, images.cols] {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(&images.pixels);
    out
}

/// Encodes labels as IDX1 bytes (uncompressed); the inverse of [`parse_labels`].
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, 1];
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("x.idx")
    }

    #[test]
    fn round_trips_images_and_labels() {
        let images = IdxImages { rows: 2, cols: 3, pixels: (0..12).collect() };
        assert_eq!(parse_images(&encode_images(&images), p()).unwrap(), images);
        assert_eq!(parse_labels(&encode_labels(&[1, 9, 0]), 10, p()).unwrap(), vec![1, 9, 0]);
    }

    #[test]
    fn rejects_bad_headers_and_lengths() {
        let images = encode_images(&IdxImages { rows: 2, cols: 2, pixels: vec![0; 8] });
        let msg = |r: Result<IdxImages>| r.unwrap_err().to_string();
        assert!(msg(parse_images(&images[..images.len() - 1], p())).contains("truncated"));
        assert!(
            msg(parse_images(&[images.clone(), vec![0]].concat(), p()))
                .contains("unexpected bytes")
        );
        assert!(msg(parse_images(&encode_labels(&[1]), p())).contains("bad magic"));
        assert!(msg(parse_images(&images[..6], p())).contains("truncated header"));
        assert!(msg(parse_images(&[], p())).contains("too short"));
        let err = parse_labels(&encode_labels(&[3, 10]), 10, p()).unwrap_err().to_string();
        assert!(err.contains("label 10 at index 1"), "{err}");
    }

    #[test]
    fn reports_corrupt_gzip() {
        let err = decompress_if_gz(&[0x1f, 0x8b, 8, 0, 1, 2, 3], p()).unwrap_err().to_string();
        assert!(err.starts_with("x.idx: corrupt gzip"), "{err}");
    }
}
