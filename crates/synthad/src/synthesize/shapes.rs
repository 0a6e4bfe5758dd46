//! Synthetic anomalies of other shapes than the uniform box, drawn from held-out normal rows:
//! the kinds of anomaly ADBench (Han et al., 2022) generates to probe detectors, used to
//! estimate how a detector does on kinds nobody labeled.
//!
//! - local: a normal row moved a little, off the normal data's surface;
//! - dependency: every feature taken from a different normal row, so each value is typical
//!   but their combination is not;
//! - clustered: a small tight group away from the normal rows.

use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::prepare::{FeatureBlock, Matrix};

/// The shapes, in the order [`draw`] returns them.
pub const SHAPES: [&str; 3] = ["local", "dependency", "clustered"];

/// `count` anomalies of each shape of [`SHAPES`], drawn around `normals` (encoded rows, at
/// least one). Continuous features move; binary and one-hot features keep a normal row's
/// values, except that dependency anomalies take them from other rows too.
pub fn draw(
    normals: &Matrix,
    layout: &[FeatureBlock],
    count: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Matrix> {
    assert!(normals.rows > 0, "shapes are drawn around normal rows");
    let spread = feature_spread(normals, layout);
    let rows: Vec<usize> = (0..normals.rows).collect();
    let pick = |rng: &mut ChaCha8Rng| *rows.choose(rng).expect("rows");

    // Local: a normal row plus Gaussian noise of half the feature's standard deviation on
    // every continuous feature.
    let mut local = Matrix::zeros(count, normals.cols);
    for i in 0..count {
        let base = normals.row(pick(rng)).to_vec();
        let row = local.row_mut(i);
        row.copy_from_slice(&base);
        for &(j, sd) in &spread {
            row[j] += 0.5 * sd * standard_normal(rng);
        }
    }

    // Dependency: each feature block from an independent random normal row.
    let mut dependency = Matrix::zeros(count, normals.cols);
    for i in 0..count {
        for block in layout {
            let source = normals.row(pick(rng));
            let (start, len) = span(*block);
            dependency.row_mut(i)[start..start + len].copy_from_slice(&source[start..start + len]);
        }
    }

    // Clustered: groups of up to 10 rows around a normal row shifted by three standard
    // deviations (up or down) on every continuous feature, with a tenth of the normal spread.
    let mut clustered = Matrix::zeros(count, normals.cols);
    let mut i = 0;
    while i < count {
        let mut center = normals.row(pick(rng)).to_vec();
        for &(j, sd) in &spread {
            let direction = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            center[j] += direction * 3.0 * sd;
        }
        for _ in 0..10.min(count - i) {
            let row = clustered.row_mut(i);
            row.copy_from_slice(&center);
            for &(j, sd) in &spread {
                row[j] += 0.1 * sd * standard_normal(rng);
            }
            i += 1;
        }
    }
    vec![local, dependency, clustered]
}

/// (feature, standard deviation) of the continuous features that vary.
fn feature_spread(x: &Matrix, layout: &[FeatureBlock]) -> Vec<(usize, f32)> {
    layout
        .iter()
        .filter_map(|block| match *block {
            FeatureBlock::Continuous(j) => {
                let n = x.rows as f64;
                let mean = (0..x.rows).map(|r| x.row(r)[j] as f64).sum::<f64>() / n;
                let var = (0..x.rows)
                    .map(|r| (x.row(r)[j] as f64 - mean).powi(2))
                    .sum::<f64>()
                    / n;
                (var > 0.0).then(|| (j, var.sqrt() as f32))
            }
            _ => None,
        })
        .collect()
}

/// (first feature, width) of a block.
fn span(block: FeatureBlock) -> (usize, usize) {
    match block {
        FeatureBlock::Continuous(j) | FeatureBlock::Binary(j) => (j, 1),
        FeatureBlock::OneHot { start, len } => (start, len),
    }
}

fn standard_normal(rng: &mut ChaCha8Rng) -> f32 {
    Normal::new(0.0f32, 1.0).expect("a unit normal").sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn each_shape_lies_where_it_should() {
        // Two correlated continuous features on the diagonal x = y, in [0, 1].
        let normals = Matrix::from_rows(
            2,
            (0..200)
                .flat_map(|i| [i as f32 / 199.0, i as f32 / 199.0])
                .collect(),
        );
        let layout = [FeatureBlock::Continuous(0), FeatureBlock::Continuous(1)];
        let shapes = draw(&normals, &layout, 100, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(shapes.len(), SHAPES.len());
        let off_diagonal = |m: &Matrix| {
            (0..m.rows)
                .map(|r| (m.row(r)[0] - m.row(r)[1]).abs())
                .sum::<f32>()
                / m.rows as f32
        };
        // Local rows leave the diagonal a little; dependency rows break it (|x − y| about ⅓
        // for independent uniforms); each value of a dependency row is a normal value.
        let (local, dependency, clustered) = (&shapes[0], &shapes[1], &shapes[2]);
        assert!(off_diagonal(local) > 0.05 && off_diagonal(local) < 0.3);
        assert!(off_diagonal(dependency) > 0.2);
        assert!(dependency.data.iter().all(|v| (0.0..=1.0).contains(v)));
        // Clusters sit far from their center row's diagonal neighbours, tightly.
        let first: Vec<f32> = clustered.row(0).to_vec();
        for r in 1..10 {
            let d: f32 = clustered
                .row(r)
                .iter()
                .zip(&first)
                .map(|(a, b)| (a - b).abs())
                .sum();
            assert!(d < 0.3, "row {r} of the first cluster is {d} away");
        }
    }
}
