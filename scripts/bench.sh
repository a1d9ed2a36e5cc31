#!/usr/bin/env bash
# The benchmark table: one command that builds the release binary and the benchmark
# databases once, runs every operation against its baseline in the same run (the
# sides alternating, whole process against whole process), and prints one table:
#
#   operation | size | derbes (median, min-max) | baseline (median) | ratio | goal | met? | peak RSS | load
#
#   bash scripts/bench.sh                        # the issue's sizes (about 40 minutes on 2 cores)
#   BENCH_QUICK=1 bash scripts/bench.sh          # a smoke run at small sizes (a few minutes)
#   BENCH_OPS="block export" bash scripts/bench.sh
#
# The same rows go to $BENCH_OUT/results.tsv and results.json, each operation's full
# output to $BENCH_OUT/<operation>.log, the machine to $BENCH_OUT/machine.txt.
#
# Knobs (environment; defaults are the issue's sizes, BENCH_QUICK=1 the smaller ones):
#   BENCH_OPS            operations, any of: block export archive anonymise purge
#                        (default all; archive gives dump and restore, purge gives the
#                        batched purge and the expired partitions)
#   BENCH_RUNS           alternating runs per side (default 3; quick 2)
#   BENCH_EXPORT_RUNS    runs of the export, a short one (default 5; quick 2)
#   BENCH_PURGE_RUNS     runs of the purge, each on tables built afresh (default BENCH_RUNS)
#   BENCH_JOBS           --jobs of derbes and -j of pg_dump/pg_restore (default nproc)
#   BENCH_BORROWERS      borrowers of the sample database for block, export, archive
#                        (default 100000, ~2M log rows; quick 5000)
#   BENCH_SUBJECTS       subjects blocked from a file (default 10000; quick 1000)
#   BENCH_SUBJECT_LOGS   log rows of the exported subject (default 10000: a subject of
#                        10,712 rows)
#   BENCH_PURGE_ROWS     expired rows of the purge, and of its partitions (default
#                        10000000; quick 200000)
#   BENCH_ANONYMISE_ROWS rows of the anonymised cohort (default 1000000; quick 100000)
#   BENCH_DB_PREFIX      database names: PREFIX (sample, reused when of the right size),
#                        PREFIX_purge (sample of 2,000, reused), PREFIX_anonymise (made
#                        afresh) (default derbes_bench; quick derbes_bench_quick)
#   BENCH_OUT            where the results go (default target/bench; quick target/bench-quick)
#   DERBES_BIN           a derbes binary already built (skips the build)
#
# The server: 127.0.0.1:5432 as postgres (scripts/ensure-postgres.sh starts it). An
# operation that fails is reported as failed in the table; the script then exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh

quick=${BENCH_QUICK:-0}
q() { if [ "$quick" = 1 ]; then echo "$1"; else echo "$2"; fi; }
ops=${BENCH_OPS:-block export archive anonymise purge}
runs=${BENCH_RUNS:-$(q 2 3)}
export_runs=${BENCH_EXPORT_RUNS:-$(q 2 5)}
purge_runs=${BENCH_PURGE_RUNS:-$runs}
jobs=${BENCH_JOBS:-$(nproc)}
borrowers=${BENCH_BORROWERS:-$(q 5000 100000)}
subjects=${BENCH_SUBJECTS:-$(q 1000 10000)}
subject_logs=${BENCH_SUBJECT_LOGS:-10000}
purge_rows=${BENCH_PURGE_ROWS:-$(q 200000 10000000)}
anonymise_rows=${BENCH_ANONYMISE_ROWS:-$(q 100000 1000000)}
prefix=${BENCH_DB_PREFIX:-$(q derbes_bench_quick derbes_bench)}
out=${BENCH_OUT:-$(q target/bench-quick target/bench)}
server="host=127.0.0.1 port=5432 user=postgres"
for op in $ops; do
    case $op in block | export | archive | anonymise | purge) ;; *)
        echo "unknown operation in BENCH_OPS: $op (block export archive anonymise purge)" >&2
        exit 2 ;;
    esac
done

bash scripts/ensure-postgres.sh >/dev/null
mkdir -p "$out"
out=$(cd "$out" && pwd)
: > "$out/results.tsv"

# The binary, once.
if [ -z "${DERBES_BIN:-}" ]; then
    echo "building the release binary ..." >&2
    cargo build --release --locked --quiet --bin derbes
    DERBES_BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/derbes
fi
export DERBES_BIN
bench_binary # sets DERBES (absolute)

# The machine, as the figures go with it.
pg_version=$(psql -X -qtA "$server dbname=postgres" -c "SHOW server_version")
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: $(nproc) cores (nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "postgresql: $pg_version, shared_buffers $(psql -X -qtA "$server dbname=postgres" -c "SHOW shared_buffers"), max_wal_size $(psql -X -qtA "$server dbname=postgres" -c "SHOW max_wal_size")"
    echo "derbes: $("$DERBES" --version 2>/dev/null || echo '?') ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "sizes: borrowers $borrowers, subjects $subjects, subject logs $subject_logs, purge rows $purge_rows, anonymise rows $anonymise_rows; runs $runs (export $export_runs, purge $purge_runs); jobs $jobs"
} > "$out/machine.txt"
cat "$out/machine.txt" >&2

# The sample database, once (block, export and archive share it).
case " $ops " in *" block "* | *" export "* | *" archive "*)
    DERBES_MAP=examples/datamap.toml BENCH_EXACT_SIZE=1 bench_sample_db "$server" "$prefix" "$borrowers" >/dev/null ;;
esac

# run_op OP ENV...: one per-operation script in its one-line-of-figures mode (its
# rows go to a file of their own), with the load average at start and end.
failed=()
run_op() {
    local op=$1 load0 load1 t0
    shift
    echo "== $op" >&2
    load0=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(date +%s)
    : > "$out/rows.$op.tsv"
    if env "$@" BENCH_RESULTS="$out/rows.$op.tsv" BENCH_EXACT_SIZE=1 bash "scripts/bench-$op.sh" > "$out/$op.log" 2>&1; then
        load1=$(cut -d' ' -f1 /proc/loadavg)
        awk -v l="$load0-$load1" 'BEGIN { FS = OFS = "\t" } { print $0, l }' "$out/rows.$op.tsv" >> "$out/results.tsv"
        echo "   done in $(( $(date +%s) - t0 )) s (load $load0-$load1); figures in $out/$op.log" >&2
    else
        failed+=("$op")
        printf '%s\tFAILED (see %s)\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\tfailed\t-\t0\t-\n' "$op" "$out/$op.log" >> "$out/results.tsv"
        echo "   FAILED: tail of $out/$op.log:" >&2
        tail -n 15 "$out/$op.log" >&2
    fi
    rm -f "$out/rows.$op.tsv"
}

for op in $ops; do
    case $op in
        block) run_op block BENCH_DB="$prefix" BENCH_BORROWERS="$borrowers" BENCH_SUBJECTS="$subjects" \
            BENCH_RUNS="$runs" ;;
        export) run_op export BENCH_DB="$prefix" BENCH_BORROWERS="$borrowers" BENCH_SUBJECT_LOGS="$subject_logs" \
            BENCH_RUNS="$export_runs" ;;
        archive) run_op archive BENCH_DB="$prefix" BENCH_BORROWERS="$borrowers" BENCH_RUNS="$runs" \
            BENCH_JOBS="$jobs" BENCH_ROWS= ;;
        anonymise) run_op anonymise BENCH_DB="${prefix}_anonymise" BENCH_ROWS="$anonymise_rows" \
            BENCH_RUNS="$runs" BENCH_JOBS="$jobs" ;;
        purge) run_op purge BENCH_DB="${prefix}_purge" BENCH_PURGE_ROWS="$purge_rows" BENCH_PART_ROWS="$purge_rows" \
            BENCH_RUNS="$purge_runs" BENCH_JOBS="$jobs" ;;
    esac
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"

# The table (Markdown, as docs/benchmarks.md keeps it) and the JSON.
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
cols = ["operation", "size", "unit", "derbes_median", "derbes_min", "derbes_max", "baseline",
        "baseline_median", "ratio_median", "ratio_min", "ratio_max", "goal", "met",
        "peak_rss_mb", "runs", "load"]
rows = []
with open(f"{out}/results.tsv") as f:
    for line in f:
        rows.append(dict(zip(cols, line.rstrip("\n").split("\t"))))
with open(f"{out}/results.json", "w") as f:
    json.dump({"machine": open(f"{out}/machine.txt").read().splitlines(), "rows": rows}, f, indent=2)
head = ["operation", "size", "derbes: median (min-max)", "baseline: median", "ratio: median (min-max)",
        "goal", "met?", "peak RSS (derbes)", "runs", "load"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    unit = r["unit"] if r["unit"] != "-" else ""
    if r["met"] == "failed":
        cells = [r["operation"], r["size"], "-", "-", "-", "-", "failed", "-", "-", "-"]
    else:
        derbes = f'{r["derbes_median"]} {unit} ({r["derbes_min"]}-{r["derbes_max"]})'
        base = "-" if r["baseline"] == "-" else f'{r["baseline"]}: {r["baseline_median"]} {unit}'
        ratio = "-" if r["ratio_median"] == "-" else f'{r["ratio_median"]}x ({r["ratio_min"]}-{r["ratio_max"]})'
        goal = r["goal"] if r["goal"] == "-" or r["ratio_median"] == "-" else f'{r["goal"]}x'
        if r["goal"] != "-" and r["ratio_median"] == "-":
            goal = f'{r["goal"]} {unit}'
        met = {"met": "met", "NOT met": "**not met**"}.get(r["met"], r["met"])
        rss = "-" if r["peak_rss_mb"] == "-" else f'{r["peak_rss_mb"]} MB'
        cells = [r["operation"], r["size"], derbes, base, ratio, goal, met, rss, r["runs"], r["load"]]
    print("| " + " | ".join(cells) + " |")
PY
echo
cat "$out/machine.txt"
echo "(rows: $out/results.tsv, $out/results.json; each operation's output: $out/<operation>.log)"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
