#!/usr/bin/env bash
# The test command of the README: every test against the local PostgreSQL
# (each test in its own scratch database, dropped afterwards), and the report page
# drawn in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
# The report page's test needs Chromium; installed here only where we may (root), as
# CI does; elsewhere the test says how to install it.
if [ "$(id -u)" -eq 0 ] && ! command -v chromium >/dev/null; then
    bash scripts/ensure-chromium.sh
fi
cargo test --locked "$@"
