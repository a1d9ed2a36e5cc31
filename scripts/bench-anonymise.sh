#!/usr/bin/env bash
# Benchmark of `derbes anonymise --rule` (a cohort in primary-key batches) against
# one hand-written UPDATE applying the same six expressions to a fresh copy of the
# same rows, in the same run.
#
# The table `events` has 4 indexes (primary key, person_id, occurred_at, phone) and
# 6 masked columns: occurred_at (generalise: month), ip (generalise: /24), email
# (hmac: keyed SHA-256, computed by the server), phone (partial: last 4), full_name
# (redact), amount (generalise: range of 1000). Every row is older than the rule's
# keep period, so the cohort is the whole table.
#
# Printed: rows/s of both and their ratio (goal >= 0.9), the longest batch
# transaction of derbes (from BEGIN to the end of COMMIT, as derbes reports it),
# derbes' peak RSS, and what a concurrent writer updating one cohort row at a time
# waited at most under derbes (one batch; under the single UPDATE it would wait for
# the whole statement). While the single UPDATE runs, the same writer works on a
# side table instead, so both runs share the machine with the same load; autovacuum
# is held off both tables (each run leaves the same dead rows to clean up).
#
# The ceiling: the same UPDATE in key ranges of derbes' average batch, in a loop
# inside the server that commits after each range (asynchronously, as derbes does),
# on a third copy and under the same writer as derbes (to that copy's rows). No
# client, no bounds to find, no checkpoint row: what keyed, committed batches can
# reach on this server, printed beside derbes' figures.
#
# Uses (and recreates) the database $BENCH_DB (default derbes_bench_anonymise);
# BENCH_ROWS rows (default 1000000), BENCH_BATCH keys per batch (default auto:
# derbes sizes batches to about 100 ms), BENCH_JOBS streams of derbes (`--jobs`,
# default the machine's cores; the ceiling's loop is one stream). BENCH_RUNS runs
# (default 3), each on tables built afresh; every figure and the ratio are printed
# as median (min, max).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh

BENCH_DB=${BENCH_DB:-derbes_bench_anonymise}
rows=${BENCH_ROWS:-1000000}
batch=${BENCH_BATCH:-auto}
runs=${BENCH_RUNS:-3}
jobs=${BENCH_JOBS:-$(nproc)}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
export PGDATABASE=$BENCH_DB
export DATABASE_URL="host=$PGHOST user=$PGUSER dbname=$BENCH_DB"
export DERBES_OPERATOR=bench

bench_binary

work=$(mktemp -d "${TMPDIR:-/tmp}/derbes-bench-anonymise.XXXXXX")
writer_pid=
cleanup() {
    if [ -n "$writer_pid" ]; then
        psql -qc "INSERT INTO bench_stop VALUES (true)" >/dev/null 2>&1 || true
        kill "$writer_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# 32 random bytes as base64 (derbes refuses a guessable key); the HMAC key is this text.
key=$(head -c 32 /dev/urandom | base64)
(umask 077 && printf '%s\n' "$key" > "$work/mask.key")
# The HMAC key blocks (RFC 2104) for the hand-written UPDATE, as bytea literals.
read -r ipad opad < <(python3 -c "
k = b'$key'.ljust(64, b'\0')
print(bytes(b ^ 0x36 for b in k).hex(), bytes(b ^ 0x5c for b in k).hex())")

cat > "$work/map.toml" <<'EOF'
version = 1
schema = "public"
[subject]
table = "people"
key = "id"
[[subject.identities]]
kind = "iin"
column = "iin"
[retention.bench]
keep = "1d"
action = "anonymise"
legal_basis = "benchmark"
[tables.people.columns]
iin = { category = "iin", purpose = "p", masking = "hmac" }
[tables.events]
link = { column = "person_id" }
time_column = "occurred_at"
retention = "bench"
[tables.events.columns]
occurred_at = { category = "access_time", purpose = "p", masking = "generalise:month" }
ip = { category = "ip_address", purpose = "p", masking = "generalise" }
email = { category = "email", purpose = "p", masking = "hmac" }
phone = { category = "phone", purpose = "p", masking = "partial:4" }
full_name = { category = "name", purpose = "p", masking = "redact" }
amount = { category = "microcredit", purpose = "p", masking = "generalise:1000" }
EOF
export DERBES_MAP=$work/map.toml

dropdb --if-exists "$BENCH_DB"
createdb "$BENCH_DB"
psql -q <<EOF
CREATE TABLE people (id bigint PRIMARY KEY, iin char(12) NOT NULL);
INSERT INTO people SELECT g, lpad(g::text, 12, '0') FROM generate_series(1, greatest($rows / 10, 1)) g;
-- The rows every run starts from.
CREATE TABLE events_source (
    id bigint PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    occurred_at timestamptz NOT NULL,
    ip inet NOT NULL,
    email text,
    phone text NOT NULL,
    full_name text NOT NULL,
    amount numeric(12, 2),
    note text
);
INSERT INTO events_source
SELECT g, 1 + g % greatest($rows / 10, 1), now() - interval '30 days' - g * interval '7 seconds',
       ('10.' || (g % 250) || '.' || (g / 250 % 250) || '.' || (g % 199))::inet,
       'user' || g || '@example.kz', '+7701' || lpad((g % 10000000)::text, 7, '0'),
       'Name ' || g, (g % 500000) / 7.0, NULL
FROM generate_series(1, $rows) g;
-- The writer's table while the single UPDATE runs (on the copy it would only wait),
-- with the cohort table's indexes, so the writer's statements cost the same there.
CREATE TABLE events_side (LIKE events_source INCLUDING ALL);
INSERT INTO events_side SELECT * FROM events_source;
CREATE INDEX events_side_person_idx ON events_side (person_id);
CREATE INDEX events_side_occurred_idx ON events_side (occurred_at);
CREATE INDEX events_side_phone_idx ON events_side (phone);
EOF

# The table derbes anonymises and the copy the UPDATE rewrites, built afresh for each
# run and the same way (key index filled row by row, the others made after the rows),
# so both tables' indexes are equally packed: an UPDATE's index insertions cost what
# they cost on the other. Both runs leave as many dead rows for VACUUM; autovacuum
# would clean up during the batched run (commits as it goes) and after the single
# UPDATE, so it is held off both to compare the two writers alone.
build_tables() {
    psql -q <<EOF
SET client_min_messages = warning;
DROP TABLE IF EXISTS events, events_copy, events_loop;
CREATE TABLE events (LIKE events_source INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE events ADD PRIMARY KEY (id);
ALTER TABLE events ADD FOREIGN KEY (person_id) REFERENCES people (id);
INSERT INTO events SELECT * FROM events_source ORDER BY id;
CREATE INDEX events_person_idx ON events (person_id);
CREATE INDEX events_occurred_idx ON events (occurred_at);
CREATE INDEX events_phone_idx ON events (phone);
CREATE TABLE events_copy (LIKE events_source INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE events_copy ADD PRIMARY KEY (id);
INSERT INTO events_copy SELECT * FROM events_source ORDER BY id;
CREATE INDEX events_copy_person_idx ON events_copy (person_id);
CREATE INDEX events_copy_occurred_idx ON events_copy (occurred_at);
CREATE INDEX events_copy_phone_idx ON events_copy (phone);
CREATE TABLE events_loop (LIKE events_source INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE events_loop ADD PRIMARY KEY (id);
INSERT INTO events_loop SELECT * FROM events_source ORDER BY id;
CREATE INDEX events_loop_person_idx ON events_loop (person_id);
CREATE INDEX events_loop_occurred_idx ON events_loop (occurred_at);
CREATE INDEX events_loop_phone_idx ON events_loop (phone);
ALTER TABLE events SET (autovacuum_enabled = off);
ALTER TABLE events_copy SET (autovacuum_enabled = off);
ALTER TABLE events_loop SET (autovacuum_enabled = off);
VACUUM ANALYZE events;
VACUUM ANALYZE events_copy;
VACUUM ANALYZE events_loop;
VACUUM ANALYZE events_side;
EOF
}
build_tables
"$DERBES" migrate >/dev/null
"$DERBES" map check >/dev/null

# A writer updating one random row of a table at a time in one session (as an
# application would), committing each and timing its wait, a few ms apart. It stops
# at a row in bench_stop, after its statement in flight (the one that waited
# longest, under the single UPDATE) has finished and been recorded.
psql -q <<EOF
CREATE TABLE bench_stop (stop boolean);
CREATE TABLE bench_writer_stats (tbl text, statements bigint, worst_ms float8);
CREATE PROCEDURE bench_writer(tbl text) LANGUAGE plpgsql AS \$\$
DECLARE t timestamptz; worst float8 := 0; n bigint := 0; d float8; pick bigint;
BEGIN
  LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM bench_stop);
    pick := 1 + floor(random() * $rows)::bigint;
    t := clock_timestamp();
    EXECUTE format('UPDATE %I SET note = ''w'' WHERE id = \$1', tbl) USING pick;
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
start_writer() {
    psql -qc "DELETE FROM bench_stop" -c "DELETE FROM bench_writer_stats"
    psql -qc "CALL bench_writer('$1')" &
    writer_pid=$!
}
stop_writer() {
    psql -qc "INSERT INTO bench_stop VALUES (true)"
    wait "$writer_pid" 2>/dev/null || true
    writer_pid=
}
# The longest wait of the writer's last run on table $1; a writer that wrote nothing
# fails the benchmark (its figure would mean nothing).
writer_worst() {
    local stats
    stats=$(psql -Atqc "SELECT statements, round(worst_ms::numeric, 1) FROM bench_writer_stats WHERE tbl = '$1'")
    if [ -z "$stats" ] || [ "${stats%%|*}" -eq 0 ]; then
        echo "the writer on $1 wrote nothing" >&2
        exit 1
    fi
    echo "${stats#*|}"
}

# The hand-written UPDATE: the same expressions derbes evaluates.
update_sql="UPDATE events_copy t0 SET
    occurred_at = date_trunc('month', occurred_at),
    ip = network(set_masklen(ip, CASE WHEN family(ip) = 4 THEN 24 ELSE 48 END))::inet,
    email = CASE WHEN email IS NULL THEN NULL ELSE encode(sha256('\\x$opad'::bytea || sha256('\\x$ipad'::bytea || convert_to(email, 'UTF8'))), 'hex') END,
    phone = right(phone, 4),
    full_name = '[redacted]',
    amount = CASE WHEN amount IS NULL THEN NULL ELSE floor(amount / 1000) * 1000 END"
# The ceiling's loop: the same SET list in ranges of \$1 keys, committed one by one.
loop_sql() {
    local set_list=${update_sql#*SET}
    cat <<EOF
SET synchronous_commit = off;
DO \$\$
DECLARE lo bigint; top bigint;
BEGIN
  SELECT min(id), max(id) INTO lo, top FROM events_loop;
  WHILE lo <= top LOOP
    UPDATE events_loop t0 SET $set_list
     WHERE id BETWEEN lo AND lo + $1 - 1 AND occurred_at < now() - interval '1 day';
    COMMIT;
    lo := lo + $1;
  END LOOP;
END \$\$;
EOF
}
rate() { awk -v r="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0) ? r / s : 0 }'; }
json_sum() { python3 -c "import json; print($1(t['$2'] for t in json.load(open('$work/derbes.json'))['tables']))"; }

plain_rates=() derbes_rates=() loop_rates=() longest=() rss=() waits=() batches=()
for run in $(seq 1 "$runs"); do
    if [ "$run" -gt 1 ]; then
        build_tables
        # Fresh tables: forget what the last run masked (its mark would say all of it).
        psql -qc "TRUNCATE derbes.cohort_marks, derbes.cohort_pending"
    fi
    # Each side starts from a checkpoint, so neither pays for the other's full-page writes.
    psql -qc "CHECKPOINT"
    start_writer events_side
    sleep 1
    plain_s=$(psql -Atq -c '\timing on' -c "$update_sql" | awk '/^Time:/ {printf "%.3f", $2 / 1000}')
    stop_writer

    psql -qc "CHECKPOINT"
    start_writer events
    sleep 1
    /usr/bin/time -v -o "$work/derbes.time" "$DERBES" -q --format json anonymise --rule bench \
        --ticket BENCH --yes --batch-size "$batch" --jobs "$jobs" --key-file "$work/mask.key" > "$work/derbes.json"
    stop_writer
    waits+=("$(writer_worst events)")
    derbes_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/derbes.time")
    masked=$(json_sum sum masked)
    if [ "$masked" -ne "$rows" ]; then
        echo "derbes masked $masked rows, the cohort has $rows" >&2
        exit 1
    fi
    # Both tables must now hold the same values in the masked columns.
    differ=$(psql -Atq -c "SELECT count(*) FROM events e JOIN events_copy c USING (id)
        WHERE (e.occurred_at, e.ip, e.email, e.phone, e.full_name, e.amount)
              IS DISTINCT FROM (c.occurred_at, c.ip, c.email, c.phone, c.full_name, c.amount)")
    if [ "$differ" -ne 0 ]; then
        echo "$differ rows differ between derbes and the hand-written UPDATE" >&2
        exit 1
    fi
    batch_keys=$(( rows / $(json_sum sum batches) ))
    psql -qc "CHECKPOINT"
    start_writer events_loop
    sleep 1
    loop_s=$(loop_sql "$batch_keys" | psql -Atq -c '\timing on' -f - | awk '/^Time:/ {s += $2} END {printf "%.3f", s / 1000}')
    stop_writer
    differ=$(psql -Atq -c "SELECT count(*) FROM events_loop e JOIN events_copy c USING (id)
        WHERE (e.occurred_at, e.ip, e.email, e.phone, e.full_name, e.amount)
              IS DISTINCT FROM (c.occurred_at, c.ip, c.email, c.phone, c.full_name, c.amount)")
    if [ "$differ" -ne 0 ]; then
        echo "$differ rows differ between the ceiling's loop and the hand-written UPDATE" >&2
        exit 1
    fi
    loop_rates+=("$(rate "$rows" "$loop_s")")
    plain_rates+=("$(rate "$rows" "$plain_s")")
    derbes_rates+=("$(rate "$rows" "$derbes_s")")
    longest+=("$(json_sum max longest_batch_ms)")
    batches+=("$(json_sum sum batches)")
    rss+=("$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$work/derbes.time")")
    echo "run $run of $runs: UPDATE ${plain_s} s, derbes ${derbes_s} s, loop of ${batch_keys}-key ranges ${loop_s} s" >&2
done

echo "rows: $rows of events (4 indexes, 6 masked columns), batch size $batch (${batches[*]} batches), $jobs stream(s) of derbes; results identical"
stat_line "one hand-written UPDATE: rows/s" rows/s %.0f "${plain_rates[@]}"
stat_line "derbes anonymise --rule --jobs $jobs: rows/s" rows/s %.0f "${derbes_rates[@]}"
mapfile -t ratio < <(ratios "${derbes_rates[*]}" "${plain_rates[*]}")
stat_line "ratio derbes / UPDATE (goal >= 0.9)" x %.2f "${ratio[@]}"
stat_line "ceiling of one stream: a server-side loop" rows/s %.0f "${loop_rates[@]}"
mapfile -t ceiling < <(ratios "${loop_rates[*]}" "${plain_rates[*]}")
stat_line "ratio ceiling / UPDATE" x %.2f "${ceiling[@]}"
mapfile -t of_ceiling < <(ratios "${derbes_rates[*]}" "${loop_rates[*]}")
stat_line "ratio derbes / ceiling" x %.2f "${of_ceiling[@]}"
stat_line "longest batch transaction (goal <= 250)" ms %.0f "${longest[@]}"
stat_line "peak RSS of derbes" MB %.1f "${rss[@]}"
stat_line "writer to a cohort row, longest wait" ms %.1f "${waits[@]}"
echo "(under a single UPDATE a writer to a cohort row waits for the whole statement)"
rss_kib=$(printf '%s\n' "${rss[@]}" | sort -g | tail -n 1 | awk '{ printf "%.0f", $1 * 1024 }')
bench_record "anonymise --rule --jobs $jobs (rows/s)" "$rows rows, 4 indexes, 6 columns" rows/s %.0f "${derbes_rates[*]}" \
    "one UPDATE" "${plain_rates[*]}" "${ratio[*]}" ">= 1.13" "$rss_kib"
