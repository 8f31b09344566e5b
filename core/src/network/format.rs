//! nudge's network file: one blob with the layer list and the weights, read in place.
//!
//! Every field is a little-endian `u32` word; the weights are little-endian IEEE-754 f32.
//!
//! | words | content |
//! | --- | --- |
//! | 0 | magic `NDGN` (the bytes `4E 44 47 4E`) |
//! | 1 | format version, 1 |
//! | 2 | number of layers `L` (1 ..= [`MAX_LAYERS`]) |
//! | 3, 4, 5 | input shape `C, H, W` |
//! | 6 | number of parameters `P` |
//! | 7 | reserved, 0 |
//! | 8 + 8·i ..| layer `i`: kind, then up to 7 fields, unused ones 0 (table below) |
//! | 8 + 8·L .. | the `P` parameters, in the [network's layout](super) |
//!
//! | kind | layer | fields |
//! | --- | --- | --- |
//! | 1 | dense | outputs |
//! | 2 | conv2d | out channels, kernel h, kernel w, stride h, stride w, padding h, padding w |
//! | 3 | maxpool2d | kernel h, kernel w, stride h, stride w |
//! | 4 | avgpool2d | kernel h, kernel w, stride h, stride w |
//! | 5 | relu | — |
//! | 6 | flatten | — |
//!
//! The header is `32·(L + 1)` bytes, so the weights start 32-byte aligned relative to the
//! blob; the blob itself must start 4-byte aligned. Its length must be exactly
//! `32·(L + 1) + 4·P`.

use super::{LayerSpec, MAX_LAYERS, Network, NetworkProblem, Shape, Window};
use crate::error::Error;

/// The magic word, `NDGN` in file order.
pub const MAGIC: [u8; 4] = *b"NDGN";
/// The format version this kernel reads and writes.
pub const VERSION: u32 = 1;
/// Bytes of the fixed header and of each layer record.
pub const RECORD_BYTES: usize = 32;

/// What a header describes: the input shape, the layers and the parameter count.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Input shape.
    pub input: Shape,
    /// The layers, first to last.
    pub layers: heapless::Vec<LayerSpec, MAX_LAYERS>,
    /// Number of f32 parameters after the header.
    pub params: usize,
}

impl Header {
    /// Bytes of this header (where the weights start).
    pub fn len(&self) -> usize {
        header_len(self.layers.len())
    }

    /// Whether the header has no layers (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

/// Bytes of a header with `layers` layers.
pub const fn header_len(layers: usize) -> usize {
    RECORD_BYTES * (layers + 1)
}

/// The little-endian `u32` at word `index` of `bytes`, if it is there.
pub(crate) fn word(bytes: &[u8], index: usize) -> Option<u32> {
    let b = bytes.get(index * 4..index * 4 + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A header word as a size.
pub(crate) fn size(w: u32) -> usize {
    w as usize
}

/// What every nudge blob's header opens with (this format's and the int8 network's,
/// `quant::format`): at least one record of `record_bytes`, then `magic`, `version` and a
/// layer count in `1..=MAX_LAYERS` (words 0–2). Returns the count.
pub(crate) fn check_opening(
    bytes: &[u8],
    magic: [u8; 4],
    version: u32,
    record_bytes: usize,
) -> Result<usize, Error> {
    let invalid = |problem| Error::InvalidNetwork { layer: None, problem };
    let short = Error::ByteLength { expected: record_bytes, found: bytes.len() };
    if bytes.len() < record_bytes {
        return Err(short);
    }
    if bytes.get(..4) != Some(&magic[..]) {
        return Err(invalid(NetworkProblem::BadMagic));
    }
    let found = word(bytes, 1).ok_or(short)?;
    if found != version {
        return Err(invalid(NetworkProblem::UnsupportedVersion { found }));
    }
    let count = size(word(bytes, 2).ok_or(short)?);
    if count == 0 {
        return Err(invalid(NetworkProblem::NoLayers));
    }
    if count > MAX_LAYERS {
        return Err(invalid(NetworkProblem::TooManyLayers));
    }
    Ok(count)
}

/// Reads a header (no weights are looked at). Fails with [`Error::InvalidNetwork`] on a
/// bad magic, version, count or layer record, [`Error::ByteLength`] if `bytes` is shorter
/// than the header it announces.
pub fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    let invalid = |layer, problem| Error::InvalidNetwork { layer, problem };
    let short = |expected| Error::ByteLength { expected, found: bytes.len() };
    let count = check_opening(bytes, MAGIC, VERSION, RECORD_BYTES)?;
    let get = |i| word(bytes, i).ok_or(short(RECORD_BYTES));
    if get(7)? != 0 {
        return Err(invalid(None, NetworkProblem::UnusedFieldSet));
    }
    let input = Shape::new(size(get(3)?), size(get(4)?), size(get(5)?));
    let params = size(get(6)?);
    let header = header_len(count);
    if bytes.len() < header {
        return Err(short(header));
    }
    let mut layers = heapless::Vec::new();
    for i in 0..count {
        let mut f = [0u32; 8];
        for (k, v) in f.iter_mut().enumerate() {
            *v = word(bytes, 8 * (i + 1) + k).ok_or(short(header))?;
        }
        let layer = decode(f).map_err(|p| invalid(Some(i), p))?;
        layers.push(layer).map_err(|_| invalid(None, NetworkProblem::TooManyLayers))?;
    }
    Ok(Header { input, layers, params })
}

/// One layer record.
fn decode(f: [u32; 8]) -> Result<LayerSpec, NetworkProblem> {
    let used = match f[0] {
        1 => 1,
        2 => 7,
        3 | 4 => 4,
        5 | 6 => 0,
        kind => return Err(NetworkProblem::UnknownLayerKind { kind }),
    };
    if f.iter().skip(1 + used).any(|&v| v != 0) {
        return Err(NetworkProblem::UnusedFieldSet);
    }
    let window = |k: usize| Window {
        kernel: [size(f[k]), size(f[k + 1])],
        stride: [size(f[k + 2]), size(f[k + 3])],
    };
    Ok(match f[0] {
        1 => LayerSpec::Dense { outputs: size(f[1]) },
        2 => LayerSpec::Conv2d {
            out_channels: size(f[1]),
            window: window(2),
            padding: [size(f[6]), size(f[7])],
        },
        3 => LayerSpec::MaxPool2d(window(1)),
        4 => LayerSpec::AvgPool2d(window(1)),
        5 => LayerSpec::Relu,
        _ => LayerSpec::Flatten,
    })
}

/// One layer record's words.
fn encode(layer: &LayerSpec) -> Option<[u32; 8]> {
    let w = |v: usize| u32::try_from(v).ok();
    let window =
        |x: &Window| Some([w(x.kernel[0])?, w(x.kernel[1])?, w(x.stride[0])?, w(x.stride[1])?]);
    Some(match layer {
        LayerSpec::Dense { outputs } => [1, w(*outputs)?, 0, 0, 0, 0, 0, 0],
        LayerSpec::Conv2d { out_channels, window: x, padding } => {
            let [kh, kw, sh, sw] = window(x)?;
            [2, w(*out_channels)?, kh, kw, sh, sw, w(padding[0])?, w(padding[1])?]
        }
        LayerSpec::MaxPool2d(x) => {
            let [kh, kw, sh, sw] = window(x)?;
            [3, kh, kw, sh, sw, 0, 0, 0]
        }
        LayerSpec::AvgPool2d(x) => {
            let [kh, kw, sh, sw] = window(x)?;
            [4, kh, kw, sh, sw, 0, 0, 0]
        }
        LayerSpec::Relu => [5, 0, 0, 0, 0, 0, 0, 0],
        LayerSpec::Flatten => [6, 0, 0, 0, 0, 0, 0, 0],
    })
}

/// Writes the header of `network` into `out` (at least [`header_len`] bytes) and returns
/// its length; the weights follow it, in the network's parameter order.
pub fn write_header(network: &Network<'_>, out: &mut [u8]) -> Result<usize, Error> {
    let layers = network.layers();
    let len = header_len(layers.len());
    let bad = Error::InvalidNetwork { layer: None, problem: NetworkProblem::BadSize };
    let found = out.len();
    let out = out.get_mut(..len).ok_or(Error::ByteLength { expected: len, found })?;
    let input = network.input_shape();
    let w = |v: usize| u32::try_from(v).map_err(|_| bad);
    let head = [
        u32::from_le_bytes(MAGIC),
        VERSION,
        w(layers.len())?,
        w(input.channels)?,
        w(input.height)?,
        w(input.width)?,
        w(network.param_count())?,
        0,
    ];
    let mut words = out.chunks_exact_mut(4);
    let mut put = |value: u32| {
        if let Some(chunk) = words.next() {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
    };
    head.into_iter().for_each(&mut put);
    for layer in layers {
        encode(&layer.spec).ok_or(bad)?.into_iter().for_each(&mut put);
    }
    Ok(len)
}

impl<'w> Network<'w> {
    /// A network viewing a blob in nudge's [format](self) in place. Fails with
    /// [`Error::InvalidNetwork`] (magic, version, layer records, shapes, parameter count),
    /// [`Error::ByteLength`] (the length is not exactly what the header needs),
    /// [`Error::Misaligned`] (the blob does not start 4-byte aligned) or
    /// [`Error::NonFiniteWeight`].
    pub fn from_bytes(bytes: &'w [u8]) -> Result<Self, Error> {
        let header = parse_header(bytes)?;
        if header.input.checked_len().is_none() {
            return Err(Error::InvalidNetwork { layer: None, problem: NetworkProblem::BadSize });
        }
        let expected_params = super::param_count(header.input, &header.layers)?;
        if expected_params != header.params {
            return Err(Error::InvalidNetwork {
                layer: None,
                problem: NetworkProblem::ParameterCount {
                    expected: expected_params,
                    found: header.params,
                },
            });
        }
        let start = header.len();
        let expected = start + 4 * header.params;
        if bytes.len() != expected {
            return Err(Error::ByteLength { expected, found: bytes.len() });
        }
        let data = bytes.get(start..).unwrap_or(&[]);
        let params: &[f32] = bytemuck::try_cast_slice(data)
            .map_err(|_| Error::Misaligned { required: core::mem::align_of::<f32>() })?;
        Network::new(header.input, &header.layers, params)
    }
}
