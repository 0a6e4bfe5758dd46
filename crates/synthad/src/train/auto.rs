//! `auto`: chooses and combines detectors from the training rows alone.
//!
//! Every candidate is cross-fitted: the normal rows and the known anomalies are dealt into
//! folds, and each fold's model is fitted on the other folds and scores the rows it left out,
//! with synthetic anomalies of four shapes drawn around that fold's normals (the paper's
//! uniform box, and ADBench's local, dependency and clustered kinds, which no candidate
//! trains on). A candidate's estimate is the mean of its AUPR on the held-out known anomalies
//! (how it will do on the kinds that were labeled) and its mean AUPR over the shapes (on the
//! kinds nobody labeled), weighted ¾ and ¼. Scores are standardised per fitted model against
//! normal rows it did not train on, so they add up across candidates.
//!
//! The combination starts from a hedge: the candidates trained without synthetic anomalies
//! (by default Isolation Forest, which needs no labels, and the supervised boosted trees and
//! DeepSAD), at equal weights. Greedy forward selection with replacement (Caruana et al., 2004,
//! started from that ensemble) then adds up to three members, from every candidate, where each
//! addition raises the estimate. With fewer than ten known anomalies the hedge stays as it is:
//! three folds then hold three or fewer known anomalies each, and an AUPR over so few rows is
//! noise. With none, the candidates that learn only from known anomalies are not fitted and
//! the hedge is every other candidate. The measurements behind these choices are in
//! docs/results.md ("auto"). A candidate's model is the mean of its fold models (bagging), so
//! nothing is fitted twice; the threshold comes from the held-out scores of the training
//! normals.
//!
//! The time budget: once a candidate's first fold is fitted its cost is known, and it is
//! finished only if its other folds fit in what is left; otherwise it and every candidate
//! after it are skipped (never half-used). The first candidate always finishes.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::choices::{DetectorKind, Mode};
use super::data::{hold_out, TrainingData};
use super::ensemble::{Candidate, Ensemble, Leaderboard, Member, Standardize};
use super::model::Model;
use super::params::{CheckedParams, TrainParams};
use super::report::TrainReport;
use crate::choice::Choice;
use crate::error::{Error, Result};
use crate::evaluate::metrics::average_precision;
use crate::prepare::{FeatureBlock, Matrix, Preprocessor};
use crate::synthesize::{shapes, AnomalyGenerator, UniformBox};

/// The default candidates, cheapest first: a budget that runs out drops the costliest.
pub(crate) const DEFAULT_CANDIDATES: [&str; 5] = [
    "iforest",
    "gbt",
    "deepsad",
    "gbt+synthetic",
    "deepsad+synthetic",
];

/// Rows of each class a fold model trains on at most: past a few thousand rows these
/// detectors gain little, and the search's cost stays bounded on large files. The folds draw
/// different samples, so together they still see most rows.
const MAX_FOLD_ROWS: usize = 4000;

/// The parameters of candidate `name` (a bench method name) inside an `auto` fit: its
/// detector's defaults, with the data-side settings of `base`.
pub(crate) fn candidate(name: &str, base: &TrainParams) -> Result<TrainParams> {
    let (detector, mode) = match name {
        "synthetic" | "vanilla" | "unsupervised" => (DetectorKind::Classifier, Mode::parse(name)?),
        "iforest" => (DetectorKind::IForest, Mode::Unsupervised),
        other => match other.strip_suffix("+synthetic") {
            Some(detector) => (DetectorKind::parse(detector)?, Mode::Synthetic),
            None => (DetectorKind::parse(other)?, Mode::Vanilla),
        },
    };
    if detector == DetectorKind::Auto {
        return Err(Error::invalid(
            "auto.candidates",
            format!("{name:?}"),
            "detectors other than auto",
        ));
    }
    Ok(TrainParams {
        mode,
        seed: base.seed,
        max_categories: base.max_categories,
        margin: base.margin,
        validation_fraction: base.validation_fraction,
        target_fpr: base.target_fpr,
        precision: base.precision,
        ..TrainParams::for_detector(detector)
    })
}

/// What `fit_auto` returns besides the model: the held-out scores of the training normals
/// (for the threshold) and a report.
pub(crate) struct AutoFit {
    pub model: Model,
    pub normal_scores: Vec<f32>,
    pub report: TrainReport,
    /// Every candidate that finished, chosen or not (for studies of the choice).
    pub fitted: Vec<Fitted>,
}

/// Held-out scores of one candidate, pooled over the folds.
pub(crate) struct HeldOut {
    pub normal: Vec<f32>,
    pub known: Vec<f32>,
    /// Per shape, in [`SHAPE_NAMES`] order.
    pub shapes: Vec<Vec<f32>>,
}

const SHAPE_NAMES: [&str; 4] = ["uniform", "local", "dependency", "clustered"];

/// A candidate that finished: its fold models with their standardisation, and its held-out
/// scores.
pub(crate) struct Fitted {
    pub name: String,
    pub models: Vec<(Model, Standardize)>,
    pub held: HeldOut,
}

/// Rows the search scores in each fold: its normals, known anomalies and shapes.
struct Fold {
    normal_train: Matrix,
    known_train: Matrix,
    normal: Matrix,
    known: Matrix,
    shapes: Vec<Matrix>,
}

/// Fits `auto` on encoded normal and known-anomaly rows.
pub(crate) fn fit_auto(
    normal: &Matrix,
    known: &Matrix,
    preprocessor: &Preprocessor,
    generator: &UniformBox,
    params: &CheckedParams,
    rng: &mut ChaCha8Rng,
) -> Result<AutoFit> {
    let started = Instant::now();
    let settings = &params.auto;
    let folds = make_folds(
        normal,
        known,
        settings.folds,
        &preprocessor.layout(),
        generator,
        rng,
    );
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut fitted: Vec<Fitted> = Vec::new();
    let mut out_of_time = false;
    let mut hedge: Vec<bool> = Vec::new();
    for name in &settings.candidates {
        let member_params = candidate(name, params)?;
        let mut row = Candidate {
            name: name.clone(),
            status: "fitted".into(),
            seen_aupr: None,
            shapes_aupr: Vec::new(),
            estimate: None,
            seconds: None,
            weight: 0.0,
        };
        let learns_from_known_only = member_params.mode == Mode::Vanilla;
        if known.rows == 0 && learns_from_known_only {
            row.status = "skipped: no known anomalies to learn from".into();
            candidates.push(row);
            continue;
        }
        if out_of_time {
            row.status = "skipped: the time budget ran out".into();
            candidates.push(row);
            continue;
        }
        let candidate_started = Instant::now();
        let mut models = Vec::new();
        let mut held = HeldOut {
            normal: Vec::new(),
            known: Vec::new(),
            shapes: vec![Vec::new(); SHAPE_NAMES.len()],
        };
        for (f, fold) in folds.iter().enumerate() {
            crate::process::check_stop()?;
            // After the first fold, the candidate's cost is known: finish it only if the
            // other folds fit in what is left of the budget. The first candidate always
            // finishes, so that there is a model.
            if f == 1 && !fitted.is_empty() {
                let fold_seconds = candidate_started.elapsed().as_secs_f64();
                let left = settings.budget_seconds - started.elapsed().as_secs_f64();
                if fold_seconds * (folds.len() - 1) as f64 > left {
                    out_of_time = true;
                    break;
                }
            }
            let fold_params = TrainParams {
                seed: params.seed ^ ((f as u64 + 1) << 32),
                ..member_params.clone()
            }
            .check()?;
            let (model, scale) = fit_in_fold(fold, preprocessor, generator, &fold_params, rng)?;
            let score = |x: &Matrix| -> Result<Vec<f32>> {
                let mut s = model.scores(x)?;
                scale.apply(&mut s);
                Ok(s)
            };
            held.normal.extend(score(&fold.normal)?);
            held.known.extend(score(&fold.known)?);
            for (pooled, shape) in held.shapes.iter_mut().zip(&fold.shapes) {
                pooled.extend(score(shape)?);
            }
            models.push((model, scale));
        }
        row.seconds = Some(candidate_started.elapsed().as_secs_f64());
        if out_of_time {
            row.status = "skipped: the time budget ran out".into();
            candidates.push(row);
            continue;
        }
        let estimate = estimate(&held);
        row.seen_aupr = estimate.seen;
        row.shapes_aupr = SHAPE_NAMES
            .iter()
            .map(|s| s.to_string())
            .zip(estimate.shapes.iter().copied())
            .collect();
        row.estimate = Some(estimate.total);
        candidates.push(row);
        fitted.push(Fitted {
            name: name.clone(),
            models,
            held,
        });
        hedge.push(known.rows == 0 || member_params.mode != Mode::Synthetic);
    }

    if fitted.is_empty() {
        return Err(Error::invalid(
            "auto.candidates",
            settings.candidates.join(","),
            "with no known anomalies, at least one candidate that learns without them \
             (iforest, unsupervised, or NAME+synthetic)",
        ));
    }
    let (counts, rule) = select(&fitted, &hedge, known.rows);
    let rounds: usize = counts.iter().sum();
    let combined = combine(&fitted, &counts);
    let combined_estimate = estimate(&combined).total;
    let mut members = Vec::new();
    for (candidate, &count) in fitted.iter().zip(&counts) {
        if count == 0 {
            continue;
        }
        let weight = count as f64 / rounds as f64;
        if let Some(row) = candidates.iter_mut().find(|c| c.name == candidate.name) {
            row.weight = weight;
        }
        for (model, scale) in &candidate.models {
            members.push(Member {
                name: candidate.name.clone(),
                model: model.clone(),
                scale: *scale,
                weight: (weight / candidate.models.len() as f64) as f32,
            });
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let leaderboard = Leaderboard {
        candidates,
        folds: folds.len(),
        rule,
        estimate: Some(combined_estimate),
        seconds: Some(seconds),
        budget_seconds: settings.budget_seconds,
    };
    let report = TrainReport::single_pass(members.len(), normal.rows + known.rows, started);
    Ok(AutoFit {
        model: Model::Ensemble(Ensemble {
            members,
            leaderboard,
        }),
        normal_scores: combined.normal,
        report,
        fitted,
    })
}

/// Deals normals and known anomalies into folds (stratified: each class on its own) and
/// draws each fold's synthetic anomalies around its normals.
fn make_folds(
    normal: &Matrix,
    known: &Matrix,
    k: usize,
    layout: &[FeatureBlock],
    generator: &UniformBox,
    rng: &mut ChaCha8Rng,
) -> Vec<Fold> {
    let k = k.min(normal.rows).max(2);
    let deal = |rows: usize, rng: &mut ChaCha8Rng| -> Vec<usize> {
        let mut order: Vec<usize> = (0..rows).collect();
        order.shuffle(rng);
        let mut fold = vec![0; rows];
        for (i, &r) in order.iter().enumerate() {
            fold[r] = i % k;
        }
        fold
    };
    let normal_fold = deal(normal.rows, rng);
    let known_fold = deal(known.rows, rng);
    let rows_where = |folds: &[usize], keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
        (0..folds.len()).filter(|&r| keep(folds[r])).collect()
    };
    (0..k)
        .map(|f| {
            let held_normal = normal.select_rows(&rows_where(&normal_fold, &|g| g == f));
            let held_known = known.select_rows(&rows_where(&known_fold, &|g| g == f));
            // As many of each shape as the fold holds known anomalies, and at least 10.
            let count = held_known.rows.max(10);
            let mut shapes = vec![generator.generate(count, rng)];
            shapes.extend(shapes::draw(&held_normal, layout, count, rng));
            Fold {
                normal_train: normal.select_rows(&rows_where(&normal_fold, &|g| g != f)),
                known_train: known.select_rows(&rows_where(&known_fold, &|g| g != f)),
                normal: held_normal,
                known: held_known,
                shapes,
            }
        })
        .collect()
}

/// Fits one candidate on a fold's training rows, the way `Detector::fit` would (its own
/// validation split where it has one, synthetic anomalies, early stopping), and standardises
/// its scores on normals it did not train on.
fn fit_in_fold(
    fold: &Fold,
    preprocessor: &Preprocessor,
    generator: &UniformBox,
    params: &CheckedParams,
    rng: &mut ChaCha8Rng,
) -> Result<(Model, Standardize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(rng.random::<u64>() ^ params.seed);
    let split = |x: &Matrix, fraction: f64, rng: &mut ChaCha8Rng| -> [Matrix; 2] {
        let mut rows: Vec<usize> = (0..x.rows).collect();
        rows.shuffle(rng);
        let (held, kept) = hold_out(&rows, fraction);
        [x.select_rows(held), x.select_rows(kept)]
    };
    let sample = |x: &Matrix, rng: &mut ChaCha8Rng| -> Matrix {
        if x.rows <= MAX_FOLD_ROWS {
            return x.clone();
        }
        let mut rows: Vec<usize> = (0..x.rows).collect();
        rows.shuffle(rng);
        rows.truncate(MAX_FOLD_ROWS);
        x.select_rows(&rows)
    };
    let (normal_train, known_train) = (
        sample(&fold.normal_train, &mut rng),
        sample(&fold.known_train, &mut rng),
    );
    // As in `Detector::fit`: rows are held out only where validation picks the model.
    let selects =
        params.selects_on_validation(params.training_rows(normal_train.rows, known_train.rows));
    let empty = Matrix::zeros(0, normal_train.cols);
    let (normal, known) = if selects {
        (
            split(&normal_train, params.validation_fraction, &mut rng),
            split(&known_train, params.validation_fraction, &mut rng),
        )
    } else {
        ([empty.clone(), normal_train], [empty, known_train])
    };
    let data = TrainingData::from_encoded(
        normal,
        known,
        preprocessor.clone(),
        generator.clone(),
        params,
        &mut rng,
    );
    let (model, _) =
        super::fit_model(&data.train, &data.validation, params, &mut rng, &mut |_| {})?;
    // Standardised on normals the model did not train on: its validation normals, or, where
    // it holds none, the normals its fold left out.
    let unseen_normals = if selects {
        &data.normal_validation
    } else {
        &fold.normal
    };
    let scale = Standardize::fit(&model.scores(unseen_normals)?);
    Ok((model, scale))
}

struct Estimate {
    seen: Option<f64>,
    shapes: Vec<f64>,
    total: f64,
}

/// The estimate of held-out scores: see the module documentation.
fn estimate(held: &HeldOut) -> Estimate {
    let aupr = |anomalies: &[f32]| -> f64 {
        let scores: Vec<f32> = held.normal.iter().chain(anomalies).copied().collect();
        let positive: Vec<bool> = (0..scores.len()).map(|i| i >= held.normal.len()).collect();
        average_precision(&scores, &positive).unwrap_or(0.0)
    };
    let seen = (!held.known.is_empty()).then(|| aupr(&held.known));
    let shapes: Vec<f64> = held.shapes.iter().map(|s| aupr(s)).collect();
    let shape_mean = shapes.iter().sum::<f64>() / shapes.len() as f64;
    let total = match seen {
        Some(seen) => SEEN_WEIGHT * seen + (1.0 - SEEN_WEIGHT) * shape_mean,
        None => shape_mean,
    };
    Estimate {
        seen,
        shapes,
        total,
    }
}

/// The held-out scores of candidates weighted by `counts`.
fn combine(fitted: &[Fitted], counts: &[usize]) -> HeldOut {
    let total: usize = counts.iter().sum();
    let first = &fitted[0].held;
    let mut out = HeldOut {
        normal: vec![0.0; first.normal.len()],
        known: vec![0.0; first.known.len()],
        shapes: first.shapes.iter().map(|s| vec![0.0; s.len()]).collect(),
    };
    for (candidate, &count) in fitted.iter().zip(counts) {
        if count == 0 {
            continue;
        }
        let held = &candidate.held;
        let w = count as f32 / total as f32;
        let add = |into: &mut Vec<f32>, from: &[f32]| {
            into.iter_mut().zip(from).for_each(|(o, s)| *o += w * s)
        };
        add(&mut out.normal, &held.normal);
        add(&mut out.known, &held.known);
        for (o, s) in out.shapes.iter_mut().zip(&held.shapes) {
            add(o, s);
        }
    }
    out
}

/// How much the estimate trusts the held-out known anomalies over the synthetic shapes.
const SEEN_WEIGHT: f64 = 0.75;

/// Greedy forward selection with replacement: up to this many additions to the hedge.
const SELECTION_ROUNDS: usize = 3;

/// Fewer known anomalies than this, and the hedge is kept as it is.
const MIN_KNOWN_TO_SELECT: usize = 10;

/// The count of each candidate in the combination, and the rule that chose them. `hedge`
/// marks the candidates the combination starts from.
fn select(fitted: &[Fitted], hedge: &[bool], known: usize) -> (Vec<usize>, String) {
    let mut counts: Vec<usize> = hedge.iter().map(|&h| usize::from(h)).collect();
    if counts.iter().all(|&c| c == 0) {
        counts.iter_mut().for_each(|c| *c = 1);
    }
    let start = counts.iter().filter(|&&c| c > 0).count();
    if known < MIN_KNOWN_TO_SELECT {
        return (
            counts,
            format!(
                "the hedge at equal weights: {known} known anomalies are too few to choose by \
                 (selection starts at {MIN_KNOWN_TO_SELECT})"
            ),
        );
    }
    let mut best = estimate(&combine(fitted, &counts)).total;
    let mut added = 0;
    for _ in 0..SELECTION_ROUNDS {
        let mut round_best: Option<(usize, f64)> = None;
        for i in 0..fitted.len() {
            counts[i] += 1;
            let score = estimate(&combine(fitted, &counts)).total;
            counts[i] -= 1;
            if round_best.is_none_or(|(_, s)| score > s) {
                round_best = Some((i, score));
            }
        }
        let (i, score) = round_best.expect("at least one candidate");
        // Stop when no addition raises the estimate (ties keep the simpler combination).
        if score <= best + 1e-9 {
            break;
        }
        counts[i] += 1;
        best = score;
        added += 1;
    }
    let rule = if added == 0 {
        format!("the hedge of {start} at equal weights: no addition estimated better")
    } else {
        format!(
            "the hedge of {start}, then {added} addition(s) by greedy forward selection; \
             weights by count"
        )
    };
    (counts, rule)
}
