//! The one error type of the crate. Every variant names what is wrong and where, and where it
//! helps, what the user can do about it. Callers match on the variant: reading the data, what
//! the data says, a parameter, memory, a model file, training.

use std::path::PathBuf;

/// Result alias used throughout synthad.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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

    /// The file cannot be read as its format.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },

    /// One field cannot be used.
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

    #[error(
        "{path}: no training rows have label {normal:?} in column {column:?} (labels seen: {seen})"
    )]
    NoNormalRows {
        path: PathBuf,
        column: String,
        normal: String,
        seen: String,
    },

    /// The data as a whole cannot train or be scored: too few rows, no feature left, ...
    #[error("{path}: {message}")]
    BadData { path: PathBuf, message: String },

    /// The data's columns differ from those the model was trained on.
    #[error("{path}: {message}")]
    SchemaMismatch { path: PathBuf, message: String },

    /// A parameter outside its range. `name` is the parameter's field in
    /// [`crate::train::TrainParams`] (dotted for nested ones, `deepsad.eta`), or the argument's
    /// name for other functions.
    #[error("{name} = {value} is invalid: expected {expected}")]
    InvalidParam {
        name: String,
        value: String,
        expected: String,
    },

    /// Fitted on in-memory rows without column names, the model cannot match a file's columns.
    #[error("this model was fitted on in-memory rows and has no file schema; fit it from a file or from named columns to score files")]
    NoSchema,

    /// What the user asked for would not fit into memory.
    #[error("{what} needs about {}, but {} of memory is available; {hint}", crate::memory::human(*needed), crate::memory::human(*available))]
    TooLarge {
        what: String,
        needed: u64,
        available: u64,
        hint: String,
    },

    /// An output path would destroy an input of the same command, or another output.
    #[error("{0}")]
    OutputClash(String),

    #[error("{path}: not a synthad model file: {message}")]
    BadModelFile { path: PathBuf, message: String },

    /// The model has no exact form in an export format.
    #[error("cannot export this model to {format}: {reason}")]
    NotExportable { format: String, reason: String },

    #[error("training failed: {0}")]
    Training(String),

    /// The fit was asked to stop ([`crate::process::StopFlag`]).
    #[error("the fit was stopped on request")]
    Stopped,

    // Shown inline and not as a `source`, so that an error chain prints it once.
    #[error("tensor backend: {0}")]
    Backend(candle_core::Error),
}

impl From<candle_core::Error> for Error {
    fn from(error: candle_core::Error) -> Self {
        Error::Backend(error)
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn bad_data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadData {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(
        name: impl Into<String>,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Error::InvalidParam {
            name: name.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
