//! The detector users hold: `fit` on training data, `decision_function` (higher = more
//! anomalous) and `predict` at a fitted threshold — the whole pipeline behind one type.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ingest::labels::LabelSpec;
use crate::ingest::labels::RowSplit;
use crate::ingest::{InputSchema, RawTable, Table, TrainingSet, Values};
use crate::prepare::{Matrix, Preprocessor};
use crate::score::{fit_threshold, predict, Calibration};
use crate::synthesize::UniformBox;
use crate::train::data::TrainingData;
use crate::train::{
    fit_auto, fit_model, CheckedParams, DetectorKind, EpochStats, Leaderboard, Model, Precision,
    TrainParams, TrainReport,
};

/// What a fit produced besides the detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub train: TrainReport,
    pub normal_rows: usize,
    pub known_rows: usize,
    pub synthetic_rows: usize,
    pub validation_rows: usize,
    pub features: usize,
    /// The normal rows the threshold was fitted on.
    pub threshold_rows: ThresholdRows,
    /// What the user should know about the fit (each a sentence naming what to do); front
    /// ends show them as warnings.
    pub warnings: Vec<String>,
}

/// Categorical columns whose every training value is distinct look like identifiers (ids, IP
/// addresses, timestamps as text): pooled into one "other" feature, they carry nothing.
fn identifier_warnings(table: &Table) -> Vec<String> {
    const MIN_ROWS: usize = 20;
    let mut warnings = Vec::new();
    for column in &table.columns {
        let Values::Categorical(values) = &column.values else {
            continue;
        };
        let present: Vec<&str> = values.iter().flatten().map(String::as_str).collect();
        if present.len() < MIN_ROWS {
            continue;
        }
        let distinct: std::collections::HashSet<&str> = present.iter().copied().collect();
        if distinct.len() == present.len() {
            warnings.push(format!(
                "column {:?} has {} distinct values in {} rows: it looks like an identifier, which no detector can learn from (its rare values share one \"other\" feature); leave it out with --ignore {:?} (Python: drop the column), or carry it when scoring",
                column.name,
                distinct.len(),
                present.len(),
                column.name
            ));
        }
    }
    warnings
}

/// The normal rows a threshold is fitted on: held-out rows where there are any, else the
/// training normals themselves, whose scores run low (the model has seen them), so the
/// threshold flags more than the target rate of new normals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdRows {
    /// Validation normals (detectors that stop early or keep their best epoch) or, for
    /// `auto`, the cross-fitted scores of every training normal.
    Validation,
    /// The calibration normals (detectors that hold no validation rows).
    Calibration,
    /// The training normals (no validation and `calibration_fraction` 0).
    Training,
}

/// A fitted anomaly detector: preprocessor, model and decision threshold.
#[derive(Debug, Clone)]
pub struct Detector {
    pub(crate) schema: Option<InputSchema>,
    pub(crate) preprocessor: Preprocessor,
    pub(crate) model: Model,
    pub(crate) threshold: f32,
    pub(crate) params: TrainParams,
    /// Labels of the training file: which value was normal and which kinds were known.
    pub(crate) labels: Option<LabelSpec>,
    pub(crate) known_kinds: Vec<String>,
    pub(crate) generator: UniformBox,
    /// Scores of the calibration normals, sorted: rows no part of the fit saw (see
    /// [`TrainParams::calibration_fraction`]); empty when none were held out.
    pub(crate) calibration: Calibration,
    /// The encoded calibration normal whose score is the median: the baseline explanations
    /// start from (empty without calibration normals).
    pub(crate) typical_normal: Vec<f32>,
}

impl Detector {
    /// Fits a detector on the normal rows and known anomalies of `data`.
    pub fn fit(data: &TrainingSet, params: &CheckedParams) -> Result<(Detector, FitReport)> {
        Detector::fit_with_progress(data, params, &mut |_| {})
    }

    /// [`Detector::fit`], calling `on_epoch` after every epoch of a neural detector.
    pub fn fit_with_progress(
        data: &TrainingSet,
        params: &CheckedParams,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> Result<(Detector, FitReport)> {
        let table = data.table();
        let (split, calibration_rows) = calibration_split(data.split(), params);
        let split = &split;
        if params.uses_known() && !params.uses_synthetic() && split.known.is_empty() {
            return Err(Error::bad_data(
                &table.path,
                "vanilla mode trains on known anomalies only, and there are none; give --known labels or use --mode synthetic/unsupervised",
            ));
        }
        if split.normal.len() < 2 {
            return Err(Error::bad_data(
                &table.path,
                format!(
                    "at least 2 normal rows are needed (one to train on, one to validate), found {}",
                    split.normal.len()
                ),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let (mut detector, report) = if params.detector == DetectorKind::Auto {
            Detector::fit_auto(data, split, params, &mut rng)?
        } else {
            Detector::fit_single(data, split, params, &mut rng, on_epoch)?
        };
        let x = detector
            .preprocessor
            .transform_rows(table, &calibration_rows)?;
        let calibration_scores = detector.model.scores(&x)?;
        let mut report = report;
        if report.threshold_rows == ThresholdRows::Training && !calibration_scores.is_empty() {
            detector.threshold = fit_threshold(&calibration_scores, params.target_fpr);
            report.threshold_rows = ThresholdRows::Calibration;
        }
        // Explanations start from a typical normal: the calibration normal of median score.
        if !calibration_scores.is_empty() {
            let mut order: Vec<usize> = (0..calibration_scores.len()).collect();
            order.sort_by(|&a, &b| calibration_scores[a].total_cmp(&calibration_scores[b]));
            detector.typical_normal = x.row(order[order.len() / 2]).to_vec();
        }
        detector.calibration = Calibration::new(calibration_scores);
        report.warnings = identifier_warnings(table);
        Ok((detector, report))
    }

    /// One detector (not `auto`) on the training rows of `split`.
    fn fit_single(
        data: &TrainingSet,
        split: &RowSplit,
        params: &CheckedParams,
        rng: &mut ChaCha8Rng,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> Result<(Detector, FitReport)> {
        let table = data.table();
        let prepared = TrainingData::new(table, split, params, rng)?;
        let (model, train_report) =
            fit_model(&prepared.train, &prepared.validation, params, rng, on_epoch)?;
        // Without validation rows, the caller moves the threshold onto the calibration
        // normals when it has any.
        let training_normals;
        let (threshold_normals, threshold_rows) = if prepared.normal_validation.rows > 0 {
            (&prepared.normal_validation, ThresholdRows::Validation)
        } else {
            training_normals = prepared.train.normals();
            (&training_normals, ThresholdRows::Training)
        };
        let threshold = fit_threshold(&model.scores(threshold_normals)?, params.target_fpr);

        let mut known_kinds: Vec<String> = split.known.iter().map(|(_, k)| k.clone()).collect();
        known_kinds.sort();
        known_kinds.dedup();
        if !params.uses_known() {
            known_kinds.clear();
        }
        let report = FitReport {
            train: train_report,
            normal_rows: prepared.normal_rows,
            known_rows: prepared.known_rows,
            synthetic_rows: prepared.synthetic_rows,
            validation_rows: prepared.validation.len(),
            features: prepared.preprocessor.n_features(),
            threshold_rows,
            warnings: Vec::new(),
        };
        let detector = Detector {
            schema: data.schema().cloned(),
            preprocessor: prepared.preprocessor,
            model,
            threshold,
            params: (**params).clone(),
            labels: data.labels().cloned(),
            known_kinds,
            generator: prepared.generator,
            calibration: Calibration::default(),
            typical_normal: Vec::new(),
        };
        Ok((detector, report))
    }

    /// `auto`: one preprocessing of every normal and known row, then the search of
    /// [`crate::train`]'s `auto` over its candidates.
    fn fit_auto(
        data: &TrainingSet,
        split: &RowSplit,
        params: &CheckedParams,
        rng: &mut ChaCha8Rng,
    ) -> Result<(Detector, FitReport)> {
        let (preprocessor, normal, known, generator) = auto_inputs(data.table(), split, params)?;
        let n_features = preprocessor.n_features();
        let fit = fit_auto(&normal, &known, &preprocessor, &generator, params, rng)?;
        let threshold = fit_threshold(&fit.normal_scores, params.target_fpr);
        let mut known_kinds: Vec<String> = split.known.iter().map(|(_, k)| k.clone()).collect();
        known_kinds.sort();
        known_kinds.dedup();
        let report = FitReport {
            train: fit.report,
            normal_rows: normal.rows,
            known_rows: known.rows,
            synthetic_rows: 0,
            validation_rows: 0,
            features: n_features,
            threshold_rows: ThresholdRows::Validation,
            warnings: Vec::new(),
        };
        let detector = Detector {
            schema: data.schema().cloned(),
            preprocessor,
            model: fit.model,
            threshold,
            params: (**params).clone(),
            labels: data.labels().cloned(),
            known_kinds,
            generator,
            calibration: Calibration::default(),
            typical_normal: Vec::new(),
        };
        Ok((detector, report))
    }

    /// What `auto` tried and chose, for a detector it fitted.
    pub fn leaderboard(&self) -> Option<&Leaderboard> {
        match &self.model {
            Model::Ensemble(ensemble) => Some(&ensemble.leaderboard),
            _ => None,
        }
    }

    /// Anomaly scores of typed rows (higher = more anomalous).
    pub fn decision_function(&self, table: &Table) -> Result<Vec<f32>> {
        let x = self.preprocessor.transform(table)?;
        self.model.scores(&x)
    }

    /// Anomaly scores of raw rows, typed by the model's schema (see
    /// [`InputSchema::table_from`]).
    pub fn score_raw(&self, raw: &RawTable, has_label: bool) -> Result<Vec<f32>> {
        self.decision_function(&self.file_schema()?.table_from(raw, has_label)?)
    }

    /// Anomaly scores of in-memory columns matched by name (see
    /// [`InputSchema::table_by_name`]): what the Python package scores.
    pub fn score_named(&self, raw: &RawTable) -> Result<Vec<f32>> {
        self.decision_function(&self.file_schema()?.table_by_name(raw)?)
    }

    /// Hard decisions at the fitted threshold (true = anomaly).
    pub fn predict(&self, table: &Table) -> Result<Vec<bool>> {
        Ok(predict(&self.decision_function(table)?, self.threshold))
    }

    /// The same detector with its matrix products in `precision` when scoring — e.g. bf16
    /// scoring of a model trained in f32, 1.6–1.7x faster (docs/performance.md). The
    /// threshold stays the one fitted at training: bf16 moves scores slightly, so the false
    /// positive rate at it can move slightly too. Neural detectors only.
    pub fn with_precision(mut self, precision: Precision) -> Result<Detector> {
        self.model.set_precision(precision)?;
        self.params.precision = precision;
        Ok(self)
    }

    /// Conformal p-values of scores (see [`crate::score::Calibration`]): small for rows that
    /// score higher than most calibration normals. An error for a model without calibration
    /// normals.
    pub fn p_values(&self, scores: &[f32]) -> Result<Vec<f64>> {
        self.calibration.p_values(scores)
    }

    /// The calibration normals' scores.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The same detector flagging scores above `threshold` (e.g. one set from a contamination
    /// rate, as PyOD does); a non-finite threshold is refused.
    pub fn with_threshold(mut self, threshold: f32) -> Result<Detector> {
        if !threshold.is_finite() {
            return Err(Error::invalid("threshold", threshold, "a finite number"));
        }
        self.threshold = threshold;
        Ok(self)
    }

    /// Reads a file with the model's schema. The raw table is returned too, for carrying id and
    /// label columns through.
    pub fn read_file(&self, path: &Path) -> Result<(RawTable, Table)> {
        let schema = self.file_schema()?;
        let raw = RawTable::read(path, &schema.read)?;
        let table = schema.table_from(&raw, true)?;
        Ok((raw, table))
    }

    /// How files for this model are read; models fitted on in-memory tables have none.
    pub fn file_schema(&self) -> Result<&InputSchema> {
        self.schema.as_ref().ok_or(Error::NoSchema)
    }

    /// The detector algorithm.
    pub fn kind(&self) -> DetectorKind {
        self.model.kind()
    }

    /// The score above which `predict` calls a row anomalous.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The hyperparameters it was trained with.
    pub fn params(&self) -> &TrainParams {
        &self.params
    }

    /// The fitted preprocessing: encoded feature names, column encodings.
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// The box synthetic anomalies were drawn from.
    pub fn generator(&self) -> &UniformBox {
        &self.generator
    }

    /// The anomaly kinds that were known (labeled) in training.
    pub fn known_kinds(&self) -> &[String] {
        &self.known_kinds
    }

    /// The training file's labels, for a model trained on a labeled file.
    pub fn labels(&self) -> Option<&LabelSpec> {
        self.labels.as_ref()
    }
}

/// What `auto` searches on: one preprocessing of every normal and known row, the encoded
/// normal and known rows, and the box around them.
fn auto_inputs(
    table: &Table,
    split: &RowSplit,
    params: &CheckedParams,
) -> Result<(Preprocessor, Matrix, Matrix, UniformBox)> {
    let known_rows: Vec<usize> = split.known.iter().map(|(r, _)| *r).collect();
    let rows: Vec<usize> = split.normal.iter().chain(&known_rows).copied().collect();
    let preprocessor = Preprocessor::fit(table, &rows, params.max_categories)?;
    let n_features = preprocessor.n_features();
    crate::memory::ensure_fits(
        crate::memory::product(&[rows.len() * 4, n_features, 4]),
        &format!(
            "encoding {} training rows of {n_features} features",
            rows.len()
        ),
        "train on a sample of the rows, or lower --max-categories",
    )?;
    let normal = preprocessor.transform_rows(table, &split.normal)?;
    let known = preprocessor.transform_rows(table, &known_rows)?;
    let generator = UniformBox::fit(
        &Matrix::vstack(&[&normal, &known]),
        &preprocessor.layout(),
        params.margin as f32,
    );
    Ok((preprocessor, normal, known, generator))
}

/// Holds `calibration_fraction` of the normal rows out of `split` (at least 2 normals stay;
/// none are held out where that would leave fewer). Drawn from its own generator, so that
/// the rest of the fit draws what it would draw without calibration.
fn calibration_split(split: &RowSplit, params: &TrainParams) -> (RowSplit, Vec<usize>) {
    use rand::seq::SliceRandom;
    let n = split.normal.len();
    let held = (params.calibration_fraction * n as f64).round() as usize;
    if held == 0 || n < held + 2 {
        return (split.clone(), Vec::new());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0xca1b_7a7e);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let mut calibration: Vec<usize> = order[..held].iter().map(|&i| split.normal[i]).collect();
    calibration.sort_unstable();
    let mut kept: Vec<bool> = vec![true; n];
    for &i in &order[..held] {
        kept[i] = false;
    }
    let normal = split
        .normal
        .iter()
        .zip(&kept)
        .filter(|(_, &k)| k)
        .map(|(&r, _)| r)
        .collect();
    (
        RowSplit {
            normal,
            ..split.clone()
        },
        calibration,
    )
}

/// Every `auto` candidate's held-out scores and its test scores (the mean of its fold models'
/// standardised scores), for studying the choice offline: `__bench::auto_study`.
pub(crate) fn auto_study(
    data: &TrainingSet,
    params: &CheckedParams,
    test: &Table,
) -> Result<Vec<crate::__bench::StudiedCandidate>> {
    let (preprocessor, normal, known, generator) = auto_inputs(data.table(), data.split(), params)?;
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let fit = fit_auto(&normal, &known, &preprocessor, &generator, params, &mut rng)?;
    let x = preprocessor.transform(test)?;
    fit.fitted
        .into_iter()
        .map(|c| {
            let mut test_scores = vec![0.0f32; x.rows];
            for (model, scale) in &c.models {
                let mut s = model.scores(&x)?;
                scale.apply(&mut s);
                for (t, v) in test_scores.iter_mut().zip(s) {
                    *t += v / c.models.len() as f32;
                }
            }
            Ok(crate::__bench::StudiedCandidate {
                name: c.name,
                held_normal: c.held.normal,
                held_known: c.held.known,
                held_shapes: c.held.shapes,
                test_scores,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::labels::RowSplit;
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
    fn data() -> TrainingSet {
        let mut x: Vec<f64> = (0..40).map(|i| i as f64 / 39.0).collect();
        x.extend([10.0, 10.0, 10.0]);
        let table = Table::from_numeric_columns("t", vec![("x".into(), x)]);
        let split = RowSplit {
            normal: (0..40).collect(),
            known: (40..43).map(|r| (r, "far".to_string())).collect(),
            left_out: 0,
        };
        TrainingSet::new(table, split)
    }

    fn range(d: &Detector) -> (f64, f64) {
        match d.preprocessor.columns[0].encoding {
            Encoding::MinMax { min, max, .. } => (min, max),
            _ => unreachable!(),
        }
    }

    #[test]
    fn unsupervised_mode_never_sees_the_known_anomalies() {
        let data = data();
        let mode = |mode| TrainParams { mode, ..small() }.check().unwrap();
        let (d, report) = Detector::fit(&data, &mode(Mode::Unsupervised)).unwrap();
        assert_eq!(range(&d), (0.0, 1.0));
        assert_eq!(report.known_rows, 0);
        assert!(d.known_kinds.is_empty());
        let (d, _) = Detector::fit(&data, &mode(Mode::Synthetic)).unwrap();
        assert_eq!(range(&d), (0.0, 10.0));
        assert_eq!(d.known_kinds, ["far"]);
    }

    #[test]
    fn vanilla_needs_known_anomalies_and_fit_needs_two_normals() {
        let data = data();
        let mut split = data.split().clone();
        split.known.clear();
        let vanilla = TrainParams {
            mode: Mode::Vanilla,
            ..small()
        }
        .check()
        .unwrap();
        let no_known = TrainingSet::new(data.table().clone(), split.clone());
        let err = Detector::fit(&no_known, &vanilla).unwrap_err();
        assert!(
            matches!(&err, Error::BadData { message, .. } if message.contains("vanilla mode")),
            "{err}"
        );
        split.normal.truncate(1);
        let one_normal = TrainingSet::new(data.table().clone(), split);
        let err = Detector::fit(&one_normal, &small().check().unwrap()).unwrap_err();
        assert!(
            matches!(&err, Error::BadData { message, .. } if message.contains("at least 2 normal rows")),
            "{err}"
        );
    }

    #[test]
    fn detectors_that_choose_nothing_on_validation_train_on_every_normal() {
        // deepsad (fixed epochs), gbt (under 10,000 rows) and iforest hold no rows out: the
        // threshold comes from the calibration normals, or, with none, from the training
        // normals (flagged). The classifier keeps its validation split.
        for detector in [
            DetectorKind::DeepSad,
            DetectorKind::Gbt,
            DetectorKind::IForest,
        ] {
            let base = TrainParams {
                max_epochs: 3,
                patience: 3,
                ..TrainParams::for_detector(detector)
            };
            let calibrated = TrainParams {
                calibration_fraction: 0.25,
                ..base.clone()
            };
            let (d, report) = Detector::fit(&data(), &calibrated.clone().check().unwrap()).unwrap();
            assert_eq!(report.validation_rows, 0, "{detector:?}");
            assert_eq!(report.normal_rows, 30, "{detector:?}");
            assert_eq!(report.threshold_rows, ThresholdRows::Calibration);
            assert_eq!(d.calibration().len(), 10);
            // The threshold is the one the calibration normals give.
            let scores: Vec<f32> =
                serde_json::from_value(serde_json::to_value(&d.calibration).unwrap()).unwrap();
            assert_eq!(d.threshold, fit_threshold(&scores, calibrated.target_fpr));
            let uncalibrated = TrainParams {
                calibration_fraction: 0.0,
                ..base
            };
            let (_, report) = Detector::fit(&data(), &uncalibrated.check().unwrap()).unwrap();
            assert_eq!(report.normal_rows, 40, "{detector:?}");
            assert_eq!(report.threshold_rows, ThresholdRows::Training);
        }
        let classifier = TrainParams {
            calibration_fraction: 0.0,
            ..small()
        };
        let (_, report) = Detector::fit(&data(), &classifier.check().unwrap()).unwrap();
        assert_eq!(report.normal_rows, 32);
        assert!(report.validation_rows > 0);
        assert_eq!(report.threshold_rows, ThresholdRows::Validation);
    }

    #[test]
    fn boosting_holds_validation_rows_out_exactly_where_it_stops_early() {
        // 5,100 normals and 10 known anomalies: under scikit-learn's 10,000 rows, unless the
        // synthetic anomalies (as many as the normals) join them — then rows are held out and
        // boosting stops early on them.
        let n = 5_100;
        let mut x: Vec<f64> = (0..n).map(|i| (i % 97) as f64 / 96.0).collect();
        x.extend([10.0; 10]);
        let table = Table::from_numeric_columns("t", vec![("x".into(), x)]);
        let split = RowSplit {
            normal: (0..n).collect(),
            known: (n..n + 10).map(|r| (r, "far".to_string())).collect(),
            left_out: 0,
        };
        let data = TrainingSet::new(table, split);
        for (mode, held) in [(Mode::Vanilla, false), (Mode::Synthetic, true)] {
            let params = TrainParams {
                mode,
                calibration_fraction: 0.0,
                trees: crate::train::TreeParams {
                    trees: 5,
                    ..Default::default()
                },
                ..TrainParams::for_detector(DetectorKind::Gbt)
            };
            let (_, report) = Detector::fit(&data, &params.check().unwrap()).unwrap();
            assert_eq!(report.validation_rows > 0, held, "{mode:?}");
        }
    }

    #[test]
    fn with_precision_changes_the_model_and_its_recorded_parameters_alike() {
        let (d, _) = Detector::fit(&data(), &small().check().unwrap()).unwrap();
        if Precision::Bf16.check_supported().is_ok() {
            let bf16 = d.clone().with_precision(Precision::Bf16).unwrap();
            assert_eq!(bf16.params.precision, Precision::Bf16);
            assert_eq!(bf16.model.parts().unwrap().state["precision"], "bf16");
            let loaded = Detector::from_bytes(&bf16.to_bytes().unwrap(), Path::new("m")).unwrap();
            assert_eq!(loaded.params.precision, Precision::Bf16);
        } else {
            eprintln!("SKIPPED bf16 part: this CPU has no AVX512-BF16");
        }
        let gbt = TrainParams::for_detector(DetectorKind::Gbt)
            .check()
            .unwrap();
        let (trees, _) = Detector::fit(&data(), &gbt).unwrap();
        let err = trees.with_precision(Precision::F32).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParam { name, .. } if name == "precision"),
            "{err}"
        );
    }
}
