#!/usr/bin/env bash
# Benchmark of `derbes archive dump` against the shell pipeline it replaces:
#
#   psql -c "\copy (SELECT ...) to stdout (format csv, header)" | age -r KEY > file
#
# and against a bare `\copy ... to /dev/null` (what reading the rows alone costs), on
# the same rows of server_logs in the same run. Each side's MB/s is computed from its
# own CSV bytes (the pipeline's decrypted output; the CSV members of derbes' tar,
# whose parts each repeat the header). The script fails unless derbes archived
# exactly the rows the pipeline read. derbes' figure includes everything it does
# beyond the pipeline: the tar, per-member SHA-256, the whole-file digest, and reading
# the file back and checking it before cataloguing.
#
# The sides alternate, BENCH_RUNS times (default 3); every figure and the ratio are
# printed as median (min, max). Peak RSS is the largest of the runs.
#
# Uses (or creates) the database $BENCH_DB (default derbes_bench) with
# `derbes sample init --borrowers $BENCH_BORROWERS` (default 1000000, ~20M log
# rows). Set BENCH_ROWS to dump only the oldest N log rows (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh

BENCH_DB=${BENCH_DB:-derbes_bench}
BENCH_BORROWERS=${BENCH_BORROWERS:-1000000}
runs=${BENCH_RUNS:-3}
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

select="SELECT $columns FROM server_logs t0 WHERE t0.logged_at < '$cutoff_iso'"
# Warm the cache once so no run pays for the first read from disk.
psql -qc "\copy ($select) to /dev/null (format csv, header)"

pipe_s=() derbes_s=() copy_s=() pipe_mbs=() derbes_mbs=() copy_mbs=()
pipe_rss=0 derbes_rss=0
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.2f", (s > 0) ? b / 1e6 / s : 0 }'; }

run_pipe() {
    /usr/bin/time -v -o "$work/pipe.time" bash -c \
        "set -o pipefail; psql -qc \"\\copy ($select) to stdout (format csv, header)\" | age -r $recipient > $work/pipe.age" \
        || { echo "the psql | age pipeline failed" >&2; exit 1; }
    # Its own bytes and rows: the decrypted CSV (header line excluded from the rows).
    age -d -i "$work/key.txt" "$work/pipe.age" | python3 -c '
import csv, io, sys
class Counted(io.RawIOBase):
    def __init__(self, raw): self.raw, self.bytes = raw, 0
    def readable(self): return True
    def readinto(self, buffer):
        data = self.raw.read1(len(buffer)); buffer[:len(data)] = data
        self.bytes += len(data); return len(data)
counted = Counted(sys.stdin.buffer)
text = io.TextIOWrapper(io.BufferedReader(counted, 1 << 20), encoding="utf-8", newline="")
rows = sum(1 for _ in csv.reader(text)) - 1
print(counted.bytes, rows)' > "$work/pipe.count"
    read -r pipe_bytes pipe_rows < "$work/pipe.count"
    if [ "$pipe_rows" -ne "$rows" ]; then
        echo "the pipeline read $pipe_rows rows, the table holds $rows before the cut-off" >&2
        exit 1
    fi
    local s; s=$(seconds "$work/pipe.time")
    pipe_s+=("$s"); pipe_mbs+=("$(mbs "$pipe_bytes" "$s")")
    pipe_rss=$(max "$pipe_rss" "$(peak_rss "$work/pipe.time")")
    rm -f "$work/pipe.age"
}

run_derbes() {
    local out="$work/derbes-$1.age" s archived bytes
    /usr/bin/time -v -o "$work/derbes.time" "$DERBES" -q --format json archive dump \
        --table server_logs --where-older-than "$cutoff_iso" --keep 1d \
        --ticket BENCH --yes -r "$recipient" --out "$out" > "$work/derbes.json" \
        || { echo "derbes archive dump failed" >&2; exit 1; }
    archived=$(python3 -c "import json; print(json.load(open('$work/derbes.json'))['rows'])")
    if [ "$archived" -ne "$rows" ]; then
        echo "derbes archived $archived rows, the pipeline read $rows" >&2
        exit 1
    fi
    # Its own bytes: the CSV members of the tar inside the age file.
    bytes=$(age -d -i "$work/key.txt" "$out" | python3 -c '
import sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as tar:
    print(sum(m.size for m in tar if m.name.endswith(".csv")))')
    s=$(seconds "$work/derbes.time")
    derbes_s+=("$s"); derbes_mbs+=("$(mbs "$bytes" "$s")")
    derbes_rss=$(max "$derbes_rss" "$(peak_rss "$work/derbes.time")")
    derbes_file=$(stat -c %s "$out")
    if [ "$1" -eq "$runs" ]; then
        "$DERBES" archive verify -q -i "$work/key.txt" "$out" >/dev/null \
            || { echo "derbes archive verify failed" >&2; exit 1; }
    fi
    rm -f "$out"
}

run_copy() {
    /usr/bin/time -v -o "$work/copy.time" psql -qc "\copy ($select) to /dev/null (format csv, header)" \
        || { echo "psql \\copy failed" >&2; exit 1; }
    local s; s=$(seconds "$work/copy.time")
    copy_s+=("$s"); copy_mbs+=("$(mbs "$pipe_bytes" "$s")")
}

for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) -eq 1 ]; then run_pipe; run_derbes "$i"; else run_derbes "$i"; run_pipe; fi
    run_copy
done

echo "rows: $rows of server_logs (derbes archived the same), CSV: $(awk -v b="$pipe_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB from psql"
stat_line "psql \\copy to /dev/null: seconds" s %.2f "${copy_s[@]}"
stat_line "psql \\copy to /dev/null: MB/s" MB/s %.1f "${copy_mbs[@]}"
stat_line "psql \\copy | age -r: seconds" s %.2f "${pipe_s[@]}"
stat_line "psql \\copy | age -r: MB/s" MB/s %.1f "${pipe_mbs[@]}"
stat_line "derbes archive dump: seconds" s %.2f "${derbes_s[@]}"
stat_line "derbes archive dump: MB/s" MB/s %.1f "${derbes_mbs[@]}"
mapfile -t ratio < <(ratios "${derbes_mbs[*]}" "${pipe_mbs[*]}")
stat_line "ratio derbes / pipeline MB/s (goal>=0.9)" x %.2f "${ratio[@]}"
mapfile -t ratio_copy < <(ratios "${derbes_mbs[*]}" "${copy_mbs[*]}")
stat_line "ratio derbes / bare \\copy MB/s" x %.2f "${ratio_copy[@]}"
# Peak RSS of the pipeline: /usr/bin/time reports the largest process of the
# pipeline (bash, psql or age), not their sum.
echo "peak RSS: derbes ${derbes_rss} MB (goal <= 64 MB), pipeline ${pipe_rss} MB (largest process); derbes file $(awk -v b="$derbes_file" 'BEGIN { printf "%.1f", b / 1e6 }') MB"
echo "derbes archive verify: intact"
