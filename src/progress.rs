//! The training progress bar: epoch, training loss, validation loss.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use synthad::train::EpochStats;

pub struct EpochProgress {
    bar: ProgressBar,
}

impl EpochProgress {
    /// A bar over `max_epochs`, hidden with `quiet` or when stderr is not a terminal.
    pub fn new(label: &str, max_epochs: usize, quiet: bool) -> EpochProgress {
        let bar = ProgressBar::new(max_epochs as u64);
        if quiet || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] epoch {pos}/{len} {msg} ({elapsed})",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        EpochProgress { bar }
    }

    pub fn update(&self, stats: &EpochStats) {
        self.bar.set_position(stats.epoch as u64);
        let message = if stats.validation_loss.is_nan() {
            format!("loss {:.4}", stats.train_loss)
        } else {
            format!(
                "loss {:.4} val {:.4}",
                stats.train_loss, stats.validation_loss
            )
        };
        self.bar.set_message(message);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
