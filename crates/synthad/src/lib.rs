//! synthad: semi-supervised anomaly detection as binary classification against known and
//! synthetic anomalies (Lau et al., 2025, "Bridging Unsupervised and Semi-Supervised Anomaly
//! Detection").
//!
//! The modules follow the pipeline: [`ingest`] → [`prepare`] → [`synthesize`] → [`train`] →
//! [`score`] → [`evaluate`]. [`Detector`] ties them together behind `fit`,
//! `decision_function` and `predict`; [`model_file`] saves and loads it.

pub mod atomic_file;
pub mod bench;
pub mod demo;
pub mod detector;
pub mod error;
pub mod evaluate;
pub mod ingest;
pub mod memory;
pub mod model_file;
pub mod prepare;
pub mod score;
pub mod synthesize;
pub mod train;

pub use detector::{fit_generator, DataSpec, Detector, FitReport, InputSchema, TrainingData};
pub use error::{Error, Result};

/// Sets the number of threads used by the matrix kernels. Call it before the first model is
/// trained or scored; later calls do not resize rayon's pool.
pub fn set_threads(threads: usize) {
    let threads = threads.max(1);
    // candle reads RAYON_NUM_THREADS for its matrix kernels on every call.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    configure_elementwise_threads();
}

/// Keeps freed buffers in the process heap. A training step allocates and frees several
/// 2 MB activation buffers; by default glibc serves those with mmap and returns them on free,
/// so every step pays page faults and zeroing of fresh pages (11% of a step on 2 threads,
/// docs/performance.md). Call once at program start; a no-op off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters; it is called before threads
    // that allocate exist, and invalid values are rejected by glibc (returning 0).
    unsafe {
        // 32 MiB is glibc's largest mmap threshold on 64-bit; trimming only past 1 GiB free.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Keeps candle's element-wise kernels on the calling thread. On our small batches its
/// separate spinning thread pool competes with the matrix kernels' pool for the same cores:
/// measured on 2 cores, training ran 1.5x faster without it (docs/performance.md).
pub fn configure_elementwise_threads() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}
