#!/usr/bin/env bash
# Peak memory of `synthad score` on generated Parquet files of 1M and 5M rows (same model):
# scoring reads, scores and writes 65,536 rows at a time, so the peak should not grow with rows.
#   bash bench/scoring_memory.sh [workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-target/scoring-memory}
mkdir -p "$work"
cargo build -q --release
cargo build -q --release -p synthad --example make_scoring_data
gen=./target/release/examples/make_scoring_data
[ -f "$work/train.parquet" ] || "$gen" "$work/train.parquet" 20000
for rows in 1000000 5000000; do
  [ -f "$work/rows-$rows.parquet" ] || "$gen" "$work/rows-$rows.parquet" "$rows"
done
./target/release/synthad train -q --data "$work/train.parquet" --label-column label --normal normal \
  --known odd --model "$work/model.synthad"
for rows in 1000000 5000000; do
  /usr/bin/time -f "rows $rows: peak RSS %M KiB, %e s" ./target/release/synthad score \
    --model "$work/model.synthad" --data "$work/rows-$rows.parquet" --out "$work/scores-$rows.csv"
done
