//! Ingest: read delimited text, Parquet and NumPy `.npz` files into a [`RawTable`], then give its
//! columns kinds ([`Table`]) and split its rows by label ([`labels`]).
//!
//! Reading and typing are separate steps so that scoring can type a new file by the kinds the
//! model was trained with instead of guessing them again.

mod bounded;
mod csv;
pub mod labels;
pub(crate) mod npz;
mod parquet;
mod schema;
mod table;
mod training_set;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::error::{Error, Result};

pub use schema::{InputSchema, SchemaColumn};
pub use table::{Column, ColumnKind, ColumnSpec, Table, Values};
pub use training_set::{DataSpec, TrainingSet};

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

/// Whether a text file starts with a header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeaderMode {
    /// A header is assumed when every field of the first row is non-empty and not a number.
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "yes", alias = "present")]
    Present,
    #[serde(rename = "no", alias = "absent")]
    Absent,
}

impl Choice for HeaderMode {
    const WHAT: &'static str = "header";
    const ALL: &'static [HeaderMode] = &[HeaderMode::Auto, HeaderMode::Present, HeaderMode::Absent];

    fn name(self) -> &'static str {
        match self {
            HeaderMode::Auto => "auto",
            HeaderMode::Present => "yes",
            HeaderMode::Absent => "no",
        }
    }

    fn about(self) -> &'static str {
        match self {
            HeaderMode::Auto => "a header when every field of the first row is text",
            HeaderMode::Present => "the first row names the columns",
            HeaderMode::Absent => "no header; columns are addressed by zero-based index",
        }
    }
}

/// One column as read, before it has a kind.
#[derive(Debug, Clone, PartialEq)]
pub enum RawColumn {
    /// Fields of a text file, or a string column of a Parquet file (`None` = null).
    Text(Vec<Option<String>>),
    /// Numbers of a binary format (`None` = null).
    Float(Vec<Option<f64>>),
    /// A Parquet column of a type that is neither number nor text (a date, a list), as text.
    /// It can be a label or be carried into output; as a feature only if declared categorical.
    Other {
        data_type: String,
        values: Vec<Option<String>>,
    },
}

impl RawColumn {
    pub fn len(&self) -> usize {
        match self {
            RawColumn::Text(v) | RawColumn::Other { values: v, .. } => v.len(),
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
            (RawColumn::Other { values: a, .. }, RawColumn::Other { values: b, .. }) => a.extend(b),
            _ => unreachable!("chunks of one file have the same column kinds"),
        }
    }

    /// The value of one row as text, for labels and ids.
    pub fn text_at(&self, row: usize) -> String {
        match self {
            RawColumn::Text(v) | RawColumn::Other { values: v, .. } => {
                v[row].clone().unwrap_or_default()
            }
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

/// The `--data` value that reads standard input.
pub const STDIN: &str = "-";

/// What [`RawTable::path`] holds for data read from standard input.
pub const STDIN_NAME: &str = "<stdin>";

impl RawTable {
    /// Reads a whole file, or standard input for `-` (also a pipe such as `/dev/stdin`). The
    /// format is Parquet or `.npz` by their signature bytes, else delimited text by extension.
    pub fn read(path: &Path, options: &ReadOptions) -> Result<RawTable> {
        if let Ok(metadata) = std::fs::metadata(path) {
            // Each text field becomes a String and later a number: about 12 bytes of memory
            // per byte of a CSV file at the peak (fewer for the binary formats).
            crate::memory::ensure_fits(
                metadata.len().saturating_mul(12),
                &format!("reading {} whole", path.display()),
                "train on a sample of the rows (scoring reads files in chunks and has no such limit)",
            )?;
        }
        let table = match open(path, true)? {
            Source::Parquet(input) => parquet::read(input)?,
            Source::Npz(input) => npz::read(input)?,
            Source::Text(input) => csv::read(input, options)?,
        };
        if table.n_rows() == 0 {
            return Err(Error::EmptyFile { path: table.path });
        }
        check_unique_names(&table)?;
        Ok(table)
    }

    /// Reads a file in tables of at most `chunk_rows` rows, so that memory does not grow with
    /// the file (text, also from a pipe, and Parquet files; an `.npz` archive, or Parquet from
    /// a pipe, is held whole).
    pub fn read_chunks(path: &Path, options: &ReadOptions, chunk_rows: usize) -> Result<RawChunks> {
        let chunks: RawChunks = match open(path, false)? {
            Source::Parquet(input) => Box::new(parquet::ParquetChunks::open(input, chunk_rows)?),
            Source::Npz(input) => Box::new(std::iter::once(npz::read(input))),
            Source::Text(input) => Box::new(csv::CsvChunks::open(input, options, chunk_rows)?),
        };
        let mut checked = false;
        Ok(Box::new(chunks.map(move |chunk| {
            let chunk = chunk?;
            if !checked {
                check_unique_names(&chunk)?;
                checked = true;
            }
            Ok(chunk)
        })))
    }

    /// A table of named columns held in memory (a data frame's); `name` names it in messages.
    pub fn from_columns(
        name: &str,
        names: Vec<String>,
        columns: Vec<RawColumn>,
    ) -> Result<RawTable> {
        let path = PathBuf::from(name);
        if names.len() != columns.len() {
            return Err(Error::invalid(
                "names",
                format!("{} names", names.len()),
                format!("one per column ({})", columns.len()),
            ));
        }
        let rows = columns.first().map_or(0, RawColumn::len);
        if let Some(i) = columns.iter().position(|c| c.len() != rows) {
            return Err(Error::bad_data(
                &path,
                format!(
                    "column {:?} has {} rows, the first has {rows}",
                    names[i],
                    columns[i].len()
                ),
            ));
        }
        let table = RawTable {
            path,
            names,
            has_header: true,
            first_row: 0,
            columns,
        };
        if table.n_rows() == 0 {
            return Err(Error::bad_data(
                &table.path,
                "there are no rows; pass at least one",
            ));
        }
        check_unique_names(&table)?;
        Ok(table)
    }

    /// A row-major matrix of `n_columns` columns, named `names` or "0", "1", ... NaN is a
    /// missing value where the read options say so.
    pub fn from_matrix(
        name: &str,
        values: &[f64],
        n_columns: usize,
        names: Option<Vec<String>>,
    ) -> Result<RawTable> {
        if n_columns == 0 || !values.len().is_multiple_of(n_columns) {
            return Err(Error::invalid(
                "n_columns",
                n_columns,
                format!("a positive divisor of the {} values", values.len()),
            ));
        }
        let rows = values.len() / n_columns;
        let columns = (0..n_columns)
            .map(|c| RawColumn::Float((0..rows).map(|r| Some(values[r * n_columns + c])).collect()))
            .collect();
        let names = names.unwrap_or_else(|| (0..n_columns).map(|c| c.to_string()).collect());
        RawTable::from_columns(name, names, columns)
    }

    /// Reads data held in memory, in a given format; `name` names it in messages.
    pub fn from_bytes(
        name: &str,
        bytes: Vec<u8>,
        format: Format,
        options: &ReadOptions,
    ) -> Result<RawTable> {
        let path = PathBuf::from(name);
        if bytes.is_empty() {
            return Err(Error::EmptyFile { path });
        }
        let table = match format {
            Format::Parquet => parquet::read(parquet::ParquetInput::Bytes(path, bytes.into()))?,
            Format::Npz => npz::read(npz::NpzInput::Bytes(path, bytes))?,
            Format::Text => csv::read(
                csv::TextInput::new(path, Box::new(std::io::Cursor::new(bytes))),
                options,
            )?,
        };
        if table.n_rows() == 0 {
            return Err(Error::EmptyFile { path: table.path });
        }
        check_unique_names(&table)?;
        Ok(table)
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

/// A stream (standard input, a named pipe, a device) copied into a temporary file, for commands
/// that read their data twice. The file lives in `$TMPDIR`, is deleted when the spool is
/// dropped, and is removed by [`crate::output::remove_temporaries`] if the process is stopped.
pub struct Spool {
    file: tempfile::NamedTempFile,
    _registered: crate::output::Registered,
}

impl Spool {
    /// `None` for a regular file, which can be read twice as it is.
    pub fn of(path: &Path) -> Result<Option<Spool>> {
        if path.as_os_str() != STDIN {
            let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
            if metadata.is_file() || metadata.is_dir() {
                return Ok(None);
            }
        }
        let name = if path.as_os_str() == STDIN {
            PathBuf::from(STDIN_NAME)
        } else {
            path.to_path_buf()
        };
        let cannot = |e: std::io::Error| {
            Error::io(
                &name,
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "copying the stream into a temporary file in {} (it is read twice): {e}; set TMPDIR to a place with room, or write the data to a file first",
                        std::env::temp_dir().display()
                    ),
                ),
            )
        };
        let file = tempfile::Builder::new()
            .prefix(".synthad-spool.")
            // An extension the text reader takes; Parquet and .npz are told by their bytes.
            .suffix(".txt")
            .tempfile()
            .map_err(cannot)?;
        let spool = Spool {
            _registered: crate::output::Registered::new(file.path()),
            file,
        };
        let mut input: Box<dyn Read> = if path.as_os_str() == STDIN {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(File::open(path).map_err(|e| Error::io(path, e))?)
        };
        let mut out = std::io::BufWriter::new(spool.file.as_file());
        std::io::copy(&mut input, &mut out)
            .and_then(|_| std::io::Write::flush(&mut out))
            .map_err(cannot)?;
        drop(out);
        Ok(Some(spool))
    }

    /// The temporary file holding the stream.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// Two columns of one name would both be read as the first: refuse, naming them.
fn check_unique_names(table: &RawTable) -> Result<()> {
    let mut seen: std::collections::HashMap<&str, usize> = Default::default();
    for (i, name) in table.names.iter().enumerate() {
        if let Some(first) = seen.insert(name, i) {
            let hint = if table.has_header {
                ", or read the file with --header no to address columns by position"
            } else {
                ""
            };
            return Err(Error::Parse {
                path: table.path.clone(),
                message: format!(
                    "columns {first} and {i} (zero-based) are both named {name:?}, so they could not be told apart when scoring; rename one{hint}"
                ),
            });
        }
    }
    Ok(())
}

/// The file formats synthad reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text: CSV, TSV, UCI `.data`.
    Text,
    Parquet,
    /// A NumPy `.npz` archive with `X` and optionally `y`.
    Npz,
}

/// An opened input, by format.
enum Source {
    Parquet(parquet::ParquetInput),
    Npz(npz::NpzInput),
    Text(csv::TextInput),
}

const PARQUET_MAGIC: &[u8] = b"PAR1";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Opens a file or standard input and decides its format: by signature bytes first (so a
/// Parquet file named `.dat` still reads), then by extension. A stream that will be held
/// whole (`whole`, and Parquet or `.npz` from a pipe, whose index is at the end) is bounded
/// by the memory available, as a file's size is checked up front.
fn open(path: &Path, whole: bool) -> Result<Source> {
    let (name, mut reader): (PathBuf, Box<dyn Read + Send>) = if path.as_os_str() == STDIN {
        (PathBuf::from(STDIN_NAME), Box::new(std::io::stdin()))
    } else {
        let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if metadata.is_dir() {
            return Err(Error::Parse {
                path: path.into(),
                message: "is a directory, not a data file".into(),
            });
        }
        if metadata.is_file() {
            return open_file(path);
        }
        // A pipe or a device (/dev/stdin, a named pipe): read once, as a stream.
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        (path.to_path_buf(), Box::new(file))
    };
    let available = crate::memory::available().unwrap_or(1 << 40);
    let head = read_head(&mut reader, &name)?;
    if head == PARQUET_MAGIC || head == ZIP_MAGIC {
        // Both formats keep their index at the end: the whole stream is needed.
        let mut bytes = head;
        bounded::Bounded::total(
            reader,
            available / 2,
            "write it to a file first (Parquet and .npz files are then read in place)",
        )
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&name, e))?;
        return Ok(if bytes.starts_with(PARQUET_MAGIC) {
            Source::Parquet(parquet::ParquetInput::Bytes(name, bytes.into()))
        } else {
            Source::Npz(npz::NpzInput::Bytes(name, bytes))
        });
    }
    let reader: Box<dyn Read + Send> = if whole {
        // About 12 bytes of memory per byte of text at the peak, as for files.
        Box::new(bounded::Bounded::total(
            reader,
            available / 12,
            "train on a sample of the rows",
        ))
    } else {
        reader
    };
    let reader = std::io::Cursor::new(head).chain(reader);
    Ok(Source::Text(csv::TextInput::new(name, Box::new(reader))))
}

fn open_file(path: &Path) -> Result<Source> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let head = read_head(&mut file, path)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let path = path.to_path_buf();
    if head == PARQUET_MAGIC || matches!(extension.as_str(), "parquet" | "pq") {
        return Ok(Source::Parquet(parquet::ParquetInput::File(path, file)));
    }
    if head == ZIP_MAGIC || extension == "npz" {
        return Ok(Source::Npz(npz::NpzInput::File(path, file)));
    }
    match extension.as_str() {
        "csv" | "tsv" | "txt" | "data" | "test" | "dat" | "" => {
            Ok(Source::Text(csv::TextInput::new(path, Box::new(file))))
        }
        _ => Err(Error::UnsupportedFormat { path }),
    }
}

/// The first four bytes (fewer for a shorter input); an empty input is an error.
fn read_head(reader: &mut dyn Read, name: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(4);
    reader
        .take(4)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(name, e))?;
    if head.is_empty() {
        return Err(Error::EmptyFile { path: name.into() });
    }
    Ok(head)
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
