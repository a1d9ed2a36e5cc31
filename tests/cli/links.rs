//! The oracle test of the link model: on a family of schemas shaped unlike the
//! reference one (`tests/fixtures/links.*`: a text key, two schemas, reverse steps,
//! reverse then forward, composite keys, a partitioned table with foreign keys on
//! its partitions only, a table with no foreign key), the rows that `export`,
//! `archive dump --subject` and `subject show` select for each subject are exactly
//! those an oracle query written plainly here selects: no row of another subject,
//! none missing. The oracle queries are hand-written joins, not derbes' SQL builder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use derbes::kz::identity::{Iin, Sex};
use predicates::prelude::*;
use tokio_postgres::Client;

use crate::export::{age_key, open_bundle, untar};
use crate::support::{repo_root, TestDb};

const PEOPLE: usize = 24;

fn links_map() -> PathBuf {
    repo_root().join("tests/fixtures/links.toml")
}

fn person(n: usize) -> String {
    format!("P-{n:03}")
}

/// A valid IIN for person `n`, clear of any other test's.
fn iin_of(n: usize) -> String {
    let born = chrono::NaiveDate::from_ymd_opt(1980 + n as i32, 1 + (n % 12) as u32, 1 + n as u32)
        .unwrap();
    (0..50)
        .find_map(|s| Iin::from_parts(born, Sex::Female, 7000 + n as u16 * 50 + s))
        .unwrap()
        .to_string()
}

async fn links_db() -> TestDb {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client
        .batch_execute(include_str!("../fixtures/links.sql"))
        .await
        .expect("links schema loads");
    for n in 1..=PEOPLE {
        client
            .execute(
                "UPDATE crm.person SET tax_no = $2 WHERE person_ref = $1",
                &[&person(n), &iin_of(n)],
            )
            .await
            .unwrap();
    }
    db.cmd().arg("migrate").assert().success();
    db
}

/// Hand-written oracle: for each mapped table, the identifying column(s) of the
/// subject's rows (composite keys joined by `,`).
const ORACLE: &[(&str, &str, &str)] = &[
    (
        "person",
        "person_ref",
        "SELECT person_ref FROM crm.person WHERE person_ref = $1",
    ),
    (
        "home",
        "home_id",
        "SELECT h.home_id::text FROM crm.home h JOIN crm.person p ON p.home_id = h.home_id \
         WHERE p.person_ref = $1",
    ),
    (
        "home_photo",
        "photo_id",
        "SELECT ph.photo_id::text FROM crm.home_photo ph JOIN crm.person p ON p.home_id = ph.home_id \
         WHERE p.person_ref = $1",
    ),
    (
        "contract",
        "contract_id",
        "SELECT contract_id::text FROM crm.contract WHERE holder = $1",
    ),
    (
        "contract_line",
        "contract_id,line_no",
        "SELECT l.contract_id || ',' || l.line_no FROM crm.contract_line l \
         JOIN crm.contract c ON c.contract_id = l.contract_id WHERE c.holder = $1",
    ),
    (
        "ops.instalment",
        "instalment_id",
        "SELECT i.instalment_id::text FROM ops.instalment i \
         JOIN crm.contract c ON c.branch = i.branch AND c.number = i.contract_no WHERE c.holder = $1",
    ),
    (
        "ops.device",
        "device_id",
        "SELECT device_id::text FROM ops.device WHERE owner_ref = $1",
    ),
    (
        "ops.device_model",
        "model_id",
        "SELECT DISTINCT m.model_id::text FROM ops.device_model m \
         JOIN ops.device d ON d.model_id = m.model_id WHERE d.owner_ref = $1",
    ),
    (
        "ops.event",
        "event_id",
        "SELECT event_id::text FROM ops.event WHERE person_ref = $1",
    ),
    (
        "note",
        "note_id",
        "SELECT note_id::text FROM crm.note WHERE about_ref = $1",
    ),
];

async fn oracle(client: &Client, key: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut rows = BTreeMap::new();
    for (table, _, sql) in ORACLE {
        let found: BTreeSet<String> = client
            .query(*sql, &[&key])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        rows.insert((*table).to_owned(), found);
    }
    rows
}

/// The identifying column(s) of each row of a CSV member.
fn csv_keys(data: &[u8], key_columns: &str) -> BTreeSet<String> {
    let mut reader = csv::Reader::from_reader(data);
    let headers = reader.headers().unwrap().clone();
    let positions: Vec<usize> = key_columns
        .split(',')
        .map(|c| headers.iter().position(|h| h == c).expect("key column"))
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            positions
                .iter()
                .map(|&p| &r[p])
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn member<'a>(members: &'a BTreeMap<String, Vec<u8>>, name: &str) -> &'a [u8] {
    members
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing from {:?}", members.keys()))
}

#[tokio::test]
async fn every_command_selects_exactly_the_oracle_rows_on_every_link_shape() {
    let db = links_db().await;
    let client = db.client().await;
    let dir = tempfile::tempdir().unwrap();
    let (key, recipient) = age_key(dir.path());
    let mut shared_seen = 0;
    let mut selected: BTreeMap<String, usize> = BTreeMap::new();
    for n in 1..=PEOPLE {
        let subject = person(n);
        let expected = oracle(&client, &subject).await;
        for (table, rows) in &expected {
            *selected.entry(table.clone()).or_default() += rows.len();
        }

        // export: tables/<map key>.csv
        let bundle = dir.path().join(format!("{subject}.tar"));
        db.cmd()
            .env("DERBES_MAP", links_map())
            .args(["export", &format!("id:{subject}"), "--ticket", "ORACLE-1"])
            .args(["--plaintext", "--out"])
            .arg(&bundle)
            .assert()
            .success();
        let members = untar(&std::fs::read(&bundle).unwrap());
        for (table, key_columns, _) in ORACLE {
            let got = csv_keys(
                member(&members, &format!("tables/{table}.csv")),
                key_columns,
            );
            assert_eq!(
                got, expected[*table],
                "export of {subject}, table {table}: derbes selected other rows than the oracle"
            );
        }

        // archive dump --subject: <schema>.<table>.csv
        let archive = dir.path().join(format!("{subject}.age"));
        db.cmd()
            .env("DERBES_MAP", links_map())
            .args([
                "archive",
                "dump",
                "--yes",
                "--subject",
                &format!("id:{subject}"),
            ])
            .args([
                "--keep", "1y", "--ticket", "ORACLE-2", "-r", &recipient, "--out",
            ])
            .arg(&archive)
            .assert()
            .success();
        let members = open_bundle(&archive, &key);
        for (table, key_columns, _) in ORACLE {
            let qualified = if table.contains('.') {
                (*table).to_owned()
            } else {
                format!("crm.{table}")
            };
            let got = csv_keys(member(&members, &format!("{qualified}.csv")), key_columns);
            assert_eq!(
                got, expected[*table],
                "archive of {subject}, table {table}: derbes selected other rows than the oracle"
            );
        }

        // subject show: per category, the rows of every table holding it.
        let out = db
            .cmd()
            .env("DERBES_MAP", links_map())
            .args([
                "--format",
                "json",
                "subject",
                "show",
                &format!("id:{subject}"),
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let summary: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let held: BTreeMap<String, i64> = summary["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["category"].as_str().unwrap().to_owned(),
                    c["rows"].as_i64().unwrap(),
                )
            })
            .collect();
        let count =
            |tables: &[&str]| -> i64 { tables.iter().map(|t| expected[*t].len() as i64).sum() };
        let mut oracle_held = BTreeMap::from([
            ("iin".to_owned(), count(&["person"])),
            ("email".to_owned(), count(&["person"])),
            ("name".to_owned(), count(&["person"])),
            ("phone".to_owned(), count(&["person", "home"])),
            ("address".to_owned(), count(&["home"])),
            ("access_time".to_owned(), count(&["home_photo"])),
            (
                "microcredit".to_owned(),
                count(&["contract", "contract_line", "ops.instalment"]),
            ),
            (
                "device".to_owned(),
                count(&["ops.device", "ops.device_model"]),
            ),
            ("ip_address".to_owned(), count(&["ops.event"])),
            ("support_message".to_owned(), count(&["note"])),
        ]);
        oracle_held.retain(|_, rows| *rows > 0);
        assert_eq!(held, oracle_held, "subject show counts of {subject}");

        // Shared rows: the homes and device models another person reaches too.
        let catalog = derbes::pg::catalog::Catalog::read(&client).await.unwrap();
        let map = derbes::map::DataMap::load(&links_map()).unwrap();
        for (table, key_column, oracle_sql) in [
            (
                "home",
                "home_id",
                "SELECT h.home_id::text FROM crm.home h JOIN crm.person p ON p.home_id = h.home_id \
                 WHERE p.person_ref = $1 AND EXISTS (SELECT 1 FROM crm.person o \
                 WHERE o.home_id = h.home_id AND o.person_ref <> $1)",
            ),
            (
                "ops.device_model",
                "model_id",
                "SELECT DISTINCT m.model_id::text FROM ops.device_model m \
                 JOIN ops.device d ON d.model_id = m.model_id WHERE d.owner_ref = $1 \
                 AND EXISTS (SELECT 1 FROM ops.device o JOIN crm.person op ON op.person_ref = o.owner_ref \
                 WHERE o.model_id = m.model_id AND o.owner_ref <> $1)",
            ),
        ] {
            let path = derbes::map::link::LinkPath::compile(&map, &catalog, table).unwrap();
            assert!(path.may_share(), "{table} is reached through a reverse step");
            let sql = path
                .shared_rows(&[key_column.to_owned()], derbes::map::link::KeyMatch::One(1))
                .unwrap();
            let got: BTreeSet<String> = client
                .query(&sql, &[&subject])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let want: BTreeSet<String> = client
                .query(oracle_sql, &[&subject])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(got, want, "rows of {table} {subject} shares with others");
            shared_seen += got.len();
        }
    }
    assert!(
        shared_seen > 0,
        "some rows are shared, or the check proves nothing"
    );
    // Every shape selected rows for some subject, or the test proves nothing.
    for (table, _, _) in ORACLE {
        assert!(selected[*table] > 0, "no subject has rows in {table}");
    }
}

#[tokio::test]
async fn identities_resolve_through_any_spelling_and_the_same_way_everywhere() {
    let db = links_db().await;
    let cmd = || {
        let mut cmd = db.cmd();
        cmd.env("DERBES_MAP", links_map());
        cmd
    };
    // Person 3's phone is stored as `8 (701) 555-03-00`, person 4's as `+77015550400`,
    // person 5's as `701 555 05 00`: every spelling finds each.
    for (n, typed) in [
        (3, "+7 701 555 03 00"),
        (3, "87015550300"),
        (4, "8 (701) 555-04-00"),
        (5, "phone:+77015550500"),
    ] {
        cmd()
            .args(["--format", "json", "subject", "show", typed])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "\"key\":\"{}\"",
                person(n)
            )));
    }
    let iin = iin_of(7);
    let email = "PERSON7@Example.KZ";
    let prefixed = format!("iin:{iin}");
    for typed in [iin.as_str(), prefixed.as_str(), email, "id:P-007"] {
        cmd()
            .args(["--format", "json", "subject", "show", typed])
            .assert()
            .success()
            .stdout(predicate::str::contains("\"key\":\"P-007\""));
    }
    // block resolves with the same resolver: the dry run names the same subject.
    cmd()
        .args(["block", "8 (701) 555-04-00", &iin])
        .args([
            "--reason",
            "fraud",
            "--ticket",
            "INC-1",
            "--dry-run",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("person:P-004"))
        .stdout(predicate::str::contains("person:P-007"));
    // Nobody and a key that is not a key: the same exit codes in every command.
    let dir = tempfile::tempdir().unwrap();
    let (_, recipient) = age_key(dir.path());
    let out = dir.path().join("never.age");
    let out = out.to_str().unwrap();
    for args in [
        vec!["subject", "show", "id:P-999"],
        vec![
            "block",
            "id:P-999",
            "--reason",
            "fraud",
            "--ticket",
            "INC-2",
            "--dry-run",
        ],
        vec![
            "export",
            "id:P-999",
            "--ticket",
            "R-1",
            "--recipient",
            &recipient,
            "--out",
            out,
        ],
        vec![
            "archive",
            "dump",
            "--yes",
            "--subject",
            "id:P-999",
            "--keep",
            "1y",
            "--ticket",
            "A-1",
            "-r",
            &recipient,
            "--out",
            out,
        ],
    ] {
        cmd().args(&args).assert().code(3);
    }
    assert!(!std::path::Path::new(out).exists());
}

#[tokio::test]
async fn map_check_proves_each_link_and_its_index_advice_runs() {
    let db = links_db().await;
    let cmd = || {
        let mut cmd = db.cmd();
        cmd.env("DERBES_MAP", links_map());
        cmd
    };
    let out = cmd()
        .args(["--format", "json", "map", "check"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let link = |table: &str| {
        report["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["table"] == table)
            .unwrap_or_else(|| panic!("{table} in {report}"))
            .clone()
    };
    assert_eq!(link("home")["path"], "crm.home <- crm.person(home_id)");
    assert_eq!(link("home")["shared"], true);
    assert_eq!(
        link("ops.instalment")["backed_by"],
        "foreign key ops.instalment(branch, contract_no) -> crm.contract(branch, number)"
    );
    assert!(link("ops.event")["backed_by"]
        .as_str()
        .unwrap()
        .ends_with("on every partition"));
    assert_eq!(link("note")["backed_by"], "none");
    assert_eq!(link("contract")["shared"], false);

    // An unbacked link is a warning, and an error with --strict.
    cmd()
        .args(["map", "check", "--strict"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("no foreign key backs this link"));

    // The partitioned table's index advice is SQL PostgreSQL accepts: run it, and
    // the warning is gone.
    let advice = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["object"] == "ops.event.person_ref")
        .expect("the partially indexed partitioned table gets advice")["fix"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!advice.contains("CONCURRENTLY \"event_person_ref_idx\" ON \"ops\".\"event\""));
    let client = db.client().await;
    for statement in advice.lines() {
        client
            .batch_execute(statement)
            .await
            .unwrap_or_else(|e| panic!("advice `{statement}` fails: {e}"));
    }
    cmd()
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ops.event.person_ref").not());
    // So does the phone expression index, and the resolver's query then uses it.
    let phone_advice = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["object"] == "person.tel")
        .expect("advice for the normalised phone")["fix"]
        .as_str()
        .unwrap()
        .to_owned();
    client.batch_execute(&phone_advice).await.unwrap();
    cmd()
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("person.tel").not());
}

#[tokio::test]
async fn map_check_refuses_links_that_cannot_be_the_subjects() {
    let db = links_db().await;
    let base = std::fs::read_to_string(links_map()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (case, from, to, words) in [
        (
            "a column that does not exist",
            "link = { column = \"about_ref\" }",
            "link = { column = \"about\" }",
            "column about does not exist in crm.note",
        ),
        (
            "types that differ",
            "link = { column = \"about_ref\" }",
            "link = { column = \"note_id\" }",
            "the types differ",
        ),
        (
            "a via column that is not unique on either side",
            "link = { column = \"model_id\", via = \"ops.device\", via_column = \"model_id\" }",
            "link = { column = \"vendor\", via = \"ops.device\", via_column = \"device_uid\" }",
            "neither",
        ),
        (
            "blocking that would change rows other subjects share",
            "set = [{ table = \"person\", column = \"locked\", value = \"true\", unblock_value = \"false\" }]",
            "set = [{ table = \"home\", column = \"street\", value = \"x\", unblock_value = \"y\" }]",
            "whose rows may be shared by several subjects",
        ),
        (
            "a link that loops",
            "link = { column = \"contract_id\", via = \"contract\" }",
            "link = { column = \"contract_id\", via = \"contract_line\" }",
            "loops back on itself",
        ),
        (
            "a link against an existing foreign key",
            "link = { column = \"owner_ref\" }",
            "link = { column = \"model_id\", via = \"home\" }",
            "says otherwise",
        ),
    ] {
        let text = base.replacen(from, to, 1);
        assert_ne!(text, base, "{case}: the map was changed");
        let path = dir.path().join("map.toml");
        std::fs::write(&path, text).unwrap();
        db.cmd()
            .env("DERBES_MAP", &path)
            .args(["map", "check"])
            .assert()
            .code(6)
            .stdout(predicate::str::contains(words));
    }
    // A composite key of the wrong width is malformed: refused before any query.
    let path = dir.path().join("narrow.toml");
    let narrow = base.replacen(
        "via_column = [\"branch\", \"number\"]",
        "via_column = [\"branch\"]",
        1,
    );
    std::fs::write(&path, narrow).unwrap();
    db.cmd()
        .env("DERBES_MAP", &path)
        .args(["map", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "give as many `via_column` as `column`",
        ));
}

#[tokio::test]
async fn an_ip_selector_finds_exactly_the_subjects_with_rows_from_the_range() {
    let db = links_db().await;
    let client = db.client().await;
    // Events sit in a partitioned table of another schema; some are anonymous.
    for range in ["10.0.5.0/24", "10.0.0.0/16", "10.0.96.0/20"] {
        let want: BTreeSet<String> = client
            .query(
                "SELECT DISTINCT e.person_ref FROM ops.event e \
                 JOIN crm.person p ON p.person_ref = e.person_ref WHERE e.ip <<= $1::text::inet",
                &[&range],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let out = db
            .cmd()
            .env("DERBES_MAP", links_map())
            .args(["--format", "json", "block", "--ip", range])
            .args([
                "--reason",
                "fraud",
                "--ticket",
                "INC-3",
                "--dry-run",
                "--max",
                "100",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let got: BTreeSet<String> = report["blocked"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["key"].as_str().unwrap().to_owned())
            .collect();
        assert!(!want.is_empty(), "{range} selects someone");
        assert_eq!(got, want, "subjects of {range}");
    }
}

/// Regression (issue 8): with a phone on a table reached through a reverse step (a
/// home two people share), `subject show` and `archive dump --subject` found one
/// person and `block` another. One resolver: every command finds both, exit 4.
#[tokio::test]
async fn an_identity_behind_a_reverse_step_resolves_the_same_in_every_command() {
    let db = links_db().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, recipient) = age_key(dir.path());
    let out = dir.path().join("x.age");
    let out = out.to_str().unwrap();
    // Home 3's landline is stored as `8 727 2000003`; persons 5 and 6 live there.
    let typed = "+7 727 200 00 03";
    for args in [
        vec!["subject", "show", typed],
        vec![
            "block",
            typed,
            "--reason",
            "fraud",
            "--ticket",
            "INC-5",
            "--dry-run",
        ],
        vec![
            "export", typed, "--ticket", "R-5", "-r", &recipient, "--out", out,
        ],
        vec![
            "archive",
            "dump",
            "--yes",
            "--subject",
            typed,
            "--keep",
            "1y",
            "--ticket",
            "A-5",
            "-r",
            &recipient,
            "--out",
            out,
        ],
    ] {
        db.cmd()
            .env("DERBES_MAP", links_map())
            .args(&args)
            .assert()
            .code(4)
            .stderr(predicate::str::contains("id:P-005"))
            .stderr(predicate::str::contains("id:P-006"))
            .stderr(predicate::str::contains("2000003").not());
    }
    assert!(!std::path::Path::new(out).exists());
    // Home 12 has a landline and nobody living there: nobody is found, exit 3.
    db.cmd()
        .env("DERBES_MAP", links_map())
        .args(["subject", "show", "+7 727 200 00 12"])
        .assert()
        .code(3);
}
