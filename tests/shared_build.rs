//! The command line and the Python bindings are separate workspaces (the bindings' pyo3 and
//! numpy would otherwise change features for `cargo test`), built into one target folder. They
//! reuse each other's compiled dependencies only where every shared crate resolves to the same
//! features; one differing feature (bytemuck's, syn's on the host) recompiled most of the tree,
//! 6 min 48 s on 2 cores. The core asks for the union (crates/synthad/Cargo.toml, "Feature
//! unification"); this test fails, naming the crate, when the two resolutions drift apart.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Every package of a build graph (target and host) with the features it resolves to.
fn features(manifest: &Path) -> BTreeMap<String, Vec<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--locked", "-e", "normal,build", "--prefix", "none"])
        .args(["-f", "{p} {f}", "--manifest-path"])
        .arg(manifest)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut packages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 2 || parts[1].starts_with('(') {
            continue;
        }
        let name = format!("{} {}", parts[0], parts[1]);
        let features = parts
            .get(2)
            .filter(|f| !f.starts_with('('))
            .unwrap_or(&"")
            .to_string();
        let entry = packages.entry(name).or_default();
        if !entry.contains(&features) {
            entry.push(features);
            entry.sort();
        }
    }
    packages
}

#[test]
fn the_cli_and_the_bindings_resolve_shared_crates_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cli = features(&root.join("Cargo.toml"));
    let bindings = features(&root.join("crates/synthad-py/Cargo.toml"));
    let differing: Vec<String> = cli
        .iter()
        .filter_map(|(name, f)| {
            let other = bindings.get(name)?;
            (other != f).then(|| format!("{name}: command line {f:?}, bindings {other:?}"))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "shared crates resolve to different features, so `bash python/install.sh` would \
         recompile them; add the union to crates/synthad/Cargo.toml (\"Feature unification\"):\n{}",
        differing.join("\n")
    );
    // A shared crate must be there to compare: the core and its heavy dependencies.
    for shared in ["synthad v0.1.0", "candle-core", "gemm"] {
        assert!(cli.keys().any(|k| k.starts_with(shared)), "{shared}");
        assert!(bindings.keys().any(|k| k.starts_with(shared)), "{shared}");
    }
}
