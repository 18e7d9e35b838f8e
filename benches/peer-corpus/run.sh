#!/usr/bin/env bash
# Runs schema-core's plans over pg-schema-diff's acceptance cases (release build) against
# $DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres). The argument (or
# $PG_SCHEMA_DIFF) is a pg-schema-diff checkout or bare git directory; -v lists every case
# that does not pass.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec cargo run --release --manifest-path benches/peer-corpus/Cargo.toml -- "$@"
