#!/usr/bin/env bash
# The demo of the README: a local database `derbes_demo` with the reference schema
# and ~1,000 synthetic borrowers, the derbes schema, and a check of the data map.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
cargo build --locked --quiet
derbes=./target/debug/derbes

psql -h 127.0.0.1 -U postgres -d postgres -qc 'DROP DATABASE IF EXISTS derbes_demo WITH (FORCE)' -c 'CREATE DATABASE derbes_demo'
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/derbes_demo?sslmode=disable"
export DERBES_MAP=examples/datamap.toml
export DERBES_OPERATOR=demo

set -x
$derbes sample init --borrowers 1000 --seed 42
$derbes migrate
$derbes map check
$derbes audit verify
