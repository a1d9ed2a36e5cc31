#!/usr/bin/env bash
# The demo of the README: a local database `derbes_demo` with the reference schema and
# ~1,000 synthetic borrowers, the derbes schema and a check of the data map; then what
# support, on-call and the DPO do with it: look a subject up, export what is held about
# them (age-encrypted), block accounts as a dry run, archive expired rows before a purge,
# show what a retention purge would delete (dry run), write the DPO's report and verify
# the audit trail. Outputs go to demo-out/ (keys, bundle, archive, report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
cargo build --locked --quiet
derbes=./target/debug/derbes

psql -h 127.0.0.1 -U postgres -d postgres -qc 'DROP DATABASE IF EXISTS derbes_demo WITH (FORCE)' -c 'CREATE DATABASE derbes_demo'
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/derbes_demo?sslmode=disable"
export DERBES_MAP=examples/datamap.toml
export DERBES_OPERATOR=demo

rm -rf demo-out && mkdir -m 700 demo-out
age-keygen -o demo-out/dpo-key.txt 2>/dev/null
recipient=$(age-keygen -y demo-out/dpo-key.txt)
# The masking key of hmac columns (erase, anonymise, purge's anonymise rules): 32
# random bytes, kept like the other secrets (production keeps it off the database
# server, e.g. in the secrets manager the cron job reads).
(umask 077 && head -c 32 /dev/urandom | base64 > demo-out/mask.key)
# The audit key of rectify's keyed hashes (old and new values), kept the same way.
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > demo-out/audit.key)
mkdir -m 700 demo-out/purge-archives

set -x
# Pinned: the same 1,000 borrowers (ages, loan dates, minors) whatever day the demo runs.
$derbes sample init --borrowers 1000 --seed 42 --as-of 2026-11-01
$derbes migrate
$derbes map check

# The DBA: least-privilege group roles from the data map (reviewable SQL, run as the
# tables' owner), and one login per kind of user: nobody below runs as postgres.
$derbes roles --print-sql > demo-out/roles.sql
psql -h 127.0.0.1 -U postgres -d derbes_demo -q -v ON_ERROR_STOP=1 -f demo-out/roles.sql
for who in support oncall dpo; do
    psql -h 127.0.0.1 -U postgres -d derbes_demo -q -v ON_ERROR_STOP=1 \
        -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_$who') THEN CREATE ROLE demo_$who LOGIN; END IF; END \$\$" \
        -c "GRANT derbes_$who TO demo_$who"
done
as() { echo "postgres://demo_$1@127.0.0.1:5432/derbes_demo?sslmode=disable"; }

# Support: who is borrower 1, and everything held about them (Law 94-V Art. 24).
$derbes --db "$(as support)" subject show id:1
$derbes --db "$(as support)" export id:1 --ticket DEMO-ACCESS-1 --recipient "$recipient" --out demo-out/subject-1.age
age -d -i demo-out/dpo-key.txt demo-out/subject-1.age | tar -t

# On-call: block two compromised accounts, as a dry run (the real run, rolled back).
$derbes --db "$(as oncall)" block id:2 id:3 --reason compromised --ticket DEMO-INC-7 --dry-run

# DPO: archive loan records past their 5 years (archive-then-delete rule) before a purge.
$derbes --db "$(as dpo)" archive dump --rule loan-records --ticket DEMO-RET-1 --recipient "$recipient" --out demo-out/loan-records.age --yes
$derbes --db "$(as dpo)" archive verify demo-out/loan-records.age --identity demo-out/dpo-key.txt

# DPO's nightly retention job, as a dry run: per rule, what is due, the oldest, and
# what is held back and why (cut-offs pinned to the population's date).
$derbes --db "$(as dpo)" purge --dry-run --as-of 2026-11-01 --ticket DEMO-RET-2 \
    --archive-dir demo-out/purge-archives --recipient "$recipient" --key-file demo-out/mask.key

# DPO: the report for the regulator and the board (counts and references only).
$derbes --db "$(as dpo)" report --out demo-out/report.html

$derbes --db "$(as dpo)" audit log
$derbes --db "$(as dpo)" audit verify
set +x

cat <<EOF

The demo database is ready. To use it from your own shell:
  cargo install --locked --path .
  export DATABASE_URL="$(as support)" DERBES_MAP=$DERBES_MAP   # demo_oncall, demo_dpo for the others
  export DERBES_AUDIT_KEY_FILE=$PWD/demo-out/audit.key   # rectify's audit key
  derbes subject show id:1
Keys are in demo-out/ (dpo-key.txt opens the export and archives; mask.key is the
masking key; audit.key keys rectify's audit hashes; keep such files out of the
repository and off the database server).
EOF
