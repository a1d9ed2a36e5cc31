//! Issue 22, defect 4: the check behind every "other subjects untouched" assertion
//! (`support::others_checksums`, run before and after a real erase, anonymise,
//! rectify, consent withdraw and grant, and unblock) is itself checked here: it
//! sees a change to any other subject's row (or a row of nobody) in any table, and
//! none to the subject's own rows.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::erase::{MORE_OF_A, SUBJECTS};
use crate::support::{others_checksums, TestDb, SUBJECT_TABLES};

/// The tables whose checksum differs between `a` and `b`.
fn differing(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same tables are checked"
    );
    a.iter()
        .filter(|(table, sum)| b.get(*table) != Some(*sum))
        .map(|(table, _)| table.clone())
        .collect()
}

/// Run `sql` (with the subject keys as `$1`) in a transaction that does not check
/// foreign keys (so any one row can go), take the checksums of subject 900001's
/// others, and roll back.
async fn checksums_after(client: &Client, sql: &str) -> BTreeMap<String, String> {
    client
        .batch_execute("BEGIN; SET LOCAL session_replication_role = replica")
        .await
        .unwrap();
    let changed = client
        .execute(sql, &[&vec![900001_i64]])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(changed, 1, "one row changed by {sql}");
    let sums = others_checksums(client, 900001).await;
    client.batch_execute("ROLLBACK").await.unwrap();
    sums
}

/// Issue 22, defect 4: `others_checksums` notices one row of another subject
/// deleted in any mapped table (payments reached through their loan, a server log
/// line of nobody, a policy version), another subject's row masked, or a row moved
/// to the subject; and notices nothing when only the subject's own rows change.
#[tokio::test]
async fn others_checksums_see_a_change_to_anyone_else_in_any_table_and_none_to_the_subject() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client.batch_execute(SUBJECTS).await.unwrap();
    client.batch_execute(MORE_OF_A).await.unwrap();
    // A loan of the subject without payments: the own row of loans deleted below
    // (deleting a loan with payments would leave them nobody's, hence others').
    client
        .batch_execute(
            "INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, closed_at, status) \
             VALUES (900003, 900001, 'T-900003', 1000, 0.5, now() - interval '8 years', \
                     (now() - interval '8 years')::date + 30, now() - interval '8 years', 'closed')",
        )
        .await
        .unwrap();
    let before = others_checksums(&client, 900001).await;
    assert_eq!(others_checksums(&client, 900001).await, before, "stable");
    for (table, key, mine) in SUBJECT_TABLES {
        // One row of somebody else goes: that table's checksum, and only it, changes.
        let others = format!(
            "DELETE FROM public.{table} t WHERE ({key}) IN \
             (SELECT {key} FROM public.{table} t WHERE NOT coalesce(({mine}), false) \
              ORDER BY {key} LIMIT 1)"
        );
        assert_eq!(
            differing(&before, &checksums_after(&client, &others).await),
            [table.to_string()],
            "another subject's row of {table} deleted"
        );
        // One row of the subject goes (its newest, of loans the one without
        // payments): nothing changes.
        let newest: Vec<String> = key.split(", ").map(|k| format!("{k} DESC")).collect();
        let own = format!(
            "DELETE FROM public.{table} t WHERE ({key}) IN \
             (SELECT {key} FROM public.{table} t WHERE {mine} ORDER BY {} LIMIT 1)",
            newest.join(", ")
        );
        assert!(
            differing(&before, &checksums_after(&client, &own).await).is_empty(),
            "the subject's own row of {table} deleted"
        );
    }
    for (sql, table) in [
        // A server log line of nobody (borrower_id NULL) counts as somebody else's.
        (
            "DELETE FROM server_logs WHERE (id, logged_at) IN (SELECT id, logged_at \
             FROM server_logs WHERE borrower_id IS NULL ORDER BY id LIMIT 1) \
             AND cardinality($1::bigint[]) = 1",
            "server_logs",
        ),
        // A payment of another subject's loan.
        (
            "DELETE FROM payments WHERE id = (SELECT p.id FROM payments p JOIN loans l \
             ON l.id = p.loan_id WHERE l.borrower_id <> ALL($1) ORDER BY p.id LIMIT 1)",
            "payments",
        ),
        // A masking UPDATE that reached one other subject.
        (
            "UPDATE borrowers SET last_name = '[redacted]' WHERE id = \
             (SELECT min(id) FROM borrowers WHERE id <> ALL($1))",
            "borrowers",
        ),
        // Another subject's device handed to the subject.
        (
            "UPDATE devices SET borrower_id = ($1)[1] WHERE id = \
             (SELECT min(id) FROM devices WHERE borrower_id <> ALL($1))",
            "devices",
        ),
        // A table that names no subject is checked whole.
        (
            "UPDATE policy_versions SET text_sha256 = repeat('0', 64) WHERE id = \
             (SELECT min(id) FROM policy_versions) AND cardinality($1::bigint[]) = 1",
            "policy_versions",
        ),
    ] {
        assert_eq!(
            differing(&before, &checksums_after(&client, sql).await),
            [table],
            "{sql}"
        );
    }
    // The subject's own rows masked: nothing changes.
    assert!(differing(
        &before,
        &checksums_after(
            &client,
            "UPDATE borrowers SET last_name = '[redacted]' WHERE id = ANY($1)"
        )
        .await
    )
    .is_empty());
    assert_eq!(
        others_checksums(&client, 900001).await,
        before,
        "all rolled back"
    );
}
