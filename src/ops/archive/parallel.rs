//! `archive dump --jobs N`: several `COPY` streams, each on its own connection, all
//! reading one snapshot, feeding the one tar writer.
//!
//! As `pg_dump -j` does, the dump's own transaction exports its snapshot
//! (`pg_export_snapshot()`) and every job starts a `REPEATABLE READ READ ONLY`
//! transaction whose first statement is `SET TRANSACTION SNAPSHOT`: every job sees
//! exactly the rows that transaction saw, so the archive is one point in time (more
//! so than a single stream under READ COMMITTED, where each table's COPY took its
//! own snapshot). The exporting transaction stays open until the archive is
//! registered, which keeps the snapshot importable.
//!
//! Work is cut into tasks: a large partitioned table by its leaf partitions, a
//! large table with a primary key by key ranges of similar size, anything else
//! whole ("large": the planner estimates at least [`RANGE_MIN_ROWS`] rows; below
//! that a second scan costs more than it saves). A subject's archive is never
//! cut: its rows are few, found by index, and erasure writes it in its own
//! transaction.
//! Key ranges come from a sample of the key (`TABLESAMPLE SYSTEM`, sized from
//! `pg_class.reltuples`), never `OFFSET`: bounds b1 < b2 < ... cut the key space
//! into half-open ranges `key < b1`, `b1 <= key < b2`, ..., `key >= bk`, so every
//! row falls in exactly one, whatever rows the sample saw. Keys compare as row
//! values (`(a, b) >= (x, y)`), so composite keys cut like single ones. The bound
//! values travel as SQL literals made by the server itself (`quote_literal` of the
//! value's text, cast back to the column's type), because a `COPY (query)` takes
//! no bind parameters; no client-side quoting ever touches a value.
//!
//! Each task's CSV is cut into parts with their header as in a single-stream dump;
//! members of different tasks interleave in the file (the read-back matches them
//! by name), and the manifest lists each table's members in the order of its
//! partitions or ranges, so the manifest does not depend on which job ran first.
//! A restore loads members in file order, so a table's tasks start only once every
//! task of the earlier tables it references (foreign keys) is written: parents'
//! rows always precede their children's in the file.
//! A job holds at most two parts (2 x [`crate::files::tar_writer::PART_BYTES`]) at
//! once. Any job's failure fails the whole dump: the other jobs are dropped (their
//! connections close) and the partial file is removed.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio_postgres::{Client, Transaction};

use super::manifest::{MemberEntry, TableEntry};
use super::select::PlannedTable;
use super::write;
use crate::files::tar_writer::{MemberSender, TarWriter};
use crate::map::{quote_ident, TableName};
use crate::pg::catalog::Catalog;

/// Opens one more connection to the database the dump reads, with the same
/// settings as the first (the commands pass `Context::connect`).
pub type Connect =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = anyhow::Result<Client>>>> + Send + Sync>;

/// Default smallest key range (and smallest partitioned table cut by partition):
/// a table estimated at fewer rows than twice this is dumped by one job (a range
/// costs a scan of its own).
pub const RANGE_MIN_ROWS: u64 = 100_000;

/// Keys sampled to place range bounds.
const SAMPLE_KEYS: f64 = 20_000.0;

/// How to run a dump in parallel.
#[derive(Clone)]
pub struct Jobs {
    /// Connections that COPY at once (1 = the single-stream dump).
    pub jobs: usize,
    pub connect: Connect,
    /// A table without partitions is cut into key ranges of at least this many
    /// estimated rows ([`RANGE_MIN_ROWS`] unless testing).
    pub range_min_rows: u64,
}

/// One COPY a job runs: all or part of one table.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    /// Index of the table in the plan, and of this task among the table's.
    table: usize,
    index: usize,
    /// Member names start with this.
    base: String,
    /// The table with the query cut to this task's rows.
    planned: PlannedTable,
    /// The planner's estimate of them, to run the largest first.
    rows: f64,
}

/// The plan cut into tasks, and each table's manifest entry (no members yet).
pub(crate) struct Split {
    pub tasks: Vec<Task>,
    entries: Vec<TableEntry>,
    /// Per table, the earlier tables it references (foreign keys): its tasks
    /// start only once theirs are all written.
    after: Vec<Vec<usize>>,
}

/// Cut the plan's tables into tasks (per table, in partition or key order).
pub(crate) async fn split(
    tx: &Transaction<'_>,
    catalog: &Catalog,
    tables: &[PlannedTable],
    jobs: &Jobs,
) -> anyhow::Result<Split> {
    let mut tasks = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        let base = format!("{}.{}", table.name.schema, table.name.table);
        let from = format!("FROM {} t0", table.source.quoted());
        let partitioned = catalog
            .tables
            .get(&table.source)
            .is_some_and(|found| found.partitioned);
        // (member base name, query, estimated rows) of each piece, in order.
        let pieces: Vec<(String, PlannedTable, f64)> = if partitioned {
            let leaves = leaves(tx, table).await?;
            let total: f64 = leaves.iter().map(|(_, rows)| rows).sum();
            if leaves.len() > 1
                && table.select.matches(&from).count() == 1
                && total >= jobs.range_min_rows as f64
            {
                leaves
                    .into_iter()
                    .map(|(leaf, rows)| {
                        let name = if leaf.schema == table.name.schema {
                            format!("{base}.{}", leaf.table)
                        } else {
                            format!("{base}.{}.{}", leaf.schema, leaf.table)
                        };
                        let mut planned = table.clone();
                        planned.select =
                            table
                                .select
                                .replacen(&from, &format!("FROM {} t0", leaf.quoted()), 1);
                        (name, planned, rows)
                    })
                    .collect()
            } else {
                vec![(base, table.clone(), total)]
            }
        } else {
            let rows = table_rows(tx, table).await?;
            let ranges = if table.key_columns.is_empty() {
                Vec::new()
            } else {
                key_ranges(tx, table, rows, jobs.jobs * 2, jobs.range_min_rows).await?
            };
            if ranges.len() < 2 {
                vec![(base, table.clone(), rows)]
            } else {
                let share = rows / ranges.len() as f64;
                ranges
                    .into_iter()
                    .enumerate()
                    .map(|(i, predicate)| {
                        let mut planned = table.clone();
                        planned.select =
                            format!("SELECT * FROM ({}) s WHERE {predicate}", table.select);
                        (format!("{base}.r{:04}", i + 1), planned, share)
                    })
                    .collect()
            }
        };
        for (index, (base, planned, rows)) in pieces.into_iter().enumerate() {
            tasks.push(Task {
                table: t,
                index,
                base,
                planned,
                rows,
            });
        }
    }
    // Largest first, so the last tasks to finish are short ones (the manifest's
    // order does not depend on this; parents still go first, see `Queue::take`).
    tasks.sort_by(|a, b| b.rows.total_cmp(&a.rows));
    let entries = tables
        .iter()
        .map(|table| TableEntry {
            table: table.name.to_string(),
            columns: table.columns.clone(),
            rows: 0,
            members: Vec::new(),
        })
        .collect();
    let after = tables
        .iter()
        .enumerate()
        .map(|(i, table)| {
            let mut parents: Vec<usize> = catalog
                .foreign_keys
                .iter()
                .filter(|fk| fk.child == table.name && fk.parent != table.name)
                .filter_map(|fk| tables[..i].iter().position(|t| t.name == fk.parent))
                .collect();
            parents.sort_unstable();
            parents.dedup();
            parents
        })
        .collect();
    Ok(Split {
        tasks,
        entries,
        after,
    })
}

/// The leaf partitions of a partitioned table, with the planner's estimate of
/// their rows (`reltuples`), in name order.
async fn leaves(
    tx: &Transaction<'_>,
    table: &PlannedTable,
) -> anyhow::Result<Vec<(TableName, f64)>> {
    let rows = tx
        .query(
            "SELECT n.nspname, c.relname, greatest(c.reltuples, 0)::float8 \
             FROM pg_partition_tree($1::text::regclass) t JOIN pg_class c ON c.oid = t.relid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE t.isleaf ORDER BY 1, 2",
            &[&table.source.quoted()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                TableName {
                    schema: row.get(0),
                    table: row.get(1),
                },
                row.get(2),
            )
        })
        .collect())
}

/// The planner's estimate of a table's rows (`reltuples`; 0 when never analysed).
async fn table_rows(tx: &Transaction<'_>, table: &PlannedTable) -> anyhow::Result<f64> {
    Ok(tx
        .query_one(
            "SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = $1::text::regclass",
            &[&table.source.quoted()],
        )
        .await?
        .get(0))
}

/// The predicates (over the key columns of the subquery `s`) cutting `table` into
/// at most `wanted` ranges of at least `min_rows` estimated rows each; fewer than
/// two when it is not worth cutting.
pub(crate) async fn key_ranges(
    tx: &Transaction<'_>,
    table: &PlannedTable,
    reltuples: f64,
    wanted: usize,
    min_rows: u64,
) -> anyhow::Result<Vec<String>> {
    let quoted = table.source.quoted();
    let min_rows = min_rows.max(1) as f64;
    let ranges = (wanted as f64).min((reltuples / min_rows).floor());
    if ranges < 2.0 {
        return Ok(Vec::new());
    }
    let ranges = ranges as usize;
    let mut types = Vec::new();
    for key in &table.key_columns {
        let column = table.columns.iter().find(|c| &c.name == key);
        let Some(column) = column else {
            return Ok(Vec::new()); // the key is not among the columns dumped
        };
        types.push(column.pg_type.clone());
    }
    let keys = table
        .key_columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>();
    let literals = keys
        .iter()
        .map(|k| format!("quote_literal(k.{k}::text)"))
        .collect::<Vec<_>>()
        .join(", ");
    let order = keys
        .iter()
        .map(|k| format!("k.{k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let percent = (SAMPLE_KEYS * 100.0 / reltuples.max(1.0)).clamp(0.000_001, 100.0);
    let sample = tx
        .query(
            &format!(
                "SELECT {literals} FROM (SELECT {} FROM {quoted} TABLESAMPLE SYSTEM ($1::float8::float4)) k \
                 ORDER BY {order}",
                keys.join(", ")
            ),
            &[&percent],
        )
        .await?;
    // The bounds, in the order the keys sort (the server sorted them), without repeats.
    let mut bounds: Vec<String> = Vec::new();
    for i in 1..ranges {
        let Some(row) = sample.get(i * sample.len() / ranges) else {
            continue;
        };
        let bound = types
            .iter()
            .enumerate()
            .map(|(c, pg_type)| format!("{}::{pg_type}", row.get::<_, String>(c)))
            .collect::<Vec<_>>()
            .join(", ");
        if bounds.last() != Some(&bound) {
            bounds.push(bound);
        }
    }
    if bounds.is_empty() {
        return Ok(Vec::new());
    }
    let key = format!(
        "({})",
        keys.iter()
            .map(|k| format!("s.{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut predicates = Vec::new();
    predicates.push(format!("{key} < ({})", bounds[0]));
    for pair in bounds.windows(2) {
        predicates.push(format!("{key} >= ({}) AND {key} < ({})", pair[0], pair[1]));
    }
    predicates.push(format!("{key} >= ({})", bounds[bounds.len() - 1]));
    Ok(predicates)
}

/// Run the tasks on `jobs.jobs` connections in the snapshot `tx` exports; returns
/// each table's manifest entry, in plan order.
pub(crate) async fn dump(
    tx: &Transaction<'_>,
    split: Split,
    jobs: &Jobs,
    settings: &[(&str, &str)],
    writer: &TarWriter,
    part_bytes: usize,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> anyhow::Result<Vec<TableEntry>> {
    let snapshot: String = tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .await?
        .get(0);
    // Embedded in SET TRANSACTION SNAPSHOT, which takes no parameter: the id is the
    // server's own (hex digits and dashes), checked before use.
    if snapshot.is_empty() || !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        anyhow::bail!("the server exported an unexpected snapshot id; run with --jobs 1");
    }
    tracing::debug!(snapshot = %snapshot, "archive dump snapshot exported");
    let Split {
        tasks,
        mut entries,
        after,
    } = split;
    let count = jobs.jobs.min(tasks.len()).max(1);
    let mut clients = Vec::new();
    for job in 0..count {
        let client = (jobs.connect)().await.map_err(|e| {
            e.context(format!(
                "opening connection {} of {count} for archive dump --jobs failed; \
                 check max_connections, or run with fewer --jobs",
                job + 1
            ))
        })?;
        let start = format!(
            "SET application_name = 'derbes-job-{}'; \
             BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
             SET TRANSACTION SNAPSHOT '{snapshot}'",
            job + 1
        );
        client.batch_execute(&start).await.map_err(|e| {
            anyhow::anyhow!(
                "job {} of the archive dump could not read the dump's snapshot: {}; run again, or with --jobs 1",
                job + 1,
                crate::pg::db::describe(&e)
            )
        })?;
        for (setting, value) in settings {
            client
                .execute("SELECT set_config($1, $2, true)", &[setting, value])
                .await?;
        }
        clients.push(client);
    }
    crate::fault::point("archive.dump.jobs");
    let mut remaining = vec![0; entries.len()];
    for task in &tasks {
        remaining[task.table] += 1;
    }
    let queue = Queue {
        state: Mutex::new((tasks.into_iter().collect(), remaining)),
        after,
        done: tokio::sync::Notify::new(),
    };
    let Some(sender) = writer.sender() else {
        anyhow::bail!("the tar writer stopped early");
    };
    let queue = &queue;
    let runs: Vec<_> = clients
        .into_iter()
        .map(|client| run_job(client, queue, sender.clone(), part_bytes, progress))
        .collect();
    drop(sender);
    // One thread polls every job (the runtime is single-threaded): the server
    // processes do the work, and a failed job drops the others at once.
    let done = futures_util::future::try_join_all(runs).await?;
    let mut finished: Vec<(usize, usize, Vec<MemberEntry>, u64)> =
        done.into_iter().flatten().collect();
    finished.sort_by_key(|(table, index, _, _)| (*table, *index));
    for (table, _, members, rows) in finished {
        entries[table].rows += rows;
        entries[table].members.extend(members);
    }
    Ok(entries)
}

/// The tasks not yet taken, and per table the tasks not yet finished.
struct Queue {
    state: Mutex<(VecDeque<Task>, Vec<usize>)>,
    after: Vec<Vec<usize>>,
    /// A task finished: a waiting job may find one ready.
    done: tokio::sync::Notify,
}

enum Next {
    Run(Box<Task>),
    /// Tasks are left but wait for their parent tables.
    Wait,
    Empty,
}

impl Queue {
    /// The first task whose table's parents are all written. A restore loads
    /// members in file order, so a child's rows must come after its parents'.
    fn take(&self) -> Next {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (queue, remaining) = &mut *state;
        if queue.is_empty() {
            return Next::Empty;
        }
        let ready = queue
            .iter()
            .position(|task| self.after[task.table].iter().all(|p| remaining[*p] == 0));
        match ready.and_then(|i| queue.remove(i)) {
            Some(task) => Next::Run(Box::new(task)),
            None => Next::Wait,
        }
    }

    fn finished(&self, table: usize) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1[table] -= 1;
        drop(state);
        self.done.notify_waiters();
    }
}

/// One job: take tasks until none is left.
async fn run_job(
    client: Client,
    queue: &Queue,
    mut sender: MemberSender,
    part_bytes: usize,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> anyhow::Result<Vec<(usize, usize, Vec<MemberEntry>, u64)>> {
    let mut done = Vec::new();
    loop {
        // Created before looking, so a task finishing meanwhile still wakes it.
        let finished = queue.done.notified();
        let task = match queue.take() {
            Next::Run(task) => *task,
            Next::Wait => {
                finished.await;
                continue;
            }
            Next::Empty => break,
        };
        let sql = format!(
            "COPY ({}) TO STDOUT (FORMAT csv, HEADER)",
            task.planned.select
        );
        let stream = client.copy_out(sql.as_str()).await.map_err(|e| {
            anyhow::anyhow!(
                "dumping {} failed: {}; nothing was archived",
                task.planned.name,
                crate::pg::db::describe(&e)
            )
        })?;
        let (members, rows) = write::drain(
            stream,
            &task.planned,
            task.base.clone(),
            &mut sender,
            part_bytes,
            progress,
        )
        .await?;
        queue.finished(task.table);
        done.push((task.table, task.index, members, rows));
        crate::fault::point("archive.dump.writing");
    }
    client.batch_execute("COMMIT").await?;
    Ok(done)
}
