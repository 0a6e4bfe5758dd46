//! Training and scoring throughput of the default network (ReLU 500-500, hinge loss, AdamW,
//! batch 1024) on a fixed random problem of the nsl-kdd scenario's shape (27,800 rows × 113
//! features). The same problem as bench/pytorch_reference.py; bench/compare.sh runs both.
//!
//!     cargo run --release -p synthad --example throughput -- [threads] [epochs]

use rand::{Rng, SeedableRng};

use rand_chacha::ChaCha8Rng;
use synthad::prepare::Matrix;
use synthad::train::{train_mlp, LabeledSet, TrainParams};

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(2, |a| a.parse().expect("threads"));
    let epochs: usize = args.next().map_or(5, |a| a.parse().expect("epochs"));
    synthad::keep_freed_memory();
    synthad::set_threads(threads);
    let (rows, cols) = (27_800, 113);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = Matrix::from_rows(cols, (0..rows * cols).map(|_| rng.random::<f32>()).collect());
    let half = rows / 2;
    let normal = x.select_rows(&(0..half).collect::<Vec<_>>());
    let synthetic = x.select_rows(&(half..rows).collect::<Vec<_>>());
    let empty = Matrix::zeros(0, cols);
    let train = LabeledSet::balanced(&normal, &empty, &synthetic, None);
    let validation = LabeledSet::balanced(&normal.select_rows(&[0, 1]), &empty, &synthetic.select_rows(&[0, 1]), None);
    let params = TrainParams {
        max_epochs: epochs,
        min_patience_steps: usize::MAX,
        ..Default::default()
    };
    let (mlp, report) = train_mlp(&train, &validation, &params, &mut rng, &mut |_| {}).expect("training");
    let mut scoring = 0.0f64;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let scores = mlp.scores(&x).expect("scoring");
        assert_eq!(scores.len(), rows);
        scoring = scoring.max(rows as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "synthad threads {threads}: training {:.0} samples/s ({} epochs, {:.2} s), scoring {scoring:.0} rows/s",
        report.samples_per_second, report.epochs, report.seconds
    );
}
