//! The host's error type: every variant names the file or argument at fault, so that the
//! CLI can print it as one line.

use std::path::{Path, PathBuf};

/// Shorthand for results with the host [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong on the host side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// An IDX file is malformed.
    #[error("{}: {problem}", path.display())]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A model (safetensors) file is malformed or does not fit the model.
    #[error("{}: {problem}", path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The output file exists and `--force` was not given.
    #[error("{}: already exists (pass --force to overwrite)", path.display())]
    Exists {
        /// The file that would be overwritten.
        path: PathBuf,
    },
    /// A command-line value is out of range.
    #[error("{name}: {problem}")]
    Argument {
        /// The argument, as spelled on the command line (e.g. `--eps`).
        name: String,
        /// What it must satisfy.
        problem: String,
    },
    /// No dataset directory could be found.
    #[error("{0}")]
    DataNotFound(String),
    /// A download failed.
    #[error("{url}: {problem}")]
    Download {
        /// The address.
        url: String,
        /// What went wrong, and what to do about it.
        problem: String,
    },
    /// The kernel rejected an input, a model or a setting.
    #[error("{context}: {cause}")]
    Kernel {
        /// What was being done.
        context: String,
        /// The kernel's error.
        cause: nudge_core::Error,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, cause: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), cause }
    }

    /// A malformed IDX file.
    pub fn idx(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Error::Idx { path: path.as_ref().to_path_buf(), problem: problem.into() }
    }

    /// A malformed model file.
    pub fn model(path: impl AsRef<Path>, problem: impl Into<String>) -> Self {
        Error::Model { path: path.as_ref().to_path_buf(), problem: problem.into() }
    }

    /// A bad command-line value.
    pub fn argument(name: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Argument { name: name.into(), problem: problem.into() }
    }

    /// A kernel error, with what was being done.
    pub fn kernel(context: impl Into<String>, cause: nudge_core::Error) -> Self {
        Error::Kernel { context: context.into(), cause }
    }
}
