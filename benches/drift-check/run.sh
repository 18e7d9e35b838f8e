#!/usr/bin/env bash
# Runs the drift-check benchmark (release build) against $DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres). RUNS=5 by default.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec cargo run --release --manifest-path benches/drift-check/Cargo.toml "$@"
