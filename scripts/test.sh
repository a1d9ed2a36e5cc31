#!/usr/bin/env bash
# The test command of the README: every test against the local PostgreSQL
# (each test in its own scratch database, dropped afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
cargo test --locked "$@"
