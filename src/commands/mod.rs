//! One module per subcommand.

pub mod bench;
pub mod demo;
pub mod eval;
pub mod score;
pub mod synth;
pub mod train;

use synthad::train::{DetectorKind, TrainParams};
use synthad::FitReport;

/// Prints what a fit did, and warns loudly when the model collapsed.
pub fn print_fit_summary(params: &TrainParams, report: &FitReport) {
    let name = params.describe();
    let t = &report.train;
    let rows = format!(
        "{name}: {} normal + {} known + {} synthetic training rows, {} features",
        report.normal_rows, report.known_rows, report.synthetic_rows, report.features,
    );
    if t.history.is_empty() {
        // Trees: fitted in one pass, no epochs.
        eprintln!("{rows}; {} trees, {:.1} s", t.epochs, t.seconds);
        return;
    }
    eprintln!(
        "{rows}; {} epochs ({} steps), best epoch {} (validation loss {:.4}); {:.0} samples/s, {:.1} s",
        t.epochs,
        t.steps,
        t.best_epoch,
        t.best_validation_loss,
        t.samples_per_second,
        t.seconds
    );
    if t.collapsed {
        let hint = match params.detector {
            DetectorKind::Gbt => {
                "no split passed the trees' minimum leaf weight: give more known anomalies, or use --mode synthetic"
            }
            DetectorKind::IForest => "the normal training rows are all alike",
            _ => "try --loss logistic, a lower --lr, or more known anomalies",
        };
        eprintln!(
            "warning: {name}: the model collapsed to a constant score (every validation row gets the same one), so its scores cannot rank anomalies; {hint}"
        );
    }
}
