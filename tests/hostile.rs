//! The second hostile pass (docs/reliability.md): outputs that name devices, links or the
//! benchmark's own data; inputs without line breaks and counts beyond what exists; two-pass
//! scoring on streams; signals; damaged model files; byte-identical model files. Each test
//! goes through the real binary.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{labeled_csv, partials, path_str, run_err, run_ok, strs, synthad, train, write, TINY};

/// The labeled CSV and a small classifier trained on it, in `dir`.
fn trained(dir: &Path) -> (PathBuf, PathBuf) {
    let data = write(dir, "d.csv", &labeled_csv());
    let model = dir.join("m.synthad");
    run_ok(&strs(&train(&data, &model, &[])));
    (data, model)
}

fn score_args<'a>(model: &'a Path, data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "score",
        "--model",
        path_str(model),
        "--data",
        data,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

#[cfg(unix)]
#[test]
fn devices_and_links_are_written_through_never_replaced() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());

    // As root this used to rename a regular file over /dev/null.
    run_ok(&score_args(&model, path_str(&data), "/dev/null", &[]));
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(null.file_type().is_char_device(), "/dev/null was replaced");

    // /dev/stdout is standard output, whatever it is.
    let printed = run_ok(&score_args(&model, path_str(&data), "/dev/stdout", &[]));
    assert!(printed.starts_with("score\n"), "{printed}");

    // A link stays a link; the file it points to keeps its inode and gets the scores.
    let real = write(dir.path(), "real.csv", "old");
    let inode = std::fs::metadata(&real).unwrap().ino();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    run_ok(&score_args(&model, path_str(&data), path_str(&link), &[]));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::metadata(&real).unwrap().ino(), inode);
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .starts_with("score\n"));
    assert!(partials(dir.path()).is_empty());

    // A model written through a link to the training data is refused like the data itself.
    let to_data = dir.path().join("to-data.synthad");
    std::os::unix::fs::symlink(&data, &to_data).unwrap();
    let err = run_err(&strs(&train(&data, &to_data, &[])));
    assert!(err.contains("is the same file as --data"), "{err}");
    let dangling = dir.path().join("dangling.csv");
    std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).unwrap();
    let err = run_err(&score_args(
        &model,
        path_str(&data),
        path_str(&dangling),
        &[],
    ));
    assert!(err.contains("symbolic link to nothing"), "{err}");
}

#[test]
fn bench_refuses_to_write_inside_its_data_directory() {
    let Some(data) = common::data_dir("bench_refuses_to_write_inside_its_data_directory") else {
        return;
    };
    // A copy of the thyroid scenario's files, which bench used to write its reports over.
    let dir = tempfile::tempdir().unwrap();
    let thyroid = dir.path().join("thyroid");
    std::fs::create_dir(&thyroid).unwrap();
    for file in ["ann-train.data", "ann-test.data"] {
        std::fs::copy(data.join("thyroid").join(file), thyroid.join(file)).unwrap();
    }
    let test_file = thyroid.join("ann-test.data");
    let before = std::fs::read(&test_file).unwrap();
    let plots = dir.path().join("plots");
    for (flag, path) in [
        ("--json", &test_file),
        ("--markdown", &test_file),
        ("--plots", &plots),
    ] {
        let err = run_err(&[
            "bench",
            "thyroid",
            "--methods",
            "iforest",
            "--seeds",
            "0",
            "--data-dir",
            path_str(dir.path()),
            flag,
            path_str(path),
        ]);
        assert!(err.contains("is inside --data-dir"), "{err}");
    }
    assert_eq!(std::fs::read(&test_file).unwrap(), before);
    assert!(!plots.exists());
}

#[test]
fn input_without_line_breaks_fails_fast_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let out = dir.path().join("s.csv");
    for args in [
        score_args(&model, "/dev/zero", path_str(&out), &[]),
        strs(&train(
            Path::new("/dev/zero"),
            &dir.path().join("z.synthad"),
            &[],
        )),
        vec![
            "eval",
            "--model",
            path_str(&model),
            "--data",
            path_str(&data),
            "--kinds",
            "/dev/zero",
        ],
    ] {
        let started = Instant::now();
        let err = run_err(&args);
        assert!(err.contains("longer than 16.0 MiB"), "{args:?}: {err}");
        assert!(started.elapsed() < Duration::from_secs(30), "{args:?}");
    }
    // An unclosed quote says so.
    let mut text = labeled_csv();
    text.push_str("1,2,\"x");
    text.push_str(&"y\n".repeat(9 << 20));
    let quoted = write(dir.path(), "quoted.csv", &text);
    let err = run_err(&score_args(&model, path_str(&quoted), path_str(&out), &[]));
    assert!(
        err.contains("never closed") && err.contains("line 62"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn counts_beyond_what_exists_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let out = dir.path().join("s.csv");
    for k in ["1000000", "18446744073709551615", "0"] {
        let err = run_err(&score_args(
            &model,
            path_str(&data),
            path_str(&out),
            &["--explain", k],
        ));
        assert!(
            err.contains(&format!("--explain {k}: expected 1 to 3")),
            "{err}"
        );
        let err = run_err(&[
            "explain",
            "--model",
            path_str(&model),
            "--data",
            path_str(&data),
            "--row",
            "1",
            "--top",
            k,
        ]);
        assert!(
            err.contains(&format!("--top {k}: expected 1 to 3")),
            "{err}"
        );
    }
    assert!(!out.exists());
    let err = run_err(&["bench", "thyroid", "--seeds", "0-18446744073709551615"]);
    assert!(err.contains("more than the 10000"), "{err}");
    let err = run_err(&strs(&train(
        &data,
        &model,
        &["--detector", "gbt", "--trees", "4000000000"],
    )));
    assert!(err.contains("1 to 1,000,000 trees"), "{err}");
}

#[test]
fn fdr_reads_a_stream_through_a_spool_as_it_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let from_file = run_ok(&score_args(
        &model,
        path_str(&data),
        "-",
        &["--fdr", "0.2", "--carry", "label"],
    ));
    let piped = synthad()
        .args(score_args(
            &model,
            "-",
            "-",
            &["--fdr", "0.2", "--carry", "label"],
        ))
        .write_stdin(labeled_csv())
        .output()
        .unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert_eq!(String::from_utf8(piped.stdout).unwrap(), from_file);

    #[cfg(unix)]
    {
        // A named pipe is read once, not re-opened (which blocked forever).
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(path_str(&fifo)).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(fifo)
                    .unwrap()
                    .write_all(labeled_csv().as_bytes())
                    .unwrap();
            })
        };
        let out = synthad()
            .args(score_args(
                &model,
                path_str(&fifo),
                "-",
                &["--fdr", "0.2", "--carry", "label"],
            ))
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        writer.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), from_file);
    }
}

#[cfg(unix)]
#[test]
fn sigint_and_sigterm_remove_the_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a,b,label\n");
    for i in 0..40_000 {
        text.push_str(&format!(
            "{},{},{}\n",
            i % 97,
            (i * 7) % 13,
            if i % 50 == 0 { "bad" } else { "ok" }
        ));
    }
    let data = write(dir.path(), "d.csv", &text);
    for (signal, status) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let model = dir.path().join("m.synthad");
        let args = train(
            &data,
            &model,
            &["--max-epochs", "10000", "--patience", "10000"],
        );
        let child = Command::new(assert_cmd::cargo::cargo_bin("synthad"))
            .args(&args)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the model's temporary exists, then signal.
        let started = Instant::now();
        while partials(dir.path()).is_empty() && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: signalling a child we started.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(signal), "{status}");
        assert!(
            partials(dir.path()).is_empty(),
            "{:?}",
            partials(dir.path())
        );
        assert!(!model.exists());
    }
}

#[test]
fn damaged_model_files_do_not_score() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let bytes = std::fs::read(&model).unwrap();
    let out = dir.path().join("s.csv");
    let damaged = dir.path().join("damaged.synthad");
    // One flipped bit, in the header's JSON and in the weights.
    for at in [bytes.len() / 3, bytes.len() - 5] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x04;
        std::fs::write(&damaged, &flipped).unwrap();
        let err = run_err(&score_args(&damaged, path_str(&data), path_str(&out), &[]));
        assert!(err.contains("not a synthad model file"), "{err}");
    }
    // A NaN weight resealed with a valid checksum is refused for what it is.
    let mut nan = bytes.clone();
    let at = nan.len() - 8;
    nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&damaged, synthad::model_file::reseal(&nan).unwrap()).unwrap();
    let err = run_err(&score_args(&damaged, path_str(&data), path_str(&out), &[]));
    assert!(err.contains("not finite"), "{err}");
    assert!(!out.exists());
}

/// Every detector, `auto` included: the same seed writes the same bytes, on 1 and 2 threads.
#[test]
fn model_files_are_a_pure_function_of_data_parameters_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &labeled_csv());
    let neural = ["classifier", "deepsad", "abc", "drocc"];
    for detector in neural.iter().chain(&["gbt", "iforest", "auto"]) {
        let fit = |threads: &str| {
            let model = dir.path().join(format!("{detector}.{threads}.synthad"));
            let mut args = vec!["--threads".to_string(), threads.to_string()];
            if neural.contains(detector) {
                args.extend(train(&data, &model, &["--detector", detector]));
            } else {
                // Tree models and auto take no network settings: the TINY flags stay out.
                let mut plain = train(&data, &model, &[]);
                plain.truncate(plain.len() - TINY.len());
                args.extend(plain);
                args.extend(["--detector".to_string(), detector.to_string()]);
            }
            run_ok(&strs(&args));
            std::fs::read(model).unwrap()
        };
        let first = fit("1");
        assert_eq!(first, fit("1"), "{detector}: two runs differ");
        assert_eq!(first, fit("2"), "{detector}: 1 vs 2 threads differ");
    }
}

#[test]
fn kinds_files_and_carried_columns_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let eval = |kinds: &Path| {
        run_err(&[
            "eval",
            "--model",
            path_str(&model),
            "--data",
            path_str(&data),
            "--kinds",
            path_str(kinds),
        ])
    };
    let twice = write(dir.path(), "twice.csv", "label,kind\nbad,A\nok2,B\nbad,C\n");
    let err = eval(&twice);
    assert!(
        err.contains("line 4 maps label \"bad\" to kind \"C\", but line 2"),
        "{err}"
    );
    let kinds = dir.path().join("utf8.csv");
    std::fs::write(&kinds, b"label,kind\nbad,A\nx,\xff\xfe\n").unwrap();
    let err = eval(&kinds);
    assert!(err.contains("line 3: not valid UTF-8"), "{err}");

    let out = dir.path().join("s.csv");
    let with_score = write(
        dir.path(),
        "score.csv",
        &labeled_csv().replacen("a,b,c,label", "a,b,c,score", 1),
    );
    let named = dir.path().join("named.synthad");
    let mut args = train(&with_score, &named, &[]);
    let at = args.iter().position(|a| a == "label").unwrap();
    args[at] = "score".into();
    run_ok(&strs(&args));
    let err = run_err(&score_args(
        &named,
        path_str(&with_score),
        path_str(&out),
        &["--carry", "score"],
    ));
    assert!(err.contains("already"), "{err}");
    let err = run_err(&score_args(
        &model,
        path_str(&data),
        path_str(&out),
        &["--carry", "a", "0"],
    ));
    assert!(err.contains("twice"), "{err}");
    assert!(!out.exists());

    // Formula-looking text is escaped on request only.
    let cells = write(
        dir.path(),
        "cells.csv",
        &labeled_csv().replacen("\n0,0,x,bad\n", "\n0,0,x,=HYPERLINK(1)\n", 1),
    );
    let plain = run_ok(&score_args(
        &model,
        path_str(&cells),
        "-",
        &["--carry", "label"],
    ));
    assert!(plain.contains("\n=HYPERLINK(1),"), "{plain}");
    let escaped = run_ok(&score_args(
        &model,
        path_str(&cells),
        "-",
        &["--carry", "label", "--escape-formulas"],
    ));
    assert!(escaped.contains("\n'=HYPERLINK(1),"), "{escaped}");
}

#[test]
fn an_identifier_column_draws_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,a,label\n");
    for i in 0..200 {
        text.push_str(&format!(
            "user{i},{},{}\n",
            i % 9,
            if i % 20 == 0 { "bad" } else { "ok" }
        ));
    }
    let data = write(dir.path(), "ids.csv", &text);
    let out = synthad()
        .args(strs(&train(&data, &dir.path().join("m.synthad"), &[])))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: column \"id\" has 200 distinct values in 200 rows")
            && stderr.contains("--ignore \"id\""),
        "{stderr}"
    );
}
