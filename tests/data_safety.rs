//! Never lose a user's data: outputs never replace inputs, appear whole or not at all, keep
//! ordinary file modes; sizes the user gives are refused before they abort the process; model
//! files are untrusted input. (docs/reliability.md lists each case with its test.) Long, as
//! the catalogue it backs: one test per class of fault, each through the CLI.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{labeled_csv, partials, path_str, run_err, run_ok, strs, synthad, train, write};

#[test]
fn an_output_that_is_an_input_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let text = labeled_csv();
    let data = write(dir.path(), "d.csv", &text);
    let model = dir.path().join("m.synthad");
    run_ok(&strs(&train(&data, &model, &[])));
    let model_bytes = std::fs::read(&model).unwrap();
    let dotted = format!("{}/./d.csv", dir.path().display());
    let link = dir.path().join("link.csv");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&data, &link).unwrap();

    // train --model = --data, also as ./x and through a link.
    for target in [path_str(&data), dotted.as_str(), path_str(&link)] {
        let err = run_err(&strs(&train(&data, Path::new(target), &[])));
        assert!(err.contains("is the same file as --data"), "{err}");
    }
    // score --out = --data, score --out = --model.
    for out in [&data, &model] {
        let err = run_err(&[
            "score",
            "--model",
            path_str(&model),
            "--data",
            path_str(&data),
            "--out",
            path_str(out),
        ]);
        assert!(err.contains("is the same file as"), "{err}");
    }
    // synth --out = --data, synth --out = --model.
    let err = run_err(&["synth", "--data", path_str(&data), "--out", &dotted]);
    assert!(err.contains("is the same file as --data"), "{err}");
    let err = run_err(&[
        "synth",
        "--model",
        path_str(&model),
        "--out",
        path_str(&model),
    ]);
    assert!(err.contains("is the same file as --model"), "{err}");
    // bench --json = --markdown.
    let report = dir.path().join("r.txt");
    let err = run_err(&[
        "bench",
        "--json",
        path_str(&report),
        "--markdown",
        path_str(&report),
    ]);
    assert!(err.contains("is the same file as --json"), "{err}");

    assert_eq!(std::fs::read_to_string(&data).unwrap(), text);
    assert_eq!(std::fs::read(&model).unwrap(), model_bytes);
    assert!(partials(dir.path()).is_empty());
}

#[test]
fn an_unwritable_output_fails_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &labeled_csv());
    let nowhere = dir.path().join("no/such/dir/m.synthad");
    let mut args = train(&data, &nowhere, &[]);
    // A training that would take minutes: the error must come first.
    args.retain(|a| a != "-q");
    let started = Instant::now();
    let err = run_err(&strs(&args));
    assert!(err.contains("cannot create a file in"), "{err}");
    assert!(!err.contains("epochs"), "training ran first:\n{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_killed_synth_leaves_the_old_file_and_a_recognisable_partial() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &labeled_csv());
    let out = write(dir.path(), "out.csv", "the old contents\n");
    let bin = assert_cmd::cargo::cargo_bin("synthad");
    let mut child = Command::new(bin)
        .args([
            "synth",
            "--data",
            path_str(&data),
            "--label-column",
            "label",
            "--normal",
            "ok",
            "--count",
            "2000000000",
            "--out",
            path_str(&out),
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the partial file has grown, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(60);
    let partial = loop {
        let found = partials(dir.path());
        if let Some(name) = found.first() {
            let p = dir.path().join(name);
            if std::fs::metadata(&p).is_ok_and(|m| m.len() > 100_000) {
                break p;
            }
        }
        assert!(Instant::now() < deadline, "synth wrote nothing in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "the old contents\n");
    let name = partial.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(".out.csv.") && name.ends_with(".partial"),
        "{name}"
    );
}

#[cfg(unix)]
#[test]
fn outputs_respect_the_umask_and_a_replaced_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &labeled_csv());
    let model = dir.path().join("m.synthad");
    let scores = dir.path().join("s.csv");
    let bin = assert_cmd::cargo::cargo_bin("synthad");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let under_umask = |umask: &str, args: &[String]| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(&bin)
            .args(args)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{args:?}");
    };
    under_umask("022", &train(&data, &model, &[]));
    assert_eq!(mode(&model), 0o644);
    let score: Vec<String> = [
        "score",
        "--model",
        path_str(&model),
        "--data",
        path_str(&data),
        "--out",
        path_str(&scores),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    under_umask("027", &score);
    assert_eq!(mode(&scores), 0o640);
    // Replacing keeps the file's own mode, whatever the umask.
    std::fs::set_permissions(&scores, std::fs::Permissions::from_mode(0o644)).unwrap();
    under_umask("077", &score);
    assert_eq!(mode(&scores), 0o644);
}

#[test]
fn a_categorical_column_of_100000_values_trains_in_bounded_width_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("user,amount,label\n");
    for i in 0..100_000 {
        let label = if i % 500 == 0 { "bad" } else { "ok" };
        text.push_str(&format!("u{i},{},{label}\n", i % 97));
    }
    let data = write(dir.path(), "ids.csv", &text);
    let model = dir.path().join("m.synthad");
    let bin = assert_cmd::cargo::cargo_bin("synthad");
    let child = Command::new(bin)
        .args(strs(&train(&data, &model, &["--max-epochs", "1"])))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let peak = peak_memory_kib(child);
    assert!(model.exists());
    // Every id is unique: the column pools into its "other" feature, one feature for it.
    let out = run_ok(&[
        "eval",
        "--model",
        path_str(&model),
        "--data",
        path_str(&data),
    ]);
    assert!(out.contains("overall"), "{out}");
    if let Some(kib) = peak {
        assert!(kib < 500 * 1024, "peak memory {kib} KiB");
    }
}

/// Waits for the child and returns its peak resident memory, polled from /proc (Linux).
fn peak_memory_kib(mut child: std::process::Child) -> Option<u64> {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = None;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = Some(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .map(|mut s| s.read_to_string(&mut stderr));
            assert!(status.success(), "{stderr}");
            return peak;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sizes_that_cannot_fit_are_refused_with_what_to_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &labeled_csv());
    let model = dir.path().join("m.synthad");
    let err = run_err(&strs(&train(&data, &model, &["--hidden", "100000,100000"])));
    assert!(
        err.contains("a network of widths") && err.contains("--hidden"),
        "{err}"
    );
    let out = dir.path().join("s.csv");
    let err = run_err(&[
        "synth",
        "--data",
        path_str(&data),
        "--count",
        "1000000000000",
        "--out",
        path_str(&out),
    ]);
    assert!(err.contains("lower --count"), "{err}");
    assert!(!out.exists() && partials(dir.path()).is_empty());
}

/// A change to a model file's metadata.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

/// Rewrites the JSON header of a model file with `edit` applied to synthad's metadata.
fn tamper(model: &Path, edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let bytes = std::fs::read(model).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let text = header["__metadata__"]["synthad"]
        .as_str()
        .unwrap()
        .to_string();
    let mut metadata: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut metadata);
    header["__metadata__"]["synthad"] = metadata.to_string().into();
    let mut json = serde_json::to_vec(&header).unwrap();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(&bytes[8 + n..]);
    // Sealed again, so that each edit meets the check it is meant for, not the checksum.
    synthad::model_file::reseal(&out).unwrap()
}

#[test]
fn tampered_model_files_are_refused_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &labeled_csv());
    let model = dir.path().join("m.synthad");
    run_ok(&strs(&train(&data, &model, &[])));
    let gbt = dir.path().join("gbt.synthad");
    run_ok(&strs(&train(&data, &gbt, &["--detector", "gbt"])));
    let forest = dir.path().join("forest.synthad");
    run_ok(&strs(&train(&data, &forest, &["--detector", "iforest"])));
    let out = dir.path().join("s.csv");
    let edits: Vec<(&Path, &str, Edit)> = vec![
        (
            &model,
            "column position",
            Box::new(|m| {
                m["schema"]["columns"][0]["source_index"] = 99.into();
                m["preprocessor"]["columns"][0]["source_index"] = 99.into();
            }),
        ),
        (
            &model,
            "column position",
            Box::new(|m| m["schema"]["label_index"] = 99.into()),
        ),
        (
            &model,
            "input columns differ",
            Box::new(|m| m["schema"]["columns"][1]["name"] = "zz".into()),
        ),
        (
            &model,
            "categories",
            Box::new(|m| {
                m["preprocessor"]["columns"][2]["encoding"]["frequencies"] =
                    serde_json::json!([0.5])
            }),
        ),
        (
            &model,
            "threshold",
            Box::new(|m| m["threshold"] = serde_json::json!(1e39)),
        ),
        (
            &model,
            "box",
            Box::new(|m| m["generator"]["lower"] = serde_json::json!([0.0])),
        ),
        (
            &gbt,
            "nodes or features",
            Box::new(|m| {
                let booster = m["model"]["booster"]
                    .as_str()
                    .unwrap()
                    .replace("\"split_feature\":0", "\"split_feature\":999");
                m["model"]["booster"] = booster.into();
            }),
        ),
        (
            &forest,
            "nodes or features",
            Box::new(|m| m["model"]["trees"][0][0]["Split"]["left"] = 0.into()),
        ),
    ];
    for (i, (source, expected, edit)) in edits.iter().enumerate() {
        let tampered = dir.path().join(format!("t{i}.synthad"));
        std::fs::write(&tampered, tamper(source, edit)).unwrap();
        let err = run_err(&[
            "score",
            "--model",
            path_str(&tampered),
            "--data",
            path_str(&data),
            "--out",
            path_str(&out),
        ]);
        assert!(
            err.contains("not a synthad model file") && err.contains(expected),
            "edit {i}: {err}"
        );
    }
}

#[test]
fn repeated_column_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "dup.csv",
        &labeled_csv().replacen("a,b,c", "a,a,c", 1),
    );
    let err = run_err(&strs(&train(&data, &dir.path().join("m"), &[])));
    assert!(
        err.contains("dup.csv")
            && err.contains("columns 0 and 1 (zero-based) are both named \"a\""),
        "{err}"
    );
}

#[test]
fn headerless_scoring_matches_columns_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let body: String = labeled_csv()
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    let data = write(dir.path(), "d.csv", &body);
    let model = dir.path().join("m.synthad");
    run_ok(&strs(&train(&data, &model, &["--label-column", "3"])));
    let out = dir.path().join("s.csv");
    // A file lacking a middle column has the count of one lacking the label: refused.
    let without_b: String = body
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{}\n", f[0], f[2], f[3])
        })
        .collect();
    let missing = write(dir.path(), "missing.csv", &without_b);
    let score = |file: &Path, extra: &[&str]| {
        let mut args = vec![
            "score",
            "--model",
            path_str(&model),
            "--data",
            path_str(file),
            "--out",
            path_str(&out),
        ];
        args.extend(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let err = run_err(&strs(&score(&missing, &[])));
    assert!(
        err.contains("expects 4") && err.contains("--no-label"),
        "{err}"
    );
    // Saying the label is what is missing reads the columns right: the same scores.
    run_ok(&strs(&score(&data, &[])));
    let with_label = std::fs::read_to_string(&out).unwrap();
    let unlabeled: String = body
        .lines()
        .map(|l| format!("{}\n", l.rsplit_once(',').unwrap().0))
        .collect();
    let unlabeled = write(dir.path(), "unlabeled.csv", &unlabeled);
    run_ok(&strs(&score(&unlabeled, &["--no-label"])));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), with_label);
    let err = run_err(&strs(&score(&data, &["--no-label"])));
    assert!(err.contains("expects 3"), "{err}");
}

#[test]
fn data_can_come_from_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let text = labeled_csv();
    let data = write(dir.path(), "d.csv", &text);
    let model = dir.path().join("m.synthad");
    run_ok(&strs(&train(&data, &model, &[])));
    let from_file = run_ok(&[
        "score",
        "--model",
        path_str(&model),
        "--data",
        path_str(&data),
        "--out",
        "-",
    ]);
    for source in ["-", "/dev/stdin"] {
        let mut child = synthad();
        let out = child
            .args([
                "score",
                "--model",
                path_str(&model),
                "--data",
                source,
                "--out",
                "-",
            ])
            .write_stdin(text.clone())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), from_file);
    }
    // Training reads a pipe too.
    let piped = dir.path().join("piped.synthad");
    let mut args = train(Path::new("-"), &piped, &[]);
    args.retain(|a| a != "-q");
    let out = synthad()
        .args(strs(&args))
        .write_stdin(text)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let empty = synthad()
        .args([
            "score",
            "--model",
            path_str(&model),
            "--data",
            "-",
            "--out",
            "-",
        ])
        .write_stdin("")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&empty.stderr);
    assert!(err.contains("<stdin>: the file is empty"), "{err}");
    let _ = std::io::stdout().flush();
}

#[test]
fn flags_reach_their_validators() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", &labeled_csv());
    let model = dir.path().join("m.synthad");
    let err = run_err(&strs(&train(&data, &model, &["--lr", "-1"])));
    assert!(
        err.contains("--lr -1 is invalid: expected a positive number"),
        "{err}"
    );
    let mut overlap = train(&data, &model, &[]);
    let at = overlap.iter().position(|a| a == "bad").unwrap();
    overlap[at] = "ok".into();
    let err = run_err(&strs(&overlap));
    assert!(err.contains("must not overlap"), "{err}");
    // --threads 0 means all cores.
    let mut args = train(&data, &model, &[]);
    args.insert(0, "0".into());
    args.insert(0, "--threads".into());
    run_ok(&strs(&args));
}
