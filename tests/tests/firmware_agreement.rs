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
//! Inputs: the model `models/mnist-mlp-h64.safetensors` (or `$NUDGE_MODEL`) and the digits
//! `firmware/assets/digits.f32` (or `$NUDGE_DIGITS`); the test passes the same paths to the
//! firmware build. Tools: `qemu-system-arm`, `defmt-print`, `flip-link` and the
//! `thumbv7em-none-eabihf` target; a missing one fails the test with its install command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use nudge_core::attack::AttackScratch;
use nudge_core::{Attack, AttackReport, EarlyStop, Goal, GradientAscent, Mlp, PgdLinf};

/// Pixels per image.
const INPUT: usize = 28 * 28;
/// Classes.
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

/// Builds the release firmware for QEMU with the given inputs; returns the ELF's path.
fn build_firmware(model: &Path, digits: &Path) -> PathBuf {
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
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("NUDGE_MODEL", model).env("NUDGE_DIGITS", digits);
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "firmware build failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("target").join(TARGET).join("release/nudge-firmware")
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

/// The model blob in nudge-core's layout, as the firmware's build script writes it.
fn model_blob(path: &Path) -> Vec<f32> {
    let st =
        nudge_host::safetensors::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut blob = Vec::new();
    for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
        let t = st.tensors.get(name).unwrap_or_else(|| panic!("{}: no {name}", path.display()));
        assert_eq!(t.dtype, "F32", "{name}");
        blob.extend(t.data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())));
    }
    blob
}

fn read_digits(path: &Path) -> Vec<[f32; INPUT]> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write the sample digits with `mkdir -p firmware/assets && cargo run \
             --release -p nudge-host -- samples --out firmware/assets` from the repository root",
            path.display()
        )
    });
    assert_eq!(bytes.len(), CLASSES * INPUT * 4, "{}: size", path.display());
    let floats: Vec<f32> =
        bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    floats.chunks_exact(INPUT).map(|c| c.try_into().unwrap()).collect()
}

/// Recomputes every attack line with nudge-core at hidden width `H`; returns how many.
fn check<const H: usize>(blob: &[f32], digits: &[[f32; INPUT]], log: &Log) -> usize {
    let model = Mlp::<INPUT, H, CLASSES>::from_slice(blob).expect("model blob");
    let g = log.config("gradient");
    let gradient = GradientAscent {
        early_stop: EarlyStop::Confidence(g.num("stop_p")),
        ..GradientAscent::new(g.num("step"), g.num("iters"))
    };
    let p = log.config("pgd_linf");
    let pgd = PgdLinf::new(p.num("eps"), p.num("alpha"), p.num("iters"));
    let every: usize = p.num("every");

    let attacks = log.all("attack");
    let expected = 90 + 90usize.div_ceil(every);
    assert_eq!(attacks.len(), expected, "number of attack lines");

    let mut scratch = AttackScratch::for_model(&model);
    let mut adversarial = [0.0f32; INPUT];
    for line in attacks {
        let (method, src, tgt) =
            (line.str("method"), line.num::<usize>("src"), line.num::<usize>("tgt"));
        let goal = Goal::targeted(src, tgt);
        let image = &digits[src];
        let report: AttackReport = match method {
            "gradient" => {
                gradient.run(&model, image, goal, &mut adversarial, &mut scratch, &mut ())
            }
            "pgd_linf" => pgd.run(&model, image, goal, &mut adversarial, &mut scratch, &mut ()),
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

#[test]
fn firmware_attacks_match_the_host_bit_for_bit() {
    require_tools();
    let model_path = input_path("NUDGE_MODEL", "models/mnist-mlp-h64.safetensors");
    let digits_path = input_path("NUDGE_DIGITS", "firmware/assets/digits.f32");
    let blob = model_blob(&model_path);
    let digits = read_digits(&digits_path);

    let elf = build_firmware(&model_path, &digits_path);
    let text = run_firmware(&elf);
    let log = Log::parse(&text);

    let boot = log.one("boot");
    let blob_bytes = blob.iter().flat_map(|v| v.to_le_bytes());
    assert_eq!(boot.hex("model_fnv"), fnv1a(blob_bytes), "model blob differs from the host's");
    let digit_bytes = digits.iter().flatten().flat_map(|v| v.to_le_bytes());
    assert_eq!(boot.hex("digits_fnv"), fnv1a(digit_bytes), "digits differ from the host's");
    assert!(text.lines().any(|l| l.trim() == "verdict ok"), "no `verdict ok`:\n{text}");

    let hidden: usize = boot.num("hidden");
    let checked = match hidden {
        16 => check::<16>(&blob, &digits, &log),
        32 => check::<32>(&blob, &digits, &log),
        64 => check::<64>(&blob, &digits, &log),
        128 => check::<128>(&blob, &digits, &log),
        256 => check::<256>(&blob, &digits, &log),
        h => panic!("no host check compiled for hidden width {h}"),
    };
    println!("{checked} attacks agree bit for bit (H = {hidden})");
}
