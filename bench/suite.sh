#!/usr/bin/env bash
# The performance suite of docs/performance.md in one run, fixed seeds throughout:
#   1-2. training and scoring throughput vs PyTorch on the nsl-kdd rows, 1 and 2 threads
#        (bench/compare.sh, f32; and bf16 where the CPU has AVX512-BF16);
#   3.   peak memory of training on nsl-kdd, and of scoring 1M vs 5M Parquet rows;
#   4.   wall time of `synthad bench nsl-kdd --seeds 0-4`.
#   bash bench/suite.sh [rounds]     (3.5 minutes on 2 cores with 1 round, once
#   bench/scoring_memory.sh has generated its Parquet files; each round more adds a minute)
# Needs the benchmark data ($SYNTHAD_DATA, else ../shared/data) and network access once, for
# the PyTorch venv.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
data=${SYNTHAD_DATA:-../shared/data}
cargo build -q --release

echo "== 1-2. throughput vs PyTorch, f32"
bash bench/compare.sh "$rounds" f32 | grep -E "^(synthad|torch|ratios)"
if grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null; then
  echo "== 1-2. throughput vs PyTorch, bf16"
  bash bench/compare.sh "$rounds" bf16 | grep -E "^(synthad|torch|ratios)"
fi

echo "== 3. peak memory"
model=$(mktemp -d)/nsl.synthad
/usr/bin/time -f "training on nsl-kdd: peak RSS %M KiB, %e s" ./target/release/synthad train -q \
  --data "$data/nsl-kdd/KDDTrain+_20Percent.txt" --label-column 41 --ignore 42 \
  --normal normal --known back land neptune pod smurf teardrop --known-fraction 0.1 \
  --model "$model" > /dev/null
bash bench/scoring_memory.sh

echo "== 4. synthad bench nsl-kdd --seeds 0-4"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" ./target/release/synthad bench nsl-kdd \
  --seeds 0-4 -q --data-dir "$data" --plots "$(mktemp -d)" | tail -1
