//! Training and scoring throughput of the default network (ReLU 500-500, hinge loss, AdamW,
//! batch 1024) in `synthetic` mode on the nsl-kdd scenario's training set (seed 0: 13,449
//! normal rows, 923 known anomalies, 13,449 synthetic ones, 113 encoded features), scoring its
//! 22,544 encoded test rows. bench/pytorch_reference.py trains and scores the same exported
//! rows; bench/compare.sh runs both, alternating.
//!
//!     cargo run --release -p synthad --example throughput -- [threads] [epochs] [f32|bf16] [nsl-kdd|random] [scoring passes]
//!     cargo run --release -p synthad --example throughput -- export PATH.npz
//!     cargo run --release -p synthad --example throughput -- kernels
//!
//! `random` trains on uniform random rows of the same shape, labeled half and half: no row
//! ever clears the hinge margin, so every row keeps a gradient (the dense worst case). The
//! training FLOP/s count that dense work on either problem ("dense-equivalent"); the run also
//! prints the share of training rows left inside the margin, the rows that keep a gradient.
//! Scoring takes the best of 3 passes over the test rows, or of `scoring passes` (for
//! profiling).
//! `export` writes the nsl-kdd rows (x, y, w, test_x) for the PyTorch reference. `kernels`
//! times the three matrix products of a 512-row shard through a 500-wide layer (forward,
//! weight gradient, input gradient) with gemm's f32 kernel and synthad's bf16 one.
//! The benchmark data are read from $SYNTHAD_DATA, else ../shared/data.

use std::path::PathBuf;

use rand::{Rng, SeedableRng};

use rand_chacha::ChaCha8Rng;
use synthad::__bench::bf16::Bf16Kernel;
use synthad::__bench::{fit_model, sgemm, LabeledSet, NpzWriter, TrainingData};
use synthad::prepare::Matrix;
use synthad::train::{Precision, TrainParams};
use synthad::Choice;

/// FLOP/s of a large single-precision product with the `gemm` kernels synthad's layers use.
fn peak_sgemm(threads: usize) -> f64 {
    let n = 2048;
    let a = vec![1.0f32; n * n];
    let b = vec![0.5f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let mut best = 0.0f64;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        sgemm((n, n, n), &mut c, false, &a, (n, 1), &b, (n, 1), threads);
        best = best.max(2.0 * (n * n * n) as f64 / started.elapsed().as_secs_f64());
    }
    assert_eq!(c[0], n as f32 * 0.5);
    best
}

/// FLOP/s of `threads` concurrent 2048³ bf16 products (the kernel is single-threaded).
fn peak_bf16(threads: usize) -> f64 {
    use rayon::prelude::*;
    let kernel = Bf16Kernel::detect().expect("a CPU with AVX512-BF16");
    let n = 2048;
    let a = vec![1.0f32; n * n];
    let b = vec![0.5f32; n * n];
    let mut outputs = vec![vec![0.0f32; n * n]; threads];
    let mut best = 0.0f64;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        outputs.par_iter_mut().for_each(|c| {
            kernel.matmul(n, n, n, c, false, &a, (n, 1), &b, (n, 1));
        });
        let flops = 2.0 * (n * n * n * threads) as f64;
        best = best.max(flops / started.elapsed().as_secs_f64());
    }
    assert_eq!(outputs[0][0], n as f32 * 0.5);
    best
}

/// GFLOP/s of one product shape, f32 (gemm) and bf16, single-threaded, best of 20.
fn time_kernels() {
    // (name, m, n, k, lhs strides, rhs strides) as the fused layer calls them.
    let (rows, inputs, outputs) = (512, 500, 500);
    let shapes = [
        (
            "forward  y = x·wᵀ",
            rows,
            outputs,
            inputs,
            (inputs, 1),
            (1, inputs),
        ),
        (
            "weights dw = dzᵀ·x",
            outputs,
            inputs,
            rows,
            (1, outputs),
            (inputs, 1),
        ),
        (
            "input   dx = dz·w",
            rows,
            inputs,
            outputs,
            (outputs, 1),
            (inputs, 1),
        ),
    ];
    let data: Vec<f32> = (0..rows * 512).map(|i| (i % 17) as f32 / 17.0).collect();
    for (name, m, n, k, ls, rs) in shapes {
        let mut dst = vec![0.0f32; m * n];
        let flops = 2.0 * (m * n * k) as f64;
        let mut best = [0.0f64; 2];
        for _ in 0..20 {
            let started = std::time::Instant::now();
            sgemm((m, n, k), &mut dst, false, &data, ls, &data, rs, 1);
            best[0] = best[0].max(flops / started.elapsed().as_secs_f64());
            if let Some(kernel) = Bf16Kernel::detect() {
                let started = std::time::Instant::now();
                kernel.matmul(m, n, k, &mut dst, false, &data, ls, &data, rs);
                best[1] = best[1].max(flops / started.elapsed().as_secs_f64());
            }
        }
        println!(
            "{name}: f32 {:.1} GFLOP/s, bf16 {:.1} GFLOP/s",
            best[0] / 1e9,
            best[1] / 1e9
        );
    }
}

/// The rows a benchmark trains and scores on.
struct Problem {
    train: LabeledSet,
    test: Matrix,
}

/// The nsl-kdd scenario (seed 0) prepared as `synthad bench`'s `synthetic` method prepares it.
fn nsl_kdd() -> Problem {
    let dir = std::env::var_os("SYNTHAD_DATA").map_or("../shared/data".into(), PathBuf::from);
    let scenario = synthad::bench::load("nsl-kdd", &dir, 0).unwrap_or_else(|e| {
        panic!(
            "the nsl-kdd scenario from {} (set SYNTHAD_DATA): {e}",
            dir.display()
        )
    });
    let params = synthad::bench::method("synthetic")
        .expect("the synthetic method")
        .params;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let data = TrainingData::new(
        scenario.train.table(),
        scenario.train.split(),
        &params,
        &mut rng,
    )
    .expect("the training rows");
    let test = data
        .preprocessor
        .transform(&scenario.test)
        .expect("the test rows");
    Problem {
        train: data.train,
        test,
    }
}

/// Uniform random rows of nsl-kdd's shape, the first half normal, the rest anomalies.
fn random() -> Problem {
    let (rows, cols) = (27_800, 113);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = Matrix::from_rows(
        cols,
        (0..rows * cols).map(|_| rng.random::<f32>()).collect(),
    );
    let half = rows / 2;
    let normal = x.select_rows(&(0..half).collect::<Vec<_>>());
    let synthetic = x.select_rows(&(half..rows).collect::<Vec<_>>());
    Problem {
        train: LabeledSet::balanced(&normal, &Matrix::zeros(0, cols), &synthetic, None),
        test: x,
    }
}

/// Writes the nsl-kdd problem as an npz archive: x, y (±1), w (row weights), test_x.
fn export(path: &str) {
    let problem = nsl_kdd();
    let mut npz = NpzWriter::create(path.as_ref()).expect("create the npz file");
    let arrays: [(&str, &[f32], Vec<u64>); 4] = [
        (
            "x",
            &problem.train.x.data,
            vec![problem.train.x.rows as u64, problem.train.x.cols as u64],
        ),
        ("y", &problem.train.target, vec![problem.train.len() as u64]),
        ("w", &problem.train.weight, vec![problem.train.len() as u64]),
        (
            "test_x",
            &problem.test.data,
            vec![problem.test.rows as u64, problem.test.cols as u64],
        ),
    ];
    for (name, values, shape) in arrays {
        npz.array(name, &shape, npyz::Order::C, values)
            .expect("write the npz file");
    }
    npz.finish().expect("write the npz file");
    println!(
        "wrote {path}: {} training rows, {} test rows, {} features",
        problem.train.len(),
        problem.test.rows,
        problem.train.x.cols
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("kernels") => return time_kernels(),
        Some("export") => return export(&args.next().expect("export PATH.npz")),
        _ => {}
    }
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(2, |a| a.parse().expect("threads"));
    let epochs: usize = args.next().map_or(5, |a| a.parse().expect("epochs"));
    let precision: Precision = args
        .next()
        .map_or(Ok(Precision::F32), |a| Precision::parse(&a))
        .expect("precision: f32 or bf16");
    let problem_name = args.next().unwrap_or_else(|| "nsl-kdd".into());
    let scoring_passes: usize = args
        .next()
        .map_or(3, |a| a.parse().expect("scoring passes"));
    let problem = match problem_name.as_str() {
        "nsl-kdd" => nsl_kdd(),
        "random" => random(),
        other => panic!("problem: nsl-kdd or random, not {other}"),
    };
    // What the CLI's main does for a run: rayon's pool and candle's at the thread count.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    std::env::set_var("CANDLE_NUM_THREADS", "1");
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("the global thread pool");
    // SAFETY: allocator tuning before any other thread allocates (see the CLI's main).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
    let train = &problem.train;
    let cols = train.x.cols;
    // Early stopping off: the validation set only has to exist.
    let validation = LabeledSet::balanced(
        &train.x.select_rows(&[0, 1]),
        &Matrix::zeros(0, cols),
        &train.x.select_rows(&[train.len() - 2, train.len() - 1]),
        None,
    );
    let params = TrainParams {
        max_epochs: epochs,
        min_patience_steps: usize::MAX,
        precision,
        ..Default::default()
    }
    .check()
    .expect("valid parameters");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (model, report) =
        fit_model(train, &validation, &params, &mut rng, &mut |_| {}).expect("training");
    let mut scoring = 0.0f64;
    for _ in 0..scoring_passes {
        let started = std::time::Instant::now();
        let scores = model.scores(&problem.test).expect("scoring");
        assert_eq!(scores.len(), problem.test.rows);
        scoring = scoring.max(problem.test.rows as f64 / started.elapsed().as_secs_f64());
    }
    // Rows with a hinge gradient: y·s < 1.
    let inside = model
        .scores(&train.x)
        .expect("scoring")
        .iter()
        .zip(&train.target)
        .filter(|(&s, &y)| y * s < 1.0)
        .count();
    // Floating-point operations per row: 2 per multiply-add; forward once, backward twice
    // except the first layer's input gradient, which training skips.
    let macs = (cols * 500 + 500 * 500 + 500) as f64;
    let train_flops = 2.0 * (3.0 * macs - (cols * 500) as f64);
    let score_flops = 2.0 * macs;
    // The peak of the kernels in use: the bf16 one where it runs, else gemm's f32 one.
    let peak = if precision == Precision::Bf16 && Bf16Kernel::detect().is_some() {
        format!("peak bf16 2048³ {:.1} GFLOP/s", peak_bf16(threads) / 1e9)
    } else {
        format!("peak sgemm 2048³ {:.1} GFLOP/s", peak_sgemm(threads) / 1e9)
    };
    println!(
        "synthad {precision:?} {problem_name} threads {threads}: training {:.0} samples/s ({:.1} GFLOP/s dense-equivalent; {} epochs, {:.2} s; {:.2}% of its rows inside the margin at the end), scoring {scoring:.0} rows/s ({:.1} GFLOP/s); {peak}",
        report.samples_per_second,
        report.samples_per_second * train_flops / 1e9,
        report.epochs,
        report.seconds,
        100.0 * inside as f64 / train.len() as f64,
        scoring * score_flops / 1e9,
    );
}
