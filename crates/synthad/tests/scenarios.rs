//! The bench scenarios follow ../shared/PROTOCOL.md on the real data.

use std::path::{Path, PathBuf};

use synthad::bench::{available, load};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SYNTHAD_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("thyroid/ann-train.data").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "benchmark data not found at {} (set SYNTHAD_DATA); CI=true requires it",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED scenario tests: benchmark data not found at {}",
        dir.display()
    );
    None
}

#[test]
fn every_protocol_scenario_is_present() {
    let Some(dir) = data_dir() else { return };
    assert_eq!(available(&dir).len(), 16, "{:?}", available(&dir));
}

#[test]
fn splits_follow_the_protocol() {
    let Some(dir) = data_dir() else { return };
    let kinds = |d: &synthad::bench::ScenarioData| {
        let mut k: Vec<String> = d.test_kinds.iter().flatten().cloned().collect();
        k.sort();
        k.dedup();
        k
    };

    let nsl = load("nsl-kdd", &dir, 0).unwrap();
    assert_eq!(nsl.train.split().normal.len(), 13449);
    // 10% of the 9,234 DoS rows of the training file.
    assert_eq!(nsl.train.split().known.len(), 923);
    assert_eq!(nsl.test.n_rows, 22544);
    assert_eq!(kinds(&nsl), ["DoS", "Probe", "R2L", "U2R"]);
    assert_eq!(nsl.seen_kinds, ["DoS"]);

    let thyroid = load("thyroid", &dir, 0).unwrap();
    assert_eq!(thyroid.test.n_rows, 3428);
    assert_eq!(kinds(&thyroid), ["hyperfunction", "subnormal"]);

    let arrhythmia = load("arrhythmia", &dir, 0).unwrap();
    assert_eq!(arrhythmia.train.split().normal.len(), 196); // 80% of 245
    assert_eq!(arrhythmia.train.split().known.len(), 44 + 50 + 4);
    assert!(arrhythmia.seen_kinds.is_empty());
    assert_eq!(
        arrhythmia.test_kinds.iter().filter(|k| k.is_none()).count(),
        49
    );

    let bottle = load("mvtec-bottle", &dir, 0).unwrap();
    assert_eq!(bottle.train.split().normal.len(), 160); // 70% of 229 normals
    assert_eq!(bottle.train.split().known.len(), 13); // 20% of 63 anomalies
    assert_eq!(bottle.test.n_rows, 69 + 50);

    // Another seed draws other subsets, of the same sizes.
    let other = load("mvtec-bottle", &dir, 1).unwrap();
    assert_eq!(other.train.split().normal.len(), 160);
    assert_ne!(other.train.split().normal, bottle.train.split().normal);
}
