//! Score: anomaly scores (higher = more anomalous), the decision threshold for `predict`, and
//! conformal p-values from calibration normals.

mod conformal;

pub use conformal::{benjamini_hochberg, Calibration};

/// The threshold above which a score is called anomalous, set so that at most `target_fpr` of
/// the given normal scores lie above it: halfway between the highest score kept below it and
/// the next one. Halfway, not at the kept score itself, so that the row the threshold came
/// from — and rows like it — are not flagged or not by the last bits of a score (bf16
/// scoring, another runtime's summation order in an ONNX export).
pub fn fit_threshold(normal_scores: &[f32], target_fpr: f64) -> f32 {
    assert!(!normal_scores.is_empty(), "a threshold needs normal scores");
    let mut sorted = normal_scores.to_vec();
    sorted.sort_by(f32::total_cmp);
    let n = sorted.len();
    let keep = ((1.0 - target_fpr) * n as f64).ceil() as usize;
    let kept = sorted[keep.clamp(1, n) - 1];
    match sorted.get(keep.clamp(1, n)) {
        Some(&next) if next > kept => {
            let halfway = ((kept as f64 + next as f64) / 2.0) as f32;
            if halfway > kept && halfway < next {
                halfway
            } else {
                kept
            }
        }
        _ => kept,
    }
}

/// Decisions at a threshold: true = anomaly.
pub fn predict(scores: &[f32], threshold: f32) -> Vec<bool> {
    scores.iter().map(|&s| s > threshold).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_keeps_the_false_positive_rate_at_most_the_target() {
        let normals: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let t = fit_threshold(&normals, 0.05);
        assert_eq!(t, 94.5);
        let fp = predict(&normals, t).iter().filter(|&&p| p).count();
        assert_eq!(fp, 5);
        // Ties at the threshold are not flagged, so the rate stays under the target.
        let tied = vec![1.0f32; 10];
        assert!(predict(&tied, fit_threshold(&tied, 0.05))
            .iter()
            .all(|&p| !p));
    }
}
