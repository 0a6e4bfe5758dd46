//! Prepare: a preprocessor fitted on training rows and applied identically at scoring time.
//!
//! Numeric and binary columns are min-max scaled to [0, 1] (values outside the training range
//! stay outside), categorical columns one-hot encoded (an unseen category maps to zeros), and
//! missing values take the training mean of their encoded columns. A categorical column with
//! more distinct values than `max_categories` keeps its frequent categories and pools the rest
//! into one "other" feature, so a column of user ids or addresses stays a bounded width.

mod matrix;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ingest::{ColumnKind, Table, Values};

pub use matrix::Matrix;

/// The name a pooled "other" category goes by in feature names and decoded rows.
pub const OTHER_CATEGORY: &str = "(other)";

/// How one input column becomes encoded features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnTransform {
    pub name: String,
    pub source_index: usize,
    pub kind: ColumnKind,
    pub encoding: Encoding,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Encoding {
    /// (x - min) / (max - min); a constant column maps to 0. Missing values take `mean`.
    MinMax { min: f64, max: f64, mean: f64 },
    /// One feature per category. Missing values take the training frequencies.
    OneHot {
        categories: Vec<String>,
        frequencies: Vec<f64>,
        /// Set when rare categories were pooled: the training frequency of the pooled ones,
        /// whose feature comes last. Every value not in `categories` sets it, an unseen one
        /// too: in a column with many rare values, a new value is one more rare value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        other: Option<f64>,
    },
}

impl Encoding {
    /// The number of encoded features.
    pub fn width(&self) -> usize {
        match self {
            Encoding::MinMax { .. } => 1,
            Encoding::OneHot {
                categories, other, ..
            } => categories.len() + usize::from(other.is_some()),
        }
    }
}

/// The encoded features of one input column, as the synthesizer needs to know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureBlock {
    Continuous(usize),
    Binary(usize),
    OneHot { start: usize, len: usize },
}

/// A fitted preprocessor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub columns: Vec<ColumnTransform>,
}

impl Preprocessor {
    /// Fits the encodings on the given rows of `table`; categorical columns keep at most
    /// `max_categories` features (see [`one_hot`]).
    pub fn fit(table: &Table, rows: &[usize], max_categories: usize) -> Result<Preprocessor> {
        let no_values = |name: &str| {
            Error::bad_data(
                &table.path,
                format!("column {name:?} has no values in the training rows; leave it out with --ignore {name:?}"),
            )
        };
        let columns = table
            .columns
            .iter()
            .map(|column| {
                let encoding = match &column.values {
                    Values::Numeric(values) => {
                        let (mut min, mut max, mut sum, mut count) =
                            (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
                        for &r in rows {
                            let x = values[r];
                            if !x.is_nan() {
                                min = min.min(x);
                                max = max.max(x);
                                sum += x;
                                count += 1;
                            }
                        }
                        if count == 0 {
                            return Err(no_values(&column.name));
                        }
                        Encoding::MinMax {
                            min,
                            max,
                            mean: sum / count as f64,
                        }
                    }
                    Values::Categorical(values) => {
                        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
                        for &r in rows {
                            if let Some(v) = &values[r] {
                                *counts.entry(v).or_default() += 1;
                            }
                        }
                        if counts.is_empty() {
                            return Err(no_values(&column.name));
                        }
                        one_hot(counts, max_categories)
                    }
                };
                Ok(ColumnTransform {
                    name: column.name.clone(),
                    source_index: column.source_index,
                    kind: column.kind,
                    encoding,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Preprocessor { columns })
    }

    /// Checks a preprocessor read from a file: finite ranges, sorted unique categories with a
    /// frequency each.
    pub fn check(&self) -> std::result::Result<(), String> {
        for c in &self.columns {
            let bad = |what: &str| Err(format!("column {:?}: {what}", c.name));
            match &c.encoding {
                Encoding::MinMax { min, max, mean } => {
                    if !(min.is_finite() && max.is_finite() && mean.is_finite() && min <= max) {
                        return bad("the scaling range is not finite and ordered");
                    }
                    // The training mean lies in the training range (up to rounding); one far
                    // outside would impute missing values to huge or infinite features.
                    let slack = 1e-6 * (max - min).abs().max(min.abs()).max(max.abs()).max(1.0);
                    if !(*min - slack..=*max + slack).contains(mean) {
                        return bad("the imputation mean lies outside the scaling range");
                    }
                    if c.kind == ColumnKind::Categorical {
                        return bad("a categorical column with a numeric encoding");
                    }
                }
                Encoding::OneHot {
                    categories,
                    frequencies,
                    other,
                } => {
                    if c.kind != ColumnKind::Categorical {
                        return bad("a numeric column with a one-hot encoding");
                    }
                    if categories.windows(2).any(|w| w[0] >= w[1]) {
                        return bad("the categories are not sorted and unique");
                    }
                    if frequencies.len() != categories.len()
                        || frequencies
                            .iter()
                            .chain(other)
                            .any(|f| !(0.0..=1.0).contains(f))
                    {
                        return bad("the category frequencies do not match the categories");
                    }
                }
            }
        }
        Ok(())
    }

    pub fn n_features(&self) -> usize {
        self.columns.iter().map(|c| c.encoding.width()).sum()
    }

    /// The encoded features, block by block.
    pub fn layout(&self) -> Vec<FeatureBlock> {
        let mut start = 0;
        self.columns
            .iter()
            .map(|c| {
                let block = match (&c.encoding, c.kind) {
                    (encoding @ Encoding::OneHot { .. }, _) => FeatureBlock::OneHot {
                        start,
                        len: encoding.width(),
                    },
                    (Encoding::MinMax { .. }, ColumnKind::Binary) => FeatureBlock::Binary(start),
                    (Encoding::MinMax { .. }, _) => FeatureBlock::Continuous(start),
                };
                start += match block {
                    FeatureBlock::OneHot { len, .. } => len,
                    _ => 1,
                };
                block
            })
            .collect()
    }

    /// Names of the encoded features ("service=http" for a one-hot feature).
    pub fn feature_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|c| match &c.encoding {
                Encoding::MinMax { .. } => vec![c.name.clone()],
                Encoding::OneHot {
                    categories, other, ..
                } => categories
                    .iter()
                    .map(String::as_str)
                    .chain(other.map(|_| OTHER_CATEGORY))
                    .map(|cat| format!("{}={cat}", c.name))
                    .collect(),
            })
            .collect()
    }

    /// Encodes the given rows of `table`, whose columns must be those the preprocessor was
    /// fitted on, in the same order.
    pub fn transform_rows(&self, table: &Table, rows: &[usize]) -> Result<Matrix> {
        if table.columns.len() != self.columns.len()
            || table
                .columns
                .iter()
                .zip(&self.columns)
                .any(|(t, p)| t.name != p.name || t.kind != p.kind)
        {
            return Err(Error::SchemaMismatch {
                path: table.path.clone(),
                message: "the columns differ from those the preprocessor was fitted on".into(),
            });
        }
        let width = self.n_features();
        let mut out = Matrix::zeros(rows.len(), width);
        let mut offset = 0;
        for (column, transform) in table.columns.iter().zip(&self.columns) {
            match (&column.values, &transform.encoding) {
                (Values::Numeric(values), Encoding::MinMax { min, max, mean }) => {
                    let range = if max > min { max - min } else { 1.0 };
                    for (i, &r) in rows.iter().enumerate() {
                        let x = values[r];
                        let x = if x.is_nan() { *mean } else { x };
                        out.row_mut(i)[offset] = ((x - min) / range) as f32;
                    }
                    offset += 1;
                }
                (
                    Values::Categorical(values),
                    encoding @ Encoding::OneHot {
                        categories,
                        frequencies,
                        other,
                    },
                ) => {
                    let width = encoding.width();
                    for (i, &r) in rows.iter().enumerate() {
                        let row = &mut out.row_mut(i)[offset..offset + width];
                        match &values[r] {
                            None => {
                                for (o, f) in row.iter_mut().zip(frequencies.iter().chain(other)) {
                                    *o = *f as f32;
                                }
                            }
                            Some(v) => match categories.binary_search(v) {
                                Ok(k) => row[k] = 1.0,
                                Err(_) if other.is_some() => row[width - 1] = 1.0,
                                Err(_) => {}
                            },
                        }
                    }
                    offset += width;
                }
                _ => {
                    return Err(Error::SchemaMismatch {
                        path: table.path.clone(),
                        message: format!(
                        "column {:?} is {:?} in the data but the preprocessor encodes it otherwise",
                        column.name, column.kind
                    ),
                    })
                }
            }
        }
        debug_assert_eq!(offset, width);
        Ok(out)
    }

    /// Maps encoded rows back to input values, as text per input column: numbers unscaled,
    /// binary values rounded, a one-hot group to its largest category.
    pub fn inverse_transform(&self, x: &Matrix) -> Vec<Vec<String>> {
        (0..x.rows)
            .map(|r| {
                let row = x.row(r);
                let mut offset = 0;
                self.columns
                    .iter()
                    .map(|c| match &c.encoding {
                        Encoding::MinMax { min, max, .. } => {
                            let value = min + row[offset] as f64 * (max - min);
                            offset += 1;
                            if c.kind == ColumnKind::Binary {
                                format!("{}", value.round())
                            } else {
                                format!("{value}")
                            }
                        }
                        encoding @ Encoding::OneHot { categories, .. } => {
                            let group = &row[offset..offset + encoding.width()];
                            offset += encoding.width();
                            let best = (0..group.len())
                                .max_by(|&a, &b| group[a].total_cmp(&group[b]))
                                .unwrap_or(0);
                            categories
                                .get(best)
                                .cloned()
                                .unwrap_or_else(|| OTHER_CATEGORY.to_string())
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Encodes every row of `table`.
    pub fn transform(&self, table: &Table) -> Result<Matrix> {
        let rows: Vec<usize> = (0..table.n_rows).collect();
        self.transform_rows(table, &rows)
    }
}

/// One-hot encoding of a column with these category counts. With more categories than
/// `max_categories`, the categories more frequent than the `max_categories`-th most frequent
/// keep a feature each and the rest share an "other" feature: at most `max_categories`
/// features. Categories tied at the cut all go to "other", so which ones keep a feature does
/// not depend on their names or order; a column of unique ids pools entirely.
pub fn one_hot(counts: std::collections::HashMap<&str, usize>, max_categories: usize) -> Encoding {
    let total: usize = counts.values().sum();
    let frequency = |count: usize| count as f64 / total as f64;
    if counts.len() <= max_categories {
        let mut sorted: Vec<(&str, usize)> = counts.into_iter().collect();
        sorted.sort_unstable();
        return Encoding::OneHot {
            categories: sorted.iter().map(|(c, _)| c.to_string()).collect(),
            frequencies: sorted.iter().map(|&(_, n)| frequency(n)).collect(),
            other: None,
        };
    }
    let mut by_count: Vec<usize> = counts.values().copied().collect();
    by_count.sort_unstable_by(|a, b| b.cmp(a));
    // The count of the category that would take the last feature, the one "other" needs.
    let cut = by_count[max_categories.saturating_sub(1)];
    let mut kept: Vec<(&str, usize)> = counts
        .iter()
        .filter(|(_, &n)| n > cut)
        .map(|(&c, &n)| (c, n))
        .collect();
    kept.sort_unstable();
    let pooled = total - kept.iter().map(|(_, n)| n).sum::<usize>();
    Encoding::OneHot {
        categories: kept.iter().map(|(c, _)| c.to_string()).collect(),
        frequencies: kept.iter().map(|&(_, n)| frequency(n)).collect(),
        other: Some(frequency(pooled)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Column;

    fn table() -> Table {
        Table {
            path: "t.csv".into(),
            n_rows: 4,
            columns: vec![
                Column {
                    name: "x".into(),
                    source_index: 0,
                    kind: ColumnKind::Numeric,
                    values: Values::Numeric(vec![2.0, 4.0, f64::NAN, 10.0]),
                },
                Column {
                    name: "c".into(),
                    source_index: 1,
                    kind: ColumnKind::Categorical,
                    values: Values::Categorical(vec![
                        Some("b".into()),
                        Some("a".into()),
                        None,
                        Some("z".into()),
                    ]),
                },
            ],
        }
    }

    #[test]
    fn scales_one_hot_encodes_and_imputes_with_training_means() {
        let t = table();
        // Fitted on the first three rows: x in [2, 4], mean 3; categories a, b each 1/2.
        let p = Preprocessor::fit(&t, &[0, 1, 2], 100).unwrap();
        assert_eq!(p.feature_names(), ["x", "c=a", "c=b"]);
        let m = p.transform(&t).unwrap();
        assert_eq!(m.row(0), [0.0, 0.0, 1.0]);
        assert_eq!(m.row(1), [1.0, 1.0, 0.0]);
        // Missing numeric → mean 3 → 0.5; missing category → frequencies.
        assert_eq!(m.row(2), [0.5, 0.5, 0.5]);
        // Outside the training range stays outside; unseen category → zeros.
        assert_eq!(m.row(3), [4.0, 0.0, 0.0]);
    }

    #[test]
    fn rare_categories_pool_into_other_and_unseen_values_join_them() {
        // Counts a:5, b:3, c:2, d:2, e:1 with at most 3 features: the 3rd most frequent has
        // count 2, so only categories above 2 keep a feature (a, b); c, d, e share "other".
        let mut values = Vec::new();
        for (category, n) in [("a", 5), ("b", 3), ("c", 2), ("d", 2), ("e", 1)] {
            values.extend(std::iter::repeat_n(Some(category.to_string()), n));
        }
        values.push(Some("new".into()));
        values.push(None);
        let rows = values.len();
        let t = Table {
            path: "t.csv".into(),
            n_rows: rows,
            columns: vec![Column {
                name: "c".into(),
                source_index: 0,
                kind: ColumnKind::Categorical,
                values: Values::Categorical(values),
            }],
        };
        let fitted: Vec<usize> = (0..13).collect();
        let p = Preprocessor::fit(&t, &fitted, 3).unwrap();
        assert_eq!(p.feature_names(), ["c=a", "c=b", "c=(other)"]);
        let m = p.transform(&t).unwrap();
        assert_eq!(m.row(0), [1.0, 0.0, 0.0]);
        assert_eq!(m.row(8), [0.0, 0.0, 1.0]); // c: pooled
        assert_eq!(m.row(13), [0.0, 0.0, 1.0]); // never seen: one more rare value
        let missing = m.row(14);
        assert!((missing[2] - 5.0 / 13.0).abs() < 1e-6, "{missing:?}");
        // Ties at the cut pool together; unique ids pool entirely.
        let ids: std::collections::HashMap<&str, usize> =
            [("u1", 1), ("u2", 1), ("u3", 1)].into_iter().collect();
        assert_eq!(
            one_hot(ids, 2),
            Encoding::OneHot {
                categories: vec![],
                frequencies: vec![],
                other: Some(1.0)
            }
        );
        // Within the limit nothing pools, and unseen values stay all zeros.
        let p = Preprocessor::fit(&t, &fitted, 5).unwrap();
        assert_eq!(p.n_features(), 5);
        assert!(p.transform(&t).unwrap().row(13).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn layout_marks_one_hot_groups() {
        let p = Preprocessor::fit(&table(), &[0, 1], 100).unwrap();
        assert_eq!(
            p.layout(),
            [
                FeatureBlock::Continuous(0),
                FeatureBlock::OneHot { start: 1, len: 2 }
            ]
        );
    }
}
