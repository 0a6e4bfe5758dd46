#!/usr/bin/env bash
# Builds the release artifacts of the Python package into target/dist:
#   bash python/build_wheels.sh
# - a manylinux2014 wheel (glibc 2.17 and later, x86_64; one abi3 wheel for CPython 3.9+),
#   linked with zig (PyPI's ziglang) so that no Docker image is needed; the host's glibc alone
#   would tag it manylinux_2_34, which pip on most production Linux refuses;
# - the sdist, which `pip install synthad-VERSION.tar.gz` builds given a Rust toolchain.
# Build tools live in their own venv (target/build-venv); the wheel reuses target/'s compiled
# dependencies. RELEASING.md says what to do with the artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=target/build-venv
[ -x "$tools/bin/python" ] || python3 -m venv "$tools"
"$tools/bin/pip" install -q "maturin>=1.9.4,<2" "ziglang>=0.13,<0.16"
rm -rf target/dist
# maturin finds zig as `python -m ziglang` of the first python on PATH: the tools' venv.
(cd python && PATH="$root/$tools/bin:$PATH" CARGO_TARGET_DIR="$root/target" maturin build --release --locked \
  --zig --compatibility manylinux2014 --quiet -o "$root/target/dist")
(cd python && "$root/$tools/bin/maturin" sdist -o "$root/target/dist")
ls target/dist
