//! How a fitted model reads new data: the columns it uses, where they sit in the training
//! file, and their kinds. Files with a header match columns by name, others by position.

use serde::{Deserialize, Serialize};

use super::labels::Labels;
use super::{ColumnKind, RawTable, ReadOptions, Table};
use crate::error::{Error, Result};
use crate::prepare::Preprocessor;

/// How to read data for a fitted model: the columns it uses, where they are, their kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSchema {
    pub read: ReadOptions,
    /// Whether columns are matched by name (a header, Parquet, npz) or by position.
    pub by_name: bool,
    /// Number of columns of the training file, for files matched by position.
    pub source_columns: usize,
    /// The label column of the training file, if any.
    pub label_column: Option<String>,
    pub label_index: Option<usize>,
    pub columns: Vec<SchemaColumn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaColumn {
    pub name: String,
    pub source_index: usize,
    pub kind: ColumnKind,
}

impl InputSchema {
    pub(crate) fn of(
        raw: &RawTable,
        table: &Table,
        read: &ReadOptions,
        label: Option<&Labels>,
    ) -> InputSchema {
        InputSchema {
            read: read.clone(),
            by_name: raw.has_header,
            source_columns: raw.names.len(),
            label_column: label.map(|l| l.column_name.clone()),
            label_index: label.map(|l| l.column_index),
            columns: table
                .columns
                .iter()
                .map(|c| SchemaColumn {
                    name: c.name.clone(),
                    source_index: c.source_index,
                    kind: c.kind,
                })
                .collect(),
        }
    }

    /// Checks a schema read from a file against the preprocessor it feeds: the same columns,
    /// every position inside the training file's columns, no column used twice.
    pub fn check(&self, preprocessor: &Preprocessor) -> std::result::Result<(), String> {
        let same_columns = self.columns.len() == preprocessor.columns.len()
            && self
                .columns
                .iter()
                .zip(&preprocessor.columns)
                .all(|(s, p)| {
                    s.name == p.name && s.kind == p.kind && s.source_index == p.source_index
                });
        if !same_columns {
            return Err("the input columns differ from the preprocessor's".into());
        }
        let mut positions: Vec<usize> = self.columns.iter().map(|c| c.source_index).collect();
        positions.extend(self.label_index);
        if positions.iter().any(|&i| i >= self.source_columns) {
            return Err(format!(
                "a column position is past the training file's {} columns",
                self.source_columns
            ));
        }
        positions.sort_unstable();
        if positions.windows(2).any(|w| w[0] == w[1]) {
            return Err("two columns share a position".into());
        }
        let mut names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err("two columns share a name".into());
        }
        Ok(())
    }

    /// Types the model's columns of a new file by the kinds of the training file. Files with a
    /// header match columns by name. Files without one match by position, so they must have
    /// exactly the training file's columns: all of them, or, when `has_label` is false, all but
    /// the label column (the columns after it then sit one place earlier).
    pub fn table_from(&self, raw: &RawTable, has_label: bool) -> Result<Table> {
        let mismatch = |message: String| Error::SchemaMismatch {
            path: raw.path.clone(),
            message,
        };
        let kinds = if self.by_name {
            self.positions_by_name(raw)?
        } else {
            let dropped = if has_label { None } else { self.label_index };
            let expected = self.source_columns - usize::from(dropped.is_some());
            if raw.names.len() != expected {
                let hint = match (has_label, self.label_index) {
                    (true, Some(label)) if raw.names.len() + 1 == self.source_columns => format!(
                        "; if the file lacks only the label column (column {label} in training), say so with --no-label"
                    ),
                    _ => String::new(),
                };
                return Err(mismatch(format!(
                    "the data has {} columns but the model expects {expected} ({} the label column); columns without a header are matched by position{hint}",
                    raw.names.len(),
                    if dropped.is_some() { "the training file's without" } else { "as in the training file, with" },
                )));
            }
            self.columns
                .iter()
                .map(|c| {
                    let shift = dropped.is_some_and(|label| c.source_index > label);
                    (c.source_index - usize::from(shift), c.kind)
                })
                .collect()
        };
        self.typed(raw, &kinds)
    }

    /// Types in-memory columns (`RawTable::from_columns`) by their names, whatever the
    /// training file's layout: a model trained on a file without a header takes columns
    /// named by position ("0", "1", ...), and needs neither the label nor ignored columns.
    pub fn table_by_name(&self, raw: &RawTable) -> Result<Table> {
        let kinds = self.positions_by_name(raw)?;
        self.typed(raw, &kinds)
    }

    fn positions_by_name(&self, raw: &RawTable) -> Result<Vec<(usize, ColumnKind)>> {
        self.columns
            .iter()
            .map(|c| {
                raw.names
                    .iter()
                    .position(|n| *n == c.name)
                    .map(|i| (i, c.kind))
                    .ok_or_else(|| Error::SchemaMismatch {
                        path: raw.path.clone(),
                        message: format!(
                            "the model was trained on column {:?}, which this data lacks; score data with the training file's columns",
                            c.name
                        ),
                    })
            })
            .collect()
    }

    fn typed(&self, raw: &RawTable, kinds: &[(usize, ColumnKind)]) -> Result<Table> {
        let mut table = Table::with_kinds(raw, kinds, &self.read)?;
        // Positional files carry index names; the model's names are the training file's.
        for (column, schema) in table.columns.iter_mut().zip(&self.columns) {
            column.name = schema.name.clone();
        }
        Ok(table)
    }
}
