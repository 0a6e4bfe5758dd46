//! For the analyst: `score --pvalues / --fpr / --fdr / --explain` and `synthad explain`, end
//! to end on a file whose anomalies differ from normal rows in one known column.

mod common;

use std::path::Path;

use common::{path_str, run_err, run_ok};

/// 600 normal rows (a, b, c uniform; proto tcp/udp) and 30 rows with `b` far out, half of
/// them labeled "bad" (known) and half "odd" (left out of training, scored as unseen).
fn write_data(path: &Path) {
    let mut s = String::from("a,b,c,proto,label\n");
    let mut x: u64 = 12345;
    let mut uniform = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as f64 / (1u64 << 31) as f64
    };
    for i in 0..630 {
        let label = match i {
            600..=614 => "bad",
            615.. => "odd",
            _ => "ok",
        };
        let b = if i >= 600 { 5.0 + uniform() } else { uniform() };
        s.push_str(&format!(
            "{:.4},{:.4},{:.4},{},{label}\n",
            uniform(),
            b,
            uniform(),
            ["tcp", "udp"][i % 2]
        ));
    }
    std::fs::write(path, s).unwrap();
}

/// Trains `detector` on the data with `extra` flags.
fn train(data: &Path, model: &Path, detector: &str, extra: &[&str]) {
    let mut args = vec![
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
        "--detector",
        detector,
        "--model",
        path_str(model),
    ];
    args.extend(extra);
    run_ok(&args);
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn p_values_rates_and_reasons_come_out_of_score() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = (dir.path().join("d.csv"), dir.path().join("m.synthad"));
    write_data(&data);
    // 300 calibration normals: p-values fine enough for Benjamini–Hochberg on 630 rows.
    train(&data, &model, "gbt", &["--calibration-fraction", "0.5"]);
    let out = dir.path().join("s.csv");
    let score = |extra: &[&str]| {
        let mut args = vec![
            "score",
            "--model",
            path_str(&model),
            "--data",
            path_str(&data),
            "--out",
            path_str(&out),
            "--carry",
            "label",
        ];
        args.extend(extra);
        run_ok(&args);
        read_csv(&out)
    };
    let (header, rows) = score(&["--pvalues", "--fpr", "0.1", "--explain", "2"]);
    assert_eq!(
        header,
        [
            "label",
            "score",
            "p_value",
            "anomaly",
            "reason_1",
            "contribution_1",
            "reason_2",
            "contribution_2"
        ]
    );
    let calibration = 300.0; // half of 600 normals
    for row in &rows {
        let p: f64 = row[2].parse().unwrap();
        assert!(
            (1.0 / (calibration + 1.0) - 1e-6..=1.0).contains(&p),
            "{row:?}"
        );
        // Flagged exactly where p ≤ 0.1.
        assert_eq!(row[3] == "1", p <= 0.1, "{row:?}");
    }
    // The shifted column explains every shifted row; they get the smallest p-value.
    for row in rows.iter().filter(|r| r[0] != "ok") {
        assert_eq!(row[4], "b", "{row:?}");
        assert_eq!(row[3], "1", "{row:?}");
    }
    // Higher scores never get larger p-values.
    let mut by_score: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
        .collect();
    by_score.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(by_score.windows(2).all(|w| w[1].1 <= w[0].1 + 1e-12));

    // Benjamini–Hochberg flags the 30 shifted rows and few normal ones.
    let (header, rows) = score(&["--fdr", "0.1"]);
    assert_eq!(header, ["label", "score", "anomaly"]);
    let flagged: Vec<&Vec<String>> = rows.iter().filter(|r| r[2] == "1").collect();
    let shifted = flagged.iter().filter(|r| r[0] != "ok").count();
    assert_eq!(shifted, 30, "{} flagged", flagged.len());
    assert!(flagged.len() <= 40, "{} flagged", flagged.len());

    // Clear refusals.
    let err = run_err(&[
        "score",
        "--model",
        path_str(&model),
        "--data",
        path_str(&data),
        "--out",
        path_str(&out),
        "--fpr",
        "1.5",
    ]);
    assert!(
        err.contains("--fpr 1.5: expected a rate in (0, 1)"),
        "{err}"
    );
    let uncalibrated = dir.path().join("u.synthad");
    train(
        &data,
        &uncalibrated,
        "iforest",
        &["--calibration-fraction", "0"],
    );
    let err = run_err(&[
        "score",
        "--model",
        path_str(&uncalibrated),
        "--data",
        path_str(&data),
        "--out",
        path_str(&out),
        "--pvalues",
    ]);
    assert!(err.contains("--calibration-fraction"), "{err}");
}

#[test]
fn explain_reports_one_row_and_draws_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = (dir.path().join("d.csv"), dir.path().join("m.synthad"));
    write_data(&data);
    train(&data, &model, "gbt", &[]);
    let png = dir.path().join("row.png");
    // Row 620 (one-based) is an unseen shifted row.
    let out = run_ok(&[
        "explain",
        "--model",
        path_str(&model),
        "--data",
        path_str(&data),
        "--row",
        "620",
        "--top",
        "3",
        "--plot",
        path_str(&png),
    ]);
    assert!(out.contains("— anomaly"), "{out}");
    assert!(out.contains("p-value"), "{out}");
    assert!(out.contains("TreeSHAP"), "{out}");
    let first = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("column"))
        .nth(1)
        .unwrap();
    assert!(first.trim_start().starts_with("b "), "{out}");
    assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    let err = run_err(&[
        "explain",
        "--model",
        path_str(&model),
        "--data",
        path_str(&data),
        "--row",
        "0",
    ]);
    assert!(err.contains("data rows 1 to 630"), "{err}");
}
