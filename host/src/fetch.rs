//! Downloading MNIST: HTTPS from a public mirror, SHA-256 check, atomic write.
//!
//! Each file is downloaded into memory (at most [`MAX_DOWNLOAD`] bytes), its SHA-256 is
//! compared with the published value, and only then is it written, atomically, under its
//! final name. A failed or interrupted download therefore never leaves a file that a later
//! run would mistake for data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The mirror TensorFlow and PyTorch use (LeCun's own site no longer serves the files).
pub const MNIST_MIRROR: &str = "https://storage.googleapis.com/cvdf-datasets/mnist/";

/// Largest file accepted from the network (the training images are 9.9 MB).
pub const MAX_DOWNLOAD: u64 = 64 * 1024 * 1024;

/// A file to download and the SHA-256 it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name, also the name it is saved under.
    pub name: &'static str,
    /// Lower-case hex SHA-256 of the gzip file.
    pub sha256: &'static str,
}

/// The canonical MNIST gzip files with their published SHA-256 sums (the values in
/// TensorFlow Datasets' checksum list). These are the full 60,000-image training set; the
/// offline copy in `../shared/data/mnist` holds a 10,000-image subset whose training files
/// therefore have other hashes, and whose test files were re-compressed (same contents,
/// different gzip bytes), so these sums are not checked against that copy.
pub const MNIST_FILES: [RemoteFile; 4] = [
    RemoteFile {
        name: "train-images-idx3-ubyte.gz",
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    },
    RemoteFile {
        name: "train-labels-idx1-ubyte.gz",
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    },
    RemoteFile {
        name: "t10k-images-idx3-ubyte.gz",
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    },
    RemoteFile {
        name: "t10k-labels-idx1-ubyte.gz",
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
];

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `bytes` against `file`'s SHA-256, naming the file and both sums on a mismatch.
pub fn verify(file: &RemoteFile, bytes: &[u8]) -> Result<()> {
    let found = sha256_hex(bytes);
    if found == file.sha256 {
        Ok(())
    } else {
        Err(Error::Download {
            url: file.name.to_string(),
            problem: format!(
                "SHA-256 mismatch: got {found}, expected {} (file not saved)",
                file.sha256
            ),
        })
    }
}

/// Verifies `bytes` and writes them atomically as `dir/<name>`.
pub fn verify_and_save(
    file: &RemoteFile,
    bytes: &[u8],
    dir: &Path,
    force: bool,
) -> Result<PathBuf> {
    verify(file, bytes)?;
    let path = dir.join(file.name);
    crate::fsutil::write_atomic(&path, bytes, force)?;
    Ok(path)
}

/// Downloads `url` into memory, with short timeouts so that an offline machine fails fast.
pub fn download(url: &str, timeout: Duration) -> Result<Vec<u8>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(timeout))
        .timeout_global(Some(Duration::from_secs(300)))
        .https_only(true)
        .build()
        .into();
    let offline = |e: ureq::Error| Error::Download {
        url: url.to_string(),
        problem: format!(
            "download failed ({e}); offline? copy the four MNIST .gz files into a directory \
             and pass --data DIR or set NUDGE_DATA=DIR"
        ),
    };
    let mut response = agent.get(url).call().map_err(offline)?;
    response.body_mut().with_config().limit(MAX_DOWNLOAD).read_to_vec().map_err(offline)
}

/// Downloads the four MNIST files from `mirror` into `dir` (created when the first file
/// arrives), skipping
/// files already present with the right checksum; `progress` is told each file's name.
pub fn fetch_mnist(
    mirror: &str,
    dir: &Path,
    force: bool,
    timeout: Duration,
    mut progress: impl FnMut(&str, &str),
) -> Result<Vec<PathBuf>> {
    let mut saved = Vec::new();
    for file in &MNIST_FILES {
        let path = dir.join(file.name);
        if !force && path.is_file() {
            let existing = crate::fsutil::read(&path)?;
            if verify(file, &existing).is_ok() {
                progress(file.name, "already present, checksum ok");
                saved.push(path);
                continue;
            }
            return Err(Error::Exists { path });
        }
        progress(file.name, "downloading");
        let url = format!("{}/{}", mirror.trim_end_matches('/'), file.name);
        let bytes = download(&url, timeout)?;
        // Created only once there is something to put in it.
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        saved.push(verify_and_save(file, &bytes, dir, force)?);
        progress(file.name, "saved, checksum ok");
    }
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: RemoteFile = RemoteFile {
        name: "abc.gz",
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    };

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(sha256_hex(b"abc"), ABC.sha256);
    }

    #[test]
    fn good_bytes_are_saved_bad_bytes_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let err = verify_and_save(&ABC, b"abd", dir.path(), false).unwrap_err().to_string();
        assert!(err.contains("SHA-256 mismatch"), "{err}");
        assert!(!dir.path().join("abc.gz").exists());
        let path = verify_and_save(&ABC, b"abc", dir.path(), false).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"abc");
        assert!(
            verify_and_save(&ABC, b"abc", dir.path(), false).is_err(),
            "overwrote without force"
        );
    }

    #[test]
    fn an_unreachable_mirror_fails_fast_with_advice() {
        let start = std::time::Instant::now();
        // Port 9 on localhost: nothing listens, so the connection is refused at once.
        let err =
            download("https://127.0.0.1:9/x.gz", Duration::from_secs(5)).unwrap_err().to_string();
        assert!(err.contains("--data") && err.contains("NUDGE_DATA"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
