//! The one resolver: identities to the subjects they name.
//!
//! Every command that takes identities (subject show, export, block, unblock,
//! archive `--subject`) resolves them here, one at a time or thousands at once, with
//! one query per identity kind: an `= ANY`-style join of the given values against
//! every identity column of that kind the data map declares, through the compiled
//! link path of the column's table ([`crate::map::link::LinkPath::joined`]). So the same
//! input gives the same subjects and the same exit code everywhere.
//!
//! Phones are compared in E.164. A column whose stored spellings vary (`8 (701)
//! 234-56-78`) is marked `normalise = true` in the map and compared through
//! [`normalised_phone_sql`], an expression an index can hold (`map check` prints it).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::kz::identity::{Identity, Iin};
use crate::map::link::LinkPath;
use crate::map::{quote_ident, DataMap, IdentityKind, IdentitySpec};
use crate::pg::catalog::Catalog;

/// One subject an identity matched, safe to show to whoever picks among them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Candidate {
    /// The subject key (`id:KEY` picks this one).
    pub key: String,
    /// The IIN with its middle digits hidden, when the map names an IIN column.
    pub masked_iin: Option<String>,
    pub status: Option<String>,
}

impl Candidate {
    /// One line naming the candidate without a personal value in clear.
    pub fn label(&self) -> String {
        format!(
            "id:{} (IIN {}, {})",
            self.key,
            self.masked_iin.as_deref().unwrap_or("unknown"),
            self.status.as_deref().unwrap_or("status unknown")
        )
    }
}

/// Why identities did not lead to subjects.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "no subject matches {kind} {masked} (searched {searched}): check the value with the \
         person, or try another identity (IIN, phone, email, id:KEY)"
    )]
    NotFound {
        kind: &'static str,
        masked: String,
        searched: String,
    },
    #[error(
        "{kind} {masked} matches {} subjects: {}; pick one with id:KEY after checking with the person",
        candidates.len(),
        candidates.iter().map(Candidate::label).collect::<Vec<_>>().join("; ")
    )]
    Ambiguous {
        kind: &'static str,
        masked: String,
        candidates: Vec<Candidate>,
    },
    #[error(
        "the data map declares no {kind} identity column: add one under [[subject.identities]], \
         or search by another identity"
    )]
    NoIdentityColumn { kind: &'static str },
    #[error(
        "{} is not a key of {table}: its key {column} is of type {key_type}; give the key as stored (id:KEY)",
        .given.join(", ")
    )]
    BadKey {
        /// The offending identities as given (`id:...` is not personal data).
        given: Vec<String>,
        table: String,
        column: String,
        key_type: String,
    },
    #[error("the data map does not fit the database: {0}. Run `derbes map check`")]
    Map(String),
    #[error("looking up the subject failed: {}", crate::pg::db::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

/// The subject keys each identity matched (in the order given), and, per kind, the
/// columns searched.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub keys: Vec<BTreeSet<String>>,
    pub searched: BTreeMap<&'static str, Vec<String>>,
}

impl Resolved {
    /// `borrowers.iin, addresses.phone` for an identity's kind.
    pub fn searched_for(&self, identity: &Identity) -> String {
        self.searched
            .get(identity.kind())
            .map(|s| s.join(", "))
            .unwrap_or_default()
    }
}

/// The normalised value an identity is compared by, and its kind (None: the key).
fn lookup(identity: &Identity) -> (Option<IdentityKind>, String) {
    match identity {
        Identity::Iin(iin) => (Some(IdentityKind::Iin), iin.to_string()),
        Identity::Bin(bin) => (Some(IdentityKind::Bin), bin.to_string()),
        Identity::Phone(phone) => (Some(IdentityKind::Phone), phone.as_str().to_owned()),
        Identity::Email(email) => (Some(IdentityKind::Email), email.as_str().to_owned()),
        Identity::Key(key) => (None, key.clone()),
    }
}

/// Resolve many identities at once: one query per identity kind.
pub async fn resolve_all(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    identities: &[Identity],
) -> Result<Resolved, ResolveError> {
    let subject = LinkPath::compile(map, catalog, &map.subject.table).map_err(ResolveError::Map)?;
    let mut by_kind: BTreeMap<&'static str, (Option<IdentityKind>, Vec<String>)> = BTreeMap::new();
    for identity in identities {
        let (kind, value) = lookup(identity);
        let entry = by_kind.entry(identity.kind()).or_insert((kind, Vec::new()));
        if !entry.1.contains(&value) {
            entry.1.push(value);
        }
    }
    let mut resolved = Resolved::default();
    // (kind, value) -> keys
    let mut matches: BTreeMap<(&'static str, String), BTreeSet<String>> = BTreeMap::new();
    for (kind_name, (kind, values)) in &by_kind {
        let (sql, searched) = match kind {
            None => key_query(map, &subject),
            Some(kind) => identity_query(map, catalog, *kind, kind_name)?,
        };
        resolved.searched.insert(kind_name, searched);
        if kind.is_none() {
            // Keys that cannot be of the key's type are told apart here, without
            // a failing query (which would abort a caller's transaction).
            let given: Vec<String> = values
                .iter()
                .filter(|v| key_fits(v, &subject.key_type) == Some(false))
                .map(|v| format!("id:{v}"))
                .collect();
            if !given.is_empty() {
                return Err(ResolveError::BadKey {
                    given,
                    table: subject.table.to_string(),
                    column: map.subject.key.clone(),
                    key_type: subject.key_type.clone(),
                });
            }
        }
        let rows = match client.query(&sql, &[values]).await {
            Ok(rows) => rows,
            Err(e) if kind.is_none() && is_bad_literal(&e) => {
                return Err(bad_keys(client, map, &subject, values).await);
            }
            Err(e) => return Err(e.into()),
        };
        for row in rows {
            matches
                .entry((kind_name, row.get(0)))
                .or_default()
                .insert(row.get(1));
        }
    }
    resolved.keys = identities
        .iter()
        .map(|identity| {
            let (_, value) = lookup(identity);
            matches
                .get(&(identity.kind(), value))
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    Ok(resolved)
}

/// Resolve one identity to exactly one subject, or say why not.
pub async fn resolve_one(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    identity: &Identity,
) -> Result<Candidate, ResolveError> {
    let resolved = resolve_all(client, map, catalog, std::slice::from_ref(identity)).await?;
    let keys = resolved.keys.first().cloned().unwrap_or_default();
    let kind = identity.kind();
    match keys.len() {
        0 => Err(ResolveError::NotFound {
            kind,
            masked: identity.masked(),
            searched: resolved.searched_for(identity),
        }),
        1 => Ok(describe(client, map, catalog, &keys)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ResolveError::NotFound {
                kind,
                masked: identity.masked(),
                searched: resolved.searched_for(identity),
            })?),
        _ => Err(ResolveError::Ambiguous {
            kind,
            masked: identity.masked(),
            candidates: describe(client, map, catalog, &keys).await?,
        }),
    }
}

fn key_query(map: &DataMap, subject: &LinkPath) -> (String, Vec<String>) {
    let key = quote_ident(&map.subject.key);
    (
        format!(
            "SELECT v.value, t0.{key}::text FROM unnest($1::text[]) AS v(value) \
             JOIN {} t0 ON t0.{key} = v.value::{}",
            subject.table.quoted(),
            subject.key_type
        ),
        vec![format!("{}.{}", subject.table, map.subject.key)],
    )
}

/// `SELECT value, subject key` over every identity column of `kind`.
fn identity_query(
    map: &DataMap,
    catalog: &Catalog,
    kind: IdentityKind,
    kind_name: &'static str,
) -> Result<(String, Vec<String>), ResolveError> {
    let specs: Vec<&IdentitySpec> = map
        .subject
        .identities
        .iter()
        .filter(|spec| spec.kind == kind)
        .collect();
    if specs.is_empty() {
        return Err(ResolveError::NoIdentityColumn { kind: kind_name });
    }
    let mut parts = Vec::new();
    let mut searched = Vec::new();
    for spec in specs {
        let table = spec.table.as_deref().unwrap_or(&map.subject.table);
        let path = LinkPath::compile(map, catalog, table).map_err(ResolveError::Map)?;
        let ty = catalog
            .tables
            .get(&path.table)
            .and_then(|t| t.column_type(&spec.column))
            .ok_or_else(|| {
                ResolveError::Map(format!(
                    "identity column {}.{} does not exist",
                    path.table, spec.column
                ))
            })?;
        let column = format!("t0.{}", quote_ident(&spec.column));
        let condition = if spec.normalise && kind == IdentityKind::Phone {
            format!("{} = v.value", normalised_phone_sql(&column))
        } else if spec.case_insensitive {
            format!("lower({column}::text) = lower(v.value)")
        } else {
            format!("{column} = v.value::{ty}")
        };
        let joined = path.joined();
        // The identity's table joins first, so its index on the column is used.
        parts.push(format!(
            "SELECT v.value, {key}::text FROM unnest($1::text[]) AS v(value) \
             JOIN {first} ON {condition}{rest} WHERE {key} IS NOT NULL",
            key = joined.key,
            first = joined.first,
            rest = joined.joins,
        ));
        searched.push(format!("{}.{}", path.table, spec.column));
    }
    Ok((parts.join(" UNION "), searched))
}

/// A phone column's value in E.164, whatever its stored spelling: digits only, a
/// Kazakh trunk `8` or a bare ten-digit national number taken as +7. Immutable, so
/// an expression index can hold it.
pub fn normalised_phone_sql(column: &str) -> String {
    let digits = format!("regexp_replace({column}::text, '[^0-9]', '', 'g')");
    format!(
        "(CASE WHEN {digits} ~ '^8[0-9]{{10}}$' THEN '+7' || substr({digits}, 2) \
         WHEN {digits} ~ '^[0-9]{{10}}$' THEN '+7' || {digits} \
         ELSE '+' || {digits} END)"
    )
}

fn is_bad_literal(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(
        error.code(),
        Some(&SqlState::INVALID_TEXT_REPRESENTATION)
            | Some(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE)
            | Some(&SqlState::INVALID_DATETIME_FORMAT)
    )
}

/// Whether `value` can be a key of type `key_type` as PostgreSQL reads it: known
/// for integer and uuid keys, `None` (ask the server) for any other type.
fn key_fits(value: &str, key_type: &str) -> Option<bool> {
    let value = value.trim();
    match key_type {
        "bigint" => Some(value.parse::<i64>().is_ok()),
        "integer" => Some(value.parse::<i32>().is_ok()),
        "smallint" => Some(value.parse::<i16>().is_ok()),
        "uuid" => {
            let hex: String = value
                .trim_start_matches('{')
                .trim_end_matches('}')
                .chars()
                .filter(|c| *c != '-')
                .collect();
            Some(hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        }
        _ => None,
    }
}

/// Which `id:` values do not fit the key's type, checked one by one (only after the
/// set-based query failed on one of them).
async fn bad_keys(
    client: &impl GenericClient,
    map: &DataMap,
    subject: &LinkPath,
    values: &[String],
) -> ResolveError {
    let sql = format!("SELECT $1::text::{}", subject.key_type);
    let mut given = Vec::new();
    for value in values {
        match client.query(&sql, &[value]).await {
            Ok(_) => {}
            Err(e) if is_bad_literal(&e) => given.push(format!("id:{value}")),
            Err(e) => return e.into(),
        }
    }
    ResolveError::BadKey {
        given,
        table: subject.table.to_string(),
        column: map.subject.key.clone(),
        key_type: subject.key_type.clone(),
    }
}

/// Masked IIN and status of each key, in key order.
pub async fn describe(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    keys: &BTreeSet<String>,
) -> Result<Vec<Candidate>, ResolveError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let subject = LinkPath::compile(map, catalog, &map.subject.table).map_err(ResolveError::Map)?;
    let iin_column = map
        .subject
        .identities
        .iter()
        .find(|spec| spec.kind == IdentityKind::Iin && spec.table.is_none())
        .map(|spec| format!("t0.{}::text", quote_ident(&spec.column)))
        .unwrap_or_else(|| "NULL::text".to_owned());
    let status_column = map
        .subject
        .status
        .as_ref()
        .map(|s| format!("t0.{}::text", quote_ident(&s.column)))
        .unwrap_or_else(|| "NULL::text".to_owned());
    let sql = format!(
        "SELECT t0.{key}::text, {iin_column}, {status_column} FROM {} t0 \
         WHERE {} ORDER BY t0.{key}",
        subject.table.quoted(),
        subject.rows_of("t0", crate::map::link::KeyMatch::Any(1)),
        key = quote_ident(&map.subject.key),
    );
    let keys: Vec<&String> = keys.iter().collect();
    let rows = client.query(&sql, &[&keys]).await?;
    Ok(rows
        .iter()
        .map(|row| Candidate {
            key: row.get(0),
            masked_iin: row.get::<_, Option<String>>(1).map(|v| mask_iin(&v)),
            status: row.get(2),
        })
        .collect())
}

/// The IIN with its middle hidden; a value that is not a valid IIN is hidden whole.
pub fn mask_iin(value: &str) -> String {
    match Iin::parse(value.trim()) {
        Ok(iin) => iin.masked(),
        Err(_) => "*".repeat(value.trim().chars().count().max(1)),
    }
}

#[cfg(test)]
mod tests {
    /// An `id:` that cannot be of the key's type is refused before any query, so a
    /// caller's transaction (archive dump resolves inside one) is never aborted.
    #[test]
    fn keys_of_the_wrong_type_are_known_without_the_server() {
        assert_eq!(super::key_fits(" 42 ", "bigint"), Some(true));
        assert_eq!(
            super::key_fits("'; DROP TABLE borrowers; --", "bigint"),
            Some(false)
        );
        assert_eq!(super::key_fits("$1", "integer"), Some(false));
        assert_eq!(super::key_fits("99999999999", "integer"), Some(false));
        assert_eq!(
            super::key_fits("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "uuid"),
            Some(true)
        );
        assert_eq!(super::key_fits("not-a-uuid", "uuid"), Some(false));
        assert_eq!(super::key_fits("anything", "text"), None);
    }

    use super::*;

    #[test]
    fn invalid_iins_are_hidden_whole() {
        assert_eq!(mask_iin("12345"), "*****");
        assert!(!mask_iin("061211600012").contains("1211600"));
    }

    #[test]
    fn the_phone_expression_is_one_expression_for_index_and_query() {
        let sql = normalised_phone_sql("t0.\"tel\"");
        assert!(sql.starts_with("(CASE"));
        assert_eq!(sql, normalised_phone_sql("t0.\"tel\""));
        assert!(!sql.contains("$1"), "no parameters: an index expression");
    }
}
