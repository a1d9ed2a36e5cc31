//! Connection behaviour against a real server: SCRAM passwords (from the URL,
//! `PGPASSWORD` and a `.pgpass` file), every `sslmode` that checks something, and the
//! messages an operator sees when it goes wrong.
//!
//! The shared test server trusts every connection and has no certificate we control,
//! so these tests start their own clusters (see `support/cluster.rs`): one with TLS
//! and one without, each shared by the tests of this binary.

mod support {
    pub mod cluster;
}

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use derbes::pg::connect::{connect_with_env, ConnectError, ConnectOptions, SslMode};
use support::cluster::{Cluster, ClusterOptions};

fn tls_cluster() -> &'static Cluster {
    Cluster::shared(ClusterOptions { tls: true })
}

fn plain_cluster() -> &'static Cluster {
    Cluster::shared(ClusterOptions { tls: false })
}

fn options(conninfo: &str) -> ConnectOptions {
    ConnectOptions {
        conninfo: Some(conninfo.to_string()),
        application_name: "derbes-test".to_string(),
        connect_timeout: Some(std::time::Duration::from_secs(10)),
    }
}

/// An environment with only `vars`: no HOME, so no `~/.pgpass` or
/// `~/.postgresql/root.crt` of the machine running the tests gets in the way.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Sync {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    move |name| vars.get(name).cloned()
}

/// Connects, checks the session works, and returns whether it is encrypted.
async fn connect_and_check_tls(
    conninfo: &str,
    vars: &[(&str, &str)],
) -> Result<bool, ConnectError> {
    let (client, target) = connect_with_env(&options(conninfo), &env(vars)).await?;
    let row = client
        .query_one(
            "SELECT current_user::text, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("query over the new connection");
    assert_eq!(row.get::<_, String>(0), target.user);
    Ok(row.get(1))
}

async fn connect_error(conninfo: &str, vars: &[(&str, &str)]) -> ConnectError {
    match connect_with_env(&options(conninfo), &env(vars)).await {
        Ok(_) => panic!("connecting should have failed"),
        Err(error) => error,
    }
}

fn ca(cluster: &Cluster) -> String {
    cluster.ca_cert.as_ref().unwrap().display().to_string()
}

#[tokio::test]
async fn correct_password_connects() {
    let cluster = tls_cluster();
    let encrypted = connect_and_check_tls(&cluster.url("sslmode=prefer"), &[])
        .await
        .unwrap();
    assert!(encrypted, "prefer uses TLS when the server offers it");
}

#[tokio::test]
async fn wrong_password_fails_with_the_authentication_message() {
    let cluster = tls_cluster();
    let conninfo = format!(
        "postgres://{}:not-the-password@127.0.0.1:{}/postgres",
        cluster.user, cluster.port
    );
    let error = connect_error(&conninfo, &[]).await;
    assert!(
        matches!(error, ConnectError::AuthenticationFailed { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "password authentication failed for user \"{}\" at 127.0.0.1:{}: check the \
             password in the URL, PGPASSWORD or ~/.pgpass",
            cluster.user, cluster.port
        )
    );
    assert!(!error.to_string().contains("not-the-password"));
}

#[tokio::test]
async fn password_from_pgpassword() {
    let cluster = tls_cluster();
    let conninfo = cluster.url_without_password("sslmode=require");
    assert!(
        connect_and_check_tls(&conninfo, &[("PGPASSWORD", &cluster.password)])
            .await
            .unwrap(),
        "sslmode=require must use TLS"
    );
}

#[tokio::test]
async fn password_from_a_pgpass_file() {
    let cluster = tls_cluster();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "# derbes test\nelsewhere:*:*:*:wrong").unwrap();
    writeln!(
        file,
        "127.0.0.1:{}:*:{}:{}",
        cluster.port, cluster.user, cluster.password
    )
    .unwrap();
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let passfile = file.path().to_str().unwrap();

    let conninfo = cluster.url_without_password("sslmode=require");
    assert!(
        connect_and_check_tls(&conninfo, &[("PGPASSFILE", passfile)])
            .await
            .unwrap(),
        "sslmode=require must use TLS"
    );

    // Everything from the environment, as `psql` with no arguments.
    let port = cluster.port.to_string();
    let vars = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", cluster.user.as_str()),
        ("PGDATABASE", "postgres"),
        ("PGPASSFILE", passfile),
    ];
    let (client, target) = connect_with_env(
        &ConnectOptions {
            conninfo: None,
            ..options("")
        },
        &env(&vars),
    )
    .await
    .unwrap();
    assert_eq!(target.port, cluster.port);
    assert_eq!(target.sslmode, SslMode::Prefer);
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl, "prefer uses TLS when the server offers it");
}

#[tokio::test]
async fn no_password_at_all_says_where_to_put_one() {
    let cluster = tls_cluster();
    let error = connect_error(&cluster.url_without_password("sslmode=require"), &[]).await;
    assert!(
        matches!(error, ConnectError::PasswordMissing { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("PGPASSWORD"), "{error}");
}

#[tokio::test]
async fn verify_full_with_the_right_ca_connects() {
    let cluster = tls_cluster();
    let query = format!("sslmode=verify-full&sslrootcert={}", ca(cluster));
    for host in ["127.0.0.1", "localhost"] {
        let encrypted = connect_and_check_tls(&cluster.url_for_host(host, &query), &[])
            .await
            .unwrap_or_else(|error| panic!("{host}: {error}"));
        assert!(encrypted);
    }
}

#[tokio::test]
async fn verify_full_root_certificate_from_pgsslrootcert() {
    let cluster = tls_cluster();
    let ca = ca(cluster);
    let vars = [("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca.as_str())];
    assert!(connect_and_check_tls(&cluster.url(""), &vars)
        .await
        .unwrap());
}

#[tokio::test]
async fn verify_full_against_a_server_without_tls_fails_clearly() {
    let tls = tls_cluster();
    let cluster = plain_cluster();
    let query = format!("sslmode=verify-full&sslrootcert={}", ca(tls));
    let error = connect_error(&cluster.url(&query), &[]).await;
    assert!(
        matches!(error, ConnectError::TlsNotSupported { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{}", cluster.port))
            && message.contains("does not support TLS")
            && message.contains("sslmode=verify-full"),
        "{message}"
    );
}

#[tokio::test]
async fn verify_full_with_another_ca_is_not_trusted() {
    let cluster = tls_cluster();
    let other_ca = cluster
        .other_ca_cert
        .as_ref()
        .unwrap()
        .display()
        .to_string();
    let query = format!("sslmode=verify-full&sslrootcert={other_ca}");
    let error = connect_error(&cluster.url(&query), &[]).await;
    assert!(
        matches!(error, ConnectError::CertificateNotTrusted { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("not trusted") && message.contains(&other_ca),
        "{message}"
    );
}

#[tokio::test]
async fn require_with_a_root_certificate_checks_the_chain_like_libpq() {
    let cluster = tls_cluster();
    let other_ca = cluster
        .other_ca_cert
        .as_ref()
        .unwrap()
        .display()
        .to_string();
    let error = connect_error(
        &cluster.url(&format!("sslmode=require&sslrootcert={other_ca}")),
        &[],
    )
    .await;
    assert!(
        matches!(error, ConnectError::CertificateNotTrusted { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn verify_full_to_a_name_not_in_the_certificate_fails_on_the_hostname() {
    let cluster = tls_cluster();
    let query = format!("sslmode=verify-full&sslrootcert={}", ca(cluster));
    let error = connect_error(&cluster.url_for_host("127.0.0.2", &query), &[]).await;
    assert!(
        matches!(error, ConnectError::HostnameMismatch { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("not valid for the name \"127.0.0.2\"") && message.contains("verify-ca"),
        "{message}"
    );

    // verify-ca checks the chain only, so the same connection passes.
    let query = format!("sslmode=verify-ca&sslrootcert={}", ca(cluster));
    assert!(
        connect_and_check_tls(&cluster.url_for_host("127.0.0.2", &query), &[])
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn verify_full_without_a_root_certificate_names_the_file() {
    let cluster = tls_cluster();
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap();
    let error = connect_error(&cluster.url("sslmode=verify-full"), &[("HOME", home)]).await;
    assert!(
        matches!(error, ConnectError::RootCertificateMissing { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("{home}/.postgresql/root.crt"))
            && message.contains("sslrootcert="),
        "{message}"
    );
}

#[tokio::test]
async fn require_without_a_ca_connects_encrypted() {
    let cluster = tls_cluster();
    assert!(connect_and_check_tls(&cluster.url("sslmode=require"), &[])
        .await
        .unwrap());
}

#[tokio::test]
async fn disable_connects_in_plaintext() {
    let cluster = tls_cluster();
    assert!(!connect_and_check_tls(&cluster.url("sslmode=disable"), &[])
        .await
        .unwrap());
}

#[tokio::test]
async fn missing_database_is_named() {
    let cluster = tls_cluster();
    let conninfo = format!(
        "host=127.0.0.1 port={} user={} password={} dbname=no_such_db",
        cluster.port, cluster.user, cluster.password
    );
    let error = connect_error(&conninfo, &[]).await;
    assert!(
        matches!(error, ConnectError::DatabaseNotFound { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"no_such_db\""), "{error}");
}

#[tokio::test]
async fn unreachable_port_names_host_and_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let error = connect_error(
        &format!("postgres://someone:secret@127.0.0.1:{port}/db"),
        &[],
    )
    .await;
    assert!(
        matches!(error, ConnectError::Unreachable { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused. Is the \
             server running? Check --db / DATABASE_URL / PGHOST and PGPORT"
        )
    );
    // Retried with a short backoff, then given up.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
