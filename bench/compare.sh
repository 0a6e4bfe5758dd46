#!/usr/bin/env bash
# Side-by-side throughput: synthad vs PyTorch (CPU) on the same network, loss, optimizer, batch
# and problem shape, at 1 and 2 threads, alternating so both see the same machine state.
#   bash bench/compare.sh [rounds]
# Sets up a venv with torch and numpy from PyPI under target/torch-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
venv=target/torch-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy
fi
cargo build -q --release -p synthad --example throughput
for round in $(seq "$rounds"); do
  for threads in 1 2; do
    ours=$(./target/release/examples/throughput "$threads" 5)
    theirs=$("$venv/bin/python" bench/pytorch_reference.py --threads "$threads" --epochs 5)
    echo "round $round"
    echo "$ours"
    echo "$theirs"
    # Ratios synthad / PyTorch: training vs the in-memory loop and vs the DataLoader, scoring.
    num() { grep -oE "$1 [0-9]+" <<<"$2" | grep -oE '[0-9]+$' | head -1; }
    awk -v t="$threads" -v a="$(num 'training' "$ours")" -v b="$(num 'in-memory' "$theirs")" \
        -v c="$(num 'DataLoader' "$theirs")" -v d="$(num 'scoring' "$ours")" -v e="$(num 'scoring' "$theirs")" \
        'BEGIN { printf "ratios at %d threads: training %.2fx in-memory, %.2fx DataLoader; scoring %.2fx no_grad\n", t, a/b, a/c, d/e }'
  done
done
