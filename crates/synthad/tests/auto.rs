//! `auto`: it picks what the training rows support, never looks at test rows, keeps to its
//! budget, works with 0, 1 or 2 labeled anomalies, and saves like any other model.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synthad::bench::{BenchMethod, DetectorMethod, ScenarioData};
use synthad::ingest::labels::RowSplit;
use synthad::ingest::{Table, TrainingSet};
use synthad::train::{AutoParams, DetectorKind, TrainParams};
use synthad::Detector;

/// Normals uniform on the unit square; `known` labeled anomalies in a small square at its
/// center, inside the normal range: a pattern only a supervised detector can learn.
fn center_pattern(normals: usize, known: usize, seed: u64) -> (Table, RowSplit) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    while x.len() < normals {
        let (a, b): (f64, f64) = (rng.random(), rng.random());
        // Normals keep out of the anomalies' square.
        if (a - 0.5).abs() > 0.08 || (b - 0.5).abs() > 0.08 {
            x.push(a);
            y.push(b);
        }
    }
    for _ in 0..known {
        x.push(0.5 + rng.random_range(-0.03..0.03));
        y.push(0.5 + rng.random_range(-0.03..0.03));
    }
    let table = Table::from_numeric_columns("center", vec![("x".into(), x), ("y".into(), y)]);
    let split = RowSplit {
        normal: (0..normals).collect(),
        known: (normals..normals + known)
            .map(|r| (r, "center".to_string()))
            .collect(),
        left_out: 0,
    };
    (table, split)
}

fn auto(candidates: &[&str], budget_seconds: f64) -> TrainParams {
    TrainParams {
        auto: AutoParams {
            candidates: candidates.iter().map(|c| c.to_string()).collect(),
            budget_seconds,
            ..Default::default()
        },
        ..TrainParams::for_detector(DetectorKind::Auto)
    }
}

#[test]
fn the_candidate_the_rows_support_gets_the_weight() {
    let (table, split) = center_pattern(600, 60, 1);
    let data = TrainingSet::new(table, split);
    // The hedge is Isolation Forest alone (it trains without synthetic anomalies); boosting
    // against synthetic anomalies joins only if the held-out rows call for it.
    let params = auto(&["iforest", "gbt+synthetic"], 300.0).check().unwrap();
    let (detector, _) = Detector::fit(&data, &params).unwrap();
    let board = detector.leaderboard().expect("auto keeps a leaderboard");
    let weight = |name: &str| {
        board
            .candidates
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .weight
    };
    let seen = |name: &str| {
        board
            .candidates
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .seen_aupr
            .unwrap()
    };
    // Isolation cannot see a pattern inside the normal range; boosting learns it, and the
    // selection adds it to the hedge until it outweighs isolation.
    assert!(
        seen("gbt+synthetic") > 0.8 && seen("iforest") < 0.3,
        "{board:?}"
    );
    assert!(weight("gbt+synthetic") > weight("iforest"), "{board:?}");
    assert!(board.rule.contains("addition"), "{}", board.rule);
}

#[test]
fn a_spent_budget_skips_the_later_candidates_and_keeps_a_model() {
    let (table, split) = center_pattern(300, 20, 2);
    let data = TrainingSet::new(table.clone(), split);
    // The first candidate always finishes; nothing else fits in no time.
    let params = auto(&["iforest", "gbt", "deepsad"], 1e-9).check().unwrap();
    let (detector, _) = Detector::fit(&data, &params).unwrap();
    let board = detector.leaderboard().unwrap();
    let status: Vec<&str> = board.candidates.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(status[0], "fitted");
    assert!(
        status[1..].iter().all(|s| s.starts_with("skipped")),
        "{status:?}"
    );
    assert_eq!(board.candidates[0].weight, 1.0);
    let scores = detector.decision_function(&table).unwrap();
    assert!(scores.iter().all(|s| s.is_finite()));
}

#[test]
fn zero_one_and_two_known_anomalies_fit_and_score() {
    for known in [0, 1, 2] {
        let (table, split) = center_pattern(300, known, 3);
        let data = TrainingSet::new(table.clone(), split);
        let params = auto(&["iforest", "gbt", "deepsad"], 300.0).check().unwrap();
        let (detector, report) = Detector::fit(&data, &params).unwrap();
        assert_eq!(report.known_rows, known);
        let scores = detector.decision_function(&table).unwrap();
        assert!(scores.iter().all(|s| s.is_finite()), "{known} known");
        let board = detector.leaderboard().unwrap();
        assert_eq!(
            board
                .candidates
                .iter()
                .map(|c| c.weight)
                .sum::<f64>()
                .round(),
            1.0
        );
        if known == 0 {
            assert!(board.candidates.iter().all(|c| c.seen_aupr.is_none()));
            // Boosted trees between normals and no anomalies would learn nothing.
            let gbt = board.candidates.iter().find(|c| c.name == "gbt").unwrap();
            assert_eq!(gbt.status, "skipped: no known anomalies to learn from");
        }
        // Too few labels to choose by: the hedge, at equal weights.
        assert!(board.rule.contains("too few"), "{}", board.rule);
        let fitted = board.candidates.iter().filter(|c| c.status == "fitted");
        assert!(fitted
            .clone()
            .all(|c| (c.weight - 1.0 / fitted.clone().count() as f64).abs() < 1e-9));
    }
}

#[test]
fn a_combined_model_round_trips_through_the_model_file() {
    let (table, split) = center_pattern(300, 30, 4);
    let data = TrainingSet::new(table.clone(), split);
    let params = auto(&["iforest", "gbt", "deepsad"], 300.0).check().unwrap();
    let (detector, _) = Detector::fit(&data, &params).unwrap();
    let loaded = Detector::from_bytes(&detector.to_bytes().unwrap(), Path::new("auto")).unwrap();
    assert_eq!(loaded.kind(), DetectorKind::Auto);
    // Timings are measured at the fit and never stored: everything else round-trips.
    let stored = |d: &Detector| serde_json::to_value(d.leaderboard()).unwrap();
    assert_eq!(stored(&loaded), stored(&detector));
    assert!(loaded.leaderboard().unwrap().seconds.is_none());
    assert_eq!(loaded.threshold(), detector.threshold());
    assert_eq!(
        loaded.decision_function(&table).unwrap(),
        detector.decision_function(&table).unwrap()
    );
}

#[test]
fn the_choice_never_reads_test_rows() {
    let (table, split) = center_pattern(300, 30, 5);
    let (test, _) = center_pattern(100, 10, 6);
    let kinds: Vec<Option<String>> = (0..110)
        .map(|r| (r >= 100).then(|| "center".to_string()))
        .collect();
    let scenario = |test_kinds: Vec<Option<String>>| ScenarioData {
        name: "center".into(),
        train: TrainingSet::new(table.clone(), split.clone()),
        test: test.clone(),
        test_kinds,
        seen_kinds: vec!["center".into()],
    };
    let method = DetectorMethod {
        name: "auto".into(),
        params: auto(&["iforest", "gbt", "deepsad"], 300.0),
    };
    let honest = method.fit_score(&scenario(kinds.clone()), 0).unwrap();
    // Poisoned test labels: every normal called an anomaly and every anomaly normal.
    let poisoned: Vec<Option<String>> = kinds
        .iter()
        .map(|k| match k {
            Some(_) => None,
            None => Some("center".to_string()),
        })
        .collect();
    let again = method.fit_score(&scenario(poisoned), 0).unwrap();
    assert_eq!(honest.scores, again.scores);
    // Everything but the timings.
    let choices = |run: &synthad::bench::MethodRun| {
        let board = run.leaderboard.as_ref().unwrap();
        board
            .candidates
            .iter()
            .map(|c| (c.name.clone(), c.estimate, c.weight))
            .collect::<Vec<_>>()
    };
    assert_eq!(choices(&honest), choices(&again));
}
