//! Property tests: the metrics against naive definitions, and the preprocessing's round trip.

use proptest::prelude::*;
use synthad::evaluate::metrics::{average_precision, roc_auc};
use synthad::ingest::{Column, ColumnKind, Table, Values};
use synthad::prepare::{Preprocessor, OTHER_CATEGORY};

/// Average precision straight from its definition: over the distinct scores t, highest first,
/// Σ (R(t) − R(previous t)) · P(t), where P and R count the rows scoring at least t.
fn naive_average_precision(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let total = positive.iter().filter(|&&p| p).count();
    if total == 0 {
        return None;
    }
    let mut thresholds: Vec<f32> = scores.to_vec();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    let mut last_recall = 0.0;
    let mut ap = 0.0;
    for t in thresholds {
        let flagged: Vec<bool> = scores
            .iter()
            .zip(positive)
            .filter(|(&s, _)| s >= t)
            .map(|(_, &p)| p)
            .collect();
        let tp = flagged.iter().filter(|&&p| p).count() as f64;
        let recall = tp / total as f64;
        ap += (recall - last_recall) * tp / flagged.len() as f64;
        last_recall = recall;
    }
    Some(ap)
}

/// AUROC as the share of (anomaly, normal) pairs ranked right, ties counting one half.
fn naive_auroc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let pos: Vec<f32> = scores
        .iter()
        .zip(positive)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    let neg: Vec<f32> = scores
        .iter()
        .zip(positive)
        .filter(|p| !*p.1)
        .map(|p| *p.0)
        .collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut right = 0.0;
    for p in &pos {
        for n in &neg {
            right += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    Some(right / (pos.len() * neg.len()) as f64)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

proptest! {
    #[test]
    fn metrics_match_their_definitions(rows in prop::collection::vec((0i32..8, any::<bool>()), 1..80)) {
        // Scores from a small set, so ties are common.
        let scores: Vec<f32> = rows.iter().map(|r| r.0 as f32 * 0.5).collect();
        let positive: Vec<bool> = rows.iter().map(|r| r.1).collect();
        let ap = average_precision(&scores, &positive);
        prop_assert!(close(ap, naive_average_precision(&scores, &positive)), "{ap:?}");
        let auc = roc_auc(&scores, &positive);
        prop_assert!(close(auc, naive_auroc(&scores, &positive)), "{auc:?}");
        if let Some(ap) = ap {
            prop_assert!((0.0..=1.0 + 1e-12).contains(&ap));
        }
    }

    #[test]
    fn numeric_columns_scale_into_the_unit_range_and_back(
        values in prop::collection::vec(prop_oneof![9 => -1e6f64..1e6, 1 => Just(f64::NAN)], 2..60),
    ) {
        prop_assume!(values.iter().any(|v| !v.is_nan()));
        let table = Table {
            path: "p".into(),
            n_rows: values.len(),
            columns: vec![Column {
                name: "x".into(),
                source_index: 0,
                kind: ColumnKind::Numeric,
                values: Values::Numeric(values.clone()),
            }],
        };
        let rows: Vec<usize> = (0..values.len()).collect();
        let p = Preprocessor::fit(&table, &rows, 100).unwrap();
        let encoded = p.transform(&table).unwrap();
        let decoded = p.inverse_transform(&encoded);
        let finite: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let range = finite.iter().cloned().fold(f64::MIN, f64::max)
            - finite.iter().cloned().fold(f64::MAX, f64::min);
        for (i, &v) in values.iter().enumerate() {
            let e = encoded.row(i)[0];
            prop_assert!((0.0..=1.0).contains(&e), "{v} → {e}");
            if !v.is_nan() {
                let back: f64 = decoded[i][0].parse().unwrap();
                // f32 features: a relative error of the range.
                prop_assert!((back - v).abs() <= 1e-6 * range.max(1.0) + 1e-9, "{v} → {back}");
            }
        }
    }

    #[test]
    fn categories_encode_one_hot_and_decode_to_themselves_or_other(
        values in prop::collection::vec(prop::option::weighted(0.9, 0u8..12), 1..80),
        max_categories in 2usize..8,
    ) {
        let values: Vec<Option<String>> = values.iter().map(|v| v.map(|c| format!("c{c}"))).collect();
        prop_assume!(values.iter().any(Option::is_some));
        let table = Table {
            path: "p".into(),
            n_rows: values.len(),
            columns: vec![Column {
                name: "c".into(),
                source_index: 0,
                kind: ColumnKind::Categorical,
                values: Values::Categorical(values.clone()),
            }],
        };
        let rows: Vec<usize> = (0..values.len()).collect();
        let p = Preprocessor::fit(&table, &rows, max_categories).unwrap();
        prop_assert!(p.n_features() <= max_categories);
        let encoded = p.transform(&table).unwrap();
        let decoded = p.inverse_transform(&encoded);
        let names = p.feature_names();
        for (i, v) in values.iter().enumerate() {
            let row = encoded.row(i);
            let sum: f32 = row.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-5, "row {i}: {row:?}");
            if let Some(v) = v {
                prop_assert!(row.iter().all(|&x| x == 0.0 || x == 1.0));
                let kept = names.contains(&format!("c={v}"));
                let expected = if kept { v.as_str() } else { OTHER_CATEGORY };
                prop_assert_eq!(&decoded[i][0], expected);
            }
        }
    }
}
