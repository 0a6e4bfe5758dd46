//! `synthad score`: anomaly scores for every row of a file, as CSV.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use synthad::ingest::RawTable;
use synthad::score::predict;
use synthad::Detector;

use crate::args::ScoringPrecision;
use crate::outputs::Output;

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// The model file, as written by `synthad train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data to score, with the columns the model was trained on; "-" reads standard input
    /// (e.g. `zcat logs.csv.gz | synthad score --data - ...`).
    #[arg(long)]
    pub data: PathBuf,
    /// Output CSV: a header row, carried columns, then `score` (and `anomaly` with --predict);
    /// "-" writes standard output. A file appears only once complete.
    #[arg(long)]
    pub out: PathBuf,
    /// Columns to copy into the output (ids, labels), by name or zero-based index.
    #[arg(long, num_args = 1.., value_name = "COLUMN")]
    pub carry: Vec<String>,
    /// Also write the decision at the model's threshold (1 = anomaly).
    #[arg(long)]
    pub predict: bool,
    /// The data lacks the training file's label column. Matters only for files without a
    /// header, whose columns are matched by position: without this flag they must hold every
    /// column of the training file, the label included.
    #[arg(long)]
    pub no_label: bool,
    #[command(flatten)]
    pub precision: ScoringPrecision,
}

/// Rows read, scored and written at a time: memory stays flat however long the file is.
const CHUNK_ROWS: usize = 65_536;

pub fn run(args: ScoreArgs) -> Result<()> {
    crate::outputs::check_distinct(
        &[("--model", &args.model), ("--data", &args.data)],
        &[("--out", &args.out)],
    )?;
    // Opened first: an unwritable place fails before any work.
    let out = Output::create(&args.out)?;
    let detector = args.precision.apply(Detector::load(&args.model)?)?;
    let schema = detector.file_schema()?;
    let chunks = RawTable::read_chunks(&args.data, &schema.read, CHUNK_ROWS)?;

    let mut writer = csv::Writer::from_writer(out);
    let (mut rows, mut flagged) = (0usize, 0usize);
    for (i, chunk) in chunks.enumerate() {
        let raw = chunk?;
        let carried: Vec<usize> = args
            .carry
            .iter()
            .map(|c| raw.resolve(c))
            .collect::<synthad::Result<_>>()?;
        if i == 0 {
            let mut header: Vec<&str> = carried.iter().map(|&c| raw.names[c].as_str()).collect();
            header.push("score");
            if args.predict {
                header.push("anomaly");
            }
            writer.write_record(&header)?;
        }
        let scores = detector.decision_function(&schema.table_from(&raw, !args.no_label)?)?;
        let decisions = predict(&scores, detector.threshold());
        for (row, score) in scores.iter().enumerate() {
            let mut record: Vec<String> = carried
                .iter()
                .map(|&c| raw.columns[c].text_at(row))
                .collect();
            record.push(score.to_string());
            if args.predict {
                record.push(u8::from(decisions[row]).to_string());
            }
            writer.write_record(&record)?;
        }
        rows += scores.len();
        flagged += decisions.iter().filter(|&&d| d).count();
    }
    if rows == 0 {
        anyhow::bail!("{}: the file has no data rows", args.data.display());
    }
    writer.flush()?;
    writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {}", args.out.display(), e.error()))?
        .finish()
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "scored {rows} rows of {} → {} ({flagged} above the threshold)",
        args.data.display(),
        args.out.display(),
    );
    Ok(())
}
