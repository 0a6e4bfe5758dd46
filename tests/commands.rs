//! The demo and `synth` commands, end to end.

mod common;

use common::{path_str, run_ok};

#[test]
fn demo_shows_the_synthetic_model_catching_the_unseen_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("demo.png");
    let out = run_ok(&["demo", "-q", "--out", path_str(&png)]);
    let aupr = |mode: &str| -> Vec<f64> {
        let line = out
            .lines()
            .find(|l| l.starts_with(mode))
            .unwrap_or_else(|| panic!("no {mode} row in\n{out}"));
        line.split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let (vanilla, synthetic) = (aupr("vanilla"), aupr("synthetic"));
    // Columns: all, known cluster, unseen cluster.
    assert!(
        vanilla[1] > 0.9 && synthetic[1] > 0.9,
        "both learn the known cluster:\n{out}"
    );
    assert!(
        synthetic[2] > 0.9 && vanilla[2] < 0.5,
        "only the synthetic model catches the unseen cluster:\n{out}"
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn synth_writes_decoded_samples_inside_the_box() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    let mut s = String::from("size,flag,color,label\n");
    for i in 0..50 {
        s.push_str(&format!(
            "{},{},{},{}\n",
            10 + i % 5,
            i % 2,
            ["red", "blue"][i % 2],
            if i == 0 { "bad" } else { "ok" }
        ));
    }
    std::fs::write(&data, s).unwrap();
    let out = dir.path().join("synthetic.csv");
    run_ok(&[
        "synth",
        "--data",
        path_str(&data),
        "--label-column",
        "label",
        "--normal",
        "ok",
        "--count",
        "200",
        "--out",
        path_str(&out),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("size,flag,color"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 200);
    for row in &rows {
        let size: f64 = row[0].parse().unwrap();
        assert!((10.0..=14.0).contains(&size), "{row:?}");
        assert!(row[1] == "0" || row[1] == "1", "{row:?}");
        assert!(row[2] == "red" || row[2] == "blue", "{row:?}");
    }
    // Encoded output: scaled features and one-hot columns.
    run_ok(&[
        "synth",
        "--data",
        path_str(&data),
        "--label-column",
        "label",
        "--normal",
        "ok",
        "--count",
        "5",
        "--encoded",
        "--out",
        path_str(&out),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().next(), Some("size,flag,color=blue,color=red"));
}
