//! Build script: picks the board's `memory.x` with the RAM budget, adds the link arguments,
//! and bakes the model and the sample digits into flash.
//!
//! * Model: `../models/mnist-mlp-h64.safetensors` (or `$NUDGE_MODEL`): any nudge model file,
//!   any input size and class count, read and checked by nudge-host's own reader. A D-H-K
//!   MLP runs on the fused `Mlp` kernel (`model.bin` = its parameters, `HIDDEN`); any other
//!   network on the layer kernel (`model.bin` = the network blob, `Network::from_bytes`;
//!   `ARENA`, and cfg `nudge_network`). A full-integer int8 TFLite file or an int8 network
//!   blob (`NDGQ`) runs on the int8 kernel (`model.bin` = the `NDGQ` blob,
//!   `QuantNetwork::from_bytes`; `ARENA` in int8, and cfg `nudge_int8`): the firmware then
//!   classifies the sample inputs instead of attacking them. `$OUT_DIR/model.rs` also has `ARCH`, the sizes
//!   (`INPUT`, `CLASSES`, `ART_HEIGHT`, `ART_WIDTH`) and `TARGETS_PER_DIGIT`
//!   (`$NUDGE_TARGETS`, default all other classes).
//! * RAM budget: 24 KiB (or `$NUDGE_RAM_KIB`, up to the board's RAM). A network whose arena
//!   and attack buffers do not fit fails the build with the numbers; the linker then proves
//!   the budget for statics and flip-link for the stack.
//! * Digits: `assets/digits.f32` (or `$NUDGE_DIGITS`): one input per class of the model
//!   (`CLASSES` x `INPUT` little-endian f32 in [0, 1], input k of class k), as
//!   `nudge samples` writes them. Copied to `$OUT_DIR/digits.bin`.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process,
};

use nudge_core::{LayerSpec, network::format, quant::QuantNetwork};
use nudge_host::model::ModelFile;

/// The RAM budget (statics + stack) unless `NUDGE_RAM_KIB` says otherwise.
const DEFAULT_RAM_KIB: usize = 24;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    println!("cargo:rerun-if-env-changed=NUDGE_RAM_KIB");
    let board = board();
    let ram_kib = match env::var("NUDGE_RAM_KIB") {
        Err(_) => DEFAULT_RAM_KIB,
        Ok(v) => match v.parse::<usize>() {
            Ok(k) if (1..=board.ram_kib).contains(&k) => k,
            _ => fail(&format!(
                "NUDGE_RAM_KIB={v}: expected a whole number of KiB from 1 to {} (the {} board's RAM)",
                board.ram_kib, board.feature
            )),
        },
    };
    link(&manifest, &out, &board, ram_kib);

    println!("cargo:rerun-if-env-changed=NUDGE_MODEL");
    let model = env::var_os("NUDGE_MODEL")
        .map_or_else(|| manifest.join("../models/mnist-mlp-h64.safetensors"), PathBuf::from);
    println!("cargo:rerun-if-changed={}", model.display());
    // An ONNX model's weights may live in external data files beside it.
    if let Ok(bytes) = std::fs::read(&model) {
        for file in nudge_host::onnx::external_data_files(&bytes, &model) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
    let (kernel, sizes, arch) = convert_model(&model, &out)
        .and_then(|(kernel, sizes, arch)| match kernel {
            Kernel::Network { arena } => {
                let need =
                    Need { arena_bytes: arena * 4, arena_what: "f32", run: run_bytes(&sizes) };
                check_budget(arena, &need, ram_kib, board.ram_kib).map(|()| (kernel, sizes, arch))
            }
            Kernel::Int8 { arena, channels } => {
                // The int8 run needs its arena, its multiplier table (8 bytes a channel) and
                // one quantized input (the benchmark's); the inputs stay in flash.
                let run = 8 * channels + sizes.input;
                let need = Need { arena_bytes: arena, arena_what: "int8", run };
                check_budget(arena, &need, ram_kib, board.ram_kib).map(|()| (kernel, sizes, arch))
            }
            Kernel::Mlp { .. } => Ok((kernel, sizes, arch)),
        })
        .unwrap_or_else(|e| fail(&format!("model {}: {e}", model.display())));
    let Sizes { input, classes, height, width } = sizes;

    println!("cargo:rerun-if-env-changed=NUDGE_DIGITS");
    let digits = env::var_os("NUDGE_DIGITS")
        .map_or_else(|| manifest.join("assets/digits.f32"), PathBuf::from);
    println!("cargo:rerun-if-changed={}", digits.display());
    copy_digits(&digits, &sizes, &out)
        .unwrap_or_else(|e| fail(&format!("digits {}: {e}", digits.display())));

    println!("cargo:rerun-if-env-changed=NUDGE_TARGETS");
    let targets = match env::var("NUDGE_TARGETS") {
        Err(_) => classes - 1,
        Ok(v) => v.parse().ok().filter(|t| (1..classes).contains(t)).unwrap_or_else(|| {
            fail(&format!(
                "NUDGE_TARGETS={v}: expected a number of target classes from 1 to {}",
                classes - 1
            ))
        }),
    };

    println!("cargo::rustc-check-cfg=cfg(nudge_network)");
    println!("cargo::rustc-check-cfg=cfg(nudge_int8)");
    let file = model.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let kernel_items = match kernel {
        Kernel::Mlp { hidden } => {
            format!("/// Hidden width of the baked-in MLP.\npub const HIDDEN: usize = {hidden};\n")
        }
        Kernel::Network { arena } => {
            println!("cargo:rustc-cfg=nudge_network");
            format!(
                "/// The baked-in network's arena, in f32.\npub const ARENA: usize = {arena};\n"
            )
        }
        Kernel::Int8 { arena, channels } => {
            println!("cargo:rustc-cfg=nudge_int8");
            format!(
                "/// The baked-in int8 network's arena, in int8.\npub const ARENA: usize = {arena};\n\
                 /// Output channels of its dense and convolution layers (its multiplier table).\n\
                 pub const CHANNELS: usize = {channels};\n"
            )
        }
    };
    fs::write(
        out.join("model.rs"),
        format!(
            "// From `{file}` by build.rs.\n{kernel_items}\
             /// The baked-in model's layers.\npub const ARCH: &str = {arch:?};\n\
             /// Values per input (the model's input size).\npub const INPUT: usize = {input};\n\
             /// Classes of the model (one sample input each).\npub const CLASSES: usize = {classes};\n\
             /// Rows and columns of an input's first channel, as drawn.\n\
             pub const ART_HEIGHT: usize = {height};\npub const ART_WIDTH: usize = {width};\n\
             /// Target classes attacked per sample input (`NUDGE_TARGETS`, default all others).\n\
             pub const TARGETS_PER_DIGIT: usize = {targets};\n"
        ),
    )
    .expect("write model.rs");
}

/// Prints `msg` as a build error and stops the build.
fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    println!("cargo::error={msg}");
    process::exit(1);
}

/// A board feature and its memory.
struct Board {
    /// The cargo feature.
    feature: &'static str,
    /// Its `memory/*.x` template.
    memory: &'static str,
    /// RAM the chip has at 0x2000_0000 (the most `NUDGE_RAM_KIB` may ask for).
    ram_kib: usize,
}

/// The one selected board (exactly one board feature must be on).
fn board() -> Board {
    let boards = [
        Board { feature: "qemu", memory: "mps2-an386.x", ram_kib: 4096 },
        Board { feature: "netduinoplus2", memory: "stm32f4.x", ram_kib: 128 },
        Board { feature: "stm32f407-disco", memory: "stm32f4.x", ram_kib: 128 },
    ];
    let mut selected: Vec<Board> = boards
        .into_iter()
        .filter(|b| {
            let var = format!("CARGO_FEATURE_{}", b.feature.to_uppercase().replace('-', "_"));
            env::var_os(var).is_some()
        })
        .collect();
    if selected.len() != 1 {
        let names: Vec<_> = selected.iter().map(|b| b.feature).collect();
        fail(&format!(
            "select exactly one board feature (qemu, netduinoplus2, stm32f407-disco); got {names:?}. \
             For a non-default board use `--no-default-features --features BOARD`."
        ));
    }
    selected.remove(0)
}

/// Writes the board's `memory.x` with RAM capped at `ram_kib` (so the linker proves the
/// budget: statics past it fail the link), puts it on the linker's search path and adds the
/// link scripts (only for the ARM target, so a host `cargo check` of the build script is
/// unaffected).
fn link(manifest: &Path, out: &Path, board: &Board, ram_kib: usize) {
    let src = manifest.join("memory").join(board.memory);
    println!("cargo:rerun-if-changed={}", src.display());
    let template = fs::read_to_string(&src).expect("read memory.x");
    let budget_line = format!("LENGTH = {DEFAULT_RAM_KIB}K");
    assert!(template.contains(&budget_line), "{} has no `{budget_line}`", src.display());
    let memory = template.replace(&budget_line, &format!("LENGTH = {ram_kib}K"));
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());

    if env::var("TARGET").is_ok_and(|t| t.starts_with("thumb")) {
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}

/// The baked-in model as the firmware runs it.
enum Kernel {
    /// A one-hidden-layer MLP (D-H-K) on nudge-core's fused `Mlp` kernel.
    Mlp { hidden: usize },
    /// Any other network on the layer kernel, with an arena of `arena` f32.
    Network { arena: usize },
    /// An int8 network (`QuantNetwork`), with an arena of `arena` int8 and `channels` output
    /// channels (its multiplier table).
    Int8 { arena: usize, channels: usize },
}

/// The model's sizes, which size the firmware's buffers.
#[derive(Clone, Copy)]
struct Sizes {
    /// Values per input.
    input: usize,
    /// Classes.
    classes: usize,
    /// Rows and columns of an input's first channel (a flat input of a square number of
    /// values, such as MNIST's 784, is drawn as a square).
    height: usize,
    width: usize,
}

/// Reads the model file, writes `model.bin` (the kernel's blob) and returns how the
/// firmware runs it, its sizes and its layers (for the boot line).
fn convert_model(path: &Path, out: &Path) -> Result<(Kernel, Sizes, String), String> {
    if !path.exists() {
        return Err("cannot read it (no such file). Train and export one with \
             `cargo run --release -p nudge-host -- train --out models/mnist-mlp-h64.safetensors` \
             from the repository root, or point NUDGE_MODEL at a nudge model file"
            .to_string());
    }
    let bytes = fs::read(path).map_err(|e| format!("cannot read it ({e})"))?;
    if bytes.starts_with(&nudge_core::quant::format::MAGIC) {
        // An int8 network blob as `Int8Model::to_bytes` writes it: baked as it is.
        let network = QuantNetwork::from_bytes(&bytes).map_err(|e| e.to_string())?;
        return int8_model(&network, &bytes, out);
    }
    if nudge_host::tflite::int8::is_int8(&bytes) {
        // A full-integer TFLite file: the importer `nudge eval` uses, then its NDGQ blob.
        let model = nudge_host::tflite::int8::read(&bytes, path)
            .map_err(|e| strip_path(&e.to_string(), path))?;
        let blob = model.to_bytes().map_err(|e| e.to_string())?;
        let network = QuantNetwork::from_bytes(&blob).map_err(|e| e.to_string())?;
        return int8_model(&network, &blob, out);
    }
    // nudge's own reader: every check `nudge eval` makes (names, shapes, dtypes, finite
    // values, the layer chain), and the same layer order as the host.
    let file = ModelFile::load(path).map_err(|e| strip_path(&e.to_string(), path))?;
    let model = &file.model;
    let network = model.network().map_err(|e| strip_path(&e.to_string(), path))?;
    let (input, classes) = (network.input_len(), network.classes());
    if classes < 2 {
        return Err(format!("the network gives {classes} class; attacks need at least 2"));
    }
    let shape = model.input();
    let side = input.isqrt();
    let (height, width) = match (shape.is_flat(), side * side == input) {
        (false, _) => (shape.height, shape.width),
        (true, true) => (side, side),
        (true, false) => (1, input),
    };
    let sizes = Sizes { input, classes, height, width };
    let params: &[u8] = bytemuck::cast_slice(model.params());
    let (kernel, blob) = match model.layers() {
        // A D-H-K MLP, also behind a Flatten (an `nn.Flatten()` first, as ONNX exports it):
        // the same parameters, on the fused kernel.
        [LayerSpec::Dense { outputs }, LayerSpec::Relu, LayerSpec::Dense { .. }]
            if model.input().is_flat() =>
        {
            (Kernel::Mlp { hidden: *outputs }, params.to_vec())
        }
        [
            LayerSpec::Flatten,
            LayerSpec::Dense { outputs },
            LayerSpec::Relu,
            LayerSpec::Dense { .. },
        ] => {
            // Mlp's blob: fc1.weight, fc1.bias, fc2.weight, fc2.bias, row-major.
            (Kernel::Mlp { hidden: *outputs }, params.to_vec())
        }
        _ => {
            let mut blob = vec![0u8; format::header_len(network.layers().len())];
            format::write_header(&network, &mut blob).map_err(|e| e.to_string())?;
            blob.extend_from_slice(params);
            (Kernel::Network { arena: network.arena_len() }, blob)
        }
    };
    fs::write(out.join("model.bin"), &blob).map_err(|e| format!("write model.bin: {e}"))?;
    Ok((kernel, sizes, model.arch()))
}

/// Writes an int8 network's blob as `model.bin`; returns how the firmware runs it.
fn int8_model(
    network: &QuantNetwork<'_>,
    blob: &[u8],
    out: &Path,
) -> Result<(Kernel, Sizes, String), String> {
    let (input, classes) = (network.input_len(), network.classes());
    let shape = network.input_shape();
    let side = input.isqrt();
    let (height, width) = match (shape.is_flat(), side * side == input) {
        (false, _) => (shape.height, shape.width),
        (true, true) => (side, side),
        (true, false) => (1, input),
    };
    let specs: Vec<_> = network.layers().iter().map(|l| l.spec).collect();
    let arch = nudge_host::tflite::int8::format_layers(&specs);
    fs::write(out.join("model.bin"), blob).map_err(|e| format!("write model.bin: {e}"))?;
    let kernel = Kernel::Int8 { arena: network.arena_len(), channels: network.channels() };
    Ok((kernel, Sizes { input, classes, height, width }, arch))
}

/// `message` without a leading `path: ` (the caller names the file once).
fn strip_path(message: &str, path: &Path) -> String {
    let prefix = format!("{}: ", path.display());
    message.strip_prefix(&prefix).unwrap_or(message).to_string()
}

/// Bytes of RAM the run needs besides the model's arena: the gradient and the adversarial
/// input (f32 each), the picture's shade levels and the logit gradient.
fn run_bytes(sizes: &Sizes) -> usize {
    2 * sizes.input * 4 + sizes.input + sizes.classes * 4
}
/// Stack reserve checked by the budget (flip-link gives the stack all RAM below statics).
/// Measured: the committed CNN's run peaks at 16,320 bytes, reached at start-up while the
/// network view (3.2 KB: 32 layer slots, whatever the network) is checked and copied, so
/// the reserve does not depend on the network.
const STACK_RESERVE: usize = 18 * 1024;

/// What a network's run needs in RAM besides the stack.
#[derive(Clone, Copy)]
struct Need {
    /// Bytes of the arena.
    arena_bytes: usize,
    /// The arena's element type, for the message (`f32`, `int8`).
    arena_what: &'static str,
    /// Bytes of the run's other buffers.
    run: usize,
}

/// Fails the build unless a network's arena fits the RAM budget, with the numbers.
fn check_budget(arena: usize, need: &Need, ram_kib: usize, board_kib: usize) -> Result<(), String> {
    let Need { arena_bytes, arena_what, run } = *need;
    let need = arena_bytes + run + STACK_RESERVE;
    let budget = ram_kib * 1024;
    if need <= budget {
        return Ok(());
    }
    let hint = if need <= board_kib * 1024 {
        format!(
            "this board has {board_kib} KiB: build with NUDGE_RAM_KIB={} to allow it, or",
            need.div_ceil(1024)
        )
    } else {
        format!("this board has only {board_kib} KiB:")
    };
    Err(format!(
        "the network needs {need} bytes of RAM ({arena} {arena_what} of arena = {arena_bytes} bytes, \
         {run} bytes of run buffers, {STACK_RESERVE} bytes of stack reserve), over the \
         {ram_kib} KiB budget by {} bytes; {hint} choose a network with smaller activations \
         (strided convolutions or pooling early)",
        need - budget
    ))
}

/// Checks and copies the sample inputs: one per class, of the model's input size.
fn copy_digits(path: &Path, sizes: &Sizes, out: &Path) -> Result<(), String> {
    let Sizes { input, classes, .. } = *sizes;
    let bytes = fs::read(path).map_err(|e| {
        format!(
            "cannot read it ({e}). Write the sample digits with \
             `mkdir -p firmware/assets && cargo run --release -p nudge-host -- samples --out firmware/assets` \
             from the repository root (or point NUDGE_DIGITS at such a file)"
        )
    })?;
    let want = classes * input * 4;
    if bytes.len() != want {
        return Err(format!(
            "has {} bytes, expected {want} ({classes} inputs x {input} little-endian f32, one per \
             class of the model: `nudge samples --model M` writes them)",
            bytes.len()
        ));
    }
    for (k, chunk) in bytes.chunks_exact(4).enumerate() {
        let v = f32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        if !(0.0..=1.0).contains(&v) {
            return Err(format!(
                "value {} of input {} is {v}, expected a value in [0, 1]",
                k % input,
                k / input
            ));
        }
    }
    fs::write(out.join("digits.bin"), &bytes).map_err(|e| format!("write digits.bin: {e}"))?;
    Ok(())
}
