//! The choices a detector is made of: the algorithm, what its anomaly class holds, the
//! classifier's loss, the number format of the matrix products.

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::error::{Error, Result};

/// What the anomaly class is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Normals vs known + synthetic anomalies: the framework.
    Synthetic,
    /// Normals vs known anomalies only: the supervised baseline.
    Vanilla,
    /// Normals vs synthetic anomalies only; known anomalies are not used.
    Unsupervised,
}

impl Choice for Mode {
    const WHAT: &'static str = "mode";
    const ALL: &'static [Mode] = &[Mode::Vanilla, Mode::Synthetic, Mode::Unsupervised];

    fn name(self) -> &'static str {
        match self {
            Mode::Synthetic => "synthetic",
            Mode::Vanilla => "vanilla",
            Mode::Unsupervised => "unsupervised",
        }
    }

    fn about(self) -> &'static str {
        match self {
            Mode::Synthetic => "normals vs known + synthetic anomalies (the paper's method)",
            Mode::Vanilla => "normals vs known anomalies only",
            Mode::Unsupervised => "normals vs synthetic anomalies only; known ones unused",
        }
    }
}

impl Mode {
    pub fn uses_known(self) -> bool {
        self != Mode::Unsupervised
    }

    pub fn uses_synthetic(self) -> bool {
        self != Mode::Vanilla
    }
}

/// The detector algorithm. The neural ones and the boosted trees are classifiers of normals
/// against anomalies, so each comes with and without synthetic anomalies (the mode); the
/// Isolation Forest sees the normal rows only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKind {
    /// The paper's ReLU network with a hinge (or logistic) loss.
    Classifier,
    /// DeepSAD (Ruff et al., ICLR 2020): a hypersphere in a learned representation.
    DeepSad,
    /// ABC (Yamanaka et al., 2019): an autoencoder whose reconstruction error separates.
    Abc,
    /// DROCC (Goyal et al., ICML 2020): a classifier with adversarially searched negatives.
    Drocc,
    /// Gradient-boosted trees (forust-ml) on normals vs anomalies.
    Gbt,
    /// Isolation Forest (Liu et al., 2008) on the normal rows.
    IForest,
    /// Chooses and combines the others from the training rows alone (see `train::auto`).
    Auto,
}

impl Choice for DetectorKind {
    const WHAT: &'static str = "detector";
    const ALL: &'static [DetectorKind] = &[
        DetectorKind::Classifier,
        DetectorKind::DeepSad,
        DetectorKind::Abc,
        DetectorKind::Drocc,
        DetectorKind::Gbt,
        DetectorKind::IForest,
        DetectorKind::Auto,
    ];

    fn name(self) -> &'static str {
        match self {
            DetectorKind::Classifier => "classifier",
            DetectorKind::DeepSad => "deepsad",
            DetectorKind::Abc => "abc",
            DetectorKind::Drocc => "drocc",
            DetectorKind::Gbt => "gbt",
            DetectorKind::IForest => "iforest",
            DetectorKind::Auto => "auto",
        }
    }

    fn about(self) -> &'static str {
        match self {
            DetectorKind::Classifier => "the paper's ReLU network with a hinge loss",
            DetectorKind::DeepSad => "DeepSAD: a hypersphere in a learned representation",
            DetectorKind::Abc => "ABC: an autoencoder whose reconstruction error separates",
            DetectorKind::Drocc => "DROCC: a classifier with adversarially searched negatives",
            DetectorKind::Gbt => "gradient-boosted trees",
            DetectorKind::IForest => "Isolation Forest on the normal rows (ignores --mode)",
            DetectorKind::Auto => "chooses and combines the detectors above from the training rows",
        }
    }
}

impl DetectorKind {
    /// Trained by gradient descent on a network (epochs, batches, early stopping).
    pub fn is_neural(self) -> bool {
        matches!(
            self,
            DetectorKind::Classifier
                | DetectorKind::DeepSad
                | DetectorKind::Abc
                | DetectorKind::Drocc
        )
    }
}

/// Number format of the neural detectors' matrix products.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision throughout.
    #[default]
    F32,
    /// Operands of the matrix products rounded to bfloat16, sums and parameters in f32:
    /// about twice the arithmetic rate on CPUs with AVX512-BF16. Training needs such a CPU;
    /// scoring elsewhere falls back to f32 products of the same weights.
    Bf16,
}

impl Choice for Precision {
    const WHAT: &'static str = "precision";
    const ALL: &'static [Precision] = &[Precision::F32, Precision::Bf16];

    fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }

    fn about(self) -> &'static str {
        match self {
            Precision::F32 => "single precision throughout",
            Precision::Bf16 => "matrix products in bfloat16 with f32 sums (CPUs with AVX512-BF16)",
        }
    }
}

impl Precision {
    /// Errs where this CPU cannot run the precision: bf16 without AVX512-BF16.
    pub fn check_supported(self) -> Result<()> {
        if self == Precision::Bf16 && !super::bf16::available() {
            return Err(Error::invalid(
                "precision",
                "bf16",
                "f32: bf16 needs a CPU with AVX512-BF16, which this one lacks",
            ));
        }
        Ok(())
    }
}

/// The classifier's loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// max(0, 1 − y·f(x)): the loss of the paper's convergence theory.
    Hinge,
    /// log(1 + exp(−y·f(x))).
    Logistic,
}

impl Choice for Loss {
    const WHAT: &'static str = "loss";
    const ALL: &'static [Loss] = &[Loss::Hinge, Loss::Logistic];

    fn name(self) -> &'static str {
        match self {
            Loss::Hinge => "hinge",
            Loss::Logistic => "logistic",
        }
    }

    fn about(self) -> &'static str {
        match self {
            Loss::Hinge => "max(0, 1 − y·f(x)), the paper's",
            Loss::Logistic => "log(1 + exp(−y·f(x)))",
        }
    }
}
