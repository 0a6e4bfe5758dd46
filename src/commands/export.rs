//! `synthad export`: a model file as an ONNX model for other runtimes.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use synthad::Detector;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model file, as written by `synthad train`.
    #[arg(long)]
    pub model: PathBuf,
    /// The format to write: onnx (ONNX IR 8, opset 17, ai.onnx.ml 3), read by ONNX Runtime.
    #[arg(long, value_parser = ["onnx"], default_value = "onnx")]
    pub format: String,
    /// Where to write it; the file appears only once complete.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: ExportArgs) -> Result<()> {
    synthad::output::check_distinct(&[("--model", &args.model)], &[("--out", &args.out)])?;
    let detector = Detector::load(&args.model)?;
    detector.export_onnx(&args.out)?;
    let columns = detector.preprocessor().columns.len();
    eprintln!(
        "wrote {} ({} model, {columns} input columns; outputs `score` and `prediction` at threshold {})",
        args.out.display(),
        synthad::Choice::name(detector.kind()),
        detector.threshold()
    );
    Ok(())
}
