//! `synthad synth`: write synthetic anomalies, decoded to the input columns (or encoded).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use synthad::ingest::labels::{LabelSpec, Labels, RowSplit};
use synthad::ingest::{RawTable, Table};
use synthad::prepare::Preprocessor;
use synthad::synthesize::{AnomalyGenerator, UniformBox};
use synthad::{fit_generator, Detector};

use crate::args::{ColumnArgs, ReadArgs};

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Draw around the training data of this model ...
    #[arg(long, conflicts_with = "data")]
    pub model: Option<PathBuf>,
    /// ... or around this data file (its normal and known rows when a label column is given,
    /// else all rows).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, requires = "data")]
    pub label_column: Option<String>,
    #[arg(long, num_args = 1.., requires = "label_column")]
    pub normal: Vec<String>,
    #[arg(long, num_args = 1.., requires = "label_column")]
    pub known: Vec<String>,
    /// Widen the box by this fraction of each feature's range per side (with --data).
    #[arg(long, default_value_t = 0.0)]
    pub margin: f64,
    /// Number of samples.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the encoded features (scaled, one-hot) instead of input values.
    #[arg(long)]
    pub encoded: bool,
    /// Output CSV.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

pub fn run(args: SynthArgs) -> Result<()> {
    let (preprocessor, generator) = match (&args.model, &args.data) {
        (Some(model), _) => {
            let d = Detector::load(model)?;
            (d.preprocessor, d.generator)
        }
        (None, Some(data)) => from_data(&args, data)?,
        (None, None) => bail!("give --model or --data"),
    };
    let samples = generator.generate(args.count, &mut ChaCha8Rng::seed_from_u64(args.seed));
    let mut writer = csv::Writer::from_path(&args.out)?;
    if args.encoded {
        writer.write_record(preprocessor.feature_names())?;
        for r in 0..samples.rows {
            writer.write_record(samples.row(r).iter().map(|v| v.to_string()))?;
        }
    } else {
        writer.write_record(preprocessor.columns.iter().map(|c| &c.name))?;
        for row in preprocessor.inverse_transform(&samples) {
            writer.write_record(row)?;
        }
    }
    writer.flush()?;
    eprintln!(
        "wrote {} synthetic anomalies to {}",
        args.count,
        args.out.display()
    );
    Ok(())
}

fn from_data(args: &SynthArgs, data: &std::path::Path) -> Result<(Preprocessor, UniformBox)> {
    let options = args.read.options()?;
    let raw = RawTable::read(data, &options)?;
    let (exclude, rows) = match &args.label_column {
        Some(column) => {
            if args.normal.is_empty() {
                bail!("--label-column needs --normal");
            }
            let labels = Labels::read(&raw, column)?;
            let spec = LabelSpec {
                column: column.clone(),
                normal: args.normal.clone(),
                known: args.known.clone(),
            };
            let split = RowSplit::new(&raw, &labels, &spec)?;
            let rows = split
                .normal
                .iter()
                .copied()
                .chain(split.known.iter().map(|k| k.0))
                .collect();
            (vec![labels.column_index], rows)
        }
        None => (Vec::new(), (0..raw.n_rows()).collect::<Vec<_>>()),
    };
    let table = Table::infer(&raw, &args.columns.spec(), &exclude, &options)?;
    Ok(fit_generator(&table, &rows, args.margin)?)
}
