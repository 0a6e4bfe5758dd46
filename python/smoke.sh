#!/usr/bin/env bash
# Installs a built wheel into fresh venvs of the oldest and the newest CPython 3.9-3.13 found
# on this machine (on PATH or under pyenv) and runs the README's Python example in each,
# checking that it prints what the README shows:
#   bash python/smoke.sh target/dist/synthad-*.whl
# Under CI=true, fewer than two Python versions is a failure; elsewhere it runs what it finds.
set -euo pipefail
cd "$(dirname "$0")/.."
wheel=$(realpath "$1")
found=()
for minor in 9 10 11 12 13; do
    for candidate in "$(command -v "python3.$minor" || true)" "$HOME"/.pyenv/versions/3."$minor".*/bin/python3; do
        if [ -x "$candidate" ] && "$candidate" -c 'import venv' 2>/dev/null; then
            found+=("$candidate")
            break
        fi
    done
done
if [ ${#found[@]} -lt 2 ]; then
    echo "smoke: found ${#found[@]} CPython 3.9-3.13 interpreter(s); two are needed" >&2
    [ "${CI:-}" = true ] && exit 1
fi
pythons=("${found[0]}")
[ ${#found[@]} -gt 1 ] && pythons+=("${found[-1]}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The README's Python example and the output it shows (as python/tests/test_readme.py reads them).
python3 - "$work" <<'PY'
import re, sys, pathlib
section = pathlib.Path("README.md").read_text().split("## From Python", 1)[1]
blocks = re.findall(r"```(\w*)\n(.*?)```", section, re.S)
at = [language for language, _ in blocks].index("python")
pathlib.Path(sys.argv[1], "example.py").write_text(blocks[at][1])
pathlib.Path(sys.argv[1], "shown.txt").write_text(blocks[at + 1][1])
PY
for python in "${pythons[@]}"; do
    version=$("$python" -c 'import platform; print(platform.python_version())')
    venv="$work/venv-$version"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q "$wheel"
    (cd "$work" && "$venv/bin/python" example.py > "printed-$version.txt")
    if ! diff -u "$work/shown.txt" "$work/printed-$version.txt"; then
        echo "smoke: Python $version printed other output than the README shows" >&2
        exit 1
    fi
    echo "smoke: Python $version: $(basename "$wheel") installs and the README example prints as shown"
done
