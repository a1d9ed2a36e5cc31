//! A throwaway PostgreSQL cluster for tests that need server settings the shared
//! test server cannot give: SCRAM password authentication and TLS with a CA the test
//! controls.
//!
//! [`Cluster::start`] runs `initdb` and `pg_ctl start` in a temporary directory on a
//! free port, listening on 127.0.0.1 and 127.0.0.2, with `password_encryption =
//! scram-sha-256`, a pg_hba of `hostssl`/`host ... scram-sha-256` lines and one
//! superuser with a password. With TLS it also makes, with the `openssl` CLI, a CA,
//! a server certificate for `localhost` and 127.0.0.1 signed by it, and a second
//! CA that signed nothing (for "untrusted" cases).
//!
//! PostgreSQL refuses to run as root. When the tests run as root (CI does), the
//! server runs as the system user `derbes-test`, created with `useradd` if absent
//! (falling back to `postgres` when that fails).
//!
//! [`Replication`] is a primary and a streaming standby made from it with
//! `pg_basebackup -R`, for tests that must tell a replica's reads from the primary's.
//!
//! A cluster stops and deletes itself on drop. Clusters shared through
//! [`Cluster::shared`] live in statics, which are never dropped, so each cluster also
//! has a watchdog process that shuts it down and deletes it once the test process
//! is gone, even after a panic or a kill.

#![allow(dead_code)] // each test binary uses a different part of this helper

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use rand::distributions::Alphanumeric;
use rand::Rng;

/// The system user that owns and runs clusters when the tests run as root.
const TEST_OS_USER: &str = "derbes-test";

/// How to start a [`Cluster`].
#[derive(Debug, Clone, Copy)]
pub struct ClusterOptions {
    /// `ssl = on` with a certificate signed by [`Cluster::ca_cert`].
    pub tls: bool,
}

/// A running throwaway cluster.
pub struct Cluster {
    pub port: u16,
    /// A superuser that logs in with [`Cluster::password`] (SCRAM).
    pub user: String,
    pub password: String,
    /// The CA that signed the server certificate (TLS clusters only).
    pub ca_cert: Option<PathBuf>,
    /// A CA that signed nothing here (TLS clusters only).
    pub other_ca_cert: Option<PathBuf>,
    /// Holds the data directory, certificates and server log.
    dir: tempfile::TempDir,
    data_dir: PathBuf,
    bin_dir: PathBuf,
    owner: Owner,
    watchdog: Option<Child>,
    /// Settings kept across [`Cluster::start_server`]'s rewrite of
    /// `postgresql.auto.conf` (a standby's `primary_conninfo`).
    extra_settings: String,
}

impl Cluster {
    /// The cluster shared by every test of this binary, started on first use.
    pub fn shared(options: ClusterOptions) -> &'static Cluster {
        static WITH_TLS: OnceLock<Cluster> = OnceLock::new();
        static WITHOUT_TLS: OnceLock<Cluster> = OnceLock::new();
        let cell = if options.tls { &WITH_TLS } else { &WITHOUT_TLS };
        cell.get_or_init(|| Cluster::start(options))
    }

    /// Starts a new cluster; panics with what is missing if it cannot.
    pub fn start(options: ClusterOptions) -> Cluster {
        let bin_dir = postgres_bin_dir();
        let owner = Owner::for_this_process();
        // The server user must be able to reach the directory; TMPDIR may point
        // somewhere private to root.
        let parent = match owner {
            Owner::ThisProcess => std::env::temp_dir(),
            Owner::User { .. } => PathBuf::from("/tmp"),
        };
        let dir = tempfile::Builder::new()
            .prefix("derbes-cluster-")
            .tempdir_in(parent)
            .expect("create a temporary directory for the test cluster");
        owner.give(dir.path());
        let data_dir = dir.path().join("data");
        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        let user = "derbes_test".to_string();

        let password_file = dir.path().join("password");
        std::fs::write(&password_file, &password).expect("write the initdb password file");
        owner.give(&password_file);
        let initdb = owner
            .command(bin_dir.join("initdb"), dir.path())
            .arg("--pgdata")
            .arg(&data_dir)
            .args(["--username", &user, "--auth", "scram-sha-256"])
            .arg(format!("--pwfile={}", password_file.display()))
            .args(["--encoding", "UTF8", "--no-locale", "--no-sync"])
            .output();
        check("initdb", initdb);

        let (ca_cert, other_ca_cert) = if options.tls {
            let tls_dir = dir.path().join("tls");
            let (ca, other_ca) = make_certificates(&tls_dir);
            for file in ["server.crt", "server.key"] {
                let copy = data_dir.join(file);
                std::fs::copy(tls_dir.join(file), &copy)
                    .expect("copy the server certificate into the data directory");
                // The server refuses a key others can read.
                std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600))
                    .expect("restrict the server key");
                owner.give(&copy);
            }
            (Some(ca), Some(other_ca))
        } else {
            (None, None)
        };

        let mut hba = String::from("local all all scram-sha-256\n");
        if options.tls {
            hba.push_str("hostssl all all 127.0.0.0/8 scram-sha-256\n");
        }
        hba.push_str("host all all 127.0.0.0/8 scram-sha-256\n");
        hba.push_str("host replication all 127.0.0.0/8 scram-sha-256\n");
        std::fs::write(data_dir.join("pg_hba.conf"), hba).expect("write pg_hba.conf");

        let mut cluster = Cluster {
            port: 0,
            user,
            password,
            ca_cert,
            other_ca_cert,
            data_dir,
            bin_dir,
            owner,
            watchdog: None,
            dir,
            extra_settings: String::new(),
        };
        cluster.start_server(options.tls);
        cluster
    }

    /// A hot standby of `primary` (no TLS): `pg_basebackup -R` into a new directory,
    /// started on its own port, streaming from the primary. Same user and password.
    pub fn standby_of(primary: &Cluster) -> Cluster {
        let owner = primary.owner;
        let parent = match owner {
            Owner::ThisProcess => std::env::temp_dir(),
            Owner::User { .. } => PathBuf::from("/tmp"),
        };
        let dir = tempfile::Builder::new()
            .prefix("derbes-standby-")
            .tempdir_in(parent)
            .expect("create a temporary directory for the standby");
        owner.give(dir.path());
        let data_dir = dir.path().join("data");
        let backup = owner
            .command(primary.bin_dir.join("pg_basebackup"), dir.path())
            .arg("--pgdata")
            .arg(&data_dir)
            .args(["--write-recovery-conf", "--wal-method=stream"])
            .args(["--checkpoint=fast", "--no-sync"])
            .args(["--host", "127.0.0.1", "--port", &primary.port.to_string()])
            .args(["--username", &primary.user])
            .env("PGPASSWORD", &primary.password)
            .output();
        check("pg_basebackup", backup);
        // -R wrote primary_conninfo into postgresql.auto.conf, which start_server
        // rewrites: keep that line.
        let auto_conf = std::fs::read_to_string(data_dir.join("postgresql.auto.conf"))
            .expect("pg_basebackup -R writes postgresql.auto.conf");
        let extra_settings: String = auto_conf
            .lines()
            .filter(|line| line.starts_with("primary_conninfo"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(
            !extra_settings.is_empty() && data_dir.join("standby.signal").exists(),
            "pg_basebackup -R did not make a standby:\n{auto_conf}"
        );
        let mut standby = Cluster {
            port: 0,
            user: primary.user.clone(),
            password: primary.password.clone(),
            ca_cert: None,
            other_ca_cert: None,
            data_dir,
            bin_dir: primary.bin_dir.clone(),
            owner,
            watchdog: None,
            dir,
            extra_settings,
        };
        standby.start_server(false);
        standby
    }

    /// A libpq keyword string for database `dbname`, password included.
    pub fn conninfo(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={} password={} dbname={dbname}",
            self.port, self.user, self.password
        )
    }

    /// A client of database `dbname` (no TLS).
    pub async fn client(&self, dbname: &str) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.conninfo(dbname), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot reach the test cluster on port {}: {e}\n{}",
                        self.port,
                        self.log()
                    )
                });
        tokio::spawn(connection);
        client
    }

    /// `postgres://user:password@127.0.0.1:port/postgres?<query>`.
    pub fn url(&self, query: &str) -> String {
        self.url_for_host("127.0.0.1", query)
    }

    pub fn url_for_host(&self, host: &str, query: &str) -> String {
        format!(
            "postgres://{}:{}@{host}:{}/postgres?{query}",
            self.user, self.password, self.port
        )
    }

    /// The same as [`Cluster::url`] without the password.
    pub fn url_without_password(&self, query: &str) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/postgres?{query}",
            self.user, self.port
        )
    }

    /// The server log so far, to explain a failure.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Restarts the server on its port (fast shutdown: every session is ended, as
    /// in a failover or a maintenance restart), waiting until it accepts connections.
    pub fn restart(&self) {
        let restarted = self
            .owner
            .command(self.bin_dir.join("pg_ctl"), self.dir.path())
            .arg("--pgdata")
            .arg(&self.data_dir)
            .arg("--log")
            .arg(self.dir.path().join("server.log"))
            .args(["--mode", "fast", "--wait", "--timeout", "60", "restart"])
            .output();
        check("pg_ctl restart", restarted);
    }

    /// Picks a free port and starts the server, retrying if another process takes
    /// the port between the check and the bind.
    fn start_server(&mut self, tls: bool) {
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            let settings = format!(
                "\nport = {port}\n\
                 listen_addresses = '127.0.0.1,127.0.0.2'\n\
                 unix_socket_directories = '{}'\n\
                 password_encryption = 'scram-sha-256'\n\
                 ssl = {}\n\
                 fsync = off\n\
                 max_connections = 20\n{}",
                self.dir.path().display(),
                if tls { "on" } else { "off" },
                self.extra_settings,
            );
            let conf = self.data_dir.join("postgresql.auto.conf");
            std::fs::write(&conf, settings).expect("write postgresql.auto.conf");
            self.owner.give(&conf);
            let started = self
                .owner
                .command(self.bin_dir.join("pg_ctl"), self.dir.path())
                .arg("--pgdata")
                .arg(&self.data_dir)
                .arg("--log")
                .arg(self.dir.path().join("server.log"))
                .args(["--wait", "--timeout", "60", "start"])
                .output();
            match started {
                Ok(output) if output.status.success() => {
                    self.port = port;
                    self.watchdog = Some(self.spawn_watchdog());
                    return;
                }
                Ok(output) => {
                    last_failure = format!(
                        "{}{}\nserver log:\n{}",
                        String::from_utf8_lossy(&output.stdout),
                        String::from_utf8_lossy(&output.stderr),
                        self.log()
                    );
                    if !last_failure.contains("could not bind") {
                        break;
                    }
                }
                Err(error) => last_failure = error.to_string(),
            }
        }
        panic!("the test cluster did not start with pg_ctl:\n{last_failure}");
    }

    /// A shell that outlives this process just long enough to stop the server
    /// (immediate shutdown) and delete the directory once this process is gone.
    fn spawn_watchdog(&self) -> Child {
        let script = r#"
            trap '' INT HUP TERM
            while kill -0 "$1" 2>/dev/null; do sleep 1; done
            pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null)
            if [ -n "$pid" ]; then
                kill -QUIT "$pid" 2>/dev/null
                while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
            fi
            rm -rf "$3"
        "#;
        Command::new("sh")
            .args(["-c", script, "derbes-cluster-watchdog"])
            .arg(std::process::id().to_string())
            .arg(&self.data_dir)
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the test cluster's watchdog shell")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self
                .owner
                .command(self.bin_dir.join("pg_ctl"), self.dir.path())
                .arg("--pgdata")
                .arg(&self.data_dir)
                .args(["--mode", "immediate", "--wait", "stop"])
                .output();
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        // The TempDir field removes the directory.
    }
}

/// A primary and a hot standby streaming from it, shared by every test of this
/// binary and started on first use (each cluster's watchdog removes it after the
/// test process ends). Tests make their own database on the primary and wait for
/// the standby with [`Replication::wait_for_replay`].
pub struct Replication {
    pub primary: Cluster,
    pub standby: Cluster,
}

impl Replication {
    pub fn shared() -> &'static Replication {
        static SHARED: OnceLock<Replication> = OnceLock::new();
        SHARED.get_or_init(|| {
            let primary = Cluster::start(ClusterOptions { tls: false });
            let standby = Cluster::standby_of(&primary);
            Replication { primary, standby }
        })
    }

    /// Waits until the standby has replayed everything the primary has written so
    /// far (including a newly created database).
    pub async fn wait_for_replay(&self) {
        let primary = self.primary.client("postgres").await;
        let lsn: String = primary
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await
            .expect("pg_current_wal_lsn")
            .get(0);
        let standby = self.standby.client("postgres").await;
        let sql = format!("SELECT coalesce(pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn, false)");
        for _ in 0..600 {
            let caught_up: bool = standby
                .query_one(sql.as_str(), &[])
                .await
                .expect("pg_last_wal_replay_lsn")
                .get(0);
            if caught_up {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "the standby did not replay up to {lsn} within 30 s:\n{}",
            self.standby.log()
        );
    }
}

/// Who runs the server: this process, or the unprivileged test user when root.
#[derive(Debug, Clone, Copy)]
enum Owner {
    ThisProcess,
    User { uid: u32, gid: u32 },
}

impl Owner {
    fn for_this_process() -> Owner {
        if id(&["-u"]) != Some(0) {
            return Owner::ThisProcess;
        }
        if lookup_user(TEST_OS_USER).is_none() {
            // Another test binary may create it at the same moment; the lookup below
            // is what counts.
            let _ = Command::new("useradd")
                .args(["--system", "--user-group", "--no-create-home"])
                .args(["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"])
                .arg(TEST_OS_USER)
                .output();
        }
        match lookup_user(TEST_OS_USER).or_else(|| lookup_user("postgres")) {
            Some((uid, gid)) => Owner::User { uid, gid },
            None => panic!(
                "running as root, and PostgreSQL refuses to run as root: could not create \
                 the system user {TEST_OS_USER} with useradd, and there is no postgres user. \
                 Create one (useradd --system {TEST_OS_USER}) or run the tests as a normal user"
            ),
        }
    }

    /// A command that runs as the owner, in `dir` (the owner may not be allowed in
    /// the current directory).
    fn command(self, program: PathBuf, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(dir).stdin(Stdio::null());
        if let Owner::User { uid, gid } = self {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Makes `path` belong to the owner (the server insists on owning its files).
    fn give(self, path: &Path) {
        if let Owner::User { uid, gid } = self {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("chown {} to the test user: {e}", path.display()));
        }
    }
}

fn id(args: &[&str]) -> Option<u32> {
    let output = Command::new("id").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    Some((id(&["-u", name])?, id(&["-g", name])?))
}

/// The directory holding `initdb`, `pg_ctl` (and `pg_basebackup`): from PATH, else Debian's layout.
fn postgres_bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    debian.sort();
    debian.reverse(); // newest major version first
    on_path
        .into_iter()
        .chain(debian)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        // A symlink on PATH (/usr/local/bin/initdb) leads to the directory that also
        // holds pg_basebackup.
        .map(|dir| {
            dir.join("initdb")
                .canonicalize()
                .ok()
                .and_then(|real| real.parent().map(Path::to_path_buf))
                .filter(|real| real.join("pg_ctl").is_file())
                .unwrap_or(dir)
        })
        .unwrap_or_else(|| {
            panic!(
                "initdb and pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin: these \
                 tests start their own PostgreSQL cluster; install the PostgreSQL server \
                 (Debian: apt-get install postgresql) or add its bin directory to PATH"
            )
        })
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("bind 127.0.0.1:0 to find a free port")
}

/// Writes `ca.crt`, `other-ca.crt`, `server.crt` and `server.key` into `dir`;
/// returns the two CA certificate paths.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("create the certificate directory");
    let ec_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, subject) in [
        ("ca", "/CN=derbes test CA"),
        ("other-ca", "/CN=unrelated CA"),
    ] {
        let output = Command::new("openssl")
            .current_dir(dir)
            .args(["req", "-x509", "-days", "3"])
            .args(ec_key)
            .args([
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
            ])
            .args(["-subj", subject])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .output();
        check("openssl req (CA)", output);
    }
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(["req", "-new"])
        .args(ec_key)
        .args([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ])
        .output();
    check("openssl req (server)", output);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
         basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\n",
    )
    .expect("write the server certificate extensions");
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(["x509", "-req", "-in", "server.csr", "-days", "3"])
        .args(["-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "2"])
        .args(["-extfile", "server.ext", "-out", "server.crt"])
        .output();
    check("openssl x509 (sign the server certificate)", output);
    (dir.join("ca.crt"), dir.join("other-ca.crt"))
}

/// Panics with the tool's own output when it failed or could not run.
fn check(what: &str, output: std::io::Result<Output>) {
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!("{what} could not run: {error}. Is it installed and on PATH?"),
    }
}
