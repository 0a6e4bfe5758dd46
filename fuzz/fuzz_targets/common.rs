//! What every reader target does with a table it could read: type its columns and fit and
//! apply the preprocessing, as training would.

use synthad::ingest::{ColumnSpec, Format, RawTable, ReadOptions, Table};
use synthad::prepare::Preprocessor;

pub fn read_and_prepare(data: &[u8], format: Format) {
    let options = ReadOptions::default();
    let Ok(raw) = RawTable::from_bytes("fuzz-input", data.to_vec(), format, &options) else {
        return;
    };
    for row in 0..raw.n_rows() {
        for column in &raw.columns {
            let _ = column.text_at(row);
        }
    }
    let Ok(table) = Table::infer(&raw, &ColumnSpec::default(), &[], &options) else {
        return;
    };
    let rows: Vec<usize> = (0..table.n_rows).collect();
    let Ok(preprocessor) = Preprocessor::fit(&table, &rows, 8) else {
        return;
    };
    let encoded = preprocessor
        .transform(&table)
        .expect("a table transforms with the preprocessor fitted on it");
    assert_eq!(encoded.cols, preprocessor.n_features());
    let _ = preprocessor.inverse_transform(&encoded);
}
