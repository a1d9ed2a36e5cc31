#!/usr/bin/env bash
# Benchmark of `derbes report --format json` against the same counts written by hand
# in SQL and run through psql: every retention rule's tables counted in one pass each
# (rows, within, due, held per reason, oldest due; the held subjects and the
# last-loan ages computed once into temporary tables, as a DBA would), requests,
# breaches, nightly jobs from the audit log, blocks, archives, consents and policy
# versions. Both sides are whole processes on
# the same connection (no TLS); they alternate, BENCH_RUNS times (default 3), and
# each figure is printed as its median with the spread, with the ratio (goal <= 1.5)
# and derbes' peak RSS (`/usr/bin/time -v`).
#
# The k of the quasi-identifiers is computed only when a cohort was anonymised in the
# period, which these databases have not (a cohort run over their millions of usage
# rows would take far longer than the benchmark): both sides leave it out, and the k
# statement is timed alone, once per size, through psql.
#
# Memory is shown flat by a second, smaller database (BENCH_SMALL, default a tenth
# of BENCH_BORROWERS): derbes' peak RSS at both sizes.
#
#   bash scripts/bench-report.sh                          # 1,000,000 borrowers
#   BENCH_BORROWERS=100000 bash scripts/bench-report.sh   # a quicker run
#
# Databases `derbes_bench_report_<N>` are made with `derbes sample init` once and
# reused (loading 1,000,000 borrowers takes about a quarter of an hour).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
bash scripts/ensure-postgres.sh

borrowers=${BENCH_BORROWERS:-1000000}
small=${BENCH_SMALL:-$((borrowers / 10))}
runs=${BENCH_RUNS:-3}
psql_admin=(psql -X -h 127.0.0.1 -U postgres -d postgres -Atq)

cargo build --release --locked --quiet
derbes=${CARGO_TARGET_DIR:-$PWD/target}/release/derbes
export DERBES_MAP=examples/datamap.toml
export DERBES_OPERATOR=bench
work=$(mktemp -d "${TMPDIR:-/tmp}/derbes-bench-report.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The database of $1 borrowers, made once.
database() {
    local n=$1 db="derbes_bench_report_$1" have=0
    local url="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
    if [ -n "$("${psql_admin[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
        have=$(psql -X -Atq "$url" -c "SELECT count(*) FROM borrowers" 2>/dev/null || echo 0)
    fi
    if [ "$have" -lt "$n" ]; then
        echo "generating $n borrowers in $db (once; the database is reused)" >&2
        "${psql_admin[@]}" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\""
        DATABASE_URL=$url "$derbes" sample init --borrowers "$n" >/dev/null
    fi
    DATABASE_URL=$url "$derbes" migrate >/dev/null
    psql -X -Atq "$url" -c "ANALYZE" >/dev/null
    echo "$url"
}

# The hand-written counts: one statement per table and section.
hand_sql() {
    local all="open-loan blocked open-request"
    cat <<'SQL'
\o /dev/null
BEGIN ISOLATION LEVEL REPEATABLE READ;
CREATE TEMPORARY TABLE held ON COMMIT DROP AS
    SELECT DISTINCT borrower_id AS id, 'open-loan' AS reason FROM loans WHERE status IN ('open', 'overdue')
    UNION ALL SELECT id, 'blocked' FROM borrowers WHERE status = 'blocked'
    UNION ALL SELECT subject_key::bigint, 'blocked' FROM derbes.blocks
        WHERE subject_table = 'public.borrowers' AND unblocked_at IS NULL
    UNION ALL SELECT substr(subject_ref, 11)::bigint, 'open-request' FROM derbes.requests
        WHERE status = 'open' AND subject_ref LIKE 'borrowers:%';
CREATE TEMPORARY TABLE last_loan ON COMMIT DROP AS
    SELECT borrower_id AS id, CASE WHEN bool_and(closed_at IS NOT NULL) THEN max(closed_at) END AS last
    FROM loans GROUP BY 1;
ANALYZE held; ANALYZE last_loan;
SET TIME ZONE 'Asia/Almaty';
-- As derbes' snapshot does: the hashed IN (SELECT ...) lookups fit in memory.
SET LOCAL work_mem = '128MB';
SQL
    # table | period | aged from the last loan | holds | subject of t | time column | referenced
    while IFS='|' read -r table period from_loan holds subject time referenced; do
        [ -n "$table" ] || continue
        local own="t.$time < now() - interval '$period'"
        local past="coalesce($own, false)"
        if [ "$from_loan" = y ]; then
            past="CASE WHEN $subject IN (SELECT id FROM last_loan) THEN coalesce($subject IN (SELECT id FROM last_loan WHERE last < now() - interval '$period'), false) ELSE coalesce($own, false) END"
        fi
        [ "$holds" = all ] && holds=$all
        local cols="" i=0 any="false"
        for hold in $holds; do
            cols="$cols, $subject IN (SELECT id FROM held WHERE reason = '$hold') AS h$i"
            any="$any OR h$i"
            i=$((i + 1))
        done
        local counts="" j
        for ((j = 0; j < i; j++)); do counts="$counts, count(*) FILTER (WHERE past AND h$j)"; done
        echo "SELECT count(*), count(*) FILTER (WHERE past),
    count(*) FILTER (WHERE past AND NOT ($any) AND NOT refd),
    min(ts) FILTER (WHERE past AND NOT ($any) AND NOT refd)$counts,
    count(*) FILTER (WHERE past AND NOT ($any) AND refd)
FROM (SELECT $past AS past$cols, t.$time AS ts,
             CASE WHEN $past THEN ($referenced) ELSE false END AS refd
      FROM $table t OFFSET 0) x;"
    done <<'TABLES'
borrowers|5 years|y|all|t.id|created_at|EXISTS (SELECT 1 FROM addresses c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM identity_documents c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM contact_persons c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM employments c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM bank_cards c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM bank_accounts c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM photos c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM loans c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM devices c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM sessions c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM server_logs c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM cookies c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM usage_events c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM locations c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM consents c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM policy_notices c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM disclosures c WHERE c.borrower_id = t.id) OR EXISTS (SELECT 1 FROM support_messages c WHERE c.borrower_id = t.id)
addresses|5 years|y|all|t.borrower_id|created_at|false
identity_documents|5 years|y|all|t.borrower_id|created_at|false
contact_persons|5 years|y|all|t.borrower_id|created_at|false
employments|5 years|y|all|t.borrower_id|created_at|false
bank_cards|5 years|y|all|t.borrower_id|created_at|false
bank_accounts|5 years|y|all|t.borrower_id|created_at|false
loans|5 years|y|all|t.borrower_id|issued_at|EXISTS (SELECT 1 FROM payments c WHERE c.loan_id = t.id)
payments|5 years|y|all|(SELECT l.borrower_id FROM loans l WHERE l.id = t.loan_id)|paid_at|false
disclosures|5 years|y|all|t.borrower_id|disclosed_at|false
consents|5 years|y|all|t.borrower_id|granted_at|false
policy_notices|5 years|y|all|t.borrower_id|notified_at|false
photos|30 days|n|blocked open-request|t.borrower_id|taken_at|false
devices|1 year|n|all|t.borrower_id|last_seen|EXISTS (SELECT 1 FROM sessions c WHERE c.device_id = t.id)
sessions|1 year|n|all|t.borrower_id|started_at|false
server_logs|1 year|n||t.borrower_id|logged_at|false
cookies|13 months|n|all|t.borrower_id|set_at|false
usage_events|180 days|n|all|t.borrower_id|occurred_at|false
locations|90 days|n|all|t.borrower_id|recorded_at|false
support_messages|3 years|n|all|t.borrower_id|received_at|false
TABLES
    cat <<'SQL'
SELECT kind, status, received_on, due_on, (closed_at AT TIME ZONE 'Asia/Almaty')::date, count(*)
    FROM derbes.requests GROUP BY 1, 2, 3, 4, 5;
SELECT id, ticket, kind, received_on, due_on FROM derbes.requests WHERE status = 'open' AND due_on < current_date;
SELECT count(*) FILTER (WHERE notified_at IS NULL AND notify_by < current_date), count(*) FROM derbes.breaches;
SELECT (at AT TIME ZONE 'Asia/Almaty')::date, detail->>'rule', count(*),
       sum(coalesce((detail->>'deleted')::bigint, 0) + coalesce((detail->>'anonymised')::bigint, 0)),
       sum((detail->>'duration_ms')::float8) / 1000,
       count(*) FILTER (WHERE detail->>'status' IN ('failed', 'stopped'))
    FROM derbes.audit_log WHERE action = 'purge' AND detail ? 'status' AND at >= now() - interval '90 days'
    GROUP BY 1, 2;
SELECT (at AT TIME ZONE 'Asia/Almaty')::date, detail->>'rule', count(DISTINCT ticket)
    FROM derbes.audit_log WHERE action = 'anonymise' AND subject_ref IS NULL AND detail ? 'rule'
      AND at >= now() - interval '90 days' GROUP BY 1, 2;
SELECT operation, scope FROM derbes.jobs WHERE finished_at IS NULL;
SELECT date_trunc('month', blocked_at)::date, reason, count(*) FROM derbes.blocks
    WHERE blocked_at >= now() - interval '90 days' GROUP BY 1, 2;
SELECT reason, count(*) FROM derbes.blocks WHERE unblocked_at IS NULL GROUP BY 1;
SELECT date_trunc('month', keep_until)::date, count(*), sum(bytes) FROM derbes.archives WHERE keep_until > now() GROUP BY 1;
SELECT purpose,
       count(*) FILTER (WHERE granted_at <= now() AND (withdrawn_at IS NULL OR withdrawn_at > now())),
       count(*) FILTER (WHERE granted_at >= now() - interval '90 days'),
       count(*) FILTER (WHERE withdrawn_at >= now() - interval '90 days')
    FROM consents GROUP BY 1;
SELECT v.version, count(n.notified_at), count(n.objected_at)
    FROM policy_versions v LEFT JOIN policy_notices n ON n.policy_version_id = v.id GROUP BY 1;
COMMIT;
SQL
}

# The k of the quasi-identifiers, as `anonymise --report` and the report compute it.
k_sql() {
    cat <<'SQL'
SELECT min(n), count(*), sum(n) FROM (SELECT count(*) AS n FROM (
    SELECT b.birth_date::text AS q1, b.sex::text AS q2,
           (SELECT min(a.region::text) FROM addresses a WHERE a.borrower_id = b.id) AS q3
    FROM borrowers b) q GROUP BY q1, q2, q3) g;
SQL
}

ms() { date +%s%N; }
seconds() { awk -v ns="$1" 'BEGIN { printf "%.3f\n", ns / 1e9 }'; }

measure() {
    local url=$1 label=$2
    hand_sql >"$work/hand.sql"
    local hand=() report=() rss=() i t0 t1
    for ((i = 0; i < runs; i++)); do
        t0=$(ms)
        psql -X -q -v ON_ERROR_STOP=1 "$url" -f "$work/hand.sql" >/dev/null
        t1=$(ms)
        hand+=("$(seconds $((t1 - t0)))")
        t0=$(ms)
        DATABASE_URL=$url /usr/bin/time -v -o "$work/time.txt" \
            "$derbes" --format json report >"$work/report.json"
        t1=$(ms)
        report+=("$(seconds $((t1 - t0)))")
        rss+=("$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")")
    done
    echo "== $label"
    stat_line "hand-written SQL (psql)" s "%.3f" "${hand[@]}"
    stat_line "derbes report --format json" s "%.3f" "${report[@]}"
    # shellcheck disable=SC2046
    stat_line "ratio derbes / hand-written (goal <= 1.5)" x "%.2f" $(ratios "${report[*]}" "${hand[*]}")
    stat_line "derbes peak RSS" kB "%.0f" "${rss[@]}"
    k_sql >"$work/k.sql"
    t0=$(ms)
    psql -X -q -v ON_ERROR_STOP=1 "$url" -f "$work/k.sql" >/dev/null
    t1=$(ms)
    echo "k of the quasi-identifiers alone (psql, once): $(seconds $((t1 - t0))) s"
}

big=$(database "$borrowers")
small_url=$(database "$small")
measure "$small_url" "$small borrowers"
measure "$big" "$borrowers borrowers"
