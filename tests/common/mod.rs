//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The benchmark data directory: $SYNTHAD_DATA, else ../shared/data beside the project. When it
/// is absent the real-data tests are skipped (and say so), except under CI=true.
pub fn data_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SYNTHAD_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join("thyroid/ann-train.data").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{test}: benchmark data not found at {} (set SYNTHAD_DATA); CI=true requires it",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED {test}: benchmark data not found at {} (set SYNTHAD_DATA to run it)",
        dir.display()
    );
    None
}

pub fn synthad() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("synthad").expect("the synthad binary is built")
}

/// Runs synthad, expecting success; returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    let out = synthad().args(args).output().expect("synthad runs");
    assert!(
        out.status.success(),
        "synthad {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs synthad, expecting failure; returns stderr.
pub fn run_err(args: &[&str]) -> String {
    let out = synthad().args(args).output().expect("synthad runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "synthad {args:?} succeeded unexpectedly"
    );
    assert!(
        !stderr.contains("panicked"),
        "synthad {args:?} panicked:\n{stderr}"
    );
    assert!(
        stderr.starts_with("error: "),
        "no clear error for {args:?}:\n{stderr}"
    );
    stderr
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
