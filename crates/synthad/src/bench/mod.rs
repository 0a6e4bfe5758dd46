//! The benchmark: protocol scenarios × methods × seeds, every method of a seed on the same
//! splits, summarised as mean ± std.

mod numpy_random;
pub mod scenarios;

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::evaluate::{evaluate, metrics, Report};
use crate::train::{DetectorKind, Leaderboard, Mode, Precision, TrainParams};

pub use scenarios::{available, load, ScenarioData};

/// A detector the bench can run: fit on a scenario's training rows, score its test rows.
pub trait BenchMethod: Send + Sync {
    fn name(&self) -> &str;
    fn fit_score(&self, data: &ScenarioData, seed: u64) -> Result<MethodRun>;
}

/// One fit's test scores, and for `auto` what it chose.
pub struct MethodRun {
    pub scores: Vec<f32>,
    pub leaderboard: Option<Leaderboard>,
}

/// A detector in one of its modes, with given hyperparameters.
pub struct DetectorMethod {
    pub name: String,
    pub params: TrainParams,
}

impl BenchMethod for DetectorMethod {
    fn name(&self) -> &str {
        &self.name
    }

    fn fit_score(&self, data: &ScenarioData, seed: u64) -> Result<MethodRun> {
        // The protocol's splits train on every training normal: the calibration hold-out
        // serves deployment (p-values, --fpr), which the benchmark does not measure.
        let params = TrainParams {
            seed,
            calibration_fraction: 0.0,
            ..self.params.clone()
        }
        .check()?;
        let (detector, _) = Detector::fit(&data.train, &params)?;
        Ok(MethodRun {
            scores: detector.decision_function(&data.test)?,
            leaderboard: detector.leaderboard().cloned(),
        })
    }
}

/// The methods the bench knows by name: the paper's classifier as `vanilla`, `synthetic` and
/// `unsupervised`; every other classification-based detector as `NAME` (normals vs known
/// anomalies) and `NAME+synthetic` (vs known + synthetic ones); `iforest` on the normals;
/// `auto`.
pub fn registry() -> Vec<DetectorMethod> {
    let method = |name: String, detector: DetectorKind, mode: Mode| DetectorMethod {
        name,
        params: TrainParams {
            mode,
            ..TrainParams::for_detector(detector)
        },
    };
    let mut methods: Vec<DetectorMethod> = Mode::ALL
        .iter()
        .map(|&mode| method(mode.name().to_string(), DetectorKind::Classifier, mode))
        .collect();
    for &detector in DetectorKind::ALL {
        match detector {
            DetectorKind::Classifier => {}
            DetectorKind::IForest => {
                methods.push(method(detector.name().into(), detector, Mode::Unsupervised))
            }
            // Its candidates bring their own modes.
            DetectorKind::Auto => {
                methods.push(method(detector.name().into(), detector, Mode::Synthetic))
            }
            _ => {
                methods.push(method(detector.name().into(), detector, Mode::Vanilla));
                methods.push(method(
                    format!("{}+synthetic", detector.name()),
                    detector,
                    Mode::Synthetic,
                ));
            }
        }
    }
    methods
}

pub fn method(name: &str) -> Result<DetectorMethod> {
    registry()
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| {
            Error::invalid(
                "method",
                format!("{name:?}"),
                format!(
                    "one of {}",
                    registry()
                        .iter()
                        .map(|m| m.name().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

/// The hyperparameters a sweep can vary, as `name=value`.
pub const SWEEPABLE: [&str; 6] = [
    "synthetic-ratio",
    "known-weight",
    "margin",
    "hidden",
    "weight-decay",
    "precision",
];

/// Sets one sweepable hyperparameter from text (`hidden` takes widths joined by 'x').
pub fn set_param(params: &mut TrainParams, name: &str, value: &str) -> Result<()> {
    let number = || {
        value
            .parse::<f64>()
            .map_err(|_| Error::invalid(name, value, "a number"))
    };
    match name {
        "synthetic-ratio" => params.synthetic_ratio = number()?,
        "known-weight" => {
            params.known_weight = if value == "auto" {
                None
            } else {
                Some(number()?)
            }
        }
        "margin" => params.margin = number()?,
        "weight-decay" => params.weight_decay = number()?,
        "precision" => params.precision = Precision::parse(value)?,
        "hidden" => {
            params.hidden = value
                .split('x')
                .map(|w| w.parse::<usize>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| Error::invalid("hidden", value, "widths like 500x500"))?
        }
        _ => {
            return Err(Error::invalid(
                "sweep",
                format!("{name:?}"),
                format!("one of {}", SWEEPABLE.join(", ")),
            ))
        }
    }
    Ok(())
}

/// One method on one scenario for one seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub scenario: String,
    pub method: String,
    pub seed: u64,
    pub report: Report,
    /// Seconds to fit and score.
    pub seconds: f64,
    /// Precision-recall curve over all test anomalies, (recall, precision); first seed only.
    /// Drawn, not stored: on nsl-kdd it has 20,000 points per method.
    #[serde(skip)]
    pub pr_curve: Option<Vec<(f64, f64)>>,
    /// The test rows' scores, in the scenario's test order.
    #[serde(skip)]
    pub scores: Vec<f32>,
    /// What `auto` tried and chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaderboard: Option<Leaderboard>,
}

/// Runs every method on every scenario for every seed. Each seed's scenario is built once, so
/// all methods of a seed see the same splits.
pub fn run(
    scenario_names: &[String],
    methods: &[Box<dyn BenchMethod>],
    seeds: &[u64],
    data_dir: &Path,
    on_record: &mut dyn FnMut(&RunRecord),
) -> Result<Vec<RunRecord>> {
    let mut records = Vec::new();
    for name in scenario_names {
        for &seed in seeds {
            let data = load(name, data_dir, seed)?;
            for method in methods {
                let started = Instant::now();
                let run = method.fit_score(&data, seed).map_err(|e| {
                    Error::Training(format!("{} on {name} (seed {seed}): {e}", method.name()))
                })?;
                let scores = run.scores;
                let seconds = started.elapsed().as_secs_f64();
                let report = evaluate(&scores, &data.test_kinds, &data.seen_kinds, None);
                let pr_curve = (seed == seeds[0]).then(|| {
                    let positive: Vec<bool> = data.test_kinds.iter().map(Option::is_some).collect();
                    metrics::precision_recall_curve(&scores, &positive)
                });
                let record = RunRecord {
                    scenario: name.clone(),
                    method: method.name().to_string(),
                    seed,
                    report,
                    seconds,
                    pr_curve,
                    scores,
                    leaderboard: run.leaderboard,
                };
                on_record(&record);
                records.push(record);
            }
        }
    }
    Ok(records)
}

/// Mean and (population) standard deviation over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

impl Stat {
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        Some(Stat {
            mean,
            std: var.sqrt(),
            n: values.len(),
        })
    }
}

impl std::fmt::Display for Stat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3} ± {:.3}", self.mean, self.std)
    }
}

/// One (scenario, method) summarised over seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryRow {
    pub scenario: String,
    pub method: String,
    pub aupr: Option<Stat>,
    pub seen_aupr: Option<Stat>,
    pub unseen_aupr: Option<Stat>,
    pub auroc: Option<Stat>,
    /// AUPR per anomaly kind, with whether it was seen.
    pub kinds: Vec<(String, bool, Option<Stat>)>,
    pub seconds: Stat,
}

pub fn summarize(records: &[RunRecord]) -> Vec<SummaryRow> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in records {
        let key = (r.scenario.clone(), r.method.clone());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(scenario, method)| {
            let runs: Vec<&RunRecord> = records
                .iter()
                .filter(|r| r.scenario == scenario && r.method == method)
                .collect();
            let stat = |f: &dyn Fn(&Report) -> Option<f64>| {
                Stat::of(&runs.iter().filter_map(|r| f(&r.report)).collect::<Vec<_>>())
            };
            let kinds = runs[0]
                .report
                .kinds
                .iter()
                .map(|k| {
                    let name = k.kind.clone();
                    let s = stat(&|rep: &Report| {
                        rep.kinds
                            .iter()
                            .find(|x| x.kind == name)
                            .and_then(|x| x.metrics.aupr)
                    });
                    (k.kind.clone(), k.seen, s)
                })
                .collect();
            SummaryRow {
                aupr: stat(&|r| r.overall.aupr),
                seen_aupr: stat(&|r| r.seen_aupr),
                unseen_aupr: stat(&|r| r.unseen_aupr),
                auroc: stat(&|r| r.overall.auroc),
                kinds,
                seconds: Stat::of(&runs.iter().map(|r| r.seconds).collect::<Vec<_>>())
                    .expect("runs"),
                scenario,
                method,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_mean_and_population_std() {
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.mean, 2.5);
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(Stat::of(&[]), None);
    }

    #[test]
    fn sweep_parameters_parse_and_unknown_ones_are_named() {
        let mut p = TrainParams::default();
        set_param(&mut p, "hidden", "100x50").unwrap();
        set_param(&mut p, "known-weight", "0.25").unwrap();
        assert_eq!(p.hidden, [100, 50]);
        assert_eq!(p.known_weight, Some(0.25));
        let err = set_param(&mut p, "lr", "0.1").unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParam { name, value, .. } if name == "sweep" && value == "\"lr\""),
            "{err}"
        );
    }
}
