//! Every change runs on the change engine (`src/pg/change.rs`): its bounds, its
//! refusal of a read-only server, its audit row in the same transaction. This test
//! reads the source and lists every place outside `src/pg/` that opens or ends a
//! transaction of its own; each must be one of the documented exceptions below,
//! with the reason `docs/architecture.md` gives ("Where a transaction opens outside
//! the change engine"). A new `client.transaction()` in `src/ops` fails it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What opens (or, for `into_transaction`, ends) a transaction of its own.
const MARKERS: &[(&str, &str)] = &[
    (".transaction()", "transaction()"),
    ("build_transaction(", "build_transaction"),
    ("into_transaction(", "into_transaction"),
    ("\"BEGIN", "BEGIN"),
    ("BEGIN ISOLATION", "BEGIN"),
    ("BEGIN;", "BEGIN"),
    ("START TRANSACTION", "BEGIN"),
];

/// One documented exception: the file, what it uses, how many times, and why.
struct Exception {
    file: &'static str,
    marker: &'static str,
    places: usize,
    reason: &'static str,
}

const EXCEPTIONS: &[Exception] = &[
    Exception {
        file: "src/ops/roles.rs",
        marker: "BEGIN",
        places: 1,
        reason: "printed, never run: the roles SQL is one transaction for the DBA to review and run with psql",
    },
    Exception {
        file: "src/ops/export.rs",
        marker: "build_transaction",
        places: 1,
        reason: "the bundle is read in one read-only snapshot (on a replica with `--read-db`): a read, not a change; the audit row is a change of its own on the primary",
    },
    Exception {
        file: "src/ops/report/mod.rs",
        marker: "build_transaction",
        places: 1,
        reason: "the report is read in one read-only snapshot, like an export: a read, not a change, with no audit row (it holds no personal data); the retention holds go to session temporary tables made before it",
    },
    Exception {
        file: "src/ops/archive/parallel.rs",
        marker: "BEGIN",
        places: 1,
        reason: "the parallel dump connections share the dump's snapshot, read-only: a read, not a change",
    },
    Exception {
        file: "src/ops/sample/mod.rs",
        marker: "BEGIN",
        places: 1,
        reason: "the sample loader's schema load (the reference schema and its synthetic population, never production data) is one transaction with no audit row",
    },
    Exception {
        file: "src/ops/purge/partitions.rs",
        marker: "transaction()",
        places: 1,
        reason: "a partition is archived before `DETACH PARTITION CONCURRENTLY`, which cannot run in a transaction; this archive's transaction is not on the engine yet",
    },
    Exception {
        file: "src/ops/export.rs",
        marker: "into_transaction",
        places: 1,
        reason: "the bundle's file appears between the audit row's append and the commit: never before its row is written, and removed if the commit fails",
    },
    Exception {
        file: "src/ops/erase.rs",
        marker: "into_transaction",
        places: 1,
        reason: "the archive receipt commits the change's transaction itself and keeps or removes the file by the commit's outcome",
    },
    Exception {
        file: "src/ops/purge/keyless.rs",
        marker: "into_transaction",
        places: 2,
        reason: "the archive receipt of a keyless table commits the change's transaction itself; a batch that deleted nothing rolls back without an audit row",
    },
    Exception {
        file: "src/ops/anonymise.rs",
        marker: "into_transaction",
        places: 1,
        reason: "a cohort run that changed nothing commits its job's end without an audit row",
    },
    Exception {
        file: "src/ops/archive/dump.rs",
        marker: "into_transaction",
        places: 1,
        reason: "the archive receipt commits the dump's change itself and keeps or removes the file by the commit's outcome",
    },
    Exception {
        file: "src/ops/archive/restore.rs",
        marker: "into_transaction",
        places: 1,
        reason: "the restore keeps the commit's own error, to tell a lost connection (outcome unknown) from a refusal",
    },
    Exception {
        file: "src/ops/archive/restore_jobs.rs",
        marker: "into_transaction",
        places: 3,
        reason: "side tables and each member load commit with no audit row (`derbes.jobs` records them until the run's one row); the closing commit keeps its own error, to tell a lost connection from a refusal",
    },
];

/// The places in `text` that open a transaction: (line, marker), comments skipped.
fn places_in(text: &str) -> Vec<(usize, &'static str)> {
    let mut places = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut seen = Vec::new();
        for (needle, marker) in MARKERS {
            if line.contains(needle) && !seen.contains(marker) {
                seen.push(marker);
                places.push((index + 1, *marker));
            }
        }
    }
    places
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_transaction_outside_the_change_engine_is_a_documented_exception() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    // (file, marker) -> lines
    let mut found: BTreeMap<(String, &str), Vec<usize>> = BTreeMap::new();
    for path in files {
        let relative = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if relative.starts_with("src/pg/") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, marker) in places_in(&text) {
            found
                .entry((relative.clone(), marker))
                .or_default()
                .push(line);
        }
    }
    let mut wrong = Vec::new();
    for ((file, marker), lines) in &found {
        let allowed = EXCEPTIONS
            .iter()
            .find(|e| e.file == file && e.marker == *marker)
            .map_or(0, |e| e.places);
        if lines.len() != allowed {
            wrong.push(format!(
                "{file}: {marker} at line(s) {lines:?}, {allowed} documented: run the change on \
                 the change engine (`change::begin` and `Change::commit`), or document why it \
                 cannot in docs/architecture.md and here"
            ));
        }
    }
    for exception in EXCEPTIONS {
        if !found.contains_key(&(exception.file.to_owned(), exception.marker)) {
            wrong.push(format!(
                "{}: no {} any more: remove its exception here and in docs/architecture.md",
                exception.file, exception.marker
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_exception_is_in_the_architecture_doc_with_its_reason() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .unwrap();
    let section = doc
        .split("### Where a transaction opens outside the change engine")
        .nth(1)
        .expect("docs/architecture.md has the section on transactions outside the engine");
    for exception in EXCEPTIONS {
        let row = format!(
            "| `{}` | `{}` | {} |",
            exception.file, exception.marker, exception.reason
        );
        assert!(
            section.contains(&row),
            "docs/architecture.md does not list {row}"
        );
    }
}

#[test]
fn a_new_transaction_in_an_operation_is_found() {
    let text = "//! let tx = client.transaction().await?;\n\
                async fn write(client: &mut Client) {\n\
                    let tx = client.transaction().await?;\n\
                    client.batch_execute(\"BEGIN\").await?;\n\
                    let snapshot = client\n        .build_transaction()\n\
                }\n";
    assert_eq!(
        places_in(text),
        vec![(3, "transaction()"), (4, "BEGIN"), (6, "build_transaction"),]
    );
}
