//! `synthad train`: fit a detector on a labeled file and save it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;

use synthad::ingest::labels::LabelSpec;
use synthad::ingest::{DataSpec, TrainingSet};
use synthad::output::Output;
use synthad::train::TrainParams;
use synthad::{Detector, ThresholdRows};

use crate::args::{ColumnArgs, ParamArgs, ReadArgs};
use crate::progress::EpochProgress;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data: CSV/TSV/.data text, Parquet or .npz; "-" reads standard input.
    #[arg(long, help_heading = "Data")]
    pub data: PathBuf,
    /// The label column, by name or zero-based index.
    #[arg(long, help_heading = "Data")]
    pub label_column: String,
    /// Label value(s) of normal rows.
    #[arg(long, num_args = 1.., required = true, help_heading = "Data")]
    pub normal: Vec<String>,
    /// Label values of known (labeled) anomalies; each is an anomaly kind. Rows with other
    /// labels are left out of training.
    #[arg(long, num_args = 1.., help_heading = "Data")]
    pub known: Vec<String>,
    /// Use only this share of the known-anomaly rows (a random subset chosen by --seed).
    #[arg(long, default_value_t = 1.0, help_heading = "Data")]
    pub known_fraction: f64,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Where to write the model (written whole or not at all).
    #[arg(long, help_heading = "Output")]
    pub model: PathBuf,
    /// False-positive rate on held-out normal rows at which `predict` (and `score
    /// --predict`) flags anomalies.
    #[arg(long, default_value_t = TrainParams::default().target_fpr, help_heading = "Output")]
    pub target_fpr: f64,
}

pub fn run(args: TrainArgs, quiet: bool) -> Result<()> {
    synthad::output::check_distinct(&[("--data", &args.data)], &[("--model", &args.model)])?;
    let params = args.params.params(&args.columns, args.target_fpr)?;
    let data = DataSpec {
        read: args.read.options()?,
        columns: args.columns.spec(),
        labels: LabelSpec {
            column: args.label_column.clone(),
            normal: args.normal.clone(),
            known: args.known.clone(),
        },
    };
    // Opened before training: an unwritable place fails now, not after the work.
    let mut model_file = Output::create_binary(&args.model)?;
    // Only the neural detectors report epochs.
    let progress = EpochProgress::new(
        &params.describe(),
        params.max_epochs,
        quiet || !params.detector.is_neural(),
    );
    let fitted = TrainingSet::read(&args.data, &data).and_then(|mut set| {
        set.keep_known_fraction(args.known_fraction, params.seed)?;
        Detector::fit_with_progress(&set, &params, &mut |s| progress.update(s))
    });
    progress.finish();
    let (detector, report) = fitted?;
    super::print_fit_summary(detector.params(), &report);
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(board) = detector.leaderboard() {
        eprint!("{}", super::leaderboard_text(board));
    }
    model_file
        .write_all(&detector.to_bytes()?)
        .map_err(|e| synthad::Error::Io {
            path: args.model.clone(),
            error: e,
        })?;
    model_file
        .commit()
        .with_context(|| format!("saving the model to {}", args.model.display()))?;
    let threshold_rows = match report.threshold_rows {
        ThresholdRows::Validation => "held-out",
        ThresholdRows::Calibration => "calibration",
        ThresholdRows::Training => "training",
    };
    eprintln!(
        "wrote {} (threshold {:.4} at {:.0}% false positives on {threshold_rows} normals)",
        args.model.display(),
        detector.threshold(),
        detector.params().target_fpr * 100.0
    );
    Ok(())
}
