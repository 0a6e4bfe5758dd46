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

/// A small classifier: quick to fit (the CLI's default, auto, takes no network sizes).
pub const TINY: [&str; 8] = [
    "--detector",
    "classifier",
    "--hidden",
    "8",
    "--max-epochs",
    "3",
    "--min-patience-steps",
    "1",
];

pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

/// numeric a, b; categorical c; label ok / bad.
pub fn labeled_csv() -> String {
    let mut s = String::from("a,b,c,label\n");
    for i in 0..60 {
        let label = if i % 10 == 0 { "bad" } else { "ok" };
        s.push_str(&format!(
            "{},{},{},{label}\n",
            i % 7,
            (i * 3) % 11,
            ["x", "y"][i % 2]
        ));
    }
    s
}

/// `synthad train` arguments for the labeled CSV; `extra` flags replace the defaults' values
/// (a flag followed by its value) or are added.
pub fn train(data: &Path, model: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "-q",
        "--data",
        path_str(data),
        "--label-column",
        "label",
        "--normal",
        "ok",
        "--known",
        "bad",
        "--model",
        path_str(model),
    ]
    .iter()
    .chain(&TINY)
    .map(|s| s.to_string())
    .collect();
    let mut i = 0;
    while i < extra.len() {
        let flag = extra[i];
        let value = extra.get(i + 1).filter(|v| !v.starts_with("--"));
        match (args.iter().position(|a| a == flag), value) {
            (Some(at), Some(v)) => args[at + 1] = v.to_string(),
            (_, value) => {
                args.push(flag.to_string());
                args.extend(value.map(|v| v.to_string()));
            }
        }
        i += 1 + usize::from(value.is_some());
    }
    args
}

pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Files in `dir` whose names end in ".partial".
pub fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}
