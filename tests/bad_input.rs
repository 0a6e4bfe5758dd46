//! Every kind of bad input gets a clear error naming what is wrong and where, never a panic.

mod common;

use std::path::Path;

use common::{path_str, run_err, run_ok, write, TINY};

/// A small labeled CSV with a header: numeric a, b; categorical c; label.
fn good_csv() -> String {
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

fn score_args<'a>(model: &'a Path, data: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "score",
        "--model",
        path_str(model),
        "--data",
        path_str(data),
        "--out",
        path_str(out),
    ]
}

fn train_args<'a>(data: &'a str, model: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "-q",
        "--data",
        data,
        "--label-column",
        "label",
        "--normal",
        "ok",
        "--known",
        "bad",
        "--model",
        model,
    ];
    args.extend(TINY);
    args
}

/// `args` with `extra` after them; a `--detector` in `extra` replaces TINY's.
fn with<'a>(mut args: Vec<&'a str>, extra: &[&'a str]) -> Vec<&'a str> {
    if extra.contains(&"--detector") {
        if let Some(i) = args.iter().position(|a| *a == "--detector") {
            args.drain(i..i + 2);
        }
    }
    args.extend(extra);
    args
}

#[test]
fn missing_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.synthad");
    let missing = dir.path().join("nope.csv");
    let err = run_err(&train_args(path_str(&missing), path_str(&model)));
    assert!(
        err.contains("nope.csv") && err.contains("No such file"),
        "{err}"
    );

    let empty = write(dir.path(), "empty.csv", "");
    let err = run_err(&train_args(path_str(&empty), path_str(&model)));
    assert!(err.contains("empty.csv") && err.contains("empty"), "{err}");

    let header_only = write(dir.path(), "header.csv", "a,b,label\n");
    let err = run_err(&train_args(path_str(&header_only), path_str(&model)));
    assert!(err.contains("header.csv") && err.contains("empty"), "{err}");
    assert!(!model.exists(), "no model file after a failed training");
}

#[test]
fn unknown_and_missing_label_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &good_csv());
    let model = dir.path().join("m.synthad");
    let err = run_err(&[
        "train",
        "--data",
        path_str(&data),
        "--label-column",
        "class",
        "--normal",
        "ok",
        "--model",
        path_str(&model),
    ]);
    assert!(
        err.contains("no column \"class\"") && err.contains("a, b, c, label"),
        "{err}"
    );
    let err = run_err(&[
        "train",
        "--data",
        path_str(&data),
        "--label-column",
        "label",
        "--normal",
        "ok",
        "--ignore",
        "zzz",
        "--model",
        path_str(&model),
    ]);
    assert!(err.contains("no column \"zzz\""), "{err}");
}

#[test]
fn text_nan_and_inf_in_numeric_columns() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.synthad");
    let mut text = good_csv();
    text = text.replacen("\n3,9,y,ok\n", "\n3,oops,y,ok\n", 1);
    let data = write(dir.path(), "text.csv", &text);
    let err = run_err(&train_args(path_str(&data), path_str(&model)));
    assert!(
        err.contains("text.csv, row 4, column b") && err.contains("\"oops\" is not a number"),
        "{err}"
    );

    let nan = good_csv().replacen("\n3,9,y,ok\n", "\n3,NaN,y,ok\n", 1);
    let data = write(dir.path(), "nan.csv", &nan);
    let err = run_err(&train_args(path_str(&data), path_str(&model)));
    assert!(
        err.contains("nan.csv, row 4, column b") && err.contains("--missing NaN"),
        "{err}"
    );
    // Declared as a missing marker, NaN is imputed and training succeeds.
    let mut args = train_args(path_str(&data), path_str(&model));
    args.extend(["--missing", "NaN", ""]);
    run_ok(&args);

    let inf = good_csv().replacen("\n3,9,y,ok\n", "\n3,inf,y,ok\n", 1);
    let data = write(dir.path(), "inf.csv", &inf);
    let err = run_err(&train_args(path_str(&data), path_str(&model)));
    assert!(
        err.contains("inf.csv, row 4, column b") && err.contains("not a finite number"),
        "{err}"
    );
}

#[test]
fn no_normal_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &good_csv());
    let model = dir.path().join("m.synthad");
    let err = run_err(&[
        "train",
        "--data",
        path_str(&data),
        "--label-column",
        "label",
        "--normal",
        "normal",
        "--model",
        path_str(&model),
    ]);
    assert!(
        err.contains("no training rows have label \"normal\"") && err.contains("\"ok\" ×54"),
        "{err}"
    );
}

#[test]
fn truncated_and_foreign_model_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &good_csv());
    let model = dir.path().join("m.synthad");
    run_ok(&train_args(path_str(&data), path_str(&model)));
    let scores = dir.path().join("s.csv");
    run_ok(&score_args(&model, &data, &scores));

    let bytes = std::fs::read(&model).unwrap();
    let truncated = dir.path().join("truncated.synthad");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = run_err(&score_args(&truncated, &data, &scores));
    assert!(
        err.contains("truncated.synthad: not a synthad model file"),
        "{err}"
    );

    let err = run_err(&[
        "eval",
        "--model",
        path_str(&data),
        "--data",
        path_str(&data),
    ]);
    assert!(err.contains("d.csv: not a synthad model file"), "{err}");
}

#[test]
fn scoring_data_must_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &good_csv());
    let model = dir.path().join("m.synthad");
    run_ok(&train_args(path_str(&data), path_str(&model)));
    let scores = dir.path().join("s.csv");

    let without_b = write(dir.path(), "other.csv", "a,c,label\n1,x,ok\n");
    let err = run_err(&score_args(&model, &without_b, &scores));
    assert!(
        err.contains("other.csv") && err.contains("column \"b\""),
        "{err}"
    );

    let text_in_a = write(dir.path(), "text.csv", "a,b,c,label\nhello,1,x,ok\n");
    let err = run_err(&score_args(&model, &text_in_a, &scores));
    assert!(
        err.contains("text.csv, row 1, column a") && err.contains("\"hello\" is not a number"),
        "{err}"
    );
    assert!(!scores.exists(), "no scores file after a failed scoring");
}

#[test]
fn invalid_hyperparameters_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &good_csv());
    let model = dir.path().join("m.synthad");
    let mut args = train_args(path_str(&data), path_str(&model));
    args.extend(["--known-weight", "1.5"]);
    let err = run_err(&args);
    assert!(
        err.contains("--known-weight 1.5 is invalid: expected a share in [0, 1]"),
        "{err}"
    );
    for (flags, expected) in [
        (
            &["--detector", "deepsad", "--known-weight", "1.5"][..],
            "--known-weight 1.5 is invalid",
        ),
        (
            &["--detector", "drocc", "--drocc-gamma", "0.5"],
            "--drocc-gamma 0.5 is invalid: expected a number ≥ 1",
        ),
        (
            &["--detector", "iforest", "--sample-size", "1"],
            "--sample-size 1 is invalid: expected a sample of at least 2 rows",
        ),
        (&["--detector", "svm"], "invalid value 'svm'"),
    ] {
        let args = with(train_args(path_str(&data), path_str(&model)), flags);
        let err = run_err(&args);
        assert!(err.contains(expected), "{flags:?}: {err}");
    }
    let err = run_err(&[
        "train",
        "--data",
        path_str(&data),
        "--label-column",
        "label",
        "--normal",
        "ok",
        "--detector",
        "classifier",
        "--mode",
        "vanilla",
        "--model",
        path_str(&model),
    ]);
    assert!(
        err.contains("vanilla mode trains on known anomalies only"),
        "{err}"
    );
}

#[test]
fn scoring_precision_needs_a_neural_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &good_csv());
    let model = dir.path().join("m.synthad");
    run_ok(&with(
        train_args(path_str(&data), path_str(&model)),
        &["--detector", "gbt"],
    ));
    let scores = dir.path().join("s.csv");
    let mut args = score_args(&model, &data, &scores);
    args.extend(["--precision", "f32"]);
    let err = run_err(&args);
    assert!(
        err.contains("--precision f32 is invalid: expected a neural model; a gbt model has no matrix products"),
        "{err}"
    );
    assert!(!scores.exists());
}
