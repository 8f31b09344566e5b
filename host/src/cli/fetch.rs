//! `nudge data`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use nudge_host::data::{self, DatasetKind};

use super::DataOpts;

#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Download MNIST over HTTPS, verify each file's SHA-256, and save it atomically.
    ///
    /// Offline? Copy train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
    /// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz into a directory and pass
    /// --data DIR (or set NUDGE_DATA=DIR) instead.
    Fetch(FetchArgs),
    /// Show which data directory would be used, and what it holds.
    Info(InfoArgs),
}

#[derive(Debug, Args)]
struct FetchArgs {
    /// Directory to save into. Default: ~/.cache/nudge/mnist.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Base address of the mirror.
    #[arg(long, default_value = nudge_host::fetch::MNIST_MIRROR)]
    mirror: String,
    /// Connection timeout in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Download again even if the files exist.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct InfoArgs {
    #[command(flatten)]
    data: DataOpts,
}

pub fn run(a: DataArgs) -> anyhow::Result<()> {
    match a.command {
        DataCommand::Fetch(f) => {
            let dir = match f.dir {
                Some(d) => d,
                None => data::cache_dir(DatasetKind::Mnist)
                    .ok_or_else(|| anyhow::anyhow!("--dir: HOME is not set; pass --dir DIR"))?,
            };
            let saved = nudge_host::fetch::fetch_mnist(
                &f.mirror,
                &dir,
                f.force,
                Duration::from_secs(f.timeout),
                |name, what| println!("{name}: {what}"),
            )?;
            println!(
                "MNIST is in {} ({} files); commands find it there by default",
                dir.display(),
                saved.len()
            );
            Ok(())
        }
        DataCommand::Info(i) => {
            let dir = i.data.dir()?;
            println!("{} data: {}", i.data.kind().name(), dir.display());
            for stem in data::FILES {
                let p = data::file_in(&dir, stem);
                let size = std::fs::metadata(&p).map(|m| m.len()).ok();
                match size {
                    Some(s) => println!("  {} ({s} bytes)", p.display()),
                    None => println!("  {} (missing)", p.display()),
                }
            }
            let d = data::load(&dir, i.data.kind())?;
            println!(
                "  {} training and {} test images, all headers valid",
                d.train.len(),
                d.test.len()
            );
            Ok(())
        }
    }
}
