//! One module per subcommand.

pub mod bench;
pub mod demo;
pub mod eval;
pub mod explain;
pub mod export;
pub mod score;
pub mod synth;
pub mod train;

use synthad::train::{DetectorKind, Leaderboard, TrainParams};
use synthad::{FitReport, ThresholdRows};

/// The candidates `auto` tried, their internal estimates and weights, and what it chose.
pub fn leaderboard_text(board: &Leaderboard) -> String {
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    let shape_names: Vec<&str> = board
        .candidates
        .iter()
        .find(|c| !c.shapes_aupr.is_empty())
        .map(|c| c.shapes_aupr.iter().map(|(n, _)| n.as_str()).collect())
        .unwrap_or_default();
    let took = board
        .seconds
        .map_or(String::new(), |s| format!("{s:.1} s of "));
    let mut out = format!(
        "auto: {} candidates cross-fitted in {} folds, {took}a {:.0} s budget; held-out AUPR:\n",
        board.candidates.len(),
        board.folds,
        board.budget_seconds
    );
    out.push_str(&format!(
        "  {:<20} {:>8} {:>6}",
        "candidate", "estimate", "known"
    ));
    for name in &shape_names {
        out.push_str(&format!(" {name:>10}"));
    }
    out.push_str(&format!(" {:>7} {:>8}\n", "weight", "seconds"));
    for c in &board.candidates {
        if c.status != "fitted" {
            out.push_str(&format!("  {:<20} {}\n", c.name, c.status));
            continue;
        }
        out.push_str(&format!(
            "  {:<20} {:>8} {:>6}",
            c.name,
            fmt(c.estimate),
            fmt(c.seen_aupr)
        ));
        for (_, v) in &c.shapes_aupr {
            out.push_str(&format!(" {v:>10.3}"));
        }
        let seconds = c.seconds.map_or("-".to_string(), |s| format!("{s:.1}"));
        out.push_str(&format!(" {:>7.2} {seconds:>8}\n", c.weight));
    }
    out.push_str(&format!(
        "  chosen: {}; estimate {}\n",
        board.rule,
        fmt(board.estimate)
    ));
    out
}

/// Prints what a fit did, and warns loudly when the model collapsed.
pub fn print_fit_summary(params: &TrainParams, report: &FitReport) {
    let name = params.describe();
    let t = &report.train;
    if params.detector == DetectorKind::Auto {
        // Each candidate draws its own synthetic rows inside its folds (the leaderboard).
        eprintln!(
            "{name}: {} normal + {} known training rows, {} features; {:.1} s",
            report.normal_rows, report.known_rows, report.features, t.seconds
        );
        return;
    }
    let rows = format!(
        "{name}: {} normal + {} known + {} synthetic training rows, {} features",
        report.normal_rows, report.known_rows, report.synthetic_rows, report.features,
    );
    if report.threshold_rows == ThresholdRows::Training {
        eprintln!(
            "warning: {name}: no normals were held out (it keeps no validation rows, and --calibration-fraction is 0), so the threshold comes from the training normals' own scores and will flag more than --target-fpr of new normals; hold some out with --calibration-fraction"
        );
    }
    if t.history.is_empty() {
        // Trees: fitted in one pass, no epochs.
        eprintln!("{rows}; {} trees, {:.1} s", t.epochs, t.seconds);
        return;
    }
    if report.validation_rows == 0 {
        eprintln!(
            "{rows}; {} epochs ({} steps), no validation rows (the last epoch is kept); {:.0} samples/s, {:.1} s",
            t.epochs, t.steps, t.samples_per_second, t.seconds
        );
    } else {
        eprintln!(
            "{rows}; {} epochs ({} steps), best epoch {} (validation loss {:.4}); {:.0} samples/s, {:.1} s",
            t.epochs,
            t.steps,
            t.best_epoch,
            t.best_validation_loss,
            t.samples_per_second,
            t.seconds
        );
    }
    if t.collapsed {
        let hint = match params.detector {
            DetectorKind::Gbt => {
                "no split passed the trees' minimum leaf weight: give more known anomalies, or use --mode synthetic"
            }
            DetectorKind::IForest => "the normal training rows are all alike",
            DetectorKind::Auto => "no candidate could rank the rows",
            _ => "try --loss logistic, a lower --lr, or more known anomalies",
        };
        eprintln!(
            "warning: {name}: the model collapsed to a constant score (every held-out row, or every training row where none are held out, gets the same one), so its scores cannot rank anomalies; {hint}"
        );
    }
}
