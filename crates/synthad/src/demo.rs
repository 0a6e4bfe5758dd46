//! The embedded demo problem: two normal clusters in the unit square, one anomaly cluster that
//! is labeled in training ("known") and one that only appears at test time ("unseen").
//!
//! A classifier trained on normals vs the known cluster alone draws its boundary between them
//! and calls the far side normal; synthetic anomalies teach it that empty space is anomalous.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::ingest::labels::RowSplit;
use crate::ingest::{Table, Values};

pub const KNOWN_KIND: &str = "known cluster";
pub const UNSEEN_KIND: &str = "unseen cluster";

const NORMAL_CENTERS: [(f64, f64); 2] = [(0.3, 0.3), (0.7, 0.7)];
const NORMAL_SPREAD: f64 = 0.06;
const KNOWN_CENTER: (f64, f64) = (0.8, 0.2);
const UNSEEN_CENTER: (f64, f64) = (0.2, 0.8);
const ANOMALY_SPREAD: f64 = 0.03;

pub struct DemoData {
    pub train: Table,
    pub split: RowSplit,
    pub test: Table,
    /// `None` for test normals, the anomaly kind otherwise.
    pub test_kinds: Vec<Option<String>>,
}

impl DemoData {
    /// The training rows as a row-major matrix (x, y per row), and each row's role: `None`
    /// normal, `Some(kind)` a known anomaly.
    pub fn train_matrix(&self) -> (Vec<f64>, Vec<Option<String>>) {
        let column = |i: usize| match &self.train.columns[i].values {
            Values::Numeric(v) => v,
            Values::Categorical(_) => unreachable!("the demo is numeric"),
        };
        let (xs, ys) = (column(0), column(1));
        let rows = xs.iter().zip(ys).flat_map(|(&x, &y)| [x, y]).collect();
        let mut kinds = vec![None; xs.len()];
        for (row, kind) in &self.split.known {
            kinds[*row] = Some(kind.clone());
        }
        (rows, kinds)
    }
}

/// Draws the demo data: per normal cluster 1000 training and 500 test rows; 40 known
/// anomalies in training; 50 known and 50 unseen anomalies in the test set.
pub fn make(seed: u64) -> DemoData {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cluster =
        |center: (f64, f64), spread: f64, n: usize, xs: &mut Vec<f64>, ys: &mut Vec<f64>| {
            let noise = Normal::new(0.0, spread).expect("positive spread");
            for _ in 0..n {
                xs.push(center.0 + noise.sample(&mut rng));
                ys.push(center.1 + noise.sample(&mut rng));
            }
        };
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for c in NORMAL_CENTERS {
        cluster(c, NORMAL_SPREAD, 1000, &mut xs, &mut ys);
    }
    let normal_rows = xs.len();
    cluster(KNOWN_CENTER, ANOMALY_SPREAD, 40, &mut xs, &mut ys);
    let split = RowSplit {
        normal: (0..normal_rows).collect(),
        known: (normal_rows..xs.len())
            .map(|r| (r, KNOWN_KIND.to_string()))
            .collect(),
        left_out: 0,
    };
    let train = points_table("demo (train)", xs, ys);

    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut test_kinds = Vec::new();
    for c in NORMAL_CENTERS {
        cluster(c, NORMAL_SPREAD, 500, &mut xs, &mut ys);
        test_kinds.extend(std::iter::repeat_n(None, 500));
    }
    for (center, kind) in [(KNOWN_CENTER, KNOWN_KIND), (UNSEEN_CENTER, UNSEEN_KIND)] {
        cluster(center, ANOMALY_SPREAD, 50, &mut xs, &mut ys);
        test_kinds.extend(std::iter::repeat_n(Some(kind.to_string()), 50));
    }
    DemoData {
        train,
        split,
        test: points_table("demo (test)", xs, ys),
        test_kinds,
    }
}

/// A table of 2-D points with columns "x" and "y".
pub fn points_table(source: &str, xs: Vec<f64>, ys: Vec<f64>) -> Table {
    Table::from_numeric_columns(source, vec![("x".into(), xs), ("y".into(), ys)])
}
