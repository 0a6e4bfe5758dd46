//! Memory estimates, checked before large allocations: an allocation that fails aborts the
//! process, and one that the kernel grants beyond what exists gets it killed later, so sizes
//! that come from the user (network widths, row counts, file contents) are checked first and
//! refused with a message that says what to change.

use crate::error::{Error, Result};

/// Bytes this process can still allocate: the kernel's estimate of available memory, capped
/// by the cgroup's limit where one is set. `None` where neither can be read (not Linux).
pub fn available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let system = meminfo.as_deref().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    });
    let cgroup = cgroup_headroom();
    match (system, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The cgroup (v2) limit less current use, where a limit is set.
fn cgroup_headroom() -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok();
    let max = read("memory.max")?.trim().parse::<u64>().ok()?;
    let current = read("memory.current")?.trim().parse::<u64>().ok()?;
    Some(max.saturating_sub(current))
}

/// Errs when `bytes` would not fit into available memory. `what` names the allocation ("the
/// network's weights"), `hint` what to change ("use smaller --hidden widths").
pub fn ensure_fits(bytes: u64, what: &str, hint: &str) -> Result<()> {
    // Where memory cannot be read, refuse only what no machine has (1 TiB).
    let available = available().unwrap_or(1 << 40);
    if bytes > available {
        return Err(Error::TooLarge {
            what: what.to_string(),
            needed: bytes,
            available,
            hint: hint.to_string(),
        });
    }
    Ok(())
}

/// `a × b × c` bytes, saturating: sizes from untrusted input must not overflow.
pub fn product(factors: &[usize]) -> u64 {
    factors
        .iter()
        .fold(1u64, |acc, &f| acc.saturating_mul(f as u64))
}

/// A byte count for people: "37.3 GiB", "512.0 MiB".
pub fn human(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let b = bytes as f64;
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_cannot_fit_is_refused_with_the_hint() {
        let err = ensure_fits(
            u64::MAX,
            "the network's weights",
            "use smaller --hidden widths",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("the network's weights") && err.contains("--hidden"),
            "{err}"
        );
        assert!(ensure_fits(1024, "a little", "").is_ok());
        assert_eq!(product(&[usize::MAX, usize::MAX]), u64::MAX);
        assert_eq!(human(3 << 29), "1.5 GiB");
    }
}
