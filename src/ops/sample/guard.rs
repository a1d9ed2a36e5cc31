//! What makes `sample init --force` safe to point at the wrong database: the load
//! leaves a marker (a comment on the schema it filled, naming the borrowers it
//! generated), and a replace is refused unless the marker is there, the subject
//! table still holds exactly the generated rows, and derbes' audit log is empty.

use tokio_postgres::GenericClient;

/// Start of the schema comment a sample load leaves.
const MARKER: &str = "derbes sample init: ";

/// The generated borrowers, as the marker records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    rows: i64,
    max_id: i64,
    id_sum: i64,
}

/// Why a database may not be replaced by a sample.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceRefused {
    #[error(
        "derbes.audit_log holds {0} record(s): this database has seen real work; \
         sample init never replaces it, even with --force. Use a new, empty database for samples"
    )]
    AuditRows(i64),
    #[error(
        "schema public was not made by `derbes sample init` (no sample marker on it): \
         --force only replaces a sample. Use a new, empty database, or drop this one yourself \
         if you are sure it holds nothing of value"
    )]
    NotSample,
    #[error(
        "the borrowers table holds rows `derbes sample init` did not generate ({found} rows \
         where it made {made}): --force only replaces an untouched sample. Use a new, empty database"
    )]
    ForeignRows { found: i64, made: i64 },
    #[error("checking what the database holds failed: {0}; check the connection and run again")]
    Db(String),
}

fn db(error: tokio_postgres::Error) -> ReplaceRefused {
    ReplaceRefused::Db(crate::pg::db::describe(&error))
}

async fn fingerprint(
    client: &impl GenericClient,
) -> Result<Option<Fingerprint>, tokio_postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('public.borrowers') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT count(*), coalesce(max(id), 0)::bigint, coalesce(sum(id), 0)::bigint \
             FROM public.borrowers",
            &[],
        )
        .await?;
    Ok(Some(Fingerprint {
        rows: row.get(0),
        max_id: row.get(1),
        id_sum: row.get(2),
    }))
}

/// Mark schema public as filled by a sample load (inside the load's transaction).
pub(crate) async fn write_marker(client: &impl GenericClient) -> Result<(), tokio_postgres::Error> {
    let print = fingerprint(client).await?.unwrap_or(Fingerprint {
        rows: 0,
        max_id: 0,
        id_sum: 0,
    });
    // Numbers only: nothing to escape in the literal.
    client
        .batch_execute(&format!(
            "COMMENT ON SCHEMA public IS '{MARKER}{{\"borrowers\":{},\"max_id\":{},\"id_sum\":{}}}'",
            print.rows, print.max_id, print.id_sum
        ))
        .await
}

fn parse_marker(comment: &str) -> Option<Fingerprint> {
    let json: serde_json::Value = serde_json::from_str(comment.strip_prefix(MARKER)?).ok()?;
    Some(Fingerprint {
        rows: json.get("borrowers")?.as_i64()?,
        max_id: json.get("max_id")?.as_i64()?,
        id_sum: json.get("id_sum")?.as_i64()?,
    })
}

/// Whether schema public may be dropped and refilled: only an untouched sample,
/// in a database whose audit log is empty.
pub async fn check_replaceable(client: &impl GenericClient) -> Result<(), ReplaceRefused> {
    let has_audit: bool = client
        .query_one("SELECT to_regclass('derbes.audit_log') IS NOT NULL", &[])
        .await
        .map_err(db)?
        .get(0);
    if has_audit {
        let rows: i64 = client
            .query_one("SELECT count(*) FROM derbes.audit_log", &[])
            .await
            .map_err(db)?
            .get(0);
        if rows > 0 {
            return Err(ReplaceRefused::AuditRows(rows));
        }
    }
    let comment: Option<String> = client
        .query_one(
            "SELECT obj_description('public'::regnamespace, 'pg_namespace')",
            &[],
        )
        .await
        .map_err(db)?
        .get(0);
    let made = comment
        .as_deref()
        .and_then(parse_marker)
        .ok_or(ReplaceRefused::NotSample)?;
    match fingerprint(client).await.map_err(db)? {
        Some(found) if found != made => Err(ReplaceRefused::ForeignRows {
            found: found.rows,
            made: made.rows,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_and_nothing_else_passes() {
        let made = parse_marker(&format!(
            "{MARKER}{{\"borrowers\":3,\"max_id\":3,\"id_sum\":6}}"
        ));
        assert_eq!(
            made,
            Some(Fingerprint {
                rows: 3,
                max_id: 3,
                id_sum: 6
            })
        );
        assert_eq!(parse_marker("standard public schema"), None);
        assert_eq!(parse_marker(&format!("{MARKER}not json")), None);
    }
}
