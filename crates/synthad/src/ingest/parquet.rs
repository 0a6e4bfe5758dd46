//! Parquet files, read with arrow-rs. Numeric and boolean columns become numbers, string
//! columns text; other Arrow types (dates, lists) are kept as their text, usable as labels and
//! carried columns, and refused as features unless declared categorical.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Type as PhysicalType;
use parquet::column::page::Page;
use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};

use super::{RawColumn, RawTable};
use crate::error::{Error, Result};

fn parse_error(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Parse {
        path: path.into(),
        message: format!("not a readable Parquet file: {e}"),
    }
}

/// A Parquet input, opened: a file, or a whole stream held in memory.
pub(super) enum ParquetInput {
    File(PathBuf, std::fs::File),
    Bytes(PathBuf, bytes::Bytes),
}

/// Reads a Parquet file in record batches of `chunk_rows` rows, one table per batch.
pub(super) struct ParquetChunks {
    path: PathBuf,
    names: Vec<String>,
    /// Empty columns of the right kinds, cloned for each batch.
    empty: Vec<RawColumn>,
    reader: ParquetRecordBatchReader,
    emitted: usize,
    /// After an error the reader's state is unknown: no more batches.
    failed: bool,
}

/// Runs the Parquet reader, turning a panic inside it into an error: the parquet crate still
/// panics on some damaged files (fuzzing found "Decoder for dict should have been set";
/// arrow-rs is replacing such panics with errors release by release).
fn contained<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the reader failed".into());
        Err(parse_error(
            path,
            &format!("the file is damaged ({message})"),
        ))
    })
}

/// The parquet crate allocates and zeroes a dictionary page's declared number of values before
/// checking it: fuzzing found a 12 KB file declaring 1.2 billion (9.4 GB). So every column
/// chunk's dictionary is checked first against what can be true: no more entries than the
/// chunk has values, and no more than its page's bytes can hold.
fn check_dictionaries<R: ChunkReader + 'static>(path: &Path, reader: R) -> Result<()> {
    let damaged = |e: &dyn std::fmt::Display| parse_error(path, e);
    let file = SerializedFileReader::new(reader).map_err(|e| damaged(&e))?;
    let metadata = file.metadata();
    for g in 0..metadata.num_row_groups() {
        let group = file.get_row_group(g).map_err(|e| damaged(&e))?;
        for c in 0..metadata.row_group(g).num_columns() {
            let chunk = metadata.row_group(g).column(c);
            let mut pages = group.get_column_page_reader(c).map_err(|e| damaged(&e))?;
            let Some(Page::DictionaryPage {
                buf, num_values, ..
            }) = pages.get_next_page().map_err(|e| damaged(&e))?
            else {
                continue;
            };
            // The fewest bytes one entry takes (a byte array: its 4-byte length).
            let width = match chunk.column_type() {
                PhysicalType::INT32 | PhysicalType::FLOAT | PhysicalType::BYTE_ARRAY => 4,
                PhysicalType::INT64 | PhysicalType::DOUBLE => 8,
                PhysicalType::INT96 => 12,
                PhysicalType::FIXED_LEN_BYTE_ARRAY => {
                    chunk.column_descr().type_length().max(0) as usize
                }
                PhysicalType::BOOLEAN => 0,
            };
            let entries = num_values as usize;
            if entries as i64 > chunk.num_values().max(0)
                || entries.saturating_mul(width) > buf.len()
            {
                return Err(damaged(&format!(
                    "column {:?} declares a dictionary of {entries} values in a page of {} \
                     bytes, for {} values",
                    chunk.column_path().string(),
                    buf.len(),
                    chunk.num_values()
                )));
            }
        }
    }
    Ok(())
}

impl ParquetChunks {
    pub(super) fn open(input: ParquetInput, chunk_rows: usize) -> Result<ParquetChunks> {
        match input {
            ParquetInput::File(path, file) => contained(&path.clone(), || {
                let copy = file.try_clone().map_err(|e| Error::io(&path, e))?;
                check_dictionaries(&path, copy)?;
                Self::from_reader(path, file, chunk_rows)
            }),
            ParquetInput::Bytes(path, bytes) => contained(&path.clone(), || {
                check_dictionaries(&path, bytes.clone())?;
                Self::from_reader(path, bytes, chunk_rows)
            }),
        }
    }

    fn from_reader<R: ChunkReader + 'static>(
        path: PathBuf,
        reader: R,
        chunk_rows: usize,
    ) -> Result<ParquetChunks> {
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(reader).map_err(|e| parse_error(&path, &e))?;
        let schema = builder.schema().clone();
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        let empty = schema
            .fields()
            .iter()
            .map(|f| column_for(f.data_type()))
            .collect();
        let reader = builder
            .with_batch_size(chunk_rows.max(1))
            .build()
            .map_err(|e| parse_error(&path, &e))?;
        Ok(ParquetChunks {
            path,
            names,
            empty,
            reader,
            emitted: 0,
            failed: false,
        })
    }
}

impl Iterator for ParquetChunks {
    type Item = Result<RawTable>;

    fn next(&mut self) -> Option<Result<RawTable>> {
        if self.failed {
            return None;
        }
        let path = self.path.clone();
        let next = contained(&path, || {
            let batch = match self.reader.next() {
                None => return Ok(None),
                Some(batch) => batch.map_err(|e| parse_error(&self.path, &e))?,
            };
            let mut columns = self.empty.clone();
            append_batch(&batch, &mut columns).map_err(|e| parse_error(&self.path, &e))?;
            let first_row = self.emitted;
            self.emitted += batch.num_rows();
            Ok(Some(RawTable {
                path: self.path.clone(),
                names: self.names.clone(),
                has_header: true,
                first_row,
                columns,
            }))
        });
        self.failed = next.is_err();
        next.transpose()
    }
}

/// Reads a whole Parquet file.
pub(super) fn read(input: ParquetInput) -> Result<RawTable> {
    let chunks = ParquetChunks::open(input, 8192)?;
    let mut table = RawTable {
        path: chunks.path.clone(),
        names: chunks.names.clone(),
        has_header: true,
        first_row: 0,
        columns: chunks.empty.clone(),
    };
    for chunk in chunks {
        for (all, part) in table.columns.iter_mut().zip(chunk?.columns) {
            all.extend(part);
        }
    }
    Ok(table)
}

/// Numbers and booleans become numbers, strings text; anything else is kept as text for
/// labels and carried columns ([`RawColumn::Other`]).
fn column_for(data_type: &DataType) -> RawColumn {
    if is_text(data_type) {
        RawColumn::Text(Vec::new())
    } else if data_type.is_numeric() || *data_type == DataType::Boolean {
        RawColumn::Float(Vec::new())
    } else {
        RawColumn::Other {
            data_type: data_type.to_string(),
            values: Vec::new(),
        }
    }
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _)
    )
}

/// Appends one record batch to the columns, converting through Arrow's own casts.
fn append_batch(
    batch: &RecordBatch,
    columns: &mut [RawColumn],
) -> std::result::Result<(), arrow_schema::ArrowError> {
    for (array, column) in batch.columns().iter().zip(columns.iter_mut()) {
        match column {
            RawColumn::Float(values) => {
                let cast = arrow_cast::cast(array, &DataType::Float64)?;
                let floats = cast.as_primitive::<Float64Type>();
                values.extend(floats.iter());
            }
            RawColumn::Text(values) => {
                let cast = arrow_cast::cast(array, &DataType::Utf8)?;
                let strings = cast.as_string::<i32>();
                values.extend(strings.iter().map(|s| s.map(str::to_string)));
            }
            RawColumn::Other { values, .. } => {
                let options = arrow_cast::display::FormatOptions::default();
                let format = arrow_cast::display::ArrayFormatter::try_new(array, &options)?;
                values.extend(
                    (0..array.len())
                        .map(|i| array.is_valid(i).then(|| format.value(i).to_string())),
                );
            }
        }
        debug_assert_eq!(array.len(), batch.num_rows());
    }
    Ok(())
}
