//! `synthad explain`: one row's score, p-value and decision, and the input columns that made
//! it, beside the values the model saw in training.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use synthad::ingest::{Table, Values};
use synthad::prepare::Encoding;
use synthad::Detector;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The model file, as written by `synthad train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data with the columns the model was trained on.
    #[arg(long)]
    pub data: PathBuf,
    /// The row to explain: one-based, the header not counted (as in error messages).
    #[arg(long)]
    pub row: usize,
    /// Columns to show, by contribution, at most the model's input columns [default: 5, or
    /// every column of a model with fewer].
    #[arg(long)]
    pub top: Option<usize>,
    /// Also draw the contributions as a bar chart (PNG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// The data lacks the training file's label column (files without a header only).
    #[arg(long)]
    pub no_label: bool,
}

pub fn run(args: ExplainArgs) -> Result<()> {
    let mut outputs = vec![];
    if let Some(plot) = &args.plot {
        outputs.push(("--plot", plot.as_path()));
    }
    synthad::output::check_distinct(
        &[("--model", &args.model), ("--data", &args.data)],
        &outputs,
    )?;
    let detector = Detector::load(&args.model)?;
    let schema = detector.file_schema()?;
    let columns = detector.preprocessor().columns.len();
    let top = match args.top {
        Some(k) if k == 0 || k > columns => {
            bail!("--top {k}: expected 1 to {columns}, the model's input columns")
        }
        Some(k) => k,
        None => columns.min(5),
    };
    let raw = synthad::ingest::RawTable::read(&args.data, &schema.read)?;
    let table = schema.table_from(&raw, !args.no_label)?;
    if args.row == 0 || args.row > table.n_rows {
        bail!(
            "--row {}: {} has data rows 1 to {}",
            args.row,
            args.data.display(),
            table.n_rows
        );
    }
    let one = table.select_rows(&[args.row - 1]);
    let explanation = detector.explain(&one)?;
    let score = explanation.scores[0];
    let threshold = detector.threshold();
    println!(
        "row {} of {}: score {score:.4} — {} (threshold {threshold:.4})",
        args.row,
        args.data.display(),
        if score > threshold {
            "anomaly"
        } else {
            "normal"
        }
    );
    match detector.p_values(&[score]) {
        Ok(p) => println!(
            "p-value {:.4}: {} of {} calibration normals score as high",
            p[0],
            (p[0] * (detector.calibration().len() + 1) as f64).round() as usize - 1,
            detector.calibration().len()
        ),
        Err(_) => println!("p-value: none (the model has no calibration normals)"),
    }
    println!(
        "method: {}; baseline score {:.4}; the contributions add up to score − baseline{}",
        explanation.method,
        explanation.baseline[0],
        match explanation.residual(0) {
            r if r.abs() < 1e-4 * (1.0 + score.abs()) => String::new(),
            r => format!(" up to {r:.4}"),
        }
    );
    println!(
        "\n  {:<24} {:>14} {:<34} {:>12}",
        "column", "value", "in training", "contribution"
    );
    let ranked = explanation.ranked(0);
    let shown: Vec<(usize, f32)> = ranked.into_iter().take(top).collect();
    for &(c, contribution) in &shown {
        let (value, range) = describe(&detector, &one, c);
        println!(
            "  {:<24} {:>14} {:<34} {:>+12.4}",
            explanation.columns[c], value, range, contribution
        );
    }
    if let Some(path) = &args.plot {
        let bars: Vec<(String, f32)> = shown
            .iter()
            .map(|&(c, v)| (explanation.columns[c].clone(), v))
            .collect();
        crate::plot::contributions(
            path,
            &format!(
                "row {}: score {score:.3}, threshold {threshold:.3}",
                args.row
            ),
            &bars,
        )?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

/// A column's value in the row, and what training saw of that column.
fn describe(detector: &Detector, row: &Table, c: usize) -> (String, String) {
    let column = &detector.preprocessor().columns[c];
    match (&row.columns[c].values, &column.encoding) {
        (Values::Numeric(v), Encoding::MinMax { min, max, mean }) => (
            if v[0].is_nan() {
                "missing".into()
            } else {
                format!("{:.6}", v[0])
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            },
            format!("{min:.4} to {max:.4}, mean {mean:.4}"),
        ),
        (
            Values::Categorical(v),
            Encoding::OneHot {
                categories,
                frequencies,
                ..
            },
        ) => match &v[0] {
            None => ("missing".into(), String::new()),
            Some(text) => {
                let seen = categories
                    .binary_search(text)
                    .map(|k| format!("{:.2}% of rows", 100.0 * frequencies[k]))
                    .unwrap_or_else(|_| "never seen (or pooled as rare)".into());
                (text.clone(), seen)
            }
        },
        _ => (String::new(), String::new()),
    }
}
