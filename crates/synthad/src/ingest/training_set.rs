//! Training data: typed rows, which of them are normal and which are known anomalies (with
//! their kinds), and, for data from a file or from named columns, the schema a fitted model
//! keeps to read new data the same way.

use std::path::Path;

use super::labels::{LabelSpec, Labels, RowSplit};
use super::schema::InputSchema;
use super::{ColumnSpec, RawTable, ReadOptions, Table};
use crate::error::{Error, Result};

/// What reading a labeled training file needs.
#[derive(Debug, Clone, Default)]
pub struct DataSpec {
    pub read: ReadOptions,
    pub columns: ColumnSpec,
    pub labels: LabelSpec,
}

/// Rows to train on: see the module documentation.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    table: Table,
    split: RowSplit,
    schema: Option<InputSchema>,
    labels: Option<LabelSpec>,
}

impl TrainingSet {
    /// Reads a labeled file: the label column says which rows are normal, which are known
    /// anomalies (each label value a kind) and which are left out.
    pub fn read(path: &Path, spec: &DataSpec) -> Result<TrainingSet> {
        let raw = RawTable::read(path, &spec.read)?;
        let labels = Labels::read(&raw, &spec.labels.column)?;
        let table = Table::infer(&raw, &spec.columns, &[labels.column_index], &spec.read)?;
        let split = RowSplit::new(&raw, &labels, &spec.labels)?;
        Ok(TrainingSet {
            schema: Some(InputSchema::of(&raw, &table, &spec.read, Some(&labels))),
            labels: Some(spec.labels.clone()),
            table,
            split,
        })
    }

    /// Rows of named columns without a label column (a matrix, a data frame), with each row's
    /// role: `None` normal (or unlabeled), `Some(kind)` a known anomaly of that kind. Kinds of
    /// columns are inferred as from a file, except those `columns` declares.
    pub fn from_raw(
        raw: &RawTable,
        kinds: &[Option<String>],
        columns: &ColumnSpec,
        read: &ReadOptions,
    ) -> Result<TrainingSet> {
        if kinds.len() != raw.n_rows() {
            return Err(Error::invalid(
                "kinds",
                format!("{} labels", kinds.len()),
                format!("one per row ({})", raw.n_rows()),
            ));
        }
        let table = Table::infer(raw, columns, &[], read)?;
        Ok(TrainingSet {
            schema: Some(InputSchema::of(raw, &table, read, None)),
            labels: None,
            split: RowSplit::from_kinds(kinds),
            table,
        })
    }

    /// Typed rows held in memory. Without a schema, a detector fitted on them scores typed
    /// tables ([`crate::Detector::decision_function`]) but not files.
    pub fn new(table: Table, split: RowSplit) -> TrainingSet {
        TrainingSet {
            table,
            split,
            schema: None,
            labels: None,
        }
    }

    /// Keeps a random `fraction` of the known anomalies (at least one of each kind), for
    /// experiments where only part of the anomalies would be labeled.
    pub fn keep_known_fraction(&mut self, fraction: f64, seed: u64) -> Result<()> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(Error::invalid(
                "known_fraction",
                fraction,
                "a share in (0, 1]",
            ));
        }
        self.split.keep_known_fraction(fraction, seed);
        Ok(())
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn split(&self) -> &RowSplit {
        &self.split
    }

    pub fn schema(&self) -> Option<&InputSchema> {
        self.schema.as_ref()
    }

    pub fn labels(&self) -> Option<&LabelSpec> {
        self.labels.as_ref()
    }
}
