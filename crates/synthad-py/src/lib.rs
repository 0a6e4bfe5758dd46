//! Python bindings of synthad: Python values in, synthad's types, Python values out — as
//! Hugging Face tokenizers' bindings do for its core. No detection logic lives here; the
//! estimator classes are pure Python (`python/synthad/`).

use std::path::PathBuf;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyMemoryError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use synthad::ingest::{ColumnSpec, RawColumn, RawTable, ReadOptions, TrainingSet};
use synthad::train::{DetectorKind, TrainParams};
use synthad::{Choice, Detector, Error};

create_exception!(
    _core,
    SynthadError,
    PyException,
    "An error of synthad that is not about its input: training failed, a backend error."
);
create_exception!(
    _core,
    InvalidInputError,
    PyValueError,
    "The data or a parameter cannot be used; the message says which and what to do."
);
create_exception!(
    _core,
    ModelFileError,
    PyValueError,
    "Not a readable synthad model file (or pickle of one)."
);

/// Every synthad error as the Python exception of its kind, with synthad's message.
fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Io { .. } => PyOSError::new_err(message),
        Error::BadModelFile { .. } => ModelFileError::new_err(message),
        Error::TooLarge { .. } => PyMemoryError::new_err(message),
        Error::Training(_) | Error::Backend(_) => SynthadError::new_err(message),
        _ => InvalidInputError::new_err(message),
    }
}

/// A column as Python hands it over: numbers (NaN = missing) or text (None = missing).
#[derive(FromPyObject)]
enum ColumnIn<'py> {
    Numbers(PyReadonlyArray1<'py, f64>),
    Text(Vec<Option<String>>),
}

/// How the bindings read values: NaN and empty text are missing.
fn read_options() -> ReadOptions {
    ReadOptions {
        missing: vec![String::new(), "NaN".into()],
        ..Default::default()
    }
}

fn raw_table(names: Vec<String>, columns: Vec<ColumnIn>) -> PyResult<RawTable> {
    let columns = columns
        .into_iter()
        .map(|c| match c {
            ColumnIn::Numbers(values) => {
                RawColumn::Float(values.as_array().iter().map(|&v| Some(v)).collect())
            }
            ColumnIn::Text(values) => RawColumn::Text(values),
        })
        .collect();
    RawTable::from_columns("the data", names, columns).map_err(to_py)
}

/// Training parameters: `detector`'s defaults with the JSON object's keys over them (the
/// Python class's keywords, already named as `TrainParams`' fields).
fn params(json: &str) -> PyResult<synthad::train::CheckedParams> {
    let bad = |e: serde_json::Error| InvalidInputError::new_err(format!("parameters: {e}"));
    let overrides: serde_json::Value = serde_json::from_str(json).map_err(bad)?;
    let detector = match overrides.get("detector").and_then(|d| d.as_str()) {
        Some(name) => DetectorKind::parse(name).map_err(to_py)?,
        None => DetectorKind::Auto,
    };
    let mut merged =
        serde_json::to_value(TrainParams::for_detector(detector)).expect("parameters serialize");
    merge(&mut merged, overrides);
    let params: TrainParams = serde_json::from_value(merged).map_err(bad)?;
    params.check().map_err(to_py)
}

/// Replaces `base`'s keys with `overrides`', recursing into objects.
fn merge(base: &mut serde_json::Value, overrides: serde_json::Value) {
    match (base, overrides) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overrides)) => {
            for (key, value) in overrides {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// A fitted detector.
#[pyclass(module = "synthad._core", frozen)]
struct Model {
    inner: Detector,
}

impl Model {
    fn at_threshold(&self, threshold: Option<f32>) -> synthad::Result<Detector> {
        match threshold {
            Some(t) => self.inner.clone().with_threshold(t),
            None => Ok(self.inner.clone()),
        }
    }
}

#[pymethods]
impl Model {
    /// Anomaly scores (higher = more anomalous) of named columns.
    fn decision_function<'py>(
        &self,
        py: Python<'py>,
        names: Vec<String>,
        columns: Vec<ColumnIn<'py>>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let raw = raw_table(names, columns)?;
        let scores = py.detach(|| self.inner.score_named(&raw)).map_err(to_py)?;
        Ok(PyArray1::from_vec(py, scores))
    }

    /// Conformal p-values of named columns' rows against the calibration normals.
    fn p_values<'py>(
        &self,
        py: Python<'py>,
        names: Vec<String>,
        columns: Vec<ColumnIn<'py>>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let raw = raw_table(names, columns)?;
        let p = py
            .detach(|| self.inner.p_values(&self.inner.score_named(&raw)?))
            .map_err(to_py)?;
        Ok(PyArray1::from_vec(py, p))
    }

    /// Per-row contributions of every input column: (columns, contributions as a flat
    /// rows × columns array, scores, baseline score, method).
    #[allow(clippy::type_complexity)]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        names: Vec<String>,
        columns: Vec<ColumnIn<'py>>,
    ) -> PyResult<(
        Vec<String>,
        Bound<'py, PyArray1<f32>>,
        Bound<'py, PyArray1<f32>>,
        f32,
        String,
    )> {
        let raw = raw_table(names, columns)?;
        let e = py
            .detach(|| {
                let table = self.inner.file_schema()?.table_by_name(&raw)?;
                self.inner.explain(&table)
            })
            .map_err(to_py)?;
        let baseline = e.baseline.first().copied().unwrap_or(0.0);
        Ok((
            e.columns,
            PyArray1::from_vec(py, e.contributions.data),
            PyArray1::from_vec(py, e.scores),
            baseline,
            e.method,
        ))
    }

    /// The number of calibration normals (0: no p-values).
    #[getter]
    fn calibration_rows(&self) -> usize {
        self.inner.calibration().len()
    }

    /// The model file's bytes (what `save` writes).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| self.inner.to_bytes()).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The model as ONNX bytes (see `synthad export`), flagging above `threshold` where given.
    #[pyo3(signature = (threshold=None))]
    fn to_onnx<'py>(
        &self,
        py: Python<'py>,
        threshold: Option<f32>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py
            .detach(|| self.at_threshold(threshold)?.to_onnx())
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes the ONNX model atomically, flagging above `threshold` where given.
    #[pyo3(signature = (path, threshold=None))]
    fn export_onnx(&self, py: Python<'_>, path: PathBuf, threshold: Option<f32>) -> PyResult<()> {
        py.detach(|| self.at_threshold(threshold)?.export_onnx(&path))
            .map_err(to_py)
    }

    /// Writes the model file atomically; the CLI reads it too.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(to_py)
    }

    /// The score above which a row is flagged, fitted on held-out normal rows.
    #[getter]
    fn threshold(&self) -> f32 {
        self.inner.threshold()
    }

    #[getter]
    fn detector(&self) -> &'static str {
        self.inner.kind().name()
    }

    /// The input columns, in order.
    #[getter]
    fn feature_names_in(&self) -> Vec<String> {
        self.inner
            .preprocessor()
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// The input columns read as categories.
    #[getter]
    fn categorical_columns(&self) -> Vec<String> {
        self.inner
            .preprocessor()
            .columns
            .iter()
            .filter(|c| c.kind == synthad::ingest::ColumnKind::Categorical)
            .map(|c| c.name.clone())
            .collect()
    }

    #[getter]
    fn known_kinds(&self) -> Vec<String> {
        self.inner.known_kinds().to_vec()
    }

    /// The training parameters, as JSON.
    #[getter]
    fn params_json(&self) -> String {
        serde_json::to_string(self.inner.params()).expect("parameters serialize")
    }

    /// What `auto` tried and chose, as JSON; None for other detectors.
    #[getter]
    fn leaderboard_json(&self) -> Option<String> {
        self.inner
            .leaderboard()
            .map(|b| serde_json::to_string(b).expect("the leaderboard serializes"))
    }
}

/// Fits a detector on named columns; `kinds` gives each row's role (None normal, a string the
/// kind of a known anomaly); `categorical` names the columns to read as categories. Returns
/// the model and the fit's warnings.
#[pyfunction]
fn fit(
    py: Python<'_>,
    names: Vec<String>,
    columns: Vec<ColumnIn<'_>>,
    categorical: Vec<String>,
    kinds: Vec<Option<String>>,
    params_json: &str,
) -> PyResult<(Model, Vec<String>)> {
    let raw = raw_table(names, columns)?;
    let params = params(params_json)?;
    let spec = ColumnSpec {
        categorical,
        ..Default::default()
    };
    // The fit runs on its own thread while this one, holding the GIL only briefly, checks
    // for signals every 50 ms: Ctrl-C raises KeyboardInterrupt at once, and the fit stops
    // at its next step (a minibatch, a fold) instead of running to the end of its budget.
    let stop = synthad::process::StopFlag::new();
    let outcome = std::thread::scope(|scope| {
        let fitting = scope.spawn(|| {
            synthad::process::run_stoppable(&stop, || {
                let data = TrainingSet::from_raw(&raw, &kinds, &spec, &read_options())?;
                Detector::fit(&data, &params)
            })
        });
        loop {
            if fitting.is_finished() {
                return Ok(fitting.join());
            }
            py.detach(|| std::thread::sleep(std::time::Duration::from_millis(50)));
            if let Err(interrupt) = py.check_signals() {
                stop.request();
                // Joined so that no fit outlives the call (it stops within one step).
                py.detach(|| drop(fitting.join()));
                return Err(interrupt);
            }
        }
    })?;
    let (inner, report) = outcome
        .map_err(|_| SynthadError::new_err("the fit panicked"))?
        .map_err(to_py)?;
    Ok((Model { inner }, report.warnings))
}

/// The training parameters `detector` uses by default, as JSON (`load` compares a model's
/// parameters against them to restore the keywords that differ).
#[pyfunction]
fn default_params_json(detector: &str) -> PyResult<String> {
    let detector = DetectorKind::parse(detector).map_err(to_py)?;
    Ok(serde_json::to_string(&TrainParams::for_detector(detector)).expect("parameters serialize"))
}

/// A model from the bytes of a model file (untrusted input: checked whole).
#[pyfunction]
fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Model> {
    let inner = py
        .detach(|| Detector::from_bytes(data, std::path::Path::new("<bytes>")))
        .map_err(to_py)?;
    Ok(Model { inner })
}

/// A model from a model file, written by `save` or by `synthad train`.
#[pyfunction]
fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
    let inner = py.detach(|| Detector::load(&path)).map_err(to_py)?;
    Ok(Model { inner })
}

/// The number of threads for training and scoring (0: all cores). Takes effect before the
/// first fit or score of the process only.
#[pyfunction]
fn set_threads(threads: usize) {
    synthad::process::set_threads(threads);
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The CLI's process settings; the thread count stays rayon's (all cores) until
    // `set_threads` is called.
    synthad::process::set_threads(0);
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(default_params_json, m)?)?;
    m.add_function(wrap_pyfunction!(from_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add("SynthadError", m.py().get_type::<SynthadError>())?;
    m.add("InvalidInputError", m.py().get_type::<InvalidInputError>())?;
    m.add("ModelFileError", m.py().get_type::<ModelFileError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
