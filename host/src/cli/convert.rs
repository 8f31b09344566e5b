//! `nudge convert`: a model as nudge's own file (its layers in the metadata), which every
//! command and the firmware build take — from a nudge file, an `fc1…fcN` MLP, or a plain
//! PyTorch checkpoint whose layers `--arch` states.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use nudge_core::Shape;
use nudge_host::model::{INPUT_KEY, LAYERS_KEY, ModelFile};
use nudge_host::{arch, checkpoint, fsutil, safetensors};

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The model to convert: safetensors, ONNX or float32 TFLite (found by content).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// The layers, for a checkpoint without nudge's metadata (`nn.Sequential`'s
    /// `state_dict()`): e.g. `conv8k3,relu,maxpool2,conv16k3,relu,maxpool2,dense10`; the
    /// syntax of `nudge train --arch`. The weights are matched to the layers by name and
    /// shape, and the mapping is printed.
    #[arg(long, value_name = "SPEC")]
    arch: Option<String>,
    /// The input shape the layers take, `CxHxW` (or a feature count), with --arch.
    #[arg(long, value_name = "CxHxW", default_value = "1x28x28")]
    input: String,
    /// Where to write nudge's model file.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(a: &ConvertArgs) -> anyhow::Result<()> {
    fsutil::check_writable(&a.out, a.force)?;
    let (model, tensors, mut metadata) = match &a.arch {
        None => {
            let (file, names) = ModelFile::parse_with_sources(&fsutil::read(&a.model)?, &a.model)?;
            (file.model, names, file.metadata)
        }
        Some(spec) => {
            let Some(input) = arch::parse_shape(&a.input) else {
                bail!("--input: `{}` is not CxHxW or a feature count", a.input);
            };
            let arch = arch::parse(spec, input, "--arch")?;
            let st = safetensors::parse(&fsutil::read(&a.model)?, &a.model)?;
            if st.metadata.contains_key(LAYERS_KEY) || st.metadata.contains_key(INPUT_KEY) {
                bail!(
                    "{}: the file states its layers already ({LAYERS_KEY}); convert it without --arch",
                    a.model.display()
                );
            }
            let matched = checkpoint::read(&st, &a.model, arch.input, arch.layers)?;
            (matched.model, matched.tensors, st.metadata)
        }
    };
    print_layers(&model, &tensors)?;
    metadata.insert("arch".into(), model.arch());
    metadata.insert("converted_from".into(), a.model.display().to_string());
    metadata.insert("nudge_version".into(), nudge_host::VERSION.into());
    let file = ModelFile { model, metadata };
    file.save(&a.out, a.force)?;
    println!(
        "wrote {} ({} parameters, input {}): try `nudge eval --model {}`",
        a.out.display(),
        file.model.params().len(),
        arch::format_shape(file.model.input()),
        a.out.display()
    );
    Ok(())
}

/// The layer table: index, layer, output shape, parameters, and the tensors they came from.
fn print_layers(model: &nudge_host::model::Model, tensors: &[String]) -> anyhow::Result<()> {
    let network = model.network()?;
    println!("{:>3}  {:<14} {:<10} {:>10}  tensors", "#", "layer", "output", "parameters");
    let mut names = tensors.iter();
    for (i, layer) in network.layers().iter().enumerate() {
        let from: Vec<&str> = if layer.param_count() > 0 {
            names.by_ref().take(2).map(String::as_str).collect()
        } else {
            Vec::new()
        };
        println!(
            "{i:>3}  {:<14} {:<10} {:>10}  {}",
            arch::format_layers(&[layer.spec]),
            shape(layer.output),
            layer.param_count(),
            from.join(", ")
        );
    }
    Ok(())
}

fn shape(s: Shape) -> String {
    if s.is_flat() { s.len().to_string() } else { arch::format_shape(s) }
}
