#!/usr/bin/env bash
# Benchmark of `derbes archive dump` against the shell pipeline it replaces:
#
#   psql -c "\copy (SELECT ...) to stdout (format csv, header)" | age -r KEY > file
#
# on the same rows of server_logs in the same run: MB/s of each (MB of CSV per
# second), the ratio, and the peak RSS of each (/usr/bin/time -v). derbes' figure
# includes everything it does beyond the pipeline: the tar, per-member SHA-256, the
# whole-file digest, and reading the file back and checking it before cataloguing.
#
# Uses (or creates) the database $BENCH_DB (default derbes_bench) with
# `derbes sample init --borrowers $BENCH_BORROWERS` (default 1000000, ~20M log
# rows). Set BENCH_ROWS to dump only the oldest N log rows (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DB=${BENCH_DB:-derbes_bench}
BENCH_BORROWERS=${BENCH_BORROWERS:-1000000}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
export PGDATABASE=$BENCH_DB
export DATABASE_URL="host=$PGHOST user=$PGUSER dbname=$BENCH_DB"
export DERBES_MAP=examples/datamap.toml DERBES_OPERATOR=bench

cargo build --release --quiet
DERBES=$PWD/target/release/derbes

if ! psql -Atqc "SELECT 1" "$BENCH_DB" >/dev/null 2>&1; then
    createdb "$BENCH_DB"
    "$DERBES" sample init --borrowers "$BENCH_BORROWERS" >/dev/null
fi
"$DERBES" migrate >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/derbes-bench-archive.XXXXXX")
trap 'rm -rf "$work"' EXIT
age-keygen -o "$work/key.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/key.txt")

# The same rows for both: everything older than a cut-off; with BENCH_ROWS, the
# cut-off is chosen so that the oldest BENCH_ROWS rows are selected.
if [[ -n "${BENCH_ROWS:-}" ]]; then
    cutoff=$(psql -Atqc "SELECT logged_at FROM server_logs ORDER BY logged_at OFFSET $BENCH_ROWS LIMIT 1")
else
    cutoff=$(psql -Atqc "SELECT max(logged_at) + interval '1 second' FROM server_logs")
fi
cutoff_iso=$(psql -Atqc "SELECT to_char('$cutoff'::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
columns=$(psql -Atqc "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                      WHERE attrelid = 'server_logs'::regclass AND attnum > 0 AND NOT attisdropped")
rows=$(psql -Atqc "SELECT count(*) FROM server_logs WHERE logged_at < '$cutoff_iso'")

peak_rss() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }
seconds() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$1"; }

# Warm the cache once so neither run pays for the first read from disk.
psql -qc "\copy (SELECT $columns FROM server_logs WHERE logged_at < '$cutoff_iso') to /dev/null (format csv, header)"

/usr/bin/time -v -o "$work/pipe.time" bash -c \
    "psql -qc \"\\copy (SELECT $columns FROM server_logs t0 WHERE t0.logged_at < '$cutoff_iso') to stdout (format csv, header)\" | age -r $recipient > $work/pipe.age"
/usr/bin/time -v -o "$work/derbes.time" "$DERBES" -q --format json archive dump \
    --table server_logs --where-older-than "$cutoff_iso" --keep 1d \
    -r "$recipient" --out "$work/derbes.age" > "$work/derbes.json"

csv_bytes=$(age -d -i "$work/key.txt" "$work/pipe.age" | wc -c)
pipe_s=$(seconds "$work/pipe.time")
derbes_s=$(seconds "$work/derbes.time")
archived=$(python3 -c "import json,sys; print(json.load(open('$work/derbes.json'))['rows'])")

awk -v bytes="$csv_bytes" -v rows="$rows" -v archived="$archived" \
    -v pipe_s="$pipe_s" -v derbes_s="$derbes_s" \
    -v pipe_rss="$(peak_rss "$work/pipe.time")" -v derbes_rss="$(peak_rss "$work/derbes.time")" \
    -v pipe_file="$(stat -c %s "$work/pipe.age")" -v derbes_file="$(stat -c %s "$work/derbes.age")" 'BEGIN {
    mb = bytes / 1e6
    printf "rows: %d of server_logs (derbes archived %d), %.1f MB of CSV\n", rows, archived, mb
    printf "%-34s %8s %10s %14s %12s\n", "", "seconds", "MB/s", "peak RSS (MB)", "file (MB)"
    printf "%-34s %8.2f %10.1f %14s %12.1f\n", "psql \\copy | age -r", pipe_s, mb / pipe_s, pipe_rss " (age)", pipe_file / 1e6
    printf "%-34s %8.2f %10.1f %14s %12.1f\n", "derbes archive dump (+ read-back)", derbes_s, mb / derbes_s, derbes_rss, derbes_file / 1e6
    printf "ratio derbes / pipeline: %.2fx (goal >= 0.9x); derbes peak RSS goal <= 64 MB\n", pipe_s / derbes_s
}'
# Peak RSS of the pipeline: /usr/bin/time reports the largest process of the
# pipeline (bash, psql or age), not their sum.
"$DERBES" archive verify -q -i "$work/key.txt" "$work/derbes.age" >/dev/null
echo "derbes archive verify: intact"
