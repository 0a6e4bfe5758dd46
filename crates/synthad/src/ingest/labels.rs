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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
        if let Some(both) = spec.normal.iter().find(|n| spec.is_known(&canonical(n))) {
            return Err(Error::invalid(
                "known",
                format!("{both:?}"),
                "labels other than the normal ones: the normal (--normal) and known-anomaly (--known) labels must not overlap",
            ));
        }
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
            return Err(Error::bad_data(
                &raw.path,
                format!(
                    "no rows have the known-anomaly label {missing:?} in column {:?} (labels seen: {})",
                    labels.column_name,
                    labels.summary()
                ),
            ));
        }
        Ok(split)
    }

    /// Roles from one entry per row: `None` normal, `Some(kind)` a known anomaly.
    pub fn from_kinds(kinds: &[Option<String>]) -> RowSplit {
        let mut split = RowSplit::default();
        for (row, kind) in kinds.iter().enumerate() {
            match kind {
                None => split.normal.push(row),
                Some(kind) => split.known.push((row, kind.clone())),
            }
        }
        split
    }

    /// Keeps a random `fraction` of the known anomalies (at least one of each kind), for
    /// experiments where only part of the anomalies would be labeled.
    pub(crate) fn keep_known_fraction(&mut self, fraction: f64, seed: u64) {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        if fraction >= 1.0 {
            return;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        self.known.shuffle(&mut rng);
        let keep = ((fraction * self.known.len() as f64).round() as usize).max(1);
        let mut kept: Vec<(usize, String)> = self.known[..keep.min(self.known.len())].to_vec();
        for (row, kind) in &self.known[keep.min(self.known.len())..] {
            if !kept.iter().any(|(_, k)| k == kind) {
                kept.push((*row, kind.clone()));
            }
        }
        kept.sort();
        self.known = kept;
    }
}

/// Groups label values into anomaly kinds (e.g. attack names into attack families). Labels not
/// in the map are their own kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindMap {
    map: std::collections::HashMap<String, String>,
}

impl KindMap {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> KindMap {
        KindMap {
            map: pairs.into_iter().map(|(l, k)| (canonical(&l), k)).collect(),
        }
    }

    /// Reads a CSV file with a header and two columns: label, kind. A label given two kinds
    /// is refused, naming both lines.
    pub fn read(path: &std::path::Path) -> Result<KindMap> {
        let parse = |message: String| Error::Parse {
            path: path.into(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = ::csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(super::bounded::Bounded::records(file));
        let mut lines: std::collections::HashMap<String, (String, u64)> = Default::default();
        let mut pairs = Vec::new();
        let mut record = ::csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(parse(e.to_string())),
            }
            let line = record.position().map_or(0, |p| p.line());
            let text = |i: usize| {
                std::str::from_utf8(&record[i])
                    .map(|s| s.trim().to_string())
                    .map_err(|_| parse(format!("line {line}: not valid UTF-8 text")))
            };
            if record.len() != 2 {
                return Err(parse(format!(
                    "line {line}: expected two fields (label, kind), found {}",
                    record.len()
                )));
            }
            let (label, kind) = (text(0)?, text(1)?);
            if let Some((earlier, at)) = lines.get(&canonical(&label)) {
                if *earlier != kind {
                    return Err(parse(format!(
                        "line {line} maps label {label:?} to kind {kind:?}, but line {at} maps it to {earlier:?}; give each label one kind"
                    )));
                }
            }
            lines.insert(canonical(&label), (kind.clone(), line));
            pairs.push((label, kind));
        }
        Ok(KindMap::new(pairs))
    }

    pub fn kind_of(&self, label: &str) -> String {
        self.map
            .get(label)
            .cloned()
            .unwrap_or_else(|| label.to_string())
    }
}
