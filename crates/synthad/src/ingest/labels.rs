//! Labels: which rows are normal, which are anomalies and of what kind.
//!
//! Label values are compared in canonical form, so `3`, `3.0` and ` 3 ` are the same label
//! whether they came from text or from a float column.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{format_number, RawTable};
use crate::error::{Error, Result};

/// Canonical text of a label value: trimmed, numbers printed in one way.
pub fn canonical(label: &str) -> String {
    let trimmed = label.trim();
    match trimmed.parse::<f64>() {
        Ok(x) if x.is_finite() => format_number(x),
        _ => trimmed.to_string(),
    }
}

/// Which label values are normal and which are known anomalies in training data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSpec {
    /// The label column, by name or zero-based index.
    pub column: String,
    /// Label values of normal rows.
    pub normal: Vec<String>,
    /// Label values of known (labeled) anomalies; each value is an anomaly kind. Rows with any
    /// other label are left out of training.
    pub known: Vec<String>,
}

impl LabelSpec {
    pub fn is_normal(&self, canonical_label: &str) -> bool {
        self.normal.iter().any(|n| canonical(n) == canonical_label)
    }

    pub fn is_known(&self, canonical_label: &str) -> bool {
        self.known.iter().any(|k| canonical(k) == canonical_label)
    }
}

/// The label column of a file, in canonical form.
#[derive(Debug, Clone)]
pub struct Labels {
    pub column_index: usize,
    pub column_name: String,
    pub values: Vec<String>,
}

impl Labels {
    pub fn read(raw: &RawTable, column: &str) -> Result<Labels> {
        let column_index = raw.resolve(column)?;
        let values = raw
            .text_column(column_index)
            .iter()
            .map(|v| canonical(v))
            .collect();
        Ok(Labels {
            column_index,
            column_name: raw.names[column_index].clone(),
            values,
        })
    }

    /// Label values with their counts, for messages.
    pub fn summary(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for v in &self.values {
            *counts.entry(v).or_default() += 1;
        }
        let shown: Vec<String> = counts
            .iter()
            .take(20)
            .map(|(v, c)| format!("{v:?} ×{c}"))
            .collect();
        let more = if counts.len() > 20 {
            format!(", ... ({} values in all)", counts.len())
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(", "))
    }
}

/// Training rows by role.
#[derive(Debug, Clone, Default)]
pub struct RowSplit {
    pub normal: Vec<usize>,
    /// Known anomalies with their kind (label value).
    pub known: Vec<(usize, String)>,
    /// Rows whose label is neither normal nor known.
    pub left_out: usize,
}

impl RowSplit {
    pub fn new(raw: &RawTable, labels: &Labels, spec: &LabelSpec) -> Result<RowSplit> {
        let mut split = RowSplit::default();
        for (row, label) in labels.values.iter().enumerate() {
            if spec.is_normal(label) {
                split.normal.push(row);
            } else if spec.is_known(label) {
                split.known.push((row, label.clone()));
            } else {
                split.left_out += 1;
            }
        }
        if split.normal.is_empty() {
            return Err(Error::NoNormalRows {
                path: raw.path.clone(),
                column: labels.column_name.clone(),
                normal: spec.normal.join(", "),
                seen: labels.summary(),
            });
        }
        if let Some(missing) = spec.known.iter().find(|k| {
            let k = canonical(k);
            !split.known.iter().any(|(_, kind)| *kind == k)
        }) {
            return Err(Error::InvalidParams(format!(
                "{}: no rows have the known-anomaly label {missing:?} in column {:?} (labels seen: {})",
                raw.path.display(),
                labels.column_name,
                labels.summary()
            )));
        }
        Ok(split)
    }
}
