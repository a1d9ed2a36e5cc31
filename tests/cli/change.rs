//! The change engine (`src/pg/change.rs`): batched jobs with checkpoints that resume
//! after a stop, dry runs that are the real run rolled back, run locks that keep two
//! runs of one job apart (exit 7), and `migrate` one at a time per database.

use derbes::map::TableName;
use derbes::pg::catalog::Catalog;
use derbes::pg::change::{
    self, Batch, BatchJob, BatchSize, BatchStep, ChangeError, Counts, Limits, RunLock,
};
use tokio_postgres::Transaction;

use crate::support::{database_checksums, TestDb};

/// Adds one to `v` of the batch's rows; fails on batch `fail_at` (1-based) to stand
/// for a run stopped after the batches before it committed.
struct Bump {
    batches: usize,
    fail_at: Option<usize>,
}

impl BatchStep for Bump {
    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        let keys = batch.keys;
        self.batches += 1;
        if Some(self.batches) == self.fail_at {
            return Err(ChangeError::Database("stopped on purpose".to_owned()));
        }
        let ids: Vec<&str> = keys.iter().map(|k| k[0].as_str()).collect();
        let n = tx
            .execute(
                "UPDATE public.cohort SET v = v + 1 WHERE id = ANY($1::text[]::int[])",
                &[&ids],
            )
            .await?;
        Ok(Counts::from([("cohort.v".to_owned(), n as i64)]))
    }
}

fn job(dry_run: bool) -> BatchJob {
    BatchJob {
        operation: "test-bump".to_owned(),
        scope: "even rows".to_owned(),
        table: TableName {
            schema: "public".to_owned(),
            table: "cohort".to_owned(),
        },
        condition: "t0.id % $1::text::int = 0".to_owned(),
        params: vec!["2".to_owned()],
        batch_size: BatchSize::Fixed(100),
        ticket: "DPO-1".to_owned(),
        operator: "test-operator".to_owned(),
        dry_run,
        span_below: None,
    }
}

/// Run `job` with a fresh step; the step's batch count comes back with the result.
async fn run(
    runner: &mut tokio_postgres::Client,
    catalog: &Catalog,
    job: &BatchJob,
    fail_at: Option<usize>,
) -> (Result<change::BatchReport, ChangeError>, usize) {
    let mut step = Bump {
        batches: 0,
        fail_at,
    };
    let result = change::run_batches(runner, catalog, &Limits::default(), job, &mut step).await;
    (result, step.batches)
}

async fn cohort_db() -> (TestDb, tokio_postgres::Client, Catalog) {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE public.cohort (id int PRIMARY KEY, v int NOT NULL DEFAULT 0); \
             INSERT INTO public.cohort (id) SELECT generate_series(1, 1050);",
        )
        .await
        .unwrap();
    let catalog = Catalog::read(&client).await.unwrap();
    (db, client, catalog)
}

async fn audit_rows(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'test-bump'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_batched_dry_run_reports_the_real_counts_and_changes_nothing() {
    let (db, client, catalog) = cohort_db().await;
    let mut runner = db.client().await;
    let before = database_checksums(&client).await;
    let (dry, _) = run(&mut runner, &catalog, &job(true), None).await;
    let dry = dry.unwrap();
    assert_eq!(database_checksums(&client).await, before, "nothing changed");
    let (real, _) = run(&mut runner, &catalog, &job(false), None).await;
    let real = real.unwrap();
    assert_eq!(
        (dry.batches, dry.rows, &dry.counts),
        (real.batches, real.rows, &real.counts)
    );
    assert_eq!(real.rows, 525);
    assert_eq!(real.batches, 6);
    assert_eq!(
        audit_rows(&client).await,
        6,
        "one audit row per committed batch"
    );
    let wrong: i64 = client
        .query_one(
            "SELECT count(*) FROM public.cohort WHERE v <> CASE WHEN id % 2 = 0 THEN 1 ELSE 0 END",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0);
}

#[tokio::test]
async fn a_stopped_batched_run_resumes_after_its_last_committed_batch() {
    let (db, client, catalog) = cohort_db().await;
    let mut runner = db.client().await;
    let (stopped, _) = run(&mut runner, &catalog, &job(false), Some(4)).await;
    assert!(stopped.is_err());
    let (batches, last_key): (i64, Vec<String>) = client
        .query_one(
            "SELECT batches, last_key FROM derbes.jobs WHERE finished_at IS NULL",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(batches, 3);
    assert_eq!(last_key, vec!["600".to_owned()]);

    // Killed for real: a new connection (the old session's locks are gone) goes on.
    drop(runner);
    let mut runner = db.client().await;
    let (resumed, ran) = run(&mut runner, &catalog, &job(false), None).await;
    let resumed = resumed.unwrap();
    assert!(resumed.resumed);
    assert_eq!(resumed.rows, 525, "the report covers the whole job");
    assert_eq!(ran, 3, "only the batches not yet committed ran");
    let wrong: i64 = client
        .query_one(
            "SELECT count(*) FROM public.cohort WHERE v <> CASE WHEN id % 2 = 0 THEN 1 ELSE 0 END",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0, "every row worked on exactly once");
    let open: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.jobs WHERE finished_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(open, 0);
}

#[tokio::test]
async fn two_runs_of_one_job_never_overlap() {
    let (db, _client, catalog) = cohort_db().await;
    let holder = db.client().await;
    let lock = RunLock::acquire(&holder, "test-bump", "even rows")
        .await
        .unwrap();
    let mut runner = db.client().await;
    let (second, ran) = run(&mut runner, &catalog, &job(false), None).await;
    assert!(
        matches!(second, Err(ChangeError::RunLockHeld { .. })),
        "{second:?}"
    );
    assert_eq!(ran, 0, "the second run did nothing");
    // Another scope of the same operation is another job: it runs.
    let mut other = job(false);
    other.scope = "another cohort".to_owned();
    run(&mut runner, &catalog, &other, None).await.0.unwrap();
    lock.release(&holder).await.unwrap();
}

#[tokio::test]
async fn a_second_migrate_while_one_runs_exits_7() {
    let db = TestDb::migrated().await;
    let holder = db.client().await;
    let lock = RunLock::acquire(&holder, "migrate", "database")
        .await
        .unwrap();
    db.cmd()
        .arg("migrate")
        .assert()
        .code(7)
        .stderr(predicates::str::contains("another derbes migrate run"));
    lock.release(&holder).await.unwrap();
    db.cmd().arg("migrate").assert().success();
}

#[tokio::test]
async fn a_change_on_a_read_only_server_is_refused_before_anything() {
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .unwrap();
    let refused = change::begin(&mut client, &Limits::default(), false).await;
    assert!(matches!(refused, Err(ChangeError::ReadOnly)));
}

/// A snapshot change (REPEATABLE READ, `begin_snapshot`) refuses a read-only server
/// before anything, rolls back a dry run with its audit row, and reports a row
/// changed by someone else after its snapshot as a conflict to run again.
#[tokio::test]
async fn a_snapshot_change_refuses_read_only_rolls_back_dry_runs_and_reports_conflicts() {
    use change::Snapshot;
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .unwrap();
    assert!(matches!(
        change::begin_snapshot(
            &mut client,
            &Limits::default(),
            Snapshot::RepeatableRead,
            false
        )
        .await,
        Err(ChangeError::ReadOnly)
    ));
    client
        .batch_execute("SET default_transaction_read_only = off")
        .await
        .unwrap();

    let before = database_checksums(&client).await;
    let dry = change::begin_snapshot(
        &mut client,
        &Limits::default(),
        Snapshot::Serializable,
        true,
    )
    .await
    .unwrap();
    dry.tx()
        .execute("UPDATE borrowers SET phone = phone WHERE id = 1", &[])
        .await
        .unwrap();
    dry.commit(
        "tester",
        &derbes::pg::audit::AuditEntry {
            action: "test.dry".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(database_checksums(&client).await, before);

    let change = change::begin_snapshot(
        &mut client,
        &Limits::default(),
        Snapshot::RepeatableRead,
        false,
    )
    .await
    .unwrap();
    change.tx().query_one("SELECT 1", &[]).await.unwrap(); // the snapshot
    db.client()
        .await
        .batch_execute("UPDATE borrowers SET phone = phone WHERE id = 1")
        .await
        .unwrap();
    let err = change
        .tx()
        .execute("UPDATE borrowers SET phone = phone WHERE id = 1", &[])
        .await
        .unwrap_err();
    let err = ChangeError::from(err);
    assert!(matches!(err, ChangeError::Conflict), "{err}");
    assert!(err.to_string().contains("run again"));
}

#[tokio::test]
async fn a_second_archive_expire_while_one_runs_exits_7() {
    let db = TestDb::migrated().await;
    let holder = db.client().await;
    let lock = RunLock::acquire(&holder, "archive expire", "database")
        .await
        .unwrap();
    db.cmd()
        .args(["archive", "expire", "--ticket", "RET-1", "--yes"])
        .assert()
        .code(7)
        .stderr(predicates::str::contains(
            "another derbes archive expire run",
        ));
    lock.release(&holder).await.unwrap();
    db.cmd()
        .args(["archive", "expire", "--ticket", "RET-1", "--yes"])
        .assert()
        .success();
}

/// Deletes the rows of its range that the job's condition selects, in one
/// statement, as purge and cohort anonymisation do.
struct RangeDelete {
    condition: String,
    param: String,
    batches: usize,
}

impl BatchStep for RangeDelete {
    fn mode(&self) -> change::BatchMode {
        change::BatchMode::Range
    }

    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        assert!(batch.keys.is_empty(), "a range step is given bounds only");
        self.batches += 1;
        let sql = format!(
            "DELETE FROM public.ledger t0 WHERE (t0.branch, t0.seq) >= ($1::text, $2::text::int) \
             AND (t0.branch, t0.seq) <= ($3::text, $4::text::int) AND ({})",
            change::shift_placeholders(&self.condition, 4)
        );
        let n = tx
            .execute(
                &sql,
                &[
                    &batch.first[0],
                    &batch.first[1],
                    &batch.last[0],
                    &batch.last[1],
                    &self.param,
                ],
            )
            .await?;
        Ok(Counts::from([("ledger".to_owned(), n as i64)]))
    }
}

/// Range batches over a composite key whose first column is text (collation order,
/// not byte order): whatever the batch size, exactly the rows the condition selects
/// go, once each, and every other row stays; an oracle written apart from derbes'
/// statements checks both.
#[tokio::test]
async fn range_batches_over_a_composite_text_key_take_exactly_the_selected_rows() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE public.ledger (branch text, seq int, amount int NOT NULL, \
                 PRIMARY KEY (branch, seq)); \
             INSERT INTO public.ledger \
               SELECT b, s, (s * 7 + length(b)) % 10 \
               FROM unnest(ARRAY['Алматы', 'almaty', 'Astana', 'b''q', 'z z', '']) b, \
                    generate_series(1, 137) s; \
             CREATE TABLE public.ledger_oracle AS \
               SELECT branch, seq FROM public.ledger WHERE amount < 3;",
        )
        .await
        .unwrap();
    let catalog = Catalog::read(&client).await.unwrap();
    for (size, dry_run) in [
        (BatchSize::Fixed(1), true),
        (BatchSize::Fixed(5), true),
        (BatchSize::Fixed(1000), true),
        (BatchSize::AUTO, false),
    ] {
        let before = database_checksums(&client).await;
        let job = BatchJob {
            operation: "test-range".to_owned(),
            scope: format!("{size}"),
            table: TableName {
                schema: "public".to_owned(),
                table: "ledger".to_owned(),
            },
            condition: "t0.amount < $1::text::int".to_owned(),
            params: vec!["3".to_owned()],
            batch_size: size,
            ticket: "DPO-2".to_owned(),
            operator: "test-operator".to_owned(),
            dry_run,
            span_below: None,
        };
        let mut step = RangeDelete {
            condition: job.condition.clone(),
            param: "3".to_owned(),
            batches: 0,
        };
        let mut runner = db.client().await;
        let report =
            change::run_batches(&mut runner, &catalog, &Limits::default(), &job, &mut step)
                .await
                .unwrap();
        let selected: i64 = client
            .query_one("SELECT count(*) FROM public.ledger_oracle", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(report.rows, selected, "batch size {size}: rows worked on");
        if dry_run {
            assert_eq!(
                database_checksums(&client).await,
                before,
                "batch size {size}"
            );
            continue;
        }
        let (left_selected, kept, total): (i64, i64, i64) = client
            .query_one(
                "SELECT (SELECT count(*) FROM public.ledger l JOIN public.ledger_oracle o \
                          USING (branch, seq)), \
                        (SELECT count(*) FROM public.ledger WHERE amount >= 3), \
                        (SELECT count(*) FROM public.ledger)",
                &[],
            )
            .await
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .unwrap();
        assert_eq!(left_selected, 0, "every selected row is gone");
        assert_eq!(kept, total, "no other row was touched");
        assert_eq!(total, 6 * 137 - selected);
    }
}

/// Counts the batches whose last key lies at or past a stream's upper bound, and
/// changes nothing.
struct SpanProbe {
    past_the_bound: usize,
    batches: usize,
}

impl BatchStep for SpanProbe {
    fn mode(&self) -> change::BatchMode {
        change::BatchMode::Range
    }

    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        self.batches += 1;
        let past: bool = tx
            .query_one(
                "SELECT ($1::text, $2::text::int) >= ('b''q'::text, 1)",
                &[&batch.last[0], &batch.last[1]],
            )
            .await?
            .get(0);
        self.past_the_bound += usize::from(past);
        Ok(Counts::from([("ledger".to_owned(), 1)]))
    }
}

/// A stream of a job cut into key ranges (`span_below`): a batch's bounds stop at the
/// stream's upper bound, however large the batch, rather than run on into the next
/// stream's rows.
#[tokio::test]
async fn a_streams_batches_end_at_its_upper_bound() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE public.ledger (branch text, seq int, amount int NOT NULL, \
                 PRIMARY KEY (branch, seq)); \
             INSERT INTO public.ledger \
               SELECT b, s, s % 10 FROM unnest(ARRAY['Astana', 'almaty', 'b''q', 'z z']) b, \
                    generate_series(1, 50) s;",
        )
        .await
        .unwrap();
    let catalog = Catalog::read(&client).await.unwrap();
    let stream = change::Stream {
        scope: "ledger#1/2".to_owned(),
        params: vec!["3".to_owned()],
        from: None,
        to: Some(vec!["b'q".to_owned(), "1".to_owned()]),
    };
    let within = stream.condition(
        &["branch".to_owned(), "seq".to_owned()],
        &["text".to_owned(), "integer".to_owned()],
        "t0.amount < $1::text::int",
    );
    assert!(within.span_below.is_some());
    let job = BatchJob {
        operation: "test-span".to_owned(),
        scope: stream.scope.clone(),
        table: TableName {
            schema: "public".to_owned(),
            table: "ledger".to_owned(),
        },
        condition: within.condition,
        params: within.params,
        batch_size: BatchSize::Fixed(1000),
        ticket: "DPO-3".to_owned(),
        operator: "test-operator".to_owned(),
        dry_run: true,
        span_below: within.span_below,
    };
    let mut step = SpanProbe {
        past_the_bound: 0,
        batches: 0,
    };
    let mut runner = db.client().await;
    change::run_batches(&mut runner, &catalog, &Limits::default(), &job, &mut step)
        .await
        .unwrap();
    assert!(step.batches >= 1);
    assert_eq!(
        step.past_the_bound, 0,
        "no batch ran past the stream's bound"
    );
}

/// Records the server's `plan_cache_mode` inside each batch and changes nothing.
struct PlanProbe {
    mode: change::BatchMode,
    seen: Vec<String>,
}

impl BatchStep for PlanProbe {
    fn mode(&self) -> change::BatchMode {
        self.mode
    }

    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        _batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        let mode: String = tx
            .query_one("SELECT current_setting('plan_cache_mode')", &[])
            .await?
            .get(0);
        self.seen.push(mode);
        Ok(Counts::new())
    }
}

/// Range batches keep one generic plan per statement, set for each batch's own
/// transaction: keys batches and the session afterwards keep the server's setting.
#[tokio::test]
async fn range_batches_plan_generically_in_their_own_transactions_only() {
    let (db, _client, catalog) = cohort_db().await;
    let mut runner = db.client().await;
    for (mode, expected) in [
        (change::BatchMode::Range, "force_generic_plan"),
        (change::BatchMode::Keys, "auto"),
    ] {
        let mut job = job(false);
        job.scope = format!("{mode:?}");
        let mut step = PlanProbe {
            mode,
            seen: Vec::new(),
        };
        change::run_batches(&mut runner, &catalog, &Limits::default(), &job, &mut step)
            .await
            .unwrap();
        assert!(step.seen.len() > 1, "{mode:?}: several batches");
        assert!(
            step.seen.iter().all(|seen| seen == expected),
            "{mode:?}: {:?}",
            step.seen
        );
        let session: String = runner
            .query_one("SELECT current_setting('plan_cache_mode')", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(session, "auto", "after {mode:?} batches");
    }
}
