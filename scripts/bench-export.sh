#!/usr/bin/env bash
# Benchmark of `derbes export`: one subject with ~10k rows (BENCH_SUBJECT_LOGS log rows
# plus a row in every other table) in a database of BENCH_BORROWERS borrowers
# (database `derbes_bench`, reused when it is already big enough), against the same
# SELECTs run raw through psql (COPY ... TO STDOUT). Like is compared with like:
#
#   queries:        derbes' `query_ms` (its JSON report: every query of the bundle,
#                   rows streamed into the tar writer; no start-up, no connection) against
#                   the raw COPYs timed inside one psql session (\timing, summed);
#   whole process:  `derbes export` (start, connect, catalogue, queries, encryption,
#                   audit row) against the whole psql process, both on sslmode=disable.
#
# The two sides alternate, BENCH_RUNS times (default 5); each figure and each ratio is
# printed as its median with the spread (min, max). Also the export's peak memory.
#
#   bash scripts/bench-export.sh                       # 1M borrowers (~20M log rows)
#   BENCH_BORROWERS=20000 bash scripts/bench-export.sh  # a quick run
#   BENCH_DB=other_db ...                              # another database than derbes_bench
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
bash scripts/ensure-postgres.sh

borrowers=${BENCH_BORROWERS:-1000000}
subject_logs=${BENCH_SUBJECT_LOGS:-10000}
runs=${BENCH_RUNS:-5}
db=${BENCH_DB:-derbes_bench}
psql_bench=(psql -h 127.0.0.1 -U postgres -d "$db" -Atq -v ON_ERROR_STOP=1)

bench_binary
derbes=$DERBES
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
export DERBES_MAP=examples/datamap.toml
export DERBES_OPERATOR=bench

# The database: `derbes sample init` when missing or smaller than asked, else reused.
have=$(bench_sample_db "host=127.0.0.1 port=5432 user=postgres sslmode=disable" "$db" "$borrowers")

# The benchmark subject: a fixed, valid IIN, ~10k rows.
iin=900101300037
key=$("${psql_bench[@]}" -c "SELECT id FROM borrowers WHERE iin = '$iin'")
if [ -z "$key" ]; then
    key=$("${psql_bench[@]}" <<SQL | tail -n 1
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'server_logs'::regclass) THEN
        CREATE TABLE server_logs_bench PARTITION OF server_logs DEFAULT;
    END IF;
END \$\$;
INSERT INTO borrowers (iin, last_name, first_name, birth_date, sex, email, phone)
    VALUES ('$iin', 'Benchova', 'Aigerim', '1990-01-01', 'F', 'bench@example.kz', '+77019990000');
WITH b AS (SELECT id FROM borrowers WHERE iin = '$iin'),
     l AS (INSERT INTO loans (borrower_id, contract_no, principal, rate_percent, issued_at, due_on, status)
           SELECT id, 'BENCH-' || g, 50000, 5, now() - g * interval '30 days', current_date, 'closed'
           FROM b, generate_series(1, 12) g RETURNING id)
INSERT INTO payments (loan_id, paid_at, amount, channel) SELECT id, now(), 1000, 'card' FROM l;
INSERT INTO sessions (borrower_id, ip, started_at, last_seen_at)
    SELECT id, '10.9.9.9', now() - g * interval '1 hour', now() FROM borrowers, generate_series(1, 200) g WHERE iin = '$iin';
INSERT INTO usage_events (borrower_id, occurred_at, event, screen)
    SELECT id, now() - g * interval '1 minute', 'tap', 'home' FROM borrowers, generate_series(1, 500) g WHERE iin = '$iin';
INSERT INTO server_logs (logged_at, borrower_id, ip, method, path, status)
    SELECT now() - g * interval '1 second', id, '10.9.9.9', 'GET', '/bench/' || g, 200
    FROM borrowers, generate_series(1, $subject_logs) g WHERE iin = '$iin';
ANALYZE;
SELECT id FROM borrowers WHERE iin = '$iin';
SQL
)
fi
rows=$("${psql_bench[@]}" -c "SELECT (SELECT count(*) FROM server_logs WHERE borrower_id = $key)
    + (SELECT count(*) FROM sessions WHERE borrower_id = $key) + (SELECT count(*) FROM usage_events WHERE borrower_id = $key)
    + (SELECT count(*) FROM loans WHERE borrower_id = $key)")

# The same SELECTs the export runs (every column as text, by the subject key), raw,
# in one session: psql's \timing gives each statement's time as the client sees it.
raw_sql=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$raw_sql" "$work"' EXIT
{
    echo '\o /dev/null'
    echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
    printf '%s\n' '\timing on'
    echo "COPY (SELECT * FROM borrowers WHERE id = $key ORDER BY id) TO STDOUT (FORMAT csv, HEADER);"
    for t in addresses identity_documents contact_persons employments bank_cards bank_accounts photos loans \
             devices sessions server_logs cookies usage_events locations consents policy_notices disclosures support_messages; do
        echo "COPY (SELECT * FROM $t WHERE borrower_id = $key ORDER BY id) TO STDOUT (FORMAT csv, HEADER);"
    done
    echo "COPY (SELECT p.* FROM payments p JOIN loans l ON l.id = p.loan_id WHERE l.borrower_id = $key ORDER BY p.id) TO STDOUT (FORMAT csv, HEADER);"
    printf '%s\n' '\timing off'
    echo "COMMIT;"
} >"$raw_sql"
statements=$(grep -c '^COPY' "$raw_sql")
# Both sides as whole processes on the same connection settings (no TLS).
psql_raw=(psql -X -Atq -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$raw_sql")

age-keygen -o "$work/key.txt" 2>/dev/null
recipient=$(sed -n 's/^# public key: //p' "$work/key.txt")

ms() { date +%s%N; }
raw_session=() raw_process=() export_query=() export_process=()
run_raw() {
    local t0 t1 timings
    t0=$(ms)
    "${psql_raw[@]}" >"$work/raw.out"
    t1=$(ms)
    timings=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$work/raw.out")
    if [ "$(printf '%s\n' "$timings" | grep -c .)" -ne "$statements" ]; then
        echo "psql printed $(printf '%s\n' "$timings" | grep -c .) timings for $statements statements:" >&2
        cat "$work/raw.out" >&2
        exit 1
    fi
    raw_session+=("$(printf '%s\n' "$timings" | awk '{ s += $1 } END { printf "%.1f", s }')")
    raw_process+=("$(( (t1 - t0) / 1000000 ))")
}
run_export() {
    local t0 t1 q
    t0=$(ms)
    "$derbes" --format json export "id:$key" --ticket BENCH --recipient "$recipient" --out "$work/b.age" --force >"$work/report.json"
    t1=$(ms)
    q=$(sed -n 's/.*"query_ms": *\([0-9.]*\).*/\1/p' "$work/report.json")
    [ -n "$q" ] || { echo "no query_ms in the export's report" >&2; exit 1; }
    export_query+=("$q")
    export_process+=("$(( (t1 - t0) / 1000000 ))")
}
# One warm-up of each, then the sides alternate (which goes first flips every run).
run_raw; run_export
raw_session=() raw_process=() export_query=() export_process=()
for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) -eq 1 ]; then run_raw; run_export; else run_export; run_raw; fi
done
/usr/bin/time -v "$derbes" export "id:$key" --ticket BENCH --recipient "$recipient" --out "$work/b.age" --force \
    >/dev/null 2>"$work/time.txt"
peak_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
bundle_bytes=$(stat -c %s "$work/b.age")

echo "database:        $have borrowers"
echo "subject:         id:$key, ~$rows rows"
echo "queries (no start-up, no connection):"
stat_line "  raw COPYs, one psql session (\\timing)" ms %.1f "${raw_session[@]}"
stat_line "  derbes export query_ms (goal <= 100)" ms %.1f "${export_query[@]}"
mapfile -t q_ratio < <(ratios "${export_query[*]}" "${raw_session[*]}")
stat_line "  ratio derbes / raw (goal <= 2x)" x %.2f "${q_ratio[@]}"
echo "whole processes (start, connect, sslmode=disable, ...):"
stat_line "  psql -f (the same COPYs)" ms %.0f "${raw_process[@]}"
stat_line "  derbes export (+ catalogue, age, audit)" ms %.0f "${export_process[@]}"
mapfile -t p_ratio < <(ratios "${export_process[*]}" "${raw_process[*]}")
stat_line "  ratio derbes / psql" x %.2f "${p_ratio[@]}"
echo "peak RSS:        ${peak_kb} kB"
echo "bundle:          ${bundle_bytes} bytes (age)"
bench_record "export (whole process)" "subject of $rows rows, $have borrowers" ms %.0f "${export_process[*]}" \
    "psql -f, same COPYs" "${raw_process[*]}" "${p_ratio[*]}" "<= 1.5" "$peak_kb"
