//! The model-file loader on arbitrary bytes: an error, or a model that scores rows of its own
//! schema without a panic. A model file is untrusted input. Each input is loaded as it is and
//! with its checksum recomputed, so that mutations reach the checks behind the checksum.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use synthad::ingest::{Column, ColumnKind, Table, Values};
use synthad::Detector;

fuzz_target!(|data: &[u8]| {
    load_and_score(data);
    if let Some(resealed) = synthad::model_file::reseal(data) {
        load_and_score(&resealed);
    }
});

fn load_and_score(data: &[u8]) {
    let Ok(detector) = Detector::from_bytes(data, Path::new("fuzz.synthad")) else {
        return;
    };
    // Three rows of the model's own columns: ordinary values, missing ones, odd ones.
    let columns = detector
        .preprocessor()
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            source_index: c.source_index,
            kind: c.kind,
            values: match c.kind {
                ColumnKind::Categorical => {
                    Values::Categorical(vec![Some("a".into()), None, Some(String::new())])
                }
                _ => Values::Numeric(vec![0.0, f64::NAN, 1e30]),
            },
        })
        .collect();
    let table = Table {
        path: "fuzz-rows".into(),
        n_rows: 3,
        columns,
    };
    let _ = detector.decision_function(&table);
    let bytes = detector.to_bytes().expect("a loaded model saves");
    Detector::from_bytes(&bytes, Path::new("again.synthad")).expect("a saved model loads");
}
