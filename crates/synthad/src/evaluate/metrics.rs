//! Ranking metrics with anomalies as the positive class, defined as scikit-learn defines them.

/// Average precision: Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct score thresholds, highest first
/// (scikit-learn's `average_precision_score`; tied scores form one threshold). `None` when
/// there are no positives.
pub fn average_precision(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let total_pos = positive.iter().filter(|&&p| p).count();
    if total_pos == 0 {
        return None;
    }
    let order = descending(scores);
    let (mut tp, mut fp, mut ap, mut last_recall) = (0usize, 0usize, 0.0f64, 0.0f64);
    for (i, &idx) in order.iter().enumerate() {
        if positive[idx] {
            tp += 1;
        } else {
            fp += 1;
        }
        let threshold_ends = order
            .get(i + 1)
            .is_none_or(|&next| scores[next] != scores[idx]);
        if threshold_ends {
            let recall = tp as f64 / total_pos as f64;
            let precision = tp as f64 / (tp + fp) as f64;
            ap += (recall - last_recall) * precision;
            last_recall = recall;
        }
    }
    Some(ap)
}

/// Area under the ROC curve (ties count one half). `None` unless both classes are present.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Mann-Whitney U from average ranks.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0f64;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        for &idx in &order[i..=j] {
            if positive[idx] {
                rank_sum_pos += average_rank;
            }
        }
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// Precision, recall and F1 of hard decisions.
pub fn precision_recall_f1(predicted: &[bool], positive: &[bool]) -> (f64, f64, f64) {
    let tp = predicted
        .iter()
        .zip(positive)
        .filter(|(&p, &y)| p && y)
        .count() as f64;
    let predicted_pos = predicted.iter().filter(|&&p| p).count() as f64;
    let actual_pos = positive.iter().filter(|&&y| y).count() as f64;
    let precision = if predicted_pos > 0.0 {
        tp / predicted_pos
    } else {
        0.0
    };
    let recall = if actual_pos > 0.0 {
        tp / actual_pos
    } else {
        0.0
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (precision, recall, f1)
}

/// Points (recall, precision) of the precision-recall curve, highest threshold first.
pub fn precision_recall_curve(scores: &[f32], positive: &[bool]) -> Vec<(f64, f64)> {
    let total_pos = positive.iter().filter(|&&p| p).count().max(1);
    let order = descending(scores);
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut points = Vec::new();
    for (i, &idx) in order.iter().enumerate() {
        if positive[idx] {
            tp += 1;
        } else {
            fp += 1;
        }
        if order
            .get(i + 1)
            .is_none_or(|&next| scores[next] != scores[idx])
        {
            points.push((tp as f64 / total_pos as f64, tp as f64 / (tp + fp) as f64));
        }
    }
    points
}

fn descending(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values computed once with scikit-learn 1.9.1 (average_precision_score,
    // roc_auc_score); the second vector (numpy default_rng(42), scores rounded to one decimal)
    // has many ties.
    #[test]
    fn matches_scikit_learn_on_fixed_vectors() {
        let y = [true, false, true, true, false, false, true, false];
        let s = [0.9f32, 0.8, 0.7, 0.7, 0.5, 0.4, 0.2, 0.1];
        assert_close(average_precision(&s, &y).unwrap(), 0.7678571428571428);
        assert_close(roc_auc(&s, &y).unwrap(), 0.6875);

        let y: Vec<bool> = TIED_LABELS.bytes().map(|b| b == b'1').collect();
        let s: Vec<f32> = TIED_SCORES.split(',').map(|v| v.parse().unwrap()).collect();
        assert_close(average_precision(&s, &y).unwrap(), 0.2930935651695851);
        assert_close(roc_auc(&s, &y).unwrap(), 0.6525490196078432);
    }

    fn assert_close(ours: f64, sklearn: f64) {
        assert!(
            (ours - sklearn).abs() < 1e-12,
            "ours {ours} vs scikit-learn {sklearn}"
        );
    }

    const TIED_LABELS: &str = "00001000100000000100000000010000000010000000000001010000001100000000100000100000000011000000000001100000000010000000000000101001100000010001000000000100101000001001000000000001000000000001000010000000";
    const TIED_SCORES: &str = "0.6,-0.4,-0.0,-0.2,1.1,1.4,0.1,0.6,-1.3,-0.0,-0.8,-1.2,-0.9,-0.3,0.9,-1.3,0.0,0.3,-0.3,1.0,0.5,1.3,-0.2,-0.7,-0.2,0.2,0.2,-0.3,0.1,0.2,2.5,1.9,-0.9,-0.3,-1.5,-0.6,1.1,1.2,-0.7,-0.7,-2.1,-0.2,-1.1,-0.5,-0.9,-0.1,-1.8,-1.5,2.1,-0.5,-1.1,2.6,2.9,-1.2,-0.4,0.3,1.7,-1.0,0.6,1.6,0.4,-0.4,-0.1,-1.4,-0.2,-0.3,0.2,-0.6,1.3,1.0,0.2,0.4,0.1,0.0,0.1,0.3,-0.1,2.1,1.6,0.4,-0.8,-1.1,1.2,0.3,1.3,-0.9,0.9,0.5,-1.1,-0.5,0.3,0.1,-0.3,-0.1,-0.3,0.2,1.5,-1.8,0.6,0.2,0.3,-0.4,-1.8,0.3,1.7,-1.5,0.9,-0.3,0.7,-1.1,-0.3,1.3,0.6,1.7,1.2,0.4,1.7,0.4,0.8,-0.3,0.1,-0.7,1.8,-1.2,1.6,-0.2,1.2,1.6,2.6,0.7,-1.6,-0.1,-1.2,-0.5,1.5,1.4,-0.7,-1.0,0.0,-0.4,-0.7,0.3,1.2,0.6,-2.3,0.3,0.1,0.4,1.6,-1.3,-0.6,0.6,-0.8,1.5,1.2,0.8,-0.6,0.8,1.1,0.2,1.0,0.3,-0.9,0.7,-0.2,0.4,1.0,-1.1,-0.1,1.5,-0.7,-0.8,0.2,0.8,0.0,2.1,0.9,0.8,0.6,2.3,-0.2,-2.0,1.6,-0.5,0.1,1.3,-1.6,-0.5,-1.6,-0.8,0.4,0.5,1.1,-1.4,-2.3,0.1,-0.5,0.5,0.7,0.1";

    #[test]
    fn degenerate_cases() {
        assert_eq!(average_precision(&[0.1, 0.2], &[false, false]), None);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        // A constant scorer's AP is the positive rate.
        let ap = average_precision(&[1.0; 4], &[true, false, false, false]).unwrap();
        assert!((ap - 0.25).abs() < 1e-12);
        assert_eq!(
            precision_recall_f1(&[true, true, false], &[true, false, true]),
            (0.5, 0.5, 0.5)
        );
    }
}
