//! Parquet files, read with arrow-rs. Numeric and boolean columns become numbers, string
//! columns text; other Arrow types are refused with the column named.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{RawColumn, RawTable};
use crate::error::{Error, Result};

pub(super) fn read(path: &Path) -> Result<RawTable> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let parse_error = |e: &dyn std::fmt::Display| Error::Parse {
        path: path.into(),
        message: format!("not a readable Parquet file: {e}"),
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parse_error(&e))?;
    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut columns: Vec<RawColumn> = schema
        .fields()
        .iter()
        .map(|f| column_for(path, f.name(), f.data_type()))
        .collect::<Result<_>>()?;
    let reader = builder.build().map_err(|e| parse_error(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| parse_error(&e))?;
        append_batch(&batch, &mut columns).map_err(|e| parse_error(&e))?;
    }
    Ok(RawTable {
        path: path.into(),
        names,
        has_header: true,
        columns,
    })
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
pub(crate) fn append_batch(
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
