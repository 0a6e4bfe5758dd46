//! Argument groups shared by several subcommands, and their translation to library types.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use synthad::ingest::{ColumnSpec, HeaderMode, ReadOptions};
use synthad::train::{Loss, Mode, TrainParams};

/// How to read a data file and which columns to use.
#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// Field delimiter of text files (detected when not given), e.g. ',' ';' 'tab'.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Whether text files start with a header row.
    #[arg(long, value_enum, default_value_t = HeaderArg::Auto)]
    pub header: HeaderArg,
    /// Text that marks a missing value (imputed with the training mean); replaces the default
    /// markers "", "?" and "NA". Add "NaN" to read NaN as missing.
    #[arg(long, num_args = 1.., value_name = "TEXT")]
    pub missing: Option<Vec<String>>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum HeaderArg {
    Auto,
    Yes,
    No,
}

impl ReadArgs {
    pub fn options(&self) -> Result<ReadOptions> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("tab" | "\\t") => Some(b'\t'),
            Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            Some(d) => bail!("--delimiter must be one character (or 'tab'), got {d:?}"),
        };
        let header = match self.header {
            HeaderArg::Auto => HeaderMode::Auto,
            HeaderArg::Yes => HeaderMode::Present,
            HeaderArg::No => HeaderMode::Absent,
        };
        let defaults = ReadOptions::default();
        Ok(ReadOptions {
            delimiter,
            header,
            missing: self.missing.clone().unwrap_or(defaults.missing),
        })
    }
}

/// Column kinds and columns to leave out; columns by name or zero-based index.
#[derive(Args, Debug, Clone)]
pub struct ColumnArgs {
    /// Columns to treat as categorical (one-hot encoded).
    #[arg(long, num_args = 1.., value_name = "COLUMN")]
    pub categorical: Vec<String>,
    /// Columns to treat as numeric.
    #[arg(long, num_args = 1.., value_name = "COLUMN")]
    pub numeric: Vec<String>,
    /// Columns to treat as binary (values 0 and 1).
    #[arg(long, num_args = 1.., value_name = "COLUMN")]
    pub binary: Vec<String>,
    /// Columns to leave out (ids, leaks, free text).
    #[arg(long, num_args = 1.., value_name = "COLUMN")]
    pub ignore: Vec<String>,
}

impl ColumnArgs {
    pub fn spec(&self) -> ColumnSpec {
        ColumnSpec {
            numeric: self.numeric.clone(),
            binary: self.binary.clone(),
            categorical: self.categorical.clone(),
            ignore: self.ignore.clone(),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    Synthetic,
    Vanilla,
    Unsupervised,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LossArg {
    Hinge,
    Logistic,
}

/// Hyperparameters; the defaults are the library's.
#[derive(Args, Debug, Clone)]
pub struct ParamArgs {
    /// synthetic: normals vs known + synthetic anomalies; vanilla: known only;
    /// unsupervised: synthetic only.
    #[arg(long, value_enum, default_value_t = ModeArg::Synthetic)]
    pub mode: ModeArg,
    /// Seed of every random choice (splits, synthetic samples, weights, batch order).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hidden layer widths, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "500,500")]
    pub hidden: Vec<usize>,
    #[arg(long, value_enum, default_value_t = LossArg::Hinge)]
    pub loss: LossArg,
    /// AdamW learning rate.
    #[arg(long, default_value_t = TrainParams::default().learning_rate)]
    pub lr: f64,
    /// AdamW weight decay.
    #[arg(long, default_value_t = TrainParams::default().weight_decay)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = TrainParams::default().batch_size)]
    pub batch_size: usize,
    #[arg(long, default_value_t = TrainParams::default().max_epochs)]
    pub max_epochs: usize,
    /// Early-stopping patience in epochs (but at least --min-patience-steps optimizer steps).
    #[arg(long, default_value_t = TrainParams::default().patience)]
    pub patience: usize,
    #[arg(long, default_value_t = TrainParams::default().min_patience_steps)]
    pub min_patience_steps: usize,
    /// Synthetic anomalies per normal training row.
    #[arg(long, default_value_t = TrainParams::default().synthetic_ratio)]
    pub synthetic_ratio: f64,
    /// Share of the anomaly class's weight on known anomalies (rest on synthetic ones), or
    /// "auto": every anomaly row weighs the same.
    #[arg(long, default_value = "auto")]
    pub known_weight: KnownWeight,
    /// Widen the synthetic box by this fraction of each feature's range per side.
    #[arg(long, default_value_t = TrainParams::default().margin)]
    pub margin: f64,
    /// Share of normal and known rows held out for early stopping and the threshold.
    #[arg(long, default_value_t = TrainParams::default().validation_fraction)]
    pub validation_fraction: f64,
    /// False-positive rate on validation normals at which `predict` flags anomalies.
    #[arg(long, default_value_t = TrainParams::default().target_fpr)]
    pub target_fpr: f64,
}

/// `--known-weight`: a share in [0, 1] or "auto".
#[derive(Debug, Clone, Copy)]
pub struct KnownWeight(pub Option<f64>);

impl std::str::FromStr for KnownWeight {
    type Err = String;
    fn from_str(s: &str) -> Result<KnownWeight, String> {
        if s == "auto" {
            return Ok(KnownWeight(None));
        }
        s.parse::<f64>()
            .map(|w| KnownWeight(Some(w)))
            .map_err(|_| format!("expected a number in [0, 1] or \"auto\", got {s:?}"))
    }
}

impl ParamArgs {
    pub fn params(&self) -> Result<TrainParams> {
        Ok(TrainParams {
            mode: match self.mode {
                ModeArg::Synthetic => Mode::Synthetic,
                ModeArg::Vanilla => Mode::Vanilla,
                ModeArg::Unsupervised => Mode::Unsupervised,
            },
            hidden: self.hidden.clone(),
            loss: match self.loss {
                LossArg::Hinge => Loss::Hinge,
                LossArg::Logistic => Loss::Logistic,
            },
            learning_rate: self.lr,
            weight_decay: self.weight_decay,
            batch_size: self.batch_size,
            max_epochs: self.max_epochs,
            patience: self.patience,
            min_patience_steps: self.min_patience_steps,
            validation_fraction: self.validation_fraction,
            synthetic_ratio: self.synthetic_ratio,
            known_weight: self.known_weight.0,
            margin: self.margin,
            target_fpr: self.target_fpr,
            seed: self.seed,
        }
        .check()?)
    }
}
