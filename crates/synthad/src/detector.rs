//! The detector users hold: `fit` on training data, `decision_function` (higher = more
//! anomalous) and `predict` at a fitted threshold — the whole pipeline behind one type.

use std::path::Path;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ingest::labels::{LabelSpec, Labels, RowSplit};
use crate::ingest::{ColumnKind, ColumnSpec, RawTable, ReadOptions, Table};
use crate::prepare::{Matrix, Preprocessor};
use crate::score::{fit_threshold, predict};
use crate::synthesize::{AnomalyGenerator, UniformBox};
use crate::train::{
    fit_model, model_from_parts, DetectorKind, EpochStats, LabeledSet, Model, Precision,
    TrainParams, TrainReport,
};

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
    fn of(
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
            self.columns
                .iter()
                .map(|c| {
                    raw.names
                        .iter()
                        .position(|n| *n == c.name)
                        .map(|i| (i, c.kind))
                        .ok_or_else(|| {
                            mismatch(format!(
                                "the model was trained on column {:?}, which this data lacks; score data with the training file's columns",
                                c.name
                            ))
                        })
                })
                .collect::<Result<Vec<_>>>()?
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
        let mut table = Table::with_kinds(raw, &kinds, &self.read)?;
        // Positional files carry index names; the model's names are the training file's.
        for (column, schema) in table.columns.iter_mut().zip(&self.columns) {
            column.name = schema.name.clone();
        }
        Ok(table)
    }
}

/// What a fit produced besides the detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub train: TrainReport,
    pub normal_rows: usize,
    pub known_rows: usize,
    pub synthetic_rows: usize,
    pub validation_rows: usize,
    pub features: usize,
}

/// A fitted anomaly detector: preprocessor, model and decision threshold.
#[derive(Debug, Clone)]
pub struct Detector {
    pub schema: Option<InputSchema>,
    pub preprocessor: Preprocessor,
    pub model: Arc<dyn Model>,
    pub threshold: f32,
    pub params: TrainParams,
    /// Labels of the training file: which value was normal and which kinds were known.
    pub labels: Option<LabelSpec>,
    pub known_kinds: Vec<String>,
    pub generator: UniformBox,
}

/// Everything `fit_file` needs besides the hyperparameters.
#[derive(Debug, Clone)]
pub struct DataSpec {
    pub read: ReadOptions,
    pub columns: ColumnSpec,
    pub labels: LabelSpec,
    /// Share of the known-anomaly rows to use (a random subset, by the training seed).
    pub known_fraction: f64,
}

impl Detector {
    /// Reads a labeled training file and fits a detector on it.
    pub fn fit_file(
        path: &Path,
        data: &DataSpec,
        params: TrainParams,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> Result<(Detector, FitReport)> {
        let raw = RawTable::read(path, &data.read)?;
        let labels = Labels::read(&raw, &data.labels.column)?;
        let table = Table::infer(&raw, &data.columns, &[labels.column_index], &data.read)?;
        let mut split = RowSplit::new(&raw, &labels, &data.labels)?;
        if !(data.known_fraction > 0.0 && data.known_fraction <= 1.0) {
            return Err(Error::InvalidParams(format!(
                "the known fraction must be in (0, 1], got {}",
                data.known_fraction
            )));
        }
        split.keep_known_fraction(data.known_fraction, params.seed);
        let (mut detector, report) = Detector::fit(&table, &split, params, on_epoch)?;
        detector.schema = Some(InputSchema::of(&raw, &table, &data.read, Some(&labels)));
        detector.labels = Some(data.labels.clone());
        Ok((detector, report))
    }

    /// Fits a detector on typed rows: the normal rows and the known anomalies of `split`.
    pub fn fit(
        table: &Table,
        split: &RowSplit,
        params: TrainParams,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> Result<(Detector, FitReport)> {
        let params = params.check()?;
        if params.uses_known() && !params.uses_synthetic() && split.known.is_empty() {
            return Err(Error::InvalidParams(
                "vanilla mode trains on known anomalies only, and there are none; give --known labels or use --mode synthetic/unsupervised".into(),
            ));
        }
        if split.normal.len() < 2 {
            return Err(Error::InvalidParams(format!(
                "{}: at least 2 normal rows are needed (one to train on, one to validate), found {}",
                table.path.display(),
                split.normal.len()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let data = TrainingData::new(table, split, &params, &mut rng)?;
        let (model, train_report) =
            fit_model(&data.train, &data.validation, &params, &mut rng, on_epoch)?;
        let threshold = fit_threshold(&model.scores(&data.normal_validation)?, params.target_fpr);

        let mut known_kinds: Vec<String> = split.known.iter().map(|(_, k)| k.clone()).collect();
        known_kinds.sort();
        known_kinds.dedup();
        if !params.uses_known() {
            known_kinds.clear();
        }
        let report = FitReport {
            train: train_report,
            normal_rows: data.normal_rows,
            known_rows: data.known_rows,
            synthetic_rows: data.synthetic_rows,
            validation_rows: data.validation.len(),
            features: data.preprocessor.n_features(),
        };
        let detector = Detector {
            schema: None,
            preprocessor: data.preprocessor,
            model,
            threshold,
            params,
            labels: None,
            known_kinds,
            generator: data.generator,
        };
        Ok((detector, report))
    }

    /// Anomaly scores of typed rows (higher = more anomalous).
    pub fn decision_function(&self, table: &Table) -> Result<Vec<f32>> {
        let x = self.preprocessor.transform(table)?;
        self.model.scores(&x)
    }

    /// The same detector with its matrix products in `precision` when scoring — e.g. bf16
    /// scoring of a model trained in f32, 1.6–1.7x faster (docs/performance.md). The
    /// threshold stays the one fitted at training: bf16 moves scores slightly, so the false
    /// positive rate at it can move slightly too. Neural detectors only.
    pub fn with_precision(mut self, precision: Precision) -> Result<Detector> {
        let kind = self.model.kind();
        if matches!(kind, DetectorKind::Gbt | DetectorKind::IForest) {
            return Err(Error::InvalidParams(format!(
                "a {} model has no matrix products; --precision applies to the neural detectors",
                kind.name()
            )));
        }
        precision.check_supported()?;
        let parts = self.model.parts()?;
        let mut state = parts.state;
        state["precision"] = serde_json::to_value(precision).expect("a precision serializes");
        let tensors: std::collections::HashMap<String, candle_core::Tensor> =
            parts.tensors.into_iter().collect();
        self.model = model_from_parts(kind, state, &|name, _| {
            tensors
                .get(name)
                .cloned()
                .ok_or_else(|| Error::Training(format!("the model has no tensor {name}")))
        })?;
        Ok(self)
    }

    /// Hard decisions at the fitted threshold (true = anomaly).
    pub fn predict(&self, table: &Table) -> Result<Vec<bool>> {
        Ok(predict(&self.decision_function(table)?, self.threshold))
    }

    /// Reads a file with the model's schema. The raw table is returned too, for carrying id and
    /// label columns through.
    pub fn read_file(&self, path: &Path) -> Result<(RawTable, Table)> {
        let schema = self.file_schema()?;
        let raw = RawTable::read(path, &schema.read)?;
        let table = schema.table_from(&raw, true)?;
        Ok((raw, table))
    }
}

/// What a detector trains on, before any model: the preprocessing fitted on the training
/// rows, the synthetic-anomaly box, and the encoded training and validation sets.
pub struct TrainingData {
    pub preprocessor: Preprocessor,
    pub generator: UniformBox,
    pub train: LabeledSet,
    pub validation: LabeledSet,
    /// The held-out normal rows, on which the threshold is fitted.
    pub normal_validation: Matrix,
    /// Rows of each kind in `train`.
    pub normal_rows: usize,
    pub known_rows: usize,
    pub synthetic_rows: usize,
}

impl TrainingData {
    /// Splits off validation rows, fits the preprocessing and the box, and draws the synthetic
    /// anomalies, all from `rng` (a fit continues with the same generator).
    pub fn new(
        table: &Table,
        split: &RowSplit,
        params: &TrainParams,
        rng: &mut ChaCha8Rng,
    ) -> Result<TrainingData> {
        let mut normal = split.normal.clone();
        let mut known: Vec<usize> = split.known.iter().map(|(r, _)| *r).collect();
        normal.shuffle(rng);
        known.shuffle(rng);
        let (normal_val, normal_train) = hold_out(&normal, params.validation_fraction);
        let (known_val, known_train) = hold_out(&known, params.validation_fraction);

        // Unsupervised mode (and the Isolation Forest) drops the known anomalies entirely: they
        // shape neither the scaling nor the synthetic box.
        let used_known: &[usize] = if params.uses_known() { &known } else { &[] };
        // Encoded once, in the order [normal val | normal train | known val | known train]
        // (hold_out puts the held-out rows first); the sets below are row ranges of it.
        let training_rows: Vec<usize> = normal.iter().chain(used_known).copied().collect();
        let preprocessor = Preprocessor::fit(table, &training_rows, params.max_categories)?;
        let n_features = preprocessor.n_features();
        // The encoded rows are held three times at the peak (encoded, split into sets, stacked
        // with labels), the synthetic ones twice.
        let synthetic_rows = if params.uses_synthetic() {
            (params.synthetic_ratio * normal.len() as f64).ceil() as usize
        } else {
            0
        };
        crate::memory::ensure_fits(
            crate::memory::product(&[training_rows.len() * 3 + synthetic_rows * 2, n_features, 4]),
            &format!(
                "encoding {} training and {synthetic_rows} synthetic rows of {n_features} features",
                training_rows.len()
            ),
            "train on a sample of the rows, lower --synthetic-ratio, or lower --max-categories",
        )?;
        let encoded = preprocessor.transform_rows(table, &training_rows)?;
        let generator = UniformBox::fit(&encoded, &preprocessor.layout(), params.margin as f32);
        let mut offset = 0;
        let mut next_block = |len: usize| {
            let rows: Vec<usize> = (offset..offset + len).collect();
            offset += len;
            encoded.select_rows(&rows)
        };
        let normal_val_x = next_block(normal_val.len());
        let normal_train_x = next_block(normal_train.len());
        let (known_val_x, known_train_x) = if params.uses_known() {
            (next_block(known_val.len()), next_block(known_train.len()))
        } else {
            (Matrix::zeros(0, n_features), Matrix::zeros(0, n_features))
        };
        let synthetic_count = |normals: usize| {
            if params.uses_synthetic() {
                (params.synthetic_ratio * normals as f64).round() as usize
            } else {
                0
            }
        };
        let synthetic_train = generator.generate(synthetic_count(normal_train.len()), rng);
        let synthetic_val = generator.generate(synthetic_count(normal_val.len()), rng);
        // The paper's classifier balances normals against anomalies; the other detectors
        // minimise their papers' plain means over rows (known vs synthetic shares aside).
        let labeled = |normal: &Matrix, known: &Matrix, synthetic: &Matrix| {
            if params.detector == DetectorKind::Classifier {
                LabeledSet::balanced(normal, known, synthetic, params.known_weight)
            } else {
                LabeledSet::unweighted(normal, known, synthetic, params.known_weight)
            }
        };
        Ok(TrainingData {
            train: labeled(&normal_train_x, &known_train_x, &synthetic_train),
            validation: labeled(&normal_val_x, &known_val_x, &synthetic_val),
            normal_rows: normal_train_x.rows,
            known_rows: known_train_x.rows,
            synthetic_rows: synthetic_train.rows,
            normal_validation: normal_val_x,
            preprocessor,
            generator,
        })
    }
}

/// Fits the preprocessor on the given rows and the synthetic-anomaly box around them.
pub fn fit_generator(
    table: &Table,
    rows: &[usize],
    margin: f64,
    max_categories: usize,
) -> Result<(Preprocessor, UniformBox)> {
    let (preprocessor, _, generator) = fit_encoded(table, rows, margin, max_categories)?;
    Ok((preprocessor, generator))
}

/// [`fit_generator`], also returning the encoded rows.
fn fit_encoded(
    table: &Table,
    rows: &[usize],
    margin: f64,
    max_categories: usize,
) -> Result<(Preprocessor, Matrix, UniformBox)> {
    let preprocessor = Preprocessor::fit(table, rows, max_categories)?;
    let encoded = preprocessor.transform_rows(table, rows)?;
    let generator = UniformBox::fit(&encoded, &preprocessor.layout(), margin as f32);
    Ok((preprocessor, encoded, generator))
}

impl Detector {
    /// How files for this model are read; models fitted on in-memory tables have none.
    pub fn file_schema(&self) -> Result<&InputSchema> {
        self.schema.as_ref().ok_or_else(|| {
            Error::InvalidParams(
                "this model was fitted on in-memory data and has no file schema".into(),
            )
        })
    }
}

/// Splits `rows` into (held out, kept), holding out `fraction` of them, at least one when there
/// are two or more, so small groups still reach both sides.
fn hold_out(rows: &[usize], fraction: f64) -> (&[usize], &[usize]) {
    let n = rows.len();
    let held = if n >= 2 {
        ((fraction * n as f64).round() as usize).clamp(1, n - 1)
    } else {
        0
    };
    rows.split_at(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::Encoding;
    use crate::train::Mode;

    fn small() -> TrainParams {
        TrainParams {
            hidden: vec![8],
            max_epochs: 3,
            min_patience_steps: 1,
            ..Default::default()
        }
    }

    /// Normals in [0, 1]; known anomalies at 10.
    fn data() -> (Table, RowSplit) {
        let mut x: Vec<f64> = (0..40).map(|i| i as f64 / 39.0).collect();
        x.extend([10.0, 10.0, 10.0]);
        let table = Table::from_numeric_columns("t", vec![("x".into(), x)]);
        let split = RowSplit {
            normal: (0..40).collect(),
            known: (40..43).map(|r| (r, "far".to_string())).collect(),
            left_out: 0,
        };
        (table, split)
    }

    fn range(d: &Detector) -> (f64, f64) {
        match d.preprocessor.columns[0].encoding {
            Encoding::MinMax { min, max, .. } => (min, max),
            _ => unreachable!(),
        }
    }

    #[test]
    fn unsupervised_mode_never_sees_the_known_anomalies() {
        let (table, split) = data();
        let mode = |mode| TrainParams { mode, ..small() };
        let (d, report) =
            Detector::fit(&table, &split, mode(Mode::Unsupervised), &mut |_| {}).unwrap();
        assert_eq!(range(&d), (0.0, 1.0));
        assert_eq!(report.known_rows, 0);
        assert!(d.known_kinds.is_empty());
        let (d, _) = Detector::fit(&table, &split, mode(Mode::Synthetic), &mut |_| {}).unwrap();
        assert_eq!(range(&d), (0.0, 10.0));
        assert_eq!(d.known_kinds, ["far"]);
    }

    #[test]
    fn vanilla_needs_known_anomalies_and_fit_needs_two_normals() {
        let (table, mut split) = data();
        split.known.clear();
        let params = TrainParams {
            mode: Mode::Vanilla,
            ..small()
        };
        let err = Detector::fit(&table, &split, params, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("vanilla mode"), "{err}");
        split.normal.truncate(1);
        let err = Detector::fit(&table, &split, small(), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 2 normal rows"), "{err}");
    }
}
