//! `synthad`: the command-line tool over the synthad library.

mod args;
mod commands;
mod plot;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "synthad",
    version,
    about = "Semi-supervised anomaly detection with synthetic anomalies",
    long_about = "Trains a classifier to separate normal data from known anomalies plus synthetic \
                  anomalies drawn uniformly around the data, so that it also flags kinds of \
                  anomalies nobody labeled."
)]
struct Cli {
    /// Threads for training and scoring; 0 or absent: all cores.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

// The arguments are parsed once per run; boxing the large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Fit a detector on labeled training data and save it.
    #[command(allow_negative_numbers = true)]
    Train(commands::train::TrainArgs),
    /// Write anomaly scores (higher = more anomalous) for every row of a file.
    #[command(allow_negative_numbers = true)]
    Score(commands::score::ScoreArgs),
    /// Evaluate a model on labeled data: AUPR, AUROC, precision/recall/F1, per anomaly kind.
    #[command(allow_negative_numbers = true)]
    Eval(commands::eval::EvalArgs),
    /// Write synthetic anomalies drawn around a data set (or a model's training data).
    #[command(allow_negative_numbers = true)]
    Synth(commands::synth::SynthArgs),
    /// Explain one row: score, p-value, decision and the columns that push its score up.
    #[command(allow_negative_numbers = true)]
    Explain(commands::explain::ExplainArgs),
    /// Write a model as an ONNX model (preprocessing, model and threshold in one graph).
    Export(commands::export::ExportArgs),
    /// Run the embedded 2-D demo: known-only vs synthetic training, with a score-map PNG.
    #[command(allow_negative_numbers = true)]
    Demo(commands::demo::DemoArgs),
    /// Run the benchmark protocol's scenarios (../shared/PROTOCOL.md) over methods and seeds.
    #[command(allow_negative_numbers = true)]
    Bench(commands::bench::BenchArgs),
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`synthad eval ... | head`) would
/// panic; with the default action the process ends quietly, as Unix tools do.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal's disposition to its default before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// SIGINT, SIGTERM and SIGHUP delete the partial outputs (and spooled input) before the
/// process ends as the signal would (exit status 128 + the signal's number, as shells show).
/// The signals are blocked in every thread and taken by one thread that waits for them, so the
/// clean-up runs as ordinary code, not inside a signal handler.
fn clean_up_on_signals() {
    #[cfg(unix)]
    {
        // SAFETY: the set is initialised by sigemptyset before use, and the mask is changed
        // before any other thread exists, so every later thread inherits it.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, signal);
            }
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return;
            }
            set
        };
        std::thread::spawn(move || {
            let mut signal: libc::c_int = 0;
            // SAFETY: `set` is a valid signal set and `signal` outlives the call.
            if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                return;
            }
            synthad::output::remove_temporaries();
            // SAFETY: with the default action restored and the signal unblocked in this
            // thread, raising it ends the process as the signal would have.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::raise(signal);
            }
        });
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    clean_up_on_signals();
    synthad::process::keep_freed_memory();
    let cli = Cli::parse();
    synthad::process::set_threads(cli.threads.unwrap_or(0));
    let result = match cli.command {
        Command::Train(args) => commands::train::run(args, cli.quiet),
        Command::Score(args) => commands::score::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Synth(args) => commands::synth::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Explain(args) => commands::explain::run(args),
        Command::Demo(args) => commands::demo::run(args, cli.quiet),
        Command::Bench(args) => commands::bench::run(args, cli.quiet),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A parameter is named by its flag, as the user typed it.
            match e.downcast_ref::<synthad::Error>() {
                Some(synthad::Error::InvalidParam {
                    name,
                    value,
                    expected,
                }) => eprintln!(
                    "error: {} {value} is invalid: expected {expected}",
                    args::flag_for(name)
                ),
                _ => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}
