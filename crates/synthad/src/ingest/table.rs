//! Column kinds: a [`RawTable`] becomes a typed [`Table`], with kinds either declared by the user,
//! inferred from the values (training) or dictated by a model (scoring).

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{format_number, RawColumn, RawTable, ReadOptions};
use crate::error::{Error, Result};

/// Share of numeric fields above which a non-numeric field is taken for a typo in a numeric
/// column (an error) rather than a sign that the column is categorical.
const NUMERIC_MAJORITY: f64 = 0.9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Min-max scaled; synthetic values uniform on the (widened) training range.
    Numeric,
    /// Two values 0/1; synthetic values Bernoulli(0.5).
    Binary,
    /// One-hot encoded; synthetic values a uniformly chosen training category.
    Categorical,
}

/// The user's say on columns: kinds to force and columns to leave out. Columns are named, or
/// addressed by zero-based index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub numeric: Vec<String>,
    pub binary: Vec<String>,
    pub categorical: Vec<String>,
    pub ignore: Vec<String>,
}

/// A typed column. Missing numeric values are NaN, missing categories `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// Position of the column in the file it came from.
    pub source_index: usize,
    pub kind: ColumnKind,
    pub values: Values,
}

impl Column {
    fn clone_empty(&self) -> Column {
        Column {
            name: self.name.clone(),
            source_index: self.source_index,
            kind: self.kind,
            values: Values::Numeric(Vec::new()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Numeric(Vec<f64>),
    Categorical(Vec<Option<String>>),
}

/// Feature columns of one file, typed.
#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub n_rows: usize,
    pub columns: Vec<Column>,
}

enum Field {
    Missing,
    Number(f64),
    Text,
}

fn classify(field: Option<&str>, options: &ReadOptions) -> Field {
    match field {
        None => Field::Missing,
        Some(f) if options.is_missing(f) => Field::Missing,
        Some(f) => match f.trim().parse::<f64>() {
            Ok(x) => Field::Number(x),
            Err(_) => Field::Text,
        },
    }
}

impl Table {
    /// A table of numeric columns held in memory (`source` names it in messages).
    pub fn from_numeric_columns(source: &str, columns: Vec<(String, Vec<f64>)>) -> Table {
        let n_rows = columns.first().map_or(0, |c| c.1.len());
        assert!(
            columns.iter().all(|c| c.1.len() == n_rows),
            "columns differ in length"
        );
        Table {
            path: source.into(),
            n_rows,
            columns: columns
                .into_iter()
                .enumerate()
                .map(|(i, (name, values))| Column {
                    name,
                    source_index: i,
                    kind: ColumnKind::Numeric,
                    values: Values::Numeric(values),
                })
                .collect(),
        }
    }

    /// A new table of the given rows, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> Table {
        let columns = self
            .columns
            .iter()
            .map(|c| Column {
                values: match &c.values {
                    Values::Numeric(v) => Values::Numeric(rows.iter().map(|&r| v[r]).collect()),
                    Values::Categorical(v) => {
                        Values::Categorical(rows.iter().map(|&r| v[r].clone()).collect())
                    }
                },
                ..c.clone_empty()
            })
            .collect();
        Table {
            path: self.path.clone(),
            n_rows: rows.len(),
            columns,
        }
    }

    /// Types every column of `raw` except `exclude` (label, id columns) and the spec's ignored
    /// ones: declared kinds first, inferred kinds for the rest.
    pub fn infer(
        raw: &RawTable,
        spec: &ColumnSpec,
        exclude: &[usize],
        options: &ReadOptions,
    ) -> Result<Table> {
        let resolve_all = |refs: &[String]| -> Result<HashSet<usize>> {
            refs.iter().map(|r| raw.resolve(r)).collect()
        };
        let numeric = resolve_all(&spec.numeric)?;
        let binary = resolve_all(&spec.binary)?;
        let categorical = resolve_all(&spec.categorical)?;
        let ignore = resolve_all(&spec.ignore)?;
        for (i, name) in raw.names.iter().enumerate() {
            let declared = [&numeric, &binary, &categorical]
                .iter()
                .filter(|s| s.contains(&i))
                .count();
            if declared > 1 {
                return Err(Error::invalid(
                    "columns",
                    format!("{name:?}"),
                    "one declared kind per column (--numeric, --binary or --categorical)",
                ));
            }
        }

        let mut kinds = Vec::new();
        for i in 0..raw.names.len() {
            if exclude.contains(&i) || ignore.contains(&i) {
                continue;
            }
            let kind = if numeric.contains(&i) {
                ColumnKind::Numeric
            } else if binary.contains(&i) {
                ColumnKind::Binary
            } else if categorical.contains(&i) {
                ColumnKind::Categorical
            } else {
                infer_kind(raw, i, options)?
            };
            kinds.push((i, kind));
        }
        if kinds.is_empty() {
            return Err(Error::bad_data(
                &raw.path,
                "no feature columns are left after removing the label and ignored columns",
            ));
        }
        let table = Self::with_kinds(raw, &kinds, options)?;
        // Scoring data may hold other values in a binary column (they are anomalous, not
        // wrong); training data declared binary must hold 0 and 1 only.
        for column in &table.columns {
            if let (ColumnKind::Binary, Values::Numeric(numbers)) = (column.kind, &column.values) {
                check_binary(numbers, |row, message| Error::BadValue {
                    path: raw.path.clone(),
                    row: raw.first_row + row + 1,
                    column: column.name.clone(),
                    message,
                })?;
            }
        }
        Ok(table)
    }

    /// Types the given columns of `raw` with the given kinds: how scoring data is read, by the
    /// kinds a model was trained with.
    pub fn with_kinds(
        raw: &RawTable,
        kinds: &[(usize, ColumnKind)],
        options: &ReadOptions,
    ) -> Result<Table> {
        let columns = kinds
            .iter()
            .map(|&(i, kind)| {
                let values = convert(raw, i, kind, options)?;
                Ok(Column {
                    name: raw.names[i].clone(),
                    source_index: i,
                    kind,
                    values,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Table {
            path: raw.path.clone(),
            n_rows: raw.n_rows(),
            columns,
        })
    }
}

fn infer_kind(raw: &RawTable, index: usize, options: &ReadOptions) -> Result<ColumnKind> {
    match &raw.columns[index] {
        RawColumn::Other { data_type, .. } => Err(unusable(raw, index, data_type)),
        RawColumn::Float(values) => {
            let mut present = values.iter().flatten().copied().filter(|x| !x.is_nan());
            Ok(if present.all(|x| x == 0.0 || x == 1.0) {
                ColumnKind::Binary
            } else {
                ColumnKind::Numeric
            })
        }
        RawColumn::Text(fields) => {
            let mut numbers = 0usize;
            let mut texts = 0usize;
            let mut first_text = None;
            let mut distinct_numbers = Vec::new();
            for (row, field) in fields.iter().enumerate() {
                match classify(field.as_deref(), options) {
                    Field::Missing => {}
                    Field::Number(x) => {
                        numbers += 1;
                        if distinct_numbers.len() < 3 && !distinct_numbers.contains(&x.to_bits()) {
                            distinct_numbers.push(x.to_bits());
                        }
                    }
                    Field::Text => {
                        texts += 1;
                        first_text.get_or_insert(row);
                    }
                }
            }
            let Some(row) = first_text else {
                let binary = distinct_numbers
                    .iter()
                    .all(|&b| f64::from_bits(b) == 0.0 || f64::from_bits(b) == 1.0);
                return Ok(if binary && numbers > 0 {
                    ColumnKind::Binary
                } else {
                    ColumnKind::Numeric
                });
            };
            let share = numbers as f64 / (numbers + texts) as f64;
            if share >= NUMERIC_MAJORITY {
                return Err(Error::BadValue {
                    path: raw.path.clone(),
                    row: raw.first_row + row + 1,
                    column: raw.names[index].clone(),
                    message: format!(
                        "{:?} is not a number, though the column's other values are; fix the value, mark it missing (--missing), or declare the column categorical (--categorical {})",
                        fields[row].as_deref().unwrap_or(""),
                        raw.names[index]
                    ),
                });
            }
            Ok(ColumnKind::Categorical)
        }
    }
}

fn convert(
    raw: &RawTable,
    index: usize,
    kind: ColumnKind,
    options: &ReadOptions,
) -> Result<Values> {
    let name = &raw.names[index];
    let bad_value = |row: usize, message: String| Error::BadValue {
        path: raw.path.clone(),
        row: raw.first_row + row + 1,
        column: name.clone(),
        message,
    };
    let check_number = |row: usize, x: f64| -> Result<f64> {
        if x.is_nan() {
            if options.nan_is_missing() {
                Ok(f64::NAN)
            } else {
                Err(bad_value(
                    row,
                    "NaN is not a value synthad can learn from; if it marks a missing value, add it to the missing markers (--missing NaN)".into(),
                ))
            }
        } else if x.is_infinite() {
            Err(bad_value(
                row,
                format!("{x} is not a finite number; replace it or mark the field missing"),
            ))
        } else {
            Ok(x)
        }
    };
    match (kind, &raw.columns[index]) {
        (ColumnKind::Categorical, RawColumn::Text(fields)) => Ok(Values::Categorical(
            fields
                .iter()
                .map(|f| match f {
                    Some(f) if !options.is_missing(f) => Some(f.trim().to_string()),
                    _ => None,
                })
                .collect(),
        )),
        (ColumnKind::Categorical, RawColumn::Other { values, .. }) => {
            Ok(Values::Categorical(values.clone()))
        }
        (_, RawColumn::Other { data_type, .. }) => Err(unusable(raw, index, data_type)),
        (ColumnKind::Categorical, RawColumn::Float(values)) => Ok(Values::Categorical(
            values
                .iter()
                .map(|v| v.filter(|x| !x.is_nan()).map(format_number))
                .collect(),
        )),
        (_, RawColumn::Float(values)) => {
            let numbers = values
                .iter()
                .enumerate()
                .map(|(row, v)| match v {
                    None => Ok(f64::NAN),
                    Some(x) => check_number(row, *x),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Values::Numeric(numbers))
        }
        (_, RawColumn::Text(fields)) => {
            let numbers = fields
                .iter()
                .enumerate()
                .map(|(row, field)| match classify(field.as_deref(), options) {
                    Field::Missing => Ok(f64::NAN),
                    Field::Number(x) => check_number(row, x),
                    Field::Text => Err(bad_value(
                        row,
                        format!(
                            "{:?} is not a number, but the column is {}; fix the value or mark it missing (--missing)",
                            field.as_deref().unwrap_or(""),
                            if kind == ColumnKind::Binary { "binary" } else { "numeric" }
                        ),
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Values::Numeric(numbers))
        }
    }
}

/// A column of a type that is neither number nor text, used as a feature.
fn unusable(raw: &RawTable, index: usize, data_type: &str) -> Error {
    let name = &raw.names[index];
    Error::SchemaMismatch {
        path: raw.path.clone(),
        message: format!(
            "column {name:?} has type {data_type}, which synthad cannot use as a number; leave it out with --ignore {name:?}, or use its values as categories with --categorical {name:?}"
        ),
    }
}

fn check_binary(numbers: &[f64], bad_value: impl Fn(usize, String) -> Error) -> Result<()> {
    match numbers
        .iter()
        .position(|&x| !x.is_nan() && x != 0.0 && x != 1.0)
    {
        Some(row) => Err(bad_value(
            row,
            format!(
                "{} in a binary column (values must be 0 or 1); declare the column numeric (--numeric)",
                numbers[row]
            ),
        )),
        None => Ok(()),
    }
}
