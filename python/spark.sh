#!/usr/bin/env bash
# The Spark suite (python/tests_spark) in its own environment, target/spark-venv: pyspark 4
# wants pandas < 3, which the main .venv does not pin. Needs a Java runtime (17); where none is
# found and apt-get can run, openjdk-17-jre-headless is installed from Debian's packages.
#   bash python/spark.sh [PYTEST ARGS]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null && [ -z "${JAVA_HOME:-}" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q openjdk-17-jre-headless >/dev/null
  else
    echo "Spark needs a Java runtime: apt-get install openjdk-17-jre-headless" >&2
    exit 1
  fi
fi
venv=target/spark-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "pyspark>=4,<5" "pandas>=2,<3" "pyarrow>=15" "numpy>=1.21" \
  "scikit-learn>=1.6" "pytest>=7"
bash python/install.sh >/dev/null   # builds the wheel from this checkout (incremental)
"$venv/bin/pip" install -q --force-reinstall --no-deps target/wheels/synthad-*.whl
export PYSPARK_PYTHON="$PWD/$venv/bin/python"
exec "$venv/bin/pytest" -q python/tests_spark "$@"
