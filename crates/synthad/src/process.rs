//! Process-wide settings, made once at start by a front end (the command line, the Python
//! module): the thread pools and the allocator's tuning. Nothing else in the library calls
//! them, so an application embedding synthad keeps its own.

/// Sets the number of threads used by the matrix kernels; 0 keeps rayon's default (all
/// cores). Call before the first model is trained or scored.
pub fn set_threads(threads: usize) {
    if threads > 0 {
        // candle reads RAYON_NUM_THREADS for its matrix kernels on every call.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    // Keeps candle's element-wise kernels on the calling thread. On our small batches its
    // separate spinning thread pool competes with the matrix kernels' pool for the same
    // cores: measured on 2 cores, training ran 1.5x faster without it (docs/performance.md).
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// Keeps freed buffers in the process heap. A training step allocates and frees several
/// 2 MB activation buffers; by default glibc serves those with mmap and returns them on free,
/// so every step pays page faults and zeroing of fresh pages (11% of a step on 2 threads,
/// docs/performance.md). A no-op off glibc.
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

/// Asks a fit running under [`run_stoppable`] to stop at its next step (a minibatch, a fold of
/// `auto`): for a front end's Ctrl-C while the fit runs on another thread.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    pub fn request(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn requested(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

thread_local! {
    /// The flag of the fit running on this thread, if it can be stopped.
    static STOP: std::cell::RefCell<Option<StopFlag>> = const { std::cell::RefCell::new(None) };
}

/// Runs `work` on this thread so that `flag` can stop the fits inside it: they return
/// [`crate::Error::Stopped`] at their next step once the flag is raised.
pub fn run_stoppable<T>(flag: &StopFlag, work: impl FnOnce() -> T) -> T {
    let earlier = STOP.with(|s| s.replace(Some(flag.clone())));
    let result = work();
    STOP.with(|s| *s.borrow_mut() = earlier);
    result
}

/// Fails with [`crate::Error::Stopped`] if this thread's fit was asked to stop.
pub(crate) fn check_stop() -> crate::Result<()> {
    let stop = STOP.with(|s| s.borrow().as_ref().is_some_and(StopFlag::requested));
    if stop {
        Err(crate::Error::Stopped)
    } else {
        Ok(())
    }
}
