//! Issue 25, item 6, "No personal data in logs": every command run at `-vv` on one
//! subject of the template population, and its stdout, its stderr and derbes' own
//! records (`derbes.audit_log`, every column, and the other tables of schema
//! `derbes`) searched for that subject's IIN, phone (as stored and its last 10
//! digits), email and names. The only places meant to show them are `subject show`'s
//! stdout (the subject on screen for support staff) and the export bundle (the
//! encrypted file, never stdout), so neither is searched. An identity given on the
//! command line may come back only masked (`72******7776`, `+7701*****43`,
//! `m***@list.ru`): the full value is what is searched for.
//!
//! One test per command group, each on its own database, so a leak in one does not
//! hide the others; each reports every hit of its group at once.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio_postgres::Client;

use crate::archive::{age_keys, Keys};
use crate::erase::mask_key;
use crate::rectify::AUDIT_KEY;
use crate::support::{temp_file, TestDb};

/// A subject of the template population, read with SQL.
struct Subject {
    key: i64,
    iin: String,
    phone: String,
    email: String,
    first_name: String,
    last_name: String,
    patronymic: String,
}

impl Subject {
    fn id(&self) -> String {
        format!("id:{}", self.key)
    }

    fn subject_ref(&self) -> String {
        format!("borrowers:{}", self.key)
    }

    /// What must not appear: each value with what it is.
    fn needles(&self) -> Vec<Needle> {
        let mut needles = vec![Needle::new("IIN", &self.iin)];
        needles.extend(phone_needles("phone", &self.phone));
        needles.extend(email_needles("email", &self.email));
        needles.push(Needle::new("first name", &self.first_name));
        needles.push(Needle::new("last name", &self.last_name));
        needles.push(Needle::new("patronymic", &self.patronymic));
        needles
    }
}

/// One value to search for, compared case-insensitively.
#[derive(Clone, Debug)]
struct Needle {
    kind: String,
    value: String,
}

impl Needle {
    fn new(kind: &str, value: &str) -> Needle {
        Needle {
            kind: kind.to_owned(),
            value: value.to_lowercase(),
        }
    }
}

/// A phone as stored and its last 10 digits (the number in any spelling:
/// `+77012345678`, `87012345678`, `7012345678`).
fn phone_needles(kind: &str, phone: &str) -> Vec<Needle> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    assert!(digits.len() >= 10, "a phone of 10 digits or more: {phone}");
    vec![
        Needle::new(&format!("{kind} (as stored)"), phone),
        Needle::new(
            &format!("{kind} (last 10 digits)"),
            &digits[digits.len() - 10..],
        ),
    ]
}

/// An email and its local part (the part a masked form `m***@list.ru` hides).
fn email_needles(kind: &str, email: &str) -> Vec<Needle> {
    let local = email.split('@').next().unwrap_or_default();
    assert!(
        local.len() >= 4,
        "an email with a telling local part: {email}"
    );
    vec![
        Needle::new(kind, email),
        Needle::new(&format!("{kind} (local part)"), local),
    ]
}

/// Every hit of a needle in `text`: the kind, the value and the line it is on.
fn hits(text: &str, needles: &[Needle]) -> Vec<(String, String)> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    for needle in needles {
        for line in lower.lines().filter(|l| l.contains(&needle.value)) {
            let line: String = line.chars().take(400).collect();
            found.push((
                needle.kind.clone(),
                format!("{:?} in: {line}", needle.value),
            ));
        }
    }
    found
}

/// Picks the subject: the first borrower (by key) with an IIN, phone, email and all
/// three names, whose phone and email are nobody else's (so a look-up by either finds
/// exactly this subject), who is active with no open or overdue loan (so withdrawing
/// and granting a consent goes through) and holds a marketing consent in force,
/// and whose names are no part of another borrower's names (so a hit is this
/// subject's, not a namesake's).
async fn pick_subject(client: &Client) -> Subject {
    let everyone: Vec<(i64, Vec<String>)> = client
        .query(
            "SELECT id, lower(first_name), lower(last_name), lower(coalesce(patronymic, '')) \
             FROM borrowers",
            &[],
        )
        .await
        .expect("borrowers readable")
        .iter()
        .map(|r| (r.get(0), vec![r.get(1), r.get(2), r.get(3)]))
        .collect();
    let candidates = client
        .query(
            "SELECT b.id, b.iin::text, b.phone, b.email, b.first_name, b.last_name, b.patronymic \
             FROM borrowers b \
             WHERE b.iin IS NOT NULL AND b.phone IS NOT NULL AND b.email IS NOT NULL \
               AND b.patronymic IS NOT NULL AND b.status = 'active' \
               AND char_length(b.first_name) >= 4 AND char_length(b.last_name) >= 4 \
               AND char_length(b.patronymic) >= 4 \
               AND NOT EXISTS (SELECT 1 FROM borrowers o WHERE o.id <> b.id \
                               AND (o.phone = b.phone OR lower(o.email) = lower(b.email))) \
               AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.borrower_id = b.id \
                               AND l.status IN ('open', 'overdue')) \
               AND EXISTS (SELECT 1 FROM consents c WHERE c.borrower_id = b.id \
                           AND c.purpose = 'marketing' AND c.withdrawn_at IS NULL) \
             ORDER BY b.id",
            &[],
        )
        .await
        .expect("borrowers readable");
    for row in candidates {
        let subject = Subject {
            key: row.get(0),
            iin: row.get(1),
            phone: row.get(2),
            email: row.get(3),
            first_name: row.get(4),
            last_name: row.get(5),
            patronymic: row.get(6),
        };
        let names = [
            subject.first_name.to_lowercase(),
            subject.last_name.to_lowercase(),
            subject.patronymic.to_lowercase(),
        ];
        let namesake = everyone.iter().any(|(id, theirs)| {
            *id != subject.key
                && names
                    .iter()
                    .any(|mine| theirs.iter().any(|t| t.contains(mine.as_str())))
        });
        if !namesake {
            return subject;
        }
    }
    panic!("the template population has no subject fit for this test");
}

/// A scratch database with derbes' schema, the subject and a place for the files.
struct Probe {
    db: TestDb,
    client: Client,
    subject: Subject,
    keys: Keys,
    needles: Vec<Needle>,
    /// Every hit so far: where, what.
    leaks: Vec<String>,
}

impl Probe {
    async fn new() -> Probe {
        let db = TestDb::migrated().await;
        let client = db.client().await;
        let subject = pick_subject(&client).await;
        let needles = subject.needles();
        Probe {
            db,
            client,
            subject,
            keys: age_keys(),
            needles,
            leaks: Vec::new(),
        }
    }

    /// Also search for these (a rectified subject's new values).
    fn also_search(&mut self, more: Vec<Needle>) {
        self.needles.extend(more);
    }

    fn check(&mut self, place: &str, text: &str) {
        for (kind, hit) in hits(text, &self.needles) {
            self.leaks.push(format!("{place}: {kind}: {hit}"));
        }
    }

    fn file(&self, name: &str) -> String {
        self.keys.dir.join(name).display().to_string()
    }

    /// `derbes -vv ARGS`, which must succeed; stdout and stderr searched. Returns stdout.
    fn run(&mut self, args: &[&str]) -> String {
        self.run_with(&[], args, true)
    }

    /// As [`Probe::run`], with environment variables set.
    fn run_env(&mut self, env: &[(&str, &str)], args: &[&str]) -> String {
        self.run_with(env, args, true)
    }

    /// As [`Probe::run`], with stdout not searched (`subject show`: the subject shown
    /// to support staff).
    fn run_showing_the_subject(&mut self, args: &[&str]) -> String {
        self.run_with(&[], args, false)
    }

    fn run_with(&mut self, env: &[(&str, &str)], args: &[&str], search_stdout: bool) -> String {
        let mut cmd = self.db.cmd();
        for (name, value) in env {
            cmd.env(name, value);
        }
        let output = cmd.arg("-vv").args(args).output().expect("derbes runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let label = format!("derbes -vv {}", args.join(" "));
        assert!(
            output.status.success(),
            "{label} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        assert!(
            stderr.contains("INFO") || stderr.contains("DEBUG"),
            "{label}: -vv logs on stderr: {stderr}"
        );
        if search_stdout {
            self.check(&format!("{label}: stdout"), &stdout);
        }
        self.check(&format!("{label}: stderr"), &stderr);
        stdout
    }

    /// Searches derbes' own records: every audit row (every column, as JSON), then
    /// every row of the other tables of schema `derbes` (blocks, requests, breaches,
    /// archives, erasures, jobs, ...). Each of `actions` must have an audit row (so the
    /// search is not of an empty log). Then fails listing every hit of the test.
    async fn finish(mut self, actions: &[&str]) {
        let audit: Vec<(i64, String, String)> = self
            .client
            .query(
                "SELECT a.seq, a.action, row_to_json(a)::text FROM derbes.audit_log a ORDER BY a.seq",
                &[],
            )
            .await
            .expect("derbes.audit_log readable")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        for action in actions {
            assert!(
                audit.iter().any(|(_, a, _)| a == action),
                "no audit row of {action}: {:?}",
                audit.iter().map(|(_, a, _)| a).collect::<Vec<_>>()
            );
        }
        for (seq, action, row) in &audit {
            self.check(&format!("derbes.audit_log seq {seq} ({action})"), row);
        }
        let tables: Vec<String> = self
            .client
            .query(
                "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables \
                 WHERE table_schema = 'derbes' AND table_type = 'BASE TABLE' \
                   AND table_name NOT IN ('audit_log', 'schema_migrations') ORDER BY 1",
                &[],
            )
            .await
            .expect("derbes tables listed")
            .iter()
            .map(|r| r.get(0))
            .collect();
        for table in tables {
            let rows: Vec<String> = self
                .client
                .query(&format!("SELECT row_to_json(t)::text FROM {table} t"), &[])
                .await
                .unwrap_or_else(|e| panic!("{table}: {e}"))
                .iter()
                .map(|r| r.get(0))
                .collect();
            for row in rows {
                self.check(&table, &row);
            }
        }
        assert!(
            self.leaks.is_empty(),
            "personal data of {} found where it must not be:\n{}",
            self.subject.subject_ref(),
            self.leaks.join("\n")
        );
    }
}

fn is_age_file(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.starts_with(b"age-encryption.org/v1")
}

/// Issue 25, item 6: `subject show` by IIN, phone, email and id:KEY logs nothing of
/// the subject on stderr and writes no audit row holding it; its stdout, which is
/// meant to show the subject, does (the search is proved to find what is there).
#[tokio::test]
async fn subject_show_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let s = &probe.subject;
    let identities = [
        s.iin.clone(),
        s.phone.clone(),
        s.email.to_uppercase(),
        s.id(),
    ];
    let needles = s.needles();
    for identity in &identities {
        for format in ["tsv", "json"] {
            let shown =
                probe.run_showing_the_subject(&["--format", format, "subject", "show", identity]);
            // The positive control: the same search finds each value on the screen
            // meant to show it.
            let kinds: Vec<String> = hits(&shown, &needles).into_iter().map(|(k, _)| k).collect();
            for kind in [
                "IIN",
                "phone (as stored)",
                "email",
                "first name",
                "last name",
            ] {
                assert!(
                    kinds.iter().any(|k| k == kind),
                    "subject show {identity} ({format}) shows the {kind}: {shown}"
                );
            }
        }
    }
    probe.finish(&[]).await;
}

/// Issue 25, item 6: `export` by IIN and by id:KEY, to a file encrypted to a
/// recipient: stdout, stderr and the audit rows hold nothing of the subject (the
/// bundle itself, meant to, is not searched).
#[tokio::test]
async fn export_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let iin = probe.subject.iin.clone();
    let id = probe.subject.id();
    let recipient = probe.keys.age_recipient.clone();
    for (identity, name, format) in [
        (iin.as_str(), "by-iin.age", "tsv"),
        (id.as_str(), "by-key.age", "json"),
    ] {
        let out = probe.file(name);
        let stdout = probe.run(&[
            "--format", format, "export", identity, "--ticket", "REQ-25", "-r", &recipient,
            "--out", &out,
        ]);
        assert!(stdout.contains(&probe.subject.subject_ref()), "{stdout}");
        assert!(is_age_file(Path::new(&out)), "{out} is age-encrypted");
    }
    probe.finish(&["export"]).await;
}

/// Issue 25, item 6: `block` by phone (dry run) and by email and IIN, `unblock` by
/// id:KEY (dry run) and by phone: stdout (which names the identity only masked),
/// stderr and the audit rows hold nothing of the subject.
#[tokio::test]
async fn block_and_unblock_log_no_personal_data() {
    let mut probe = Probe::new().await;
    let phone = probe.subject.phone.clone();
    let email = probe.subject.email.clone();
    let iin = probe.subject.iin.clone();
    let id = probe.subject.id();
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let trunk = format!("8{}", &digits[digits.len() - 10..]);
    let block = ["--reason", "compromised", "--ticket", "INC-25"];
    for format in ["tsv", "json"] {
        let dry = probe.run(
            &[
                &["--format", format, "block", &phone][..],
                &block,
                &["--dry-run", "--yes"],
            ]
            .concat(),
        );
        assert!(dry.contains(&probe.subject.subject_ref()), "{dry}");
    }
    probe.run(&[&["block", &email][..], &block, &["--yes"]].concat());
    // Already blocked: reported, by the IIN.
    probe.run(&[&["--format", "json", "block", &iin][..], &block, &["--yes"]].concat());
    let unblock = ["--application", "MAIL-25", "--ticket", "REQ-25"];
    for format in ["tsv", "json"] {
        probe.run(
            &[
                &["--format", format, "unblock", &id][..],
                &unblock,
                &["--dry-run", "--yes"],
            ]
            .concat(),
        );
    }
    probe.run(&[&["unblock", &trunk][..], &unblock, &["--yes"]].concat());
    let state: String = probe
        .client
        .query_one(
            "SELECT status FROM borrowers WHERE id = $1",
            &[&probe.subject.key],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "active", "blocked, then unblocked");
    probe.finish(&["block", "unblock"]).await;
}

/// Issue 25, item 6: `blocks` and `block list` (all and active; as a table, JSON and
/// CSV), after the subject was blocked by IIN, name the subject by key only.
#[tokio::test]
async fn block_list_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let iin = probe.subject.iin.clone();
    probe.run(&[
        "block", &iin, "--reason", "fraud", "--ticket", "INC-25", "--yes",
    ]);
    for args in [
        &["blocks"][..],
        &["blocks", "--active"],
        &["block", "list"],
        &["block", "list", "--active"],
        &["--format", "json", "block", "list"],
        &["--format", "csv", "blocks", "--since", "7d"],
    ] {
        let listed = probe.run(args);
        assert!(
            listed.contains("INC-25"),
            "{args:?} lists the block: {listed}"
        );
    }
    probe.finish(&["block"]).await;
}

/// Issue 25, item 6: a real `rectify` of the email and the phone (by id:KEY, with
/// the audit key of the rectify tests) and a dry run back (by the new email): the
/// before/after diff, stderr and the audit row (keyed hashes) hold neither the old
/// nor the new values.
#[tokio::test]
async fn rectify_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let new_email = format!("issue25.probe{}@example.kz", probe.subject.key);
    let new_phone = "+77059990425";
    let taken: i64 = probe
        .client
        .query_one(
            "SELECT count(*) FROM borrowers WHERE phone = $1 OR lower(email) = lower($2)",
            &[&new_phone, &new_email],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(taken, 0, "the new values are nobody's");
    probe.also_search(email_needles("new email", &new_email));
    probe.also_search(phone_needles("new phone", new_phone));
    let env = [("DERBES_AUDIT_KEY", AUDIT_KEY)];
    let id = probe.subject.id();
    let set_email = format!("email={new_email}");
    let set_phone = "phone=8 (705) 999-04-25";
    probe.run_env(
        &env,
        &[
            "rectify",
            &id,
            "--set",
            &set_email,
            "--set",
            set_phone,
            "--ticket",
            "REQ-25",
            "--evidence",
            "MAIL-25",
            "--yes",
        ],
    );
    let row = probe
        .client
        .query_one(
            "SELECT email, phone FROM borrowers WHERE id = $1",
            &[&probe.subject.key],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), new_email);
    assert_eq!(row.get::<_, String>(1), new_phone);
    let set_old_email = format!("email={}", probe.subject.email);
    let set_old_phone = format!("phone={}", probe.subject.phone);
    for format in ["tsv", "json"] {
        probe.run_env(
            &env,
            &[
                "--format",
                format,
                "rectify",
                &new_email,
                "--set",
                &set_old_email,
                "--set",
                &set_old_phone,
                "--ticket",
                "REQ-25",
                "--dry-run",
                "--yes",
            ],
        );
    }
    probe.finish(&["rectify"]).await;
}

/// Issue 25, item 6: `consent withdraw` (a dry run by IIN, then by id:KEY) and
/// `consent grant` (by email), and `consent list`.
#[tokio::test]
async fn consent_withdraw_and_grant_log_no_personal_data() {
    let mut probe = Probe::new().await;
    let iin = probe.subject.iin.clone();
    let email = probe.subject.email.clone();
    let id = probe.subject.id();
    let purpose = ["--purpose", "marketing", "--ticket", "REQ-25"];
    probe.run(
        &[
            &["consent", "withdraw", &iin][..],
            &purpose,
            &["--document", "APP-25", "--dry-run"],
        ]
        .concat(),
    );
    probe.run(
        &[
            &["consent", "withdraw", &id][..],
            &purpose,
            &["--document", "APP-25", "--yes"],
        ]
        .concat(),
    );
    probe.run(
        &[
            &["--format", "json", "consent", "grant", &email][..],
            &purpose,
            &["--document", "FORM-25", "--yes"],
        ]
        .concat(),
    );
    probe.run(&["consent", "list", &id]);
    probe.run(&["--format", "json", "consent", "list", &iin]);
    probe.finish(&["consent.withdraw", "consent.grant"]).await;
}

/// Issue 25, item 6: `request open` (by IIN, and by phone as JSON), `request list`,
/// `request show` and `request close`: the request is stored and shown as
/// `borrowers:KEY`, never by the identity it was opened with.
#[tokio::test]
async fn requests_log_no_personal_data() {
    let mut probe = Probe::new().await;
    let iin = probe.subject.iin.clone();
    let phone = probe.subject.phone.clone();
    let opened = probe.run(&[
        "--format",
        "json",
        "request",
        "open",
        &iin,
        "--kind",
        "access",
        "--received",
        "2025-06-02",
        "--channel",
        "email",
        "--ticket",
        "REQ-25",
        "--yes",
    ]);
    let request: serde_json::Value = serde_json::from_str(&opened).expect("JSON");
    let id = request["request"]["id"]
        .as_i64()
        .expect("a request id")
        .to_string();
    probe.run(&[
        "request",
        "open",
        &phone,
        "--kind",
        "block",
        "--received",
        "2025-06-02",
        "--ticket",
        "REQ-26",
        "--yes",
    ]);
    probe.run(&[
        "request",
        "open",
        &probe.subject.id(),
        "--kind",
        "destroy",
        "--received",
        "2025-06-02",
        "--ticket",
        "REQ-27",
        "--dry-run",
    ]);
    probe.run(&["request", "list"]);
    probe.run(&["--format", "json", "request", "list", "--all"]);
    probe.run(&["request", "show", &id]);
    probe.run(&["--format", "json", "request", "show", &id]);
    probe.run(&[
        "request",
        "close",
        &id,
        "--outcome",
        "done",
        "--reply",
        "OUT-25",
        "--ticket",
        "REQ-25",
        "--yes",
    ]);
    probe.run(&["request", "list", "--all"]);
    probe.finish(&["request.open", "request.close"]).await;
}

/// Issue 25, item 6: `breach open` with the subject in its --subjects file under
/// every identity (IIN, phone, email, id:KEY), then `breach show`, `breach list` and
/// `request list`, which lists breaches too.
#[tokio::test]
async fn breach_open_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let s = &probe.subject;
    let (_dir, subjects) = temp_file(
        "leaked.txt",
        &format!(
            "# INC-25\n{}\n{}\n{}\n{}\n",
            s.iin,
            s.phone,
            s.email,
            s.id()
        ),
    );
    let subjects = subjects.display().to_string();
    let opened = probe.run(&[
        "--format",
        "json",
        "breach",
        "open",
        "--discovered",
        "2025-11-27T09:30",
        "--summary",
        "INC-25-session-export",
        "--subjects",
        &subjects,
        "--ticket",
        "INC-25",
        "--yes",
    ]);
    let breach: serde_json::Value = serde_json::from_str(&opened).expect("JSON");
    let id = breach["breach"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("a breach id in {breach}"))
        .to_string();
    probe.run(&[
        "breach",
        "open",
        "--discovered",
        "2025-11-27T09:30",
        "--summary",
        "INC-25-dry",
        "--subjects",
        &subjects,
        "--ticket",
        "INC-25",
        "--dry-run",
    ]);
    probe.run(&["breach", "show", &id]);
    probe.run(&["--format", "json", "breach", "show", &id]);
    probe.run(&["breach", "list", "--all"]);
    probe.run(&["request", "list", "--all"]);
    probe.finish(&["breach.open"]).await;
}

/// Issue 25, item 6: `disclosure record` (by IIN, and a dry run by email) and
/// `disclosure list` (by id:KEY and by phone).
#[tokio::test]
async fn disclosure_record_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let iin = probe.subject.iin.clone();
    let email = probe.subject.email.clone();
    let phone = probe.subject.phone.clone();
    let id = probe.subject.id();
    let record = [
        "--recipient",
        "Test Credit Bureau LLP",
        "--basis",
        "law",
        "--purpose",
        "services",
        "--categories",
        "name,iin,phone,email",
        "--ticket",
        "REQ-25",
    ];
    probe.run(&[&["disclosure", "record", &iin][..], &record, &["--yes"]].concat());
    probe.run(
        &[
            &["--format", "json", "disclosure", "record", &email][..],
            &record,
            &["--dry-run"],
        ]
        .concat(),
    );
    probe.run(&["disclosure", "list", &id]);
    probe.run(&["--format", "json", "disclosure", "list", &phone]);
    probe.finish(&["disclosure.record"]).await;
}

/// Issue 25, item 6: `anonymise` of the subject, dry runs (by id:KEY, by IIN with
/// --report, by phone as JSON), with the masking key of the erase tests.
#[tokio::test]
async fn anonymise_dry_run_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let key_file = mask_key(&probe.keys).display().to_string();
    let iin = probe.subject.iin.clone();
    let phone = probe.subject.phone.clone();
    let id = probe.subject.id();
    let common = ["--ticket", "REQ-25", "--key-file", &key_file, "--dry-run"];
    probe.run(&[&["anonymise", &id][..], &common].concat());
    probe.run(&[&["anonymise", &iin][..], &common, &["--report"]].concat());
    probe.run(&[&["--format", "json", "anonymise", &phone][..], &common].concat());
    let unchanged: String = probe
        .client
        .query_one(
            "SELECT iin::text FROM borrowers WHERE id = $1",
            &[&probe.subject.key],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unchanged, iin, "a dry run changes nothing");
    probe.finish(&[]).await;
}

/// Issue 25, item 6: `erase` of the subject, a dry run (by IIN, as JSON) and the real
/// one (by id:KEY), with the archive's recipient and the masking key; then `audit
/// verify`. The report, the residual check's note, stderr, the audit row and the
/// erasure ledger hold nothing of the subject (the archive, encrypted, is not
/// searched).
#[tokio::test]
async fn erase_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let key_file = mask_key(&probe.keys).display().to_string();
    let recipient = probe.keys.age_recipient.clone();
    let iin = probe.subject.iin.clone();
    let id = probe.subject.id();
    let dry_out = probe.file("erase-dry.age");
    let out = probe.file("erase.age");
    let common = [
        "--ticket",
        "REQ-25",
        "--archive-to",
        &recipient,
        "--key-file",
        &key_file,
    ];
    probe.run(
        &[
            &["--format", "json", "erase", &iin][..],
            &common,
            &["--archive-out", &dry_out, "--dry-run", "--yes"],
        ]
        .concat(),
    );
    let erased = probe.run(
        &[
            &["erase", &id][..],
            &common,
            &["--archive-out", &out, "--yes"],
        ]
        .concat(),
    );
    assert!(erased.contains(&probe.subject.subject_ref()), "{erased}");
    assert!(is_age_file(Path::new(&out)), "{out} is age-encrypted");
    probe.run(&["audit", "verify"]);
    probe.finish(&["erase", "archive.dump"]).await;
}

/// Issue 25, item 6: `archive dump --subject` to a file (by IIN, encrypted to a
/// recipient), a dry run (by id:KEY), then `archive list` and `archive verify` of
/// the file.
#[tokio::test]
async fn archive_dump_subject_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let recipient = probe.keys.age_recipient.clone();
    let identity = probe.keys.age_identity.display().to_string();
    let iin = probe.subject.iin.clone();
    let id = probe.subject.id();
    let out = probe.file("subject.age");
    let dry_out = probe.file("subject-dry.age");
    let common = ["--keep", "5y", "--ticket", "DPO-25", "-r", &recipient];
    probe.run(
        &[
            &["archive", "dump", "--subject", &iin][..],
            &common,
            &["--out", &out, "--yes"],
        ]
        .concat(),
    );
    probe.run(
        &[
            &["--format", "json", "archive", "dump", "--subject", &id][..],
            &common,
            &["--out", &dry_out, "--dry-run"],
        ]
        .concat(),
    );
    assert!(is_age_file(Path::new(&out)), "{out} is age-encrypted");
    probe.run(&["archive", "list"]);
    probe.run(&["archive", "verify", "--identity", &identity, &out]);
    probe.finish(&["archive.dump"]).await;
}

/// Issue 25, item 6: `purge --dry-run` of every rule (archive directory, recipient
/// and masking key given, as the archive-then-delete and anonymise rules need), as a
/// table and as JSON.
#[tokio::test]
async fn purge_dry_run_logs_no_personal_data() {
    let mut probe = Probe::new().await;
    let key_file = mask_key(&probe.keys).display().to_string();
    let recipient = probe.keys.age_recipient.clone();
    let dir = probe.keys.dir.join("purge");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let dir = dir.display().to_string();
    let common = [
        "purge",
        "--dry-run",
        "--ticket",
        "RET-25",
        "--archive-dir",
        &dir,
        "-r",
        &recipient,
        "--key-file",
        &key_file,
    ];
    probe.run(&common);
    probe.run(&[&["--format", "json"][..], &common].concat());
    probe.finish(&[]).await;
}

/// Issue 25, item 6: `audit log` (as a table, JSON and CSV, all and by action) and
/// `audit verify`, after an export, a block and a rectify of the subject looked up by
/// IIN, phone and email.
#[tokio::test]
async fn audit_log_and_verify_log_no_personal_data() {
    let mut probe = Probe::new().await;
    let recipient = probe.keys.age_recipient.clone();
    let iin = probe.subject.iin.clone();
    let phone = probe.subject.phone.clone();
    let email = probe.subject.email.clone();
    let out = probe.file("export.age");
    probe.run(&[
        "export", &iin, "--ticket", "REQ-25", "-r", &recipient, "--out", &out,
    ]);
    probe.run(&[
        "block",
        &phone,
        "--reason",
        "compromised",
        "--ticket",
        "INC-25",
        "--yes",
    ]);
    probe.run_env(
        &[("DERBES_AUDIT_KEY", AUDIT_KEY)],
        &[
            "rectify",
            &email,
            "--set",
            "patronymic=",
            "--ticket",
            "REQ-25",
            "--yes",
        ],
    );
    let listed = probe.run(&["audit", "log"]);
    assert!(listed.contains(&probe.subject.subject_ref()), "{listed}");
    probe.run(&["--format", "json", "audit", "log"]);
    probe.run(&["--format", "csv", "audit", "log", "--action", "rectify"]);
    probe.run(&["audit", "log", "--ticket", "INC-25"]);
    probe.run(&["audit", "verify"]);
    probe.run(&["--format", "json", "audit", "verify"]);
    probe.finish(&["export", "block", "rectify"]).await;
}

/// Issue 25, item 6: `map check` and `map init`, which samples rows to find personal
/// columns (as a draft on stdout, and to a file, which is searched too).
#[tokio::test]
async fn map_check_and_init_log_no_personal_data() {
    let mut probe = Probe::new().await;
    probe.run(&["map", "check"]);
    probe.run(&["--format", "json", "map", "check"]);
    let draft = probe.run(&["map", "init"]);
    assert!(draft.contains("[subject]"), "a draft on stdout: {draft}");
    let out = probe.file("draft.toml");
    probe.run(&["map", "init", "--out", &out]);
    let written = std::fs::read_to_string(&out).unwrap();
    probe.check("map init --out: the draft file", &written);
    probe.finish(&[]).await;
}
