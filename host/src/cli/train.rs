//! `nudge train`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use nudge_host::data::Split;
use nudge_host::model::ModelFile;
use nudge_host::train::{Adversarial, AdversarialMethod, Optimizer, Schedule, TrainConfig};
use nudge_host::{arch, fsutil};

use super::DataOpts;
use super::ui::{bar, say};

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataOpts,
    /// What to train: `mlp` (784-HIDDEN-10), `logreg` (the seed's 6-feature logistic
    /// regression on toy data), an MLP such as `784-128-64-10`, or a layer list such as
    /// `conv8k3,relu,maxpool2,conv16k3,relu,maxpool2,dense10` (see the README).
    #[arg(long, default_value = "mlp", value_name = "SPEC")]
    arch: String,
    /// Hidden units of `--arch mlp`.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Passes over the training data.
    #[arg(long, default_value_t = 12)]
    epochs: u32,
    /// Mini-batch size.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 4e-3)]
    lr: f32,
    /// Update rule.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    optimizer: OptimizerArg,
    /// Momentum for --optimizer sgd.
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value_t = ScheduleArg::Cosine)]
    schedule: ScheduleArg,
    /// Decoupled weight decay (AdamW style); 0 disables it.
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    /// Augmentation: shift each training image by up to this many pixels (0 disables it).
    #[arg(long, default_value_t = 1)]
    shift: u8,
    /// Seed for initialisation, shuffling and augmentation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Training examples held out (from the end) for validation.
    #[arg(long, default_value_t = 1000)]
    validation: usize,
    /// Output file. Default: DATASET-mlp-hHIDDEN.safetensors (DATASET-mlp-hHIDDEN-robust with
    /// --adversarial) in the current directory, e.g. mnist-mlp-h64.safetensors.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
    /// Do not save the model (report only).
    #[arg(long, conflicts_with_all = ["out", "force"])]
    no_save: bool,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
    /// Adversarial training: replace every training example by an adversarial one made
    /// against the current weights (PGD from a random start, or FGSM from a random start).
    #[arg(long, value_enum, value_name = "ATTACK")]
    adversarial: Option<AdversarialArg>,
    /// L∞ budget ε of adversarial training.
    #[arg(long, default_value_t = 0.1, requires = "adversarial")]
    eps: f32,
    /// PGD steps per example for --adversarial pgd (step 2.5ε/steps).
    #[arg(long, default_value_t = 10, requires = "adversarial")]
    pgd_steps: u32,
    /// Epochs over which ε ramps up linearly (0: full ε from the start).
    #[arg(long, default_value_t = 5, requires = "adversarial")]
    warmup: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AdversarialArg {
    /// PGD L∞ with --pgd-steps steps from a random start (Madry et al., 2018).
    Pgd,
    /// One FGSM step of 1.25ε from a random start (Wong et al., 2020): about twice as fast.
    Fgsm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OptimizerArg {
    /// Adam (β₁ 0.9, β₂ 0.999).
    Adam,
    /// SGD with --momentum.
    Sgd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScheduleArg {
    /// Constant learning rate.
    Constant,
    /// Cosine decay to zero.
    Cosine,
}

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    if a.arch == "logreg" {
        return super::toy::train_logreg(a.epochs, a.lr, a.json);
    }
    if a.hidden == 0 {
        anyhow::bail!(nudge_host::Error::argument("--hidden", "must be ≥ 1"));
    }
    let kind = a.data.kind();
    // The data first: its input shape and class count size the network.
    let t_load = Instant::now();
    let (train_set, test_set, source, dataset) = match a.data.own() {
        Some(own) => {
            let own = own?;
            (own.split, None, own.source, "own".to_string())
        }
        None => {
            let dir = a.data.dir()?;
            let data = nudge_host::data::load(&dir, kind)?;
            (data.train, Some(data.test), dir.display().to_string(), kind.name().to_string())
        }
    };
    let load_seconds = t_load.elapsed().as_secs_f64();
    let image = train_set.shape;
    let spec = if a.arch == "mlp" {
        format!("{}-{}-{}", image.len(), a.hidden, train_set.classes().max(2))
    } else {
        a.arch.clone()
    };
    let arch = arch::parse(&spec, image, "--arch")?;
    let adversarial = a.adversarial.map(|method| Adversarial {
        method: match method {
            AdversarialArg::Pgd => AdversarialMethod::Pgd { steps: a.pgd_steps },
            AdversarialArg::Fgsm => AdversarialMethod::FgsmRandomStart,
        },
        eps: a.eps,
        warmup: a.warmup,
    });
    if let Some(adv) = &adversarial {
        adv.validate()?;
    }
    let suffix = if adversarial.is_some() { "-robust" } else { "" };
    let is_mlp = arch::mlp_shorthand(arch.input, &arch.layers);
    let single_hidden = match arch.layers.as_slice() {
        [nudge_core::LayerSpec::Dense { outputs }, _, _] if is_mlp.is_some() => Some(*outputs),
        _ => None,
    };
    let out = a.out.clone().unwrap_or_else(|| {
        let name = match (single_hidden, &is_mlp) {
            (Some(h), _) => format!("mlp-h{h}"),
            (None, Some(_)) => "mlp".to_string(),
            (None, None) => "cnn".to_string(),
        };
        PathBuf::from(format!("{dataset}-{name}{suffix}.safetensors"))
    });
    let recipe = |cfg: &TrainConfig| match &adversarial {
        Some(adv) => format!("{} {}", cfg.recipe(), adv.recipe()),
        None => cfg.recipe(),
    };
    if !a.no_save {
        // Fail before training, not after.
        fsutil::check_writable(&out, a.force)?;
    }
    let cfg = TrainConfig {
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        optimizer: match a.optimizer {
            OptimizerArg::Adam => Optimizer::Adam,
            OptimizerArg::Sgd => Optimizer::Sgd { momentum: a.momentum },
        },
        schedule: match a.schedule {
            ScheduleArg::Constant => Schedule::Constant,
            ScheduleArg::Cosine => Schedule::Cosine,
        },
        weight_decay: a.weight_decay,
        shift: a.shift,
        seed: a.seed,
        validation: a.validation,
    };
    cfg.validate(train_set.len())?;
    if !a.json {
        println!(
            "training {} on {dataset} ({} train, {} validation, {} test) from {source}",
            is_mlp.clone().unwrap_or_else(|| arch::format_layers(&arch.layers)),
            train_set.len() - cfg.validation,
            cfg.validation,
            test_set.as_ref().map_or(0, Split::len),
        );
        println!(
            "recipe: {}, seed {} ({} threads)",
            recipe(&cfg),
            cfg.seed,
            rayon::current_num_threads()
        );
    }
    let pb = bar(0, "train");
    let json = a.json;
    let t_train = Instant::now();
    let mut on_batch = |done: u64, total: u64| {
        if pb.length() != Some(total) {
            pb.set_length(total);
        }
        pb.set_position(done);
    };
    let mut on_epoch = |s: &nudge_host::train::EpochStats| {
        let val = if cfg.validation == 0 {
            "n/a".to_string()
        } else {
            format!("{:.2}%", 100.0 * s.val_accuracy)
        };
        pb.set_message(format!("epoch {} loss {:.4} val {val}", s.epoch, s.loss));
        if !json {
            say(
                &pb,
                &format!(
                    "epoch {:>3}/{}  loss {:.4}  train {:.2}%  val {val}  lr {:.2e}  {:.1}s",
                    s.epoch,
                    cfg.epochs,
                    s.loss,
                    100.0 * s.train_accuracy,
                    s.lr,
                    s.seconds
                ),
            );
        }
    };
    let (model, history) = nudge_host::train::train_robust(
        &train_set,
        &arch,
        &cfg,
        adversarial,
        &mut on_batch,
        &mut on_epoch,
    )?;
    let train_seconds = t_train.elapsed().as_secs_f64();
    pb.finish_and_clear();
    // Own data has no test split: the figure is then the held-out validation examples'.
    let (scored, scored_on) = match &test_set {
        Some(test) => (test.clone(), "test"),
        None => (train_set.split_at(train_set.len() - cfg.validation).1, "held-out"),
    };
    let scores = nudge_host::model::evaluate(&model.classifier("--arch")?, &scored, &source)?;
    let val = history.last().map_or(0.0, |s| s.val_accuracy);
    let mut metadata = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        ("dataset".to_string(), dataset.clone()),
        ("train_images".to_string(), (train_set.len() - cfg.validation).to_string()),
        ("val_accuracy".to_string(), format!("{val:.4}")),
        ("seed".to_string(), cfg.seed.to_string()),
        ("arch".to_string(), model.arch()),
        ("nudge_version".to_string(), nudge_host::VERSION.to_string()),
        ("recipe".to_string(), recipe(&cfg)),
    ]);
    if test_set.is_some() {
        metadata.insert("accuracy".to_string(), format!("{:.4}", scores.accuracy()));
        metadata.insert("correct".to_string(), scores.correct.to_string());
        metadata.insert("total".to_string(), scores.total.to_string());
    }
    if let Some(h) = single_hidden {
        metadata.insert("hidden".to_string(), h.to_string());
    }
    let file = ModelFile { model, metadata };
    if !a.no_save {
        file.save(&out, a.force).with_context(|| format!("saving {}", out.display()))?;
    }
    if a.json {
        let j = serde_json::json!({
            "dataset": dataset,
            "scored_on": scored_on,
            "arch": file.model.arch(),
            "seed": cfg.seed,
            "recipe": recipe(&cfg),
            "accuracy": scores.accuracy(),
            "correct": scores.correct,
            "total": scores.total,
            "val_accuracy": val,
            "train_seconds": train_seconds,
            "load_seconds": load_seconds,
            "threads": rayon::current_num_threads(),
            "out": if a.no_save { None } else { Some(out.display().to_string()) },
            "epochs": history.iter().map(|s| serde_json::json!({
                "epoch": s.epoch, "loss": s.loss, "train_accuracy": s.train_accuracy,
                "val_accuracy": s.val_accuracy, "seconds": s.seconds})).collect::<Vec<_>>(),
        });
        println!("{j:#}");
    } else {
        let val =
            if cfg.validation == 0 { "n/a".to_string() } else { format!("{:.2}%", 100.0 * val) };
        println!(
            "{scored_on} accuracy {:.2}% ({}/{}), validation {val}; trained in {:.2}s (data loaded in {:.2}s)",
            100.0 * scores.accuracy(),
            scores.correct,
            scores.total,
            train_seconds,
            load_seconds
        );
        if !a.no_save {
            println!("saved {}", out.display());
        }
    }
    Ok(())
}
