//! `synthad score`: anomaly scores for every row of a file, as CSV.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use synthad::score::predict;
use synthad::Detector;

#[derive(Args, Debug)]
pub struct ScoreArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Data to score, with the columns the model was trained on.
    #[arg(long)]
    pub data: PathBuf,
    /// Output CSV: a header row, carried columns, then `score` (and `anomaly` with --predict).
    #[arg(long)]
    pub out: PathBuf,
    /// Columns to copy into the output (ids, labels), by name or zero-based index.
    #[arg(long, num_args = 1.., value_name = "COLUMN")]
    pub carry: Vec<String>,
    /// Also write the decision at the model's threshold (1 = anomaly).
    #[arg(long)]
    pub predict: bool,
}

pub fn run(args: ScoreArgs) -> Result<()> {
    let detector = Detector::load(&args.model)?;
    let (raw, table) = detector.read_file(&args.data)?;
    let carried = args
        .carry
        .iter()
        .map(|c| raw.resolve(c).map(|i| (raw.names[i].clone(), raw.text_column(i))))
        .collect::<synthad::Result<Vec<_>>>()?;
    let scores = detector.decision_function(&table)?;
    let decisions = predict(&scores, detector.threshold);

    let dir = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    {
        let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(tmp.as_file()));
        let mut header: Vec<&str> = carried.iter().map(|(n, _)| n.as_str()).collect();
        header.push("score");
        if args.predict {
            header.push("anomaly");
        }
        writer.write_record(&header)?;
        for (row, score) in scores.iter().enumerate() {
            let mut record: Vec<String> = carried.iter().map(|(_, v)| v[row].clone()).collect();
            record.push(score.to_string());
            if args.predict {
                record.push(u8::from(decisions[row]).to_string());
            }
            writer.write_record(&record)?;
        }
        writer.flush()?;
        let mut inner = writer.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))?;
        inner.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let flagged = decisions.iter().filter(|&&d| d).count();
    eprintln!(
        "scored {} rows of {} → {} ({} above the threshold)",
        scores.len(),
        args.data.display(),
        args.out.display(),
        flagged
    );
    Ok(())
}
