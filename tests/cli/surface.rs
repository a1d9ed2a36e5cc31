//! The command-line surface (issue 9, items 4, 10 and 11): shared argument groups,
//! help that ends with examples that parse, man pages that exist, output fit for
//! pipes.

use std::collections::BTreeSet;

use clap::{CommandFactory, Parser};
use derbes::cli::Cli;
use predicates::prelude::*;

use crate::support::{derbes_cmd, TestDb};

/// Every command path: `["archive", "dump"]`, ... (the root is `[]`).
fn command_paths() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in command.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut next = path.clone();
            next.push(sub.get_name().to_owned());
            walk(sub, next, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), Vec::new(), &mut out);
    out
}

fn help(path: &[String]) -> String {
    let output = derbes_cmd().args(path).arg("--help").output().unwrap();
    assert!(output.status.success(), "derbes {path:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The example command lines after the last `Examples:` heading, continuation
/// lines (`\`) joined and `# ` comments dropped.
fn examples(help: &str) -> Vec<String> {
    let Some((_, tail)) = help.rsplit_once("\nExamples:\n") else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in tail.lines() {
        let line = line.trim();
        let line = line.split(" # ").next().unwrap_or("").trim();
        // Of a pipeline, derbes' own part must parse.
        let line = line.split(" | ").next().unwrap_or("").trim();
        match line.strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    lines.push(current.split_whitespace().collect::<Vec<_>>().join(" "));
                }
                current.clear();
            }
        }
    }
    lines
}

#[test]
fn every_command_help_ends_with_examples_that_parse() {
    for path in command_paths() {
        let text = help(&path);
        let found = examples(&text);
        assert!(
            found.len() >= 2,
            "derbes {} --help shows {} example(s):\n{text}",
            path.join(" "),
            found.len()
        );
        for example in found {
            let words: Vec<&str> = example.split(' ').collect();
            assert_eq!(words[0], "derbes", "{example}");
            // Examples of a group may show its subcommands; a leaf shows itself.
            let result = Cli::try_parse_from(&words);
            assert!(
                result.is_ok(),
                "example of `derbes {}` does not parse: {example}\n{}",
                path.join(" "),
                result.err().map(|e| e.to_string()).unwrap_or_default()
            );
            if path.len() > 1 && !text.contains("Commands:") {
                assert!(
                    example.contains(&path.join(" ")),
                    "an example of `derbes {}` runs another command: {example}",
                    path.join(" ")
                );
            }
        }
    }
}

#[test]
fn help_explains_recipients_identities_and_periods() {
    let dump = help(&["archive".into(), "dump".into()]);
    for words in [
        "Age recipient: the public key that can open the file",
        "age1...",
        "ssh-ed25519",
        "calendar",
        "--recipients-file",
    ] {
        assert!(dump.contains(words), "archive dump --help lacks {words}");
    }
    let verify = help(&["archive".into(), "verify".into()]);
    assert!(verify.contains("Age identity: the private key that opens the file"));
    assert!(help(&[]).contains("tab-separated"));
}

/// Item 4: one set of recipient flags, same spelling and help in export and archive.
#[test]
fn export_and_archive_dump_share_recipient_flags() {
    let recipient_help = |path: &[&str]| -> Vec<String> {
        let mut command = Cli::command();
        let mut current = &mut command;
        for name in path {
            current = current.find_subcommand_mut(name).unwrap();
        }
        ["recipients", "recipients_file"]
            .iter()
            .map(|id| {
                let arg = current
                    .get_arguments()
                    .find(|a| a.get_id() == *id)
                    .unwrap_or_else(|| panic!("{path:?} has no {id}"));
                format!(
                    "{:?} {:?} {}",
                    arg.get_short(),
                    arg.get_long(),
                    arg.get_help().map(|h| h.to_string()).unwrap_or_default()
                )
            })
            .collect()
    };
    let export = recipient_help(&["export"]);
    assert_eq!(export, recipient_help(&["archive", "dump"]));
    assert!(
        export[0].starts_with("Some('r') Some(\"recipient\")"),
        "{export:?}"
    );
    for (args, flag) in [
        (vec!["export", "id:1", "--out", "x.age"], "-r"),
        (
            vec!["archive", "dump", "--rule", "r", "--out", "x.age"],
            "--recipient",
        ),
    ] {
        let mut argv = vec!["derbes"];
        argv.extend(&args);
        argv.extend([
            "--ticket",
            "T-1",
            flag,
            "age1x",
            "--recipients-file",
            "keys.txt",
        ]);
        assert!(Cli::try_parse_from(&argv).is_ok(), "{argv:?}");
    }
}

/// Item 4: --ticket is required wherever data changes or personal data is written
/// to a file; a missing one is a usage error naming the option (exit 2).
#[test]
fn ticket_is_required_where_data_changes_or_leaves() {
    for args in [
        vec!["export", "id:1", "-r", "age1x", "--out", "x.age"],
        vec!["block", "id:1", "--reason", "fraud", "--yes"],
        vec!["unblock", "id:1", "--application", "A-1", "--yes"],
        vec![
            "archive", "dump", "--rule", "r", "-r", "age1x", "--out", "x.age", "--yes",
        ],
        vec!["archive", "restore", "x.age", "-i", "key.txt", "--yes"],
        vec!["archive", "expire", "--yes"],
        vec!["archive", "expire", "--dry-run"],
    ] {
        derbes_cmd()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--ticket <TICKET>"));
    }
}

/// Item 4: --db, --map and --operator come from DATABASE_URL, DERBES_MAP and
/// DERBES_OPERATOR; no usage line shows them as required, whether the environment
/// sets them or not.
#[test]
fn usage_lines_never_require_db_or_map() {
    for env in [false, true] {
        for path in command_paths() {
            let mut cmd = derbes_cmd();
            if env {
                cmd.env("DATABASE_URL", "postgres:///x")
                    .env("DERBES_MAP", "examples/datamap.toml")
                    .env("DERBES_OPERATOR", "aigerim");
            } else {
                cmd.env_remove("DATABASE_URL")
                    .env_remove("DERBES_MAP")
                    .env_remove("DERBES_OPERATOR");
            }
            let output = cmd.args(&path).arg("--help").output().unwrap();
            let text = String::from_utf8(output.stdout).unwrap();
            let usage = text
                .lines()
                .skip_while(|l| !l.starts_with("Usage:"))
                .take_while(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            assert!(!usage.is_empty(), "{path:?}");
            assert!(
                !usage.contains("--db")
                    && !usage.contains("--map")
                    && !usage.contains("--operator"),
                "{path:?}: {usage}"
            );
        }
    }
}

/// Item 11: the man pages name only pages that exist, one per command.
#[test]
fn man_pages_refer_only_to_pages_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    derbes_cmd()
        .args(["completions", "man", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    let pages: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let visible = command_paths()
        .into_iter()
        .filter(|path| !is_hidden(path))
        .count();
    assert_eq!(pages.len(), visible, "{pages:?}");
    assert!(!pages.contains("derbes-blocks.1"), "{pages:?}");
    assert!(pages.contains("derbes.1") && pages.contains("derbes-archive-dump.1"));
    let reference = regex_lite_refs();
    for page in &pages {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        for name in reference(&text) {
            assert!(
                pages.contains(&name),
                "{page} refers to {name}, which does not exist"
            );
        }
    }
    // The page on stdout is derbes.1 itself.
    let stdout = derbes_cmd().args(["completions", "man"]).output().unwrap();
    assert_eq!(
        stdout.stdout,
        std::fs::read(dir.path().join("derbes.1")).unwrap()
    );
}

/// The command at `path` is hidden (an older spelling kept for scripts).
fn is_hidden(path: &[String]) -> bool {
    let mut command = Cli::command();
    let mut current = &mut command;
    for name in path {
        current = current.find_subcommand_mut(name).unwrap();
    }
    current.is_hide_set()
}

/// The options every command takes, as their help lines start.
const GLOBAL_OPTIONS: [&str; 7] = [
    "--db <URL>",
    "--read-db <URL>",
    "--map <PATH>",
    "--operator <NAME>",
    "--format <FORMAT>",
    "-v, --verbose",
    "-q, --quiet",
];

/// Issue "the first hour": a command's help opens with its own options; the
/// connection and output options every command takes follow under their own
/// headings instead of being interleaved with them (`export --help` was 98 lines
/// with `--db` first).
#[test]
fn a_commands_own_options_come_first_and_the_global_ones_under_their_headings() {
    for (path, own) in [
        (vec!["export"], ["--ticket <TICKET>", "--out <PATH>"]),
        (vec!["purge"], ["--rule <NAME>", "--batch-size <N|auto>"]),
        (vec!["block"], ["--from-file <FILE>", "--reason <REASON>"]),
    ] {
        for flag in ["--help", "-h"] {
            let output = derbes_cmd().args(&path).arg(flag).output().unwrap();
            let text = String::from_utf8(output.stdout).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let at = |wanted: &str| {
                lines
                    .iter()
                    .position(|l| *l == wanted)
                    .unwrap_or_else(|| panic!("{path:?} {flag}: no {wanted:?} in\n{text}"))
            };
            let option_at = |option: &str| {
                lines
                    .iter()
                    .position(|l| l.trim_start().starts_with(option))
                    .unwrap_or_else(|| panic!("{path:?} {flag}: no {option} in\n{text}"))
            };
            let options = at("Options:");
            let connection = at("Connection options:");
            let output_heading = at("Output options:");
            // The first option under "Options:" is the command's own.
            let first = lines[options + 1].trim_start();
            assert!(
                first.starts_with(own[0]),
                "{path:?} {flag}: the first option is {first:?}\n{text}"
            );
            for option in own {
                assert!(option_at(option) < connection, "{path:?} {flag}: {option}");
            }
            assert!(option_at("-V, --version") < connection, "{path:?} {flag}");
            assert!(connection < output_heading, "{path:?} {flag}");
            for option in &GLOBAL_OPTIONS[..4] {
                let line = option_at(option);
                assert!(
                    connection < line && line < output_heading,
                    "{path:?} {flag}: {option} is not under Connection options\n{text}"
                );
            }
            for option in &GLOBAL_OPTIONS[4..] {
                assert!(
                    output_heading < option_at(option),
                    "{path:?} {flag}: {option} is not under Output options\n{text}"
                );
            }
        }
    }
}

/// `[env: DERBES_MAP=]` read as "set to empty": every help names its environment
/// variables without their values, set or not (a set one would print a
/// connection string or a path).
#[test]
fn help_names_environment_variables_without_values() {
    for path in command_paths() {
        for set in [false, true] {
            let mut cmd = derbes_cmd();
            if set {
                cmd.env("DATABASE_URL", "postgres://u:s3cret@db/x")
                    .env("DERBES_MAP", "/srv/secret-map.toml")
                    .env("DERBES_OPERATOR", "operator-x7")
                    .env("DERBES_CALENDAR", "/srv/calendar.toml");
            }
            let output = cmd.args(&path).arg("--help").output().unwrap();
            let text = String::from_utf8(output.stdout).unwrap();
            assert!(!text.contains("=]"), "derbes {path:?} --help:\n{text}");
            for value in ["s3cret", "secret-map", "operator-x7", "/srv/calendar"] {
                assert!(
                    !text.contains(value),
                    "derbes {path:?} --help shows {value}"
                );
            }
        }
    }
    let help = help(&["export".into()]);
    assert!(help.contains("[env: DERBES_MAP]"), "{help}");
}

/// `block list` is the spelling taught; `blocks` still runs, hidden from the
/// command list.
#[test]
fn blocks_is_a_hidden_spelling_of_block_list() {
    let root = help(&[]);
    assert!(
        !root.lines().any(|l| l.trim_start().starts_with("blocks ")),
        "{root}"
    );
    assert!(help(&["block".into()]).contains("list"));
    for argv in [
        ["derbes", "block", "list", "--active"],
        ["derbes", "blocks", "--active", "--limit=5"],
    ] {
        let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        assert!(
            matches!(cli.command.resolve_aliases(), derbes::cli::Command::Blocks(ref args) if args.active),
            "{argv:?}"
        );
    }
}

/// Man pages: the examples under EXAMPLES (not clap_mangen's EXTRA), each line
/// kept (roff fills a paragraph: "7 another derbes run holds the lock
/// Examples:" ran together), the exit codes under EXIT STATUS one a line, and
/// a SYNOPSIS that names each option's value (`--db <URL>`, not a bare `[--db]`).
#[test]
fn man_pages_have_examples_exit_status_and_value_names() {
    let pages = derbes::commands::completions::man_pages().unwrap();
    for (name, page) in &pages {
        let page = String::from_utf8(page.clone()).unwrap();
        assert!(!page.contains(".SH EXTRA"), "{name}");
        let examples = page
            .split(".SH EXAMPLES\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{name} has no EXAMPLES section"));
        assert!(examples.starts_with(".nf\n"), "{name}: examples are filled");
        let examples = examples.split("\n.fi\n").next().unwrap();
        assert!(
            examples
                .lines()
                .filter(|l| l.starts_with("derbes "))
                .count()
                >= 2,
            "{name}:\n{examples}"
        );
        let synopsis = page
            .split(".SH SYNOPSIS\n")
            .nth(1)
            .and_then(|s| s.lines().next())
            .unwrap_or_else(|| panic!("{name} has no SYNOPSIS"));
        assert!(
            synopsis.contains(r"[\fB\-\-db\fR \fI<URL>\fR]"),
            "{name}: {synopsis}"
        );
        assert!(!synopsis.contains(r"[\fB\-\-db\fR]"), "{name}: {synopsis}");
    }
    let (name, root) = &pages[0];
    assert_eq!(name, "derbes.1");
    let root = String::from_utf8(root.clone()).unwrap();
    let status = root
        .split(".SH \"EXIT STATUS\"\n.nf\n")
        .nth(1)
        .expect("derbes.1 has an unfilled EXIT STATUS section");
    let status: Vec<&str> = status.split("\n.fi\n").next().unwrap().lines().collect();
    assert_eq!(status.len(), 8, "{status:?}");
    assert_eq!(status[7], "7  another derbes run holds the lock");
    let export = pages
        .iter()
        .find(|(name, _)| name == "derbes-export.1")
        .map(|(_, page)| String::from_utf8(page.clone()).unwrap())
        .unwrap();
    assert!(
        export.contains(r"\fB\-\-ticket\fR \fI<TICKET>\fR [\fB\-\-request\fR"),
        "the required --ticket without brackets, first: {export}"
    );
}

/// The `name(1)` references of a roff page, as file names (`derbes-map.1`).
fn regex_lite_refs() -> impl Fn(&str) -> Vec<String> {
    |text: &str| {
        text.split(|c: char| c.is_whitespace())
            .filter_map(|word| {
                let word = word.replace("\\-", "-");
                let name = word.strip_suffix("(1)")?;
                name.starts_with("derbes").then(|| format!("{name}.1"))
            })
            .collect()
    }
}

/// Item 10: off a terminal the default output is tab-separated text with the
/// notes as `# ` lines: no box drawing, no colour.
#[tokio::test]
async fn off_a_terminal_the_default_output_is_tab_separated() {
    let db = TestDb::migrated().await;
    let output = db.cmd().args(["blocks", "--limit", "5"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.contains('\t') && header.split('\t').all(|h| !h.is_empty()),
        "{text}"
    );
    for c in ['│', '─', '┆', '╭', '\u{1b}'] {
        assert!(!text.contains(c), "{text}");
    }
    assert!(
        lines.all(|l| l.starts_with("# ") || l.contains('\t')),
        "{text}"
    );
    // Asked for, the table is still there.
    let table = db
        .cmd()
        .args(["--format", "table", "audit", "verify"])
        .output()
        .unwrap();
    assert!(String::from_utf8(table.stdout).unwrap().contains("empty"));
}

/// Item 10: --format csv keeps every part of the report: the delete order of
/// `map check`, the chain head of `audit verify`.
#[tokio::test]
async fn csv_keeps_the_notes_as_comment_lines() {
    let db = TestDb::migrated().await;
    db.cmd()
        .args([
            "block", "id:1", "--reason", "fraud", "--ticket", "INC-1", "--yes",
        ])
        .assert()
        .success();
    for (args, note) in [
        (vec!["map", "check"], "# delete order (from foreign keys"),
        (vec!["audit", "verify"], "# chain head: "),
    ] {
        let output = db
            .cmd()
            .arg("--format")
            .arg("csv")
            .args(&args)
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains(note), "{args:?}:\n{text}");
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        assert!(reader.headers().is_ok());
        for record in reader.records() {
            record.unwrap_or_else(|e| panic!("{args:?}: {e}\n{text}"));
        }
    }
}

/// Item 4: archive dump asks for confirmation: off a terminal it needs --yes
/// (exit 5, nothing written); --dry-run writes, checks and removes the file.
#[tokio::test]
async fn archive_dump_needs_yes_off_a_terminal_and_dry_run_leaves_nothing() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.txt");
    assert!(std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success());
    let public = std::process::Command::new("age-keygen")
        .arg("-y")
        .arg(&key)
        .output()
        .unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, &public.stdout).unwrap();
    let out = dir.path().join("loans.age");
    let client = db.client().await;
    let before = crate::support::database_checksums(&client).await;
    let dump = |extra: &[&str]| {
        let mut cmd = db.cmd();
        cmd.args(["archive", "dump", "--table", "loans", "--keep", "1y"])
            .args(["--ticket", "RET-1", "--recipients-file"])
            .arg(&keys)
            .arg("--out")
            .arg(&out)
            .args(extra);
        cmd.assert()
    };
    dump(&[]).code(5).stderr(predicate::str::contains("--yes"));
    dump(&["--dry-run"])
        .success()
        .stdout(predicate::str::contains("dry run"));
    assert!(!out.exists());
    assert_eq!(crate::support::database_checksums(&client).await, before);
}

/// Item 10: the dump's progress total is the planner's estimate of a whole table
/// (partitions summed), and unknown for a filtered selection.
#[tokio::test]
async fn archive_progress_knows_the_rows_of_a_whole_table() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute("ANALYZE loans; ANALYZE server_logs")
        .await
        .unwrap();
    let map = derbes::map::DataMap::load(&crate::support::reference_map()).unwrap();
    for table in ["loans", "server_logs"] {
        let count: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        let selection = derbes::ops::archive::Selection::Table {
            table: table.to_owned(),
            older_than: None,
        };
        let estimate = derbes::ops::archive::estimated_rows(&client, &map, &selection).await;
        assert_eq!(estimate, Some(count as u64), "{table}");
    }
    let filtered = derbes::ops::archive::Selection::Rule {
        name: "loan-records".to_owned(),
    };
    assert_eq!(
        derbes::ops::archive::estimated_rows(&client, &map, &filtered).await,
        None
    );
}

/// Item 10: on a terminal `archive verify` shows how far it is through the file,
/// against the file's size (it was silent); off a terminal it prints none.
#[tokio::test]
async fn archive_verify_shows_progress_against_the_file_size_on_a_terminal() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let (key, recipient) = crate::export::age_key(dir.path());
    let out = dir.path().join("logs.age");
    db.cmd()
        .args(["archive", "dump", "--table", "server_logs", "--keep", "1y"])
        .args(["--ticket", "RET-1", "--yes", "-r", &recipient, "--out"])
        .arg(&out)
        .assert()
        .success();
    let size = std::fs::metadata(&out).unwrap().len();
    let off = db
        .cmd()
        .args(["archive", "verify", "-i"])
        .arg(&key)
        .arg(&out)
        .output()
        .unwrap();
    assert!(off.status.success());
    assert!(!String::from_utf8_lossy(&off.stderr).contains("verifying"));
    // `script` gives the command a terminal and records what it showed.
    let binary = assert_cmd::cargo::cargo_bin("derbes");
    let line = format!(
        "{} archive verify -i {} {}",
        binary.display(),
        key.display(),
        out.display()
    );
    let shown = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .output()
        .expect("script (util-linux) is installed");
    let text = String::from_utf8_lossy(&shown.stdout);
    let total = indicatif::HumanBytes(size).to_string();
    assert!(
        text.contains("verifying") && text.contains(&format!("/{total}")),
        "no progress against {total}:\n{text}"
    );
}

/// The time zone comes from the data map only when a date needs it: `audit log`
/// without --since runs whatever DERBES_MAP holds; with --since it reads the map's
/// `timezone` and says what is wrong with a bad one.
#[tokio::test]
async fn the_map_is_read_for_its_time_zone_only_when_needed() {
    let db = TestDb::migrated().await;
    let (_dir, bad) = crate::support::temp_file(
        "map.toml",
        &std::fs::read_to_string(crate::support::reference_map())
            .unwrap()
            .replace("timezone = \"Asia/Almaty\"", "timezone = \"Almaty\""),
    );
    db.cmd()
        .env("DERBES_MAP", &bad)
        .args(["audit", "log"])
        .assert()
        .success();
    db.cmd()
        .env("DERBES_MAP", &bad)
        .args(["audit", "log", "--since", "2026-11-01"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("timezone").and(predicate::str::contains("IANA")));
}

/// Item 10: `archive restore` shows how far it is against twice the file's size (the
/// file is read to check it, then to load it); off a terminal it prints none.
#[tokio::test]
async fn archive_restore_shows_progress_on_a_terminal() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let (key, recipient) = crate::export::age_key(dir.path());
    let out = dir.path().join("logs.age");
    db.cmd()
        .args(["archive", "dump", "--table", "server_logs", "--keep", "1y"])
        .args(["--ticket", "RET-1", "--yes", "-r", &recipient, "--out"])
        .arg(&out)
        .assert()
        .success();
    let size = std::fs::metadata(&out).unwrap().len();
    let restore = |key: &std::path::Path, out: &std::path::Path| {
        format!(
            "archive restore --dry-run --ticket RET-2 --into side -i {} {}",
            key.display(),
            out.display()
        )
    };
    let off = db
        .cmd()
        .args(restore(&key, &out).split(' '))
        .output()
        .unwrap();
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    assert!(!String::from_utf8_lossy(&off.stderr).contains("restoring"));
    let binary = assert_cmd::cargo::cargo_bin("derbes");
    let line = format!("{} {}", binary.display(), restore(&key, &out));
    let shown = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .output()
        .expect("script (util-linux) is installed");
    let text = String::from_utf8_lossy(&shown.stdout);
    let total = indicatif::HumanBytes(2 * size).to_string();
    assert!(
        text.contains("restoring") && text.contains(&format!("/{total}")),
        "no progress against {total}:\n{text}"
    );
}
