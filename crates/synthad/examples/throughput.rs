//! Training and scoring throughput of the default network (ReLU 500-500, hinge loss, AdamW,
//! batch 1024) on a fixed random problem of the nsl-kdd scenario's shape (27,800 rows × 113
//! features). The same problem as bench/pytorch_reference.py; bench/compare.sh runs both.
//!
//!     cargo run --release -p synthad --example throughput -- [threads] [epochs]

use rand::{Rng, SeedableRng};

use rand_chacha::ChaCha8Rng;
use synthad::prepare::Matrix;
use synthad::train::{fit_model, LabeledSet, TrainParams};

/// FLOP/s of a large single-precision product with the `gemm` kernels synthad's layers use.
fn peak_sgemm(threads: usize) -> f64 {
    let n = 2048;
    let a = vec![1.0f32; n * n];
    let b = vec![0.5f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let mut best = 0.0f64;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        // SAFETY: all three buffers are n × n, row-major, and distinct.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
        best = best.max(2.0 * (n * n * n) as f64 / started.elapsed().as_secs_f64());
    }
    assert_eq!(c[0], n as f32 * 0.5);
    best
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(2, |a| a.parse().expect("threads"));
    let epochs: usize = args.next().map_or(5, |a| a.parse().expect("epochs"));
    synthad::keep_freed_memory();
    synthad::set_threads(threads);
    let (rows, cols) = (27_800, 113);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = Matrix::from_rows(
        cols,
        (0..rows * cols).map(|_| rng.random::<f32>()).collect(),
    );
    let half = rows / 2;
    let normal = x.select_rows(&(0..half).collect::<Vec<_>>());
    let synthetic = x.select_rows(&(half..rows).collect::<Vec<_>>());
    let empty = Matrix::zeros(0, cols);
    let train = LabeledSet::balanced(&normal, &empty, &synthetic, None);
    let validation = LabeledSet::balanced(
        &normal.select_rows(&[0, 1]),
        &empty,
        &synthetic.select_rows(&[0, 1]),
        None,
    );
    let params = TrainParams {
        max_epochs: epochs,
        min_patience_steps: usize::MAX,
        ..Default::default()
    };
    let (model, report) =
        fit_model(&train, &validation, &params, &mut rng, &mut |_| {}).expect("training");
    let mut scoring = 0.0f64;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let scores = model.scores(&x).expect("scoring");
        assert_eq!(scores.len(), rows);
        scoring = scoring.max(rows as f64 / started.elapsed().as_secs_f64());
    }
    // Floating-point operations per row: 2 per multiply-add; forward once, backward twice
    // except the first layer's input gradient, which training skips.
    let macs = (cols * 500 + 500 * 500 + 500) as f64;
    let train_flops = 2.0 * (3.0 * macs - (cols * 500) as f64);
    let score_flops = 2.0 * macs;
    println!(
        "synthad threads {threads}: training {:.0} samples/s ({:.1} GFLOP/s; {} epochs, {:.2} s), scoring {scoring:.0} rows/s ({:.1} GFLOP/s); peak sgemm 2048³ {:.1} GFLOP/s",
        report.samples_per_second,
        report.samples_per_second * train_flops / 1e9,
        report.epochs,
        report.seconds,
        scoring * score_flops / 1e9,
        peak_sgemm(threads) / 1e9,
    );
}
