#!/usr/bin/env bash
# Builds the Python package from this checkout and installs it into a virtual environment,
# with what its tests and examples need:
#   bash python/install.sh [VENV]          (default VENV: .venv at the repository root)
# The bindings are built in the workspace's target folder, so the dependencies already built
# for the command line are reused (a fresh clone compiles them once, for both).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$(realpath -m "${1:-.venv}")
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade "pip>=23" "maturin>=1.9.4,<2"
"$venv/bin/pip" install -q "numpy>=1.21" "scikit-learn>=1.6" "scipy>=1.7" "pandas>=1.5" \
  "pyarrow>=10" "pytest>=7" "pyod>=2" "onnx>=1.16" "onnxruntime>=1.18"
rm -rf target/wheels
(cd python && CARGO_TARGET_DIR="$root/target" "$venv/bin/maturin" build --release --locked --quiet -o "$root/target/wheels")
"$venv/bin/pip" install -q --force-reinstall --no-deps target/wheels/synthad-*.whl
"$venv/bin/python" -c "import synthad; print('installed synthad', synthad.__version__, 'into $venv')"
