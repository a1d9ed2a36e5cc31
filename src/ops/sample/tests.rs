//! Generation against the real local PostgreSQL: each test makes its own database
//! and drops it at the end, also when the test fails.

use super::*;
use crate::kz::identity::Iin;
use tokio_postgres::NoTls;

const SERVER: &str = "host=127.0.0.1 port=5432 user=postgres";

/// A scratch database, dropped (with its connections) when the guard goes out of
/// scope, even while a failed assertion unwinds.
struct ScratchDatabase {
    name: String,
}

impl ScratchDatabase {
    async fn create() -> (ScratchDatabase, Client) {
        let name = format!("derbes_t_{:016x}", rand::random::<u64>());
        let (admin, connection) =
            tokio_postgres::connect(&format!("{SERVER} dbname=postgres"), NoTls)
                .await
                .expect("PostgreSQL must run on 127.0.0.1:5432 with trust auth for user postgres");
        tokio::spawn(connection);
        admin
            .batch_execute(&format!("CREATE DATABASE {}", quote(&name)))
            .await
            .expect("create the test database");
        let guard = ScratchDatabase { name };
        let (client, connection) =
            tokio_postgres::connect(&format!("{SERVER} dbname={}", guard.name), NoTls)
                .await
                .expect("connect to the test database");
        tokio::spawn(connection);
        (guard, client)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(&self.name));
        // Drop runs inside the test's runtime, which cannot be blocked on: use a
        // runtime of its own on another thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the cleanup");
            runtime.block_on(async {
                if let Ok((admin, connection)) =
                    tokio_postgres::connect(&format!("{SERVER} dbname=postgres"), NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = admin.batch_execute(&statement).await;
                }
            });
        })
        .join();
    }
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
}

/// Foreign keys and indexes of the schema (partitions' copies not counted).
async fn catalogue_counts(client: &Client) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 \
                       AND connamespace = current_schema()::regnamespace), \
                    (SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
                      WHERE t.relnamespace = current_schema()::regnamespace AND NOT t.relispartition)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn populated(seed: u64, borrowers: u64) -> (ScratchDatabase, Client, SampleReport) {
    let (guard, client) = ScratchDatabase::create().await;
    load_reference_schema(&client).await.unwrap();
    let before = catalogue_counts(&client).await;
    let opts = SampleOptions::new(borrowers, seed, as_of());
    let mut last_progress = Vec::new();
    let report = generate(&client, &opts, &mut |table, rows| {
        last_progress.push((table.to_owned(), rows));
    })
    .await
    .unwrap();
    assert!(!last_progress.is_empty(), "progress is reported");
    assert_eq!(
        catalogue_counts(&client).await,
        before,
        "foreign keys and indexes dropped for the load are all back"
    );
    (guard, client, report)
}

async fn borrowers_digest(client: &Client) -> String {
    client
        .query_one(
            "SELECT md5(string_agg(b::text, '|' ORDER BY id)) FROM borrowers b",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn hundred_borrowers_fill_every_table_consistently() {
    let (_guard, client, report) = populated(7, 100).await;

    let tables = client
        .query(
            "SELECT c.relname FROM pg_class c \
             WHERE c.relnamespace = current_schema()::regnamespace \
               AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        tables.len(),
        TABLES.len(),
        "every table of the schema is loaded"
    );
    for row in &tables {
        let table: String = row.get(0);
        let count: i64 = client
            .query_one(&format!("SELECT count(*) FROM {}", quote(&table)), &[])
            .await
            .unwrap()
            .get(0);
        assert!(count > 0, "{table} is empty");
        let reported = report
            .tables
            .iter()
            .find(|(name, _)| *name == table)
            .unwrap()
            .1;
        assert_eq!(reported, count as u64, "{table}");
    }

    let rows = client
        .query("SELECT iin, birth_date, sex, phone FROM borrowers", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 100);
    for row in &rows {
        let iin = Iin::parse(row.get(0)).expect("every IIN is valid");
        assert_eq!(iin.birth_date(), row.get::<_, NaiveDate>(1));
        assert_eq!(iin.sex().code().to_string(), row.get::<_, String>(2));
        let phone: String = row.get(3);
        assert_eq!(
            crate::kz::identity::Phone::parse(&phone).unwrap().as_str(),
            phone
        );
    }

    // Indexes are valid, sequences are past the loaded ids, every log row sits in
    // a monthly partition and none in the default one.
    let invalid: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
             WHERE t.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        invalid, 0,
        "every index is valid, also on the log partitions"
    );
    let log_partition_indexes: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'server_logs_2024_01'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        log_partition_indexes, 3,
        "primary key, borrower and ip indexes"
    );
    let next_loan: i64 = client
        .query_one(
            "INSERT INTO loans (borrower_id, contract_no, principal, rate_percent, issued_at, due_on, status) \
             VALUES (1, 'TEST-1', 1000, 0, now(), current_date, 'open') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        next_loan as u64,
        report.tables.iter().find(|(t, _)| t == "loans").unwrap().1 + 1
    );
    let in_default: i64 = client
        .query_one("SELECT count(*) FROM server_logs_default", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_default, 0);
    let partitions: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'server_logs'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        partitions, 26,
        "25 months (June 2023 - June 2025) and DEFAULT"
    );
    let anonymous: i64 = client
        .query_one(
            "SELECT count(*) FROM server_logs WHERE borrower_id IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(anonymous > 0);
    let outside_kz: i64 = client
        .query_one(
            "SELECT count(*) FROM locations WHERE latitude NOT BETWEEN 40.5 AND 55.5 \
             OR longitude NOT BETWEEN 46.5 AND 87.5",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(outside_kz, 0);

    // Loading twice is refused rather than mixed.
    let again = generate(&client, &SampleOptions::new(10, 7, as_of()), &mut |_, _| {}).await;
    assert!(matches!(again, Err(SampleError::NotEmpty { .. })));
}

#[tokio::test]
async fn same_seed_same_rows_other_seed_other_rows() {
    let (_first_guard, first, _) = populated(42, 60).await;
    let (_second_guard, second, _) = populated(42, 60).await;
    let (_third_guard, third, _) = populated(43, 60).await;
    let digest = borrowers_digest(&first).await;
    assert_eq!(digest, borrowers_digest(&second).await);
    assert_ne!(digest, borrowers_digest(&third).await);
    let logs = "SELECT md5(string_agg(l::text, '|' ORDER BY id)) FROM server_logs l";
    let first_logs: String = first.query_one(logs, &[]).await.unwrap().get(0);
    let second_logs: String = second.query_one(logs, &[]).await.unwrap().get(0);
    assert_eq!(first_logs, second_logs);
}

#[test]
fn population_has_the_promised_shape() {
    // Without a database: the borrower-level draws over a large population.
    let world = World::new(&SampleOptions::new(20_000, 1, as_of()));
    let people: Vec<Person> = (1..=20_000).map(|id| Person::new(&world, id)).collect();
    let share = |predicate: &dyn Fn(&Person) -> bool| {
        people.iter().filter(|p| predicate(p)).count() as f64 / people.len() as f64
    };
    let minors = share(&|p| {
        let iin = (0..100)
            .find_map(|serial| Iin::from_parts(p.birth_date, p.sex, serial))
            .unwrap();
        iin.is_minor_on(world.as_of)
    });
    assert!((0.005..0.02).contains(&minors), "minors {minors}");
    assert!(people.iter().all(|p| {
        let age = world.as_of.years_since(p.birth_date).unwrap();
        (16..=75).contains(&age) && p.minor == (age < 18)
    }));
    let blocked = share(&|p| p.status == Status::Blocked);
    let closed = share(&|p| p.status == Status::Closed);
    assert!((0.005..0.02).contains(&blocked), "blocked {blocked}");
    assert!((0.01..0.03).contains(&closed), "closed {closed}");

    let phones: Vec<String> = (1..=20_000).map(|id| world.phone_of(id)).collect();
    let distinct: HashSet<&String> = phones.iter().collect();
    let shared = 1.0 - distinct.len() as f64 / phones.len() as f64;
    assert!((0.002..0.01).contains(&shared), "shared phones {shared}");
    let own: HashSet<String> = (1..=20_000).map(|id| world.own_phone(id)).collect();
    assert_eq!(own.len(), 20_000, "own phones are unique");

    let emails: Vec<String> = (1..=20_000)
        .filter_map(|id| world.email_of(id))
        .map(|e| e.to_lowercase())
        .collect();
    let distinct: HashSet<&String> = emails.iter().collect();
    let duplicated = 1.0 - distinct.len() as f64 / emails.len() as f64;
    assert!(
        (0.002..0.01).contains(&duplicated),
        "duplicate emails {duplicated}"
    );
    for email in emails.iter().take(200) {
        crate::kz::identity::Email::parse(email).unwrap();
    }
}

#[test]
fn iban_check_digits_are_valid() {
    let iban = kz_iban("722", 1_234_567);
    assert_eq!(iban.len(), 20);
    // ISO 13616: move the first four characters to the end, letters to numbers,
    // and the whole is 1 mod 97.
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let numeric: String = rearranged
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                c.to_string()
            } else {
                (c as u32 - 'A' as u32 + 10).to_string()
            }
        })
        .collect();
    let remainder = numeric
        .bytes()
        .fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
    assert_eq!(remainder, 1);
}

#[test]
fn copy_text_escapes_special_characters() {
    let mut buffer = String::new();
    Row::start(&mut buffer)
        .text("a\tb\\c\nd")
        .null()
        .timestamp(0)
        .end();
    assert_eq!(buffer, "a\\tb\\\\c\\nd\t\\N\t1970-01-01 00:00:00+00\n");
}
