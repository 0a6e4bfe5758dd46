#!/usr/bin/env bash
# synthad's Python package against the CLI and against PyOD, DeepOD and scikit-learn on the same
# rows (bench/python_compare.py; its arguments pass through):
#   bash bench/python.sh [--seed 0] [--rounds 3] [--scenarios nsl-kdd,thyroid,mvtec-cable] [--out FILE]
# Builds the CLI and the wheel, and a venv under target/torch-venv with torch (1.13: DeepOD 0.4.1
# needs it, and it needs numpy < 2), DeepOD, PyOD and the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/torch-venv
cargo build -q --release
bash python/install.sh >/dev/null
if ! "$venv/bin/python" -c "import torch, deepod, pyod" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q deepod pyod
fi
"$venv/bin/pip" install -q "numpy<2" "pandas<2.3" "scikit-learn<1.8" "pyarrow<21"
"$venv/bin/pip" install -q --force-reinstall --no-deps target/wheels/synthad-*.whl
exec "$venv/bin/python" bench/python_compare.py "$@"
