//! Parquet files, read with arrow-rs. Numeric and boolean columns become numbers, string
//! columns text; other Arrow types are refused with the column named.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::{RawColumn, RawTable};
use crate::error::{Error, Result};

fn parse_error(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Parse {
        path: path.into(),
        message: format!("not a readable Parquet file: {e}"),
    }
}

/// Reads a Parquet file in record batches of `chunk_rows` rows, one table per batch.
pub(super) struct ParquetChunks {
    path: PathBuf,
    names: Vec<String>,
    /// Empty columns of the right kinds, cloned for each batch.
    empty: Vec<RawColumn>,
    reader: ParquetRecordBatchReader,
    emitted: usize,
}

impl ParquetChunks {
    pub(super) fn open(path: &Path, chunk_rows: usize) -> Result<ParquetChunks> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parse_error(path, &e))?;
        let schema = builder.schema().clone();
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        let empty = schema
            .fields()
            .iter()
            .map(|f| column_for(path, f.name(), f.data_type()))
            .collect::<Result<_>>()?;
        let reader = builder
            .with_batch_size(chunk_rows.max(1))
            .build()
            .map_err(|e| parse_error(path, &e))?;
        Ok(ParquetChunks {
            path: path.into(),
            names,
            empty,
            reader,
            emitted: 0,
        })
    }
}

impl Iterator for ParquetChunks {
    type Item = Result<RawTable>;

    fn next(&mut self) -> Option<Result<RawTable>> {
        let batch = match self.reader.next()? {
            Ok(batch) => batch,
            Err(e) => return Some(Err(parse_error(&self.path, &e))),
        };
        let mut columns = self.empty.clone();
        if let Err(e) = append_batch(&batch, &mut columns) {
            return Some(Err(parse_error(&self.path, &e)));
        }
        let first_row = self.emitted;
        self.emitted += batch.num_rows();
        Some(Ok(RawTable {
            path: self.path.clone(),
            names: self.names.clone(),
            has_header: true,
            first_row,
            columns,
        }))
    }
}

/// Reads a whole Parquet file.
pub(super) fn read(path: &Path) -> Result<RawTable> {
    let mut table = RawTable {
        path: path.into(),
        names: Vec::new(),
        has_header: true,
        first_row: 0,
        columns: Vec::new(),
    };
    for (i, chunk) in ParquetChunks::open(path, 8192)?.enumerate() {
        let chunk = chunk?;
        if i == 0 {
            table.names = chunk.names;
            table.columns = chunk.columns;
        } else {
            for (all, part) in table.columns.iter_mut().zip(chunk.columns) {
                all.extend(part);
            }
        }
    }
    if table.names.is_empty() {
        // A file with a schema but no row groups: no rows.
        return Err(Error::EmptyFile { path: path.into() });
    }
    Ok(table)
}

fn column_for(path: &Path, name: &str, data_type: &DataType) -> Result<RawColumn> {
    if is_text(data_type) {
        Ok(RawColumn::Text(Vec::new()))
    } else if data_type.is_numeric() || *data_type == DataType::Boolean {
        Ok(RawColumn::Float(Vec::new()))
    } else {
        Err(Error::SchemaMismatch {
            path: path.into(),
            message: format!(
                "column {name:?} has Arrow type {data_type}, which synthad cannot use; drop it with --ignore {name:?}"
            ),
        })
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
        }
        debug_assert_eq!(array.len(), batch.num_rows());
    }
    Ok(())
}
