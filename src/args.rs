//! Argument groups shared by several subcommands, and their translation to library types.
//! Choices (detector, mode, loss, precision, header) are the library's own enums, spelled as
//! the library spells them ([`Choice`]).

use anyhow::{bail, Result};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::Args;
use synthad::ingest::{ColumnSpec, HeaderMode, ReadOptions};
use synthad::train::{
    AutoParams, CheckedParams, DeepSadParams, DetectorKind, DroccParams, Loss, Mode, Precision,
    TrainParams, TreeParams,
};
use synthad::Choice;

/// A value parser for a library choice, its help listing every value with what it means.
pub fn choice<T: Choice + Send + Sync + Clone>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|c| PossibleValue::new(c.name()).help(c.about())),
    )
    .map(|s| T::parse(&s).expect("clap admits only the possible values"))
}

/// How to read a data file.
#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// Field delimiter of text files (detected when not given), e.g. ',' ';' 'tab'.
    #[arg(long, help_heading = "Reading the data")]
    pub delimiter: Option<String>,
    /// Whether text files start with a header row.
    #[arg(long, value_parser = choice::<HeaderMode>(), default_value = "auto", help_heading = "Reading the data")]
    pub header: HeaderMode,
    /// Text that marks a missing value (imputed with the training mean); replaces the default
    /// markers "", "?" and "NA". Add "NaN" to read NaN as missing.
    #[arg(long, num_args = 1.., value_name = "TEXT", help_heading = "Reading the data")]
    pub missing: Option<Vec<String>>,
}

impl ReadArgs {
    pub fn options(&self) -> Result<ReadOptions> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("tab" | "\\t") => Some(b'\t'),
            Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
            Some(d) => bail!("--delimiter must be one character (or 'tab'), got {d:?}"),
        };
        let defaults = ReadOptions::default();
        Ok(ReadOptions {
            delimiter,
            header: self.header,
            missing: self.missing.clone().unwrap_or(defaults.missing),
        })
    }
}

/// Column kinds and columns to leave out; columns by name or zero-based index.
#[derive(Args, Debug, Clone)]
pub struct ColumnArgs {
    /// Columns to treat as categorical (one-hot encoded).
    #[arg(long, num_args = 1.., value_name = "COLUMN", help_heading = "Columns")]
    pub categorical: Vec<String>,
    /// Columns to treat as numeric.
    #[arg(long, num_args = 1.., value_name = "COLUMN", help_heading = "Columns")]
    pub numeric: Vec<String>,
    /// Columns to treat as binary (values 0 and 1).
    #[arg(long, num_args = 1.., value_name = "COLUMN", help_heading = "Columns")]
    pub binary: Vec<String>,
    /// Columns to leave out (ids, leaks, free text).
    #[arg(long, num_args = 1.., value_name = "COLUMN", help_heading = "Columns")]
    pub ignore: Vec<String>,
    /// Most features a categorical column becomes: its most frequent categories keep one
    /// each, the rarer ones share an "other" feature (ids, addresses).
    #[arg(long, default_value_t = TrainParams::default().max_categories, help_heading = "Columns")]
    pub max_categories: usize,
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

/// `--precision` of the commands that score a saved model.
#[derive(Args, Debug)]
pub struct ScoringPrecision {
    /// Number format of the matrix products while scoring (neural detectors): bf16 scores a
    /// model trained in f32 1.6–1.7x faster on CPUs with AVX512-BF16, with scores that move
    /// slightly against the stored threshold [default: the model's own].
    #[arg(long, value_parser = choice::<Precision>())]
    pub precision: Option<Precision>,
}

impl ScoringPrecision {
    pub fn apply(&self, detector: synthad::Detector) -> synthad::Result<synthad::Detector> {
        match self.precision {
            Some(precision) => detector.with_precision(precision),
            None => Ok(detector),
        }
    }
}

const DETECTOR: &str = "Detector";
const TRAINING: &str = "Training";
const PER_DETECTOR: &str = "Per detector";

/// Hyperparameters; the defaults are the library's, per detector where marked.
#[derive(Args, Debug, Clone)]
pub struct ParamArgs {
    /// The algorithm.
    #[arg(long, value_parser = choice::<DetectorKind>(), default_value = "auto", help_heading = DETECTOR)]
    pub detector: DetectorKind,
    /// What the anomaly class is made of [default: synthetic; auto chooses per candidate].
    #[arg(long, value_parser = choice::<Mode>(), help_heading = DETECTOR)]
    pub mode: Option<Mode>,
    /// Synthetic anomalies per normal training row.
    #[arg(long, default_value_t = TrainParams::default().synthetic_ratio, help_heading = DETECTOR)]
    pub synthetic_ratio: f64,
    /// Share of the anomaly class's weight on known anomalies (rest on synthetic ones), or
    /// "auto": every anomaly row weighs the same.
    #[arg(long, default_value = "auto", help_heading = DETECTOR)]
    pub known_weight: KnownWeight,
    /// Widen the synthetic box by this fraction of each feature's range per side.
    #[arg(long, default_value_t = TrainParams::default().margin, help_heading = DETECTOR)]
    pub margin: f64,
    /// Seed of every random choice (splits, synthetic samples, weights, batch order).
    #[arg(long, default_value_t = 0, help_heading = DETECTOR)]
    pub seed: u64,

    /// Hidden layer widths, comma separated [per detector: classifier 500,500; deepsad
    /// 100,50; abc 128,32,128; drocc 128].
    #[arg(long, value_delimiter = ',', help_heading = TRAINING)]
    pub hidden: Option<Vec<usize>>,
    /// The classifier's loss.
    #[arg(long, value_parser = choice::<Loss>(), default_value = "hinge", help_heading = TRAINING)]
    pub loss: Loss,
    /// Number format of the neural detectors' matrix products.
    #[arg(long, value_parser = choice::<Precision>(), default_value = "f32", help_heading = TRAINING)]
    pub precision: Precision,
    /// Learning rate: AdamW's, or the boosting shrinkage [per detector: 0.001; gbt 0.1].
    #[arg(long, help_heading = TRAINING)]
    pub lr: Option<f64>,
    /// AdamW weight decay [per detector: classifier 0.01; others 1e-5].
    #[arg(long, help_heading = TRAINING)]
    pub weight_decay: Option<f64>,
    /// Rows per optimizer step [per detector: classifier 1024; deepsad 64; abc, drocc 256].
    #[arg(long, help_heading = TRAINING)]
    pub batch_size: Option<usize>,
    /// Most passes over the training rows [per detector: 100; deepsad 50].
    #[arg(long, help_heading = TRAINING)]
    pub max_epochs: Option<usize>,
    /// Early-stopping patience in epochs (but at least --min-patience-steps optimizer steps)
    /// [per detector: classifier 7; deepsad 50; abc, drocc 100, their whole default run].
    #[arg(long, help_heading = TRAINING)]
    pub patience: Option<usize>,
    /// The fewest optimizer steps without a better validation loss before stopping: with few
    /// rows an epoch is one step, and a patience of a few steps would stop in the first
    /// transient.
    #[arg(long, default_value_t = TrainParams::default().min_patience_steps, help_heading = TRAINING)]
    pub min_patience_steps: usize,
    /// Share of normal and known rows held out for early stopping and the threshold (detectors that stop on nothing — deepsad, gbt under 10,000 rows, iforest — hold none out and set the threshold on the calibration normals).
    #[arg(long, default_value_t = TrainParams::default().validation_fraction, help_heading = TRAINING)]
    pub validation_fraction: f64,
    /// Share of normal rows held out from training and validation to calibrate p-values
    /// (`synthad score --pvalues`, `--fpr`); 0: none, and no p-values.
    #[arg(long, default_value_t = TrainParams::default().calibration_fraction, help_heading = TRAINING)]
    pub calibration_fraction: f64,

    /// auto: seconds the search may take; a candidate that would not finish in what is left
    /// is skipped (the leaderboard says which).
    #[arg(long, value_name = "SECONDS", default_value_t = AutoParams::default().budget_seconds, help_heading = PER_DETECTOR)]
    pub budget: f64,
    /// auto: the candidates, comma separated, fitted in this order (bench method names, e.g.
    /// gbt,deepsad,iforest,synthetic) [default: iforest,gbt,deepsad,gbt+synthetic,
    /// deepsad+synthetic].
    #[arg(long, value_delimiter = ',', help_heading = PER_DETECTOR)]
    pub candidates: Option<Vec<String>>,
    /// DeepSAD: weight η of the labeled-anomaly term.
    #[arg(long, default_value_t = TrainParams::default().deepsad.eta, help_heading = PER_DETECTOR)]
    pub eta: f64,
    /// DeepSAD: width of the representation.
    #[arg(long, default_value_t = TrainParams::default().deepsad.representation, help_heading = PER_DETECTOR)]
    pub representation: usize,
    /// DROCC: inner radius of the shell where negatives are searched [default: the median
    /// distance of a training normal to its nearest other normal].
    #[arg(long, help_heading = PER_DETECTOR)]
    pub drocc_radius: Option<f64>,
    /// DROCC: the shell's outer radius as a multiple of the inner.
    #[arg(long, default_value_t = TrainParams::default().drocc.gamma, help_heading = PER_DETECTOR)]
    pub drocc_gamma: f64,
    /// DROCC: weight of the adversarial term.
    #[arg(long, default_value_t = TrainParams::default().drocc.lambda, help_heading = PER_DETECTOR)]
    pub drocc_lambda: f64,
    /// DROCC: gradient-ascent steps of the search for negatives.
    #[arg(long, default_value_t = TrainParams::default().drocc.ascent_steps, help_heading = PER_DETECTOR)]
    pub ascent_steps: usize,
    /// gbt: boosting rounds; iforest: trees.
    #[arg(long, default_value_t = TrainParams::default().trees.trees, help_heading = PER_DETECTOR)]
    pub trees: usize,
    /// gbt: leaves per tree.
    #[arg(long, default_value_t = TrainParams::default().trees.max_leaves, help_heading = PER_DETECTOR)]
    pub max_leaves: usize,
    /// iforest: rows per tree.
    #[arg(long, default_value_t = TrainParams::default().trees.sample_size, help_heading = PER_DETECTOR)]
    pub sample_size: usize,
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
    /// The checked parameters; `columns` adds the preprocessing's, `target_fpr` the
    /// threshold's.
    pub fn params(&self, columns: &ColumnArgs, target_fpr: f64) -> Result<CheckedParams> {
        if self.detector == DetectorKind::Auto {
            let given = [
                ("--mode", self.mode.is_some()),
                ("--hidden", self.hidden.is_some()),
                ("--lr", self.lr.is_some()),
                ("--weight-decay", self.weight_decay.is_some()),
                ("--batch-size", self.batch_size.is_some()),
                ("--max-epochs", self.max_epochs.is_some()),
                ("--patience", self.patience.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
                bail!(
                    "{flag} sets the training of one detector, but --detector auto (the \
                     default) trains each of its candidates with that candidate's own \
                     settings; pass --detector NAME (e.g. classifier) to set it"
                );
            }
        }
        let defaults = TrainParams::for_detector(self.detector);
        Ok(TrainParams {
            detector: self.detector,
            mode: self.mode.unwrap_or(defaults.mode),
            hidden: self.hidden.clone().unwrap_or(defaults.hidden),
            loss: self.loss,
            learning_rate: self.lr.unwrap_or(defaults.learning_rate),
            weight_decay: self.weight_decay.unwrap_or(defaults.weight_decay),
            batch_size: self.batch_size.unwrap_or(defaults.batch_size),
            max_epochs: self.max_epochs.unwrap_or(defaults.max_epochs),
            patience: self.patience.unwrap_or(defaults.patience),
            min_patience_steps: self.min_patience_steps,
            sampling: defaults.sampling,
            keep_best: defaults.keep_best,
            adam_epsilon: defaults.adam_epsilon,
            validation_fraction: self.validation_fraction,
            calibration_fraction: self.calibration_fraction,
            synthetic_ratio: self.synthetic_ratio,
            known_weight: self.known_weight.0,
            margin: self.margin,
            max_categories: columns.max_categories,
            target_fpr,
            seed: self.seed,
            precision: self.precision,
            auto: AutoParams {
                budget_seconds: self.budget,
                candidates: self
                    .candidates
                    .clone()
                    .unwrap_or(defaults.auto.candidates.clone()),
                ..defaults.auto.clone()
            },
            deepsad: DeepSadParams {
                eta: self.eta,
                representation: self.representation,
            },
            drocc: DroccParams {
                radius: self.drocc_radius,
                gamma: self.drocc_gamma,
                lambda: self.drocc_lambda,
                ascent_steps: self.ascent_steps,
                ..defaults.drocc
            },
            trees: TreeParams {
                trees: self.trees,
                max_leaves: self.max_leaves,
                sample_size: self.sample_size,
                ..defaults.trees
            },
        }
        .check()?)
    }
}

/// The flag that sets a library parameter (`learning_rate` → `--lr`), for error messages.
pub fn flag_for(name: &str) -> String {
    let flag = match name {
        "learning_rate" => "lr",
        "deepsad.eta" => "eta",
        "deepsad.representation" => "representation",
        "drocc.radius" => "drocc-radius",
        "drocc.gamma" => "drocc-gamma",
        "drocc.lambda" => "drocc-lambda",
        "trees.trees" => "trees",
        "trees.max_leaves" => "max-leaves",
        "trees.sample_size" => "sample-size",
        // No flag sets it: name the library's field.
        "drocc.step_fraction" => return name.to_string(),
        other => return format!("--{}", other.replace('_', "-")),
    };
    format!("--{flag}")
}
