//! `derbes map init` on schemas derbes was not designed for: a rental shop (the
//! customer points at a shared address, payments partitioned by month), tables in two
//! schemas, and an IIN column named `tax_code`. Each draft must pass its own
//! `map check`, and no sampled value may reach stdout, stderr or the draft.

use chrono::NaiveDate;
use derbes::kz::identity::{Iin, Sex};
use predicates::prelude::*;

use crate::support::TestDb;

async fn db_with(sql: &str) -> TestDb {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(sql)
        .await
        .expect("fixture loads");
    db
}

/// Run `map init` (with `args`, verbose, so logs are checked too) into a file; return
/// the draft with stdout and stderr, after checking it passes `map check --strict`
/// (every link backed by a foreign key).
fn init(db: &TestDb, args: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("draft.toml");
    let output = db
        .cmd()
        .args(["-v", "map", "init", "--out"])
        .arg(&draft)
        .args(args)
        .output()
        .unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{logs}");
    let text = std::fs::read_to_string(&draft).unwrap();
    db.cmd()
        .arg("--map")
        .arg(&draft)
        .args(["map", "check", "--strict"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 error(s)"));
    (text, logs)
}

fn assert_no_value(values: &[&str], text: &str, logs: &str) {
    for value in values {
        assert!(
            !text.contains(value),
            "the draft shows a sampled value:\n{text}"
        );
        assert!(
            !logs.contains(value),
            "stdout/stderr show a sampled value:\n{logs}"
        );
    }
}

#[tokio::test]
async fn a_rental_shop_gets_its_customer_and_a_reverse_link_to_the_address() {
    let db = db_with(include_str!("../fixtures/rental.sql")).await;
    let (text, logs) = init(&db, &[]);
    assert!(
        text.contains(
            "# Subject table (a guess): customer: its name reads as a data subject (\"customer\")"
        ),
        "{text}"
    );
    assert!(
        text.contains("[subject]\ntable = \"customer\"\nkey = \"customer_id\""),
        "{text}"
    );
    assert!(
        text.contains("[tables.address]\n# reverse link: customer.address_id points at this table; a row may be shared by several subjects (also referenced by staff, store)\nlink = { column = \"address_id\", via = \"customer\", via_column = \"address_id\" }"),
        "{text}"
    );
    assert!(
        text.contains("[tables.rental]\nlink = { column = \"customer_id\" }"),
        "{text}"
    );
    // Payments are partitioned by month, their foreign keys on the partitions only.
    assert!(
        text.contains("[tables.payment]\n# partitioned table (2 partitions): the foreign key behind this link is declared on each partition\nlink = { column = \"customer_id\" }\ntime_column = \"payment_date\""),
        "{text}"
    );
    assert!(text.contains("phone = { category = \"phone\""), "{text}");
    // Tables with no path to the customer are comments saying why, not sections.
    for (table, why) in [
        ("film", "no foreign key connects it to customer"),
        ("city", "address is itself reached by a reverse link"),
        ("staff", "its rows are not the subject's alone"),
        ("store", "it has no personal-looking columns"),
    ] {
        assert!(
            !text.contains(&format!("[tables.{table}]")),
            "{table}: {text}"
        );
        assert!(text.contains(&format!("# - {table}")), "{table}: {text}");
        assert!(text.contains(why), "{table}: {why}: {text}");
    }
    assert!(
        logs.contains("subject table (a guess): public.customer"),
        "{logs}"
    );

    // The draft is usable as it stands: a customer sharing an address is found, and
    // the address counts as theirs.
    let (_dir, path) = crate::support::temp_file("draft.toml", &text);
    db.cmd().arg("migrate").assert().success();
    db.cmd()
        .arg("--map")
        .arg(&path)
        .args(["--format", "json", "subject", "show", "saule@example.kz"])
        .assert()
        .success()
        .stdout(predicate::str::contains("customer:3"))
        .stdout(predicate::str::contains("\"address\""));
    assert_no_value(
        &[
            "aigerim@example.kz",
            "+7 701",
            "Sarsenova",
            "Abay ave",
            "050000",
        ],
        &text,
        &logs,
    );
}

#[tokio::test]
async fn every_schema_is_read_unless_schema_narrows_it() {
    let db = db_with(
        "CREATE SCHEMA crm; CREATE SCHEMA sales;
         CREATE TABLE crm.klienty (klient_id bigint PRIMARY KEY, familiya text, imya text,
                                   otchestvo text, telefon text, data_rozhdeniya date);
         CREATE TABLE sales.zakazy (zakaz_id bigint PRIMARY KEY,
                                    klient_id bigint NOT NULL REFERENCES crm.klienty,
                                    created_at timestamptz NOT NULL DEFAULT now());
         CREATE INDEX ON sales.zakazy (klient_id);
         CREATE TABLE sales.sku (sku text PRIMARY KEY, price numeric);
         INSERT INTO crm.klienty VALUES (1, 'Sarsenova', 'Aigerim', 'Nurlanovna', '87011234567', '1990-05-01');
         INSERT INTO sales.zakazy VALUES (10, 1, now());",
    )
    .await;
    let (text, logs) = init(&db, &[]);
    assert!(text.contains("(schemas: crm, sales)"), "{text}");
    assert!(text.contains("schema = \"crm\""), "{text}");
    assert!(text.contains("table = \"klienty\""), "{text}");
    assert!(text.contains("birth_date = \"data_rozhdeniya\""), "{text}");
    assert!(
        text.contains("kind = \"phone\"\ncolumn = \"telefon\"\nnormalise = true"),
        "{text}"
    );
    for column in ["familiya", "imya", "otchestvo"] {
        assert!(
            text.contains(&format!("{column} = {{ category = \"name\"")),
            "{text}"
        );
    }
    assert!(
        text.contains("[tables.\"sales.zakazy\"]\nlink = { column = \"klient_id\" }"),
        "{text}"
    );
    assert!(text.contains("# - sales.sku: no foreign key"), "{text}");
    assert_no_value(&["Sarsenova", "87011234567", "Nurlanovna"], &text, &logs);

    // --schema narrows: the orders alone give no subject-like table to start from.
    let (text, _) = init(&db, &["--schema", "crm"]);
    assert!(text.contains("(schemas: crm)"), "{text}");
    assert!(!text.contains("zakazy"), "{text}");
    db.cmd()
        .args(["map", "init", "--schema", "nowhere"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("schema \"nowhere\" has no tables"))
        .stderr(predicate::str::contains("\"crm\", \"sales\""));
    db.cmd()
        .args(["map", "init", "--subject-table", "sales.klienty"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "table \"sales.klienty\" does not exist in the schemas read",
        ));
    let (text, _) = init(&db, &["--subject-table", "crm.klienty"]);
    assert!(
        text.contains("# Subject table: klienty (named with --subject-table)."),
        "{text}"
    );
}

#[tokio::test]
async fn an_iin_column_under_another_name_is_found_by_sampling() {
    let iins: Vec<String> = (0..40u16)
        .filter_map(|serial| {
            let born = NaiveDate::from_ymd_opt(
                1980 + i32::from(serial % 20),
                3,
                1 + u32::from(serial % 27),
            )?;
            Iin::from_parts(
                born,
                if serial % 2 == 0 {
                    Sex::Male
                } else {
                    Sex::Female
                },
                100 + serial,
            )
        })
        .map(|iin| iin.to_string())
        .collect();
    assert!(iins.len() > 20);
    let values: Vec<String> = iins
        .iter()
        .enumerate()
        .map(|(i, iin)| format!("({i}, '{iin}', 'note {i}')"))
        .collect();
    let db = db_with(&format!(
        "CREATE TABLE accounts (id integer PRIMARY KEY, tax_code varchar(12) NOT NULL, remark text);
         CREATE TABLE loans (id integer PRIMARY KEY, account_id integer NOT NULL REFERENCES accounts,
                             opened_at timestamptz NOT NULL DEFAULT now());
         CREATE INDEX ON loans (account_id);
         INSERT INTO accounts VALUES {};
         -- Large enough to be sampled with TABLESAMPLE rather than read.
         CREATE TABLE logins (id integer PRIMARY KEY, account_id integer NOT NULL REFERENCES accounts,
                              contact text NOT NULL, at timestamptz NOT NULL DEFAULT now());
         CREATE INDEX ON logins (account_id);
         INSERT INTO logins SELECT g, g % 20, 'user' || g || '@example.kz', now() FROM generate_series(1, 30000) g;
         ANALYZE logins;",
        values.join(", ")
    ))
    .await;
    let (text, logs) = init(&db, &[]);
    assert!(text.contains("table = \"accounts\""), "{text}");
    assert!(
        text.contains(&format!(
            "# found by sampling: {n} of {n} sampled values are valid IINs (check digit verified)\n[[subject.identities]]\nkind = \"iin\"\ncolumn = \"tax_code\"",
            n = iins.len()
        )),
        "{text}"
    );
    assert!(text.contains("tax_code = { category = \"iin\""), "{text}");
    let contact = text
        .lines()
        .find(|l| l.starts_with("contact = "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        contact.contains("category = \"email\"")
            && contact.contains("sampled values are email addresses"),
        "{text}"
    );
    let mut refs: Vec<&str> = iins.iter().map(String::as_str).collect();
    refs.push("@example.kz");
    assert_no_value(&refs, &text, &logs);

    // Without sampling, the name alone says nothing about an IIN.
    let output = db
        .cmd()
        .args(["map", "init", "--no-sample"])
        .output()
        .unwrap();
    let draft = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(!draft.contains("kind = \"iin\""), "{draft}");
    assert!(
        draft.contains("no rows were sampled (--no-sample)"),
        "{draft}"
    );
}

#[tokio::test]
async fn a_table_that_cannot_be_read_is_drafted_by_name_and_said_so() {
    let db = db_with(include_str!("../fixtures/rental.sql")).await;
    let role = format!("{}_reader", db.name);
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "CREATE ROLE \"{role}\" LOGIN;
             GRANT USAGE ON SCHEMA public TO \"{role}\";
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{role}\";
             REVOKE SELECT ON address FROM \"{role}\";"
        ))
        .await
        .unwrap();
    let conninfo = format!("{} user={role}", db.conninfo().replace("user=", "olduser="));
    let conninfo: String = conninfo
        .split_whitespace()
        .filter(|kv| !kv.starts_with("olduser="))
        .collect::<Vec<_>>()
        .join(" ");
    let output = db
        .cmd()
        .env("DATABASE_URL", &conninfo)
        .args(["map", "init"])
        .output()
        .unwrap();
    client
        .batch_execute(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\";"))
        .await
        .unwrap();
    let draft = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{draft}");
    assert!(
        draft.contains("#   address was not sampled: no SELECT privilege on it."),
        "{draft}"
    );
    assert!(draft.contains("phone = { category = \"phone\""), "{draft}");
}

#[tokio::test]
async fn the_link_shapes_family_is_drafted_with_every_shape() {
    let db = db_with(include_str!("../fixtures/links.sql")).await;
    let client = db.client().await;
    let refs: Vec<String> = client
        .query("SELECT person_ref FROM crm.person ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut iins = Vec::new();
    for (n, person) in refs.iter().enumerate() {
        let born = NaiveDate::from_ymd_opt(1970 + n as i32, 1 + (n % 12) as u32, 2).unwrap();
        let iin = (0..50u16)
            .find_map(|s| Iin::from_parts(born, Sex::Male, 3000 + s))
            .unwrap()
            .to_string();
        client
            .execute(
                "UPDATE crm.person SET tax_no = $2 WHERE person_ref = $1",
                &[person, &iin],
            )
            .await
            .unwrap();
        iins.push(iin);
    }
    let (text, logs) = init(&db, &[]);
    for expected in [
        "table = \"person\"\nkey = \"person_ref\"",
        "kind = \"iin\"\ncolumn = \"tax_no\"",
        "kind = \"phone\"\ncolumn = \"tel\"\nnormalise = true",
        "[tables.\"ops.instalment\"]\nlink = { column = [\"branch\", \"contract_no\"], via = \"contract\", via_column = [\"branch\", \"number\"] }",
        "[tables.\"ops.event\"]\n# partitioned table (3 partitions)",
        "[tables.home]\n# reverse link: person.home_id points at this table",
        "[tables.contract_line]\nlink = { column = \"contract_id\", via = \"contract\" }",
        "# - home_photo: it references home, which is linked to person only by a reverse link",
        "# - note: no foreign key connects it to person",
    ] {
        assert!(text.contains(expected), "{expected}\n---\n{text}");
    }
    let refs: Vec<&str> = iins.iter().map(String::as_str).collect();
    assert_no_value(&refs, &text, &logs);
}
