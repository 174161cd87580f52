#!/usr/bin/env bash
# Runs every test: formatting, clippy, the Rust tests, and the Python tests of mlops-py
# (in a virtualenv of its own, built with maturin). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo is needed: install Rust from https://rustup.rs" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy

# Every feature except the GPU backends (`cuda`, `wgpu`), which CI checks apart.
FEATURES="mlops-core/sqlite,mlops-core/conformance,mlops-core/burn"

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --features "$FEATURES" -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace --features "$FEATURES"
echo "== cargo test"
cargo test --workspace --features "$FEATURES"
echo "== GPU backends type-check: cuda, wgpu"
# No GPU is needed to check the code. DOCS_RS stops cubecl's LLVM bundler from downloading
# LLVM at build time (it is only needed to link the CUDA backend, not to check it).
DOCS_RS=1 cargo check --quiet -p mlops-core --features cuda
cargo check --quiet -p mlops-core --features wgpu

echo "== python tests"
VENV="${MLOPS_TEST_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2" "pytest>=8" \
  "numpy==2.4.6" "scikit-learn==1.9.1" "scipy==1.17.1" \
  "pyarrow==25.0.1" "pandas==3.1.1" "polars==2.1.0" "tritonclient[http]==2.73.0"
VIRTUAL_ENV="$(cd "$VENV" && pwd)" "$VENV/bin/maturin" develop --quiet -m mlops-py/Cargo.toml
"$VENV/bin/python" -m pytest -q mlops-py/tests
