//! `derbes disclosure record | list` (docs/policy.md 7.2): a recorded transfer lands in
//! the ledger with its audit row and shows in the subject's export, whose summary
//! names categories and purposes in Kazakh and Russian; bad input changes nothing.

use predicates::prelude::*;

use crate::export::untar;
use crate::subject::{iin_born, insert_borrower};
use crate::support::{database_checksums, TestDb};

const RECIPIENT: &str = "Test Credit Bureau LLP";

fn record(db: &TestDb, identity: &str) -> assert_cmd::Command {
    let mut cmd = db.cmd();
    cmd.args(["disclosure", "record", identity, "--recipient", RECIPIENT])
        .args(["--basis", "law", "--purpose", "services"])
        .args(["--categories", "name,iin,microcredit", "--ticket", "REQ-77"]);
    cmd
}

#[tokio::test]
async fn a_recorded_disclosure_shows_in_the_export_in_three_languages() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 710);
    let me = insert_borrower(&client, &iin, "transfer@example.kz", "+77010000071", 1).await;
    client
        .execute("DELETE FROM disclosures WHERE borrower_id = $1", &[&me])
        .await
        .unwrap();

    record(&db, &iin).arg("--yes").assert().success();
    let row = client
        .query_one(
            "SELECT recipient, purpose, legal_basis, categories, disclosed_at > now() - interval '1 hour' \
             FROM disclosures WHERE borrower_id = $1",
            &[&me],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), RECIPIENT);
    assert_eq!(row.get::<_, String>(1), "services");
    assert!(row.get::<_, String>(2).contains("7.2.2"));
    assert_eq!(
        row.get::<_, Vec<String>>(3),
        vec![
            "name".to_owned(),
            "iin".to_owned(),
            "microcredit".to_owned()
        ]
    );
    assert!(row.get::<_, bool>(4));
    let audited = client
        .query_one(
            "SELECT subject_ref, ticket, detail->>'basis' FROM derbes.audit_log WHERE action = 'disclosure.record'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audited.get::<_, String>(0), format!("borrowers:{me}"));
    assert_eq!(audited.get::<_, String>(1), "REQ-77");
    assert_eq!(audited.get::<_, String>(2), "law");

    // Listed for the subject, and among everyone's.
    let out = db
        .cmd()
        .args(["--format", "json", "disclosure", "list", &iin])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["recipient"], RECIPIENT);
    assert_eq!(listed[0]["subject"], format!("borrowers:{me}"));
    db.cmd()
        .args(["disclosure", "list", "--since", "1d"])
        .assert()
        .success()
        .stdout(predicate::str::contains(RECIPIENT));

    // A transfer the application logged itself, with a purpose of the map.
    client
        .execute(
            "INSERT INTO disclosures (borrower_id, recipient, purpose, legal_basis, categories, disclosed_at) \
             VALUES ($1, 'Bureau Two', 'credit_history_report', 'law', '{name}', now() - interval '2 days')",
            &[&me],
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    db.cmd()
        .args(["export", &iin, "--ticket", "REQ-78", "--plaintext", "--out"])
        .arg(&bundle)
        .assert()
        .success();
    let members = untar(&std::fs::read(&bundle).unwrap());
    let data: serde_json::Value = serde_json::from_slice(&members["data.json"]).unwrap();
    let disclosures = data["disclosures"].as_array().unwrap();
    assert!(
        disclosures.iter().any(|d| d["recipient"] == RECIPIENT),
        "{disclosures:?}"
    );
    let iin_category = data["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "iin")
        .unwrap();
    assert_eq!(iin_category["disclosed_to"][0]["recipient"], RECIPIENT);

    let html = String::from_utf8(members["summary.html"].clone()).unwrap();
    for text in [
        RECIPIENT,
        // Category labels from derbes.
        "Жеке сәйкестендіру нөмірі (ЖСН)",
        "Индивидуальный идентификационный номер (ИИН)",
        "Individual identification number (IIN)",
        "Микрокредит туралы мәліметтер",
        "Сведения о микрокредите",
        // Field labels from the map.
        "Тегі",
        "Фамилия",
        // The purpose in each language, from the map.
        "Компанияның микрокредиттік қызметтерін ұсыну",
        "Предоставление услуг микрокредитования",
        "Providing microcredit services",
        "Кредиттік тарихты кредиттік бюроларға беру",
        "Передача кредитной истории в кредитные бюро",
        // Retention in words.
        "5 жыл",
        "5 лет",
        "5 years",
    ] {
        assert!(html.contains(text), "summary.html lacks {text}");
    }
    // No raw identifiers where a label is known.
    assert!(!html.contains("<td>birth_date</td>"), "raw category name");
    assert!(!html.contains("<th>last_name</th>"), "raw column name");
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let key: i64 = client
        .query_one("SELECT min(id) FROM borrowers", &[])
        .await
        .unwrap()
        .get(0);
    let before = database_checksums(&client).await;
    record(&db, &format!("id:{key}"))
        .arg("--dry-run")
        .assert()
        .success()
        .stdout(predicate::str::contains("would record"));
    assert_eq!(database_checksums(&client).await, before);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let key: i64 = client
        .query_one("SELECT min(id) FROM borrowers", &[])
        .await
        .unwrap()
        .get(0);
    let id = format!("id:{key}");
    let before = database_checksums(&client).await;
    let base = |purpose: &str| {
        let mut cmd = db.cmd();
        cmd.args(["disclosure", "record", &id, "--recipient", RECIPIENT])
            .args([
                "--basis",
                "law",
                "--purpose",
                purpose,
                "--ticket",
                "REQ-79",
                "--yes",
            ]);
        cmd
    };
    base("lottery")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "purpose `lottery` is not declared",
        ));
    base("services")
        .args(["--categories", "name,shoe_size"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`shoe_size` is not a category"));
    base("services")
        .args(["--at", "2999-01-01"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("future"));
    base("services")
        .args(["--at", "yesterday-ish"])
        .assert()
        .code(2);
    db.cmd()
        .args(["disclosure", "record", &id, "--recipient", RECIPIENT])
        .args([
            "--basis",
            "gift",
            "--purpose",
            "services",
            "--ticket",
            "REQ-79",
            "--yes",
        ])
        .assert()
        .code(2);
    // A recipient that holds personal data is refused before anything runs.
    db.cmd()
        .args([
            "disclosure",
            "record",
            &id,
            "--recipient",
            "aigerim@example.kz",
        ])
        .args([
            "--basis",
            "law",
            "--purpose",
            "services",
            "--ticket",
            "REQ-79",
            "--yes",
        ])
        .assert()
        .code(2);
    let unknown = iin_born("900101", '3', 720);
    db.cmd()
        .args(["disclosure", "record", &unknown, "--recipient", RECIPIENT])
        .args([
            "--basis",
            "law",
            "--purpose",
            "services",
            "--ticket",
            "REQ-79",
            "--yes",
        ])
        .assert()
        .code(3);
    assert_eq!(database_checksums(&client).await, before);
}
