#!/usr/bin/env bash
# Benchmark of `derbes archive dump`, single-stream (`--jobs 1`) and parallel
# (`--jobs N`), against what an operator would otherwise run, on the same rows of
# server_logs in the same run, then of `derbes archive restore --jobs 1` against
# `--jobs N` of the last archive into a side schema (`--into bench_restore`, dropped
# before each run; the restore's time includes its verification pass, so the file
# is read twice; MB/s from the same CSV bytes). The dump's sides:
#
#   psql -c "\copy (SELECT ...) to /dev/null (format csv, header)"   (one bare COPY)
#   psql -c "\copy (SELECT ...) to stdout (format csv, header)" | age -r KEY > file
#   pg_dump -Fd -j N --data-only -Z 0 -t 'server_logs*'   (unencrypted, unverified)
#
# MB/s is computed from the CSV bytes of the rows (the pipeline's decrypted
# output) for every side, so ratios are ratios of time for the same rows
# (pg_dump's text format is about the CSV's size). The script fails unless derbes
# archived exactly the rows the pipeline read. derbes' figures include everything
# it does beyond the others: the tar, per-member SHA-256, age, the whole-file
# digest, and reading the file back and checking it before cataloguing.
#
# The sides alternate, BENCH_RUNS times (default 3); every figure and the ratio are
# printed as median (min, max). Peak RSS is the largest of the runs (of the largest
# process, for the pipeline and pg_dump).
#
# Uses (or creates) the database $BENCH_DB (default derbes_bench) with
# `derbes sample init --borrowers $BENCH_BORROWERS` (default 1000000, ~20M log
# rows). BENCH_JOBS is N (default: the number of cores). Set BENCH_ROWS to dump
# only the oldest N log rows (default: all); pg_dump cannot select rows, so it is
# then left out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh

BENCH_DB=${BENCH_DB:-derbes_bench}
BENCH_BORROWERS=${BENCH_BORROWERS:-1000000}
runs=${BENCH_RUNS:-3}
jobs=${BENCH_JOBS:-$(nproc)}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
export PGDATABASE=$BENCH_DB
export DATABASE_URL="host=$PGHOST user=$PGUSER dbname=$BENCH_DB"
export DERBES_MAP=examples/datamap.toml DERBES_OPERATOR=bench

bench_binary
borrowers=$(bench_sample_db "host=$PGHOST user=$PGUSER" "$BENCH_DB" "$BENCH_BORROWERS")

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

pipe_s=() copy_s=() pipe_mbs=() copy_mbs=() pgdump_s=() pgdump_mbs=()
derbes1_s=() derbes1_mbs=() derbesN_s=() derbesN_mbs=()
restore1_s=() restore1_mbs=() restoreN_s=() restoreN_mbs=() pgrestore_s=() pgrestore_mbs=()
pipe_rss=0 derbes1_rss=0 derbesN_rss=0 pgdump_rss=0 restore1_rss=0 restoreN_rss=0 pgrestore_rss=0
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

# run_derbes RUN JOBS: one `archive dump --jobs JOBS`, into the derbes1_* or
# derbesN_* figures.
run_derbes() {
    local out="$work/derbes-$1.age" s archived side
    side=$([ "$2" -eq 1 ] && echo derbes1 || echo derbesN)
    # shellcheck disable=SC2178 # namerefs to the arrays
    local -n side_s="${side}_s" side_mbs="${side}_mbs" side_rss="${side}_rss"
    /usr/bin/time -v -o "$work/derbes.time" "$DERBES" -q --format json archive dump \
        --table server_logs --where-older-than "$cutoff_iso" --keep 1d --jobs "$2" \
        --ticket BENCH --yes -r "$recipient" --out "$out" > "$work/derbes.json" \
        || { echo "derbes archive dump --jobs $2 failed" >&2; exit 1; }
    archived=$(python3 -c "import json; print(json.load(open('$work/derbes.json'))['rows'])")
    if [ "$archived" -ne "$rows" ]; then
        echo "derbes --jobs $2 archived $archived rows, the pipeline read $rows" >&2
        exit 1
    fi
    s=$(seconds "$work/derbes.time")
    side_s+=("$s"); side_mbs+=("$(mbs "$pipe_bytes" "$s")")
    side_rss=$(max "$side_rss" "$(peak_rss "$work/derbes.time")")
    derbes_file=$(stat -c %s "$out")
    if [ "$1" -eq "$runs" ]; then
        "$DERBES" archive verify -q -i "$work/key.txt" "$out" >/dev/null \
            || { echo "derbes archive verify failed" >&2; exit 1; }
        mv "$out" "$work/restore.age" # what the restore runs load
    fi
    rm -f "$out"
}

# run_restore JOBS: one `archive restore --jobs JOBS --into bench_restore` of the
# last archive, into the restore1_* or restoreN_* figures.
run_restore() {
    local s loaded side
    side=$([ "$1" -eq 1 ] && echo restore1 || echo restoreN)
    # shellcheck disable=SC2178 # namerefs to the arrays
    local -n side_s="${side}_s" side_mbs="${side}_mbs" side_rss="${side}_rss"
    psql -qc "DROP SCHEMA IF EXISTS bench_restore CASCADE" 2>/dev/null
    /usr/bin/time -v -o "$work/restore.time" "$DERBES" -q --format json archive restore \
        "$work/restore.age" -i "$work/key.txt" --into bench_restore --jobs "$1" \
        --ticket BENCH --yes > "$work/restore.json" \
        || { echo "derbes archive restore --jobs $1 failed" >&2; exit 1; }
    loaded=$(python3 -c "import json; print(json.load(open('$work/restore.json'))['rows'])")
    if [ "$loaded" -ne "$rows" ]; then
        echo "derbes restore --jobs $1 loaded $loaded rows, the archive holds $rows" >&2
        exit 1
    fi
    s=$(seconds "$work/restore.time")
    side_s+=("$s"); side_mbs+=("$(mbs "$pipe_bytes" "$s")")
    side_rss=$(max "$side_rss" "$(peak_rss "$work/restore.time")")
}

run_pgdump() {
    [ -n "${BENCH_ROWS:-}" ] && return 0
    rm -rf "$work/pgdump"
    /usr/bin/time -v -o "$work/pgdump.time" pg_dump -Fd -j "$jobs" --data-only -Z 0 \
        -t 'public.server_logs*' -f "$work/pgdump" "$BENCH_DB" \
        || { echo "pg_dump failed" >&2; exit 1; }
    local s; s=$(seconds "$work/pgdump.time")
    pgdump_s+=("$s"); pgdump_mbs+=("$(mbs "$pipe_bytes" "$s")")
    pgdump_rss=$(max "$pgdump_rss" "$(peak_rss "$work/pgdump.time")")
    rm -rf "$work/pgdump"
}

run_copy() {
    /usr/bin/time -v -o "$work/copy.time" psql -qc "\copy ($select) to /dev/null (format csv, header)" \
        || { echo "psql \\copy failed" >&2; exit 1; }
    local s; s=$(seconds "$work/copy.time")
    copy_s+=("$s"); copy_mbs+=("$(mbs "$pipe_bytes" "$s")")
}

for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) -eq 1 ]; then
        run_pipe; run_derbes "$i" 1; run_derbes "$i" "$jobs"; run_pgdump
    else
        run_pgdump; run_derbes "$i" "$jobs"; run_derbes "$i" 1; run_pipe
    fi
    run_copy
done
# The restore's baseline: `pg_restore -j N --data-only` of the same rows into the same
# table (the side table derbes creates, LIKE server_logs: no indexes), emptied before
# each run. Its input is a directory-format dump of the rows derbes restored
# (`pg_dump -Fd -Z 0 --data-only -n bench_restore`, made once); pg_restore runs one
# COPY per table, so with one table its -j N gives one stream.
run_pgrestore() {
    local s loaded
    if [ ! -d "$work/restore-dump" ]; then
        pg_dump -Fd -Z 0 --data-only -n bench_restore -f "$work/restore-dump" "$BENCH_DB" \
            || { echo "pg_dump of the restored rows failed" >&2; exit 1; }
    fi
    psql -qc "DO \$\$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(oid::regclass::text, ', ')
                FROM pg_class WHERE relnamespace = 'bench_restore'::regnamespace AND relkind = 'r'); END \$\$"
    /usr/bin/time -v -o "$work/pgrestore.time" pg_restore -j "$jobs" --data-only -d "$BENCH_DB" "$work/restore-dump" \
        || { echo "pg_restore failed" >&2; exit 1; }
    loaded=$(psql -Atqc "SELECT sum((xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM ' || oid::regclass, false, true, '')))[1]::text::bigint)
                         FROM pg_class WHERE relnamespace = 'bench_restore'::regnamespace AND relkind = 'r'")
    if [ "$loaded" -ne "$rows" ]; then
        echo "pg_restore loaded $loaded rows, the archive holds $rows" >&2
        exit 1
    fi
    s=$(seconds "$work/pgrestore.time")
    pgrestore_s+=("$s"); pgrestore_mbs+=("$(mbs "$pipe_bytes" "$s")")
    pgrestore_rss=$(max "$pgrestore_rss" "$(peak_rss "$work/pgrestore.time")")
}
for i in $(seq 1 "$runs"); do
    # pg_restore fills the side table the derbes run before it left (never first).
    if [ $((i % 2)) -eq 1 ]; then
        run_restore 1; run_restore "$jobs"; run_pgrestore
    else
        run_restore "$jobs"; run_pgrestore; run_restore 1
    fi
done
psql -qc "DROP SCHEMA IF EXISTS bench_restore CASCADE" 2>/dev/null

echo "rows: $rows of server_logs (derbes archived the same), CSV: $(awk -v b="$pipe_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB from psql; N = $jobs jobs on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
stat_line "psql \\copy to /dev/null: seconds" s %.2f "${copy_s[@]}"
stat_line "psql \\copy to /dev/null: MB/s" MB/s %.1f "${copy_mbs[@]}"
stat_line "psql \\copy | age -r: seconds" s %.2f "${pipe_s[@]}"
stat_line "psql \\copy | age -r: MB/s" MB/s %.1f "${pipe_mbs[@]}"
if [ -z "${BENCH_ROWS:-}" ]; then
    stat_line "pg_dump -Fd -j $jobs -Z 0: seconds" s %.2f "${pgdump_s[@]}"
    stat_line "pg_dump -Fd -j $jobs -Z 0: MB/s" MB/s %.1f "${pgdump_mbs[@]}"
fi
stat_line "derbes archive dump --jobs 1: seconds" s %.2f "${derbes1_s[@]}"
stat_line "derbes archive dump --jobs 1: MB/s" MB/s %.1f "${derbes1_mbs[@]}"
stat_line "derbes archive dump --jobs $jobs: seconds" s %.2f "${derbesN_s[@]}"
stat_line "derbes archive dump --jobs $jobs: MB/s" MB/s %.1f "${derbesN_mbs[@]}"
mapfile -t ratio < <(ratios "${derbesN_mbs[*]}" "${derbes1_mbs[*]}")
stat_line "ratio derbes --jobs $jobs / --jobs 1" x %.2f "${ratio[@]}"
if [ -z "${BENCH_ROWS:-}" ]; then
    mapfile -t ratio < <(ratios "${derbesN_mbs[*]}" "${pgdump_mbs[*]}")
    stat_line "ratio derbes --jobs $jobs / pg_dump -j $jobs (goal>=0.9)" x %.2f "${ratio[@]}"
fi
mapfile -t ratio < <(ratios "${derbes1_mbs[*]}" "${pipe_mbs[*]}")
stat_line "ratio derbes --jobs 1 / pipeline" x %.2f "${ratio[@]}"
mapfile -t ratio < <(ratios "${derbesN_mbs[*]}" "${copy_mbs[*]}")
stat_line "ratio derbes --jobs $jobs / bare \\copy" x %.2f "${ratio[@]}"
echo "peak RSS: derbes --jobs 1 ${derbes1_rss} MB, --jobs $jobs ${derbesN_rss} MB (goal <= 64 MB per job), pipeline ${pipe_rss} MB, pg_dump ${pgdump_rss} MB (largest process); derbes file $(awk -v b="$derbes_file" 'BEGIN { printf "%.1f", b / 1e6 }') MB"
echo "derbes archive verify: intact"
stat_line "derbes archive restore --jobs 1 --into: seconds" s %.2f "${restore1_s[@]}"
stat_line "derbes archive restore --jobs 1 --into: MB/s" MB/s %.1f "${restore1_mbs[@]}"
stat_line "derbes archive restore --jobs $jobs --into: seconds" s %.2f "${restoreN_s[@]}"
stat_line "derbes archive restore --jobs $jobs --into: MB/s" MB/s %.1f "${restoreN_mbs[@]}"
mapfile -t ratio < <(ratios "${restoreN_mbs[*]}" "${restore1_mbs[*]}")
stat_line "ratio derbes restore --jobs $jobs / --jobs 1" x %.2f "${ratio[@]}"
stat_line "pg_restore -j $jobs --data-only: seconds" s %.2f "${pgrestore_s[@]}"
stat_line "pg_restore -j $jobs --data-only: MB/s" MB/s %.1f "${pgrestore_mbs[@]}"
mapfile -t restore_ratio < <(ratios "${restoreN_mbs[*]}" "${pgrestore_mbs[*]}")
stat_line "ratio derbes restore --jobs $jobs / pg_restore -j $jobs (goal>=0.9)" x %.2f "${restore_ratio[@]}"
echo "peak RSS: derbes restore --jobs 1 ${restore1_rss} MB, --jobs $jobs ${restoreN_rss} MB, pg_restore ${pgrestore_rss} MB"

# scripts/bench.sh's rows (MB/s from the same CSV bytes for every side).
kib() { awk -v m="$1" 'BEGIN { printf "%.0f", m * 1024 }'; }
size="$rows rows ($(awk -v b="$pipe_bytes" 'BEGIN { printf "%.0f", b / 1e6 }') MB CSV), $borrowers borrowers"
if [ -z "${BENCH_ROWS:-}" ]; then
    mapfile -t dump_ratio < <(ratios "${derbesN_mbs[*]}" "${pgdump_mbs[*]}")
    bench_record "archive dump --jobs $jobs (MB/s)" "$size" MB/s %.1f "${derbesN_mbs[*]}" \
        "pg_dump -Fd -j $jobs -Z 0" "${pgdump_mbs[*]}" "${dump_ratio[*]}" ">= 1.02" "$(kib "$derbesN_rss")"
fi
bench_record "archive restore --jobs $jobs (MB/s)" "$size" MB/s %.1f "${restoreN_mbs[*]}" \
    "pg_restore -j $jobs --data-only" "${pgrestore_mbs[*]}" "${restore_ratio[*]}" ">= 0.9" "$(kib "$restoreN_rss")"
