#!/usr/bin/env bash
# Side-by-side throughput: synthad vs PyTorch (CPU) on the same network, loss, optimizer, batch
# and rows, at 1 and 2 threads, alternating so both see the same machine state.
#   bash bench/compare.sh [rounds] [f32|bf16] [nsl-kdd|random]
# nsl-kdd (the default): the scenario's training rows (seed 0, synthetic mode) and test rows,
# exported by synthad for PyTorch. random: uniform random rows of the same shape, where every
# row keeps a gradient (see crates/synthad/examples/throughput.rs).
# bf16: synthad's --precision bf16 against PyTorch under torch.autocast(bfloat16), and against
# PyTorch in f32 (the ratios print both).
# Sets up a venv with torch and numpy from PyPI under target/torch-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
precision=${2:-f32}
problem=${3:-nsl-kdd}
venv=target/torch-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy
fi
cargo build -q --release -p synthad --example throughput
data=random
if [ "$problem" = nsl-kdd ]; then
  data=target/throughput/nsl-kdd.npz
  mkdir -p target/throughput
  ./target/release/examples/throughput export "$data"
fi
for round in $(seq "$rounds"); do
  for threads in 1 2; do
    ours=$(./target/release/examples/throughput "$threads" 5 "$precision" "$problem")
    theirs=$("$venv/bin/python" bench/pytorch_reference.py --data "$data" --threads "$threads" --epochs 5)
    echo "round $round"
    echo "$ours"
    echo "$theirs"
    if [ "$precision" = bf16 ]; then
      theirs_bf16=$("$venv/bin/python" bench/pytorch_reference.py --data "$data" --threads "$threads" --epochs 5 --bf16)
      echo "$theirs_bf16"
    fi
    # Ratios synthad / PyTorch: training vs the in-memory loop and vs the DataLoader, scoring.
    num() { grep -oE "$1 [0-9]+" <<<"$2" | grep -oE '[0-9]+$' | head -1; }
    awk -v t="$threads" -v a="$(num 'training' "$ours")" -v b="$(num 'in-memory' "$theirs")" \
        -v c="$(num 'DataLoader' "$theirs")" -v d="$(num 'scoring' "$ours")" -v e="$(num 'scoring' "$theirs")" \
        'BEGIN { printf "ratios to PyTorch f32 at %d threads: training %.2fx in-memory, %.2fx DataLoader; scoring %.2fx no_grad\n", t, a/b, a/c, d/e }'
    if [ "$precision" = bf16 ]; then
      awk -v t="$threads" -v a="$(num 'training' "$ours")" -v b="$(num 'in-memory' "$theirs_bf16")" \
          -v d="$(num 'scoring' "$ours")" -v e="$(num 'scoring' "$theirs_bf16")" \
          'BEGIN { printf "ratios to PyTorch bf16 autocast at %d threads: training %.2fx in-memory; scoring %.2fx no_grad\n", t, a/b, d/e }'
    fi
  done
done
