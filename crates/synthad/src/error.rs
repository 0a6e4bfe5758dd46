//! The one error type of the crate. Every variant names what is wrong and where, and where it
//! helps, what the user can do about it.

use std::path::PathBuf;

/// Result alias used throughout synthad.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The io::Error is shown inline, not as a `source`, so that error chains print it once.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{path}: the file is empty (no data rows); point --data at a file with rows")]
    EmptyFile { path: PathBuf },

    #[error(
        "{path}: unsupported file type; use .csv/.txt/.data (delimited text), .parquet or .npz"
    )]
    UnsupportedFormat { path: PathBuf },

    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },

    #[error("{path}, row {row}, column {column}: {message}")]
    BadValue {
        path: PathBuf,
        /// One-based data row (the header, if any, is not counted).
        row: usize,
        column: String,
        message: String,
    },

    #[error("{path}: no column {column:?} (columns are: {available}); without a header, columns are addressed by zero-based index")]
    UnknownColumn {
        path: PathBuf,
        column: String,
        available: String,
    },

    #[error("{0}")]
    InvalidParams(String),

    #[error(
        "{path}: no training rows have label {normal:?} in column {column:?} (labels seen: {seen})"
    )]
    NoNormalRows {
        path: PathBuf,
        column: String,
        normal: String,
        seen: String,
    },

    #[error("{path}: {message}")]
    SchemaMismatch { path: PathBuf, message: String },

    #[error("{path}: not a synthad model file: {message}")]
    BadModelFile { path: PathBuf, message: String },

    #[error("{what} needs about {}, but {} of memory is available; {hint}", crate::memory::human(*needed), crate::memory::human(*available))]
    TooLarge {
        what: String,
        needed: u64,
        available: u64,
        hint: String,
    },

    #[error("training failed: {0}")]
    Training(String),

    #[error("tensor backend: {0}")]
    Backend(#[from] candle_core::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}
