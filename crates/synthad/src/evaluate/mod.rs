//! Evaluate: AUPR, AUROC and precision/recall/F1 at the threshold — overall and per anomaly kind
//! (the test normals plus the anomalies of that kind only).

pub mod metrics;

use serde::{Deserialize, Serialize};

use crate::score::predict;

/// Metrics of one set of scored rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub anomalies: usize,
    pub normals: usize,
    pub aupr: Option<f64>,
    pub auroc: Option<f64>,
    /// At the model's threshold, when there is one.
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

impl Metrics {
    pub fn compute(scores: &[f32], positive: &[bool], threshold: Option<f32>) -> Metrics {
        let anomalies = positive.iter().filter(|&&p| p).count();
        let at_threshold =
            threshold.map(|t| metrics::precision_recall_f1(&predict(scores, t), positive));
        Metrics {
            anomalies,
            normals: positive.len() - anomalies,
            aupr: metrics::average_precision(scores, positive),
            auroc: metrics::roc_auc(scores, positive),
            precision: at_threshold.map(|m| m.0),
            recall: at_threshold.map(|m| m.1),
            f1: at_threshold.map(|m| m.2),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindMetrics {
    pub kind: String,
    /// Whether the kind was among the known anomalies in training.
    pub seen: bool,
    #[serde(flatten)]
    pub metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub overall: Metrics,
    pub kinds: Vec<KindMetrics>,
    /// Mean AUPR over seen kinds, and over unseen kinds.
    pub seen_aupr: Option<f64>,
    pub unseen_aupr: Option<f64>,
}

/// Evaluates scores of rows whose kind is `None` for normals and `Some(kind)` for anomalies;
/// `seen` lists the kinds known in training.
pub fn evaluate(
    scores: &[f32],
    kinds: &[Option<String>],
    seen: &[String],
    threshold: Option<f32>,
) -> Report {
    assert_eq!(scores.len(), kinds.len());
    let positive: Vec<bool> = kinds.iter().map(Option::is_some).collect();
    let overall = Metrics::compute(scores, &positive, threshold);

    let mut names: Vec<&String> = kinds.iter().flatten().collect();
    names.sort();
    names.dedup();
    let kinds_metrics: Vec<KindMetrics> = names
        .into_iter()
        .map(|kind| {
            let (s, p): (Vec<f32>, Vec<bool>) = scores
                .iter()
                .zip(kinds)
                .filter(|(_, k)| k.as_ref().is_none_or(|k| k == kind))
                .map(|(&s, k)| (s, k.is_some()))
                .unzip();
            KindMetrics {
                kind: kind.clone(),
                seen: seen.contains(kind),
                metrics: Metrics::compute(&s, &p, threshold),
            }
        })
        .collect();
    let mean_aupr = |want_seen: bool| {
        let v: Vec<f64> = kinds_metrics
            .iter()
            .filter(|k| k.seen == want_seen)
            .filter_map(|k| k.metrics.aupr)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    Report {
        overall,
        seen_aupr: mean_aupr(true),
        unseen_aupr: mean_aupr(false),
        kinds: kinds_metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_kind_metrics_use_normals_plus_that_kind() {
        let scores = [0.1, 0.2, 0.9, 0.3, 0.15];
        let kinds = [
            None,
            None,
            Some("a".to_string()),
            Some("b".to_string()),
            Some("b".to_string()),
        ];
        let r = evaluate(&scores, &kinds, &["a".to_string()], Some(0.25));
        assert_eq!(r.kinds.len(), 2);
        assert_eq!(r.kinds[0].metrics.aupr, Some(1.0));
        assert!(r.kinds[0].seen && !r.kinds[1].seen);
        // Kind b: scores 0.3 (b), 0.2 (n), 0.15 (b), 0.1 (n): AP = 1·½ + ⅔·½.
        let ap_b = r.kinds[1].metrics.aupr.unwrap();
        assert!((ap_b - (0.5 + 1.0 / 3.0)).abs() < 1e-12);
        assert_eq!(r.seen_aupr, Some(1.0));
        assert_eq!(r.overall.recall, Some(2.0 / 3.0));
    }
}
