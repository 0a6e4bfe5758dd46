//! The same data read from CSV, Parquet and .npz gives the same table; a saved model loads
//! back to the same scores, and damaged or foreign model files are refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use synthad::__bench::NpzWriter;
use synthad::ingest::labels::{LabelSpec, Labels};
use synthad::ingest::{ColumnKind, ColumnSpec, RawTable, ReadOptions, Table, Values};
use synthad::ingest::{DataSpec, TrainingSet};
use synthad::model_file::FORMAT_VERSION;
use synthad::train::{DetectorKind, TrainParams};
use synthad::{Choice, Detector, Error, FitReport};

const ROWS: usize = 80;

fn column_x(i: usize) -> f64 {
    (i % 9) as f64 * 0.5
}
fn column_flag(i: usize) -> i64 {
    i.is_multiple_of(3) as i64
}
fn column_color(i: usize) -> &'static str {
    ["red", "green", "blue"][i % 3]
}
fn column_label(i: usize) -> i64 {
    if i.is_multiple_of(8) {
        1
    } else {
        0
    }
}

fn write_csv(path: &Path) {
    let mut s = String::from("x,flag,color,label\n");
    for i in 0..ROWS {
        s.push_str(&format!(
            "{},{},{},{}\n",
            column_x(i),
            column_flag(i),
            column_color(i),
            column_label(i)
        ));
    }
    std::fs::write(path, s).unwrap();
}

fn write_parquet(path: &Path) {
    let batch = RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Float64Array::from_iter_values((0..ROWS).map(column_x))) as ArrayRef,
        ),
        (
            "flag",
            Arc::new(Int64Array::from_iter_values((0..ROWS).map(column_flag))) as ArrayRef,
        ),
        (
            "color",
            Arc::new(StringArray::from_iter_values((0..ROWS).map(column_color))) as ArrayRef,
        ),
        (
            "label",
            Arc::new(Int64Array::from_iter_values((0..ROWS).map(column_label))) as ArrayRef,
        ),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn typed(path: &Path, categorical: &[&str]) -> (Table, Labels) {
    let options = ReadOptions::default();
    let raw = RawTable::read(path, &options).unwrap();
    let label = if raw.names.contains(&"label".to_string()) {
        "label"
    } else {
        "y"
    };
    let labels = Labels::read(&raw, label).unwrap();
    let spec = ColumnSpec {
        categorical: categorical.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    };
    (
        Table::infer(&raw, &spec, &[labels.column_index], &options).unwrap(),
        labels,
    )
}

#[test]
fn csv_and_parquet_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, parquet) = (dir.path().join("d.csv"), dir.path().join("d.parquet"));
    write_csv(&csv);
    write_parquet(&parquet);
    let (a, la) = typed(&csv, &[]);
    let (b, lb) = typed(&parquet, &[]);
    assert_eq!(la.values, lb.values);
    let kinds: Vec<ColumnKind> = a.columns.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ColumnKind::Numeric,
            ColumnKind::Binary,
            ColumnKind::Categorical
        ]
    );
    for (ca, cb) in a.columns.iter().zip(&b.columns) {
        assert_eq!(
            (ca.kind, &ca.values),
            (cb.kind, &cb.values),
            "column {}",
            ca.name
        );
    }
}

#[test]
fn a_parquet_date_column_is_refused_as_a_feature_and_can_be_ignored_or_carried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dated.parquet");
    let batch = RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Float64Array::from_iter_values((0..ROWS).map(column_x))) as ArrayRef,
        ),
        (
            "when",
            Arc::new(Date32Array::from_iter_values(
                (0..ROWS as i32).map(|d| 19_000 + d),
            )) as ArrayRef,
        ),
        (
            "label",
            Arc::new(Int64Array::from_iter_values((0..ROWS).map(column_label))) as ArrayRef,
        ),
    ])
    .unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let mut spec = DataSpec {
        labels: LabelSpec {
            column: "label".into(),
            normal: vec!["0".into()],
            known: vec!["1".into()],
        },
        ..data_spec()
    };
    let err = fit_file(&path, &spec, small_params()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("\"when\" has type Date32") && message.contains("--ignore \"when\""),
        "{message}"
    );
    spec.columns.ignore = vec!["when".into()];
    let (detector, _) = fit_file(&path, &spec, small_params()).unwrap();
    // The date column still reads as text, for carrying it into output.
    let (raw, _) = detector.read_file(&path).unwrap();
    let when = raw.resolve("when").unwrap();
    assert_eq!(raw.columns[when].text_at(0), "2022-01-08");
}

#[test]
fn npz_reads_x_and_y_in_both_memory_orders() {
    let dir = tempfile::tempdir().unwrap();
    // 3 rows × 2 columns; stored once row-major, once column-major.
    let values = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    for (name, order, data) in [
        ("c.npz", npyz::Order::C, values),
        (
            "f.npz",
            npyz::Order::Fortran,
            [1.0, 3.0, 5.0, 2.0, 4.0, 6.0],
        ),
    ] {
        let path = dir.path().join(name);
        let mut npz = NpzWriter::create(&path).unwrap();
        npz.array::<f64>("X", &[3, 2], order, &data).unwrap();
        npz.array::<i64>("y", &[3], npyz::Order::C, &[0, 0, 1])
            .unwrap();
        npz.finish().unwrap();
        let (table, labels) = typed(&path, &[]);
        assert_eq!(labels.values, ["0", "0", "1"]);
        assert_eq!(
            table.columns[0].values,
            Values::Numeric(vec![1.0, 3.0, 5.0]),
            "{name}"
        );
        assert_eq!(
            table.columns[1].values,
            Values::Numeric(vec![2.0, 4.0, 6.0]),
            "{name}"
        );
    }
}

/// Reads a labeled file and fits on it.
fn fit_file(
    path: &Path,
    spec: &DataSpec,
    params: TrainParams,
) -> synthad::Result<(Detector, FitReport)> {
    Detector::fit(&TrainingSet::read(path, spec)?, &params.check()?)
}

fn small_params() -> TrainParams {
    params_for(DetectorKind::Classifier)
}

fn params_for(detector: DetectorKind) -> TrainParams {
    TrainParams {
        hidden: vec![16, 16],
        max_epochs: 20,
        ..TrainParams::for_detector(detector)
    }
}

fn data_spec() -> DataSpec {
    DataSpec {
        read: ReadOptions::default(),
        columns: ColumnSpec::default(),
        labels: LabelSpec {
            column: "label".into(),
            normal: vec!["0".into()],
            known: vec!["1".into()],
        },
    }
}

/// Fits a small detector on a CSV in `dir` and saves it; returns it with the CSV and model paths.
fn fit_and_save(dir: &Path, params: TrainParams) -> (Detector, PathBuf, PathBuf) {
    let csv = dir.join("d.csv");
    write_csv(&csv);
    let (detector, _) = fit_file(&csv, &data_spec(), params).unwrap();
    let model = dir.join("m.synthad");
    detector.save(&model).unwrap();
    (detector, csv, model)
}

#[test]
fn saved_models_load_to_the_same_scores() {
    for &kind in DetectorKind::ALL {
        let dir = tempfile::tempdir().unwrap();
        let (detector, csv, model) = fit_and_save(dir.path(), params_for(kind));
        let loaded = Detector::load(&model).unwrap();
        assert_eq!(loaded.kind(), kind);
        assert_eq!(loaded.params(), detector.params());
        let (_, table) = loaded.read_file(&csv).unwrap();
        let scores = detector.decision_function(&table).unwrap();
        assert_eq!(
            scores,
            loaded.decision_function(&table).unwrap(),
            "{kind:?}"
        );
        assert!(
            scores.iter().any(|&s| s != scores[0]),
            "{kind:?}: constant scores"
        );
        assert_eq!(detector.threshold(), loaded.threshold());
        let known: &[&str] = if kind == DetectorKind::IForest {
            &[]
        } else {
            &["1"]
        };
        assert_eq!(loaded.known_kinds(), known, "{kind:?}");
        // Only the model file is left: the temporary file was renamed into place.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}

#[test]
fn damaged_and_foreign_model_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, model) = fit_and_save(dir.path(), small_params());
    let bytes = std::fs::read(&model).unwrap();

    let check = |name: &str, contents: &[u8], expected: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        match Detector::load(&path) {
            Err(e @ Error::BadModelFile { .. }) => {
                assert!(e.to_string().contains(expected), "{name}: {e}")
            }
            Err(e) => panic!("{name}: wrong error {e}"),
            Ok(_) => panic!("{name}: loaded"),
        }
    };
    check(
        "truncated.synthad",
        &bytes[..bytes.len() - 100],
        "synthad model file",
    );
    check("csv.synthad", b"a,b\n1,2\n", "not a safetensors file");
    // A future format version (same length, so the header stays valid) is named, not misread.
    let pattern = format!("\\\"version\\\":{FORMAT_VERSION}");
    let pattern = pattern.as_bytes();
    let at = bytes
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("version in the header");
    let mut future = bytes.clone();
    future[at + pattern.len() - 1] = b'7';
    check("future.synthad", &future, "format version 7");
    // Plain safetensors without synthad metadata.
    let foreign = safetensors::serialize(
        [(
            "w",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0u8; 4])
                .unwrap(),
        )],
        None,
    )
    .unwrap();
    check("foreign.synthad", &foreign, "without synthad metadata");
}

#[test]
fn same_seed_same_model_different_seed_different_model() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    write_csv(&csv);
    let fit = |seed| {
        let params = TrainParams {
            seed,
            ..small_params()
        };
        let (d, _) = fit_file(&csv, &data_spec(), params).unwrap();
        let (_, table) = d.read_file(&csv).unwrap();
        d.decision_function(&table).unwrap()
    };
    assert_eq!(fit(3), fit(3));
    assert_ne!(fit(3), fit(4));
}
