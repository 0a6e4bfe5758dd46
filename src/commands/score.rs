//! `synthad score`: anomaly scores for every row of a file, as CSV.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use synthad::explain::Explanation;
use synthad::ingest::{RawTable, Spool};
use synthad::score::{benjamini_hochberg, predict};
use synthad::Detector;

use crate::args::ScoringPrecision;
use synthad::output::Output;

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// The model file, as written by `synthad train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data to score, with the columns the model was trained on; "-" reads standard input
    /// (e.g. `zcat logs.csv.gz | synthad score --data - ...`).
    #[arg(long)]
    pub data: PathBuf,
    /// Output CSV: a header row, carried columns, then `score`, `p_value` (--pvalues), `anomaly` (--predict, --fpr, --fdr) and the reasons (--explain);
    /// "-" writes standard output. A file appears only once complete.
    #[arg(long)]
    pub out: PathBuf,
    /// Columns to copy into the output (ids, labels), by name or zero-based index. Their
    /// text is written as it is, so a cell such as `=HYPERLINK(...)` stays a formula for a
    /// spreadsheet that opens the file; see --escape-formulas.
    #[arg(long, num_args = 1.., value_name = "COLUMN")]
    pub carry: Vec<String>,
    /// Prefix `'` to carried text cells that start with `=`, `+`, `-`, `@`, a tab or a
    /// carriage return and are not numbers, so spreadsheets show them as text instead of
    /// running them (CSV formula injection). Off by default: the cells stay byte for byte.
    #[arg(long)]
    pub escape_formulas: bool,
    /// Also write the decision at the model's threshold (1 = anomaly) in an `anomaly` column.
    /// Without --predict, --fpr or --fdr, only scores are written.
    #[arg(long)]
    pub predict: bool,
    /// Add a `p_value` column: the share of the model's calibration normals (held out at
    /// training) scoring at least as high, (1 + count) / (n + 1). Small = unusual.
    #[arg(long)]
    pub pvalues: bool,
    /// Flag rows (`anomaly` column) whose p-value is at most A instead of using the model's
    /// threshold: at most a share A of normal rows is flagged (split conformal guarantee,
    /// for normals like the training ones).
    #[arg(long, value_name = "A", conflicts_with = "fdr")]
    pub fpr: Option<f64>,
    /// Flag rows by Benjamini–Hochberg on the p-values of the whole file: of the rows flagged,
    /// a share Q or less is expected to be normal (false discoveries). Reads the file twice.
    #[arg(long, value_name = "Q")]
    pub fdr: Option<f64>,
    /// Add, per row, the K input columns that push its score up most, with their
    /// contributions (`reason_1`, `contribution_1`, ...; one-hot groups as their column).
    /// Methods per detector: docs/analyst.md.
    #[arg(long, value_name = "K")]
    pub explain: Option<usize>,
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

/// How the `anomaly` column is decided.
enum Decision {
    /// No `anomaly` column.
    None,
    /// Above the model's threshold (`--predict`).
    Threshold(f32),
    /// p-value at most the false-positive rate (`--fpr`).
    PValue(f64),
    /// Benjamini–Hochberg over the whole file (`--fdr`): one flag per row, from a first pass.
    Batch(Vec<bool>),
}

pub fn run(args: ScoreArgs) -> Result<()> {
    synthad::output::check_distinct(
        &[("--model", &args.model), ("--data", &args.data)],
        &[("--out", &args.out)],
    )?;
    for (flag, value) in [("--fpr", args.fpr), ("--fdr", args.fdr)] {
        if let Some(v) = value {
            if !(v > 0.0 && v < 1.0) {
                bail!("{flag} {v}: expected a rate in (0, 1), e.g. 0.01");
            }
        }
    }
    // Opened first: an unwritable place fails before any work.
    let out = Output::create(&args.out)?;
    let detector = args.precision.apply(Detector::load(&args.model)?)?;
    let schema = detector.file_schema()?;
    let columns = detector.preprocessor().columns.len();
    if args.explain.is_some_and(|k| k == 0 || k > columns) {
        bail!(
            "--explain {}: expected 1 to {columns}, the model's input columns",
            args.explain.unwrap_or_default()
        );
    }
    // --fdr reads the data twice (the p-values of every row first): a stream is copied into
    // a temporary file as it is read, and both passes read that.
    let spool = if args.fdr.is_some() {
        Spool::of(&args.data)?
    } else {
        None
    };
    let data = spool.as_ref().map_or(args.data.as_path(), Spool::path);
    let wants_p = args.pvalues || args.fpr.is_some() || args.fdr.is_some();
    if wants_p && detector.calibration().is_empty() {
        // The library's message says what to do.
        detector.p_values(&[])?;
    }
    if let Some(fpr) = args.fpr {
        let smallest = detector.calibration().smallest_p_value();
        if fpr < smallest {
            eprintln!(
                "warning: with {} calibration normals the smallest p-value is {smallest:.2e}, above --fpr {fpr}: no row can be flagged; train with a larger --calibration-fraction",
                detector.calibration().len()
            );
        }
    }
    let explain = args.explain.unwrap_or(0);
    let score_chunk = |raw: &RawTable| -> Result<(Vec<f32>, Option<Vec<f64>>)> {
        let scores = detector.decision_function(&schema.table_from(raw, !args.no_label)?)?;
        let p = if wants_p {
            Some(detector.p_values(&scores)?)
        } else {
            None
        };
        Ok((scores, p))
    };
    let reasons_of = |raw: &RawTable| -> Result<Option<Explanation>> {
        Ok(if explain > 0 {
            Some(detector.explain(&schema.table_from(raw, !args.no_label)?)?)
        } else {
            None
        })
    };
    let decision = match (args.fpr, args.fdr) {
        (Some(fpr), _) => Decision::PValue(fpr),
        (None, Some(q)) => {
            let mut all = Vec::new();
            for chunk in RawTable::read_chunks(data, &schema.read, CHUNK_ROWS)? {
                all.extend(score_chunk(&chunk?)?.1.expect("p-values asked for"));
            }
            let flags = benjamini_hochberg(&all, q);
            let smallest = detector.calibration().smallest_p_value();
            if !flags.contains(&true) && smallest > q / all.len() as f64 {
                eprintln!(
                    "warning: Benjamini–Hochberg flagged nothing; with {} calibration normals the smallest p-value is {smallest:.2e}, and k flags among {} rows need one at most k·{q}/{}: train with a larger --calibration-fraction",
                    detector.calibration().len(),
                    all.len(),
                    all.len()
                );
            }
            Decision::Batch(flags)
        }
        (None, None) if args.predict => Decision::Threshold(detector.threshold()),
        (None, None) => Decision::None,
    };
    let chunks = RawTable::read_chunks(data, &schema.read, CHUNK_ROWS)?;

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
            if args.pvalues {
                header.push("p_value");
            }
            if !matches!(decision, Decision::None) {
                header.push("anomaly");
            }
            let mut header: Vec<String> = header.into_iter().map(String::from).collect();
            for k in 1..=explain {
                header.push(format!("reason_{k}"));
                header.push(format!("contribution_{k}"));
            }
            // Two columns of one name would be read back as one.
            for (i, name) in header.iter().enumerate() {
                if let Some(j) = header[..i].iter().position(|n| n == name) {
                    if j < carried.len() && i < carried.len() {
                        bail!("--carry names column {name:?} twice; carry each column once");
                    }
                    bail!("--carry {name:?}: the output has a column of that name already; rename the input column, or carry another");
                }
            }
            writer.write_record(&header)?;
        }
        let (scores, p_values) = score_chunk(&raw)?;
        let reasons = reasons_of(&raw)?;
        let decisions: Option<Vec<bool>> = match &decision {
            Decision::None => None,
            Decision::Threshold(t) => Some(predict(&scores, *t)),
            Decision::PValue(fpr) => Some(
                p_values
                    .as_ref()
                    .expect("p-values asked for")
                    .iter()
                    .map(|&p| p <= *fpr)
                    .collect(),
            ),
            Decision::Batch(flags) => Some(flags[rows..rows + scores.len()].to_vec()),
        };
        for (row, score) in scores.iter().enumerate() {
            let mut record: Vec<String> = carried
                .iter()
                .map(|&c| {
                    let text = raw.columns[c].text_at(row);
                    if args.escape_formulas {
                        escape_formula(text)
                    } else {
                        text
                    }
                })
                .collect();
            record.push(score.to_string());
            if let (true, Some(p)) = (args.pvalues, &p_values) {
                record.push(format!("{:.6}", p[row]));
            }
            if let Some(d) = &decisions {
                record.push(u8::from(d[row]).to_string());
            }
            if let Some(e) = &reasons {
                for (column, contribution) in e.ranked(row).into_iter().take(explain) {
                    record.push(e.columns[column].clone());
                    record.push(contribution.to_string());
                }
                // Fewer input columns than K: empty fields keep the columns aligned.
                for _ in e.columns.len()..explain {
                    record.extend([String::new(), String::new()]);
                }
            }
            writer.write_record(&record)?;
        }
        rows += scores.len();
        flagged += decisions.map_or(0, |d| d.iter().filter(|&&d| d).count());
    }
    if rows == 0 {
        anyhow::bail!("{}: the file has no data rows", args.data.display());
    }
    drop(spool);
    writer.flush()?;
    writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {}", args.out.display(), e.error()))?
        .commit()
        .with_context(|| format!("writing {}", args.out.display()))?;
    let rule = match decision {
        Decision::None => "no decisions asked for".to_string(),
        Decision::Threshold(_) => "above the threshold".to_string(),
        Decision::PValue(fpr) => format!("flagged at p-value ≤ {fpr}"),
        Decision::Batch(_) => format!(
            "flagged by Benjamini–Hochberg at FDR {}",
            args.fdr.unwrap_or_default()
        ),
    };
    eprintln!(
        "scored {rows} rows of {} → {} ({})",
        args.data.display(),
        args.out.display(),
        if matches!(decision, Decision::None) {
            rule
        } else {
            format!("{flagged} {rule}")
        }
    );
    Ok(())
}

/// A cell a spreadsheet would run as a formula, made text by a leading `'`. Numbers such as
/// `-3.5` or `+1` stay as they are.
fn escape_formula(text: String) -> String {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && text.trim().parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::escape_formula;

    #[test]
    fn formulas_are_escaped_and_numbers_kept() {
        let e = |s: &str| escape_formula(s.to_string());
        assert_eq!(e("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(e("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(e("-cmd|' /C calc'!A0"), "'-cmd|' /C calc'!A0");
        assert_eq!(e("-3.5"), "-3.5");
        assert_eq!(e("+1"), "+1");
        assert_eq!(e("plain"), "plain");
    }
}
