-- Least-privilege group roles for derbes, generated from the data map and the
-- catalogue by `derbes roles --print-sql`. Review, then run as the tables' owner
-- (or a role with CREATEROLE that may grant on them), e.g. with psql -1 -f.
-- Running it again is safe: existing roles are kept and their privileges on
-- these schemas are reset to what follows.
--
-- The roles cannot log in. Make each person's login a member of one:
--   GRANT "derbes_support" TO <login>;   -- support staff: subject show, export, rectify, consent, request, policy, disclosure
--   GRANT "derbes_oncall" TO <login>;   -- on-call engineers: block, unblock, block list, breach
--   GRANT "derbes_dpo" TO <login>;   -- the DPO: purge, anonymise, erase, archive, breach, request, audit
--
-- None is a superuser or owns a table. Dropping or detaching an expired
-- partition (purge of a partitioned table) needs the table's owner in
-- PostgreSQL, which no grant gives: where partition rules are used, the DBA
-- grants the owner role to the DPO's login explicitly; this script does not.
-- Temporary tables (archive, purge, anonymise) use the TEMPORARY privilege
-- on the database, which PUBLIC has by default.

BEGIN;

-- Create the roles that do not exist; refuse one that exists but may log in
-- or is a superuser (a person's login must not become a group).
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['derbes_support', 'derbes_oncall', 'derbes_dpo'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);
        ELSIF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r
                      AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolbypassrls)) THEN
            RAISE EXCEPTION 'role % exists and can log in or has a superuser attribute: it is not a derbes group role', r;
        END IF;
    END LOOP;
END
$$;

-- Start from nothing on these schemas, so a rerun after the map changed
-- leaves exactly the grants below.
REVOKE ALL ON ALL TABLES IN SCHEMA "derbes" FROM "derbes_support", "derbes_oncall", "derbes_dpo";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA "derbes" FROM "derbes_support", "derbes_oncall", "derbes_dpo";
REVOKE ALL ON ALL TABLES IN SCHEMA "public" FROM "derbes_support", "derbes_oncall", "derbes_dpo";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA "public" FROM "derbes_support", "derbes_oncall", "derbes_dpo";

-- Every role: the schemas of the mapped tables and derbes' own.
GRANT USAGE ON SCHEMA "derbes", "public" TO "derbes_support", "derbes_oncall", "derbes_dpo";

-- every role: find the subject, show and export what is held, check the map (the gate)
GRANT SELECT ON TABLE "public"."addresses" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."bank_accounts" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."bank_cards" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."borrowers" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."consents" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."contact_persons" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."cookies" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."devices" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."disclosures" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."employments" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."identity_documents" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."loans" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."locations" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."payments" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."photos" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."policy_notices" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."policy_versions" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."server_logs" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."sessions" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."support_messages" TO "derbes_support", "derbes_oncall", "derbes_dpo";
GRANT SELECT ON TABLE "public"."usage_events" TO "derbes_support", "derbes_oncall", "derbes_dpo";

-- every role: the gate checks derbes' schema is current and unmodified
GRANT SELECT ON TABLE "derbes"."schema_migrations" TO "derbes_support", "derbes_oncall", "derbes_dpo";

-- every role: every change appends its audit row after reading the chain's head
GRANT SELECT, INSERT ON TABLE "derbes"."audit_log" TO "derbes_support", "derbes_oncall", "derbes_dpo";

-- every role: appends are serialised by LOCK TABLE ... IN EXCLUSIVE MODE, which needs UPDATE; the table can hold no row
GRANT UPDATE ON TABLE "derbes"."audit_lock" TO "derbes_support", "derbes_oncall", "derbes_dpo";

-- every role: subject show lists blocks; a block is a legal hold
GRANT SELECT ON TABLE "derbes"."blocks" TO "derbes_support", "derbes_oncall", "derbes_dpo";

-- every role: --request is checked before a change; an open request is a legal hold
GRANT SELECT ON TABLE "derbes"."requests" TO "derbes_support", "derbes_oncall", "derbes_dpo";

-- every role: --breach is checked before a change
GRANT SELECT ON TABLE "derbes"."breaches" TO "derbes_support", "derbes_oncall", "derbes_dpo";

-- "derbes_support": rectify changes only the columns the map marks rectify = true
GRANT UPDATE ("city", "flat", "house", "postcode", "region", "street") ON TABLE "public"."addresses" TO "derbes_support";
GRANT UPDATE ("bank_bic", "iban") ON TABLE "public"."bank_accounts" TO "derbes_support";
GRANT UPDATE ("bin", "citizenship", "dependants", "email", "first_name", "is_beneficial_owner", "last_name", "marital_status", "patronymic", "pep_relation", "phone") ON TABLE "public"."borrowers" TO "derbes_support";
GRANT UPDATE ("full_name", "phone", "relation") ON TABLE "public"."contact_persons" TO "derbes_support";
GRANT UPDATE ("employer_address", "employer_bin", "employer_name", "monthly_income", "position") ON TABLE "public"."employments" TO "derbes_support";
GRANT UPDATE ("doc_number", "expires_on", "issued_by", "issued_on") ON TABLE "public"."identity_documents" TO "derbes_support";

-- "derbes_support": consent grant and withdraw
GRANT INSERT, UPDATE ON TABLE "public"."consents" TO "derbes_support";

-- "derbes_support": policy publish records the version
GRANT INSERT ON TABLE "public"."policy_versions" TO "derbes_support";

-- "derbes_support": policy publish notifies each subject; policy objection records the objection
GRANT INSERT, UPDATE ON TABLE "public"."policy_notices" TO "derbes_support";

-- "derbes_support": disclosure record
GRANT INSERT ON TABLE "public"."disclosures" TO "derbes_support";

-- "derbes_support": request open, extend, close
GRANT INSERT, UPDATE ON TABLE "derbes"."requests" TO "derbes_support";

-- "derbes_support": policy publish records each publication once
GRANT SELECT, INSERT ON TABLE "derbes"."policy_publications" TO "derbes_support";

-- "derbes_oncall": block and unblock set the status, revoke sessions and bump the token version
GRANT UPDATE ("status", "token_version") ON TABLE "public"."borrowers" TO "derbes_oncall";
GRANT UPDATE ("revoked_at") ON TABLE "public"."sessions" TO "derbes_oncall";

-- "derbes_oncall": block writes a history row per subject; unblock closes it
GRANT INSERT, UPDATE ON TABLE "derbes"."blocks" TO "derbes_oncall";

-- "derbes_oncall", "derbes_dpo": breach open and close
GRANT INSERT, UPDATE ON TABLE "derbes"."breaches" TO "derbes_oncall", "derbes_dpo";

-- "derbes_dpo": purge and erase delete, anonymise masks, archive restore inserts
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."addresses" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."bank_accounts" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."bank_cards" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."borrowers" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."consents" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."contact_persons" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."cookies" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."devices" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."disclosures" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."employments" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."identity_documents" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."loans" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."locations" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."payments" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."photos" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."policy_notices" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."policy_versions" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."server_logs" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."sessions" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."support_messages" TO "derbes_dpo";
GRANT INSERT, UPDATE, DELETE ON TABLE "public"."usage_events" TO "derbes_dpo";

-- "derbes_dpo": checkpoints of purge, anonymise and restore runs
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "derbes"."jobs" TO "derbes_dpo";

-- "derbes_dpo": the archive catalogue: dump adds, expire removes
GRANT SELECT, INSERT, DELETE ON TABLE "derbes"."archives" TO "derbes_dpo";

-- "derbes_dpo": an archive run in progress, so another refuses
GRANT SELECT, INSERT, DELETE ON TABLE "derbes"."archive_runs" TO "derbes_dpo";

-- "derbes_dpo": anonymise --rule marks the cohort it took
GRANT SELECT, INSERT, UPDATE ON TABLE "derbes"."cohort_marks" TO "derbes_dpo";

-- "derbes_dpo": anonymise --rule keeps the keys still to do
GRANT SELECT, INSERT, DELETE ON TABLE "derbes"."cohort_pending" TO "derbes_dpo";

-- "derbes_dpo": report counts notices and objections per policy version
GRANT SELECT ON TABLE "public"."policy_versions" TO "derbes_dpo";

-- "derbes_dpo": erase records each erasure (append-only), archive restore reads them
GRANT SELECT, INSERT ON TABLE "derbes"."erasures" TO "derbes_dpo";

-- "derbes_support": the sequences of the tables it inserts into (USAGE: serial defaults; UPDATE: archive restore moves them past the keys it restored)
GRANT USAGE ON SEQUENCE "derbes"."policy_publications_id_seq" TO "derbes_support";
GRANT USAGE ON SEQUENCE "derbes"."requests_id_seq" TO "derbes_support";
GRANT USAGE ON SEQUENCE "public"."consents_id_seq" TO "derbes_support";
GRANT USAGE ON SEQUENCE "public"."disclosures_id_seq" TO "derbes_support";
GRANT USAGE ON SEQUENCE "public"."policy_notices_id_seq" TO "derbes_support";
GRANT USAGE ON SEQUENCE "public"."policy_versions_id_seq" TO "derbes_support";

-- "derbes_oncall": the sequences of the tables it inserts into (USAGE: serial defaults; UPDATE: archive restore moves them past the keys it restored)
GRANT USAGE ON SEQUENCE "derbes"."blocks_id_seq" TO "derbes_oncall";
GRANT USAGE ON SEQUENCE "derbes"."breaches_id_seq" TO "derbes_oncall";

-- "derbes_dpo": the sequences of the tables it inserts into (USAGE: serial defaults; UPDATE: archive restore moves them past the keys it restored)
GRANT USAGE ON SEQUENCE "derbes"."archive_runs_id_seq" TO "derbes_dpo";
GRANT USAGE ON SEQUENCE "derbes"."archives_id_seq" TO "derbes_dpo";
GRANT USAGE ON SEQUENCE "derbes"."breaches_id_seq" TO "derbes_dpo";
GRANT USAGE ON SEQUENCE "derbes"."erasures_id_seq" TO "derbes_dpo";
GRANT USAGE ON SEQUENCE "derbes"."jobs_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."addresses_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."bank_accounts_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."bank_cards_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."borrowers_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."consents_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."contact_persons_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."cookies_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."devices_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."disclosures_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."employments_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."identity_documents_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."loans_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."locations_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."payments_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."photos_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."policy_notices_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."policy_versions_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."server_logs_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."sessions_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."support_messages_id_seq" TO "derbes_dpo";
GRANT USAGE, UPDATE ON SEQUENCE "public"."usage_events_id_seq" TO "derbes_dpo";

-- The audit log is append-only: no role may change or remove its rows, whatever
-- was granted before (its triggers refuse it too; this refuses it earlier).
REVOKE UPDATE, DELETE, TRUNCATE ON TABLE "derbes"."audit_log" FROM "derbes_support", "derbes_oncall", "derbes_dpo";

COMMIT;
