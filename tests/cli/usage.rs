//! The command-line contract: help, exit codes, connection errors.

use predicates::prelude::*;

use crate::support::derbes_cmd;

#[test]
fn help_lists_exit_codes_and_commands() {
    derbes_cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains("migrate"))
        .stdout(predicate::str::contains("DATABASE_URL"));
}

#[test]
fn unknown_arguments_exit_2() {
    derbes_cmd().args(["migrate", "--bogus"]).assert().code(2);
    derbes_cmd()
        .args(["--format", "xml", "migrate"])
        .assert()
        .code(2);
}

#[test]
fn unreachable_database_names_host_and_port() {
    derbes_cmd()
        .args([
            "--db",
            "postgres://postgres@127.0.0.1:1/postgres",
            "migrate",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("127.0.0.1:1"));
}

#[test]
fn a_command_needing_the_map_says_how_to_pass_it() {
    derbes_cmd()
        .args([
            "--db",
            "postgres://postgres@127.0.0.1:1/postgres",
            "map",
            "check",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--map"));
}

#[test]
fn completions_are_in_sync_with_the_cli() {
    let root = crate::support::repo_root();
    let bless = std::env::var_os("DERBES_BLESS").is_some();
    for (shell, file) in [
        ("bash", "completions/derbes.bash"),
        ("zsh", "completions/_derbes"),
        ("fish", "completions/derbes.fish"),
    ] {
        let output = derbes_cmd().args(["completions", shell]).output().unwrap();
        assert!(output.status.success());
        let path = root.join(file);
        if bless {
            std::fs::write(&path, &output.stdout).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == output.stdout,
            "{file} is out of date: run `DERBES_BLESS=1 cargo test completions` and commit it"
        );
    }
    // One man page per command in completions/man, no page left over.
    let generated = tempfile::tempdir().unwrap();
    derbes_cmd()
        .args(["completions", "man", "--dir"])
        .arg(generated.path())
        .assert()
        .success();
    let committed_dir = root.join("completions/man");
    let names = |dir: &std::path::Path| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    if bless {
        let _ = std::fs::remove_dir_all(&committed_dir);
        std::fs::create_dir_all(&committed_dir).unwrap();
        for name in names(generated.path()) {
            std::fs::copy(generated.path().join(&name), committed_dir.join(&name)).unwrap();
        }
    }
    assert_eq!(
        names(&committed_dir),
        names(generated.path()),
        "completions/man is out of date: run `DERBES_BLESS=1 cargo test completions` and commit it"
    );
    for name in names(generated.path()) {
        assert!(
            std::fs::read(committed_dir.join(&name)).unwrap()
                == std::fs::read(generated.path().join(&name)).unwrap(),
            "completions/man/{name} is out of date: run `DERBES_BLESS=1 cargo test completions` and commit it"
        );
    }
}

#[test]
fn a_malformed_connection_string_is_a_usage_error_that_hides_the_password() {
    derbes_cmd()
        .args(["--db", "postgres://user:s3cret@host:notaport/db", "migrate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("s3cret").not());
}

/// Regression (issue 10, defect 8): empty, huge, multi-line, escape-laden and
/// personal-data tickets were stored forever in the audit log. Every command that
/// keeps free text refuses them (exit 2) before touching the database, without
/// echoing the value.
#[tokio::test]
async fn free_text_holding_personal_data_or_control_characters_is_refused() {
    let db = crate::support::TestDb::migrated().await;
    let huge = "T".repeat(100 * 1024);
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec![
                "export",
                "061211600012",
                "--plaintext",
                "--out",
                "x.tar",
                "--ticket",
            ],
            "INC-1 650622474046 Гүлмира",
            "IIN",
        ),
        (
            vec![
                "block",
                "061211600012",
                "--reason",
                "fraud",
                "--yes",
                "--ticket",
            ],
            "T\n\x1b[31mFAKE OK",
            "one line",
        ),
        (
            vec![
                "block",
                "061211600012",
                "--reason",
                "fraud",
                "--yes",
                "--ticket",
            ],
            "T\x1b[31mFAKE OK",
            "control",
        ),
        (
            vec![
                "unblock",
                "061211600012",
                "--ticket",
                "REQ-1",
                "--yes",
                "--application",
            ],
            "from aigerim@example.kz",
            "email",
        ),
        (
            vec!["archive", "expire", "--yes", "--ticket"],
            "   ",
            "empty",
        ),
        (vec!["archive", "expire", "--yes", "--ticket"], &huge, "200"),
        (
            vec![
                "archive",
                "expire",
                "--yes",
                "--ticket",
                "RET-1",
                "--operator",
            ],
            "+7 701 234 56 78",
            "phone",
        ),
    ];
    for (args, value, words) in cases {
        let assert = db.cmd().args(&args).arg(value).assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert!(
            !stderr.contains(value.trim()) || value.trim().is_empty(),
            "{stderr}"
        );
        assert!(!stderr.contains('\x1b'), "{stderr}");
    }
    let audit: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM derbes.audit_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit, 0, "nothing was recorded");
}

#[tokio::test]
async fn test_templates_of_other_versions_are_dropped() {
    let admin = crate::support::connect_to("postgres").await;
    let stale = format!("derbes_tpl_stale{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE \"{stale}\" TEMPLATE template0"))
        .await
        .unwrap();
    let template = crate::support::ensure_reference_template(&admin).await;
    crate::support::drop_stale_templates(&admin, &template).await;
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&stale],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the stale template is gone");
}

/// Diagnostics on stderr carry no colour codes when stderr is not a terminal (a
/// log file, a pipe, cron mail).
#[tokio::test]
async fn stderr_off_a_terminal_has_no_colour_codes() {
    let db = crate::support::TestDb::migrated().await;
    let output = db.cmd().args(["-vv", "map", "init"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEBUG"), "-vv logged nothing: {stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "colour codes off a terminal: {stderr:?}"
    );
}

/// Issue 26: a reader that stops reading early (`derbes audit log | head -1`) ends
/// the command quietly, exit 0 and nothing on stderr, as ripgrep does; it used to
/// print "Broken pipe" (exit 1), and `completions bash` panicked (exit 101).
#[tokio::test]
async fn a_pipe_closed_early_ends_the_command_quietly() {
    let db = crate::support::TestDb::migrated().await;
    db.cmd()
        .args(["audit", "anchor", "--ticket", "T-26", "--yes"])
        .output()
        .unwrap();
    for args in [
        vec!["audit", "log"],
        vec!["completions", "bash"],
        vec!["completions", "man"],
        vec!["map", "init"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_derbes"))
            .env("DATABASE_URL", db.conninfo())
            .env("DERBES_MAP", crate::support::reference_map())
            .env("DERBES_OPERATOR", "test-operator")
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader is gone before the command has written anything.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Issue 24: NO_COLOR is honoured at a terminal (a second `with_ansi` used to
/// override it). `script` gives the command a terminal.
#[tokio::test]
async fn no_color_turns_colour_off_at_a_terminal() {
    let db = crate::support::TestDb::migrated().await;
    let run = |no_color: bool| {
        let command = format!(
            "{}'{}' -vv map init >/dev/null",
            if no_color { "NO_COLOR=1 " } else { "" },
            env!("CARGO_BIN_EXE_derbes")
        );
        let output = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("DATABASE_URL", db.conninfo())
            .env("DERBES_MAP", crate::support::reference_map())
            .env("DERBES_OPERATOR", "test-operator")
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let coloured = run(false);
    assert!(coloured.contains("DEBUG"), "{coloured}");
    assert!(
        coloured.contains('\x1b'),
        "colour at a terminal: {coloured:?}"
    );
    let plain = run(true);
    assert!(plain.contains("DEBUG"), "{plain}");
    assert!(!plain.contains('\x1b'), "NO_COLOR set: {plain:?}");
}

/// Issue 26, item 10: a pseudo-terminal that reports 0 columns (`stty cols 0`, as
/// some CI runners and `docker exec` give) made every table column one character
/// wide, and COLUMNS was ignored. The table takes COLUMNS then, else 80 columns.
/// `script` gives the command a terminal; `calendar show` prints a table without
/// a database.
#[test]
fn a_terminal_of_zero_columns_gets_columns_or_80() {
    let widest = |columns: Option<&str>| {
        let command = format!(
            "stty cols 0 && {} '{}' calendar show 2027",
            match columns {
                Some(n) => format!("env COLUMNS={n}"),
                None => "env -u COLUMNS".to_owned(),
            },
            env!("CARGO_BIN_EXE_derbes")
        );
        let output = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_remove("COLUMNS")
            .output()
            .expect("script (util-linux) is installed");
        let text = String::from_utf8_lossy(&output.stdout).replace('\r', "");
        assert!(text.contains("2027-01-01"), "no table:\n{text}");
        let lines: Vec<&str> = text.lines().filter(|l| l.contains('│')).collect();
        assert!(!lines.is_empty(), "no table:\n{text}");
        lines
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or_default()
    };
    let with_columns = widest(Some("120"));
    assert!(
        (81..=120).contains(&with_columns),
        "COLUMNS=120 gave lines of {with_columns}"
    );
    let without = widest(None);
    assert!(
        (40..=80).contains(&without),
        "80 columns gave lines of {without}"
    );
}
