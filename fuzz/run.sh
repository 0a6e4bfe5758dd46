#!/usr/bin/env bash
# Coverage-guided fuzzing of synthad's readers and model loader (cargo fuzz / libFuzzer).
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Targets: read_csv read_parquet read_npz load_model (default: all four, one after the other).
# Needs a nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz
# (`cargo install cargo-fuzz`). Seeds: the committed ones in fuzz/seeds/, plus ones made here
# from ../shared/data (or $SYNTHAD_DATA) and from small models trained on it; the benchmark
# data itself is never copied into the repository, so those seeds are made on each run.
# Working corpora grow in fuzz/corpus/ and crashes land in fuzz/artifacts/ (both ignored by
# git); a crash found becomes a regression test in crates/synthad/tests/fuzz_regressions.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(read_csv read_parquet read_npz load_model)
data=${SYNTHAD_DATA:-../shared/data}

cargo build --release -q --bin synthad --example make_scoring_data -p synthad -p synthad-cli
bin=target/release/synthad
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds"/{read_csv,read_parquet,read_npz,load_model}
cp fuzz/seeds/read_csv/* "$seeds/read_csv/"
if [ -f "$data/thyroid/ann-train.data" ]; then
    head -n 30 "$data/thyroid/ann-train.data" > "$seeds/read_csv/thyroid.data"
    head -n 30 "$data/nsl-kdd/KDDTest+.txt" > "$seeds/read_csv/nsl-kdd.txt"
    head -n 10 "$data/arrhythmia/arrhythmia.data" > "$seeds/read_csv/arrhythmia.data"
    cp "$data/adbench/classical/14_glass.npz" "$seeds/read_npz/"
    # Models of every detector, trained in seconds on thyroid rows.
    head -n 400 "$data/thyroid/ann-train.data" > "$seeds/train.data"
    for detector in classifier deepsad abc drocc gbt iforest; do
        "$bin" train -q --data "$seeds/train.data" --label-column 21 --normal 3 --known 1 2 \
            --detector "$detector" --hidden 8 --max-epochs 2 --trees 3 \
            --model "$seeds/load_model/$detector.synthad"
    done
    # A model with a categorical column (nsl-kdd's protocol, service, flag).
    head -n 300 "$data/nsl-kdd/KDDTrain+_20Percent.txt" > "$seeds/nsl.txt"
    "$bin" train -q --data "$seeds/nsl.txt" --label-column 41 --ignore 42 --normal normal \
        --detector classifier --hidden 8 --max-epochs 2 --max-categories 6 \
        --model "$seeds/load_model/nsl.synthad"
    # auto's combined model (an ensemble of fold models of three detectors).
    "$bin" train -q --data "$seeds/nsl.txt" --label-column 41 --ignore 42 --normal normal \
        --known neptune --candidates iforest,gbt,deepsad --trees 3 --max-categories 6 \
        --model "$seeds/load_model/auto.synthad"
    rm "$seeds/train.data" "$seeds/nsl.txt"
else
    echo "note: no benchmark data at $data; fuzzing from the committed seeds only" >&2
fi
target/release/examples/make_scoring_data "$seeds/read_parquet/small.parquet" 40 2>/dev/null
cp "$seeds/read_parquet/small.parquet" "$seeds/read_parquet/small.pq"

for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: $seconds s" >&2
    (cd fuzz && cargo +nightly fuzz run -O "$target" "corpus/$target" "$seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=262144 -print_final_stats=1 \
        2>&1 | grep -E '^(stat::|INFO: (Running|Loaded|seed)|#[0-9]+ +DONE|==|SUMMARY|Done )' || true)
done
