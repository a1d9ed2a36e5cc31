#!/usr/bin/env bash
# Benchmark of `derbes purge` (issue 14) against the statement it replaces:
#
#   DELETE FROM logs WHERE logged_at < <cut-off>
#
# on two identical copies of a log table (same rows, same indexes) in the same run:
# derbes deletes BENCH_PURGE_ROWS expired rows (default 10000000; the issue's size)
# in checkpointed key batches, the hand-written DELETE takes the copy in one
# statement. Prints both rows/s, the ratio (goal >= 0.9) and derbes' longest batch
# transaction (goal <= 250 ms). While derbes runs, a writer session updates random
# rows of the table (most of them due, so some sit in the batch being deleted) and
# inserts new ones, committing each pair; its longest wait is printed beside the
# purge's lock_timeout. While the single DELETE runs, the same writer works on a
# side table instead (on the copy it would only wait for the DELETE), so both runs
# share the machine with the same load. Autovacuum is held off both tables.
#
# Then the partitioned case: two identical tables range-partitioned by month, 12
# expired months of BENCH_PART_ROWS rows (default BENCH_PURGE_ROWS) and one
# current month: derbes detaches and drops the expired partitions, the hand-written
# DELETE deletes their rows; prints the ratio (goal >= 100x).
#
# derbes runs with BENCH_JOBS streams (`--jobs`, default the machine's cores), each
# its own key range on its own connection.
#
# BENCH_RUNS runs (default 1), each on tables built afresh, which side goes first
# flipping every run; with more than one, each figure is printed as median (min, max).
# The partitions' floor, a bare DROP TABLE of the copy's expired partitions, goes
# after derbes in odd runs and before it in even ones.
#
# Uses (or creates) the database $BENCH_DB (default derbes_bench_purge) made by
# `derbes sample init --borrowers 2000`; the bench tables are made afresh each run
# and mapped by a copy of examples/datamap.toml with one rule each, without legal
# holds (the hand-written DELETE checks none either).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh

BENCH_DB=${BENCH_DB:-derbes_bench_purge}
rows=${BENCH_PURGE_ROWS:-10000000}
part_rows=${BENCH_PART_ROWS:-$rows}
batch=${BENCH_BATCH:-auto}
jobs=${BENCH_JOBS:-$(nproc)}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
export PGDATABASE=$BENCH_DB
export DATABASE_URL="host=$PGHOST user=$PGUSER dbname=$BENCH_DB"
export DERBES_OPERATOR=bench

runs=${BENCH_RUNS:-1}
bench_binary
DERBES_MAP=examples/datamap.toml bench_sample_db "host=$PGHOST user=$PGUSER" "$BENCH_DB" 2000 >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/derbes-bench-purge.XXXXXX")
trap 'psql -qc "INSERT INTO bench_stop VALUES (true)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

map=$work/datamap.toml
{
    sed '/^\[block\]/,$d' examples/datamap.toml
    cat <<'EOF'
[retention.bench-logs]
keep = "1y"
action = "delete"
legal_basis = "benchmark"
exceptions = []

[retention.bench-parts]
keep = "1y"
action = "delete"
legal_basis = "benchmark"
exceptions = []

[tables.bench_logs]
link = { column = "borrower_id" }
time_column = "logged_at"
retention = "bench-logs"

[tables.bench_parts_a]
link = { column = "borrower_id" }
time_column = "logged_at"
retention = "bench-parts"

EOF
    sed -n '/^\[block\]/,$p' examples/datamap.toml
} > "$map"
export DERBES_MAP=$map

psql -q -v ON_ERROR_STOP=1 <<EOF
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_stop, bench_writer_stats CASCADE;
DROP PROCEDURE IF EXISTS bench_writer();
DROP PROCEDURE IF EXISTS bench_writer(text);
CREATE TABLE bench_stop (stop boolean);
CREATE TABLE bench_writer_stats (tbl text, statements bigint, worst_ms float8);
-- The concurrent writer: update a random row of tbl (most are due) and insert a new
-- one, commit, a few ms apart; records its longest wait.
CREATE PROCEDURE bench_writer(tbl text) LANGUAGE plpgsql AS \$\$
DECLARE t timestamptz; worst float8 := 0; n bigint := 0; top bigint; d float8; pick bigint;
BEGIN
  EXECUTE format('SELECT max(id) FROM %I', tbl) INTO top;
  LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM bench_stop);
    -- A value, not random() in the WHERE clause (volatile: a scan of every row).
    pick := 1 + floor(random() * top)::bigint;
    t := clock_timestamp();
    EXECUTE format('UPDATE %I SET status = 299 WHERE id = \$1', tbl) USING pick;
    EXECUTE format('INSERT INTO %I VALUES (\$1, now(), NULL, ''10.0.0.2'', ''POST'', ''/w'', 200, ''writer'')', tbl)
      USING top + 1 + n;
    COMMIT;
    d := extract(epoch FROM clock_timestamp() - t) * 1000;
    worst := greatest(worst, d);
    n := n + 1;
    PERFORM pg_sleep(0.005);
  END LOOP;
  INSERT INTO bench_writer_stats VALUES (tbl, n, worst);
  COMMIT;
END \$\$;
EOF

# The tables of one run, built afresh.
build_tables() {
    echo "# making $rows expired rows (+10% young) in bench_logs and its copy, $part_rows in each partitioned table" >&2
    psql -q -v ON_ERROR_STOP=1 <<EOF
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_logs, bench_logs_copy, bench_logs_side, bench_parts_a, bench_parts_b CASCADE;
DELETE FROM bench_stop;
DELETE FROM bench_writer_stats;
DELETE FROM derbes.jobs WHERE operation LIKE 'purge%';
CREATE TABLE bench_logs (
    id bigint PRIMARY KEY, logged_at timestamptz NOT NULL,
    borrower_id bigint REFERENCES borrowers (id), ip inet NOT NULL, method text NOT NULL,
    path text NOT NULL, status smallint NOT NULL, user_agent text);
CREATE INDEX ON bench_logs (borrower_id);
CREATE INDEX ON bench_logs (logged_at);
-- Expired rows in time order (ids grow with time, as an identity column gives),
-- then the young tenth.
INSERT INTO bench_logs
  SELECT g, now() - interval '2 years' + (g * (interval '11 months' / $rows)),
         1 + g % 2000, '10.0.0.0'::inet + (g % 65536), 'GET', '/p/' || (g % 1000), 200, 'bench'
  FROM generate_series(1, $rows) g;
INSERT INTO bench_logs
  SELECT $rows + g, now() - (g * (interval '30 days' / ($rows / 10 + 1))),
         1 + g % 2000, '10.0.0.1', 'GET', '/young', 200, 'bench'
  FROM generate_series(1, $rows / 10) g;
CREATE TABLE bench_logs_copy (LIKE bench_logs INCLUDING ALL);
INSERT INTO bench_logs_copy SELECT * FROM bench_logs;
CREATE TABLE bench_logs_side (LIKE bench_logs INCLUDING ALL);
INSERT INTO bench_logs_side SELECT * FROM bench_logs WHERE id <= 100000;
-- Both runs leave the same dead rows for VACUUM; autovacuum would clean up during
-- the batched run (commits as it goes) and after the single DELETE, so it is held
-- off both to compare the two alone.
ALTER TABLE bench_logs SET (autovacuum_enabled = off);
ALTER TABLE bench_logs_copy SET (autovacuum_enabled = off);

CREATE TABLE bench_parts_a (
    id bigint NOT NULL, logged_at timestamptz NOT NULL, borrower_id bigint,
    path text NOT NULL, PRIMARY KEY (id, logged_at)) PARTITION BY RANGE (logged_at);
CREATE INDEX ON bench_parts_a (borrower_id);
CREATE TABLE bench_parts_b (LIKE bench_parts_a) PARTITION BY RANGE (logged_at);
ALTER TABLE bench_parts_b ADD PRIMARY KEY (id, logged_at);
CREATE INDEX ON bench_parts_b (borrower_id);
DO \$\$ DECLARE m date := date_trunc('month', now() - interval '26 months');
BEGIN
  WHILE m <= now() + interval '1 month' LOOP
    EXECUTE format('CREATE TABLE bench_parts_a_%s PARTITION OF bench_parts_a FOR VALUES FROM (%L) TO (%L)',
                   to_char(m, 'YYYY_MM'), m, m + interval '1 month');
    EXECUTE format('CREATE TABLE bench_parts_b_%s PARTITION OF bench_parts_b FOR VALUES FROM (%L) TO (%L)',
                   to_char(m, 'YYYY_MM'), m, m + interval '1 month');
    m := m + interval '1 month';
  END LOOP;
END \$\$;
-- 12 whole expired months (13 to 25 months old), and the current month.
INSERT INTO bench_parts_a
  SELECT g, date_trunc('month', now() - interval '25 months') + (g * (interval '12 months' / ($part_rows + 1))),
         1 + g % 2000, '/p'
  FROM generate_series(1, $part_rows) g;
INSERT INTO bench_parts_a
  SELECT $part_rows + g, now() - (g * interval '1 second'), 1 + g % 2000, '/young'
  FROM generate_series(1, 1000) g;
INSERT INTO bench_parts_b SELECT * FROM bench_parts_a;

VACUUM ANALYZE bench_logs;
VACUUM ANALYZE bench_logs_copy;
VACUUM ANALYZE bench_parts_a;
VACUUM ANALYZE bench_parts_b;
EOF
}
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }

# One statement on the copy, the writer on the side table.
run_hand() {
    psql -qc "CHECKPOINT"
    psql -qc "CALL bench_writer('bench_logs_side')" &
    local writer=$! t0
    sleep 1
    t0=$(now_s)
    hand=$(psql -Atqc "WITH d AS (DELETE FROM bench_logs_copy WHERE logged_at < (timestamptz '$as_of' - interval '1 year') RETURNING 1) SELECT count(*) FROM d")
    hand_s=$(elapsed "$t0" "$(now_s)")
    psql -qc "INSERT INTO bench_stop VALUES (true)"
    wait "$writer"
    psql -qc "DELETE FROM bench_stop"
}

# derbes, with the writer running beside it on the same table.
run_derbes() {
    psql -qc "CHECKPOINT"
    psql -qc "CALL bench_writer('bench_logs')" &
    local writer=$! t0
    sleep 1
    t0=$(now_s)
    /usr/bin/time -f %M -o "$work/purge.rss" "$DERBES" -q purge --yes --rule bench-logs --as-of "$as_of" \
        --batch-size "$batch" --jobs "$jobs" --format json --ticket BENCH > "$work/purge.json"
    derbes_s=$(elapsed "$t0" "$(now_s)")
    psql -qc "INSERT INTO bench_stop VALUES (true)"
    wait "$writer"
    psql -qc "DELETE FROM bench_stop"
}

# The expired partitions: the hand-written DELETE of their rows (bench_parts_b),
# derbes dropping them (bench_parts_a) and a bare DROP TABLE of the copy's same
# partitions (their files are as large as derbes' were: the DELETE only marked the
# rows dead), the floor under any tool that drops partitions; almost all of it is
# the server removing files.
run_part_delete() {
    psql -qc "CHECKPOINT"
    local t0; t0=$(now_s)
    psql -qc "DELETE FROM bench_parts_b WHERE logged_at < (timestamptz '$as_of' - interval '1 year')"
    part_hand_s=$(elapsed "$t0" "$(now_s)")
}
run_part_derbes() {
    psql -qc "CHECKPOINT"
    local t0; t0=$(now_s)
    /usr/bin/time -f %M -o "$work/parts.rss" "$DERBES" -q purge --yes --rule bench-parts --as-of "$as_of" \
        --format json --ticket BENCH > "$work/parts.json"
    part_derbes_s=$(elapsed "$t0" "$(now_s)")
    read -r part_deleted dropped rule_ms < <(python3 -c "
import json; r = json.load(open('$work/parts.json'))['rules'][0]; t = r['tables'][0]
print(r['deleted'], len(t['partitions_dropped']), r['duration_ms'])")
    [ "$part_deleted" -eq "$expired" ] || { echo "derbes removed $part_deleted partitioned rows, $expired were due" >&2; exit 1; }
    # The copy's same partitions, for the DROP TABLE (the same names in every run).
    part_b=$(python3 -c "
import json; t = json.load(open('$work/parts.json'))['rules'][0]['tables'][0]
print(', '.join(p.replace('bench_parts_a', 'bench_parts_b') for p in t['partitions_dropped']))")
}
run_part_drop() {
    psql -qc "CHECKPOINT"
    part_drop_ms=$(psql -Atq -c '\timing on' -c "DROP TABLE $part_b" | awk '/^Time:/ {printf "%.1f", $2}')
}

hand_rates=() derbes_rates=() rule_rates=() longests=() worsts=() writes_all=() batches_all=()
part_hand=() part_derbes=() part_rule=() part_drop=() part_ratio=() part_whole_ratio=() part_delete_ratio=()
rss=0 part_rss=0 part_b=
for run in $(seq 1 "$runs"); do
    build_tables
    as_of=$(psql -Atqc "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    due=$(psql -Atqc "SELECT count(*) FROM bench_logs WHERE logged_at < (timestamptz '$as_of' - interval '1 year')")
    if [ $((run % 2)) -eq 1 ]; then run_hand; run_derbes; else run_derbes; run_hand; fi
    read -r deleted longest batches rule_ms < <(python3 -c "
import json; r = json.load(open('$work/purge.json'))['rules'][0]; t = r['tables'][0]
print(r['deleted'], t['longest_batch_ms'], t['batches'], r['duration_ms'])")
    if [ "$deleted" -ne "$due" ] || [ "$hand" -ne "$due" ]; then
        echo "derbes deleted $deleted rows, the DELETE $hand, $due were due" >&2
        exit 1
    fi
    left=$(psql -Atqc "SELECT count(*) FROM bench_logs WHERE logged_at < (timestamptz '$as_of' - interval '1 year')")
    [ "$left" -eq 0 ] || { echo "$left due rows left after derbes purge" >&2; exit 1; }
    read -r writes worst < <(psql -AtF' ' -qc "SELECT statements, round(worst_ms::numeric, 1) FROM bench_writer_stats WHERE tbl = 'bench_logs'")
    hand_rates+=("$(rate "$hand" "$hand_s")")
    derbes_rates+=("$(rate "$deleted" "$derbes_s")")
    rule_rates+=("$(rate "$deleted" "$(awk -v ms="$rule_ms" 'BEGIN { printf "%.3f", ms / 1000 }')")")
    longests+=("$longest"); worsts+=("$worst"); writes_all+=("$writes"); batches_all+=("$batches")
    rss=$(awk -v a="$rss" -v b="$(cat "$work/purge.rss")" 'BEGIN { print (b > a) ? b : a }')
    echo "run $run of $runs: DELETE $hand_s s, derbes $derbes_s s ($batches batches, longest $longest ms)" >&2

    expired=$(psql -Atqc "SELECT count(*) FROM bench_parts_b WHERE logged_at < (timestamptz '$as_of' - interval '1 year')")
    run_part_delete
    if [ $((run % 2)) -eq 1 ] || [ -z "$part_b" ]; then run_part_derbes; run_part_drop; else run_part_drop; run_part_derbes; fi
    part_hand+=("$(ms "$part_hand_s")"); part_derbes+=("$(ms "$part_derbes_s")"); part_rule+=("$rule_ms")
    part_drop+=("$part_drop_ms")
    part_ratio+=("$(awk -v d="$part_drop_ms" -v r="$rule_ms" 'BEGIN { printf "%.4f", (r > 0) ? d / r : 0 }')")
    part_whole_ratio+=("$(awk -v d="$part_drop_ms" -v s="$part_derbes_s" 'BEGIN { printf "%.4f", d / 1000 / s }')")
    part_delete_ratio+=("$(awk -v h="$part_hand_s" -v s="$part_derbes_s" 'BEGIN { printf "%.2f", h / s }')")
    part_rss=$(awk -v a="$part_rss" -v b="$(cat "$work/parts.rss")" 'BEGIN { print (b > a) ? b : a }')
    echo "run $run of $runs: partitions: DELETE $part_hand_s s, derbes $part_derbes_s s (the rule $rule_ms ms), DROP TABLE $part_drop_ms ms" >&2
done

echo "rows: $due expired (+ $(psql -Atqc 'SELECT count(*) FROM bench_logs_copy') young) in each copy; derbes batch size $batch, $jobs stream(s), $runs run(s)"
stat_line "hand-written DELETE (one statement): rows/s" rows/s %.0f "${hand_rates[@]}"
stat_line "derbes purge (whole command): rows/s" rows/s %.0f "${derbes_rates[@]}"
stat_line "derbes purge, the rule itself: rows/s" rows/s %.0f "${rule_rates[@]}"
mapfile -t ratio < <(ratios "${derbes_rates[*]}" "${hand_rates[*]}")
stat_line "ratio derbes / DELETE, whole command (goal >= 1.0)" x %.2f "${ratio[@]}"
mapfile -t rule_ratio < <(ratios "${rule_rates[*]}" "${hand_rates[*]}")
stat_line "ratio derbes / DELETE, the rule itself" x %.2f "${rule_ratio[@]}"
stat_line "batches" "" %.0f "${batches_all[@]}"
stat_line "longest derbes batch transaction (goal <= 250)" ms %.0f "${longests[@]}"
stat_line "concurrent writer, longest wait (lock_timeout 2000)" ms %.1f "${worsts[@]}"
echo "peak RSS of derbes purge: $rss KiB"

echo "partitioned: $expired expired rows in $dropped monthly partitions"
stat_line "hand-written DELETE of the expired rows" ms %.0f "${part_hand[@]}"
stat_line "derbes purge, partitions dropped (whole command)" ms %.0f "${part_derbes[@]}"
stat_line "derbes purge, the rule itself" ms %.0f "${part_rule[@]}"
stat_line "hand-written DROP TABLE of the same partitions" ms %.0f "${part_drop[@]}"
stat_line "ratio DROP TABLE / the rule's time (goal >= 0.9)" x %.2f "${part_ratio[@]}"
stat_line "ratio DROP TABLE / the whole command's time" x %.2f "${part_whole_ratio[@]}"
stat_line "ratio DELETE / derbes time (whole command)" x %.1f "${part_delete_ratio[@]}"

# scripts/bench.sh's rows.
bench_record "purge --jobs $jobs (rows/s)" "$due rows (+10% young), writer beside" rows/s %.0f "${derbes_rates[*]}" \
    "one DELETE" "${hand_rates[*]}" "${ratio[*]}" ">= 1.0" "$rss"
bench_record "purge --jobs $jobs: longest batch (ms)" "$due rows, ${batches_all[0]} batches" ms %.0f "${longests[*]}" \
    "-" "" "" "<= 250" "$rss"
bench_record "purge of expired partitions: the rule (ms)" "$dropped partitions, $expired rows" ms %.0f "${part_rule[*]}" \
    "DROP TABLE, same partitions" "${part_drop[*]}" "${part_ratio[*]}" ">= 0.9" "$part_rss"
bench_record "purge of expired partitions: whole command (ms)" "$dropped partitions, $expired rows" ms %.0f "${part_derbes[*]}" \
    "DROP TABLE, same partitions" "${part_drop[*]}" "${part_whole_ratio[*]}" "-" "$part_rss"
