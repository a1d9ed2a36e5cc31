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

cargo build --release --quiet
DERBES=$PWD/target/release/derbes

if ! psql -Atqc "SELECT 1" "$BENCH_DB" >/dev/null 2>&1; then
    createdb "$BENCH_DB"
    "$DERBES" --map examples/datamap.toml sample init --borrowers 2000 >/dev/null
fi
"$DERBES" migrate >/dev/null

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

echo "# making $rows expired rows (+10% young) in bench_logs and its copy, $part_rows in each partitioned table"
psql -q -v ON_ERROR_STOP=1 <<EOF
DROP TABLE IF EXISTS bench_logs, bench_logs_copy, bench_logs_side, bench_parts_a, bench_parts_b, bench_stop, bench_writer_stats CASCADE;
DROP PROCEDURE IF EXISTS bench_writer();
DROP PROCEDURE IF EXISTS bench_writer(text);
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
VACUUM ANALYZE bench_logs;
VACUUM ANALYZE bench_logs_copy;
VACUUM ANALYZE bench_parts_a;
VACUUM ANALYZE bench_parts_b;
EOF

cutoff=$(psql -Atqc "SELECT to_char((now() - interval '1 year') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
as_of=$(psql -Atqc "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
due=$(psql -Atqc "SELECT count(*) FROM bench_logs WHERE logged_at < (timestamptz '$as_of' - interval '1 year')")
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }'; }

# One statement on the copy, the writer on the side table.
psql -qc "CHECKPOINT"
psql -qc "CALL bench_writer('bench_logs_side')" &
writer=$!
sleep 1
t0=$(now_s)
hand=$(psql -Atqc "WITH d AS (DELETE FROM bench_logs_copy WHERE logged_at < (timestamptz '$as_of' - interval '1 year') RETURNING 1) SELECT count(*) FROM d")
hand_s=$(elapsed "$t0" "$(now_s)")
psql -qc "INSERT INTO bench_stop VALUES (true)"
wait "$writer"
psql -qc "DELETE FROM bench_stop"

# derbes, with the writer running beside it on the same table.
psql -qc "CHECKPOINT"
psql -qc "CALL bench_writer('bench_logs')" &
writer=$!
sleep 1
t0=$(now_s)
"$DERBES" -q purge --yes --rule bench-logs --as-of "$as_of" --batch-size "$batch" \
    --jobs "$jobs" --format json --ticket BENCH > "$work/purge.json"
derbes_s=$(elapsed "$t0" "$(now_s)")
psql -qc "INSERT INTO bench_stop VALUES (true)"
wait "$writer"
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

derbes_rate=$(rate "$deleted" "$derbes_s")
hand_rate=$(rate "$hand" "$hand_s")
echo "rows: $due expired (+ $(psql -Atqc 'SELECT count(*) FROM bench_logs_copy') young) in each copy; derbes batch size $batch, $jobs stream(s)"
printf '%-46s %s s, %s rows/s\n' "hand-written DELETE (one statement):" "$hand_s" "$hand_rate"
printf '%-46s %s s, %s rows/s (%s batches)\n' "derbes purge (whole command):" "$derbes_s" "$derbes_rate" "$batches"
rule_rate=$(rate "$deleted" "$(awk -v ms="$rule_ms" 'BEGIN { printf "%.3f", ms / 1000 }')")
printf '%-46s %s s, %s rows/s (without start-up and the map check)\n' "derbes purge, the rule itself:" "$(awk -v ms="$rule_ms" 'BEGIN { printf "%.3f", ms / 1000 }')" "$rule_rate"
printf '%-46s %s whole command, %s the rule (goal >= 0.9)\n' "ratio derbes / DELETE rows/s:" \
    "$(awk -v a="$derbes_rate" -v b="$hand_rate" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$rule_rate" -v b="$hand_rate" 'BEGIN { printf "%.2f", a / b }')"
printf '%-46s %s ms (goal <= 250)\n' "longest derbes batch transaction:" "$longest"
printf '%-46s %s ms over %s update+insert pairs (purge lock_timeout 2000 ms)\n' "concurrent writer, longest wait:" "$worst" "$writes"

# Partitions: drop versus delete.
expired=$(psql -Atqc "SELECT count(*) FROM bench_parts_b WHERE logged_at < (timestamptz '$as_of' - interval '1 year')")
psql -qc "CHECKPOINT"
t0=$(now_s)
psql -qc "DELETE FROM bench_parts_b WHERE logged_at < (timestamptz '$as_of' - interval '1 year')"
part_hand_s=$(elapsed "$t0" "$(now_s)")
psql -qc "CHECKPOINT"
t0=$(now_s)
"$DERBES" -q purge --yes --rule bench-parts --as-of "$as_of" --format json --ticket BENCH > "$work/parts.json"
part_derbes_s=$(elapsed "$t0" "$(now_s)")
read -r part_deleted dropped rule_ms < <(python3 -c "
import json; r = json.load(open('$work/parts.json'))['rules'][0]; t = r['tables'][0]
print(r['deleted'], len(t['partitions_dropped']), r['duration_ms'])")
[ "$part_deleted" -eq "$expired" ] || { echo "derbes removed $part_deleted partitioned rows, $expired were due" >&2; exit 1; }
rule_s=$(awk -v ms="$rule_ms" 'BEGIN { printf "%.3f", ms / 1000 }')
# The floor under any tool that drops partitions: one hand-written DROP TABLE of the
# copy's same expired partitions (their files are as large as derbes' were: the
# DELETE only marked the rows dead). Almost all of it is the server removing files.
part_b=$(python3 -c "
import json; t = json.load(open('$work/parts.json'))['rules'][0]['tables'][0]
print(', '.join(p.replace('bench_parts_a', 'bench_parts_b') for p in t['partitions_dropped']))")
psql -qc "CHECKPOINT"
part_drop_s=$(psql -Atq -c '\timing on' -c "DROP TABLE $part_b" | awk '/^Time:/ {printf "%.3f", $2 / 1000}')
echo "partitioned: $expired expired rows in $dropped monthly partitions"
printf '%-46s %s s\n' "hand-written DELETE of the expired rows:" "$part_hand_s"
printf '%-46s %s s (the rule itself %s s)\n' "derbes purge, partitions dropped:" "$part_derbes_s" "$rule_s"
printf '%-46s %sx whole command, %sx the rule (goal >= 100x)\n' "ratio DELETE / derbes time:" \
    "$(awk -v a="$part_hand_s" -v b="$part_derbes_s" 'BEGIN { printf "%.0f", a / b }')" \
    "$(awk -v a="$part_hand_s" -v b="$rule_s" 'BEGIN { printf "%.0f", (b > 0) ? a / b : 0 }')"
printf '%-46s %s s, so DELETE / DROP is %sx at most for any tool\n' "hand-written DROP TABLE of the same partitions:" \
    "$part_drop_s" "$(awk -v a="$part_hand_s" -v b="$part_drop_s" 'BEGIN { printf "%.0f", (b > 0) ? a / b : 0 }')"
