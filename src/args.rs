//! Argument groups shared by several subcommands, and their translation to library types.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use synthad::ingest::{ColumnSpec, HeaderMode, ReadOptions};
use synthad::train::{
    CheckedParams, DeepSadParams, DetectorKind, DroccParams, Loss, Mode, Precision, TrainParams,
    TreeParams,
};

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
pub enum PrecisionArg {
    F32,
    /// Matrix products in bfloat16 with f32 sums (CPUs with AVX512-BF16).
    Bf16,
}

impl From<PrecisionArg> for Precision {
    fn from(arg: PrecisionArg) -> Precision {
        match arg {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::Bf16 => Precision::Bf16,
        }
    }
}

/// `--precision` of the commands that score a saved model.
#[derive(Args, Debug)]
pub struct ScoringPrecision {
    /// Number format of the matrix products while scoring (neural detectors): bf16 scores a
    /// model trained in f32 1.6–1.7x faster on CPUs with AVX512-BF16, with scores that move
    /// slightly against the stored threshold [default: the model's own].
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
}

impl ScoringPrecision {
    pub fn apply(&self, detector: synthad::Detector) -> synthad::Result<synthad::Detector> {
        match self.precision {
            Some(precision) => detector.with_precision(precision.into()),
            None => Ok(detector),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LossArg {
    Hinge,
    Logistic,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DetectorArg {
    /// The paper's ReLU network (hinge loss).
    Classifier,
    /// DeepSAD: a hypersphere in a learned representation.
    Deepsad,
    /// ABC: an autoencoder whose reconstruction error separates.
    Abc,
    /// DROCC: a classifier with adversarially searched negatives.
    Drocc,
    /// Gradient-boosted trees.
    Gbt,
    /// Isolation Forest on the normal rows (ignores --mode).
    Iforest,
}

/// Hyperparameters; the defaults are the library's, per detector where marked.
#[derive(Args, Debug, Clone)]
pub struct ParamArgs {
    #[arg(long, value_enum, default_value_t = DetectorArg::Classifier)]
    pub detector: DetectorArg,
    /// synthetic: normals vs known + synthetic anomalies; vanilla: known only;
    /// unsupervised: synthetic only.
    #[arg(long, value_enum, default_value_t = ModeArg::Synthetic)]
    pub mode: ModeArg,
    /// Seed of every random choice (splits, synthetic samples, weights, batch order).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hidden layer widths, comma separated [per detector: classifier 500,500; deepsad
    /// 100,50; abc 128,32,128; drocc 128].
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    #[arg(long, value_enum, default_value_t = LossArg::Hinge)]
    pub loss: LossArg,
    /// Number format of the neural detectors' matrix products.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
    /// Learning rate: AdamW's, or the boosting shrinkage [per detector: 0.001; gbt 0.1].
    #[arg(long)]
    pub lr: Option<f64>,
    /// AdamW weight decay [per detector: classifier 0.01; others 1e-5].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// [per detector: classifier 1024; deepsad 64; abc, drocc 256]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// [per detector: 100; deepsad 50]
    #[arg(long)]
    pub max_epochs: Option<usize>,
    /// Early-stopping patience in epochs (but at least --min-patience-steps optimizer steps)
    /// [per detector: classifier 7; deepsad 50; abc, drocc 100, their whole default run].
    #[arg(long)]
    pub patience: Option<usize>,
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
    /// Most features a categorical column becomes: its most frequent categories keep one
    /// each, the rarer ones share an "other" feature (ids, addresses).
    #[arg(long, default_value_t = TrainParams::default().max_categories)]
    pub max_categories: usize,
    /// Share of normal and known rows held out for early stopping and the threshold.
    #[arg(long, default_value_t = TrainParams::default().validation_fraction)]
    pub validation_fraction: f64,
    /// False-positive rate on validation normals at which `predict` flags anomalies.
    #[arg(long, default_value_t = TrainParams::default().target_fpr)]
    pub target_fpr: f64,
    /// DeepSAD: weight η of the labeled-anomaly term.
    #[arg(long, default_value_t = TrainParams::default().deepsad.eta)]
    pub eta: f64,
    /// DeepSAD: width of the representation.
    #[arg(long, default_value_t = TrainParams::default().deepsad.representation)]
    pub representation: usize,
    /// DROCC: inner radius of the shell where negatives are searched [default: the median
    /// distance of a training normal to its nearest other normal].
    #[arg(long)]
    pub drocc_radius: Option<f64>,
    /// DROCC: the shell's outer radius as a multiple of the inner.
    #[arg(long, default_value_t = TrainParams::default().drocc.gamma)]
    pub drocc_gamma: f64,
    /// DROCC: weight of the adversarial term.
    #[arg(long, default_value_t = TrainParams::default().drocc.lambda)]
    pub drocc_lambda: f64,
    /// DROCC: gradient-ascent steps of the search for negatives.
    #[arg(long, default_value_t = TrainParams::default().drocc.ascent_steps)]
    pub ascent_steps: usize,
    /// gbt: boosting rounds; iforest: trees.
    #[arg(long, default_value_t = TrainParams::default().trees.trees)]
    pub trees: usize,
    /// gbt: leaves per tree.
    #[arg(long, default_value_t = TrainParams::default().trees.max_leaves)]
    pub max_leaves: usize,
    /// iforest: rows per tree.
    #[arg(long, default_value_t = TrainParams::default().trees.sample_size)]
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
    pub fn params(&self) -> Result<CheckedParams> {
        let detector = match self.detector {
            DetectorArg::Classifier => DetectorKind::Classifier,
            DetectorArg::Deepsad => DetectorKind::DeepSad,
            DetectorArg::Abc => DetectorKind::Abc,
            DetectorArg::Drocc => DetectorKind::Drocc,
            DetectorArg::Gbt => DetectorKind::Gbt,
            DetectorArg::Iforest => DetectorKind::IForest,
        };
        let defaults = TrainParams::for_detector(detector);
        Ok(TrainParams {
            detector,
            mode: match self.mode {
                ModeArg::Synthetic => Mode::Synthetic,
                ModeArg::Vanilla => Mode::Vanilla,
                ModeArg::Unsupervised => Mode::Unsupervised,
            },
            hidden: self.hidden.clone().unwrap_or(defaults.hidden),
            loss: match self.loss {
                LossArg::Hinge => Loss::Hinge,
                LossArg::Logistic => Loss::Logistic,
            },
            learning_rate: self.lr.unwrap_or(defaults.learning_rate),
            weight_decay: self.weight_decay.unwrap_or(defaults.weight_decay),
            batch_size: self.batch_size.unwrap_or(defaults.batch_size),
            max_epochs: self.max_epochs.unwrap_or(defaults.max_epochs),
            patience: self.patience.unwrap_or(defaults.patience),
            min_patience_steps: self.min_patience_steps,
            validation_fraction: self.validation_fraction,
            synthetic_ratio: self.synthetic_ratio,
            known_weight: self.known_weight.0,
            margin: self.margin,
            max_categories: self.max_categories,
            target_fpr: self.target_fpr,
            seed: self.seed,
            precision: self.precision.into(),
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
