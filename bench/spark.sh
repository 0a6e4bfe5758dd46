#!/usr/bin/env bash
# Spark local[2] scoring against the CLI on the same Parquet file (bench/spark_compare.py; its
# arguments pass through):
#   bash bench/spark.sh [--rows 1000000] [--detectors gbt,auto] [--out FILE]
# Uses the Spark environment of python/spark.sh (target/spark-venv; builds it if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release
[ -x target/spark-venv/bin/python ] || bash python/spark.sh --co -q >/dev/null
bash python/install.sh >/dev/null
target/spark-venv/bin/pip install -q --force-reinstall --no-deps target/wheels/synthad-*.whl
export PYSPARK_PYTHON="$PWD/target/spark-venv/bin/python"
exec target/spark-venv/bin/python bench/spark_compare.py "$@"
