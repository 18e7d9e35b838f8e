#!/usr/bin/env bash
# Compile-cost benchmark of schema-core against Diesel, SeaORM, drizzle-rs, serde and plain
# structs, on the same 41-table schema. Not part of the test suite. See README.md.
#
#   benches/compile-time/run.sh                       # all variants, RUNS=5
#   RUNS=3 VARIANTS=schema-core,serde,diesel benches/compile-time/run.sh
#
# Environment: RUNS, VARIANTS, TABLES, CLEAN, INCREMENTAL, BENCH_DIR, GENERATE_ONLY
# (documented at the top of bench.py). The table goes to stdout, progress to stderr.
set -euo pipefail
if ! command -v cargo >/dev/null 2>&1 && [[ -x "${HOME:-/root}/.cargo/bin/cargo" ]]; then
    PATH="${HOME:-/root}/.cargo/bin:$PATH"
fi
exec python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" "$@"
