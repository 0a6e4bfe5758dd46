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
/// Version 3: a SHA-256 checksum over the header and the tensors (version 2 files still load).
pub const FORMAT_VERSION: u32 = 3;
/// The oldest version this synthad reads.
const OLDEST_VERSION: u32 = 2;
const METADATA_KEY: &str = "synthad";
/// The checksum ends the header's JSON as its last field, `,"sha256":"<64 hex digits>"}`, over
/// the JSON without it (see [`checksum`]). It lives inside the one metadata entry because
/// safetensors writes the metadata map in hash order: two entries would make the bytes of a
/// file differ from run to run.
const CHECKSUM_FIELD: &str = ",\"sha256\":\"";

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
    /// Writes the detector to `path` atomically (see [`crate::output`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::output::write(path, &self.to_bytes()?)
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
        let serialize = |json: String| {
            let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
            safetensors::serialize(parts.tensors.clone(), Some(metadata))
                .map_err(|e| Error::Training(format!("cannot serialize the weights: {e}")))
        };
        // The checksum is taken over the tensors as stored, read back the way `from_bytes`
        // reads them, so both sides hash the same bytes.
        let unsealed = serialize(json.clone())?;
        let stored = SafeTensors::deserialize(&unsealed)
            .map_err(|e| Error::Training(format!("cannot read back the weights: {e}")))?;
        serialize(seal(&json, &checksum(&json, &stored)))
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
        if !(u64::from(OLDEST_VERSION)..=u64::from(FORMAT_VERSION)).contains(&version) {
            return Err(bad(format!(
                "format version {version}, but this synthad ({}) reads versions {OLDEST_VERSION} to {FORMAT_VERSION}; retrain the model or use a matching synthad",
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
        if version >= 3 {
            let (unsealed, stored) =
                unseal(json).ok_or_else(|| bad("the checksum is missing".into()))?;
            if stored != checksum(&unsealed, &tensors) {
                return Err(bad(
                    "the checksum does not match: the file was damaged or altered after it was written; train the model again or restore the file from a copy".into(),
                ));
            }
        }
        let used = std::cell::Cell::new(0usize);
        let tensor = |name: &str, shape: &[usize]| {
            let view = tensors
                .tensor(name)
                .map_err(|e| bad(format!("tensor {name}: {e}")))?;
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(bad(format!(
                    "tensor {name} holds {:?} values, not f32",
                    view.dtype()
                )));
            }
            if let Some(i) = view
                .data()
                .chunks_exact(4)
                .position(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite())
            {
                return Err(bad(format!(
                    "tensor {name} holds a value that is not finite (at position {i})"
                )));
            }
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

/// The header's JSON with its checksum as the last field.
fn seal(json: &str, sum: &str) -> String {
    let body = json.strip_suffix('}').expect("the header is a JSON object");
    format!("{body}{CHECKSUM_FIELD}{sum}\"}}")
}

/// The header's JSON without its checksum, and the checksum.
fn unseal(json: &str) -> Option<(String, &str)> {
    let body = json.strip_suffix("\"}")?;
    let at = body.len().checked_sub(64 + CHECKSUM_FIELD.len())?;
    let (head, field) = body.split_at_checked(at)?;
    let sum = field.strip_prefix(CHECKSUM_FIELD)?;
    (sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (format!("{head}}}"), sum))
}

/// Hex SHA-256 over the header's JSON and every tensor's name, shape and bytes, in name order.
fn checksum(json: &str, tensors: &SafeTensors) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(json.as_bytes());
    let mut names = tensors.names();
    names.sort();
    for name in names {
        let view = tensors.tensor(name).expect("a listed tensor exists");
        field(name.as_bytes());
        field(format!("{:?}{:?}", view.dtype(), view.shape()).as_bytes());
        field(view.data());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks what the parts of a loaded detector say about each other, so that nothing read from
/// a file can index out of bounds or loop later.
fn check_consistency(d: &Detector) -> std::result::Result<(), String> {
    if !d.threshold.is_finite() {
        return Err(format!("the threshold is {}", d.threshold));
    }
    d.calibration.check()?;
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

/// Not API: recomputes the checksum of a model file whose header was edited, so that tests and
/// the fuzz target reach the checks behind it (a damaged value must still be refused on its
/// own account). Returns `None` for bytes that are not a safetensors file with synthad
/// metadata.
#[doc(hidden)]
pub fn reseal(bytes: &[u8]) -> Option<Vec<u8>> {
    let n = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let mut header: serde_json::Value =
        serde_json::from_slice(bytes.get(8..8usize.checked_add(n)?)?).ok()?;
    let json = header.get("__metadata__")?.get(METADATA_KEY)?.as_str()?;
    let json = unseal(json).map_or(json.to_string(), |(unsealed, _)| unsealed);
    // Only an object can carry the checksum (fuzzing found a header that was not one).
    if !json.ends_with('}') {
        return None;
    }
    let tensors = SafeTensors::deserialize(bytes).ok()?;
    let sum = checksum(&json, &tensors);
    header["__metadata__"][METADATA_KEY] = seal(&json, &sum).into();
    let mut text = serde_json::to_vec(&header).ok()?;
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(&bytes[8 + n..]);
    Some(out)
}
