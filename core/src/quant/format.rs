//! nudge's int8 network file: one blob with the layer list, the quantizations and the
//! parameters, read in place (the int8 twin of the float [network format](crate::network::format)).
//!
//! Every field is a little-endian 32-bit word: a `u32`, an `i32` (zero points) or the bits
//! of an IEEE-754 `f32` (scales).
//!
//! | words | content |
//! | --- | --- |
//! | 0 | magic `NDGQ` (the bytes `4E 44 47 51`) |
//! | 1 | format version, 1 |
//! | 2 | number of layers `L` (1 ..= [`MAX_LAYERS`]) |
//! | 3, 4, 5 | input shape `C, H, W` |
//! | 6, 7 | input scale (f32), input zero point (i32) |
//! | 8 | number of int8 weights `N` |
//! | 9 | number of output channels `K` (biases, and weight scales) |
//! | 10 ..= 15 | reserved, 0 |
//! | 16 + 16·i .. | layer `i`: kind, then up to 15 fields, unused ones 0 (table below) |
//! | 16·(L + 1) .. | `K` int32 biases, then `K` f32 weight scales, then `N` int8 weights, in the [network's layout](super::network) |
//!
//! | kind | layer | fields |
//! | --- | --- | --- |
//! | 1 | dense | outputs, output scale, output zero point, activation |
//! | 2 | conv2d | out channels, kernel h, kernel w, stride h, stride w, padding h, padding w, output scale, output zero point, activation |
//! | 3 | maxpool2d | kernel h, kernel w, stride h, stride w, activation |
//! | 4 | avgpool2d | kernel h, kernel w, stride h, stride w, activation |
//! | 6 | flatten | — |
//!
//! Activations: 0 none, 1 RELU, 2 RELU6, 3 RELU_N1_TO_1. The blob must start 4-byte aligned
//! and be exactly `64·(L + 1) + 8·K + N` bytes long.

use super::affine::Quantization;
use super::network::{Activation, QuantLayerSpec, QuantNetwork, QuantParams};
use crate::error::Error;
use crate::network::format::{check_opening, size, word};
use crate::network::{MAX_LAYERS, NetworkProblem, Shape, Window};

/// The magic word, `NDGQ` in file order.
pub const MAGIC: [u8; 4] = *b"NDGQ";
/// The format version this kernel reads and writes.
pub const VERSION: u32 = 1;
/// Bytes of the fixed header and of each layer record.
pub const RECORD_BYTES: usize = 64;
/// Words of a record.
const WORDS: usize = RECORD_BYTES / 4;

/// What a header describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Input shape.
    pub input: Shape,
    /// The input's quantization.
    pub input_quantization: Quantization,
    /// The layers, first to last.
    pub layers: heapless::Vec<QuantLayerSpec, MAX_LAYERS>,
    /// Number of int8 weights.
    pub weights: usize,
    /// Number of output channels (biases and weight scales).
    pub channels: usize,
}

/// Bytes of a header with `layers` layers (where the biases start).
pub const fn header_len(layers: usize) -> usize {
    RECORD_BYTES * (layers + 1)
}

/// Bytes of a whole blob.
pub const fn blob_len(layers: usize, weights: usize, channels: usize) -> usize {
    header_len(layers) + 8 * channels + weights
}

fn activation(code: u32) -> Result<Activation, NetworkProblem> {
    Ok(match code {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        3 => Activation::ReluN1To1,
        _ => return Err(NetworkProblem::UnusedFieldSet),
    })
}

fn activation_code(a: Activation) -> u32 {
    match a {
        Activation::None => 0,
        Activation::Relu => 1,
        Activation::Relu6 => 2,
        Activation::ReluN1To1 => 3,
    }
}

fn quantization(scale: u32, zero_point: u32) -> Quantization {
    Quantization::new(f32::from_bits(scale), zero_point.cast_signed())
}

/// Reads a header (no parameters are looked at). Fails with [`Error::InvalidNetwork`] on a
/// bad magic, version, count or layer record, [`Error::ByteLength`] if `bytes` is shorter
/// than the header it announces.
pub fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    let invalid = |layer, problem| Error::InvalidNetwork { layer, problem };
    let short = |expected| Error::ByteLength { expected, found: bytes.len() };
    let count = check_opening(bytes, MAGIC, VERSION, RECORD_BYTES)?;
    let get = |i| word(bytes, i).ok_or(short(RECORD_BYTES));
    for i in 10..WORDS {
        if get(i)? != 0 {
            return Err(invalid(None, NetworkProblem::UnusedFieldSet));
        }
    }
    let header = header_len(count);
    if bytes.len() < header {
        return Err(short(header));
    }
    let mut layers = heapless::Vec::new();
    for i in 0..count {
        let mut f = [0u32; WORDS];
        for (k, v) in f.iter_mut().enumerate() {
            *v = word(bytes, WORDS * (i + 1) + k).ok_or(short(header))?;
        }
        let layer = decode(&f).map_err(|p| invalid(Some(i), p))?;
        layers.push(layer).map_err(|_| invalid(None, NetworkProblem::TooManyLayers))?;
    }
    Ok(Header {
        input: Shape::new(size(get(3)?), size(get(4)?), size(get(5)?)),
        input_quantization: quantization(get(6)?, get(7)?),
        layers,
        weights: size(get(8)?),
        channels: size(get(9)?),
    })
}

/// One layer record.
fn decode(f: &[u32; WORDS]) -> Result<QuantLayerSpec, NetworkProblem> {
    let used = match f[0] {
        1 => 4,
        2 => 10,
        3 | 4 => 5,
        6 => 0,
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
        1 => QuantLayerSpec::Dense {
            outputs: size(f[1]),
            output: quantization(f[2], f[3]),
            activation: activation(f[4])?,
        },
        2 => QuantLayerSpec::Conv2d {
            out_channels: size(f[1]),
            window: window(2),
            padding: [size(f[6]), size(f[7])],
            output: quantization(f[8], f[9]),
            activation: activation(f[10])?,
        },
        3 => QuantLayerSpec::MaxPool2d { window: window(1), activation: activation(f[5])? },
        4 => QuantLayerSpec::AvgPool2d { window: window(1), activation: activation(f[5])? },
        _ => QuantLayerSpec::Flatten,
    })
}

/// One layer record's words.
fn encode(layer: &QuantLayerSpec) -> Option<[u32; WORDS]> {
    let w = |v: usize| u32::try_from(v).ok();
    let q = |q: Quantization| [q.scale.to_bits(), q.zero_point as u32];
    let window =
        |x: &Window| Some([w(x.kernel[0])?, w(x.kernel[1])?, w(x.stride[0])?, w(x.stride[1])?]);
    let mut f = [0u32; WORDS];
    match layer {
        QuantLayerSpec::Dense { outputs, output, activation } => {
            let [s, z] = q(*output);
            f[..5].copy_from_slice(&[1, w(*outputs)?, s, z, activation_code(*activation)]);
        }
        QuantLayerSpec::Conv2d { out_channels, window: x, padding, output, activation } => {
            let [kh, kw, sh, sw] = window(x)?;
            let [s, z] = q(*output);
            let (ph, pw) = (w(padding[0])?, w(padding[1])?);
            let a = activation_code(*activation);
            f[..11].copy_from_slice(&[2, w(*out_channels)?, kh, kw, sh, sw, ph, pw, s, z, a]);
        }
        QuantLayerSpec::MaxPool2d { window: x, activation }
        | QuantLayerSpec::AvgPool2d { window: x, activation } => {
            let kind = if matches!(layer, QuantLayerSpec::MaxPool2d { .. }) { 3 } else { 4 };
            let [kh, kw, sh, sw] = window(x)?;
            f[..6].copy_from_slice(&[kind, kh, kw, sh, sw, activation_code(*activation)]);
        }
        QuantLayerSpec::Flatten => f[0] = 6,
    }
    Some(f)
}

/// Writes the blob of a network of `layers` on `input` quantized by `input_quantization`
/// with `params` into `out`, which must be exactly [`blob_len`] bytes
/// ([`Error::ByteLength`]); the description is checked as [`QuantNetwork::new`] checks it.
pub fn write(
    input: Shape,
    input_quantization: Quantization,
    layers: &[QuantLayerSpec],
    params: QuantParams<'_>,
    out: &mut [u8],
) -> Result<(), Error> {
    QuantNetwork::new(input, input_quantization, layers, params)?;
    let bad = Error::InvalidNetwork { layer: None, problem: NetworkProblem::BadSize };
    let channels = params.biases.len();
    let expected = blob_len(layers.len(), params.weights.len(), channels);
    if out.len() != expected {
        return Err(Error::ByteLength { expected, found: out.len() });
    }
    let w = |v: usize| u32::try_from(v).map_err(|_| bad);
    let mut head = [0u32; WORDS];
    head[..10].copy_from_slice(&[
        u32::from_le_bytes(MAGIC),
        VERSION,
        w(layers.len())?,
        w(input.channels)?,
        w(input.height)?,
        w(input.width)?,
        input_quantization.scale.to_bits(),
        input_quantization.zero_point as u32,
        w(params.weights.len())?,
        w(channels)?,
    ]);
    let (header, data) = out.split_at_mut_checked(header_len(layers.len())).ok_or(bad)?;
    let mut words = header.chunks_exact_mut(4);
    let mut put = |value: u32| {
        if let Some(chunk) = words.next() {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
    };
    head.into_iter().for_each(&mut put);
    for layer in layers {
        encode(layer).ok_or(bad)?.into_iter().for_each(&mut put);
    }
    let (biases, rest) = data.split_at_mut_checked(4 * channels).ok_or(bad)?;
    let (scales, weights) = rest.split_at_mut_checked(4 * channels).ok_or(bad)?;
    for (chunk, b) in biases.chunks_exact_mut(4).zip(params.biases) {
        chunk.copy_from_slice(&b.to_le_bytes());
    }
    for (chunk, s) in scales.chunks_exact_mut(4).zip(params.weight_scales) {
        chunk.copy_from_slice(&s.to_le_bytes());
    }
    for (byte, &v) in weights.iter_mut().zip(params.weights) {
        *byte = v as u8;
    }
    Ok(())
}

impl<'w> QuantNetwork<'w> {
    /// A network viewing a blob in nudge's int8 [format](self) in place (little-endian
    /// targets read the parameters without copying). Fails with [`Error::InvalidNetwork`]
    /// (magic, version, layer records, and everything [`QuantNetwork::new`] checks),
    /// [`Error::ByteLength`] (not exactly the length the header needs) or
    /// [`Error::Misaligned`] (the blob does not start 4-byte aligned).
    pub fn from_bytes(bytes: &'w [u8]) -> Result<Self, Error> {
        let header = parse_header(bytes)?;
        let start = header_len(header.layers.len());
        let bad = Error::InvalidNetwork { layer: None, problem: NetworkProblem::BadSize };
        let expected = header
            .channels
            .checked_mul(8)
            .and_then(|c| c.checked_add(header.weights))
            .and_then(|n| n.checked_add(start))
            .ok_or(bad)?;
        if bytes.len() != expected {
            return Err(Error::ByteLength { expected, found: bytes.len() });
        }
        let data = bytes.get(start..).unwrap_or(&[]);
        let (biases, rest) = data.split_at_checked(4 * header.channels).ok_or(bad)?;
        let (scales, weights) = rest.split_at_checked(4 * header.channels).ok_or(bad)?;
        let misaligned = Error::Misaligned { required: 4 };
        let params = QuantParams {
            biases: bytemuck::try_cast_slice(biases).map_err(|_| misaligned)?,
            weight_scales: bytemuck::try_cast_slice(scales).map_err(|_| misaligned)?,
            weights: bytemuck::cast_slice(weights),
        };
        QuantNetwork::new(header.input, header.input_quantization, &header.layers, params)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::{vec, vec::Vec};

    const Q_IN: Quantization = Quantization::new(0.02, -7);

    /// Every layer kind: conv (padded, RELU6), max pool (RELU), avg pool, flatten, dense.
    fn layers() -> [QuantLayerSpec; 5] {
        [
            QuantLayerSpec::Conv2d {
                out_channels: 2,
                window: Window::square(3, 1),
                padding: [1, 1],
                output: Quantization::new(0.05, -20),
                activation: Activation::Relu6,
            },
            QuantLayerSpec::MaxPool2d {
                window: Window::square(2, 1),
                activation: Activation::Relu,
            },
            QuantLayerSpec::AvgPool2d {
                window: Window::square(2, 2),
                activation: Activation::None,
            },
            QuantLayerSpec::Flatten,
            QuantLayerSpec::Dense {
                outputs: 3,
                output: Quantization::new(0.1, 4),
                activation: Activation::ReluN1To1,
            },
        ]
    }

    struct Params {
        weights: Vec<i8>,
        biases: Vec<i32>,
        scales: Vec<f32>,
    }

    impl Params {
        fn view(&self) -> QuantParams<'_> {
            QuantParams {
                weights: &self.weights,
                biases: &self.biases,
                weight_scales: &self.scales,
            }
        }
    }

    fn params() -> Params {
        // conv 2·1·3·3 = 18 weights; input 1×5×5 → conv 2×5×5 → max 2×4×4 → avg 2×2×2 → 8.
        let weights = (0..18 + 24).map(|i| ((i * 37) % 255) as i8).collect();
        Params {
            weights,
            biases: vec![5, -5, 100, -100, 7],
            scales: vec![0.01, 0.02, 0.003, 0.004, 0.005],
        }
    }

    /// A blob in an aligned buffer.
    fn blob(p: &Params) -> Vec<u32> {
        let shape = Shape::new(1, 5, 5);
        let len = blob_len(5, p.weights.len(), p.biases.len());
        let mut words = vec![0u32; len.div_ceil(4)];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        write(shape, Q_IN, &layers(), p.view(), &mut bytes[..len]).unwrap();
        words
    }

    fn bytes(words: &[u32], len: usize) -> &[u8] {
        &bytemuck::cast_slice(words)[..len]
    }

    #[test]
    fn a_written_blob_reads_back_as_the_same_network() {
        let p = params();
        let len = blob_len(5, p.weights.len(), p.biases.len());
        let words = blob(&p);
        let from_blob = QuantNetwork::from_bytes(bytes(&words, len)).unwrap();
        let direct = QuantNetwork::new(Shape::new(1, 5, 5), Q_IN, &layers(), p.view()).unwrap();
        assert_eq!(from_blob.input_quantization(), Q_IN);
        let specs: Vec<_> = from_blob.layers().iter().map(|l| l.spec).collect();
        assert_eq!(specs, layers());
        let x: Vec<i8> = (0..25i8).map(|i| i.wrapping_mul(11)).collect();
        let (mut a, mut b) = (vec![0i8; direct.arena_len()], vec![0i8; direct.arena_len()]);
        assert_eq!(direct.forward(&x, &mut a).unwrap(), from_blob.forward(&x, &mut b).unwrap());
        // The blob is viewed in place: the weights are the blob's bytes.
        let w = from_blob.layers()[0].weight.as_ptr() as usize;
        let start = bytes(&words, len).as_ptr() as usize + header_len(5) + 8 * 5;
        assert_eq!(w, start);
    }

    #[test]
    fn bad_blobs_are_refused() {
        let p = params();
        let len = blob_len(5, p.weights.len(), p.biases.len());
        let words = blob(&p);
        let invalid = |layer, problem| Err(Error::InvalidNetwork { layer, problem });
        let edit = |word: usize, value: u32| {
            let mut w = words.clone();
            w[word] = value;
            QuantNetwork::from_bytes(bytes(&w, len)).map(|_| ())
        };
        assert_eq!(edit(0, 0), invalid(None, NetworkProblem::BadMagic));
        assert_eq!(edit(1, 2), invalid(None, NetworkProblem::UnsupportedVersion { found: 2 }));
        assert_eq!(edit(12, 1), invalid(None, NetworkProblem::UnusedFieldSet));
        assert_eq!(edit(16, 9), invalid(Some(0), NetworkProblem::UnknownLayerKind { kind: 9 }));
        assert_eq!(edit(16 + 15, 1), invalid(Some(0), NetworkProblem::UnusedFieldSet));
        assert_eq!(edit(16 + 10, 7), invalid(Some(0), NetworkProblem::UnusedFieldSet)); // activation
        assert_eq!(edit(7, 200), invalid(None, NetworkProblem::BadQuantization));
        assert_eq!(edit(16 + 8, 0), invalid(Some(0), NetworkProblem::BadQuantization)); // scale 0
        assert_eq!(
            QuantNetwork::from_bytes(bytes(&words, len - 1)).map(|_| ()),
            Err(Error::ByteLength { expected: len, found: len - 1 })
        );
        let shifted: &[u8] = bytemuck::cast_slice(&words);
        let mut copy = vec![0u8; len + 1];
        copy[1..].copy_from_slice(&shifted[..len]);
        assert_eq!(
            QuantNetwork::from_bytes(&copy[1..]).map(|_| ()),
            Err(Error::Misaligned { required: 4 })
        );
    }

    proptest! {
        #[test]
        fn corrupted_blobs_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let p = params();
            let len = blob_len(5, p.weights.len(), p.biases.len());
            let mut words = blob(&p);
            let b: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
            for (at, v) in flips {
                b[at % len] = v;
            }
            if let Ok(net) = QuantNetwork::from_bytes(&b[..len])
                && net.input_len() <= 1 << 16
                && net.arena_len() <= 1 << 20
            {
                let x = vec![3i8; net.input_len()];
                let mut arena = vec![0i8; net.arena_len()];
                prop_assert!(net.forward(&x, &mut arena).is_ok());
            }
        }
    }
}
