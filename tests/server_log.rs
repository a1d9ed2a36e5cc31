//! What derbes leaves in the server's own log. A production server often logs slow
//! statements (`log_min_duration_statement`) with their bound parameters, so a
//! secret must never be one.
//!
//! The shared test server's log is not ours to read, so this binary starts its own
//! throwaway cluster (see `support/cluster.rs`) and has it log every statement.

mod support;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::cluster::{Cluster, ClusterOptions};
use support::derbes_cmd;

/// 32 random bytes as `openssl rand -base64 32` writes them.
const KEY: &str = "YNvzkB+Km00pa+ETqiv/BUqiz3/aPKS7tfptSIwdeM4=";
const IIN: &str = "061211600012";
const EMAIL: &str = "aigerim@example.kz";

const MAP: &str = r#"
version = 1
schema = "public"
[subject]
table = "people"
key = "id"
[[subject.identities]]
kind = "iin"
column = "iin"
[tables.people.columns]
iin = { category = "iin", purpose = "identification", masking = "hmac" }
email = { category = "email", purpose = "contact", masking = "hmac" }
"#;

/// The HMAC key block XOR `pad`, as the lowercase hex a log would show.
fn key_block_hex(pad: u8) -> String {
    let mut block = [0u8; 64];
    block[..KEY.len()].copy_from_slice(KEY.as_bytes());
    hex::encode(block.map(|b| b ^ pad))
}

fn hmac_hex(value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn the_masking_key_never_reaches_the_server_log() {
    let cluster = Cluster::shared(ClusterOptions { tls: false });
    let admin = cluster.client("postgres").await;
    for statement in [
        "CREATE DATABASE masking_log",
        "ALTER DATABASE masking_log SET log_min_duration_statement = 0",
        "ALTER DATABASE masking_log SET log_parameter_max_length = -1",
    ] {
        admin.batch_execute(statement).await.unwrap();
    }
    let client = cluster.client("masking_log").await;
    client
        .batch_execute(&format!(
            "CREATE TABLE people (id bigint PRIMARY KEY, iin char(12) NOT NULL, email text); \
             INSERT INTO people VALUES (1, '{IIN}', '{EMAIL}'), (2, '990101300015', 'other@example.kz');"
        ))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    std::fs::write(&map, MAP).unwrap();
    let key_file = dir.path().join("mask.key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let run = |args: &[&str]| {
        derbes_cmd()
            .env("DATABASE_URL", cluster.conninfo("masking_log"))
            .env("DERBES_MAP", &map)
            .args(args)
            .assert()
            .success();
    };
    run(&["migrate"]);
    run(&[
        "anonymise",
        IIN,
        "--ticket",
        "REQ-LOG",
        "--yes",
        "--key-file",
        key_file.to_str().unwrap(),
    ]);

    let row = client
        .query_one("SELECT iin, email FROM people WHERE id = 1", &[])
        .await
        .unwrap();
    let (iin, email): (String, String) = (row.get(0), row.get(1));
    assert_eq!(iin, hmac_hex(IIN)[..12], "the IIN is keyed-hashed");
    assert_eq!(email, hmac_hex(EMAIL), "the email is keyed-hashed");

    let log = cluster.log();
    assert!(
        log.contains(r#"UPDATE "public"."people""#),
        "the cluster logs every statement, the masking UPDATE among them"
    );
    for (name, secret) in [
        ("inner key block", key_block_hex(0x36)),
        ("outer key block", key_block_hex(0x5c)),
        ("key", hex::encode(KEY)),
    ] {
        assert!(
            !log.to_lowercase().contains(&secret),
            "the {name} is in the server log"
        );
    }
    assert!(!log.contains(KEY), "the key is in the server log");
}
