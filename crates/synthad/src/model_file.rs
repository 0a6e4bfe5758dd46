//! Persist: one model file — safetensors holding the network's weights (if the detector has
//! any), with the format version, configuration, schema, preprocessing and the rest of the
//! model (trees, DeepSAD's center) as JSON in its metadata.
//!
//! Files are written to a temporary file beside the target and renamed into place, so a crash
//! never leaves a partial model behind.

use std::collections::HashMap;
use std::path::Path;

use candle_core::safetensors::Load;
use candle_core::Device;
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::ingest::labels::LabelSpec;
use crate::ingest::InputSchema;
use crate::prepare::Preprocessor;
use crate::score::Calibration;
use crate::synthesize::{AnomalyGenerator, UniformBox};
use crate::train::{DetectorKind, Model, TrainParams};

/// Identifies synthad model files in the safetensors metadata.
const FORMAT: &str = "synthad-model";
/// Bumped whenever the layout of the JSON header or of the tensors changes incompatibly.
/// Version 2: detectors other than the classifier; the model's own state in `model`.
pub const FORMAT_VERSION: u32 = 2;
const METADATA_KEY: &str = "synthad";

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    /// The synthad release that wrote the file, for messages.
    written_by: String,
    detector: DetectorKind,
    params: TrainParams,
    schema: Option<InputSchema>,
    preprocessor: Preprocessor,
    generator: UniformBox,
    threshold: f32,
    labels: Option<LabelSpec>,
    known_kinds: Vec<String>,
    /// The calibration normals' scores (absent in files written before calibration existed).
    #[serde(default)]
    calibration: Calibration,
    /// The encoded calibration normal of median score: the baseline of explanations.
    #[serde(default)]
    typical_normal: Vec<f32>,
    /// The model's state besides its tensors.
    model: serde_json::Value,
}

impl Detector {
    /// Writes the detector to `path` atomically (see [`crate::atomic_file`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::atomic_file::write(path, &self.to_bytes()?)
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let parts = self.model.parts()?;
        let header = Header {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            written_by: env!("CARGO_PKG_VERSION").into(),
            detector: self.model.kind(),
            params: self.params.clone(),
            schema: self.schema.clone(),
            preprocessor: self.preprocessor.clone(),
            generator: self.generator.clone(),
            threshold: self.threshold,
            labels: self.labels.clone(),
            known_kinds: self.known_kinds.clone(),
            calibration: self.calibration.clone(),
            typical_normal: self.typical_normal.clone(),
            model: parts.state,
        };
        let json = serde_json::to_string(&header).expect("the model header serializes");
        let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
        safetensors::serialize(parts.tensors, Some(metadata))
            .map_err(|e| Error::Training(format!("cannot serialize the weights: {e}")))
    }

    /// Reads a detector written by [`Detector::save`], checking format, version and shapes.
    pub fn load(path: &Path) -> Result<Detector> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Detector::from_bytes(&bytes, path)
    }

    /// Reads a model file's bytes; `path` names it in messages. Every index, width and count
    /// in the file is checked: a model file is untrusted input.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Detector> {
        let bad = |message: String| Error::BadModelFile {
            path: path.into(),
            message,
        };
        let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| {
            bad(format!(
                "not a safetensors file ({e}); was it written by `synthad train`?"
            ))
        })?;
        let json = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or_else(|| bad("a safetensors file without synthad metadata".into()))?;
        let probe: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(format!("unreadable metadata: {e}")))?;
        if probe.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(bad(
                "the metadata does not name the synthad model format".into()
            ));
        }
        let version = probe.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(FORMAT_VERSION) {
            return Err(bad(format!(
                "format version {version}, but this synthad ({}) reads version {FORMAT_VERSION}; retrain the model or use a matching synthad",
                env!("CARGO_PKG_VERSION")
            )));
        }
        let header: Header = serde_json::from_value(probe).map_err(|e| {
            bad(format!(
                "metadata does not match format version {FORMAT_VERSION}: {e}"
            ))
        })?;
        let tensors =
            SafeTensors::deserialize(bytes).map_err(|e| bad(format!("corrupt tensors: {e}")))?;
        let used = std::cell::Cell::new(0usize);
        let tensor = |name: &str, shape: &[usize]| {
            let view = tensors
                .tensor(name)
                .map_err(|e| bad(format!("tensor {name}: {e}")))?;
            let tensor = view.load(&Device::Cpu)?;
            if tensor.dims() != shape {
                return Err(bad(format!(
                    "tensor {name} has shape {:?}, expected {shape:?}",
                    tensor.dims()
                )));
            }
            used.set(used.get() + 1);
            Ok(tensor)
        };
        let model = Model::from_parts(header.detector, header.model, &tensor)
            .map_err(|e| bad(format!("the {} model: {e}", header.detector.name())))?;
        if tensors.len() != used.get() {
            return Err(bad(format!(
                "{} tensors, of which the model uses {}",
                tensors.len(),
                used.get()
            )));
        }
        let inputs = header.preprocessor.n_features();
        if model.inputs() != inputs {
            return Err(bad(format!(
                "the model takes {} features but the preprocessor makes {inputs}",
                model.inputs()
            )));
        }
        let detector = Detector {
            schema: header.schema,
            preprocessor: header.preprocessor,
            model,
            threshold: header.threshold,
            params: header.params,
            labels: header.labels,
            known_kinds: header.known_kinds,
            generator: header.generator,
            calibration: header.calibration,
            typical_normal: header.typical_normal,
        };
        check_consistency(&detector).map_err(bad)?;
        Ok(detector)
    }
}

/// Checks what the parts of a loaded detector say about each other, so that nothing read from
/// a file can index out of bounds or loop later.
fn check_consistency(d: &Detector) -> std::result::Result<(), String> {
    if !d.threshold.is_finite() {
        return Err(format!("the threshold is {}", d.threshold));
    }
    d.params
        .check_values()
        .map_err(|e| format!("the training parameters: {e}"))?;
    d.preprocessor.check()?;
    let n_features = d.preprocessor.n_features();
    if d.generator.n_features() != n_features {
        return Err(format!(
            "the synthetic-anomaly box has {} features but the preprocessor makes {n_features}",
            d.generator.n_features()
        ));
    }
    d.generator.check(&d.preprocessor.layout())?;
    if !d.typical_normal.is_empty()
        && (d.typical_normal.len() != n_features || d.typical_normal.iter().any(|v| !v.is_finite()))
    {
        return Err(format!(
            "the typical normal row has {} values, not {n_features} finite ones",
            d.typical_normal.len()
        ));
    }
    if let Some(schema) = &d.schema {
        schema.check(&d.preprocessor)?;
    }
    Ok(())
}
