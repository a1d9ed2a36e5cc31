//! The live database catalogue, read into the [`crate::map::schema`] model.
//!
//! Reads tables, columns, primary keys, foreign keys and indexes from `pg_catalog`
//! in a few set-based queries, never waiting on a locked table (index definitions,
//! which may wait, only for `map check`).

use std::collections::{BTreeMap, BTreeSet};

use tokio_postgres::GenericClient;

pub use crate::map::schema::{Catalog, CatalogTable, ForeignKey, Partition};
use crate::map::{quote_ident, TableName};

/// The table named by columns `i` (schema) and `i + 1` (name) of a catalogue row.
fn name_at(row: &tokio_postgres::Row, i: usize) -> TableName {
    TableName {
        schema: row.get(i),
        table: row.get(i + 1),
    }
}

/// A foreign key's (child, columns, parent, referenced columns).
type FkShape = (TableName, Vec<String>, TableName, Vec<String>);

const OWNED: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'derbes') \
     AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'";

impl Catalog {
    /// Read every ordinary and partitioned table (not system schemas, not derbes'
    /// own schema). Partitions are not tables of their own here: their indexes are
    /// listed under the partitioned table, and a foreign key declared on every
    /// partition counts as the partitioned table's.
    pub async fn read(client: &impl GenericClient) -> Result<Catalog, tokio_postgres::Error> {
        let mut tables = BTreeMap::new();
        let sql = format!(
            "SELECT n.nspname, c.relname, c.relkind = 'p', \
                    array_agg(a.attname::text ORDER BY a.attnum), \
                    array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {OWNED} \
             GROUP BY 1, 2, 3"
        );
        for row in client.query(&sql, &[]).await? {
            let name = name_at(&row, 0);
            let names: Vec<String> = row.get(3);
            let types: Vec<String> = row.get(4);
            tables.insert(
                name.clone(),
                CatalogTable {
                    name,
                    columns: names.into_iter().zip(types).collect(),
                    primary_key: Vec::new(),
                    indexes: Vec::new(),
                    unique_keys: Vec::new(),
                    index_definitions: Vec::new(),
                    partitioned: row.get(2),
                    partitions: Vec::new(),
                },
            );
        }

        // Leaf partitions, filed under their root (indexes are added below).
        let sql = format!(
            "SELECT rn.nspname, r.relname, n.nspname, c.relname \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class r ON r.oid = pg_partition_root(c.oid) \
             JOIN pg_namespace rn ON rn.oid = r.relnamespace \
             WHERE c.relispartition AND c.relkind = 'r' AND {OWNED} \
             ORDER BY 3, 4"
        );
        for row in client.query(&sql, &[]).await? {
            if let Some(table) = tables.get_mut(&name_at(&row, 0)) {
                table.partitions.push(Partition {
                    name: name_at(&row, 2),
                    indexes: Vec::new(),
                });
            }
        }

        // Indexes of tables and of leaf partitions (the latter under their root).
        let sql = format!(
            "SELECT n.nspname, c.relname, i.indisprimary, \
                    array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
                          LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum > 0 \
                          ORDER BY k.ord), \
                    i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL, \
                    ic.relname, c.relispartition, rn.nspname, r.relname, \
                    i.indisvalid AND i.indpred IS NULL \
             FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class r ON r.oid = CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END \
             JOIN pg_namespace rn ON rn.oid = r.relnamespace \
             WHERE {OWNED}"
        );
        for row in client.query(&sql, &[]).await? {
            let columns: Vec<Option<String>> = row.get(3);
            let Some(table) = tables.get_mut(&name_at(&row, 7)) else {
                continue;
            };
            if row.get::<_, bool>(6) {
                let partition = name_at(&row, 0);
                let usable = row.get::<_, bool>(9);
                if let Some(entry) = table.partitions.iter_mut().find(|p| p.name == partition) {
                    if usable {
                        entry.indexes.push((row.get(5), columns));
                    }
                }
                continue;
            }
            let plain: Vec<String> = columns.iter().flatten().cloned().collect();
            if row.get::<_, bool>(2) {
                table.primary_key = plain.clone();
            }
            if row.get::<_, bool>(4) && plain.len() == columns.len() {
                table.unique_keys.push(plain);
            }
            table.indexes.push(columns);
        }

        // Foreign keys declared on a table, and those declared on partitions only
        // (filed under the root, counted once every leaf partition has one).
        let sql = format!(
            "SELECT rn.nspname, r.relname, pn.nspname, p.relname, \
                    array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord), \
                    array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord), \
                    c.relispartition, n.nspname || '.' || c.relname \
             FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class r ON r.oid = CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END \
             JOIN pg_namespace rn ON rn.oid = r.relnamespace \
             JOIN pg_class p ON p.oid = CASE WHEN (SELECT relispartition FROM pg_class WHERE oid = k.confrelid) \
                                        THEN pg_partition_root(k.confrelid) ELSE k.confrelid END \
             JOIN pg_namespace pn ON pn.oid = p.relnamespace \
             WHERE k.contype = 'f' AND k.conparentid = 0 AND {OWNED}"
        );
        let mut foreign_keys = Vec::new();
        // (child root, columns, parent, ref columns) -> partitions declaring it.
        let mut on_partitions: BTreeMap<FkShape, BTreeSet<String>> = BTreeMap::new();
        for row in client.query(&sql, &[]).await? {
            let child = name_at(&row, 0);
            let parent = name_at(&row, 2);
            let columns: Vec<String> = row.get(4);
            let ref_columns: Vec<String> = row.get(5);
            if row.get::<_, bool>(6) {
                on_partitions
                    .entry((child, columns, parent, ref_columns))
                    .or_default()
                    .insert(row.get(7));
            } else {
                foreign_keys.push(ForeignKey {
                    child,
                    columns,
                    parent,
                    ref_columns,
                    on_partitions: false,
                });
            }
        }
        for ((child, columns, parent, ref_columns), declared_on) in on_partitions {
            let Some(table) = tables.get(&child) else {
                continue;
            };
            let every = !table.partitions.is_empty()
                && table
                    .partitions
                    .iter()
                    .all(|p| declared_on.contains(&p.name.to_string()));
            if every {
                foreign_keys.push(ForeignKey {
                    child,
                    columns,
                    parent,
                    ref_columns,
                    on_partitions: true,
                });
            }
        }
        Ok(Catalog {
            tables,
            foreign_keys,
        })
    }

    /// Fill `index_definitions` of every table (for `map check`'s expression-index
    /// advice). `pg_get_indexdef` waits on a table another session holds locked, so
    /// commands that only read rows never call it.
    pub async fn read_index_definitions(
        &mut self,
        client: &impl GenericClient,
    ) -> Result<(), tokio_postgres::Error> {
        let sql = format!(
            "SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid) \
             FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT c.relispartition AND {OWNED}"
        );
        for row in client.query(&sql, &[]).await? {
            let name = name_at(&row, 0);
            if let Some(table) = self.tables.get_mut(&name) {
                table.index_definitions.push(row.get(2));
            }
        }
        Ok(())
    }
}

/// Why `table.column` would refuse `value`, or `None` when it takes it: the column
/// type's input (an enum's labels, a `varchar`'s length, a domain's checks) and the
/// table's CHECK constraints on that column alone, tried by inserting the value into
/// an empty temporary copy of the table inside a transaction that is rolled back.
///
/// Constraints over several columns are left out: they may rightly refuse the value
/// alone (`status <> 'blocked' OR blocked_at IS NOT NULL`) and accept the row a
/// command writes.
pub async fn value_refused(
    client: &mut tokio_postgres::Client,
    table: &TableName,
    column: &str,
    value: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE derbes_value_probe (LIKE {}) ON COMMIT DROP",
        table.quoted()
    ))
    .await?;
    // NOT NULL comes with LIKE; the probe row sets one column only.
    let not_null = tx
        .query(
            "SELECT attname::text FROM pg_attribute \
             WHERE attrelid = 'pg_temp.derbes_value_probe'::regclass \
               AND attnum > 0 AND attnotnull AND NOT attisdropped",
            &[],
        )
        .await?;
    for row in not_null {
        tx.batch_execute(&format!(
            "ALTER TABLE pg_temp.derbes_value_probe ALTER COLUMN {} DROP NOT NULL",
            quote_ident(row.get::<_, &str>(0))
        ))
        .await?;
    }
    // The table's own CHECK constraints on this column alone, as the server
    // spells them.
    let checks = tx
        .query(
            "SELECT k.conname::text, pg_get_constraintdef(k.oid) \
             FROM pg_constraint k \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) \
             WHERE k.conrelid = $1::text::regclass AND k.contype = 'c' \
               AND cardinality(k.conkey) = 1 AND a.attname = $2",
            &[&table.quoted(), &column],
        )
        .await?;
    for row in &checks {
        tx.batch_execute(&format!(
            "ALTER TABLE pg_temp.derbes_value_probe ADD CONSTRAINT {} {}",
            quote_ident(row.get::<_, &str>(0)),
            row.get::<_, &str>(1)
        ))
        .await?;
    }
    let insert = tx
        .execute(
            "INSERT INTO pg_temp.derbes_value_probe \
             SELECT * FROM json_populate_record(NULL::pg_temp.derbes_value_probe, \
                                                json_build_object($1::text, $2::text))",
            &[&column, &value],
        )
        .await;
    let refused = match insert {
        Ok(_) => None,
        Err(error) => match error.as_db_error() {
            Some(db) if db.code() == &tokio_postgres::error::SqlState::CHECK_VIOLATION => {
                Some(format!(
                    "check constraint {} refuses it",
                    db.constraint().unwrap_or("of the column")
                ))
            }
            // Class 22, data exception: the type's input refuses the text.
            Some(db) if db.code().code().starts_with("22") => Some(db.message().to_owned()),
            _ => return Err(error),
        },
    };
    tx.rollback().await?;
    Ok(refused)
}
