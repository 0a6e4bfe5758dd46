//! Ingest: read delimited text, Parquet and NumPy `.npz` files into a [`RawTable`], then give its
//! columns kinds ([`Table`]) and split its rows by label ([`labels`]).
//!
//! Reading and typing are separate steps so that scoring can type a new file by the kinds the
//! model was trained with instead of guessing them again.

mod csv;
pub mod labels;
mod npz;
mod parquet;
mod table;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use table::{Column, ColumnKind, ColumnSpec, Table, Values};

/// How a file is read. The defaults suit most files: the delimiter and the header are detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOptions {
    /// Field delimiter of text files; `None` detects it from the first lines.
    pub delimiter: Option<u8>,
    /// Whether text files start with a header row.
    pub header: HeaderMode,
    /// Text that marks a missing value (imputed later). "NaN" here also admits NaN floats in
    /// Parquet and `.npz` files as missing values; otherwise NaN is an error.
    pub missing: Vec<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            delimiter: None,
            header: HeaderMode::Auto,
            missing: vec![String::new(), "?".into(), "NA".into()],
        }
    }
}

impl ReadOptions {
    pub(crate) fn nan_is_missing(&self) -> bool {
        self.missing.iter().any(|m| m.eq_ignore_ascii_case("nan"))
    }

    pub(crate) fn is_missing(&self, field: &str) -> bool {
        let field = field.trim();
        self.missing.iter().any(|m| m == field)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderMode {
    /// A header is assumed when every field of the first row is non-empty and not a number.
    Auto,
    Present,
    Absent,
}

/// One column as read, before it has a kind.
#[derive(Debug, Clone, PartialEq)]
pub enum RawColumn {
    /// Fields of a text file, or a string column of a Parquet file (`None` = null).
    Text(Vec<Option<String>>),
    /// Numbers of a binary format (`None` = null).
    Float(Vec<Option<f64>>),
}

impl RawColumn {
    pub fn len(&self) -> usize {
        match self {
            RawColumn::Text(v) => v.len(),
            RawColumn::Float(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the values of another column of the same kind.
    fn extend(&mut self, other: RawColumn) {
        match (self, other) {
            (RawColumn::Text(a), RawColumn::Text(b)) => a.extend(b),
            (RawColumn::Float(a), RawColumn::Float(b)) => a.extend(b),
            _ => unreachable!("chunks of one file have the same column kinds"),
        }
    }

    /// The value of one row as text, for labels and ids.
    pub fn text_at(&self, row: usize) -> String {
        match self {
            RawColumn::Text(v) => v[row].clone().unwrap_or_default(),
            RawColumn::Float(v) => v[row].map(format_number).unwrap_or_default(),
        }
    }
}

/// Integers print without a fractional part, so label 3 read from a float column matches "3".
pub(crate) fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A file as read: named columns of equal length, no kinds yet.
#[derive(Debug, Clone)]
pub struct RawTable {
    pub path: PathBuf,
    /// Column names; without a header they are the zero-based indices "0", "1", ...
    pub names: Vec<String>,
    pub has_header: bool,
    /// Index of this table's first row among the file's data rows (chunks start past 0).
    pub first_row: usize,
    pub columns: Vec<RawColumn>,
}

/// Tables of consecutive rows of one file.
pub type RawChunks = Box<dyn Iterator<Item = Result<RawTable>>>;

impl RawTable {
    /// Reads a file, choosing the format by its extension.
    pub fn read(path: &Path, options: &ReadOptions) -> Result<RawTable> {
        let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if metadata.is_dir() {
            return Err(Error::Parse {
                path: path.into(),
                message: "is a directory, not a data file".into(),
            });
        }
        if metadata.len() == 0 {
            return Err(Error::EmptyFile { path: path.into() });
        }
        let table = match format_of(path)? {
            Format::Parquet => parquet::read(path)?,
            Format::Npz => npz::read(path)?,
            Format::Text => csv::read(path, options)?,
        };
        if table.n_rows() == 0 {
            return Err(Error::EmptyFile { path: path.into() });
        }
        Ok(table)
    }

    /// Reads a file in tables of at most `chunk_rows` rows, so that memory does not grow with
    /// the file (text and Parquet; an `.npz` archive comes as one table).
    pub fn read_chunks(path: &Path, options: &ReadOptions, chunk_rows: usize) -> Result<RawChunks> {
        let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if metadata.len() == 0 {
            return Err(Error::EmptyFile { path: path.into() });
        }
        Ok(match format_of(path)? {
            Format::Parquet => Box::new(parquet::ParquetChunks::open(path, chunk_rows)?),
            Format::Npz => Box::new(std::iter::once(npz::read(path))),
            Format::Text => Box::new(csv::CsvChunks::open(path, options, chunk_rows)?),
        })
    }

    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, RawColumn::len)
    }

    /// Finds a column by name, or by zero-based index when no column has that name.
    pub fn resolve(&self, column: &str) -> Result<usize> {
        if let Some(i) = self.names.iter().position(|n| n == column) {
            return Ok(i);
        }
        match column.parse::<usize>() {
            Ok(i) if i < self.names.len() => Ok(i),
            _ => Err(Error::UnknownColumn {
                path: self.path.clone(),
                column: column.to_string(),
                available: summarize_names(&self.names),
            }),
        }
    }

    /// The values of a column as text (labels, ids).
    pub fn text_column(&self, index: usize) -> Vec<String> {
        (0..self.n_rows())
            .map(|r| self.columns[index].text_at(r))
            .collect()
    }
}

enum Format {
    Text,
    Parquet,
    Npz,
}

/// The format, by file extension.
fn format_of(path: &Path) -> Result<Format> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "parquet" | "pq" => Ok(Format::Parquet),
        "npz" => Ok(Format::Npz),
        "csv" | "tsv" | "txt" | "data" | "test" | "dat" | "" => Ok(Format::Text),
        _ => Err(Error::UnsupportedFormat { path: path.into() }),
    }
}

fn summarize_names(names: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut s = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(", ... ({} in all)", names.len()));
    }
    s
}
