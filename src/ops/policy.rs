//! Policy versions and the notice of each to the subjects (docs/policy.md 10.2-10.5).
//!
//! A change of the policy is announced in every user's personal cabinet (10.2); the
//! user may agree or object by email (10.3, 10.4); no objection counts as consent
//! (10.5). [`publish`] records the version in the application's versions table and
//! queues a notice for every active subject with one set-based `INSERT ... SELECT`;
//! [`object`] records one subject's written objection on their notice; [`status`]
//! counts notified, objected and silent subjects and says whether silence already
//! counts as consent: from the date the version takes effect, which derbes keeps in
//! `derbes.policy_publications` (the application's table may have no column for it).
//!
//! Tables and columns come from the data map's `[ledgers] policy`; nothing here
//! names the reference schema.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use crate::map::link::KeyMatch;
use crate::map::{quote_ident, DataMap, PolicyLedger};
use crate::ops::ledger::{self, DirectLink};
use crate::pg::audit::AuditEntry;
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, ChangeError, Limits};

/// What went wrong; each case maps to its own exit code in the command layer.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the data map has no [ledgers] policy: name the versions and notices tables there (see examples/datamap.toml) before publishing policy versions")]
    NoLedger,
    #[error("the version label must be 1 to 50 characters of letters, digits, `.`, `-` or `_` (e.g. 2.2 or 2026-12): nothing was changed")]
    BadVersion,
    #[error("policy version {version} was already published ({published_at}): nothing was changed; publish the change under a new version label")]
    AlreadyPublished {
        version: String,
        published_at: String,
    },
    #[error("no policy version {0} is recorded: check the label with `derbes policy status` of a known version, or publish it first")]
    UnknownVersion(String),
    #[error("the effective date {effective} is before today ({today}): subjects must get the notice before the change takes effect (10.2-10.4); give today or a later date")]
    EffectiveInPast {
        effective: NaiveDate,
        today: NaiveDate,
    },
    #[error("the versions table records the SHA-256 of the text (`text_sha256` in [ledgers] policy): pass --text FILE, the published text")]
    NeedsText,
    #[error("{subject} was sent no notice of policy version {version} (not an active subject when it was published): there is nothing to object to; record the complaint under the ticket instead")]
    NotNotified { subject: String, version: String },
    #[error("{subject} already objected to policy version {version} on {at}: nothing was changed")]
    AlreadyObjected {
        subject: String,
        version: String,
        at: String,
    },
    #[error("the data map does not fit the database: {0}; run `derbes map check`")]
    MapMismatch(String),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error("database error: {0}")]
    Database(String),
}

impl From<tokio_postgres::Error> for PolicyError {
    fn from(error: tokio_postgres::Error) -> PolicyError {
        match ChangeError::from(error) {
            ChangeError::Database(message) => PolicyError::Database(message),
            other => PolicyError::Change(other),
        }
    }
}

/// A version label: short, no spaces, nothing personal.
pub fn check_version(label: &str) -> Result<(), PolicyError> {
    let ok = !label.is_empty()
        && label.chars().count() <= 50
        && label
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(PolicyError::BadVersion)
    }
}

/// The ledger and the SQL pieces derived from it and the catalogue.
struct Shape<'a> {
    map: &'a DataMap,
    ledger: &'a PolicyLedger,
    versions: String,
    /// The versions table's single-column primary key, quoted.
    version_key: String,
    /// Catalogue type of the notices' version column.
    notice_version_type: String,
    notices: DirectLink,
}

impl<'a> Shape<'a> {
    fn new(map: &'a DataMap, catalog: &Catalog) -> Result<Shape<'a>, PolicyError> {
        let ledger = map.ledgers.policy.as_ref().ok_or(PolicyError::NoLedger)?;
        let versions_name = map.table_name(&ledger.versions);
        let versions_table = catalog.tables.get(&versions_name).ok_or_else(|| {
            PolicyError::MapMismatch(format!(
                "the policy versions table {versions_name} does not exist"
            ))
        })?;
        let [key] = versions_table.primary_key.as_slice() else {
            return Err(PolicyError::MapMismatch(format!(
                "the policy versions table {versions_name} needs a one-column primary key for notices to refer to"
            )));
        };
        let notice_version_type =
            ledger::column_type(map, catalog, &ledger.notices, &ledger.notice_version)
                .map_err(PolicyError::MapMismatch)?;
        let notices =
            DirectLink::compile(map, catalog, &ledger.notices).map_err(PolicyError::MapMismatch)?;
        Ok(Shape {
            map,
            ledger,
            versions: versions_name.quoted(),
            version_key: quote_ident(key),
            notice_version_type,
            notices,
        })
    }

    /// `WHERE` condition on the subject row `s` of an active subject; `$n` is the
    /// active value. None when the map names no status: every subject is active.
    fn active(&self, n: usize) -> Option<String> {
        self.map
            .subject
            .status
            .as_ref()
            .map(|status| format!("s.{}::text = ${n}", quote_ident(&status.column)))
    }

    fn active_value(&self) -> Option<&str> {
        self.map.subject.status.as_ref().map(|s| s.active.as_str())
    }

    /// Which subjects count as active, in words.
    fn active_rule(&self) -> String {
        match &self.map.subject.status {
            Some(status) => format!(
                "{}.{} = '{}'",
                self.map.subject.table, status.column, status.active
            ),
            None => "every subject (the data map names no status column)".to_owned(),
        }
    }

    /// The version row's key and publication moment, if recorded.
    async fn find_version(
        &self,
        client: &impl GenericClient,
        version: &str,
    ) -> Result<Option<(String, String)>, PolicyError> {
        let sql = format!(
            "SELECT v.{key}::text, to_char(v.{p} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC' \
             FROM {} v WHERE v.{}::text = $1",
            self.versions,
            quote_ident(&self.ledger.version),
            key = self.version_key,
            p = quote_ident(&self.ledger.published_at),
        );
        Ok(client
            .query_opt(&sql, &[&version])
            .await?
            .map(|row| (row.get(0), row.get(1))))
    }

    fn notice_column(&self, column: &str) -> String {
        format!("t0.{}", quote_ident(column))
    }
}

/// What `publish` is asked to do.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    pub version: String,
    pub effective: NaiveDate,
    /// SHA-256 (hex) of the published text, from `--text`.
    pub text_sha256: Option<String>,
    pub ticket: String,
    pub operator: String,
    pub today: NaiveDate,
    pub dry_run: bool,
}

/// What a publication did (or, for a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    pub dry_run: bool,
    pub version: String,
    pub effective_on: NaiveDate,
    pub text_sha256: Option<String>,
    /// Notices queued: one per active subject.
    pub notices: i64,
    /// Which subjects counted as active.
    pub active: String,
    pub ticket: String,
    pub audit_seq: Option<i64>,
}

/// The checks `publish` makes, without changing anything, and the number of
/// notices it would queue (for the confirmation prompt).
pub async fn prepare(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    request: &PublishRequest,
) -> Result<i64, PolicyError> {
    check_version(&request.version)?;
    let shape = Shape::new(map, catalog)?;
    check_request(&shape, client, request).await?;
    count_active(&shape, client).await
}

async fn check_request(
    shape: &Shape<'_>,
    client: &impl GenericClient,
    request: &PublishRequest,
) -> Result<(), PolicyError> {
    if request.effective < request.today {
        return Err(PolicyError::EffectiveInPast {
            effective: request.effective,
            today: request.today,
        });
    }
    if shape.ledger.text_sha256.is_some() && request.text_sha256.is_none() {
        return Err(PolicyError::NeedsText);
    }
    if let Some((_, published_at)) = shape.find_version(client, &request.version).await? {
        return Err(PolicyError::AlreadyPublished {
            version: request.version.clone(),
            published_at,
        });
    }
    Ok(())
}

async fn count_active(shape: &Shape<'_>, client: &impl GenericClient) -> Result<i64, PolicyError> {
    let from = format!("FROM {} s", shape.notices.subject.table.quoted());
    let row = match (shape.active(1), shape.active_value()) {
        (Some(condition), Some(value)) => {
            client
                .query_one(
                    &format!("SELECT count(*) {from} WHERE {condition}"),
                    &[&value],
                )
                .await?
        }
        _ => {
            client
                .query_one(&format!("SELECT count(*) {from}"), &[])
                .await?
        }
    };
    Ok(row.get(0))
}

/// Record the version and queue a notice for every active subject, in one
/// transaction with its audit row.
pub async fn publish(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PublishRequest,
) -> Result<PublishReport, PolicyError> {
    check_version(&request.version)?;
    let shape = Shape::new(map, catalog)?;
    let ledger = shape.ledger;
    let change = change::begin(client, &Limits::default(), request.dry_run).await?;
    let tx = change.tx();
    check_request(&shape, tx, request).await?;

    let versions_key = &ledger.versions;
    let ty = |column: &str| {
        ledger::column_type(map, catalog, versions_key, column).map_err(PolicyError::MapMismatch)
    };
    let effective = request.effective.to_string();
    let mut columns = vec![
        quote_ident(&ledger.version),
        quote_ident(&ledger.published_at),
    ];
    let mut values = vec![
        format!("CAST($1::text AS {})", ty(&ledger.version)?),
        format!("CAST(now() AS {})", ty(&ledger.published_at)?),
    ];
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&request.version];
    let mut fields = vec![
        format!("{versions_key}.{}", ledger.version),
        format!("{versions_key}.{}", ledger.published_at),
    ];
    if let (Some(column), Some(sha)) = (&ledger.text_sha256, &request.text_sha256) {
        params.push(sha);
        columns.push(quote_ident(column));
        values.push(format!("CAST(${}::text AS {})", params.len(), ty(column)?));
        fields.push(format!("{versions_key}.{column}"));
    }
    if let Some(column) = &ledger.effective {
        params.push(&effective);
        columns.push(quote_ident(column));
        values.push(format!(
            "CAST(${}::text::date AS {})",
            params.len(),
            ty(column)?
        ));
        fields.push(format!("{versions_key}.{column}"));
    }
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}) RETURNING {}::text",
        shape.versions,
        columns.join(", "),
        values.join(", "),
        shape.version_key
    );
    // A concurrent publication of the same label commits first: the unique key
    // refuses this one, which reads as the refusal it is.
    let version_id: String = match tx.query_one(&sql, &params).await {
        Ok(row) => row.get(0),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            return Err(PolicyError::AlreadyPublished {
                version: request.version.clone(),
                published_at: "just now, by another run".to_owned(),
            })
        }
        Err(e) => return Err(e.into()),
    };

    let notified_type = ledger::column_type(map, catalog, &ledger.notices, &ledger.notified_at)
        .map_err(PolicyError::MapMismatch)?;
    let insert = format!(
        "INSERT INTO {} ({}, {}, {}) SELECT {}, CAST($1::text AS {}), CAST(now() AS {notified_type}) FROM {} s",
        shape.notices.table,
        shape.notices.columns,
        quote_ident(&ledger.notice_version),
        quote_ident(&ledger.notified_at),
        shape.notices.values,
        shape.notice_version_type,
        shape.notices.subject.table.quoted(),
    );
    let notices = match (shape.active(2), shape.active_value()) {
        (Some(condition), Some(value)) => {
            tx.execute(
                &format!("{insert} WHERE {condition}"),
                &[&version_id, &value],
            )
            .await?
        }
        _ => tx.execute(&insert, &[&version_id]).await?,
    } as i64;
    fields.push(format!("{}.{}", ledger.notices, ledger.notice_version));
    fields.push(format!("{}.{}", ledger.notices, ledger.notified_at));

    tx.execute(
        "INSERT INTO derbes.policy_publications \
         (versions_table, version, effective_on, text_sha256, notices, ticket, published_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &map.table_name(&ledger.versions).to_string(),
            &request.version,
            &request.effective,
            &request.text_sha256,
            &notices,
            &request.ticket,
            &request.operator,
        ],
    )
    .await?;
    let entry = AuditEntry {
        action: "policy.publish".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: None,
        counts: BTreeMap::from([("notices".to_owned(), notices)]),
        fields,
        detail: serde_json::json!({
            "version": request.version,
            "effective_on": effective,
            "text_sha256": request.text_sha256,
            "active": shape.active_rule(),
            "map_digest": map.digest(),
        }),
    };
    let record = change.commit(&request.operator, &entry).await?;
    Ok(PublishReport {
        dry_run: request.dry_run,
        version: request.version.clone(),
        effective_on: request.effective,
        text_sha256: request.text_sha256.clone(),
        notices,
        active: shape.active_rule(),
        ticket: request.ticket.clone(),
        audit_seq: Some(record.seq),
    })
}

/// One subject's written objection to a version (10.4).
#[derive(Debug, Clone)]
pub struct ObjectionRequest {
    /// The subject key and `table:key`.
    pub key: String,
    pub subject_ref: String,
    pub version: String,
    /// Reference of the written objection (the email, the letter).
    pub document: String,
    pub ticket: String,
    pub operator: String,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectionReport {
    pub dry_run: bool,
    pub subject: String,
    pub version: String,
    pub document: String,
    pub ticket: String,
    pub audit_seq: Option<i64>,
}

/// Record the objection on the subject's notice of the version, with its audit row.
pub async fn object(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &ObjectionRequest,
) -> Result<ObjectionReport, PolicyError> {
    let shape = Shape::new(map, catalog)?;
    let ledger = shape.ledger;
    let change = change::begin(client, &Limits::default(), request.dry_run).await?;
    change
        .lock_subjects(&shape.notices.subject, std::slice::from_ref(&request.key))
        .await?;
    let tx = change.tx();
    let (version_id, _) = shape
        .find_version(tx, &request.version)
        .await?
        .ok_or_else(|| PolicyError::UnknownVersion(request.version.clone()))?;
    let notices_path = crate::map::link::LinkPath::compile(map, catalog, &ledger.notices)
        .map_err(PolicyError::MapMismatch)?;
    let mine = format!(
        "{} AND {} = CAST($2::text AS {})",
        notices_path.rows_of("t0", KeyMatch::One(1)),
        shape.notice_column(&ledger.notice_version),
        shape.notice_version_type
    );
    let sql = format!(
        "SELECT to_char({o} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM {} t0 WHERE {mine} ORDER BY {o} NULLS LAST LIMIT 1",
        notices_path.table.quoted(),
        o = shape.notice_column(&ledger.objected_at),
    );
    let Some(existing) = tx.query_opt(&sql, &[&request.key, &version_id]).await? else {
        return Err(PolicyError::NotNotified {
            subject: request.subject_ref.clone(),
            version: request.version.clone(),
        });
    };
    if let Some(at) = existing.get::<_, Option<String>>(0) {
        return Err(PolicyError::AlreadyObjected {
            subject: request.subject_ref.clone(),
            version: request.version.clone(),
            at: format!("{at} UTC"),
        });
    }
    let objected_type = ledger::column_type(map, catalog, &ledger.notices, &ledger.objected_at)
        .map_err(PolicyError::MapMismatch)?;
    let mut set = vec![format!(
        "{} = CAST(now() AS {objected_type})",
        quote_ident(&ledger.objected_at)
    )];
    let mut fields = vec![format!("{}.{}", ledger.notices, ledger.objected_at)];
    if let Some(column) = &ledger.objection_ref {
        let ty = ledger::column_type(map, catalog, &ledger.notices, column)
            .map_err(PolicyError::MapMismatch)?;
        set.push(format!("{} = CAST($3::text AS {ty})", quote_ident(column)));
        fields.push(format!("{}.{column}", ledger.notices));
    }
    let update = format!(
        "UPDATE {} t0 SET {} WHERE {mine} AND {} IS NULL",
        notices_path.table.quoted(),
        set.join(", "),
        shape.notice_column(&ledger.objected_at),
    );
    let changed = if ledger.objection_ref.is_some() {
        tx.execute(&update, &[&request.key, &version_id, &request.document])
            .await?
    } else {
        tx.execute(&update, &[&request.key, &version_id]).await?
    } as i64;
    let entry = AuditEntry {
        action: "policy.objection".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: Some(request.subject_ref.clone()),
        counts: BTreeMap::from([("notices".to_owned(), changed)]),
        fields,
        detail: serde_json::json!({
            "version": request.version,
            "document": request.document,
            "map_digest": map.digest(),
        }),
    };
    let record = change.commit(&request.operator, &entry).await?;
    Ok(ObjectionReport {
        dry_run: request.dry_run,
        subject: request.subject_ref.clone(),
        version: request.version.clone(),
        document: request.document.clone(),
        ticket: request.ticket.clone(),
        audit_seq: Some(record.seq),
    })
}

/// Where the effective date of a version comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveSource {
    /// Recorded by `derbes policy publish`.
    Derbes,
    /// The versions table's own column.
    VersionsTable,
    /// Not recorded anywhere: the publication date stands in.
    PublicationDate,
}

/// The counts of one version's notices.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyStatus {
    pub version: String,
    pub published_at: String,
    pub effective_on: Option<NaiveDate>,
    pub effective_source: EffectiveSource,
    /// Subjects sent a notice of this version.
    pub notified: i64,
    /// Of them, those who objected (10.4).
    pub objected: i64,
    /// Of them, those who did not object (10.5).
    pub silent: i64,
    /// Active subjects with no notice of this version (they joined after it was
    /// published, or were not active then).
    pub active_not_notified: i64,
    /// Whether silence already counts as consent (10.5): the version is in effect.
    pub silence_counts_as_consent: bool,
    pub today: NaiveDate,
}

/// Count the notices of `version`.
pub async fn status(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    version: &str,
    today: NaiveDate,
) -> Result<PolicyStatus, PolicyError> {
    let shape = Shape::new(map, catalog)?;
    let ledger = shape.ledger;
    let (version_id, published_at) = shape
        .find_version(client, version)
        .await?
        .ok_or_else(|| PolicyError::UnknownVersion(version.to_owned()))?;
    let counts = format!(
        "SELECT count(*), count({o}) FROM {} t0 WHERE {} = CAST($1::text AS {})",
        shape.notices.table,
        shape.notice_column(&ledger.notice_version),
        shape.notice_version_type,
        o = shape.notice_column(&ledger.objected_at),
    );
    let row = client.query_one(&counts, &[&version_id]).await?;
    let notified: i64 = row.get(0);
    let objected: i64 = row.get(1);

    // Active subjects without a notice of this version.
    let missing = format!(
        "SELECT count(*) FROM {} s WHERE {{active}} NOT EXISTS (SELECT 1 FROM {} t0 WHERE {} AND {} = CAST($1::text AS {}))",
        shape.notices.subject.table.quoted(),
        shape.notices.table,
        shape.notices.matches,
        shape.notice_column(&ledger.notice_version),
        shape.notice_version_type,
    );
    let active_not_notified: i64 = match (shape.active(2), shape.active_value()) {
        (Some(condition), Some(value)) => {
            let sql = missing.replace("{active}", &format!("{condition} AND"));
            client.query_one(&sql, &[&version_id, &value]).await?.get(0)
        }
        _ => {
            let sql = missing.replace("{active}", "");
            client.query_one(&sql, &[&version_id]).await?.get(0)
        }
    };

    let (effective_on, effective_source) =
        effective_date(client, map, &shape, version, &version_id, &published_at).await?;
    Ok(PolicyStatus {
        version: version.to_owned(),
        published_at,
        effective_on,
        effective_source,
        notified,
        objected,
        silent: notified - objected,
        active_not_notified,
        silence_counts_as_consent: effective_on.is_some_and(|d| d <= today),
        today,
    })
}

async fn effective_date(
    client: &impl GenericClient,
    map: &DataMap,
    shape: &Shape<'_>,
    version: &str,
    version_id: &str,
    published_at: &str,
) -> Result<(Option<NaiveDate>, EffectiveSource), PolicyError> {
    let ledger = shape.ledger;
    let recorded = client
        .query_opt(
            "SELECT effective_on FROM derbes.policy_publications WHERE versions_table = $1 AND version = $2",
            &[&map.table_name(&ledger.versions).to_string(), &version],
        )
        .await?;
    if let Some(row) = recorded {
        return Ok((Some(row.get(0)), EffectiveSource::Derbes));
    }
    if let Some(column) = &ledger.effective {
        let sql = format!(
            "SELECT v.{}::date FROM {} v WHERE v.{}::text = $1",
            quote_ident(column),
            shape.versions,
            shape.version_key
        );
        if let Some(date) = client
            .query_opt(&sql, &[&version_id])
            .await?
            .and_then(|row| row.get::<_, Option<NaiveDate>>(0))
        {
            return Ok((Some(date), EffectiveSource::VersionsTable));
        }
    }
    let date = NaiveDate::parse_from_str(published_at.get(..10).unwrap_or(""), "%Y-%m-%d").ok();
    Ok((date, EffectiveSource::PublicationDate))
}

/// One notice a subject was sent, for their export.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeRecord {
    pub version: Option<String>,
    pub notified_at: Option<String>,
    pub objected_at: Option<String>,
}

/// The notices of policy versions the subject with `key` was sent, oldest first;
/// empty when the map has no policy ledger.
pub async fn notices_of(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
) -> Result<Vec<NoticeRecord>, PolicyError> {
    if map.ledgers.policy.is_none() {
        return Ok(Vec::new());
    }
    let shape = Shape::new(map, catalog)?;
    let ledger = shape.ledger;
    let path = crate::map::link::LinkPath::compile(map, catalog, &ledger.notices)
        .map_err(PolicyError::MapMismatch)?;
    let sql = format!(
        "SELECT v.{}::text, {n}::text, {o}::text FROM {} t0 LEFT JOIN {} v ON v.{}::text = {}::text \
         WHERE {} ORDER BY {n}",
        quote_ident(&ledger.version),
        path.table.quoted(),
        shape.versions,
        shape.version_key,
        shape.notice_column(&ledger.notice_version),
        path.rows_of("t0", KeyMatch::One(1)),
        n = shape.notice_column(&ledger.notified_at),
        o = shape.notice_column(&ledger.objected_at),
    );
    Ok(client
        .query(&sql, &[&key])
        .await?
        .iter()
        .map(|row| NoticeRecord {
            version: row.get(0),
            notified_at: row.get(1),
            objected_at: row.get(2),
        })
        .collect())
}
