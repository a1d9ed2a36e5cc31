#!/usr/bin/env bash
# Benchmark of `derbes block`: block 10,000 subjects given by IIN in a file, on a
# database of BENCH_BORROWERS borrowers (default 1,000,000), beside one hand-written
# set-based SQL transaction doing the same (resolve the IINs, set the status, bump the
# token version, revoke live sessions, write the history rows).
#
#   bash scripts/bench-block.sh                      # 1M borrowers in database derbes_bench
#   BENCH_BORROWERS=20000 BENCH_SUBJECTS=2000 bash scripts/bench-block.sh
#
# Figures: derbes --dry-run (the real run, rolled back), the committed run, and the
# hand-written SQL (rolled back), each as wall time of the whole process; the ratio
# compares derbes --dry-run with the hand-written SQL. The committed run is undone
# afterwards so the script can be run again (its audit rows stay: the log is
# append-only). Goal: <= 1 s for 10,000 subjects.
set -euo pipefail
cd "$(dirname "$0")/.."

BORROWERS="${BENCH_BORROWERS:-1000000}"
SUBJECTS="${BENCH_SUBJECTS:-10000}"
DB="${BENCH_DB:-derbes_bench}"
SERVER="${BENCH_SERVER:-host=127.0.0.1 port=5432 user=postgres}"
export DATABASE_URL="$SERVER dbname=$DB"
export DERBES_MAP="${DERBES_MAP:-examples/datamap.toml}"
export DERBES_OPERATOR=bench
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL")

# DERBES_BIN: a binary already built (skips the release build).
DERBES="${DERBES_BIN:-target/release/derbes}"
[ -n "${DERBES_BIN:-}" ] || cargo build --release --quiet --bin derbes

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# The database: created with the generator when missing or smaller than asked.
if ! psql -X -qtA "$SERVER dbname=postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    psql -X -q "$SERVER dbname=postgres" -c "CREATE DATABASE \"$DB\""
fi
have=-1
if [ "$("${PSQL[@]}" -tA -c "SELECT to_regclass('public.borrowers') IS NOT NULL")" = t ]; then
    have=$("${PSQL[@]}" -tA -c "SELECT count(*) FROM borrowers")
fi
if [ "$have" -lt "$BORROWERS" ]; then
    echo "preparing $DB with $BORROWERS borrowers (once) ..." >&2
    # A throwaway benchmark database: made afresh (sample init --force only replaces an
    # untouched sample, and earlier runs wrote audit rows).
    psql -X -q "$SERVER dbname=postgres" -c "DROP DATABASE \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
    "$DERBES" sample init --borrowers "$BORROWERS" >&2
fi
"$DERBES" migrate >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Subjects spread over the whole table, currently active.
"${PSQL[@]}" -tA -c "SELECT iin FROM borrowers WHERE status = 'active' ORDER BY hashint8(id) LIMIT $SUBJECTS" > "$work/subjects.txt"
count=$(wc -l < "$work/subjects.txt")
echo "database $DB: $("${PSQL[@]}" -tA -c "SELECT count(*) FROM borrowers") borrowers, $("${PSQL[@]}" -tA -c "SELECT count(*) FROM sessions") sessions; blocking $count subjects from a file"

run_derbes() {
    /usr/bin/time -f "%e %M" -o "$work/time" "$DERBES" --format json block --from-file "$work/subjects.txt" \
        --reason other --ticket BENCH --max "$count" --yes "$@" > "$work/report.json"
    read -r _ rss < "$work/time"
    echo "$rss"
}

# Warm the cache once so every variant reads the same pages.
run_derbes --dry-run >/dev/null

t0=$(now); rss_dry=$(run_derbes --dry-run); t1=$(now)
dry=$(elapsed "$t0" "$t1")

t0=$(now)
"${PSQL[@]}" <<SQL
\o /dev/null
BEGIN;
CREATE TEMP TABLE bench_iins (iin text) ON COMMIT DROP;
\copy bench_iins FROM '$work/subjects.txt'
CREATE TEMP TABLE bench_ids ON COMMIT DROP AS
    SELECT b.id FROM borrowers b JOIN bench_iins v ON b.iin = v.iin::char(12);
SELECT id FROM borrowers WHERE id IN (SELECT id FROM bench_ids) ORDER BY id FOR UPDATE;
UPDATE borrowers SET status = 'blocked', token_version = token_version + 1
    WHERE id IN (SELECT id FROM bench_ids);
UPDATE sessions SET revoked_at = now()
    WHERE borrower_id IN (SELECT id FROM bench_ids) AND revoked_at IS NULL;
INSERT INTO derbes.blocks (subject_table, subject_key, reason, ticket, selector, blocked_by)
    SELECT 'public.borrowers', id::text, 'other', 'BENCH', 'identity', 'bench' FROM bench_ids;
ROLLBACK;
SQL
t1=$(now)
hand=$(elapsed "$t0" "$t1")

started=$("${PSQL[@]}" -tA -c "SELECT now()")
t0=$(now); rss_real=$(run_derbes); t1=$(now)
real=$(elapsed "$t0" "$t1")
blocked=$(grep -c '"found_by"' "$work/report.json" || true)

# Undo the committed run (history rows closed, application state restored).
"${PSQL[@]}" <<SQL
BEGIN;
CREATE TEMP TABLE undo AS
    SELECT subject_key::bigint AS id FROM derbes.blocks
    WHERE ticket = 'BENCH' AND unblocked_at IS NULL AND blocked_at >= '$started';
UPDATE borrowers SET status = 'active', token_version = token_version - 1 WHERE id IN (SELECT id FROM undo);
UPDATE sessions SET revoked_at = NULL WHERE borrower_id IN (SELECT id FROM undo) AND revoked_at >= '$started';
UPDATE derbes.blocks SET unblocked_at = now(), unblocked_by = 'bench', unblock_ticket = 'BENCH',
       application_ref = 'bench-reset'
    WHERE ticket = 'BENCH' AND unblocked_at IS NULL;
COMMIT;
SQL

printf '\n%-46s %9s %12s\n' "variant ($count subjects, $BORROWERS borrowers)" "wall s" "peak RSS KiB"
printf '%-46s %9s %12s\n' "derbes block --dry-run (real run, rolled back)" "$dry" "$rss_dry"
printf '%-46s %9s %12s\n' "derbes block (committed)" "$real" "$rss_real"
printf '%-46s %9s %12s\n' "hand-written set-based SQL (psql, rolled back)" "$hand" "-"
awk -v d="$dry" -v h="$hand" 'BEGIN { printf "ratio derbes/hand-written: %.2f\n", d / h }'
echo "subject lines in the committed run's report: $blocked"
