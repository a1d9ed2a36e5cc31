//! Connecting to PostgreSQL the way libpq users expect.
//!
//! Operators already configure `psql` with a connection string (URL or `key=value`
//! form), `PG*` environment variables, a service file and `~/.pgpass`; this module
//! honours the same conventions so derbes connects wherever `psql` does:
//!
//! * precedence as libpq: the explicit string, then its service (or `PGSERVICE`),
//!   then `PG*` variables, then defaults (OS user, the Unix socket directory
//!   `/var/run/postgresql` if present else `localhost`, port 5432);
//! * `sslmode` as libpq, including `verify-ca` and `verify-full` with `sslrootcert`
//!   (default `~/.postgresql/root.crt`), over rustls with the ring provider;
//! * a password from the string, `PGPASSWORD`, or the password file (`PGPASSFILE`
//!   or `~/.pgpass`), looked up per host like libpq.
//!
//! `pg-client-config` was considered and not used: it reads the process environment
//! directly (no way to test precedence without mutating it), rejects
//! `sslmode=verify-ca|verify-full`, ignores `PGPASSWORD`, `PGSSLMODE` and
//! `PGSSLROOTCERT`, and looks up `.pgpass` before defaults apply, so a line for
//! `localhost:5432` never matches a connection that relies on defaults.
//!
//! Deliberate differences from libpq, each failing loudly rather than silently:
//! client certificates (`sslcert`, `sslkey`), CRLs, `requirepeer`, GSSAPI
//! encryption and `sslrootcert=system` are refused as unsupported; `sslmode=prefer`
//! never checks the certificate (libpq checks it when `~/.postgresql/root.crt`
//! exists, then falls back to plaintext if the check fails, which protects nothing);
//! `sslmode=allow` behaves like `prefer`.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a caller looks up an environment variable; [`connect`] uses the process
/// environment, tests pass a map.
pub type EnvLookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The Unix socket directory libpq uses on Debian-family systems.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
/// Where libpq looks for a service definition when neither `PGSERVICEFILE`,
/// `~/.pg_service.conf` nor `PGSYSCONFDIR` has it (Debian's build of libpq).
const DEFAULT_SYSCONF_DIR: &str = "/etc/postgresql-common";
const DEFAULT_PORT: u16 = 5432;

/// Attempts per host for errors that usually mean "not up yet" (refused, reset).
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// What the caller knows beyond libpq's own sources.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--db` or `DATABASE_URL`: a URL or `key=value` connection string. `None`
    /// (or empty) takes everything from the environment, like `psql` with no
    /// arguments.
    pub conninfo: Option<String>,
    /// Reported to the server when neither the string nor `PGAPPNAME` names one
    /// (libpq's `fallback_application_name`).
    pub application_name: String,
    /// Used when neither the string nor `PGCONNECT_TIMEOUT` sets `connect_timeout`.
    /// `None` waits as long as the operating system does, like libpq.
    pub connect_timeout: Option<Duration>,
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// Accepted for compatibility; behaves like [`SslMode::Prefer`].
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = ConnectError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(ConnectError::InvalidConnectionString {
                    reason: format!(
                        "invalid sslmode \"{other}\" (expected disable, allow, prefer, \
                         require, verify-ca or verify-full)"
                    ),
                })
            }
        })
    }
}

/// Where a connection went (or tried to go), for messages. Holds no password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name, IP address, or Unix socket directory.
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub sslmode: SslMode,
}

impl Target {
    fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/')
    }
}

impl fmt::Display for Target {
    /// `host:port`, `[v6]:port`, or the socket file for a Unix socket.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unix_socket() {
            write!(
                f,
                "{}/.s.PGSQL.{}",
                self.host.trim_end_matches('/'),
                self.port
            )
        } else if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why a connection could not be made. Messages name the host and port, never the
/// password, and say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "invalid connection string: {reason}. Check --db / DATABASE_URL and the PG* \
         variables (values are not shown, they may hold a password)"
    )]
    InvalidConnectionString { reason: String },

    #[error("{reason}. Check PGSERVICE / service= and the service file (PGSERVICEFILE or ~/.pg_service.conf)")]
    Service { reason: String },

    #[error(
        "cannot determine the database user (the operating system user is unknown): \
         set PGUSER or user= in --db / DATABASE_URL"
    )]
    NoUser,

    #[error(
        "cannot connect to PostgreSQL at {target}: {reason}. Is the server running? \
         Check --db / DATABASE_URL / PGHOST and PGPORT"
    )]
    Unreachable { target: Box<Target>, reason: String },

    #[error(
        "timed out after {}s connecting to PostgreSQL at {target}. Check the host is \
         reachable (firewall, VPN) or raise connect_timeout / PGCONNECT_TIMEOUT",
        timeout.as_secs()
    )]
    Timeout {
        target: Box<Target>,
        timeout: Duration,
    },

    #[error(
        "password authentication failed for user \"{}\" at {target}: check the password \
         in the URL, PGPASSWORD or ~/.pgpass",
        target.user
    )]
    AuthenticationFailed { target: Box<Target> },

    #[error(
        "PostgreSQL at {target} asks for a password for user \"{}\" and none was given: \
         put it in the URL, PGPASSWORD or ~/.pgpass (PGPASSFILE)",
        target.user
    )]
    PasswordMissing { target: Box<Target> },

    #[error(
        "PostgreSQL at {target} refused user \"{}\" for database \"{}\" ({server_message}): \
         ask the DBA to allow this user and address in pg_hba.conf, or try sslmode=require \
         if the server only accepts TLS",
        target.user, target.dbname
    )]
    AccessDenied {
        target: Box<Target>,
        server_message: String,
    },

    #[error(
        "database \"{}\" does not exist at {target}: check the database name in --db / \
         DATABASE_URL / PGDATABASE",
        target.dbname
    )]
    DatabaseNotFound { target: Box<Target> },

    #[error(
        "PostgreSQL at {target} does not support TLS but sslmode={} requires it: enable \
         ssl on the server, or connect to a server that has it",
        target.sslmode
    )]
    TlsNotSupported { target: Box<Target> },

    #[error(
        "the certificate of PostgreSQL at {target} is not trusted ({detail}): check that \
         sslrootcert ({}) holds the CA that signed the server certificate",
        root_cert.display()
    )]
    CertificateNotTrusted {
        target: Box<Target>,
        root_cert: PathBuf,
        detail: String,
    },

    #[error(
        "the certificate of PostgreSQL at {target} is not valid for the name \"{}\": \
         connect with a host name listed in the certificate, or use sslmode=verify-ca \
         to check the chain only",
        target.host
    )]
    HostnameMismatch { target: Box<Target> },

    #[error(
        "sslmode={sslmode} needs the root certificate file {}, which does not exist: pass \
         the CA file with sslrootcert=/path/to/root.crt in --db / DATABASE_URL or with \
         PGSSLROOTCERT",
        path.display()
    )]
    RootCertificateMissing { sslmode: SslMode, path: PathBuf },

    #[error(
        "cannot use the root certificate file {}: {reason}. Pass a PEM file of CA \
         certificates with sslrootcert= or PGSSLROOTCERT",
        path.display()
    )]
    RootCertificateUnusable { path: PathBuf, reason: String },

    #[error(
        "TLS handshake with PostgreSQL at {target} failed: {detail}. Check sslmode and \
         the server's ssl settings"
    )]
    Tls { target: Box<Target>, detail: String },

    #[error("PostgreSQL at {target} refused the connection: {message} (SQLSTATE {code}). Retry later or ask the DBA")]
    Server {
        target: Box<Target>,
        code: String,
        message: String,
    },

    #[error(
        "connecting to PostgreSQL at {target} failed: {detail}. Retry, or check the server log"
    )]
    Other { target: Box<Target>, detail: String },
}

impl ConnectError {
    /// The server this error is about, when it got that far.
    pub fn target(&self) -> Option<&Target> {
        match self {
            ConnectError::Unreachable { target, .. }
            | ConnectError::Timeout { target, .. }
            | ConnectError::AuthenticationFailed { target }
            | ConnectError::PasswordMissing { target }
            | ConnectError::AccessDenied { target, .. }
            | ConnectError::DatabaseNotFound { target }
            | ConnectError::TlsNotSupported { target }
            | ConnectError::CertificateNotTrusted { target, .. }
            | ConnectError::HostnameMismatch { target }
            | ConnectError::Tls { target, .. }
            | ConnectError::Server { target, .. }
            | ConnectError::Other { target, .. } => Some(&**target),
            ConnectError::InvalidConnectionString { .. }
            | ConnectError::Service { .. }
            | ConnectError::NoUser
            | ConnectError::RootCertificateMissing { .. }
            | ConnectError::RootCertificateUnusable { .. } => None,
        }
    }
}

/// Connects with the process environment; see [`connect_with_env`].
pub async fn connect(
    opts: &ConnectOptions,
) -> Result<(tokio_postgres::Client, Target), ConnectError> {
    connect_with_env(opts, &|name| std::env::var(name).ok()).await
}

/// Resolves the settings (string, service, `PG*` variables read through `env`,
/// defaults), connects to the first host that answers, spawns the connection on
/// the current tokio runtime, and returns the client and where it is connected.
///
/// Refused or reset connections are retried a few times with a short backoff;
/// authentication, TLS and configuration errors fail at once.
pub async fn connect_with_env(
    opts: &ConnectOptions,
    env: EnvLookup<'_>,
) -> Result<(tokio_postgres::Client, Target), ConnectError> {
    let settings = Settings::resolve(opts, env, &Platform::detect(env))?;
    let tls = settings.tls_connector()?;
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let mut last_error = None;
        for endpoint in &settings.endpoints {
            match settings.connect_once(endpoint, &tls).await {
                Ok(connected) => return Ok(connected),
                Err(Failure {
                    error,
                    transient: true,
                }) => last_error = Some(error),
                Err(Failure { error, .. }) => return Err(error),
            }
        }
        let error = last_error.expect("at least one endpoint is always resolved");
        if attempt == ATTEMPTS {
            return Err(error);
        }
        tracing::debug!("{error}; retrying in {backoff:?}");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        attempt += 1;
    }
}

/// A failed attempt, and whether it is worth another: refused, reset or a missing
/// socket usually mean the server is starting or restarting.
struct Failure {
    error: ConnectError,
    transient: bool,
}

impl From<ConnectError> for Failure {
    fn from(error: ConnectError) -> Failure {
        Failure {
            error,
            transient: false,
        }
    }
}

/// Facts about the machine that libpq's defaults depend on.
#[derive(Debug, Clone)]
struct Platform {
    os_user: Option<String>,
    home: Option<PathBuf>,
    /// The default Unix socket directory, when it exists here.
    socket_dir: Option<PathBuf>,
}

impl Platform {
    fn detect(env: EnvLookup<'_>) -> Platform {
        let socket_dir = Path::new(DEFAULT_SOCKET_DIR);
        Platform {
            os_user: whoami::fallible::username().ok(),
            home: env("HOME")
                .filter(|home| !home.is_empty())
                .map(PathBuf::from),
            socket_dir: socket_dir.is_dir().then(|| socket_dir.to_path_buf()),
        }
    }
}

/// One host to try, with its port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    /// Name used for TLS verification, `.pgpass` matching and messages.
    host: String,
    /// Address to connect to instead of resolving `host` (libpq's `hostaddr`).
    hostaddr: Option<IpAddr>,
    port: u16,
}

impl Endpoint {
    fn is_unix_socket(&self) -> bool {
        self.hostaddr.is_none() && self.host.starts_with('/')
    }
}

/// Where the root certificates for TLS verification come from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RootCertificates {
    /// `None` when no `sslrootcert` was given and HOME is unknown.
    path: Option<PathBuf>,
}

impl RootCertificates {
    fn display_path(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from("~/.postgresql/root.crt"))
    }
}

/// Everything needed to connect, after applying libpq's precedence.
#[derive(Debug)]
struct Settings {
    endpoints: Vec<Endpoint>,
    user: String,
    dbname: String,
    password: Option<SecretString>,
    passfile: Option<PathBuf>,
    sslmode: SslMode,
    root_certificates: RootCertificates,
    application_name: String,
    connect_timeout: Option<Duration>,
    /// Parameters tokio-postgres understands as libpq does (keepalives,
    /// target_session_attrs, options...), applied as they are.
    passthrough: Vec<(String, String)>,
}

/// Parameters tokio-postgres implements with libpq's meaning; validated by it.
const PASSTHROUGH: &[&str] = &[
    "options",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "tcp_user_timeout",
    "target_session_attrs",
    "channel_binding",
    "sslnegotiation",
    "load_balance_hosts",
];

/// Parameters resolved here.
const RESOLVED_HERE: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "passfile",
    "dbname",
    "service",
    "sslmode",
    "sslrootcert",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
    "keepalives_count",
];

/// libpq parameters with no effect on a rustls, UTF-8 client; accepted and ignored.
const IGNORED: &[&str] = &[
    "client_encoding",
    "sslcompression",
    "sslsni",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
];

/// libpq parameters that would weaken or change security if silently dropped.
const UNSUPPORTED: &[&str] = &[
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslcrl",
    "sslcrldir",
    "requirepeer",
    "require_auth",
    "replication",
];

/// `PG*` variables and the parameter each one sets (libpq's table).
const ENV_VARS: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGHOSTADDR", "hostaddr"),
    ("PGPORT", "port"),
    ("PGDATABASE", "dbname"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGPASSFILE", "passfile"),
    ("PGOPTIONS", "options"),
    ("PGAPPNAME", "application_name"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGSSLCRL", "sslcrl"),
    ("PGSSLCRLDIR", "sslcrldir"),
    ("PGSSLNEGOTIATION", "sslnegotiation"),
    ("PGREQUIREPEER", "requirepeer"),
    ("PGREQUIREAUTH", "require_auth"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGTARGETSESSIONATTRS", "target_session_attrs"),
    ("PGCHANNELBINDING", "channel_binding"),
    ("PGLOADBALANCEHOSTS", "load_balance_hosts"),
    ("PGGSSENCMODE", "gssencmode"),
];

/// Connection parameters by libpq keyword.
type Params = BTreeMap<String, String>;

/// Read a connection string (a URL or libpq keywords) as libpq would, without
/// connecting or reading the environment: the parameters it sets, or why it is
/// refused. What `connect` does first; public for the fuzz target (`fuzz/`).
pub fn parse_connection_string(text: &str) -> Result<BTreeMap<String, String>, ConnectError> {
    parse_conninfo(text)
}

fn invalid(reason: impl Into<String>) -> ConnectError {
    ConnectError::InvalidConnectionString {
        reason: reason.into(),
    }
}

/// Accepts libpq keywords only, refusing those derbes cannot honour.
fn check_keyword(key: &str, value: &str) -> Result<(), ConnectError> {
    if UNSUPPORTED.contains(&key) || (key == "gssencmode" && value == "require") {
        return Err(invalid(format!(
            "parameter \"{key}\" is not supported by derbes; remove it (client \
             certificates, CRLs, peer checks and GSSAPI are not implemented)"
        )));
    }
    let known = key == "gssencmode"
        || PASSTHROUGH.contains(&key)
        || RESOLVED_HERE.contains(&key)
        || IGNORED.contains(&key);
    if known {
        Ok(())
    } else {
        Err(invalid(format!("unknown parameter \"{key}\"")))
    }
}

impl Settings {
    fn resolve(
        opts: &ConnectOptions,
        env: EnvLookup<'_>,
        platform: &Platform,
    ) -> Result<Settings, ConnectError> {
        let mut params = match opts.conninfo.as_deref().map(str::trim) {
            Some(conninfo) if !conninfo.is_empty() => parse_conninfo(conninfo)?,
            _ => Params::new(),
        };
        let service = params
            .get("service")
            .cloned()
            .or_else(|| non_empty(env("PGSERVICE")));
        if let Some(service) = service {
            for (key, value) in load_service(&service, env, platform)? {
                params.entry(key).or_insert(value);
            }
        }
        for (var, key) in ENV_VARS {
            if let Some(value) = non_empty(env(var)) {
                check_keyword(key, &value)?;
                params.entry((*key).to_string()).or_insert(value);
            }
        }
        Settings::from_params(params, opts, platform)
    }

    fn from_params(
        mut params: Params,
        opts: &ConnectOptions,
        platform: &Platform,
    ) -> Result<Settings, ConnectError> {
        let sslmode = match params.get("sslmode") {
            Some(mode) => mode.parse()?,
            None => SslMode::Prefer,
        };
        let root_path = match params.get("sslrootcert").filter(|path| !path.is_empty()) {
            Some(path) if path == "system" => {
                return Err(invalid(
                    "sslrootcert=system is not supported; pass the CA file with \
                     sslrootcert=/path/to/root.crt",
                ))
            }
            Some(path) => Some(PathBuf::from(path)),
            None => platform
                .home
                .as_ref()
                .map(|home| home.join(".postgresql/root.crt")),
        };
        let user = match params.remove("user").filter(|user| !user.is_empty()) {
            Some(user) => user,
            None => platform.os_user.clone().ok_or(ConnectError::NoUser)?,
        };
        let dbname = params
            .remove("dbname")
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| user.clone());
        let application_name = params
            .remove("application_name")
            .or_else(|| params.remove("fallback_application_name"))
            .unwrap_or_else(|| opts.application_name.clone());
        let connect_timeout = match params.get("connect_timeout") {
            Some(seconds) => parse_connect_timeout(seconds)?,
            None => opts.connect_timeout,
        };
        let passfile = params
            .get("passfile")
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .or_else(|| platform.home.as_ref().map(|home| home.join(".pgpass")));
        let endpoints = endpoints(&params, platform)?;
        let password = params.remove("password").map(SecretString::from);

        let mut passthrough: Vec<(String, String)> = params
            .iter()
            .filter(|(key, _)| PASSTHROUGH.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if let Some(count) = params.get("keepalives_count") {
            passthrough.push(("keepalives_retries".to_string(), count.clone()));
        }

        Ok(Settings {
            endpoints,
            user,
            dbname,
            password,
            passfile,
            sslmode,
            root_certificates: RootCertificates { path: root_path },
            application_name,
            connect_timeout,
            passthrough,
        })
    }

    fn target(&self, endpoint: &Endpoint) -> Target {
        Target {
            host: endpoint.host.clone(),
            port: endpoint.port,
            dbname: self.dbname.clone(),
            user: self.user.clone(),
            sslmode: self.sslmode,
        }
    }

    /// The tokio-postgres configuration for one endpoint.
    fn config_for(&self, endpoint: &Endpoint) -> Result<tokio_postgres::Config, ConnectError> {
        let passthrough = self
            .passthrough
            .iter()
            .map(|(key, value)| format!("{key}='{}'", quote(value)))
            .collect::<Vec<_>>()
            .join(" ");
        let mut config = if passthrough.is_empty() {
            tokio_postgres::Config::new()
        } else {
            tokio_postgres::Config::from_str(&passthrough).map_err(|error| {
                invalid(
                    error
                        .source()
                        .map_or_else(|| error.to_string(), |source| format!("{error}: {source}")),
                )
            })?
        };
        config
            .host(&endpoint.host)
            .port(endpoint.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name);
        if let Some(hostaddr) = endpoint.hostaddr {
            config.hostaddr(hostaddr);
        }
        if let Some(timeout) = self.connect_timeout {
            config.connect_timeout(timeout);
        }
        // TLS is never used over a Unix socket, whatever sslmode says (libpq does the same).
        config.ssl_mode(match self.sslmode {
            _ if endpoint.is_unix_socket() => tokio_postgres::config::SslMode::Disable,
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        let password = self.password.clone().or_else(|| {
            let passfile = self.passfile.as_deref()?;
            password_from_file(passfile, endpoint, &self.dbname, &self.user)
        });
        if let Some(password) = password {
            config.password(password.expose_secret());
        }
        Ok(config)
    }

    async fn connect_once(
        &self,
        endpoint: &Endpoint,
        tls: &MakeRustlsConnect,
    ) -> Result<(tokio_postgres::Client, Target), Failure> {
        let target = self.target(endpoint);
        let config = self.config_for(endpoint)?;
        let attempt = config.connect(tls.clone());
        // libpq's connect_timeout bounds the whole start-up, not only the TCP connect.
        let outcome = match self.connect_timeout {
            Some(timeout) => match tokio::time::timeout(timeout, attempt).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    return Err(ConnectError::Timeout {
                        target: Box::new(target),
                        timeout,
                    }
                    .into())
                }
            },
            None => attempt.await,
        };
        match outcome {
            Ok((client, connection)) => {
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::warn!("PostgreSQL connection ended: {error}");
                    }
                });
                Ok((client, target))
            }
            Err(error) => Err(self.classify(&error, target)),
        }
    }

    /// The rustls connector for this sslmode. Fails before any network traffic
    /// when a `verify-*` mode has no root certificate file.
    fn tls_connector(&self) -> Result<MakeRustlsConnect, ConnectError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let root_file = self
            .root_certificates
            .path
            .as_ref()
            .filter(|path| path.exists());
        let needs_tls =
            self.sslmode != SslMode::Disable && self.endpoints.iter().any(|e| !e.is_unix_socket());
        let verifier: Arc<dyn ServerCertVerifier> = match (self.sslmode, root_file) {
            (SslMode::VerifyCa | SslMode::VerifyFull, None) if needs_tls => {
                return Err(ConnectError::RootCertificateMissing {
                    sslmode: self.sslmode,
                    path: self.root_certificates.display_path(),
                })
            }
            (SslMode::VerifyFull, Some(path)) => {
                webpki_verifier(path, provider.clone())? as Arc<dyn ServerCertVerifier>
            }
            // libpq: require with a root certificate file available means verify-ca.
            (SslMode::VerifyCa | SslMode::Require, Some(path)) => Arc::new(ChainOnlyVerifier {
                inner: webpki_verifier(path, provider.clone())?,
            }),
            _ => Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| ConnectError::Tls {
                target: Box::new(self.target(&self.endpoints[0])),
                detail: error.to_string(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    /// Turns a tokio-postgres error into a message that says what to do.
    fn classify(&self, error: &tokio_postgres::Error, target: Target) -> Failure {
        let chain = error as &(dyn StdError + 'static);
        let transient = match (error.as_db_error(), find_in_chain::<io::Error>(chain)) {
            (Some(db), _) => *db.code() == SqlState::CANNOT_CONNECT_NOW,
            (None, Some(io_error)) => match io_error.kind() {
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted => true,
                io::ErrorKind::NotFound => target.is_unix_socket(),
                _ => false,
            },
            (None, None) => false,
        };
        Failure {
            error: self.describe(error, Box::new(target)),
            transient,
        }
    }

    fn describe(&self, error: &tokio_postgres::Error, target: Box<Target>) -> ConnectError {
        if let Some(db) = error.as_db_error() {
            let code = db.code();
            return if *code == SqlState::INVALID_PASSWORD {
                ConnectError::AuthenticationFailed { target }
            } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
                ConnectError::AccessDenied {
                    target,
                    server_message: db.message().to_string(),
                }
            } else if *code == SqlState::INVALID_CATALOG_NAME {
                ConnectError::DatabaseNotFound { target }
            } else {
                ConnectError::Server {
                    target,
                    code: code.code().to_string(),
                    message: db.message().to_string(),
                }
            };
        }
        if let Some(tls_error) = find_in_chain::<rustls::Error>(error as &(dyn StdError + 'static))
        {
            return match tls_error {
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                ) => ConnectError::HostnameMismatch { target },
                rustls::Error::InvalidCertificate(reason) => ConnectError::CertificateNotTrusted {
                    target,
                    root_cert: self.root_certificates.display_path(),
                    detail: certificate_problem(reason),
                },
                other => ConnectError::Tls {
                    target,
                    detail: other.to_string(),
                },
            };
        }
        let description = error_chain(error as &(dyn StdError + 'static));
        if description.contains("server does not support TLS") {
            return ConnectError::TlsNotSupported { target };
        }
        if description.contains("password missing") {
            return ConnectError::PasswordMissing { target };
        }
        if let Some(io_error) = find_in_chain::<io::Error>(error as &(dyn StdError + 'static)) {
            use io::ErrorKind;
            let reason = match io_error.kind() {
                ErrorKind::ConnectionRefused => "connection refused".to_string(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                    "connection reset by the server".to_string()
                }
                ErrorKind::NotFound if target.is_unix_socket() => {
                    "no server socket there".to_string()
                }
                ErrorKind::UnexpectedEof => "the connection closed during start-up (is a \
                                             PostgreSQL server listening there?)"
                    .to_string(),
                // tokio-util's words when the stream ends inside a message: whatever
                // answered sent a few bytes and hung up, as a server of another
                // protocol (SSH, HTTP) does.
                _ if io_error.to_string() == "bytes remaining on stream" => {
                    "the server closed the connection in the middle of its answer (what \
                     listens there may not be PostgreSQL: check the port)"
                        .to_string()
                }
                ErrorKind::TimedOut => match self.connect_timeout {
                    Some(timeout) => return ConnectError::Timeout { target, timeout },
                    None => "connection timed out".to_string(),
                },
                _ => io_error.to_string(),
            };
            return ConnectError::Unreachable { target, reason };
        }
        if error.is_closed() {
            return ConnectError::Unreachable {
                target,
                reason: "the server closed the connection during start-up".to_string(),
            };
        }
        if description.starts_with("error performing TLS handshake") {
            return ConnectError::Tls {
                target,
                detail: description,
            };
        }
        ConnectError::Other {
            target,
            detail: description,
        }
    }
}

mod conninfo;
mod pgpass;
mod service;
mod tls;

use conninfo::*;
use pgpass::*;
use service::*;
use tls::*;

#[cfg(test)]
mod tests;
