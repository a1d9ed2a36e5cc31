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
# compares derbes --dry-run with the hand-written SQL. The variants alternate,
# BENCH_RUNS times (default 3); each figure and the ratio are printed as median (min,
# max). Any failed run, or a run that did not block every subject, fails the script.
# Each committed run is undone afterwards so the next one (and the next invocation)
# starts from the same state (its audit rows stay: the log is append-only).
# Goal: <= 1 s for 10,000 subjects.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh

BORROWERS="${BENCH_BORROWERS:-1000000}"
SUBJECTS="${BENCH_SUBJECTS:-10000}"
RUNS="${BENCH_RUNS:-3}"
DB="${BENCH_DB:-derbes_bench}"
SERVER="${BENCH_SERVER:-host=127.0.0.1 port=5432 user=postgres}"
export DATABASE_URL="$SERVER dbname=$DB"
export DERBES_MAP="${DERBES_MAP:-examples/datamap.toml}"
export DERBES_OPERATOR=bench
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL")

# DERBES_BIN: a binary already built (skips the release build).
bench_binary
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# The database: created with the generator when missing or smaller than asked.
BORROWERS=$(bench_sample_db "$SERVER" "$DB" "$BORROWERS")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Subjects spread over the whole table, currently active.
"${PSQL[@]}" -tA -c "SELECT iin FROM borrowers WHERE status = 'active' ORDER BY hashint8(id) LIMIT $SUBJECTS" > "$work/subjects.txt"
count=$(wc -l < "$work/subjects.txt")
echo "database $DB: $("${PSQL[@]}" -tA -c "SELECT count(*) FROM borrowers") borrowers, $("${PSQL[@]}" -tA -c "SELECT count(*) FROM sessions") sessions; blocking $count subjects from a file"

# One derbes block run; prints its peak RSS (KiB). Fails the script unless it
# succeeded and its report lists every subject.
run_derbes() {
    if ! /usr/bin/time -f "%e %M" -o "$work/time" "$DERBES" --format json block --from-file "$work/subjects.txt" \
        --reason other --ticket BENCH --max "$count" --yes "$@" > "$work/report.json"; then
        echo "derbes block $* failed" >&2
        exit 1
    fi
    local listed
    listed=$(grep -o '"found_by"' "$work/report.json" | wc -l)
    if [ "$listed" -ne "$count" ]; then
        echo "derbes block $* reported $listed subjects of $count" >&2
        exit 1
    fi
    local rss
    read -r _ rss < "$work/time"
    echo "$rss"
}

run_hand() {
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
}

# Undo a committed run (history rows closed, application state restored).
undo_committed() {
    "${PSQL[@]}" <<SQL
BEGIN;
CREATE TEMP TABLE undo AS
    SELECT subject_key::bigint AS id FROM derbes.blocks
    WHERE ticket = 'BENCH' AND unblocked_at IS NULL AND blocked_at >= '$1';
UPDATE borrowers SET status = 'active', token_version = token_version - 1 WHERE id IN (SELECT id FROM undo);
UPDATE sessions SET revoked_at = NULL WHERE borrower_id IN (SELECT id FROM undo) AND revoked_at >= '$1';
UPDATE derbes.blocks SET unblocked_at = now(), unblocked_by = 'bench', unblock_ticket = 'BENCH',
       application_ref = 'bench-reset'
    WHERE ticket = 'BENCH' AND unblocked_at IS NULL;
COMMIT;
SQL
}

# Warm the cache once so every variant reads the same pages.
run_derbes --dry-run >/dev/null

dry=() hand=() real=() rss_dry=0 rss_real=0
time_dry() {
    local t0 t1 rss
    t0=$(now); rss=$(run_derbes --dry-run); t1=$(now)
    dry+=("$(elapsed "$t0" "$t1")"); [ "$rss" -gt "$rss_dry" ] && rss_dry=$rss
    return 0
}
time_hand() {
    local t0 t1
    t0=$(now); run_hand; t1=$(now)
    hand+=("$(elapsed "$t0" "$t1")")
}
time_real() {
    local t0 t1 rss started
    started=$("${PSQL[@]}" -tA -c "SELECT now()")
    t0=$(now); rss=$(run_derbes); t1=$(now)
    real+=("$(elapsed "$t0" "$t1")"); [ "$rss" -gt "$rss_real" ] && rss_real=$rss
    undo_committed "$started"
}
for i in $(seq 1 "$RUNS"); do
    if [ $((i % 2)) -eq 1 ]; then time_dry; time_hand; else time_hand; time_dry; fi
    time_real
done

echo
echo "$count subjects, $BORROWERS borrowers; wall time of each whole process:"
stat_line "derbes block --dry-run (rolled back)" s %.3f "${dry[@]}"
stat_line "derbes block (committed)" s %.3f "${real[@]}"
stat_line "hand-written set-based SQL (rolled back)" s %.3f "${hand[@]}"
mapfile -t ratio < <(ratios "${dry[*]}" "${hand[*]}")
stat_line "ratio derbes --dry-run / hand-written" x %.2f "${ratio[@]}"
echo "peak RSS: --dry-run ${rss_dry} KiB, committed ${rss_real} KiB"
bench_record "block --from-file (--dry-run)" "$count subjects, $BORROWERS borrowers" s %.2f "${dry[*]}" \
    "set-based SQL" "${hand[*]}" "${ratio[*]}" "<= 1.0" "$rss_dry"
