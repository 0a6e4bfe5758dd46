//! Writes a Parquet file of `rows` rows for scoring benchmarks: 20 numeric columns `x0..x19`,
//! a categorical column `kind` and a label `label` (normal / odd), from a fixed seed.
//!
//!     cargo run --release -p synthad --example make_scoring_data -- OUT.parquet ROWS

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BATCH: usize = 65_536;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .expect("usage: make_scoring_data OUT.parquet ROWS");
    let rows: usize = args
        .next()
        .expect("ROWS")
        .parse()
        .expect("ROWS is a number");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut writer = None;
    let mut written = 0;
    while written < rows {
        let n = BATCH.min(rows - written);
        let odd: Vec<bool> = (0..n).map(|_| rng.random_bool(0.02)).collect();
        let mut columns: Vec<(String, ArrayRef)> = (0..20)
            .map(|j| {
                let values = odd.iter().map(|&o| {
                    let base: f64 = rng.random_range(0.0..1.0);
                    if o && j % 4 == 0 {
                        base + 3.0
                    } else {
                        base
                    }
                });
                (
                    format!("x{j}"),
                    Arc::new(Float64Array::from_iter_values(values)) as ArrayRef,
                )
            })
            .collect();
        let kinds = (0..n).map(|_| ["a", "b", "c"][rng.random_range(0..3)]);
        columns.push((
            "kind".into(),
            Arc::new(StringArray::from_iter_values(kinds)),
        ));
        let labels = odd.iter().map(|&o| if o { "odd" } else { "normal" });
        columns.push((
            "label".into(),
            Arc::new(StringArray::from_iter_values(labels)),
        ));
        let batch = RecordBatch::try_from_iter(columns).expect("a batch");
        let w = writer.get_or_insert_with(|| {
            let file = std::fs::File::create(&out).expect("creating the output");
            parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("a writer")
        });
        w.write(&batch).expect("writing");
        written += n;
    }
    writer.expect("at least one row").close().expect("closing");
    eprintln!("wrote {rows} rows to {out}");
}
