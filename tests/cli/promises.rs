//! README promises that hold across every command: `--format csv` everywhere it is
//! offered, no personal data on stderr even at `-vv`, and the operator in every audit
//! row. One walk through the commands (with `-vv --format csv --operator`) serves the
//! three tests.

use std::path::Path;
use std::process::Output;

use crate::subject::{iin_born, insert_borrower};
use crate::support::TestDb;

/// The walk's subject: personal values to look for on stderr.
struct Person {
    iin: String,
    phone: &'static str,
    phone_spellings: [&'static str; 3],
    email: &'static str,
    names: [&'static str; 2],
}

fn person() -> Person {
    Person {
        iin: iin_born("950607", '4', 300),
        phone: "+77017778899",
        phone_spellings: ["87017778899", "7017778899", "701 777 88 99"],
        email: "saltanat.z@example.kz",
        names: ["Zhumabekova", "Saltanat"],
    }
}

const OPERATOR: &str = "dpo-aizhan";

/// Every command once, on a migrated reference database, as `-vv --format csv
/// --operator dpo-aizhan`; returns (command line, output) of each.
async fn walk(db: &TestDb, dir: &Path) -> Vec<(String, Output)> {
    let p = person();
    let client = db.client().await;
    let id = insert_borrower(&client, &p.iin, p.email, p.phone, 3).await;
    client
        .execute(
            "UPDATE borrowers SET last_name = $1, first_name = $2 WHERE id = $3",
            &[&p.names[0], &p.names[1], &id],
        )
        .await
        .unwrap();
    let key = dir.join("key.txt");
    assert!(std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success());
    let recipient = String::from_utf8(
        std::process::Command::new("age-keygen")
            .arg("-y")
            .arg(&key)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let key = key.display().to_string();
    let export = dir.join("export.age").display().to_string();
    let archive = dir.join("archive.age").display().to_string();
    let iin = p.iin.as_str();
    let steps: Vec<Vec<&str>> = vec![
        vec!["migrate"],
        vec!["map", "check"],
        vec!["subject", "show", iin],
        vec!["subject", "show", p.phone_spellings[2]],
        vec!["subject", "show", p.email],
        vec![
            "export",
            iin,
            "--ticket",
            "REQ-1",
            "--recipient",
            &recipient,
            "--out",
            &export,
        ],
        vec![
            "block",
            iin,
            "--reason",
            "compromised",
            "--ticket",
            "INC-1",
            "--dry-run",
        ],
        vec![
            "block",
            p.phone,
            "--reason",
            "compromised",
            "--ticket",
            "INC-1",
            "--yes",
        ],
        vec!["blocks"],
        vec![
            "unblock",
            iin,
            "--application",
            "APP-1",
            "--ticket",
            "REQ-2",
            "--yes",
        ],
        vec![
            "archive",
            "dump",
            "--subject",
            iin,
            "--keep",
            "1y",
            "--ticket",
            "DPO-1",
            "--yes",
        ],
        vec!["archive", "list"],
        vec!["archive", "expire", "--dry-run", "--ticket", "RET-1"],
        vec!["archive", "verify", "-i", &key, &archive],
        vec![
            "archive", "restore", "-i", &key, &archive, "--into", "inspect", "--yes", "--ticket",
            "DPO-2",
        ],
        vec!["audit", "log"],
        vec!["audit", "verify"],
    ];
    let mut outputs = Vec::new();
    for mut args in steps {
        if args.starts_with(&["archive", "dump"]) {
            args.extend(["-r", &recipient, "--out", &archive]);
        }
        let output = db
            .cmd()
            .args(["-vv", "--format", "csv", "--operator", OPERATOR])
            .args(&args)
            .output()
            .unwrap();
        let line = args.join(" ");
        assert!(
            output.status.success(),
            "derbes {line} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        outputs.push((line, output));
    }
    outputs
}

#[tokio::test]
async fn every_command_writes_csv_with_format_csv() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    for (line, output) in walk(&db, dir.path()).await {
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            !stdout.trim_start().starts_with('{') && !stdout.contains('│'),
            "derbes {line} --format csv printed JSON or a table:\n{stdout}"
        );
        // Notes (a delete order, a chain head) follow the rows as `# ` lines.
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .comment(Some(b'#'))
            .from_reader(stdout.as_bytes());
        let headers = reader
            .headers()
            .unwrap_or_else(|e| panic!("derbes {line}: no CSV header ({e}):\n{stdout}"))
            .clone();
        assert!(
            !headers.is_empty() && headers.iter().all(|h| !h.is_empty()),
            "derbes {line}: empty CSV header:\n{stdout}"
        );
        for record in reader.records() {
            let record =
                record.unwrap_or_else(|e| panic!("derbes {line}: bad CSV record ({e}):\n{stdout}"));
            assert_eq!(record.len(), headers.len(), "derbes {line}");
        }
    }
}

#[tokio::test]
async fn no_personal_data_reaches_stderr_even_at_vv() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let p = person();
    let mut values: Vec<String> = vec![p.iin.clone(), p.phone.to_owned(), p.email.to_owned()];
    values.extend(p.phone_spellings.iter().map(|s| s.to_string()));
    values.extend(p.names.iter().map(|s| s.to_string()));
    let mut logged = 0;
    for (line, output) in walk(&db, dir.path()).await {
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        logged += stderr.lines().count();
        for value in &values {
            assert!(
                !stderr.contains(&value.to_lowercase()),
                "derbes -vv {line} printed a personal value on stderr:\n{stderr}"
            );
        }
    }
    assert!(
        logged > 0,
        "-vv logged nothing: the check would prove nothing"
    );
}

#[tokio::test]
async fn every_audit_row_records_the_operator() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    walk(&db, dir.path()).await;
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT action, operator FROM derbes.audit_log ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    for wanted in ["export", "block", "unblock", "archive.dump"] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "no {wanted} row among {actions:?}"
        );
    }
    for row in rows {
        let (action, operator): (String, String) = (row.get(0), row.get(1));
        assert_eq!(operator, OPERATOR, "audit row {action}");
    }
}
