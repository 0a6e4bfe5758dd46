//! Inputs the fuzz targets (fuzz/) found crashing synthad, kept as regression tests: each must
//! now give an error, not a panic.

use std::path::Path;

use synthad::ingest::labels::RowSplit;
use synthad::ingest::{Format, RawTable, ReadOptions, Table, TrainingSet};
use synthad::train::{DetectorKind, TrainParams};
use synthad::{Detector, Error};

/// A kept fuzz input's path, and the error reading its bytes in memory gives.
fn parquet_regression(name: &str) -> (std::path::PathBuf, Error) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let err = RawTable::from_bytes(
        "damaged.parquet",
        bytes,
        Format::Parquet,
        &ReadOptions::default(),
    )
    .unwrap_err();
    (path, err)
}

#[test]
fn a_parquet_file_whose_dictionary_page_is_missing() {
    // read_parquet, 2026-11-30: the parquet crate panicked ("Decoder for dict should have been
    // set") while reading the first batch.
    let (path, err) = parquet_regression("parquet-dict-decoder-unset.parquet");
    // Now refused already by the dictionary check's read of the page headers.
    assert!(matches!(&err, Error::Parse { .. }), "{err}");
    // Through the file reader and the chunked one alike.
    assert!(RawTable::read(&path, &ReadOptions::default()).is_err());
    let chunks = RawTable::read_chunks(&path, &ReadOptions::default(), 7);
    assert!(chunks.map_or(true, |c| c.collect::<synthad::Result<Vec<_>>>().is_err()));
}

#[test]
fn a_parquet_file_whose_column_range_is_negative() {
    // read_parquet, 2026-11-30 (second run): the parquet crate panicked ("column start and
    // length should not be negative") while planning a page read; the reader contains it.
    let (path, err) = parquet_regression("parquet-negative-column-range.parquet");
    assert!(
        matches!(&err, Error::Parse { message, .. } if message.contains("damaged")),
        "{err}"
    );
    assert!(RawTable::read(&path, &ReadOptions::default()).is_err());
}

#[test]
fn a_parquet_dictionary_declaring_a_billion_values() {
    // read_parquet, 2026-11-30 (third run): a 12 KB file whose dictionary page declares 1.2
    // billion values made the parquet crate allocate and zero 9.4 GB. Refused before reading.
    let (path, err) = parquet_regression("parquet-huge-dictionary.parquet");
    assert!(std::fs::metadata(&path).unwrap().len() < 20_000);
    assert!(
        matches!(&err, Error::Parse { message, .. } if message.contains("dictionary of")),
        "{err}"
    );
    let err = RawTable::read(&path, &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("dictionary of"), "{err}");
}

#[test]
fn a_boosted_model_asking_for_more_rounds_than_it_has() {
    // load_model, 2026-11-30: a booster whose prediction_iteration exceeded its trees
    // panicked in forust's predict.
    let x: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
    let table = Table::from_numeric_columns("t", vec![("x".into(), x)]);
    let split = RowSplit {
        normal: (0..90).collect(),
        known: (90..100).map(|r| (r, "high".to_string())).collect(),
        left_out: 0,
    };
    let params = TrainParams {
        trees: synthad::train::TreeParams {
            trees: 3,
            ..Default::default()
        },
        ..TrainParams::for_detector(DetectorKind::Gbt)
    };
    let (detector, _) =
        Detector::fit(&TrainingSet::new(table, split), &params.check().unwrap()).unwrap();
    let bytes = detector.to_bytes().unwrap();
    // Rewrite the booster's prediction_iteration inside the file's JSON header (the booster
    // is forust's JSON, as a string inside synthad's JSON, inside the safetensors header).
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_str(header["__metadata__"]["synthad"].as_str().unwrap()).unwrap();
    let mut booster: serde_json::Value =
        serde_json::from_str(meta["model"]["booster"].as_str().unwrap()).unwrap();
    booster["prediction_iteration"] = 6.into();
    meta["model"]["booster"] = booster.to_string().into();
    header["__metadata__"]["synthad"] = meta.to_string().into();
    let mut json = serde_json::to_vec(&header).unwrap();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend(json);
    file.extend(&bytes[8 + n..]);
    // Unsealed, the checksum refuses it; sealed again, the booster check must.
    let err = Detector::from_bytes(&file, Path::new("tampered.synthad")).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    let file = synthad::model_file::reseal(&file).unwrap();
    let err = Detector::from_bytes(&file, Path::new("tampered.synthad")).unwrap_err();
    assert!(
        matches!(&err, Error::BadModelFile { message, .. } if message.contains("more boosting rounds")),
        "{err}"
    );
}

#[test]
fn a_model_file_whose_header_is_not_an_object_cannot_be_resealed() {
    // load_model, 2026-12-08, after 548,504 runs: `model_file::reseal` (which the fuzz target
    // applies to every input) panicked on a header whose synthad entry was not a JSON object.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/model-header-not-an-object.bin");
    let bytes = std::fs::read(&path).unwrap();
    assert!(synthad::model_file::reseal(&bytes).is_none());
    assert!(Detector::from_bytes(&bytes, &path).is_err());
}
