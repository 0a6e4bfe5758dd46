//! `synthad synth`: write synthetic anomalies, decoded to the input columns (or encoded).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use synthad::ingest::labels::{LabelSpec, Labels, RowSplit};
use synthad::ingest::{RawTable, Table};
use synthad::prepare::Preprocessor;
use synthad::synthesize::{AnomalyGenerator, UniformBox};
use synthad::{fit_generator, Detector};

use crate::args::{ColumnArgs, ReadArgs};
use synthad::output::Output;

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Draw around the training data of this model ...
    #[arg(long, conflicts_with = "data", help_heading = "Source")]
    pub model: Option<PathBuf>,
    /// ... or around this data file: its normal and known rows when a label column is given,
    /// else all rows ("-" reads standard input).
    #[arg(long, help_heading = "Source")]
    pub data: Option<PathBuf>,
    /// With --data: the label column, by name or zero-based index.
    #[arg(long, requires = "data", help_heading = "Source")]
    pub label_column: Option<String>,
    /// With --label-column: label value(s) of normal rows, whose box is drawn from.
    #[arg(long, num_args = 1.., requires = "label_column", help_heading = "Source")]
    pub normal: Vec<String>,
    /// With --label-column: label values of known anomalies, whose rows join the box.
    #[arg(long, num_args = 1.., requires = "label_column", help_heading = "Source")]
    pub known: Vec<String>,
    /// With --data: widen the box by this fraction of each feature's range per side.
    #[arg(long, default_value_t = 0.0, help_heading = "Source")]
    pub margin: f64,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// Number of samples.
    #[arg(long, default_value_t = 1000, help_heading = "Output")]
    pub count: usize,
    /// Seed of the draws: the same seed gives the same samples.
    #[arg(long, default_value_t = 0, help_heading = "Output")]
    pub seed: u64,
    /// Write the encoded features (scaled, one-hot) instead of input values.
    #[arg(long, help_heading = "Output")]
    pub encoded: bool,
    /// Output CSV ("-" writes standard output); a file appears only once complete.
    #[arg(long, help_heading = "Output")]
    pub out: PathBuf,
}

/// Rows drawn and written at a time: memory stays flat whatever --count is.
const CHUNK_ROWS: usize = 65_536;

pub fn run(args: SynthArgs) -> Result<()> {
    let inputs: Vec<(&str, &Path)> = [("--model", &args.model), ("--data", &args.data)]
        .into_iter()
        .filter_map(|(flag, path)| path.as_deref().map(|p| (flag, p)))
        .collect();
    synthad::output::check_distinct(&inputs, &[("--out", &args.out)])?;
    let mut out = Output::create(&args.out)?;
    let (preprocessor, generator) = match (&args.model, &args.data) {
        (Some(model), _) => {
            let d = Detector::load(model)?;
            (d.preprocessor().clone(), d.generator().clone())
        }
        (None, Some(data)) => from_data(&args, data)?,
        (None, None) => bail!("give --model or --data"),
    };
    if let Some(target) = out.staged_target() {
        check_disk_space(target, args.count, preprocessor.n_features())?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut writer = csv::Writer::from_writer(&mut out);
    if args.encoded {
        writer.write_record(preprocessor.feature_names())?;
    } else {
        writer.write_record(preprocessor.columns.iter().map(|c| &c.name))?;
    }
    let mut left = args.count;
    while left > 0 {
        let n = left.min(CHUNK_ROWS);
        let samples = generator.generate(n, &mut rng);
        if args.encoded {
            for r in 0..samples.rows {
                writer.write_record(samples.row(r).iter().map(|v| v.to_string()))?;
            }
        } else {
            for row in preprocessor.inverse_transform(&samples) {
                writer.write_record(row)?;
            }
        }
        left -= n;
    }
    writer.flush()?;
    drop(writer);
    out.commit()
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} synthetic anomalies to {}",
        args.count,
        args.out.display()
    );
    Ok(())
}

/// Refuses a --count whose CSV would not fit on the output's file system (at the least 2
/// bytes per field), before hours of writing end in a full disk.
fn check_disk_space(target: &Path, count: usize, fields: usize) -> Result<()> {
    let needed = (count as u128) * (fields.max(1) as u128) * 2;
    if let Some(free) = free_bytes(target) {
        if needed > free as u128 {
            bail!(
                "--count {count}: {count} rows of {fields} fields need at least {} on disk, but the file system of {} has {} free; lower --count",
                synthad::memory::human(needed.min(u64::MAX as u128) as u64),
                target.display(),
                synthad::memory::human(free)
            );
        }
    }
    Ok(())
}

/// Free bytes on the file system holding `path`'s directory.
fn free_bytes(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs is a plain C struct for which all-zero bytes are a valid value.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: c_path is a valid NUL-terminated string and stat a writable statvfs.
        if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
            return None;
        }
        Some(stat.f_bavail as u64 * stat.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
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
    Ok(fit_generator(
        &table,
        &rows,
        args.margin,
        args.columns.max_categories,
    )?)
}
