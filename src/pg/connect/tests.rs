//! Tests of connection settings: precedence, parsing, service and password files.

use super::*;
use std::collections::HashMap;
use std::io::Write;

fn platform() -> Platform {
    Platform {
        os_user: Some("osuser".into()),
        home: Some(PathBuf::from("/home/osuser")),
        socket_dir: None,
    }
}

fn resolve_with(conninfo: Option<&str>, vars: &[(&str, &str)]) -> Result<Settings, ConnectError> {
    resolve_on(conninfo, vars, &platform())
}

fn resolve_on(
    conninfo: Option<&str>,
    vars: &[(&str, &str)],
    platform: &Platform,
) -> Result<Settings, ConnectError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = ConnectOptions {
        conninfo: conninfo.map(str::to_string),
        application_name: "derbes".into(),
        connect_timeout: None,
    };
    Settings::resolve(&opts, &|name| vars.get(name).cloned(), platform)
}

fn endpoint(host: &str, port: u16) -> Endpoint {
    Endpoint {
        host: host.into(),
        hostaddr: None,
        port,
    }
}

#[test]
fn defaults_follow_libpq() {
    let settings = resolve_with(None, &[]).unwrap();
    assert_eq!(settings.endpoints, [endpoint("localhost", 5432)]);
    assert_eq!(settings.user, "osuser");
    assert_eq!(settings.dbname, "osuser");
    assert_eq!(settings.sslmode, SslMode::Prefer);
    assert_eq!(settings.application_name, "derbes");
    assert_eq!(
        settings.root_certificates.path,
        Some(PathBuf::from("/home/osuser/.postgresql/root.crt"))
    );
    assert_eq!(
        settings.passfile,
        Some(PathBuf::from("/home/osuser/.pgpass"))
    );

    let with_socket = Platform {
        socket_dir: Some(PathBuf::from("/var/run/postgresql")),
        ..platform()
    };
    let settings = resolve_on(None, &[], &with_socket).unwrap();
    assert_eq!(settings.endpoints, [endpoint("/var/run/postgresql", 5432)]);
}

#[test]
fn url_form_is_parsed_and_decoded() {
    let settings = resolve_with(
        Some("postgres://alice:p%40ss%3Aword@db.example.com:6432/ledger?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x"),
        &[],
    )
    .unwrap();
    assert_eq!(settings.endpoints, [endpoint("db.example.com", 6432)]);
    assert_eq!(settings.user, "alice");
    assert_eq!(settings.password.unwrap().expose_secret(), "p@ss:word");
    assert_eq!(settings.dbname, "ledger");
    assert_eq!(settings.sslmode, SslMode::VerifyFull);
    assert_eq!(
        settings.root_certificates.path,
        Some(PathBuf::from("/etc/ca.pem"))
    );
    assert_eq!(settings.application_name, "x");
}

#[test]
fn url_with_several_hosts_ipv6_and_socket() {
    let settings = resolve_with(
        Some("postgresql://[::1]:5433,db2,%2Ftmp%2Fpg/x?ssl=true"),
        &[],
    )
    .unwrap();
    assert_eq!(
        settings.endpoints,
        [
            endpoint("::1", 5433),
            endpoint("db2", 5432),
            endpoint("/tmp/pg", 5432)
        ]
    );
    assert_eq!(settings.sslmode, SslMode::Require);
    let target = settings.target(&settings.endpoints[0]);
    assert_eq!(target.to_string(), "[::1]:5433");
    let target = settings.target(&settings.endpoints[2]);
    assert_eq!(target.to_string(), "/tmp/pg/.s.PGSQL.5432");
}

#[test]
fn keyword_form_with_quotes_and_escapes() {
    let settings = resolve_with(
        Some(r"host=db port = 7000 dbname='my db' password='it\'s \\ secret' user=bob"),
        &[],
    )
    .unwrap();
    assert_eq!(settings.endpoints, [endpoint("db", 7000)]);
    assert_eq!(settings.dbname, "my db");
    assert_eq!(settings.user, "bob");
    assert_eq!(settings.password.unwrap().expose_secret(), r"it's \ secret");
}

#[test]
fn explicit_string_beats_environment_which_beats_defaults() {
    let vars = [
        ("PGHOST", "envhost"),
        ("PGPORT", "5555"),
        ("PGUSER", "envuser"),
        ("PGDATABASE", "envdb"),
        ("PGPASSWORD", "envpass"),
        ("PGSSLMODE", "require"),
        ("PGSSLROOTCERT", "/env/ca.pem"),
        ("PGAPPNAME", "envapp"),
        ("PGCONNECT_TIMEOUT", "7"),
    ];
    let settings = resolve_with(Some("host=urlhost dbname=urldb"), &vars).unwrap();
    assert_eq!(settings.endpoints, [endpoint("urlhost", 5555)]);
    assert_eq!(settings.dbname, "urldb");
    assert_eq!(settings.user, "envuser");
    assert_eq!(settings.password.unwrap().expose_secret(), "envpass");
    assert_eq!(settings.sslmode, SslMode::Require);
    assert_eq!(
        settings.root_certificates.path,
        Some(PathBuf::from("/env/ca.pem"))
    );
    assert_eq!(settings.application_name, "envapp");
    assert_eq!(settings.connect_timeout, Some(Duration::from_secs(7)));

    // Empty variables count as unset.
    let settings = resolve_with(None, &[("PGHOST", ""), ("PGUSER", "")]).unwrap();
    assert_eq!(settings.endpoints, [endpoint("localhost", 5432)]);
    assert_eq!(settings.user, "osuser");
}

#[test]
fn service_file_sits_between_string_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("services.conf");
    std::fs::write(
        &file,
        "# comment\n[other]\nhost=wrong\n\n[ledger]\nhost = svc-host\nport=6000\n\
         dbname=svcdb\nsslmode=verify-full\n[after]\nhost=wrong\n",
    )
    .unwrap();
    let service_file = file.to_str().unwrap();
    let vars = [
        ("PGSERVICEFILE", service_file),
        ("PGDATABASE", "envdb"),
        ("PGUSER", "envuser"),
        ("PGPORT", "1111"),
    ];
    let settings = resolve_with(Some("service=ledger port=7000"), &vars).unwrap();
    assert_eq!(settings.endpoints, [endpoint("svc-host", 7000)]);
    assert_eq!(settings.dbname, "svcdb");
    assert_eq!(settings.user, "envuser");
    assert_eq!(settings.sslmode, SslMode::VerifyFull);

    let mut with_pgservice = vars.to_vec();
    with_pgservice.push(("PGSERVICE", "ledger"));
    let settings = resolve_with(None, &with_pgservice).unwrap();
    assert_eq!(settings.endpoints, [endpoint("svc-host", 6000)]);

    let error = resolve_with(Some("service=missing"), &vars).unwrap_err();
    assert!(
        error.to_string().contains("service \"missing\" not found"),
        "{error}"
    );
}

#[test]
fn bad_strings_are_rejected_without_echoing_secrets() {
    for (conninfo, expected) in [
        ("host=db password=hunter2 oops", "expected \"key=value\""),
        ("host=db password='hunter2", "unterminated quoted value"),
        (
            "postgres://u:hunter2@db/x?frobnicate=1",
            "unknown parameter \"frobnicate\"",
        ),
        (
            "postgres://u:hunter2@db:notaport/x",
            "invalid port \"notaport\"",
        ),
        ("postgres://u:hunter2%zz@db/x", "invalid %-encoding"),
        (
            "host=db sslmode=verify-everything password=hunter2",
            "invalid sslmode",
        ),
        (
            "host=db sslcert=/c.pem password=hunter2",
            "\"sslcert\" is not supported",
        ),
        (
            "host=a,b,c port=1,2 password=hunter2",
            "2 ports for 3 hosts",
        ),
    ] {
        let error = resolve_with(Some(conninfo), &[]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(expected), "{conninfo}: {message}");
        assert!(!message.contains("hunter2"), "{conninfo}: {message}");
    }
}

#[test]
fn tokio_postgres_validates_passthrough_parameters() {
    let settings = resolve_with(
        Some("host=db target_session_attrs=read-write keepalives_count=3"),
        &[],
    )
    .unwrap();
    let config = settings.config_for(&settings.endpoints[0]).unwrap();
    assert_eq!(
        config.get_target_session_attrs(),
        tokio_postgres::config::TargetSessionAttrs::ReadWrite
    );
    assert_eq!(config.get_keepalives_retries(), Some(3));

    let settings = resolve_with(Some("host=db target_session_attrs=sometimes"), &[]).unwrap();
    let error = settings.config_for(&settings.endpoints[0]).unwrap_err();
    assert!(
        error.to_string().contains("target_session_attrs"),
        "{error}"
    );
}

#[test]
fn verify_modes_need_a_root_certificate_file() {
    let settings = resolve_with(Some("host=db sslmode=verify-full"), &[]).unwrap();
    let error = settings.tls_connector().err().unwrap();
    let message = error.to_string();
    assert!(
        message.contains("/home/osuser/.postgresql/root.crt"),
        "{message}"
    );
    assert!(message.contains("sslrootcert="), "{message}");

    let settings = resolve_with(
        Some("host=db sslmode=verify-ca sslrootcert=/nowhere/ca.pem"),
        &[],
    )
    .unwrap();
    let error = settings.tls_connector().err().unwrap();
    assert!(error.to_string().contains("/nowhere/ca.pem"), "{error}");

    // Without verification a missing file is fine, as with libpq.
    let settings = resolve_with(
        Some("host=db sslmode=require sslrootcert=/nowhere/ca.pem"),
        &[],
    )
    .unwrap();
    assert!(settings.tls_connector().is_ok());
}

#[test]
fn connect_timeout_follows_libpq() {
    assert_eq!(parse_connect_timeout("0").unwrap(), None);
    assert_eq!(
        parse_connect_timeout("1").unwrap(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(
        parse_connect_timeout("30").unwrap(),
        Some(Duration::from_secs(30))
    );
    assert!(parse_connect_timeout("soon").is_err());
}

fn passfile(contents: &str, mode: u32) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    file
}

#[test]
fn pgpass_matches_like_libpq() {
    let file = passfile(
        "# comment\n\
         other:5432:*:alice:wrong\n\
         db\\:x:5432:*:alice:escaped\n\
         localhost:5432:ledger:alice:socket\n\
         *:6432:*:*:any\\:thing\n\
         db.example.com:*:*:alice:first\n\
         db.example.com:*:*:alice:second\n",
        0o600,
    );
    let lookup = |host: &str, port: u16, db: &str, user: &str| {
        password_from_file(file.path(), &endpoint(host, port), db, user)
            .map(|p| p.expose_secret().to_string())
    };
    assert_eq!(
        lookup("db.example.com", 5432, "x", "alice").as_deref(),
        Some("first")
    );
    assert_eq!(
        lookup("db:x", 5432, "x", "alice").as_deref(),
        Some("escaped")
    );
    assert_eq!(
        lookup("/var/run/postgresql", 5432, "ledger", "alice").as_deref(),
        Some("socket")
    );
    assert_eq!(
        lookup("anything", 6432, "x", "bob").as_deref(),
        Some("any:thing")
    );
    assert_eq!(lookup("db.example.com", 5432, "x", "bob"), None);
}

#[test]
fn pgpass_readable_by_others_is_ignored() {
    let file = passfile("*:*:*:*:secret\n", 0o644);
    assert!(password_from_file(file.path(), &endpoint("h", 5432), "d", "u").is_none());
}

#[test]
fn pgpass_is_consulted_after_defaults_apply() {
    let file = passfile("localhost:5432:osuser:osuser:frompass\n", 0o600);
    let settings = resolve_with(None, &[("PGPASSFILE", file.path().to_str().unwrap())]).unwrap();
    let config = settings.config_for(&settings.endpoints[0]).unwrap();
    assert_eq!(config.get_password(), Some(&b"frompass"[..]));
}

#[test]
fn sslmode_never_applies_to_unix_sockets() {
    let settings = resolve_with(Some("host=/tmp sslmode=verify-full"), &[]).unwrap();
    let config = settings.config_for(&settings.endpoints[0]).unwrap();
    assert_eq!(
        config.get_ssl_mode(),
        tokio_postgres::config::SslMode::Disable
    );
    // No TCP endpoint, so no root certificate is needed either.
    assert!(settings.tls_connector().is_ok());
}

/// libpq's own URI regression cases (`tests/data/libpq-uri-regress.tsv`, from
/// PostgreSQL's `src/interfaces/libpq/test`): every URI libpq refuses is refused,
/// and every one it reads gives the same parameters, but one difference that is
/// ours on purpose: an unrecognised query parameter (`uzer`) is refused rather
/// than ignored with a warning, so a typo never silently drops a setting.
#[test]
fn uris_read_as_libpq_reads_them_in_its_own_regression_cases() {
    let text = include_str!("../../../tests/data/libpq-uri-regress.tsv");
    let mut differences = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (uri, outcome, expected) = (fields[0], fields[1], fields.get(2).copied().unwrap_or(""));
        let parsed = conninfo::parse_conninfo(uri);
        match (outcome, parsed) {
            ("error", Ok(params)) => {
                differences.push(format!("{uri}: libpq refuses it, read {params:?}"))
            }
            ("error", Err(_)) => {}
            // Refused on purpose, naming the parameter.
            (_, Err(e)) if e.to_string().contains("unknown parameter \"uzer\"") => {}
            (_, Err(e)) => differences.push(format!("{uri}: libpq reads it, refused: {e}")),
            (_, Ok(params)) => {
                let want: std::collections::BTreeMap<String, String> = expected
                    .split("' ")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once("='").unwrap();
                        (k.to_owned(), v.trim_end_matches('\'').to_owned())
                    })
                    .collect();
                let got: std::collections::BTreeMap<String, String> =
                    params.into_iter().filter(|(_, v)| !v.is_empty()).collect();
                if got != want {
                    differences.push(format!("{uri}: libpq {want:?}, ours {got:?}"));
                }
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
