//! The reference schema of a 1Kredit-like lender and a synthetic population to fill
//! it, in the spirit of `pgbench -i`: realistic Kazakh and Russian borrowers with
//! valid IINs, their loans, devices, logs, consents and the rest of what the privacy
//! policy lists, deterministic from the seed, the as-of date and the sizes.
//!
//! Every table is written by one `COPY ... FROM STDIN` streamed in chunks, never a
//! round trip per row and never a whole table in memory. Each borrower's rows for a
//! table come from their own random stream (seed, borrower, table), so a table can
//! be generated on its own pass and still agree with the others; a child table that
//! needs its parent's ids (payments of loans, sessions of devices) replays the
//! parent's stream for that borrower.

pub mod guard;
pub(crate) mod names;

use std::collections::HashSet;
use std::fmt::Write as _;

use bytes::Bytes;
use chrono::{DateTime, Datelike, Months, NaiveDate, Timelike};
use futures_util::{pin_mut, SinkExt};
use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio_postgres::Client;

use crate::kz::identity::{Bin, BinEntity, BinUnit, Iin, Sex};
use names::*;

/// The reference schema: every personal-data category of the policy in the tables
/// of an MFO's production database.
pub const REFERENCE_SCHEMA: &str = include_str!("../../../sql/reference/schema.sql");

/// Average server-log rows per borrower unless told otherwise.
pub const DEFAULT_LOG_ROWS_PER_BORROWER: u32 = 20;

/// The largest population `generate` makes: phone numbers and email suffixes are
/// drawn without repetition from a space of this size.
pub const MAX_BORROWERS: u64 = 10_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    pub borrowers: u64,
    pub seed: u64,
    /// The day the population is seen from: every timestamp is before its midnight
    /// (UTC), ages and minors are counted on it.
    pub as_of: NaiveDate,
    /// Average server-log rows per borrower (about a tenth of them anonymous).
    pub log_rows_per_borrower: u32,
}

impl SampleOptions {
    pub fn new(borrowers: u64, seed: u64, as_of: NaiveDate) -> SampleOptions {
        SampleOptions {
            borrowers,
            seed,
            as_of,
            log_rows_per_borrower: DEFAULT_LOG_ROWS_PER_BORROWER,
        }
    }
}

/// Rows written, per table, in load order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleReport {
    pub tables: Vec<(String, u64)>,
}

impl SampleReport {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

#[derive(Debug, Error)]
pub enum SampleError {
    #[error("could not {step}: {}; check that the database is reachable and holds the reference schema (load it into an empty database first)", crate::pg::db::describe(.source))]
    Postgres {
        step: String,
        source: tokio_postgres::Error,
    },
    #[error("table {table} already has rows; generate into a fresh database holding only the reference schema")]
    NotEmpty { table: &'static str },
    #[error(
        "{asked} borrowers asked for, at most {MAX_BORROWERS} can be generated; ask for fewer"
    )]
    TooManyBorrowers { asked: u64 },
    #[error("{asked} log rows per borrower asked for, at most 10000 are supported; ask for fewer")]
    TooManyLogRows { asked: u32 },
    #[error("the as-of date must lie between 1950 and 2090 so that every borrower has a valid IIN; pick another date")]
    AsOfOutOfRange,
}

fn postgres(step: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> SampleError {
    let step = step.into();
    move |source| SampleError::Postgres { step, source }
}

/// Creates the reference schema's tables in the connected database's current schema.
pub async fn load_reference_schema(client: &Client) -> Result<(), SampleError> {
    client
        .batch_execute(REFERENCE_SCHEMA)
        .await
        .map_err(postgres("load the reference schema"))
}

/// The tables in load order (parents before children), with the columns written.
const TABLES: &[(&str, &[&str])] = &[
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

/// Fills the reference schema (already loaded, empty) with `opts.borrowers`
/// borrowers and everything that hangs off them, in one transaction: a failure
/// leaves the database as it was. `progress` hears the table being loaded and its
/// rows so far, after every chunk.
pub async fn generate(
    client: &Client,
    opts: &SampleOptions,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<SampleReport, SampleError> {
    if opts.borrowers > MAX_BORROWERS {
        return Err(SampleError::TooManyBorrowers {
            asked: opts.borrowers,
        });
    }
    if opts.log_rows_per_borrower > 10_000 {
        return Err(SampleError::TooManyLogRows {
            asked: opts.log_rows_per_borrower,
        });
    }
    if !(1950..=2090).contains(&opts.as_of.year()) {
        return Err(SampleError::AsOfOutOfRange);
    }
    client
        .batch_execute("BEGIN")
        .await
        .map_err(postgres("start the load transaction"))?;
    match load(client, opts, progress).await {
        Ok(report) => {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(postgres("commit the loaded rows"))?;
            let tables: Vec<String> = TABLES.iter().map(|(table, _)| quote(table)).collect();
            client
                .batch_execute(&format!("ANALYZE {}", tables.join(", ")))
                .await
                .map_err(postgres("analyze the loaded tables"))?;
            Ok(report)
        }
        Err(error) => {
            // The load's own error is the one worth reporting; a failed rollback
            // means the connection is gone, which ends the transaction anyway.
            let _ = client.batch_execute("ROLLBACK").await;
            Err(error)
        }
    }
}

async fn load(
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
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// One partition of `server_logs` per month from 24 months before `as_of` to the
/// month of `as_of`, and a DEFAULT partition for anything outside.
async fn create_log_partitions(client: &Client, world: &World) -> Result<(), SampleError> {
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
async fn drop_secondary_structures(client: &Client) -> Result<Vec<String>, SampleError> {
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
const CHUNK: usize = 256 * 1024;

async fn copy_table(
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

// ---------------------------------------------------------------------------------
// The world: everything shared by all borrowers, derived from the options.
// ---------------------------------------------------------------------------------

/// Random streams, one per (borrower, purpose): the purpose is the low 5 bits of
/// the ChaCha stream number.
#[derive(Clone, Copy)]
#[repr(u64)]
enum Stream {
    Person = 0,
    Phone,
    Email,
    EmailSharing,
    Borrower,
    Address,
    Document,
    ContactPerson,
    Employment,
    Card,
    Account,
    Photo,
    Loan,
    Payment,
    Device,
    Session,
    Log,
    Cookie,
    Usage,
    Location,
    Consent,
    Notice,
    Disclosure,
    Support,
    World,
}

const SECONDS_PER_DAY: i64 = 86_400;

struct PolicyVersion {
    id: u64,
    version: &'static str,
    published_at: i64,
}

struct Employer {
    name: String,
    bin: Bin,
    city: usize,
    street: &'static str,
    house: u32,
}

struct World {
    base: ChaCha8Rng,
    as_of: NaiveDate,
    /// `as_of` at midnight UTC, in Unix seconds: every timestamp is before it.
    now: i64,
    borrowers: u64,
    log_rows_per_borrower: u32,
    policies: [PolicyVersion; 3],
    employers: Vec<Employer>,
    cities: WeightedIndex<u32>,
    /// Blocks of 16 addresses behind which many borrowers sit (offices, mobile
    /// carrier NAT), so that lookups by IP range find several people.
    shared_ip_blocks: Vec<u32>,
    permutation_offset: u64,
}

/// Kazakhtelecom and other Kazakh IPv4 ranges: (first address, prefix length).
const KZ_NETWORKS: &[(u32, u32)] = &[
    (u32::from_be_bytes([2, 132, 0, 0]), 14),
    (u32::from_be_bytes([37, 150, 0, 0]), 15),
    (u32::from_be_bytes([92, 46, 0, 0]), 15),
    (u32::from_be_bytes([95, 56, 0, 0]), 14),
    (u32::from_be_bytes([178, 88, 0, 0]), 14),
    (u32::from_be_bytes([89, 218, 0, 0]), 16),
];

fn kz_ip(rng: &mut ChaCha8Rng) -> u32 {
    let (base, prefix) = KZ_NETWORKS[rng.gen_range(0..KZ_NETWORKS.len())];
    base + rng.gen_range(1..(1u32 << (32 - prefix)) - 1)
}

impl World {
    fn new(opts: &SampleOptions) -> World {
        let base = ChaCha8Rng::seed_from_u64(opts.seed);
        let now = opts
            .as_of
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp();
        let mut world = World {
            base,
            as_of: opts.as_of,
            now,
            borrowers: opts.borrowers,
            log_rows_per_borrower: opts.log_rows_per_borrower,
            policies: [
                PolicyVersion {
                    id: 1,
                    version: "1.0",
                    published_at: now - (6 * 365 + 60) * SECONDS_PER_DAY + 9 * 3600,
                },
                PolicyVersion {
                    id: 2,
                    version: "2.0",
                    published_at: now - 3 * 365 * SECONDS_PER_DAY + 9 * 3600,
                },
                PolicyVersion {
                    id: 3,
                    version: "2.1",
                    published_at: now - 240 * SECONDS_PER_DAY + 9 * 3600,
                },
            ],
            employers: Vec::new(),
            cities: WeightedIndex::new(CITIES.iter().map(|c| c.weight)).expect("positive weights"),
            shared_ip_blocks: Vec::new(),
            permutation_offset: 0,
        };
        let mut rng = world.rng(0, Stream::World);
        world.permutation_offset = rng.gen_range(0..MAX_BORROWERS);
        world.shared_ip_blocks = (0..40).map(|_| kz_ip(&mut rng) & !0xF).collect();
        world.employers = (0..400)
            .map(|k| {
                let form = EMPLOYER_FORMS[k % EMPLOYER_FORMS.len()];
                let word = EMPLOYER_WORDS[(k / EMPLOYER_FORMS.len()) % EMPLOYER_WORDS.len()];
                let city = world.cities.sample(&mut rng);
                let name = if k < EMPLOYER_FORMS.len() * EMPLOYER_WORDS.len() {
                    format!("{form} «{word}»")
                } else {
                    format!("{form} «{word} {}»", CITIES[city].name)
                };
                let registered = opts.as_of - chrono::Days::new(rng.gen_range(400..9000));
                let mut serial = rng.gen_range(0..99_000);
                let bin = loop {
                    if let Some(bin) = Bin::from_parts(
                        registered,
                        BinEntity::ResidentLegalEntity,
                        BinUnit::Head,
                        serial,
                    ) {
                        break bin;
                    }
                    serial += 1;
                };
                Employer {
                    name,
                    bin,
                    city,
                    street: STREETS[rng.gen_range(0..STREETS.len())],
                    house: rng.gen_range(1..200),
                }
            })
            .collect();
        world
    }

    fn rng(&self, borrower: u64, stream: Stream) -> ChaCha8Rng {
        let mut rng = self.base.clone();
        rng.set_stream((borrower << 5) | stream as u64);
        rng
    }

    fn log_start_month(&self) -> NaiveDate {
        first_of_month(self.as_of - Months::new(24))
    }

    /// A bijection of `0..modulus` (for ids below it): unique phone numbers and
    /// email suffixes without remembering which were given out. The multiplier is
    /// coprime to the modulus, near its golden-ratio fraction so that neighbouring
    /// ids land far apart.
    fn permute(&self, borrower: u64, modulus: u64, multiplier: u64) -> u64 {
        (borrower.wrapping_mul(multiplier) + self.permutation_offset) % modulus
    }

    /// The borrower's own mobile number, distinct from every other borrower's own.
    fn own_phone(&self, borrower: u64) -> String {
        const PER_CODE: u64 = 10_000_000;
        const _: () = assert!(
            MOBILE_CODES.len() == 11,
            "the multiplier below must stay coprime to the number of codes times 10^7"
        );
        let index = self.permute(borrower, PER_CODE * MOBILE_CODES.len() as u64, 67_983_739);
        format!(
            "+7{}{:07}",
            MOBILE_CODES[(index / PER_CODE) as usize],
            index % PER_CODE
        )
    }

    /// The phone on file: about 0.5% share another borrower's number.
    fn phone_of(&self, borrower: u64) -> String {
        let mut rng = self.rng(borrower, Stream::Phone);
        if borrower > 1 && rng.gen_bool(0.005) {
            self.own_phone(rng.gen_range(1..borrower))
        } else {
            self.own_phone(borrower)
        }
    }

    /// The borrower's own email (most have one), distinct from every other own.
    fn own_email(&self, borrower: u64) -> Option<String> {
        let mut rng = self.rng(borrower, Stream::Email);
        if !rng.gen_bool(0.92) {
            return None;
        }
        let person = Person::new(self, borrower);
        let first = transliterate(person.name.first);
        let last = transliterate(&person.name.last());
        let suffix = self.permute(borrower, MAX_BORROWERS, 6_180_339);
        let domain = [
            "mail.ru",
            "gmail.com",
            "inbox.kz",
            "mail.kz",
            "yandex.kz",
            "list.ru",
            "icloud.com",
        ][rng.gen_range(0..7)];
        Some(match rng.gen_range(0..3) {
            0 => format!("{first}.{last}{suffix}@{domain}"),
            1 => format!("{first}_{last}{suffix}@{domain}"),
            _ => format!("{first}{suffix}@{domain}"),
        })
    }

    /// The email on file: about 0.5% of borrowers give another borrower's address,
    /// sometimes in another letter case.
    fn email_of(&self, borrower: u64) -> Option<String> {
        let mut rng = self.rng(borrower, Stream::EmailSharing);
        if borrower > 1 && rng.gen_bool(0.005) {
            let other = rng.gen_range(1..borrower);
            if let Some(email) = self.own_email(other) {
                return Some(if rng.gen_bool(0.5) {
                    let mut chars = email.chars();
                    let first = chars.next().map(|c| c.to_ascii_uppercase());
                    first.into_iter().chain(chars).collect()
                } else {
                    email
                });
            }
        }
        self.own_email(borrower)
    }
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a first day")
}

// ---------------------------------------------------------------------------------
// A person: what every table needs to know about a borrower, replayed per table.
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Name {
    surname: &'static str,
    female: bool,
    first: &'static str,
    /// Stem and ending, e.g. ("Нұрлан", "ұлы") or ("Сергеевич", "").
    patronymic: Option<(&'static str, &'static str)>,
}

impl Name {
    fn random(rng: &mut ChaCha8Rng, sex: Sex) -> Name {
        let female = sex == Sex::Female;
        let kazakh = rng.gen_bool(0.7);
        let (surnames, firsts) = match (kazakh, female) {
            (true, false) => (KAZAKH_SURNAMES, KAZAKH_MALE),
            (true, true) => (KAZAKH_SURNAMES, KAZAKH_FEMALE),
            (false, false) => (RUSSIAN_SURNAMES, RUSSIAN_MALE),
            (false, true) => (RUSSIAN_SURNAMES, RUSSIAN_FEMALE),
        };
        let surname = surnames[rng.gen_range(0..surnames.len())];
        let first = firsts[rng.gen_range(0..firsts.len())];
        let style = rng.gen_range(0..100);
        let patronymic = if style < 8 {
            None
        } else if kazakh && style < 55 {
            let father = KAZAKH_MALE[rng.gen_range(0..KAZAKH_MALE.len())];
            Some((father, if female { "қызы" } else { "ұлы" }))
        } else {
            let pool = if kazakh {
                KAZAKH_FATHERS_RUSSIAN_STYLE
            } else {
                RUSSIAN_PATRONYMICS
            };
            let (male, female_form) = pool[rng.gen_range(0..pool.len())];
            Some((if female { female_form } else { male }, ""))
        };
        Name {
            surname,
            female,
            first,
            patronymic,
        }
    }

    fn last(&self) -> String {
        if self.female {
            format!("{}а", self.surname)
        } else {
            self.surname.to_owned()
        }
    }

    fn patronymic(&self) -> Option<String> {
        self.patronymic
            .map(|(stem, ending)| format!("{stem}{ending}"))
    }

    fn full(&self) -> String {
        match self.patronymic() {
            Some(patronymic) => format!("{} {} {}", self.last(), self.first, patronymic),
            None => format!("{} {}", self.last(), self.first),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Blocked,
    Closed,
}

struct Person {
    sex: Sex,
    birth_date: NaiveDate,
    minor: bool,
    name: Name,
    city: usize,
    created_at: i64,
    status: Status,
    /// When the account was blocked or closed (or last updated, when active).
    status_at: i64,
    citizenship: &'static str,
    home_ip: u32,
    mobile_ip: u32,
}

impl Person {
    fn new(world: &World, borrower: u64) -> Person {
        let mut rng = world.rng(borrower, Stream::Person);
        let as_of = world.as_of;
        let minor = rng.gen_bool(0.01);
        let sex = if rng.gen_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        // Ages 16..75: minors are born in (as_of - 18y, as_of - 16y], adults in
        // (as_of - 76y, as_of - 18y], skewed towards the young as borrowers are.
        let eighteen = as_of - Months::new(18 * 12);
        let birth_date = if minor {
            let sixteen = as_of - Months::new(16 * 12);
            let span = (sixteen - eighteen).num_days();
            eighteen + chrono::Days::new(rng.gen_range(1..=span) as u64)
        } else {
            let oldest = as_of - Months::new(76 * 12);
            let span = (eighteen - oldest).num_days() - 1;
            let skewed = (rng.gen::<f64>().powf(1.7) * span as f64) as u64;
            eighteen - chrono::Days::new(skewed)
        };
        let name = Name::random(&mut rng, sex);
        let city = world.cities.sample(&mut rng);
        let adult_from = birth_date + Months::new(if minor { 16 * 12 } else { 18 * 12 });
        let earliest = (world.now - 6 * 365 * SECONDS_PER_DAY).max(midnight(adult_from));
        let latest = world.now - 3600;
        let created_at = rng.gen_range(earliest.min(latest - SECONDS_PER_DAY)..latest);
        let status = match rng.gen_range(0..1000) {
            0..=9 => Status::Blocked,
            10..=29 => Status::Closed,
            _ => Status::Active,
        };
        let status_at = rng.gen_range(created_at..world.now);
        let citizenship = match rng.gen_range(0..100) {
            0 => "RU",
            1 => "UZ",
            2 => "KG",
            _ => "KZ",
        };
        let home_ip = if rng.gen_bool(0.03) {
            world.shared_ip_blocks[rng.gen_range(0..world.shared_ip_blocks.len())]
                + rng.gen_range(0..16)
        } else {
            kz_ip(&mut rng)
        };
        let mobile_ip = if rng.gen_bool(0.05) {
            world.shared_ip_blocks[rng.gen_range(0..world.shared_ip_blocks.len())]
                + rng.gen_range(0..16)
        } else {
            kz_ip(&mut rng)
        };
        Person {
            sex,
            birth_date,
            minor,
            name,
            city,
            created_at,
            status,
            status_at,
            citizenship,
            home_ip,
            mobile_ip,
        }
    }

    /// A moment between sign-up and the as-of date.
    fn moment(&self, world: &World, rng: &mut ChaCha8Rng) -> i64 {
        rng.gen_range(self.created_at..world.now)
    }
}

fn midnight(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
}

fn date_of(seconds: i64) -> NaiveDate {
    DateTime::from_timestamp(seconds, 0)
        .expect("timestamps stay within chrono's range")
        .date_naive()
}

// ---------------------------------------------------------------------------------
// Rows replayed by more than one table.
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum LoanStatus {
    Open,
    Closed,
    Overdue,
    WrittenOff,
}

struct Loan {
    issued_at: i64,
    due_on: NaiveDate,
    closed_at: Option<i64>,
    status: LoanStatus,
    /// Principal and the amount owed at due date, in tiyn.
    principal: i64,
    owed: i64,
    rate_basis_points: i64,
}

fn loans_of(world: &World, person: &Person, borrower: u64) -> Vec<Loan> {
    let mut rng = world.rng(borrower, Stream::Loan);
    let count = WeightedIndex::new([15u32, 25, 20, 15, 12, 8, 5])
        .expect("positive weights")
        .sample(&mut rng);
    let earliest = person.created_at.max(world.now - 6 * 365 * SECONDS_PER_DAY);
    let mut issued: Vec<i64> = (0..count)
        .map(|_| rng.gen_range(earliest..world.now - 3600))
        .collect();
    issued.sort_unstable();
    let as_of = world.as_of;
    issued
        .into_iter()
        .enumerate()
        .map(|(index, issued_at)| {
            let term_days = [7u64, 15, 30, 30, 45, 60, 90, 180][rng.gen_range(0..8)];
            let principal =
                rng.gen_range(if index == 0 { 20..=100 } else { 30..=300 }) * 1000 * 100;
            let rate_basis_points = if index == 0 && rng.gen_bool(0.3) {
                0
            } else {
                [3650, 4500, 4990, 5600][rng.gen_range(0..4)]
            };
            let owed =
                principal + principal * rate_basis_points * term_days as i64 / (365 * 10_000);
            let due_on = date_of(issued_at) + chrono::Days::new(term_days);
            let due_at = midnight(due_on);
            let roll = rng.gen_range(0..100);
            let (status, closed_at) = if due_on >= as_of {
                if roll < 25 {
                    (
                        LoanStatus::Closed,
                        Some(rng.gen_range(issued_at..world.now)),
                    )
                } else {
                    (LoanStatus::Open, None)
                }
            } else if roll < 88 {
                let late =
                    rng.gen_range(-(term_days as i64) * SECONDS_PER_DAY / 2..10 * SECONDS_PER_DAY);
                let closed = (due_at + late).clamp(issued_at + 3600, world.now - 1);
                (LoanStatus::Closed, Some(closed))
            } else if roll < 97 || due_at > world.now - 180 * SECONDS_PER_DAY {
                (LoanStatus::Overdue, None)
            } else {
                (LoanStatus::WrittenOff, None)
            };
            Loan {
                issued_at,
                due_on,
                closed_at,
                status,
                principal,
                owed,
                rate_basis_points,
            }
        })
        .collect()
}

struct Device {
    uid: u128,
    kind: usize,
    first_seen: i64,
    last_seen: i64,
}

fn devices_of(world: &World, person: &Person, borrower: u64) -> Vec<Device> {
    let mut rng = world.rng(borrower, Stream::Device);
    let count = match rng.gen_range(0..10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    (0..count)
        .map(|_| {
            let first_seen = person.moment(world, &mut rng);
            Device {
                uid: rng.gen(),
                kind: rng.gen_range(0..DEVICES.len()),
                first_seen,
                last_seen: rng.gen_range(first_seen..world.now),
            }
        })
        .collect()
}

fn user_agent(kind: usize, buffer: &mut String) {
    let (os, model, browser) = DEVICES[kind];
    match browser {
        None => {
            let _ = write!(buffer, "1Kredit/3.{} ({os}; {model})", kind % 7 + 2);
        }
        Some(browser) => {
            let (name, version) = browser.split_once(' ').unwrap_or((browser, "1"));
            let _ = write!(
                buffer,
                "Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) {name}/{version}.0"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Writing COPY text rows.
// ---------------------------------------------------------------------------------

/// One row of COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
struct Row<'a> {
    buffer: &'a mut String,
    first: bool,
}

impl<'a> Row<'a> {
    fn start(buffer: &'a mut String) -> Row<'a> {
        Row {
            buffer,
            first: true,
        }
    }

    fn separate(&mut self) {
        if !self.first {
            self.buffer.push('\t');
        }
        self.first = false;
    }

    fn text(mut self, value: &str) -> Self {
        self.separate();
        for c in value.chars() {
            match c {
                '\\' => self.buffer.push_str("\\\\"),
                '\t' => self.buffer.push_str("\\t"),
                '\n' => self.buffer.push_str("\\n"),
                '\r' => self.buffer.push_str("\\r"),
                _ => self.buffer.push(c),
            }
        }
        self
    }

    fn opt_text(self, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.text(value),
            None => self.null(),
        }
    }

    /// A value known to need no escaping (numbers, codes, formatted dates).
    fn raw(mut self, value: impl std::fmt::Display) -> Self {
        self.separate();
        let _ = write!(self.buffer, "{value}");
        self
    }

    fn null(mut self) -> Self {
        self.separate();
        self.buffer.push_str("\\N");
        self
    }

    fn money(self, tiyn: i64) -> Self {
        self.raw(format_args!("{}.{:02}", tiyn / 100, tiyn % 100))
    }

    fn ip(self, address: u32) -> Self {
        self.raw(std::net::Ipv4Addr::from(address))
    }

    fn date(mut self, date: NaiveDate) -> Self {
        self.separate();
        let _ = write!(
            self.buffer,
            "{:04}-{:02}-{:02}",
            date.year(),
            date.month(),
            date.day()
        );
        self
    }

    fn timestamp(mut self, seconds: i64) -> Self {
        self.separate();
        let moment = DateTime::from_timestamp(seconds, 0).expect("timestamps stay within range");
        let _ = write!(
            self.buffer,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}+00",
            moment.year(),
            moment.month(),
            moment.day(),
            moment.hour(),
            moment.minute(),
            moment.second()
        );
        self
    }

    fn opt_timestamp(self, seconds: Option<i64>) -> Self {
        match seconds {
            Some(seconds) => self.timestamp(seconds),
            None => self.null(),
        }
    }

    fn end(self) -> u64 {
        self.buffer.push('\n');
        1
    }
}

fn random_hex(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rng.fill_bytes(&mut raw);
    hex::encode(&raw)
}

/// A KZ IBAN: `KZ`, two ISO 7064 check digits, the bank's 3-digit code, 13 digits.
fn kz_iban(bank_code: &str, account: u64) -> String {
    let bban = format!("{bank_code}{account:013}");
    // Rearranged as BBAN + "KZ00" with letters as numbers (K = 20, Z = 35).
    let remainder = format!("{bban}203500")
        .bytes()
        .fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
    format!("KZ{:02}{bban}", 98 - remainder)
}

/// Each table's rows, one borrower (a "unit") at a time, with the running id.
struct TableWriter {
    table: &'static str,
    next_id: u64,
    /// Ids of a parent table replayed alongside (loans for payments, devices for
    /// sessions).
    next_parent_id: u64,
    issued_iins: HashSet<u64>,
}

impl TableWriter {
    fn for_table(table: &'static str, world: &World) -> TableWriter {
        TableWriter {
            table,
            next_id: 1,
            next_parent_id: 1,
            issued_iins: if table == "borrowers" {
                HashSet::with_capacity(world.borrowers as usize)
            } else {
                HashSet::new()
            },
        }
    }

    fn units(&self, world: &World) -> u64 {
        match self.table {
            "policy_versions" => 1,
            _ => world.borrowers,
        }
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn write_unit(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        match self.table {
            "policy_versions" => write_policy_versions(world, out),
            "borrowers" => self.write_borrower(world, borrower, out),
            "addresses" => self.write_addresses(world, borrower, out),
            "identity_documents" => self.write_documents(world, borrower, out),
            "contact_persons" => self.write_contact_persons(world, borrower, out),
            "employments" => self.write_employment(world, borrower, out),
            "bank_cards" => self.write_cards(world, borrower, out),
            "bank_accounts" => self.write_accounts(world, borrower, out),
            "photos" => self.write_photos(world, borrower, out),
            "loans" => self.write_loans(world, borrower, out),
            "payments" => self.write_payments(world, borrower, out),
            "devices" => self.write_devices(world, borrower, out),
            "sessions" => self.write_sessions(world, borrower, out),
            "server_logs" => self.write_logs(world, borrower, out),
            "cookies" => self.write_cookies(world, borrower, out),
            "usage_events" => self.write_usage(world, borrower, out),
            "locations" => self.write_locations(world, borrower, out),
            "consents" => self.write_consents(world, borrower, out),
            "policy_notices" => self.write_notices(world, borrower, out),
            "disclosures" => self.write_disclosures(world, borrower, out),
            "support_messages" => self.write_support(world, borrower, out),
            other => unreachable!("no generator for table {other}"),
        }
    }

    fn write_borrower(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Borrower);
        let mut serial = rng.gen_range(0..10_000u16);
        let iin = loop {
            if let Some(iin) = Iin::from_parts(person.birth_date, person.sex, serial) {
                let key: u64 = iin.to_string().parse().expect("12 digits");
                if self.issued_iins.insert(key) {
                    break iin;
                }
            }
            serial = (serial + 1) % 10_000;
        };
        let bin = (!person.minor && rng.gen_bool(0.03)).then(|| {
            let registered =
                date_of(person.created_at) - chrono::Days::new(rng.gen_range(30..3000));
            let mut serial = rng.gen_range(0..99_000);
            loop {
                if let Some(bin) = Bin::from_parts(
                    registered,
                    BinEntity::IndividualEntrepreneur,
                    BinUnit::Head,
                    serial,
                ) {
                    break bin.to_string();
                }
                serial += 1;
            }
        });
        let marital = if person.minor {
            "single"
        } else {
            [
                "single", "married", "married", "married", "divorced", "widowed", "single",
            ][rng.gen_range(0..7)]
        };
        let dependants = if person.minor {
            0
        } else {
            [0, 0, 1, 1, 2, 2, 3, 4][rng.gen_range(0..8)]
        };
        let pep = rng.gen_bool(0.002).then_some(
            [
                "spouse of a foreign PEP",
                "child of a foreign PEP",
                "close associate of a foreign PEP",
            ][rng.gen_range(0..3)],
        );
        let beneficial_owner = rng.gen_bool(0.02);
        let (status, token_version, updated_at) = match person.status {
            Status::Active => ("active", 1, person.status_at),
            Status::Blocked => ("blocked", 2, person.status_at),
            Status::Closed => ("closed", 1, person.status_at),
        };
        Row::start(out)
            .raw(borrower)
            .raw(iin)
            .opt_text(bin.as_deref())
            .text(&person.name.last())
            .text(person.name.first)
            .opt_text(person.name.patronymic().as_deref())
            .date(person.birth_date)
            .raw(person.sex.code())
            .raw(person.citizenship)
            .raw(marital)
            .raw(dependants)
            .opt_text(pep)
            .raw(if beneficial_owner { 't' } else { 'f' })
            .opt_text(world.email_of(borrower).as_deref())
            .raw(world.phone_of(borrower))
            .raw(status)
            .raw(token_version)
            .timestamp(person.created_at)
            .timestamp(updated_at)
            .end()
    }

    fn write_addresses(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Address);
        let residence = (
            person.city,
            STREETS[rng.gen_range(0..STREETS.len())],
            house_number(&mut rng),
            rng.gen_bool(0.7)
                .then(|| rng.gen_range(1..300u32).to_string()),
        );
        let registration = match rng.gen_range(0..10) {
            0..=5 => residence.clone(),
            6..=7 => (
                person.city,
                STREETS[rng.gen_range(0..STREETS.len())],
                house_number(&mut rng),
                rng.gen_bool(0.6)
                    .then(|| rng.gen_range(1..300u32).to_string()),
            ),
            _ => (
                world.cities.sample(&mut rng),
                STREETS[rng.gen_range(0..STREETS.len())],
                house_number(&mut rng),
                rng.gen_bool(0.4)
                    .then(|| rng.gen_range(1..300u32).to_string()),
            ),
        };
        let mut rows = 0;
        for (kind, (city, street, house, flat)) in
            [("residence", residence), ("registration", registration)]
        {
            let city = &CITIES[city];
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(kind)
                .text(city.region)
                .text(city.name)
                .text(street)
                .text(&house)
                .opt_text(flat.as_deref())
                .raw(city.postcode)
                .timestamp(person.created_at)
                .end();
        }
        rows
    }

    fn write_documents(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Document);
        let (doc_type, number) = if person.citizenship != "KZ" {
            (
                "residence_permit",
                format!("F{:08}", rng.gen_range(0..100_000_000)),
            )
        } else if rng.gen_bool(0.85) {
            ("id_card", format!("{:09}", rng.gen_range(0..1_000_000_000)))
        } else {
            ("passport", format!("N{:08}", rng.gen_range(0..100_000_000)))
        };
        let sixteen = person.birth_date + Months::new(16 * 12);
        let earliest = sixteen.max(world.as_of - Months::new(10 * 12) + chrono::Days::new(1));
        let latest = (world.as_of - chrono::Days::new(1)).max(earliest);
        let span = (latest - earliest).num_days();
        let issued_on = earliest + chrono::Days::new(rng.gen_range(0..=span) as u64);
        let issued_by = if doc_type == "id_card" && issued_on.year() < 2012 {
            "МЮ РК"
        } else {
            "МВД РК"
        };
        let id = self.id();
        Row::start(out)
            .raw(id)
            .raw(borrower)
            .raw(doc_type)
            .raw(number)
            .text(issued_by)
            .date(issued_on)
            .date(issued_on + Months::new(10 * 12) - chrono::Days::new(1))
            .timestamp(person.created_at)
            .end()
    }

    fn write_contact_persons(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::ContactPerson);
        let count = if rng.gen_bool(0.6) { 1 } else { 2 };
        let mut rows = 0;
        for _ in 0..count {
            let sex = if rng.gen_bool(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            let name = Name::random(&mut rng, sex);
            let phone = format!(
                "+7{}{:07}",
                MOBILE_CODES[rng.gen_range(0..MOBILE_CODES.len())],
                rng.gen_range(0..10_000_000)
            );
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .text(&name.full())
                .text(CONTACT_RELATIONS[rng.gen_range(0..CONTACT_RELATIONS.len())])
                .raw(phone)
                .timestamp(person.created_at)
                .end();
        }
        rows
    }

    fn write_employment(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Employment);
        if person.minor || !rng.gen_bool(0.85) {
            return 0;
        }
        let employer = &world.employers[rng.gen_range(0..world.employers.len())];
        let city = &CITIES[employer.city];
        let address = format!("{}, {}, {}", city.name, employer.street, employer.house);
        let id = self.id();
        Row::start(out)
            .raw(id)
            .raw(borrower)
            .text(&employer.name)
            .raw(employer.bin)
            .text(&address)
            .text(POSITIONS[rng.gen_range(0..POSITIONS.len())])
            .money(rng.gen_range(85..1200) * 1000 * 100)
            .timestamp(person.created_at)
            .end()
    }

    fn write_cards(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Card);
        let count = if rng.gen_bool(0.7) { 1 } else { 2 };
        let holder = format!(
            "{} {}",
            transliterate(person.name.first).to_uppercase(),
            transliterate(&person.name.last()).to_uppercase()
        );
        let mut rows = 0;
        for _ in 0..count {
            let added = person.moment(world, &mut rng);
            let expires_year = date_of(added).year() + rng.gen_range(1..5);
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(format_args!(
                    "{}******{:04}",
                    CARD_PREFIXES[rng.gen_range(0..CARD_PREFIXES.len())],
                    rng.gen_range(0..10_000)
                ))
                .raw(format_args!("tok_{}", random_hex(&mut rng, 12)))
                .text(&holder)
                .raw(format_args!(
                    "{:02}/{:02}",
                    rng.gen_range(1..=12),
                    expires_year % 100
                ))
                .timestamp(added)
                .end();
        }
        rows
    }

    fn write_accounts(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Account);
        if !rng.gen_bool(0.6) {
            return 0;
        }
        let (code, bic) = BANKS[rng.gen_range(0..BANKS.len())];
        let id = self.id();
        Row::start(out)
            .raw(id)
            .raw(borrower)
            .raw(kz_iban(code, rng.gen_range(0..10_000_000_000_000)))
            .raw(bic)
            .timestamp(person.moment(world, &mut rng))
            .end()
    }

    fn write_photos(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Photo);
        let mut kinds = vec!["selfie", "id_front", "id_back"];
        if rng.gen_bool(0.1) {
            kinds.push("selfie");
        }
        let mut rows = 0;
        for (index, kind) in kinds.into_iter().enumerate() {
            let taken_at =
                (person.created_at + 60 * index as i64 + rng.gen_range(0..600)).min(world.now - 1);
            let month = date_of(taken_at);
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(kind)
                .raw(format_args!(
                    "kyc/{:04}/{:02}/{borrower}/{kind}-{}.jpg",
                    month.year(),
                    month.month(),
                    random_hex(&mut rng, 8)
                ))
                .raw(random_hex(&mut rng, 32))
                .timestamp(taken_at)
                .end();
        }
        rows
    }

    fn write_loans(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rows = 0;
        for loan in loans_of(world, &person, borrower) {
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(format_args!(
                    "1K-{}-{id:08}",
                    date_of(loan.issued_at).year()
                ))
                .money(loan.principal)
                .money(loan.rate_basis_points)
                .timestamp(loan.issued_at)
                .date(loan.due_on)
                .opt_timestamp(loan.closed_at)
                .raw(match loan.status {
                    LoanStatus::Open => "open",
                    LoanStatus::Closed => "closed",
                    LoanStatus::Overdue => "overdue",
                    LoanStatus::WrittenOff => "written_off",
                })
                .end();
        }
        rows
    }

    fn write_payments(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Payment);
        let mut rows = 0;
        for loan in loans_of(world, &person, borrower) {
            let loan_id = self.next_parent_id;
            self.next_parent_id += 1;
            // Closed loans are paid in full, the last payment closing them; the rest
            // have partial payments, if any.
            let (count, total, last_at) = match loan.status {
                LoanStatus::Closed => {
                    let closed_at = loan.closed_at.expect("closed loans have a closing time");
                    (rng.gen_range(1..=3), loan.owed, closed_at)
                }
                LoanStatus::Open => (rng.gen_range(0..=1), loan.owed / 3, world.now - 1),
                LoanStatus::Overdue => (rng.gen_range(0..=2), loan.owed / 4, world.now - 1),
                LoanStatus::WrittenOff => (rng.gen_range(0..=1), loan.owed / 5, world.now - 1),
            };
            let mut paid = 0;
            for part in 1..=count {
                let amount = if part == count {
                    (total - paid).max(100)
                } else {
                    total / count - rng.gen_range(0..total / count / 4 + 1)
                };
                paid += amount;
                let paid_at = if part == count && loan.status == LoanStatus::Closed {
                    last_at
                } else {
                    rng.gen_range(loan.issued_at..last_at.max(loan.issued_at + 1))
                };
                let id = self.id();
                rows += Row::start(out)
                    .raw(id)
                    .raw(loan_id)
                    .timestamp(paid_at)
                    .money(amount.max(100))
                    .raw(
                        [
                            "card",
                            "card",
                            "kaspi",
                            "kaspi",
                            "terminal",
                            "bank_transfer",
                        ][rng.gen_range(0..6)],
                    )
                    .end();
            }
        }
        rows
    }

    fn write_devices(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rows = 0;
        for device in devices_of(world, &person, borrower) {
            let (os, model, browser) = DEVICES[device.kind];
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(format_args!("{:032x}", device.uid))
                .raw(os)
                .raw(model)
                .opt_text(browser)
                .timestamp(device.first_seen)
                .timestamp(device.last_seen)
                .end();
        }
        rows
    }

    fn write_sessions(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let devices = devices_of(world, &person, borrower);
        let first_device_id = self.next_parent_id;
        self.next_parent_id += devices.len() as u64;
        let mut rng = world.rng(borrower, Stream::Session);
        let mut rows = 0;
        let mut agent = String::new();
        for _ in 0..rng.gen_range(1..=6) {
            let index = rng.gen_range(0..devices.len());
            let device = &devices[index];
            let started_at = rng.gen_range(device.first_seen..=device.last_seen);
            let last_seen_at = (started_at + rng.gen_range(30..7200)).min(world.now - 1);
            let ip = match rng.gen_range(0..10) {
                0..=5 => person.mobile_ip,
                6..=8 => person.home_ip,
                _ => kz_ip(&mut rng),
            };
            let revoked_at = match person.status {
                Status::Active => rng.gen_bool(0.05).then_some(last_seen_at),
                Status::Blocked | Status::Closed => Some(person.status_at.max(last_seen_at)),
            };
            agent.clear();
            user_agent(device.kind, &mut agent);
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(first_device_id + index as u64)
                .ip(ip)
                .text(&agent)
                .timestamp(started_at)
                .timestamp(last_seen_at)
                .opt_timestamp(revoked_at)
                .end();
        }
        rows
    }

    /// About `log_rows_per_borrower` rows per borrower over the 24 months before
    /// `as_of`; about one in ten is anonymous traffic with no borrower.
    fn write_logs(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let devices = devices_of(world, &person, borrower);
        let mut rng = world.rng(borrower, Stream::Log);
        let start = midnight(world.log_start_month());
        let earliest = start.max(person.created_at);
        let count = rng.gen_range(0..=2 * world.log_rows_per_borrower);
        let mut rows = 0;
        let mut agent = String::new();
        for _ in 0..count {
            let anonymous = rng.gen_bool(0.1);
            let logged_at = if anonymous {
                rng.gen_range(start..world.now)
            } else {
                rng.gen_range(earliest..world.now)
            };
            let ip = if anonymous {
                kz_ip(&mut rng)
            } else if rng.gen_bool(0.6) {
                person.mobile_ip
            } else {
                person.home_ip
            };
            let (method, path) = REQUESTS[rng.gen_range(0..REQUESTS.len())];
            let status = match rng.gen_range(0..100) {
                0..=87 => 200,
                88..=90 => 201,
                91..=92 => 304,
                93..=95 => 401,
                96..=97 => 404,
                98 => 429,
                _ => 500,
            };
            agent.clear();
            let kind = if anonymous {
                rng.gen_range(0..DEVICES.len())
            } else {
                devices[rng.gen_range(0..devices.len())].kind
            };
            user_agent(kind, &mut agent);
            let id = self.id();
            let row = Row::start(out).raw(id).timestamp(logged_at);
            let row = if anonymous {
                row.null()
            } else {
                row.raw(borrower)
            };
            rows += row
                .ip(ip)
                .raw(method)
                .raw(path)
                .raw(status)
                .text(&agent)
                .end();
        }
        rows
    }

    fn write_cookies(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Cookie);
        const COOKIES: &[(&str, &str, Option<i64>)] = &[
            ("cookie", "session_id", Some(30)),
            ("cookie", "_ga", Some(400)),
            ("pixel", "_fbp", Some(90)),
            ("local_storage", "device_fingerprint", None),
        ];
        let count = rng.gen_range(2..=COOKIES.len());
        let mut rows = 0;
        for (kind, name, lifetime_days) in &COOKIES[..count] {
            let set_at = person.moment(world, &mut rng);
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(kind)
                .raw(name)
                .raw(random_hex(&mut rng, 32))
                .timestamp(set_at)
                .opt_timestamp(lifetime_days.map(|days| set_at + days * SECONDS_PER_DAY))
                .end();
        }
        rows
    }

    fn write_usage(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Usage);
        let mut rows = 0;
        for _ in 0..rng.gen_range(1..=15) {
            let id = self.id();
            let occurred_at = person.moment(world, &mut rng);
            let event = USAGE_EVENTS[rng.gen_range(0..USAGE_EVENTS.len())];
            let screen = SCREENS[rng.gen_range(0..SCREENS.len())];
            let row = Row::start(out)
                .raw(id)
                .raw(borrower)
                .timestamp(occurred_at)
                .raw(event)
                .raw(screen);
            rows += if event == "screen_view" {
                row.raw(rng.gen_range(300..120_000))
            } else {
                row.null()
            }
            .end();
        }
        rows
    }

    fn write_locations(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Location);
        let city = &CITIES[person.city];
        let mut rows = 0;
        for _ in 0..rng.gen_range(0..=5) {
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .timestamp(person.moment(world, &mut rng))
                .raw(format_args!(
                    "{:.6}",
                    city.latitude + rng.gen_range(-0.08..0.08)
                ))
                .raw(format_args!(
                    "{:.6}",
                    city.longitude + rng.gen_range(-0.10..0.10)
                ))
                .raw(rng.gen_range(5..500))
                .end();
        }
        rows
    }

    fn write_consents(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Consent);
        let policy = world
            .policies
            .iter()
            .rev()
            .find(|p| p.published_at <= person.created_at)
            .unwrap_or(&world.policies[0]);
        let marketing = rng.gen_bool(0.6);
        // About 3% withdraw one optional purpose by a written application.
        let withdrawn = rng
            .gen_bool(0.03)
            .then(|| ["marketing", "location_security", "notices"][rng.gen_range(0..3)]);
        let mut rows = 0;
        for purpose in CONSENT_PURPOSES {
            if *purpose == "marketing" && !marketing {
                continue;
            }
            let (withdrawn_at, document_ref) = if withdrawn == Some(*purpose) {
                let at = person.moment(world, &mut rng);
                (
                    Some(at),
                    Some(format!("APP-{}-{:06}", date_of(at).year(), borrower)),
                )
            } else {
                (None, None)
            };
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(policy.id)
                .raw(purpose)
                .timestamp(person.created_at)
                .opt_timestamp(withdrawn_at)
                .opt_text(document_ref.as_deref())
                .end();
        }
        rows
    }

    fn write_notices(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Notice);
        let mut rows = 0;
        for policy in world
            .policies
            .iter()
            .filter(|p| p.published_at > person.created_at)
        {
            let notified_at =
                (policy.published_at + rng.gen_range(0..3 * SECONDS_PER_DAY)).min(world.now - 1);
            let objected_at = rng
                .gen_bool(0.02)
                .then(|| rng.gen_range(notified_at..world.now));
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(policy.id)
                .timestamp(notified_at)
                .opt_timestamp(objected_at)
                .opt_text(
                    objected_at
                        .map(|at| format!("EMAIL-{}-{:06}", date_of(at).year(), borrower))
                        .as_deref(),
                )
                .end();
        }
        rows
    }

    fn write_disclosures(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Disclosure);
        let mut rows = 0;
        let disclose = |writer: &mut TableWriter,
                        out: &mut String,
                        (recipient, purpose, basis, categories): (&str, &str, &str, &[&str]),
                        at: i64| {
            let id = writer.id();
            Row::start(out)
                .raw(id)
                .raw(borrower)
                .text(recipient)
                .raw(purpose)
                .text(basis)
                .raw(format_args!("{{{}}}", categories.join(",")))
                .timestamp(at)
                .end()
        };
        if rng.gen_bool(0.2) {
            rows += disclose(self, out, SCORING_PARTNER, person.created_at);
        }
        for loan in loans_of(world, &person, borrower) {
            rows += disclose(self, out, CREDIT_BUREAU, loan.issued_at + 60);
            if rng.gen_bool(0.5) {
                rows += disclose(self, out, STATE_CREDIT_BUREAU, loan.issued_at + 120);
            }
            let collected_at = midnight(loan.due_on) + 30 * SECONDS_PER_DAY;
            if matches!(loan.status, LoanStatus::Overdue | LoanStatus::WrittenOff)
                && collected_at < world.now
            {
                let collector = COLLECTORS[rng.gen_range(0..COLLECTORS.len())];
                rows += disclose(
                    self,
                    out,
                    (
                        collector,
                        "debt_collection",
                        "Law on Microfinance Activities, Art. 9-1; loan agreement",
                        COLLECTOR_CATEGORIES,
                    ),
                    collected_at,
                );
            }
        }
        rows
    }

    fn write_support(&mut self, world: &World, borrower: u64, out: &mut String) -> u64 {
        let person = Person::new(world, borrower);
        let mut rng = world.rng(borrower, Stream::Support);
        let count = match rng.gen_range(0..10) {
            0..=4 => 0,
            5..=8 => 1,
            _ => 2,
        };
        let mut rows = 0;
        for _ in 0..count {
            let template = SUPPORT_BODIES[rng.gen_range(0..SUPPORT_BODIES.len())];
            let body = if template.contains("{phone}") {
                let phone = world.phone_of(borrower);
                template.replace(
                    "{phone}",
                    &format!(
                        "8 {} {} {} {}",
                        &phone[2..5],
                        &phone[5..8],
                        &phone[8..10],
                        &phone[10..]
                    ),
                )
            } else {
                template.to_owned()
            };
            let id = self.id();
            rows += Row::start(out)
                .raw(id)
                .raw(borrower)
                .raw(["email", "call_centre", "chat"][rng.gen_range(0..3)])
                .timestamp(person.moment(world, &mut rng))
                .text(&body)
                .end();
        }
        rows
    }
}

fn write_policy_versions(world: &World, out: &mut String) -> u64 {
    let mut rows = 0;
    for policy in &world.policies {
        let digest = Sha256::digest(format!(
            "1Kredit.kz privacy policy, version {}",
            policy.version
        ));
        rows += Row::start(out)
            .raw(policy.id)
            .raw(policy.version)
            .timestamp(policy.published_at)
            .raw(hex::encode(digest))
            .end();
    }
    rows
}

fn house_number(rng: &mut ChaCha8Rng) -> String {
    let number = rng.gen_range(1..250);
    match rng.gen_range(0..10) {
        0 => format!("{number}А"),
        1 => format!("{number}/{}", rng.gen_range(1..5)),
        _ => number.to_string(),
    }
}

#[cfg(test)]
mod tests;
