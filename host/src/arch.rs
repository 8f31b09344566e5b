//! The layer-spec syntax of `nudge train --arch` and of model metadata.
//!
//! Two forms:
//! * **MLP shorthand**, sizes joined by `-`: `784-128-64-10` is a flat input of 784 features,
//!   dense layers of 128, 64 and 10 units, with a ReLU after every dense layer but the last.
//! * **Layer list**, comma-separated, on the data's image shape (`1×28×28` for MNIST):
//!
//! | token | layer |
//! | --- | --- |
//! | `conv8k3` | 8 output channels, 3×3 kernel, stride 1, no padding; append `s2` for stride 2, `p1` for zero padding 1 (`conv16k5s2p2`) |
//! | `maxpool2`, `maxpool3s2` | max pooling, 2×2 window with stride 2; 3×3 with stride 2 |
//! | `avgpool2`, `avgpool3s1` | average pooling, likewise |
//! | `relu` | ReLU |
//! | `flatten` | flatten (added on its own before a dense layer that follows a spatial one) |
//! | `dense10` | dense layer of 10 units |
//!
//! For example `conv8k3,relu,maxpool2,conv16k3,relu,maxpool2,dense10`. [`format_layers`] writes
//! the layer list back, with every layer (flatten included) spelt out, so that parsing it
//! again gives the same network.

use nudge_core::{LayerSpec, Shape, Window};

use crate::error::{Error, Result};

/// A parsed architecture: the input shape it assumes and its layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arch {
    /// Input shape.
    pub input: Shape,
    /// Layers, first to last.
    pub layers: Vec<LayerSpec>,
}

/// Parses `spec` for inputs of shape `image` (the data's). `what` names the source in
/// errors (`--arch`, or a model file's metadata).
pub fn parse(spec: &str, image: Shape, what: &str) -> Result<Arch> {
    let bad = |msg: String| Error::argument(what, msg);
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(bad("is empty".into()));
    }
    if !spec.contains(',') && spec.contains('-') {
        return parse_mlp(spec, image, what);
    }
    let mut layers = Vec::new();
    let mut flat = image.is_flat();
    for token in spec.split(',').map(str::trim) {
        let layer = parse_token(token).ok_or_else(|| {
            bad(format!(
                "`{token}` is not a layer (use convNkK[sS][pP], maxpoolK[sS], avgpoolK[sS], relu, flatten, denseN)"
            ))
        })?;
        match layer {
            LayerSpec::Dense { .. } if !flat => {
                layers.push(LayerSpec::Flatten);
                flat = true;
            }
            LayerSpec::Flatten | LayerSpec::Dense { .. } => flat = true,
            LayerSpec::Conv2d { .. } | LayerSpec::MaxPool2d(_) | LayerSpec::AvgPool2d(_) => {
                flat = false;
            }
            LayerSpec::Relu => {}
        }
        layers.push(layer);
    }
    Ok(Arch { input: image, layers })
}

/// `IN-H1-…-OUT`.
fn parse_mlp(spec: &str, image: Shape, what: &str) -> Result<Arch> {
    let sizes: Vec<usize> = spec
        .split('-')
        .map(|s| s.trim().parse::<usize>().ok().filter(|&n| n > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            Error::argument(what, format!("`{spec}`: an MLP is positive sizes joined by `-`"))
        })?;
    let [input, rest @ ..] = sizes.as_slice() else {
        return Err(Error::argument(what, format!("`{spec}` has no layers")));
    };
    if rest.is_empty() {
        return Err(Error::argument(what, format!("`{spec}` has no layers after the input")));
    }
    if *input != image.len() {
        return Err(Error::argument(
            what,
            format!("`{spec}` takes {input} inputs, but the data's images have {}", image.len()),
        ));
    }
    let mut layers = Vec::new();
    for (i, &n) in rest.iter().enumerate() {
        if i > 0 {
            layers.push(LayerSpec::Relu);
        }
        layers.push(LayerSpec::Dense { outputs: n });
    }
    Ok(Arch { input: Shape::flat(*input), layers })
}

/// One token of the layer list.
fn parse_token(token: &str) -> Option<LayerSpec> {
    match token {
        "relu" => return Some(LayerSpec::Relu),
        "flatten" => return Some(LayerSpec::Flatten),
        _ => {}
    }
    if let Some(n) = token.strip_prefix("dense") {
        return Some(LayerSpec::Dense { outputs: positive(n)? });
    }
    if let Some(rest) = token.strip_prefix("conv") {
        let (channels, rest) = rest.split_once('k')?;
        let (kernel, stride, padding) = kernel_stride_padding(rest)?;
        return Some(LayerSpec::Conv2d {
            out_channels: positive(channels)?,
            window: Window::square(kernel, stride.unwrap_or(1)),
            padding: [padding.unwrap_or(0); 2],
        });
    }
    for (prefix, max) in [("maxpool", true), ("avgpool", false)] {
        if let Some(rest) = token.strip_prefix(prefix) {
            let (kernel, stride, padding) = kernel_stride_padding(rest)?;
            if padding.is_some() {
                return None;
            }
            let window = Window::square(kernel, stride.unwrap_or(kernel));
            return Some(if max {
                LayerSpec::MaxPool2d(window)
            } else {
                LayerSpec::AvgPool2d(window)
            });
        }
    }
    None
}

/// `K[sS][pP]`.
fn kernel_stride_padding(s: &str) -> Option<(usize, Option<usize>, Option<usize>)> {
    let (s, padding) = match s.split_once('p') {
        Some((head, p)) => (head, Some(p.parse().ok()?)),
        None => (s, None),
    };
    let (kernel, stride) = match s.split_once('s') {
        Some((k, st)) => (k, Some(positive(st)?)),
        None => (s, None),
    };
    Some((positive(kernel)?, stride, padding))
}

fn positive(s: &str) -> Option<usize> {
    s.parse::<usize>().ok().filter(|&n| n > 0)
}

/// The layer list of `layers`, every layer spelt out (the inverse of [`parse`]'s list form;
/// a non-square window or padding is written `conv8k3x5s1x2p0x1`, which [`parse`] refuses:
/// such layers come only from imported models).
pub fn format_layers(layers: &[LayerSpec]) -> String {
    let pair =
        |v: [usize; 2]| if v[0] == v[1] { v[0].to_string() } else { format!("{}x{}", v[0], v[1]) };
    layers
        .iter()
        .map(|l| match *l {
            LayerSpec::Dense { outputs } => format!("dense{outputs}"),
            LayerSpec::Conv2d { out_channels, window, padding } => {
                let mut s = format!("conv{out_channels}k{}", pair(window.kernel));
                if window.stride != [1, 1] {
                    s += &format!("s{}", pair(window.stride));
                }
                if padding != [0, 0] {
                    s += &format!("p{}", pair(padding));
                }
                s
            }
            LayerSpec::MaxPool2d(w) | LayerSpec::AvgPool2d(w) => {
                let name = if matches!(l, LayerSpec::MaxPool2d(_)) { "maxpool" } else { "avgpool" };
                let mut s = format!("{name}{}", pair(w.kernel));
                if w.stride != w.kernel {
                    s += &format!("s{}", pair(w.stride));
                }
                s
            }
            LayerSpec::Relu => "relu".into(),
            LayerSpec::Flatten => "flatten".into(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `784-64-10` for an MLP on a flat input (dense layers with a ReLU between each pair),
/// else `None`.
pub fn mlp_shorthand(input: Shape, layers: &[LayerSpec]) -> Option<String> {
    if !input.is_flat() {
        return None;
    }
    let mut sizes = vec![input.len()];
    for (i, l) in layers.iter().enumerate() {
        match (i % 2, l) {
            (0, LayerSpec::Dense { outputs }) => sizes.push(*outputs),
            (1, LayerSpec::Relu) => {}
            _ => return None,
        }
    }
    (layers.len() % 2 == 1)
        .then(|| sizes.iter().map(ToString::to_string).collect::<Vec<_>>().join("-"))
}

/// `C×H×W` as `CxHxW`, a flat shape (`N×1×1`) as `N` (what [`parse_shape`] reads back).
pub fn format_shape(s: Shape) -> String {
    if s.is_flat() {
        return s.channels.to_string();
    }
    format!("{}x{}x{}", s.channels, s.height, s.width)
}

/// `CxHxW` (or a single number for a flat input).
pub fn parse_shape(s: &str) -> Option<Shape> {
    let dims: Vec<usize> = s.split('x').map(positive).collect::<Option<_>>()?;
    match dims.as_slice() {
        [n] => Some(Shape::flat(*n)),
        [c, h, w] => Some(Shape::new(*c, *h, *w)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MNIST: Shape = Shape::new(1, 28, 28);

    #[test]
    fn mlp_shorthand_is_dense_layers_with_relus_between() {
        let a = parse("784-128-64-10", MNIST, "--arch").unwrap();
        assert_eq!(a.input, Shape::flat(784));
        assert_eq!(
            a.layers,
            [
                LayerSpec::Dense { outputs: 128 },
                LayerSpec::Relu,
                LayerSpec::Dense { outputs: 64 },
                LayerSpec::Relu,
                LayerSpec::Dense { outputs: 10 }
            ]
        );
        assert_eq!(mlp_shorthand(a.input, &a.layers).as_deref(), Some("784-128-64-10"));
        let e = parse("96-10", MNIST, "--arch").unwrap_err().to_string();
        assert!(e.starts_with("--arch") && e.contains("784"), "{e}");
        assert!(parse("784-0-10", MNIST, "--arch").is_err());
        assert!(parse("784", MNIST, "--arch").is_err());
    }

    #[test]
    fn layer_lists_round_trip_and_gain_a_flatten() {
        let a =
            parse("conv8k3,relu,maxpool2,conv16k5s2p2,relu,avgpool3s1,dense10", MNIST, "--arch")
                .unwrap();
        assert_eq!(a.layers.len(), 8);
        assert_eq!(a.layers[6], LayerSpec::Flatten);
        assert_eq!(
            a.layers[3],
            LayerSpec::Conv2d { out_channels: 16, window: Window::square(5, 2), padding: [2, 2] }
        );
        let text = format_layers(&a.layers);
        assert_eq!(text, "conv8k3,relu,maxpool2,conv16k5s2p2,relu,avgpool3s1,flatten,dense10");
        assert_eq!(parse(&text, MNIST, "--arch").unwrap(), a);
        assert_eq!(mlp_shorthand(a.input, &a.layers), None);
        for bad in ["conv8", "convk3", "dense", "maxpool2p1", "pool2", "relu,,dense10", "dense-3"] {
            let e = parse(bad, MNIST, "--arch").unwrap_err().to_string();
            assert!(e.starts_with("--arch"), "{bad}: {e}");
        }
    }

    #[test]
    fn shapes_round_trip() {
        assert_eq!(parse_shape(&format_shape(MNIST)), Some(MNIST));
        assert_eq!(parse_shape("784"), Some(Shape::flat(784)));
        assert_eq!(parse_shape("1x0x3"), None);
    }
}
