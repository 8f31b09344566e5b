//! Host/device agreement: the firmware's attacks under QEMU give the same bits as nudge-core
//! on the host.
//!
//! The test builds the firmware (`cargo build --release` in `firmware/`, its own target dir,
//! so repeats are fast), runs it under QEMU `mps2-an386` with `firmware/run-qemu.sh`
//! (QEMU piped into defmt-print), parses every `attack …` line and recomputes the same attack
//! with nudge-core from the same model blob and digits. Iterations, success, final class,
//! the target probabilities, the norms and the FNV-1a hash of the adversarial image must
//! match exactly: both sides round IEEE f32 the same way and nudge-core fixes the summation
//! order, so there is no tolerance.
//!
//! The runs: the model `models/mnist-mlp-h64.safetensors` (or `$NUDGE_MODEL`) on its kernel
//! (the fused `Mlp` for a 784-H-10 MLP, the layer kernel otherwise), and the committed CNN
//! `models/mnist-cnn.safetensors` on the layer kernel (with the RAM budget it needs, and two
//! targets per digit to keep QEMU's time short; over the default 24 KiB it must fail to
//! build, with the numbers); and a CNN of another input shape and class count, trained by
//! the CLI on `.npy` data, within the default budget; and imported files as they are: the
//! ONNX MLP fixture, and the Keras TFLite MLP and CNN fixtures; and the full-integer int8
//! TFLite fixtures, which the firmware classifies with its int8 kernel (every int8 logit
//! equal to the host `QuantNetwork`'s). Digits:
//! `firmware/assets/digits.f32` (or `$NUDGE_DIGITS`), or `nudge samples`' for the third.
//! Each run has its own target directory, so repeats are fast. Tools: `qemu-system-arm`,
//! `defmt-print`, `flip-link` and the `thumbv7em-none-eabihf` target; a missing one fails
//! the test with its install command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use nudge_core::attack::AttackScratch;
use nudge_core::network::format;
use nudge_core::{
    Attack, AttackReport, Classifier, EarlyStop, Goal, GradientAscent, LayerSpec, Mlp, Network,
    PgdLinf,
};
use nudge_host::model::ModelFile;

/// MNIST's sizes, for which the host check of a fused `Mlp` is compiled.
const INPUT: usize = 28 * 28;
const CLASSES: usize = 10;
/// The firmware's target.
const TARGET: &str = "thumbv7em-none-eabihf";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `NAME` from the environment, else `default` under the repository root.
fn input_path(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name).map_or_else(|| repo().join(default), PathBuf::from)
}

/// Fails with the install command of the first missing tool.
fn require_tools() {
    let tools: [(&str, &[&str], &str); 3] = [
        ("qemu-system-arm", &["--version"], "apt-get update && apt-get install -y qemu-system-arm"),
        ("defmt-print", &["--version"], "cargo install --locked defmt-print"),
        ("flip-link", &["--version"], "cargo install --locked flip-link"),
    ];
    for (tool, args, install) in tools {
        let found = Command::new(tool).args(args).output().is_ok();
        assert!(found, "{tool} is not installed; install it with: {install}");
    }
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(repo().join("firmware"))
        .output()
        .expect("rustc runs");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    assert!(
        sysroot.join("lib/rustlib").join(TARGET).is_dir(),
        "the Rust target {TARGET} is not installed; install it with: rustup target add {TARGET}"
    );
}

/// One firmware build: its inputs and settings.
struct Build<'a> {
    model: &'a Path,
    digits: &'a Path,
    /// `NUDGE_RAM_KIB`, if set.
    ram_kib: Option<usize>,
    /// `NUDGE_TARGETS`, if set.
    targets: Option<usize>,
    /// Cargo's target directory, under `firmware/target`.
    target_dir: &'a str,
}

impl Build<'_> {
    /// Runs `cargo build --release` in `firmware/`; returns its output.
    fn run(&self) -> std::process::Output {
        let dir = repo().join("firmware");
        let mut cmd = Command::new("cargo");
        cmd.args(["build", "--release"]).current_dir(&dir);
        // The outer `cargo test` exports its own settings; the firmware is a separate build.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if (key.starts_with("CARGO_") && key != "CARGO_HOME")
                || key.starts_with("RUSTC")
                || key.starts_with("RUSTDOC")
                || key == "RUSTFLAGS"
                || key.starts_with("NUDGE_")
            {
                cmd.env_remove(key);
            }
        }
        cmd.env("NUDGE_MODEL", self.model).env("NUDGE_DIGITS", self.digits);
        // Made here, not by cargo: the two agreement tests run at once, and two cargos that
        // both create a missing `firmware/target` race (one failed with "No such file or
        // directory" for its own target directory on a clean clone).
        let target = dir.join(self.target_dir);
        if let Err(e) = std::fs::create_dir_all(&target) {
            panic!("cannot create {}: {e}", target.display());
        }
        cmd.env("CARGO_TARGET_DIR", target);
        if let Some(kib) = self.ram_kib {
            cmd.env("NUDGE_RAM_KIB", kib.to_string());
        }
        if let Some(targets) = self.targets {
            cmd.env("NUDGE_TARGETS", targets.to_string());
        }
        cmd.output().expect("cargo runs")
    }

    /// Builds the release firmware for QEMU; returns the ELF's path.
    fn elf(&self) -> PathBuf {
        let out = self.run();
        assert!(
            out.status.success(),
            "firmware build failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        repo().join("firmware").join(self.target_dir).join(TARGET).join("release/nudge-firmware")
    }
}

/// Runs the firmware under QEMU; returns the decoded log.
fn run_firmware(elf: &Path) -> String {
    let out = Command::new("bash")
        .arg(repo().join("firmware/run-qemu.sh"))
        .arg(elf)
        .env("QEMU_MACHINE", "mps2-an386")
        .output()
        .expect("bash runs");
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "firmware exited with {}\n--- log ---\n{log}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    log
}

/// One `key=value …` log line after its first word.
#[derive(Debug)]
struct Line(HashMap<String, String>);

impl Line {
    fn parse(rest: &str) -> Self {
        Line(
            rest.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    fn str(&self, key: &str) -> &str {
        self.0.get(key).unwrap_or_else(|| panic!("log line {self:?} has no `{key}`"))
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> T {
        let v = self.str(key);
        v.parse().unwrap_or_else(|_| panic!("`{key}={v}` does not parse"))
    }

    fn hex(&self, key: &str) -> u64 {
        let v = self.str(key);
        u64::from_str_radix(v.trim_start_matches("0x"), 16)
            .unwrap_or_else(|_| panic!("`{key}={v}` is not hex"))
    }
}

/// The parsed firmware log: lines grouped by their first word.
struct Log(HashMap<String, Vec<Line>>);

impl Log {
    fn parse(text: &str) -> Self {
        let mut map: HashMap<String, Vec<Line>> = HashMap::new();
        for raw in text.lines() {
            if let Some((word, rest)) = raw.trim().split_once(' ') {
                map.entry(word.to_owned()).or_default().push(Line::parse(rest));
            }
        }
        Log(map)
    }

    fn all(&self, word: &str) -> &[Line] {
        self.0.get(word).map_or(&[], Vec::as_slice)
    }

    fn one(&self, word: &str) -> &Line {
        match self.all(word) {
            [line] => line,
            lines => panic!("expected one `{word}` line, found {}", lines.len()),
        }
    }

    fn config(&self, method: &str) -> &Line {
        self.all("config")
            .iter()
            .find(|l| l.str("method") == method)
            .unwrap_or_else(|| panic!("no `config method={method}` line"))
    }
}

/// FNV-1a 64 over bytes.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes
        .into_iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The model as the firmware's build script bakes it: the blob, and whether it runs on the
/// fused `Mlp` kernel (a 784-H-10 MLP: the blob is its parameters) or the layer kernel (the
/// blob is the network's header and parameters).
fn model_blob(path: &Path) -> (Vec<u8>, bool) {
    let file = ModelFile::load(path).unwrap_or_else(|e| panic!("{e}"));
    let model = &file.model;
    let params = model.params().iter().flat_map(|v| v.to_le_bytes());
    let layers = match model.layers() {
        [LayerSpec::Flatten, rest @ ..] => rest,
        all => all,
    };
    if matches!(layers, [LayerSpec::Dense { .. }, LayerSpec::Relu, LayerSpec::Dense { .. }]) {
        return (params.collect(), true);
    }
    let network = model.network().expect("network");
    let mut blob = vec![0u8; format::header_len(network.layers().len())];
    format::write_header(&network, &mut blob).expect("header");
    blob.extend(params);
    (blob, false)
}

/// The sample inputs: `classes` of `input` values each.
fn read_digits(path: &Path, input: usize, classes: usize) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write the sample digits with `mkdir -p firmware/assets && cargo run \
             --release -p nudge-host -- samples --out firmware/assets` from the repository root",
            path.display()
        )
    });
    assert_eq!(bytes.len(), classes * input * 4, "{}: size", path.display());
    let floats: Vec<f32> =
        bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    floats.chunks_exact(input).map(<[f32]>::to_vec).collect()
}

/// Recomputes every attack line with nudge-core on `model`; returns how many.
fn check<M: Classifier<OUT>, const OUT: usize>(model: &M, digits: &[Vec<f32>], log: &Log) -> usize {
    let g = log.config("gradient");
    let gradient = GradientAscent {
        early_stop: EarlyStop::Confidence(g.num("stop_p")),
        ..GradientAscent::new(g.num("step"), g.num("iters"))
    };
    let p = log.config("pgd_linf");
    let pgd = PgdLinf::new(p.num("eps"), p.num("alpha"), p.num("iters"));
    let every: usize = p.num("every");

    let attacks = log.all("attack");
    let pairs = model.classes() * g.num::<usize>("targets");
    let expected = pairs + pairs.div_ceil(every);
    assert_eq!(attacks.len(), expected, "number of attack lines");

    let mut scratch = AttackScratch::<_, Vec<f32>>::for_model(model);
    let mut adversarial = vec![0.0f32; model.input_len()];
    for line in attacks {
        let (method, src, tgt) =
            (line.str("method"), line.num::<usize>("src"), line.num::<usize>("tgt"));
        let goal = Goal::targeted(src, tgt);
        let image = &digits[src];
        let report: AttackReport = match method {
            "gradient" => gradient.run(model, image, goal, &mut adversarial, &mut scratch, &mut ()),
            "pgd_linf" => pgd.run(model, image, goal, &mut adversarial, &mut scratch, &mut ()),
            other => panic!("unknown method {other}"),
        }
        .unwrap_or_else(|e| panic!("{method} {src}->{tgt} failed on the host: {e}"));
        let what = format!("{method} src={src} tgt={tgt}");
        assert_eq!(line.num::<u8>("ok"), u8::from(report.success), "{what}: success");
        assert_eq!(line.num::<u32>("iters"), report.iterations, "{what}: iterations");
        assert_eq!(line.num::<usize>("cls"), report.final_class, "{what}: final class");
        assert_eq!(line.num::<u32>("l0"), report.l0, "{what}: L0");
        for (key, host) in [
            ("p0", report.initial_watched_probability),
            ("p1", report.final_watched_probability),
            ("linf", report.linf),
            ("l2", report.l2),
        ] {
            let device: f32 = line.num(key);
            assert_eq!(
                device.to_bits(),
                host.to_bits(),
                "{what}: {key} device {device} host {host}"
            );
        }
        let (device, host) =
            (line.hex("hash"), fnv1a(adversarial.iter().flat_map(|v| v.to_le_bytes())));
        assert!(
            device == host,
            "{what}: adversarial image hash device {device:#018x} host {host:#018x}"
        );
    }
    attacks.len()
}

/// Builds, runs and checks one firmware; returns the number of attacks checked and the
/// log.
fn agree(build: &Build<'_>) -> (usize, Log) {
    let (blob, mlp) = model_blob(build.model);
    let file = ModelFile::load(build.model).unwrap_or_else(|e| panic!("{e}"));
    let network = file.model.network().expect("network");
    let (input, classes) = (network.input_len(), network.classes());
    let digits = read_digits(build.digits, input, classes);

    let text = run_firmware(&build.elf());
    let log = Log::parse(&text);

    let boot = log.one("boot");
    assert_eq!(boot.hex("model_fnv"), fnv1a(blob.iter().copied()), "model blob differs");
    let digit_bytes = digits.iter().flatten().flat_map(|v| v.to_le_bytes());
    assert_eq!(boot.hex("digits_fnv"), fnv1a(digit_bytes), "digits differ from the host's");
    assert!(text.lines().any(|l| l.trim() == "verdict ok"), "no `verdict ok`:\n{text}");
    assert_eq!(boot.str("kernel"), if mlp { "mlp" } else { "network" }, "kernel");

    let floats: Vec<f32> =
        blob.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    let checked = if mlp && (input, classes) == (INPUT, CLASSES) {
        let hidden: usize = boot.num("hidden");
        match hidden {
            16 => check(&Mlp::<INPUT, 16, CLASSES>::from_slice(&floats).unwrap(), &digits, &log),
            32 => check(&Mlp::<INPUT, 32, CLASSES>::from_slice(&floats).unwrap(), &digits, &log),
            64 => check(&Mlp::<INPUT, 64, CLASSES>::from_slice(&floats).unwrap(), &digits, &log),
            128 => check(&Mlp::<INPUT, 128, CLASSES>::from_slice(&floats).unwrap(), &digits, &log),
            256 => check(&Mlp::<INPUT, 256, CLASSES>::from_slice(&floats).unwrap(), &digits, &log),
            h => panic!("no host check compiled for hidden width {h}"),
        }
    } else if mlp {
        // Another MLP: the layer kernel gives the fused kernel's bits (nudge-core's tests).
        check(&network.classifier::<Vec<f32>, 256>().expect("classifier"), &digits, &log)
    } else {
        let network = Network::from_bytes(&blob).expect("network blob");
        assert_eq!(boot.num::<usize>("arena"), network.arena_len(), "arena");
        let classifier = network.classifier::<Vec<f32>, 256>().expect("classifier");
        check(&classifier, &digits, &log)
    };
    (checked, log)
}

#[test]
fn firmware_attacks_match_the_host_bit_for_bit() {
    require_tools();
    let model = input_path("NUDGE_MODEL", "models/mnist-mlp-h64.safetensors");
    let digits = input_path("NUDGE_DIGITS", "firmware/assets/digits.f32");
    let build = Build {
        model: &model,
        digits: &digits,
        ram_kib: std::env::var("NUDGE_RAM_KIB").ok().map(|v| v.parse().expect("NUDGE_RAM_KIB")),
        targets: None,
        target_dir: "target",
    };
    let (checked, log) = agree(&build);
    println!("{checked} attacks agree bit for bit ({})", log.one("boot").str("arch"));
}

#[test]
fn the_committed_cnn_runs_on_the_firmware_bit_for_bit_and_its_budget_is_checked() {
    require_tools();
    let model = repo().join("models/mnist-cnn.safetensors");
    let digits = input_path("NUDGE_DIGITS", "firmware/assets/digits.f32");
    let mut build = Build {
        model: &model,
        digits: &digits,
        ram_kib: None,
        targets: Some(2),
        target_dir: "target/agreement-cnn",
    };

    // Its arena (19,922 f32) is over the default 24 KiB: the build says so, with numbers.
    let out = build.run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the CNN built within 24 KiB?\n{stderr}");
    assert!(
        stderr.contains("the network needs") && stderr.contains("over the 24 KiB budget"),
        "no budget error:\n{stderr}"
    );

    build.ram_kib = Some(112);
    let (checked, log) = agree(&build);
    assert_eq!(checked, 40, "2 targets x 10 digits x 2 methods");
    let stack = log.one("stack");
    println!(
        "{checked} attacks agree bit for bit ({}), stack peak {} bytes",
        log.one("boot").str("arch"),
        stack.str("peak")
    );
}

#[test]
fn a_network_of_another_input_shape_and_class_count_runs_within_the_budget_bit_for_bit() {
    require_tools();
    // A CNN on 3-channel 8 × 8 inputs of 3 classes, trained here by `nudge train`, with
    // its sample inputs from `nudge samples`: sizes the firmware learns from the model.
    let tmp = tempfile::tempdir().unwrap();
    let (x, y) = nudge_tests::colour_data::write_data(tmp.path());
    let model = tmp.path().join("rgb.safetensors");
    let data = ["--inputs", x.to_str().unwrap(), "--labels", y.to_str().unwrap()];
    let mut args = vec!["train", "--arch", "conv4k3,relu,maxpool2,dense3", "--epochs", "3"];
    args.extend(["--validation", "100", "--shift", "0", "--out", model.to_str().unwrap()]);
    args.extend(data);
    let o = nudge_tests::nudge(&args);
    assert!(o.status.success(), "{}", nudge_tests::stderr(&o));
    let mut args = vec!["samples", "--model", model.to_str().unwrap()];
    args.extend(["--out", tmp.path().to_str().unwrap()]);
    args.extend(data);
    let o = nudge_tests::nudge(&args);
    assert!(o.status.success(), "{}", nudge_tests::stderr(&o));
    let digits = tmp.path().join("digits.f32");
    let build = Build {
        model: &model,
        digits: &digits,
        ram_kib: None,
        targets: None,
        target_dir: "target/agreement-rgb",
    };
    let (checked, log) = agree(&build);
    // 3 inputs x 2 other classes by gradient ascent, and PGD on every `every`-th pair.
    let every: usize = log.config("pgd_linf").num("every");
    assert_eq!(checked, 6 + 6usize.div_ceil(every));
    assert!(log.all("art").len() >= 8, "the picture has the inputs' 8 rows");
    println!(
        "{checked} attacks agree bit for bit ({}), stack peak {} bytes",
        log.one("boot").str("arch"),
        log.one("stack").str("peak")
    );
}

/// Flashes each fixture `(file, kernel, RAM budget in KiB, targets per digit)` of
/// `tests/fixtures` as it is (the build script imports it like `nudge eval` does) and checks
/// its attacks bit for bit and the kernel it runs on. One target directory: only the
/// firmware crate is rebuilt for each next model.
fn flash_fixtures(target_dir: &str, fixtures: &[(&str, &str, Option<usize>, usize)]) {
    require_tools();
    let digits = input_path("NUDGE_DIGITS", "firmware/assets/digits.f32");
    for &(name, kernel, ram_kib, targets) in fixtures {
        let model = repo().join("tests/fixtures").join(name);
        let build =
            Build { model: &model, digits: &digits, ram_kib, targets: Some(targets), target_dir };
        let (checked, log) = agree(&build);
        assert_eq!(log.one("boot").str("kernel"), kernel, "{name}");
        println!("{name}: {checked} attacks agree bit for bit ({})", log.one("boot").str("arch"));
    }
}

#[test]
fn onnx_models_exported_by_torch_are_flashed_as_they_are_and_agree_bit_for_bit() {
    // The MLP (Flatten, Gemm, Relu, Gemm) on the fused MLP kernel; the CNN, its weights in
    // external data beside it, on the layer kernel.
    flash_fixtures(
        "target/agreement-onnx",
        &[("onnx-mlp.onnx", "mlp", None, 3), ("onnx-cnn.onnx", "network", Some(112), 1)],
    );
}

#[test]
fn keras_tflite_models_are_flashed_as_they_are_and_agree_bit_for_bit() {
    // As TensorFlow's converter wrote them: the MLP on the fused MLP kernel, the CNN (NHWC
    // filters and an h, w, c flatten, converted by the import) on the layer kernel.
    flash_fixtures(
        "target/agreement-tflite",
        &[("tflite-mlp.tflite", "mlp", None, 3), ("tflite-cnn.tflite", "network", Some(112), 1)],
    );
}

/// The int8 logits of every `int8 …` line of a firmware log, parsed from the text after
/// `logits=` (defmt prints a slice as `[a, b, …]`, with spaces).
fn int8_logits(text: &str) -> Vec<Vec<i8>> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("int8 "))
        .map(|l| {
            let (_, list) = l.split_once("logits=").unwrap_or_else(|| panic!("no logits: {l}"));
            let list = list.trim().trim_start_matches('[').trim_end_matches(']');
            list.split(',')
                .map(|v| v.trim().parse().unwrap_or_else(|_| panic!("`{v}` in `{l}`")))
                .collect()
        })
        .collect()
}

#[test]
fn int8_tflite_models_classify_on_the_firmware_bit_for_bit() {
    // Each full-integer fixture as TensorFlow's converter wrote it: the build script imports
    // it (as `nudge eval` does) and bakes its NDGQ blob; the device quantizes each sample
    // input and runs the int8 network with TFLM's arithmetic. Every logged int8 logit must
    // equal the host's `QuantNetwork` output exactly. The CNN's arena (11,514 int8) needs a
    // RAM budget over the default 24 KiB.
    use nudge_core::quant::QuantNetwork;
    require_tools();
    let digits = input_path("NUDGE_DIGITS", "firmware/assets/digits.f32");
    for (name, ram_kib) in [("int8-mlp.tflite", None), ("int8-cnn.tflite", Some(32))] {
        let model = repo().join("tests/fixtures").join(name);
        let int8 = nudge_host::tflite::int8::read(&std::fs::read(&model).unwrap(), &model)
            .unwrap_or_else(|e| panic!("{e}"));
        let blob = int8.to_bytes().expect("NDGQ blob");
        let network = QuantNetwork::from_bytes(&blob).expect("network");
        let (input, classes) = (network.input_len(), network.classes());
        let images = read_digits(&digits, input, classes);
        let build = Build {
            model: &model,
            digits: &digits,
            ram_kib,
            targets: None,
            target_dir: "target/agreement-int8",
        };
        let text = run_firmware(&build.elf());
        assert!(text.lines().any(|l| l.trim() == "verdict ok"), "{name}: no `verdict ok`:\n{text}");
        let log = Log::parse(&text);
        let boot = log.one("boot");
        assert_eq!(boot.str("kernel"), "int8", "{name}: kernel");
        assert_eq!(boot.str("arithmetic"), "tflm", "{name}: arithmetic");
        assert_eq!(boot.hex("model_fnv"), fnv1a(blob.iter().copied()), "{name}: model blob");
        let digit_bytes = images.iter().flatten().flat_map(|v| v.to_le_bytes());
        assert_eq!(boot.hex("digits_fnv"), fnv1a(digit_bytes), "{name}: digits");
        assert_eq!(boot.num::<usize>("arena"), network.arena_len(), "{name}: arena");
        assert_eq!(boot.num::<usize>("macs"), network.macs(), "{name}: MACs");

        let lines = log.all("int8");
        let logits = int8_logits(&text);
        assert_eq!(lines.len(), classes, "{name}: one `int8` line per sample input");
        assert_eq!(logits.len(), classes, "{name}: logits");
        let mut arena = vec![0i8; network.arena_len()];
        for (line, device) in lines.iter().zip(&logits) {
            let src: usize = line.num("src");
            let host = network.forward_f32(&images[src], &mut arena).expect("host forward");
            assert_eq!(device.as_slice(), host, "{name} input {src}: int8 logits device vs host");
            let class = (0..host.len()).fold(0, |b, k| if host[k] > host[b] { k } else { b });
            assert_eq!(line.num::<usize>("class"), class, "{name} input {src}: class");
            let bytes = host.iter().map(|&v| v as u8);
            assert_eq!(line.hex("fnv"), fnv1a(bytes), "{name} input {src}: logits hash");
        }
        let bench = log.one("bench");
        println!(
            "{name}: {classes} int8 logit vectors agree bit for bit ({}, dot={}); {} \
             instructions per pass, {} MACs, {} milli-instructions per MAC",
            boot.str("arch"),
            boot.str("dot"),
            bench.str("per_pass"),
            bench.str("macs"),
            bench.str("milli_per_mac")
        );
    }
}
