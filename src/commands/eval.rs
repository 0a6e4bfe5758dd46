//! `synthad eval`: metrics of a model on labeled data, overall and per anomaly kind.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use synthad::evaluate::{evaluate, Metrics, Report};
use synthad::ingest::labels::{canonical, KindMap, Labels};
use synthad::Detector;

use crate::args::ScoringPrecision;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model file, as written by `synthad train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Labeled data with the columns the model was trained on.
    #[arg(long)]
    pub data: PathBuf,
    /// The label column (default: the training file's).
    #[arg(long)]
    pub label_column: Option<String>,
    /// Label value(s) of normal rows (default: the training file's); every other value is an
    /// anomaly kind.
    #[arg(long, num_args = 1..)]
    pub normal: Vec<String>,
    /// CSV (header, then label,kind rows) grouping label values into anomaly kinds, e.g.
    /// attack names into families. A kind is seen when one of its labels was known in training.
    #[arg(long)]
    pub kinds: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub precision: ScoringPrecision,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let detector = args.precision.apply(Detector::load(&args.model)?)?;
    let trained = detector.labels();
    let Some(label_column) = args.label_column.clone().or_else(|| {
        detector
            .file_schema()
            .ok()
            .and_then(|s| s.label_column.clone())
    }) else {
        bail!("the model does not record a label column; pass --label-column");
    };
    let normal: Vec<String> = if args.normal.is_empty() {
        trained.map(|l| l.normal.clone()).unwrap_or_default()
    } else {
        args.normal.clone()
    };
    if normal.is_empty() {
        bail!("the model does not record the normal label; pass --normal");
    }
    let normal: Vec<String> = normal.iter().map(|n| canonical(n)).collect();

    let (raw, table) = detector.read_file(&args.data)?;
    let labels = Labels::read(&raw, &label_column)?;
    let kind_map = match &args.kinds {
        Some(path) => KindMap::read(path)?,
        None => KindMap::default(),
    };
    let kinds: Vec<Option<String>> = labels
        .values
        .iter()
        .map(|l| (!normal.contains(l)).then(|| kind_map.kind_of(l)))
        .collect();
    let seen: Vec<String> = detector
        .known_kinds()
        .iter()
        .map(|k| kind_map.kind_of(k))
        .collect();
    if kinds.iter().all(Option::is_none) {
        bail!(
            "{}: every row has a normal label ({}), so there is nothing to detect (labels seen: {})",
            args.data.display(),
            normal.join(", "),
            labels.summary()
        );
    }
    let scores = detector.decision_function(&table)?;
    let report = evaluate(&scores, &kinds, &seen, Some(detector.threshold()));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&detector, &args.data, &report);
    }
    Ok(())
}

fn print_report(detector: &Detector, data: &std::path::Path, report: &Report) {
    if let Some(board) = detector.leaderboard() {
        print!("{}", super::leaderboard_text(board));
    }
    println!(
        "model: {}, known kinds: [{}]; data: {}; threshold {:.4}",
        detector.params().describe(),
        detector.known_kinds().join(", "),
        data.display(),
        detector.threshold()
    );
    println!(
        "{:<24} {:>9} {:>7} {:>7} {:>9} {:>7} {:>7}",
        "", "anomalies", "AUPR", "AUROC", "precision", "recall", "F1"
    );
    print_row("overall", &report.overall);
    for kind in &report.kinds {
        let name = format!(
            "kind {} ({})",
            kind.kind,
            if kind.seen { "seen" } else { "unseen" }
        );
        print_row(&name, &kind.metrics);
    }
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    println!(
        "mean AUPR over seen kinds: {}, over unseen kinds: {}",
        fmt(report.seen_aupr),
        fmt(report.unseen_aupr)
    );
}

fn print_row(name: &str, m: &Metrics) {
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    println!(
        "{:<24} {:>9} {:>7} {:>7} {:>9} {:>7} {:>7}",
        name,
        m.anomalies,
        fmt(m.aupr),
        fmt(m.auroc),
        fmt(m.precision),
        fmt(m.recall),
        fmt(m.f1)
    );
}
