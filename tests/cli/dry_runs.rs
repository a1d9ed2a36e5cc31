//! Issue 9 (tests): every command that changes data, run with `--dry-run` one after
//! another on the same database, leaves every table as it was (per-table checksums).
//! A new mutating command belongs in this list.

use crate::archive::age_keys;
use crate::support::{database_checksums, TestDb};

#[tokio::test]
async fn every_mutating_command_with_dry_run_leaves_the_database_unchanged() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    // A subject of the sample population with a consent (so a grant has a row to
    // take its policy version from), and old traffic rows for the cohort and purge.
    let key: i64 = client
        .query_one("SELECT min(borrower_id) FROM consents", &[])
        .await
        .unwrap()
        .get(0);
    client
        .batch_execute(&format!(
            "INSERT INTO usage_events (borrower_id, occurred_at, event, screen) \
             SELECT {key}, now() - interval '400 days' - g * interval '1 hour', 'open', 'home' \
             FROM generate_series(1, 30) g"
        ))
        .await
        .unwrap();
    let id = format!("id:{key}");
    let keys = age_keys();
    let mask_key = keys.dir.join("mask.key");
    std::fs::write(&mask_key, "0qkzqhylepscmERSz4sddGrgpa+LiLDuAownkVBwmiA=\n").unwrap();
    let policy_text = keys.dir.join("policy.txt");
    std::fs::write(&policy_text, "policy 9.9\n").unwrap();
    let effective = (chrono::Utc::now() + chrono::Duration::days(40))
        .date_naive()
        .to_string();
    let out = |name: &str| keys.dir.join(name).display().to_string();
    let (archive_out, erase_out) = (out("dump.age"), out("erase.age"));
    let mask = mask_key.display().to_string();
    let archive_dir = keys.dir.join("purge-archives");
    std::fs::create_dir(&archive_dir).unwrap();
    let archive_dir = archive_dir.display().to_string();
    let text = policy_text.display().to_string();
    let recipient = keys.age_recipient.as_str();

    let before = database_checksums(&client).await;
    let runs: Vec<Vec<&str>> = vec![
        vec!["block", &id, "--reason", "compromised", "--ticket", "T-1"],
        vec!["unblock", &id, "--application", "APP-1", "--ticket", "T-1"],
        vec![
            "rectify",
            &id,
            "--set",
            "first_name=Aruzhan",
            "--ticket",
            "T-1",
        ],
        vec![
            "consent",
            "grant",
            &id,
            "--purpose",
            "marketing",
            "--document",
            "F-1",
            "--ticket",
            "T-1",
        ],
        vec![
            "disclosure",
            "record",
            &id,
            "--recipient",
            "Bureau",
            "--basis",
            "law",
            "--purpose",
            "services",
            "--ticket",
            "T-1",
        ],
        vec![
            "policy",
            "publish",
            "9.9",
            "--effective",
            &effective,
            "--text",
            &text,
            "--ticket",
            "T-1",
        ],
        vec![
            "request",
            "open",
            "--kind",
            "access",
            "--subject",
            &id,
            "--received",
            "2026-11-20",
            "--ticket",
            "T-1",
        ],
        vec![
            "archive",
            "dump",
            "--subject",
            &id,
            "--keep",
            "1y",
            "-r",
            recipient,
            "--out",
            &archive_out,
            "--ticket",
            "T-1",
        ],
        vec!["archive", "expire", "--ticket", "T-1"],
        vec![
            "erase",
            &id,
            "--archive-to",
            recipient,
            "--archive-out",
            &erase_out,
            "--key-file",
            &mask,
            "--ticket",
            "T-1",
        ],
        vec!["anonymise", &id, "--key-file", &mask, "--ticket", "T-1"],
        vec![
            "anonymise",
            "--rule",
            "traffic",
            "--key-file",
            &mask,
            "--ticket",
            "T-1",
        ],
        vec![
            "purge",
            "--key-file",
            &mask,
            "--ticket",
            "T-1",
            "--archive-dir",
            &archive_dir,
            "-r",
            &keys.age_recipient,
        ],
    ];
    for args in runs {
        let output = db
            .cmd()
            .env("DERBES_AUDIT_KEY", crate::rectify::AUDIT_KEY)
            .args(&args)
            .arg("--dry-run")
            .output()
            .unwrap();
        let line = args.join(" ");
        assert!(
            output.status.success(),
            "derbes {line} --dry-run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            database_checksums(&client).await,
            before,
            "derbes {line} --dry-run changed the database"
        );
    }
    for file in [&archive_out, &erase_out] {
        assert!(!std::path::Path::new(file).exists(), "{file} was left");
    }
}
