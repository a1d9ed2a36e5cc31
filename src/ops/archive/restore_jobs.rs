//! `archive restore --jobs N`: an archive's members loaded on N connections, one
//! transaction per member, parents before children, each member exactly once
//! across runs.
//!
//! After the same verification as a single-transaction restore, one reader (a
//! blocking thread) decrypts the age stream in file order and hands each CSV member
//! (at most [`crate::files::tar_writer::PART_BYTES`]), checked again against the
//! manifest's SHA-256, through a bounded channel to a dispatcher, which passes it
//! on to whichever of the N connections is free: at most N + 4 parts are in memory
//! at once.
//!
//! Order. A member of a table starts only once every member of each earlier table
//! of the archive it references by a foreign key (the catalogue's) has committed.
//! Archives hold every member of a parent before any member of its children (both
//! dumps guarantee it), so the dispatcher waits only for loads already handed out.
//! A table with a foreign key to itself loads one member at a time, in archive
//! order. Tables unrelated by foreign keys, and the members of one table, load at
//! once. Side tables (`--into`) have no foreign keys, so nothing waits there.
//!
//! Exactly once. A member's transaction takes a transaction advisory lock on the
//! member, skips it if `derbes.jobs` already records it as loaded (operation
//! `archive.restore`, scope `<archive id>/<target>/member/<name>`, `finished_at`
//! set), else loads it and inserts that row, then commits: the rows and the record
//! commit together. A stopped or failed run, run again with the same archive and
//! target, skips what is recorded and says so. A run lock per archive and target
//! keeps two runs apart (exit 7). Side tables are created in one transaction,
//! recorded the same way (`.../side-tables`), before any member loads.
//!
//! The end. After the last member, one transaction moves identity sequences past
//! the largest restored value, deletes the run's `derbes.jobs` rows and appends the
//! one audit row (counts per table over every member, resumed ones included). A
//! later restore of the same archive is a new restore. A member's failure stops the
//! other connections (their open transactions roll back); what committed stays,
//! and the error names the table, the member and how to go on.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::SinkExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::restore::restore_entry;
use super::target::{create_side_table, table_name, Target};
use super::{read, Manifest, RegisterEntry, RestoreOptions, RestoreReport};
use crate::error::DerbesError;
use crate::files::crypto::Identities;
use crate::map::TableName;
use crate::pg::audit;
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, Limits, RunLock};

/// The operation of the run lock and of the `derbes.jobs` rows.
const OPERATION: &str = "archive.restore";

/// Bytes per `CopyData` message.
const SEND_BYTES: usize = 256 * 1024;

/// How to restore in parallel.
#[derive(Clone)]
pub struct Jobs {
    /// Connections that load at once (1 = one transaction for everything).
    pub jobs: usize,
    /// Opens one more connection like the command's own.
    pub connect: super::parallel::Connect,
}

/// Members an earlier run had loaded.
#[derive(Debug, Clone, Serialize)]
pub struct Resumed {
    /// Members found loaded, and skipped.
    pub already_loaded: usize,
    /// Every CSV member of the archive.
    pub members: usize,
}

/// One member on its way to a connection.
struct Piece {
    table: usize,
    member: String,
    data: Bytes,
}

/// What the connections share: per table, members handed out and committed, and
/// the rows committed; a notification whenever a member commits.
struct Progress {
    state: Mutex<State>,
    committed: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    /// Per table: members still to load (not yet committed) in this run.
    remaining: Vec<usize>,
    /// Per table: members handed out and not yet committed.
    in_flight: Vec<usize>,
    /// Per table: rows committed in this run.
    rows: Vec<u64>,
    /// Members committed in this run (or found committed by someone else).
    members: usize,
}

impl Progress {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where the run stands, for the member transactions and the error texts.
struct Run<'a> {
    targets: &'a [Target],
    tables: Vec<String>,
    /// `<archive id>/<target>`: prefix of every `derbes.jobs` scope of the run.
    base: String,
    ticket: String,
    operator: String,
    /// The bounds of every member's change: the command connection's own.
    limits: Limits,
    /// Members loaded before this run (resumed) and in all.
    already: usize,
    total: usize,
    progress: Progress,
}

impl Run<'_> {
    fn member_scope(&self, member: &str) -> String {
        format!("{}/member/{member}", self.base)
    }

    /// "K of M members are loaded", for error texts.
    fn loaded_so_far(&self) -> String {
        let now = self.already + self.progress.lock().members;
        format!(
            "{now} of {} members are loaded and stay loaded (each committed with its record in \
             derbes.jobs)",
            self.total
        )
    }

    fn go_on(&self) -> String {
        format!(
            "run the same command again to load the rest (members already loaded are skipped); \
             to start over instead, {}",
            self.start_over()
        )
    }

    fn start_over(&self) -> String {
        format!(
            "remove the rows loaded, then DELETE FROM derbes.jobs WHERE operation = \
             'archive.restore' AND scope LIKE '{}/%'",
            self.base
        )
    }
}

/// Restore with `options.jobs` connections. The archive is verified; its tables
/// exist (original tables) or `--into` was checked.
pub(super) async fn restore(
    client: &mut Client,
    identities: Arc<Identities>,
    manifest: Manifest,
    entry: Option<RegisterEntry>,
    catalog: &Catalog,
    options: RestoreOptions,
) -> anyhow::Result<RestoreReport> {
    let target_label = match &options.into {
        None => "tables".to_owned(),
        Some(schema) => format!("into:{schema}"),
    };
    let base = format!("{}/{target_label}", manifest.kind.archive_id);
    let lock = RunLock::acquire(client, OPERATION, &base).await?;
    let result = restore_locked(client, identities, manifest, entry, catalog, options, base).await;
    let released = lock.release(client).await;
    let report = result?;
    released?;
    Ok(report)
}

async fn restore_locked(
    client: &mut Client,
    identities: Arc<Identities>,
    manifest: Manifest,
    entry: Option<RegisterEntry>,
    catalog: &Catalog,
    options: RestoreOptions,
    base: String,
) -> anyhow::Result<RestoreReport> {
    let jobs = options
        .jobs
        .clone()
        .expect("restore_jobs::restore is called with --jobs");
    let ticket = options.ticket.clone().unwrap_or_default();
    let limits = super::session_limits(&*client).await?;
    // What earlier runs of this archive into this target recorded.
    let prefix = format!("{base}/");
    let recorded: HashMap<String, i64> = client
        .query(
            "SELECT substr(scope, length($2) + 1), rows FROM derbes.jobs \
             WHERE operation = $1 AND finished_at IS NOT NULL AND left(scope, length($2)) = $2",
            &[&OPERATION, &prefix],
        )
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let loaded_before: HashMap<&str, i64> = recorded
        .iter()
        .filter_map(|(key, rows)| key.strip_prefix("member/").map(|m| (m, *rows)))
        .collect();

    // Where each table's rows go; side tables are created first, in one transaction.
    let mut targets = Vec::new();
    match &options.into {
        None => {
            for (index, table) in manifest.tables.iter().enumerate() {
                let name = table_name(&table.table);
                targets.push(Target::inspect(&*client, name, index, &table.columns).await?);
            }
        }
        Some(schema) if recorded.contains_key("side-tables") => {
            for table in &manifest.tables {
                let side = TableName {
                    schema: schema.clone(),
                    table: table_name(&table.table).table,
                };
                targets.push(Target::plain(side, &table.columns));
            }
        }
        Some(schema) => {
            // No audit row of its own: the run's one row at the end covers it.
            let tx = change::begin(client, &limits, false)
                .await?
                .into_transaction();
            for table in &manifest.tables {
                targets.push(create_side_table(&tx, catalog, schema, table).await?);
            }
            tx.execute(
                "INSERT INTO derbes.jobs (operation, scope, table_name, ticket, operator, \
                 finished_at, batches) VALUES ($1, $2, $3, $4, $5, now(), 1)",
                &[
                    &OPERATION,
                    &format!("{base}/side-tables"),
                    &format!("schema {schema}"),
                    &ticket,
                    &options.operator,
                ],
            )
            .await?;
            tx.commit().await?;
        }
    }

    // Per table, the earlier tables it references (original tables only: side
    // tables have no foreign keys), and whether it references itself.
    let names: Vec<TableName> = manifest
        .tables
        .iter()
        .map(|t| table_name(&t.table))
        .collect();
    let (after, self_referencing): (Vec<Vec<usize>>, Vec<bool>) = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if options.into.is_some() {
                return (Vec::new(), false);
            }
            let mine = catalog.foreign_keys.iter().filter(|fk| &fk.child == name);
            let mut parents: Vec<usize> = mine
                .clone()
                .filter(|fk| &fk.parent != name)
                .filter_map(|fk| names[..i].iter().position(|n| n == &fk.parent))
                .collect();
            parents.sort_unstable();
            parents.dedup();
            (parents, mine.into_iter().any(|fk| &fk.parent == name))
        })
        .unzip();

    // The members to load: (table, sha256, bytes) by name; counts so far.
    let mut wanted = HashMap::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut remaining = vec![0; manifest.tables.len()];
    let mut total = 0;
    let mut already = 0;
    for (index, table) in manifest.tables.iter().enumerate() {
        counts.entry(targets[index].table.to_string()).or_insert(0);
        for member in &table.members {
            total += 1;
            match loaded_before.get(member.name.as_str()) {
                Some(rows) => {
                    already += 1;
                    *counts.entry(targets[index].table.to_string()).or_insert(0) += *rows as u64;
                }
                None => {
                    remaining[index] += 1;
                    wanted.insert(
                        member.name.clone(),
                        (index, member.sha256.clone(), member.bytes),
                    );
                }
            }
        }
    }
    if already > 0 {
        tracing::info!("resumed: {already} of {total} members were already loaded");
    }

    let run = Run {
        targets: &targets,
        tables: manifest.tables.iter().map(|t| t.table.clone()).collect(),
        base: base.clone(),
        ticket: ticket.clone(),
        operator: options.operator.clone(),
        limits: limits.clone(),
        already,
        total,
        progress: Progress {
            state: Mutex::new(State {
                remaining,
                in_flight: vec![0; manifest.tables.len()],
                rows: vec![0; manifest.tables.len()],
                members: 0,
            }),
            committed: tokio::sync::Notify::new(),
        },
    };
    if !wanted.is_empty() {
        load(
            &run,
            &jobs,
            identities,
            &options,
            wanted,
            &after,
            &self_referencing,
        )
        .await?;
    }
    {
        let state = run.progress.lock();
        for (index, rows) in state.rows.iter().enumerate() {
            *counts.entry(targets[index].table.to_string()).or_insert(0) += rows;
        }
    }

    // The end: sequences, the run's records, one audit row. The commit's own error
    // is kept, to tell a lost connection from a refusal.
    let tx = change::begin(client, &limits, false)
        .await?
        .into_transaction();
    for target in &targets {
        target.advance_identities(&tx).await?;
    }
    tx.execute(
        "DELETE FROM derbes.jobs WHERE operation = $1 AND left(scope, length($2)) = $2",
        &[&OPERATION, &prefix],
    )
    .await?;
    let rows = counts.values().sum();
    audit::append(
        &tx,
        &options.operator,
        &restore_entry(
            &manifest,
            &options,
            entry.as_ref(),
            &counts,
            serde_json::json!({
                "jobs": jobs.jobs,
                "members": total,
                "resumed_members": already,
            }),
        ),
    )
    .await?;
    crate::fault::point("archive.restore.committing");
    tx.commit().await.map_err(|e| {
        if crate::pg::db::connection_lost(&e) {
            return anyhow::Error::new(e).context(
                "restoring failed at its last commit (identity sequences, audit row): every \
                 member is loaded; run the same command again to write the audit row",
            );
        }
        anyhow::anyhow!(
            "restoring failed at its last commit (identity sequences, audit row): {}; every \
             member is loaded; run the same command again to write the audit row",
            crate::pg::db::describe(&e)
        )
    })?;
    Ok(RestoreReport {
        path: options.path,
        archive_id: manifest.kind.archive_id,
        register_id: entry.map(|e| e.id),
        counts,
        rows,
        into: options.into,
        dry_run: false,
        jobs: jobs.jobs,
        resumed: (already > 0).then_some(Resumed {
            already_loaded: already,
            members: total,
        }),
        note: None,
        left_out_erased: 0,
        erased_subjects: 0,
    })
}

/// Read, dispatch and load every wanted member; returns when all committed, or
/// with the first failure (the other connections are dropped).
async fn load(
    run: &Run<'_>,
    jobs: &Jobs,
    identities: Arc<Identities>,
    options: &RestoreOptions,
    wanted: HashMap<String, (usize, String, u64)>,
    after: &[Vec<usize>],
    self_referencing: &[bool],
) -> anyhow::Result<()> {
    let count = jobs.jobs.min(wanted.len()).max(1);
    let mut clients = Vec::new();
    for job in 0..count {
        let client = (jobs.connect)().await.map_err(|e| {
            e.context(format!(
                "opening connection {} of {count} for archive restore --jobs failed; nothing \
                 more was loaded. Check max_connections, or run with fewer --jobs",
                job + 1
            ))
        })?;
        client
            .batch_execute(&format!("SET application_name = 'derbes-job-{}'", job + 1))
            .await?;
        clients.push(client);
    }

    // The reader: file order, one member at a time, into a channel of one.
    let (send, mut received) = tokio::sync::mpsc::channel::<Piece>(1);
    let path = options.path.clone();
    let tell = options.progress.clone();
    let reader =
        tokio::task::spawn_blocking(move || read_members(path, &identities, tell, wanted, send));

    // The dispatcher: hands each member on once its table may load.
    let (hand, queue) = tokio::sync::mpsc::channel::<Piece>(1);
    let queue = tokio::sync::Mutex::new(queue);
    let dispatch = async move {
        while let Some(piece) = received.recv().await {
            loop {
                // Created before looking, so a commit meanwhile still wakes it.
                let committed = run.progress.committed.notified();
                {
                    let mut state = run.progress.lock();
                    let parents_done = after[piece.table].iter().all(|p| state.remaining[*p] == 0);
                    let turn = !self_referencing[piece.table] || state.in_flight[piece.table] == 0;
                    if parents_done && turn {
                        state.in_flight[piece.table] += 1;
                        break;
                    }
                    if state.in_flight.iter().all(|n| *n == 0) {
                        // Nothing loads, so nothing can commit: the parents' members
                        // come later in the file than this one.
                        return Err(DerbesError::Refused(format!(
                            "member {} of {} comes before members of a table it references in \
                             the archive, so it cannot load in parallel; {}. To load it in one \
                             transaction with --jobs 1, {} first",
                            piece.member,
                            run.tables[piece.table],
                            run.loaded_so_far(),
                            run.start_over()
                        ))
                        .into());
                    }
                }
                committed.await;
            }
            if hand.send(piece).await.is_err() {
                break; // every connection stopped; their error is the one reported
            }
        }
        drop(hand);
        reader.await??;
        anyhow::Ok(())
    };
    let queue = &queue;
    let workers = clients.into_iter().map(|mut client| async move {
        loop {
            let piece = queue.lock().await.recv().await;
            let Some(piece) = piece else {
                return anyhow::Ok(());
            };
            let rows = load_member_retrying(&mut client, run, &piece).await?;
            let mut state = run.progress.lock();
            state.remaining[piece.table] -= 1;
            state.in_flight[piece.table] -= 1;
            state.rows[piece.table] += rows;
            state.members += 1;
            drop(state);
            run.progress.committed.notify_waiters();
        }
    });
    // One thread polls every connection (the runtime is single-threaded): the
    // server processes do the work, and a failure drops the others at once.
    futures_util::future::try_join(dispatch, futures_util::future::try_join_all(workers)).await?;
    Ok(())
}

/// Decrypt the archive and send each wanted member, checked against its manifest
/// entry, in file order. Stops quietly when the loaders are gone.
fn read_members(
    path: PathBuf,
    identities: &Identities,
    tell: Option<read::BytesRead>,
    mut wanted: HashMap<String, (usize, String, u64)>,
    send: tokio::sync::mpsc::Sender<Piece>,
) -> anyhow::Result<()> {
    let file = read::Telling::new(std::fs::File::open(&path)?, tell);
    let plain = crate::files::crypto::decrypt(file, identities)?;
    let mut archive = tar::Archive::new(plain);
    for entry in archive.entries()? {
        if wanted.is_empty() {
            break;
        }
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let Some((table, sha256, bytes)) = wanted.remove(&name) else {
            continue;
        };
        let mut data = Vec::with_capacity(bytes as usize);
        (&mut entry).take(bytes + 1).read_to_end(&mut data)?;
        if data.len() as u64 != bytes || hex::encode(Sha256::digest(&data)) != sha256 {
            return Err(DerbesError::VerificationFailed(format!(
                "member {name} of archive {} differs from its manifest: the file changed after \
                 it was verified. Members loaded so far stay loaded; restore from a good copy \
                 (the same command resumes)",
                path.display()
            ))
            .into());
        }
        let piece = Piece {
            table,
            member: name,
            data: Bytes::from(data),
        };
        if send.blocking_send(piece).is_err() {
            return Ok(());
        }
    }
    if let Some(name) = wanted.keys().next() {
        return Err(DerbesError::VerificationFailed(format!(
            "member {name} of archive {} is missing: the file changed after it was verified; \
             restore from a good copy",
            path.display()
        ))
        .into());
    }
    Ok(())
}

/// [`load_member`], run again when the server rolled its transaction back for a
/// transient reason ([`change::retry_safe`]): the member's rows and record commit
/// together or not at all, so a rolled-back load leaves nothing to undo.
async fn load_member_retrying(
    client: &mut Client,
    run: &Run<'_>,
    piece: &Piece,
) -> anyhow::Result<u64> {
    let mut retries = 0;
    loop {
        let last_try = retries == change::RETRIES;
        match load_member(client, run, piece, last_try).await {
            Err(error) if !last_try => match error.downcast_ref::<change::ChangeError>() {
                Some(transient) if change::retry_safe(transient) => {
                    retries += 1;
                    let what = format!(
                        "restoring {}: member {}",
                        run.tables[piece.table], piece.member
                    );
                    change::wait_before(retries, &what, transient).await;
                }
                _ => return Err(error),
            },
            loaded => return loaded,
        }
    }
}

/// Load one member in its own transaction with its `derbes.jobs` record; the rows
/// loaded (0 when another run had already loaded it). Unless `last_try`, a database
/// error that [`change::retry_safe`] allows to retry comes back as that
/// [`change::ChangeError`], for [`load_member_retrying`].
async fn load_member(
    client: &mut Client,
    run: &Run<'_>,
    piece: &Piece,
    last_try: bool,
) -> anyhow::Result<u64> {
    let table = &run.tables[piece.table];
    let target = &run.targets[piece.table];
    let member = piece.member.as_str();
    let failed = |e: tokio_postgres::Error| -> anyhow::Error {
        let classified = change::ChangeError::from(&e);
        if !last_try && change::retry_safe(&classified) {
            return classified.into();
        }
        if crate::pg::db::connection_lost(&e) {
            // Not a refusal: the session is gone (exit 1, with the advice).
            return anyhow::Error::new(e).context(format!(
                "restoring {table} failed at member {member}: the connection was lost and that \
                 member was not loaded (if the loss came at its commit, the next run finds out); \
                 {}; {}",
                run.loaded_so_far(),
                run.go_on()
            ));
        }
        match e.as_db_error() {
            Some(db) => DerbesError::Refused(format!(
                "restoring {table} into {} failed at member {member}: {}; that member was not \
                 loaded. {}: correct the cause, then {}. Restore --into a side schema to compare \
                 with what is there",
                target.table,
                crate::pg::db::describe_db(db),
                run.loaded_so_far(),
                run.go_on()
            ))
            .into(),
            None => anyhow::anyhow!(
                "restoring {table} failed at member {member}: {}; that member was not loaded. \
                 {}: check the connection to the database, then {}",
                crate::pg::db::describe(&e),
                run.loaded_so_far(),
                run.go_on()
            ),
        }
    };
    let scope = run.member_scope(member);
    // On the change engine (a read-only server refused, the bounds set); no audit row
    // of its own: `derbes.jobs` records the member until the run's one row.
    let tx = change::begin(client, &run.limits, false)
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "restoring {table} failed at member {member}, which was not loaded; {}; {}",
                run.loaded_so_far(),
                run.go_on()
            ))
        })?
        .into_transaction();
    // Two runs (or two connections) never load one member twice: the second waits
    // for the first to commit or roll back, then sees its record.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('derbes:' || $1::text || ':' || $2::text, 0))",
        &[&OPERATION, &scope],
    )
    .await
    .map_err(failed)?;
    let done: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM derbes.jobs WHERE operation = $1 AND scope = $2 \
             AND finished_at IS NOT NULL)",
            &[&OPERATION, &scope],
        )
        .await
        .map_err(failed)?
        .get(0);
    if done {
        tx.rollback().await.map_err(failed)?;
        return Ok(0);
    }
    // Deferrable foreign keys (e.g. between rows of one member) are checked at commit.
    tx.batch_execute("SET CONSTRAINTS ALL DEFERRED")
        .await
        .map_err(failed)?;
    target.create_staging(&tx).await?;
    let sink = tx.copy_in(target.copy_sql.as_str()).await.map_err(failed)?;
    futures_util::pin_mut!(sink);
    let mut at = 0;
    while at < piece.data.len() {
        let end = (at + SEND_BYTES).min(piece.data.len());
        sink.send(piece.data.slice(at..end)).await.map_err(failed)?;
        at = end;
    }
    let mut loaded = sink.finish().await.map_err(failed)?;
    if let Some(insert) = &target.insert_sql {
        loaded = tx.execute(insert.as_str(), &[]).await.map_err(failed)?;
    }
    let target_name = target.table.to_string();
    tx.execute(
        "INSERT INTO derbes.jobs (operation, scope, table_name, ticket, operator, finished_at, \
         batches, rows, counts) \
         VALUES ($1, $2, $3, $4, $5, now(), 1, $6, jsonb_build_object($3::text, $6::bigint))",
        &[
            &OPERATION,
            &scope,
            &target_name,
            &run.ticket,
            &run.operator,
            &(loaded as i64),
        ],
    )
    .await
    .map_err(failed)?;
    crate::fault::point("archive.restore.member");
    tx.commit().await.map_err(failed)?;
    Ok(loaded)
}
