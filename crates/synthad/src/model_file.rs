//! Persist: one model file — safetensors holding the network's weights, with the format
//! version, configuration, schema and preprocessing as JSON in its metadata.
//!
//! Files are written to a temporary file beside the target and renamed into place, so a crash
//! never leaves a partial model behind.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use candle_core::safetensors::Load;
use candle_core::Device;
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::detector::{Detector, InputSchema};
use crate::error::{Error, Result};
use crate::ingest::labels::LabelSpec;
use crate::prepare::Preprocessor;
use crate::synthesize::UniformBox;
use crate::train::{Mlp, TrainParams};

/// Identifies synthad model files in the safetensors metadata.
const FORMAT: &str = "synthad-model";
/// Bumped whenever the layout of [`Header`] or of the tensors changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;
const METADATA_KEY: &str = "synthad";

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    /// The synthad release that wrote the file, for messages.
    written_by: String,
    detector: String,
    params: TrainParams,
    schema: Option<InputSchema>,
    preprocessor: Preprocessor,
    generator: UniformBox,
    threshold: f32,
    labels: Option<LabelSpec>,
    known_kinds: Vec<String>,
    hidden: Vec<usize>,
}

impl Detector {
    /// Writes the detector to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = Header {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            written_by: env!("CARGO_PKG_VERSION").into(),
            detector: "mlp".into(),
            params: self.params.clone(),
            schema: self.schema.clone(),
            preprocessor: self.preprocessor.clone(),
            generator: self.generator.clone(),
            threshold: self.threshold,
            labels: self.labels.clone(),
            known_kinds: self.known_kinds.clone(),
            hidden: self.mlp.hidden(),
        };
        let json = serde_json::to_string(&header).expect("the model header serializes");
        let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
        let bytes =
            safetensors::serialize(self.mlp.named_tensors(), Some(metadata)).map_err(|e| {
                Error::BadModelFile {
                    path: path.into(),
                    message: format!("cannot serialize the weights: {e}"),
                }
            })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
        tmp.write_all(&bytes)
            .map_err(|e| Error::io(tmp.path(), e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(tmp.path(), e))?;
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }

    /// Reads a detector written by [`Detector::save`], checking format, version and shapes.
    pub fn load(path: &Path) -> Result<Detector> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |message: String| Error::BadModelFile {
            path: path.into(),
            message,
        };
        let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(|e| {
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
        if header.detector != "mlp" {
            return Err(bad(format!("unknown detector {:?}", header.detector)));
        }

        let tensors =
            SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("corrupt tensors: {e}")))?;
        let mut widths = vec![header.preprocessor.n_features()];
        widths.extend(&header.hidden);
        widths.push(1);
        let mut layers = Vec::new();
        for (i, w) in widths.windows(2).enumerate() {
            let load = |name: String, shape: &[usize]| {
                let view = tensors
                    .tensor(&name)
                    .map_err(|e| bad(format!("tensor {name}: {e}")))?;
                let tensor = view.load(&Device::Cpu)?;
                if tensor.dims() != shape {
                    return Err(bad(format!(
                        "tensor {name} has shape {:?}, expected {shape:?}",
                        tensor.dims()
                    )));
                }
                Ok(tensor)
            };
            layers.push((
                load(format!("layers.{i}.weight"), &[w[1], w[0]])?,
                load(format!("layers.{i}.bias"), &[w[1]])?,
            ));
        }
        if tensors.len() != 2 * layers.len() {
            return Err(bad(format!(
                "{} tensors, expected {}",
                tensors.len(),
                2 * layers.len()
            )));
        }
        Ok(Detector {
            schema: header.schema,
            preprocessor: header.preprocessor,
            mlp: Mlp::from_tensors(layers)?,
            threshold: header.threshold,
            params: header.params,
            labels: header.labels,
            known_kinds: header.known_kinds,
            generator: header.generator,
        })
    }
}
