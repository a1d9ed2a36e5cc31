//! Where a restored table's rows go: the original table, or a side table created
//! in `--into SCHEMA`; and how (`COPY` straight in, or through a staging table for
//! generated and identity columns).

use std::collections::BTreeSet;

use tokio_postgres::{GenericClient, Transaction};

use crate::error::DerbesError;
use crate::map::{quote_ident, TableName};
use crate::pg::catalog::Catalog;

use super::{manifest, ColumnDef};

/// Create the side table of `schema` for an archived table (in `tx`): `LIKE` the
/// original where this database has it, else from the manifest's columns.
pub(super) async fn create_side_table(
    tx: &Transaction<'_>,
    catalog: &Catalog,
    schema: &str,
    table: &manifest::TableEntry,
) -> anyhow::Result<Target> {
    let name = table_name(&table.table);
    let side = TableName {
        schema: schema.to_owned(),
        table: name.table.clone(),
    };
    let definition = if catalog.tables.contains_key(&name) {
        format!("(LIKE {})", name.quoted())
    } else {
        columns_from_manifest(tx, &table.table, &table.columns).await?
    };
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE {} {definition}",
        quote_ident(schema),
        side.quoted(),
    ))
    .await
    .map_err(|e| {
        if crate::pg::db::connection_lost(&e) {
            // Not a refusal: the session is gone (exit 1, with the advice).
            return anyhow::Error::new(e).context(
                "the connection to the database was lost during the restore: \
                 nothing was loaded",
            );
        }
        anyhow::Error::from(DerbesError::Refused(format!(
            "cannot create side table {side}: {}; drop it or choose another --into schema",
            crate::pg::db::describe(&e)
        )))
    })?;
    Ok(Target::plain(side, &table.columns))
}

/// Where one archived table's rows go, and how.
pub(super) struct Target {
    pub(super) table: TableName,
    /// `COPY ... FROM STDIN` into the table, or into its staging table.
    pub(super) copy_sql: String,
    /// Staging table (`pg_temp`) when the table has generated or `GENERATED ALWAYS`
    /// identity columns among the archived ones.
    staging: Option<String>,
    /// `INSERT INTO table (...) OVERRIDING SYSTEM VALUE SELECT ... FROM staging`.
    pub(super) insert_sql: Option<String>,
    /// `CREATE TEMPORARY TABLE staging ... ON COMMIT DROP`: run in each transaction
    /// that loads through the staging table.
    create_staging: Option<String>,
    /// Identity columns given archived values, whose sequences follow them.
    identities: Vec<String>,
    /// Counts the staged rows of erased subjects (left out by `insert_sql`).
    pub(super) left_out_sql: Option<String>,
}

fn column_list_of(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn copy_into(table: &str, columns: &[&str]) -> String {
    format!(
        "COPY {table} ({}) FROM STDIN (FORMAT csv, HEADER)",
        column_list_of(columns)
    )
}

impl Target {
    /// A table without generated or identity columns of its own (a side table).
    pub(super) fn plain(table: TableName, columns: &[ColumnDef]) -> Target {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        Target {
            copy_sql: copy_into(&table.quoted(), &names),
            table,
            staging: None,
            insert_sql: None,
            create_staging: None,
            identities: Vec::new(),
            left_out_sql: None,
        }
    }

    /// An original table: read which archived columns it generates (left out) and
    /// which are identity columns; stage through a temporary table where `COPY`
    /// cannot write directly, created in `tx` (`ON COMMIT DROP`).
    pub(super) async fn original(
        tx: &Transaction<'_>,
        table: TableName,
        index: usize,
        columns: &[ColumnDef],
    ) -> anyhow::Result<Target> {
        let target = Target::inspect(tx, table, index, columns).await?;
        target.create_staging(tx).await?;
        Ok(target)
    }

    /// [`Target::original`] without creating the staging table: each transaction
    /// that loads through it creates its own ([`Target::create_staging`]).
    pub(super) async fn inspect(
        client: &impl GenericClient,
        table: TableName,
        index: usize,
        columns: &[ColumnDef],
    ) -> anyhow::Result<Target> {
        let rows = client
            .query(
                "SELECT a.attname::text, a.attgenerated <> '', a.attidentity::text \
                 FROM pg_attribute a WHERE a.attrelid = $1::text::regclass \
                 AND a.attnum > 0 AND NOT a.attisdropped",
                &[&table.quoted()],
            )
            .await?;
        let mut generated = BTreeSet::new();
        let mut always = false;
        let mut identities = Vec::new();
        for row in &rows {
            let name: String = row.get(0);
            if !columns.iter().any(|c| c.name == name) {
                continue;
            }
            if row.get::<_, bool>(1) {
                generated.insert(name.clone());
            }
            match row.get::<_, String>(2).as_str() {
                "a" => {
                    always = true;
                    identities.push(name);
                }
                "d" => identities.push(name),
                _ => {}
            }
        }
        let all: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        if generated.is_empty() && !always {
            let mut target = Target::plain(table, columns);
            target.identities = identities;
            return Ok(target);
        }
        let staging = format!("derbes_restore_{index}");
        let staging_quoted = format!("pg_temp.{}", quote_ident(&staging));
        // The staging table has the archived columns as plain columns of the same
        // types (CREATE TABLE AS copies neither generation nor identity).
        let create_staging = format!(
            "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA",
            quote_ident(&staging),
            column_list_of(&all),
            table.quoted()
        );
        let kept: Vec<&str> = all
            .iter()
            .copied()
            .filter(|c| !generated.contains(*c))
            .collect();
        let kept_list = column_list_of(&kept);
        Ok(Target {
            copy_sql: copy_into(&staging_quoted, &all),
            insert_sql: Some(format!(
                "INSERT INTO {} ({kept_list}) OVERRIDING SYSTEM VALUE SELECT {kept_list} FROM {staging_quoted}",
                table.quoted()
            )),
            table,
            staging: Some(staging),
            create_staging: Some(create_staging),
            identities,
            left_out_sql: None,
        })
    }

    /// Load through a staging table in `tx` and insert only the rows for which
    /// `erased` (a condition on `t0`) is false, counting the others.
    pub(super) async fn leave_out(
        &mut self,
        tx: &Transaction<'_>,
        index: usize,
        columns: &[ColumnDef],
        erased: &str,
    ) -> anyhow::Result<()> {
        let all: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let staging_quoted = match (&self.staging, &self.insert_sql) {
            (Some(staging), Some(_)) => format!("pg_temp.{}", quote_ident(staging)),
            _ => {
                let staging = format!("derbes_restore_kept_{index}");
                let quoted = format!("pg_temp.{}", quote_ident(&staging));
                tx.batch_execute(&format!(
                    "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA",
                    quote_ident(&staging),
                    column_list_of(&all),
                    self.table.quoted()
                ))
                .await?;
                self.copy_sql = copy_into(&quoted, &all);
                self.insert_sql = Some(format!(
                    "INSERT INTO {} ({list}) SELECT {list} FROM {quoted}",
                    self.table.quoted(),
                    list = column_list_of(&all)
                ));
                self.staging = Some(staging);
                quoted
            }
        };
        let insert = self.insert_sql.take().expect("a staged target");
        self.insert_sql = Some(format!("{insert} t0 WHERE NOT {erased}"));
        self.left_out_sql = Some(format!(
            "SELECT count(*) FROM {staging_quoted} t0 WHERE {erased}"
        ));
        Ok(())
    }

    /// Create the staging table (if the target has one) in the current transaction.
    pub(super) async fn create_staging(&self, client: &impl GenericClient) -> anyhow::Result<()> {
        let Some(create) = &self.create_staging else {
            return Ok(());
        };
        client.batch_execute(create).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot create a temporary table to restore {} through: {}; check the role \
                 may create temporary tables (GRANT TEMPORARY ON DATABASE)",
                self.table,
                crate::pg::db::describe(&e)
            )
        })?;
        Ok(())
    }

    pub(super) fn staging_quoted(&self) -> String {
        format!(
            "pg_temp.{}",
            quote_ident(self.staging.as_deref().unwrap_or_default())
        )
    }

    /// Move each identity column's sequence past the largest value now in the
    /// table, so later inserts (e.g. in a fresh database) do not collide.
    pub(super) async fn advance_identities(&self, tx: &impl GenericClient) -> anyhow::Result<()> {
        for column in &self.identities {
            let sql = format!(
                "SELECT setval(s.seq, s.top) FROM (SELECT pg_get_serial_sequence($1, $2)::regclass AS seq, \
                 (SELECT max({})::bigint FROM {}) AS top) s \
                 WHERE s.seq IS NOT NULL AND s.top IS NOT NULL \
                 AND s.top > coalesce(pg_sequence_last_value(s.seq), 0)",
                quote_ident(column),
                self.table.quoted()
            );
            tx.query(&sql, &[&self.table.quoted(), column])
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "moving the identity sequence of {}.{column} past the restored rows failed: {}; \
                         nothing was loaded. Check the role may use the sequence and run again",
                        self.table,
                        crate::pg::db::describe(&e)
                    )
                })?;
        }
        Ok(())
    }
}

/// Whether a manifest's type could be a `format_type` spelling (`integer`,
/// `character varying(20)`, `numeric(12,2)`, `timestamp with time zone`, `text[]`,
/// `"char"`, `public.mood`): letters, digits, spaces and `_ , ( ) [ ] " .` only, so
/// no quote, semicolon or comment can end the type and start other SQL.
fn plain_type_spelling(text: &str) -> bool {
    !text.trim().is_empty()
        && text.len() <= 200
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, ' ' | '_' | ',' | '(' | ')' | '[' | ']' | '"' | '.')
        })
}

/// `(col type, ...)` for a side table the database has no original of, from the
/// manifest. The names are quoted; each type must be a plain type name the server
/// knows (`to_regtype`), spelt only with letters, digits, spaces and `_ , ( ) [ ] " .`
/// as `format_type` writes them, so no text of the file reaches the SQL otherwise.
async fn columns_from_manifest(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[ColumnDef],
) -> anyhow::Result<String> {
    let mut definitions = Vec::new();
    for column in columns {
        let known = plain_type_spelling(&column.pg_type)
            && tx
                .query_one("SELECT to_regtype($1) IS NOT NULL", &[&column.pg_type])
                .await
                .map(|row| row.get::<_, bool>(0))
                .unwrap_or(false);
        if !known {
            return Err(DerbesError::Refused(format!(
                "table {table} of the archive is not in this database and its column {} has a type \
                 this server does not know: create the table first, then restore into it",
                quote_ident(&column.name)
            ))
            .into());
        }
        definitions.push(format!("{} {}", quote_ident(&column.name), column.pg_type));
    }
    Ok(format!("({})", definitions.join(", ")))
}

pub(super) fn table_name(text: &str) -> TableName {
    match text.split_once('.') {
        Some((schema, table)) => TableName {
            schema: schema.to_owned(),
            table: table.to_owned(),
        },
        None => TableName {
            schema: "public".to_owned(),
            table: text.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::plain_type_spelling;

    /// Types in a manifest reach `CREATE TABLE` of a side table: only spellings
    /// `format_type` writes pass; anything that could end the type and run other SQL
    /// is refused.
    #[test]
    fn archive_manifest_types_are_plain_spellings_only() {
        for good in [
            "integer",
            "bigint",
            "character varying(20)",
            "numeric(12,2)",
            "timestamp with time zone",
            "text[]",
            "\"char\"",
            "public.mood",
            "inet",
        ] {
            assert!(plain_type_spelling(good), "{good}");
        }
        for bad in [
            "",
            "   ",
            "text); DROP TABLE borrowers; --",
            "text default 'x'",
            "int -- comment",
            "text/*x*/",
            "text\n",
            &"a".repeat(201),
        ] {
            assert!(!plain_type_spelling(bad), "{bad:?}");
        }
    }
}
