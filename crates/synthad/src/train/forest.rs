//! Isolation Forest (Liu, Ting and Zhou, 2008) on the normal rows: the unsupervised reference.
//! Anomalies are isolated by fewer random splits. The defaults are the paper's: 100 trees, each
//! grown on 256 rows drawn without replacement, to a height limit of ⌈log₂ 256⌉ = 8; the score
//! is s(x) = 2^(−E[h(x)] / c(ψ)).
//!
//! No maintained crate fits: `extended-isolation-forest` fixes the number of features at
//! compile time.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{DetectorKind, ModelParts, TreeParams};
use crate::error::{Error, Result};
use crate::prepare::Matrix;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForest {
    features: usize,
    /// ψ, the rows each tree was grown on (for the normalisation c(ψ)).
    pub(crate) sample_size: usize,
    pub(crate) trees: Vec<Vec<Node>>,
}

/// A tree node; trees are stored as node arrays with the root first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Node {
    /// Rows with x[feature] < threshold go left.
    Split {
        feature: u32,
        threshold: f32,
        left: u32,
        right: u32,
    },
    /// An external node holding `size` training rows.
    Leaf { size: u32 },
}

/// c(n): the average path length of an unsuccessful search in a binary search tree of n
/// points, 2·H(n − 1) − 2(n − 1)/n with H(i) ≈ ln i + Euler's γ; c(2) = 1 exactly.
pub(crate) fn average_path_length(n: usize) -> f64 {
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        n => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

impl IsolationForest {
    pub fn fit(normals: &Matrix, params: &TreeParams, rng: &mut ChaCha8Rng) -> IsolationForest {
        use rayon::prelude::*;
        let sample_size = params.sample_size.min(normals.rows);
        let height_limit = (sample_size.max(2) as f64).log2().ceil() as usize;
        // One seed per tree, drawn up front: trees grow in parallel, identically.
        let seeds: Vec<u64> = (0..params.trees).map(|_| rng.random()).collect();
        let trees = seeds
            .into_par_iter()
            .map(|seed| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let rows = sample(&mut rng, normals.rows, sample_size).into_vec();
                let mut nodes = Vec::new();
                grow(normals, rows, 0, height_limit, &mut nodes, &mut rng);
                nodes
            })
            .collect();
        IsolationForest {
            features: normals.cols,
            sample_size,
            trees,
        }
    }

    pub(crate) fn from_state(state: serde_json::Value) -> Result<IsolationForest> {
        let forest: IsolationForest = serde_json::from_value(state)
            .map_err(|e| Error::Training(format!("isolation forest: {e}")))?;
        // Scoring walks from the root to a leaf: children must lie after their parent (no
        // loops) and inside the tree, and splits must read features the model has.
        for tree in &forest.trees {
            let bad = tree.is_empty()
                || tree.iter().enumerate().any(|(i, n)| {
                    matches!(n, Node::Split { feature, threshold, left, right }
                        if [*left, *right].iter().any(|&c| c as usize <= i || c as usize >= tree.len())
                            || *feature as usize >= forest.features
                            || !threshold.is_finite())
                });
            if bad {
                return Err(Error::Training(
                    "isolation forest: a tree refers to nodes or features it lacks, or splits at a value that is not finite".into(),
                ));
            }
        }
        Ok(forest)
    }

    /// h(x) in one tree: the depth of the leaf x reaches, plus c(size) for the rows the leaf
    /// still holds (the depth an unbuilt subtree would have added).
    fn path_length(tree: &[Node], x: &[f32]) -> f64 {
        let mut node = 0usize;
        let mut depth = 0.0;
        loop {
            match tree[node] {
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    node = if x[feature as usize] < threshold {
                        left
                    } else {
                        right
                    } as usize;
                    depth += 1.0;
                }
                Node::Leaf { size } => return depth + average_path_length(size as usize),
            }
        }
    }
}

/// Each node's depth (the root's is 0); children come after their parent, so one pass fills it.
pub(crate) fn node_depths(tree: &[Node]) -> Vec<usize> {
    let mut depth = vec![0usize; tree.len()];
    for (i, node) in tree.iter().enumerate() {
        if let Node::Split { left, right, .. } = *node {
            depth[left as usize] = depth[i] + 1;
            depth[right as usize] = depth[i] + 1;
        }
    }
    depth
}

/// Grows a subtree on `rows` and returns its index in `nodes`.
fn grow(
    x: &Matrix,
    rows: Vec<usize>,
    depth: usize,
    height_limit: usize,
    nodes: &mut Vec<Node>,
    rng: &mut ChaCha8Rng,
) -> u32 {
    let index = nodes.len() as u32;
    nodes.push(Node::Leaf {
        size: rows.len() as u32,
    });
    if depth >= height_limit || rows.len() <= 1 {
        return index;
    }
    // Split on a random feature among those not constant on these rows, at a uniform point
    // between their minimum and maximum.
    let ranges: Vec<(u32, f32, f32)> = (0..x.cols)
        .filter_map(|f| {
            let (lo, hi) = rows
                .iter()
                .map(|&r| x.data[r * x.cols + f])
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
            (hi > lo).then_some((f as u32, lo, hi))
        })
        .collect();
    if ranges.is_empty() {
        return index;
    }
    let (feature, lo, hi) = ranges[rng.random_range(0..ranges.len())];
    // Strictly above the minimum, so both sides get rows.
    let threshold = loop {
        let t = rng.random_range(lo..hi);
        if t > lo {
            break t;
        }
    };
    let (left_rows, right_rows): (Vec<usize>, Vec<usize>) = rows
        .into_iter()
        .partition(|&r| x.data[r * x.cols + feature as usize] < threshold);
    let left = grow(x, left_rows, depth + 1, height_limit, nodes, rng);
    let right = grow(x, right_rows, depth + 1, height_limit, nodes, rng);
    nodes[index as usize] = Node::Split {
        feature,
        threshold,
        left,
        right,
    };
    index
}

/// The methods [`super::Model`] dispatches to.
impl IsolationForest {
    pub(crate) fn kind(&self) -> DetectorKind {
        DetectorKind::IForest
    }

    pub(crate) fn inputs(&self) -> usize {
        self.features
    }

    pub(crate) fn scores(&self, x: &Matrix) -> Result<Vec<f32>> {
        use rayon::prelude::*;
        let norm = average_path_length(self.sample_size).max(f64::MIN_POSITIVE);
        Ok((0..x.rows)
            .into_par_iter()
            .map(|r| {
                let row = x.row(r);
                let mean = self
                    .trees
                    .iter()
                    .map(|t| IsolationForest::path_length(t, row))
                    .sum::<f64>()
                    / self.trees.len().max(1) as f64;
                2f64.powf(-mean / norm) as f32
            })
            .collect())
    }

    pub(crate) fn parts(&self) -> Result<ModelParts> {
        Ok(ModelParts {
            tensors: Vec::new(),
            state: serde_json::to_value(self).expect("the forest serializes"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_path_length_follows_the_paper() {
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // 2(ln 3 + γ) − 2·3/4 = 2(1.0986123 + 0.5772157) − 1.5
        assert!((average_path_length(4) - 1.851_655_9).abs() < 1e-6);
        assert!((average_path_length(256) - 10.244_770_9).abs() < 1e-6);
    }

    #[test]
    fn scores_a_hand_built_tree() {
        // x₀ < 0.5 → a leaf of 1 row, else a leaf of 3 rows; trees grown on ψ = 4 rows.
        let forest = IsolationForest {
            features: 1,
            sample_size: 4,
            trees: vec![vec![
                Node::Split {
                    feature: 0,
                    threshold: 0.5,
                    left: 1,
                    right: 2,
                },
                Node::Leaf { size: 1 },
                Node::Leaf { size: 3 },
            ]],
        };
        let x = Matrix::from_rows(1, vec![0.2, 0.9]);
        let s = forest.scores(&x).unwrap();
        // h = 1 + c(1) = 1: 2^(−1/1.8516559) = 0.687744; h = 1 + c(3) = 2.2073924:
        // 2^(−2.2073924/1.8516559) = 0.437660.
        assert!((s[0] - 0.687_744).abs() < 1e-5, "{s:?}");
        assert!((s[1] - 0.437_660).abs() < 1e-5, "{s:?}");
        // A stored forest with a dangling child is refused.
        let mut broken = forest.clone();
        broken.trees[0][0] = Node::Split {
            feature: 0,
            threshold: 0.5,
            left: 1,
            right: 9,
        };
        assert!(IsolationForest::from_state(serde_json::to_value(broken).unwrap()).is_err());
    }

    #[test]
    fn isolates_an_outlier_first() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut data: Vec<f32> = (0..1000).map(|_| rng.random_range(0.0..1.0)).collect();
        data.extend([5.0, 5.0]);
        let x = Matrix::from_rows(2, data);
        let forest = IsolationForest::fit(&x, &TreeParams::default(), &mut rng);
        assert_eq!(forest.trees.len(), 100);
        let s = forest.scores(&x).unwrap();
        let outlier = s[500];
        assert!(s[..500].iter().all(|&v| v < outlier), "outlier {outlier}");
        assert!(outlier > 0.6);
    }
}
