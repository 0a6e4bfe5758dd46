#!/usr/bin/env bash
# ONNX Runtime on exported models against synthad on the same rows and threads
# (bench/onnx_compare.py; its arguments pass through):
#   bash bench/onnx.sh [--rows 200000] [--threads 1,2] [--rounds 3] [--out FILE]
# Builds the CLI and installs the Python package (with onnxruntime) into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release
bash python/install.sh >/dev/null
exec .venv/bin/python bench/onnx_compare.py "$@"
