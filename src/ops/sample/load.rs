//! Loading the population: the tables in load order with their columns, the log
//! partitions, secondary indexes and foreign keys dropped for the load and put
//! back after it, and one `COPY ... FROM STDIN` per table streamed in chunks.

use std::fmt::Write as _;

use bytes::Bytes;
use chrono::{Datelike, Months};
use futures_util::{pin_mut, SinkExt};
use tokio_postgres::Client;

use super::world::{first_of_month, World};
use super::writers::TableWriter;
use super::{guard, postgres, SampleError, SampleOptions, SampleReport};

/// The tables in load order (parents before children), with the columns written.
pub(super) const TABLES: &[(&str, &[&str])] = &[
    (
        "policy_versions",
        &["id", "version", "published_at", "text_sha256"],
    ),
    (
        "borrowers",
        &[
            "id",
            "iin",
            "bin",
            "last_name",
            "first_name",
            "patronymic",
            "birth_date",
            "sex",
            "citizenship",
            "marital_status",
            "dependants",
            "pep_relation",
            "is_beneficial_owner",
            "email",
            "phone",
            "status",
            "token_version",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "addresses",
        &[
            "id",
            "borrower_id",
            "kind",
            "region",
            "city",
            "street",
            "house",
            "flat",
            "postcode",
            "created_at",
        ],
    ),
    (
        "identity_documents",
        &[
            "id",
            "borrower_id",
            "doc_type",
            "doc_number",
            "issued_by",
            "issued_on",
            "expires_on",
            "created_at",
        ],
    ),
    (
        "contact_persons",
        &[
            "id",
            "borrower_id",
            "full_name",
            "relation",
            "phone",
            "created_at",
        ],
    ),
    (
        "employments",
        &[
            "id",
            "borrower_id",
            "employer_name",
            "employer_bin",
            "employer_address",
            "position",
            "monthly_income",
            "created_at",
        ],
    ),
    (
        "bank_cards",
        &[
            "id",
            "borrower_id",
            "pan_masked",
            "card_token",
            "holder_name",
            "expires",
            "created_at",
        ],
    ),
    (
        "bank_accounts",
        &["id", "borrower_id", "iban", "bank_bic", "created_at"],
    ),
    (
        "photos",
        &[
            "id",
            "borrower_id",
            "kind",
            "storage_key",
            "sha256",
            "taken_at",
        ],
    ),
    (
        "loans",
        &[
            "id",
            "borrower_id",
            "contract_no",
            "principal",
            "rate_percent",
            "issued_at",
            "due_on",
            "closed_at",
            "status",
        ],
    ),
    (
        "payments",
        &["id", "loan_id", "paid_at", "amount", "channel"],
    ),
    (
        "devices",
        &[
            "id",
            "borrower_id",
            "device_uid",
            "os",
            "model",
            "browser",
            "first_seen",
            "last_seen",
        ],
    ),
    (
        "sessions",
        &[
            "id",
            "borrower_id",
            "device_id",
            "ip",
            "user_agent",
            "started_at",
            "last_seen_at",
            "revoked_at",
        ],
    ),
    (
        "server_logs",
        &[
            "id",
            "logged_at",
            "borrower_id",
            "ip",
            "method",
            "path",
            "status",
            "user_agent",
        ],
    ),
    (
        "cookies",
        &[
            "id",
            "borrower_id",
            "kind",
            "name",
            "value_hash",
            "set_at",
            "expires_at",
        ],
    ),
    (
        "usage_events",
        &[
            "id",
            "borrower_id",
            "occurred_at",
            "event",
            "screen",
            "duration_ms",
        ],
    ),
    (
        "locations",
        &[
            "id",
            "borrower_id",
            "recorded_at",
            "latitude",
            "longitude",
            "accuracy_m",
        ],
    ),
    (
        "consents",
        &[
            "id",
            "borrower_id",
            "policy_version_id",
            "purpose",
            "granted_at",
            "withdrawn_at",
            "document_ref",
        ],
    ),
    (
        "policy_notices",
        &[
            "id",
            "borrower_id",
            "policy_version_id",
            "notified_at",
            "objected_at",
            "objection_ref",
        ],
    ),
    (
        "disclosures",
        &[
            "id",
            "borrower_id",
            "recipient",
            "purpose",
            "legal_basis",
            "categories",
            "disclosed_at",
        ],
    ),
    (
        "support_messages",
        &["id", "borrower_id", "channel", "received_at", "body"],
    ),
];

pub(super) async fn load(
    client: &Client,
    opts: &SampleOptions,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<SampleReport, SampleError> {
    for table in ["borrowers", "policy_versions"] {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quote(table));
        let row = client
            .query_one(&sql, &[])
            .await
            .map_err(postgres(format!("check that {table} is empty")))?;
        if row.get::<_, bool>(0) {
            return Err(SampleError::NotEmpty { table });
        }
    }
    let world = World::new(opts);
    create_log_partitions(client, &world).await?;
    let deferred = drop_secondary_structures(client).await?;

    let mut report = SampleReport::default();
    for (table, columns) in TABLES {
        let rows = copy_table(client, &world, table, columns, progress).await?;
        report.tables.push((table.to_string(), rows));
    }

    for statement in &deferred {
        client.batch_execute(statement).await.map_err(postgres(
            "recreate an index or foreign key dropped for the load",
        ))?;
    }
    for (table, _) in TABLES {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, 'id'), \
             (SELECT coalesce(max(id), 0) + 1 FROM {}), false)",
            quote(table)
        );
        client
            .execute(&sql, &[&quote(table)])
            .await
            .map_err(postgres(format!(
                "move the id sequence of {table} past the loaded rows"
            )))?;
    }
    // What `sample init --force` later checks before replacing this population.
    guard::write_marker(client)
        .await
        .map_err(postgres("mark schema public as a derbes sample"))?;
    Ok(report)
}

/// `"name"`, for identifiers that come from this module's own constants.
pub(super) fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// One partition of `server_logs` per month from 24 months before `as_of` to the
/// month of `as_of`, and a DEFAULT partition for anything outside.
pub(super) async fn create_log_partitions(
    client: &Client,
    world: &World,
) -> Result<(), SampleError> {
    let mut month = world.log_start_month();
    let last = first_of_month(world.as_of);
    let mut ddl = String::new();
    while month <= last {
        let next = month + Months::new(1);
        let name = format!("server_logs_{:04}_{:02}", month.year(), month.month());
        let _ = writeln!(
            ddl,
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF \"server_logs\" \
             FOR VALUES FROM ('{} 00:00:00+00') TO ('{} 00:00:00+00');",
            quote(&name),
            month.format("%Y-%m-%d"),
            next.format("%Y-%m-%d"),
        );
        month = next;
    }
    ddl.push_str(
        "CREATE TABLE IF NOT EXISTS \"server_logs_default\" PARTITION OF \"server_logs\" DEFAULT;",
    );
    client
        .batch_execute(&ddl)
        .await
        .map_err(postgres("create the monthly partitions of server_logs"))
}

/// Drops the schema's foreign keys and secondary (non-constraint) indexes so that
/// COPY only appends, and returns the statements that put them back. Rebuilding an
/// index once and validating a foreign key with one join are far cheaper than
/// maintaining them row by row. The statements come from the catalogue itself.
pub(super) async fn drop_secondary_structures(client: &Client) -> Result<Vec<String>, SampleError> {
    let foreign_keys = client
        .query(
            "SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid) \
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
             WHERE c.contype = 'f' AND c.conparentid = 0 AND NOT t.relispartition \
               AND t.relnamespace = current_schema()::regnamespace \
             ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(postgres("list the foreign keys of the reference schema"))?;
    let indexes = client
        .query(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) \
             FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
             WHERE NOT t.relispartition AND t.relnamespace = current_schema()::regnamespace \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                               WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')) \
             ORDER BY 1",
            &[],
        )
        .await
        .map_err(postgres(
            "list the secondary indexes of the reference schema",
        ))?;

    let mut drop = String::new();
    let mut restore = Vec::new();
    for row in &foreign_keys {
        let (table, name, definition): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let _ = writeln!(drop, "ALTER TABLE {table} DROP CONSTRAINT {name};");
        restore.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
        ));
    }
    for row in &indexes {
        let (name, definition): (String, String) = (row.get(0), row.get(1));
        let _ = writeln!(drop, "DROP INDEX {name};");
        // The catalogue spells a partitioned table's index `ON ONLY`, which would
        // build an invalid parent without the partitions' indexes.
        restore.push(definition.replacen(" ON ONLY ", " ON ", 1));
    }
    // Indexes first: a foreign key's validation join does not need them.
    restore.sort_by_key(|statement| statement.starts_with("ALTER TABLE"));
    if !drop.is_empty() {
        client
            .batch_execute(&drop)
            .await
            .map_err(postgres("drop indexes and foreign keys for the load"))?;
    }
    Ok(restore)
}

/// Bytes handed to the COPY sink at a time.
pub(super) const CHUNK: usize = 256 * 1024;

pub(super) async fn copy_table(
    client: &Client,
    world: &World,
    table: &'static str,
    columns: &[&str],
    progress: &mut dyn FnMut(&str, u64),
) -> Result<u64, SampleError> {
    let column_list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let sql = format!(
        "COPY {} ({}) FROM STDIN",
        quote(table),
        column_list.join(", ")
    );
    let sink = client
        .copy_in::<_, Bytes>(&sql)
        .await
        .map_err(postgres(format!("start copying rows into {table}")))?;
    pin_mut!(sink);
    progress(table, 0);

    let mut writer = TableWriter::for_table(table, world);
    let mut buffer = String::with_capacity(CHUNK + 16 * 1024);
    let mut rows = 0u64;
    for unit in 1..=writer.units(world) {
        rows += writer.write_unit(world, unit, &mut buffer);
        if buffer.len() >= CHUNK {
            let chunk = std::mem::replace(&mut buffer, String::with_capacity(CHUNK + 16 * 1024));
            sink.send(Bytes::from(chunk.into_bytes()))
                .await
                .map_err(postgres(format!("copy rows into {table}")))?;
            progress(table, rows);
        }
    }
    if !buffer.is_empty() {
        sink.send(Bytes::from(buffer.into_bytes()))
            .await
            .map_err(postgres(format!("copy rows into {table}")))?;
    }
    let copied = sink
        .finish()
        .await
        .map_err(postgres(format!("finish copying rows into {table}")))?;
    progress(table, copied);
    Ok(copied)
}
