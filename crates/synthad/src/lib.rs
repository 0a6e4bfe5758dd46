//! synthad: semi-supervised anomaly detection as binary classification against known and
//! synthetic anomalies (Lau et al., 2025, "Bridging Unsupervised and Semi-Supervised Anomaly
//! Detection").
//!
//! The modules follow the pipeline: [`ingest`] → [`prepare`] → [`synthesize`] → [`train`] →
//! [`score`] → [`evaluate`]. [`Detector`] ties them together behind `fit`,
//! `decision_function` and `predict`; [`model_file`] saves and loads it.
//!
//! Fitting on rows you already have in memory, and scoring new ones:
//!
//! ```
//! use synthad::ingest::{RawTable, TrainingSet};
//! use synthad::train::TrainParams;
//! use synthad::Detector;
//!
//! // The demo problem: two normal clusters and a labeled anomaly cluster in the unit square.
//! // `kinds` gives each row's role: None for normal, Some(kind) for a known anomaly.
//! let (rows, kinds) = synthad::demo::make(0).train_matrix();
//! let names = || Some(vec!["x".to_string(), "y".to_string()]);
//! let raw = RawTable::from_matrix("demo", &rows, 2, names())?;
//! let data = TrainingSet::from_raw(&raw, &kinds, &Default::default(), &Default::default())?;
//!
//! // Parameters are checked before anything trains; a small network keeps the example quick.
//! let params = TrainParams { hidden: vec![64], ..Default::default() }.check()?;
//! let (detector, _report) = Detector::fit(&data, &params)?;
//!
//! // A point of a normal cluster, and one in an empty corner no label ever showed.
//! let new = RawTable::from_matrix("new", &[0.3, 0.3, 0.2, 0.8], 2, names())?;
//! let scores = detector.score_raw(&new, false)?;
//! assert!(scores[1] > detector.threshold() && scores[0] < detector.threshold());
//! # Ok::<(), synthad::Error>(())
//! ```

pub mod bench;
pub mod choice;
pub mod demo;
mod detector;
mod error;
pub mod evaluate;
pub mod explain;
pub mod export;
pub mod ingest;
pub mod memory;
pub mod model_file;
pub mod output;
pub mod prepare;
pub mod process;
pub mod score;
pub mod synthesize;
pub mod train;

pub use choice::Choice;
pub use detector::{Detector, FitReport, ThresholdRows};
pub use error::{Error, Result};
pub use train::data::fit_generator;

/// Not API: internals for the crate's own benchmarks (`examples/throughput.rs`), which
/// measure the training loop and the matrix kernels apart from the rest of the pipeline. They
/// change without notice.
#[doc(hidden)]
pub mod __bench {
    pub use crate::ingest::npz::NpzWriter;
    pub use crate::train::data::TrainingData;
    pub use crate::train::labeled_set::LabeledSet;
    pub use crate::train::linear::sgemm;

    /// The bf16 matrix kernel.
    pub mod bf16 {
        pub use crate::train::bf16::Bf16Kernel;
    }

    use crate::prepare::Matrix;
    use crate::train::{CheckedParams, EpochStats, Model, TrainReport};

    /// A fitted model, for timing its scoring.
    pub struct FittedModel(Model);

    impl FittedModel {
        pub fn scores(&self, x: &Matrix) -> crate::Result<Vec<f32>> {
            self.0.scores(x)
        }
    }

    /// One `auto` candidate as studied offline: its held-out scores (normals, known
    /// anomalies, each synthetic shape) and its test scores.
    pub struct StudiedCandidate {
        pub name: String,
        pub held_normal: Vec<f32>,
        pub held_known: Vec<f32>,
        pub held_shapes: Vec<Vec<f32>>,
        pub test_scores: Vec<f32>,
    }

    /// Runs `auto`'s search and returns every candidate's scores.
    pub fn auto_study(
        data: &crate::ingest::TrainingSet,
        params: &CheckedParams,
        test: &crate::ingest::Table,
    ) -> crate::Result<Vec<StudiedCandidate>> {
        crate::detector::auto_study(data, params, test)
    }

    /// The training loop alone, on prepared sets.
    pub fn fit_model(
        train: &LabeledSet,
        validation: &LabeledSet,
        params: &CheckedParams,
        rng: &mut rand_chacha::ChaCha8Rng,
        on_epoch: &mut dyn FnMut(&EpochStats),
    ) -> crate::Result<(FittedModel, TrainReport)> {
        let (model, report) = crate::train::fit_model(train, validation, params, rng, on_epoch)?;
        Ok((FittedModel(model), report))
    }
}
