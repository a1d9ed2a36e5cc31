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

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.is_empty())
}

/// Escapes a value for a single-quoted libpq keyword value.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

fn parse_connect_timeout(seconds: &str) -> Result<Option<Duration>, ConnectError> {
    let seconds: i64 = seconds.trim().parse().map_err(|_| {
        invalid(format!(
            "invalid connect_timeout \"{seconds}\" (expected whole seconds)"
        ))
    })?;
    // libpq: zero or negative waits forever; below two seconds is raised to two.
    Ok(match seconds {
        i64::MIN..=0 => None,
        1 => Some(Duration::from_secs(2)),
        n => Some(Duration::from_secs(n.unsigned_abs())),
    })
}

/// The hosts to try, in order, from `host`, `hostaddr` and `port` lists.
fn endpoints(params: &Params, platform: &Platform) -> Result<Vec<Endpoint>, ConnectError> {
    let split = |key: &str| -> Vec<String> {
        params
            .get(key)
            .map(|value| {
                value
                    .split(',')
                    .map(|part| part.trim().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let hosts = split("host");
    let hostaddrs = split("hostaddr");
    let ports = split("port");
    if !hosts.is_empty() && !hostaddrs.is_empty() && hosts.len() != hostaddrs.len() {
        return Err(invalid(format!(
            "{} host names but {} host addresses (hostaddr); give one address per host",
            hosts.len(),
            hostaddrs.len()
        )));
    }
    let count = hosts.len().max(hostaddrs.len()).max(1);
    if ports.len() > 1 && ports.len() != count {
        return Err(invalid(format!(
            "{} ports for {count} hosts; give one port, or one per host",
            ports.len()
        )));
    }
    let default_host = || match &platform.socket_dir {
        Some(dir) => dir.to_string_lossy().into_owned(),
        None => "localhost".to_string(),
    };
    (0..count)
        .map(|index| {
            let hostaddr = match hostaddrs.get(index).filter(|addr| !addr.is_empty()) {
                Some(addr) => Some(addr.parse::<IpAddr>().map_err(|_| {
                    invalid(format!(
                        "invalid hostaddr \"{addr}\" (expected an IP address)"
                    ))
                })?),
                None => None,
            };
            let host = match hosts.get(index).filter(|host| !host.is_empty()) {
                Some(host) => host.clone(),
                None => match hostaddr {
                    Some(addr) => addr.to_string(),
                    None => default_host(),
                },
            };
            let port = match ports.get(index).or(ports.first()).filter(|p| !p.is_empty()) {
                Some(port) => port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| {
                        invalid(format!("invalid port \"{port}\" (expected 1-65535)"))
                    })?,
                None => DEFAULT_PORT,
            };
            Ok(Endpoint {
                host,
                hostaddr,
                port,
            })
        })
        .collect()
}

/// Parses a URL (`postgres://...` or `postgresql://...`) or a `key=value` string.
fn parse_conninfo(conninfo: &str) -> Result<Params, ConnectError> {
    let params = match conninfo
        .strip_prefix("postgresql://")
        .or_else(|| conninfo.strip_prefix("postgres://"))
    {
        Some(rest) => parse_url(rest)?,
        None => parse_keywords(conninfo)?,
    };
    for (key, value) in &params {
        check_keyword(key, value)?;
    }
    Ok(params)
}

/// libpq's `key = value` form: values may be single-quoted; `\` escapes the next
/// character.
fn parse_keywords(conninfo: &str) -> Result<Params, ConnectError> {
    let mut params = Params::new();
    let mut chars = conninfo.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            // The word is not echoed: it may be part of a password.
            return Err(invalid(format!(
                "expected \"key=value\" at character {}",
                start + 1
            )));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                    Some((_, c)) => value.push(c),
                    None => {
                        return Err(invalid(format!("unterminated quoted value for \"{key}\"")))
                    }
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next().map(|(_, c)| c));
                } else {
                    value.push(c);
                }
            }
        }
        params.insert(key, value);
    }
    Ok(params)
}

/// libpq's URL form after the scheme:
/// `[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`.
fn parse_url(rest: &str) -> Result<Params, ConnectError> {
    let mut params = Params::new();
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostlist) = match authority.split_once('@') {
        Some((userinfo, hostlist)) => (Some(userinfo), hostlist),
        None => (None, authority),
    };
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            params.insert("user".into(), percent_decode(user, "user name")?);
        }
        if let Some(password) = password {
            params.insert("password".into(), percent_decode(password, "password")?);
        }
    }
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    if !hostlist.is_empty() {
        for entry in hostlist.split(',') {
            let (host, port) = if let Some(bracketed) = entry.strip_prefix('[') {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| invalid("unterminated [ in an IPv6 host address of the URL"))?;
                let port = match after {
                    "" => "",
                    after => after.strip_prefix(':').ok_or_else(|| {
                        invalid("unexpected characters after an IPv6 host address in the URL")
                    })?,
                };
                (host, port)
            } else {
                entry.split_once(':').unwrap_or((entry, ""))
            };
            hosts.push(percent_decode(host, "host")?);
            ports.push(percent_decode(port, "port")?);
        }
    }
    if hosts.iter().any(|host| !host.is_empty()) {
        params.insert("host".into(), hosts.join(","));
    }
    if ports.iter().any(|port| !port.is_empty()) {
        params.insert("port".into(), ports.join(","));
    }
    if !path.is_empty() {
        params.insert("dbname".into(), percent_decode(path, "database name")?);
    }
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            invalid("a URL query parameter has no \"=\"; use ?key=value&key=value")
        })?;
        let key = percent_decode(key, "query parameter name")?;
        let value = percent_decode(value, "query parameter value")?;
        // JDBC's ssl=true, which libpq also accepts.
        if key == "ssl" && value == "true" {
            params.insert("sslmode".into(), "require".into());
        } else {
            params.insert(key, value);
        }
    }
    Ok(params)
}

fn percent_decode(text: &str, what: &str) -> Result<String, ConnectError> {
    let bad = || invalid(format!("invalid %-encoding in the URL's {what}"));
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3).ok_or_else(bad)?;
            decoded.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| bad())
}

/// The parameters of service `name`: from `PGSERVICEFILE` (or `~/.pg_service.conf`)
/// if it defines the service, else from `PGSYSCONFDIR/pg_service.conf`.
fn load_service(
    name: &str,
    env: EnvLookup<'_>,
    platform: &Platform,
) -> Result<Params, ConnectError> {
    let user_file = non_empty(env("PGSERVICEFILE"))
        .map(PathBuf::from)
        .or_else(|| {
            platform
                .home
                .as_ref()
                .map(|home| home.join(".pg_service.conf"))
        });
    let system_file = Path::new(
        &non_empty(env("PGSYSCONFDIR")).unwrap_or_else(|| DEFAULT_SYSCONF_DIR.to_string()),
    )
    .join("pg_service.conf");
    for file in user_file.iter().chain([&system_file]) {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => {
                return Err(ConnectError::Service {
                    reason: format!("cannot read service file {}: {error}", file.display()),
                })
            }
        };
        if let Some(params) = service_section(&text, name, file)? {
            return Ok(params);
        }
    }
    Err(ConnectError::Service {
        reason: format!("definition of service \"{name}\" not found"),
    })
}

/// The `[name]` section of a service file, if present.
fn service_section(text: &str, name: &str, file: &Path) -> Result<Option<Params>, ConnectError> {
    let mut params = None::<Params>;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if params.is_some() {
                break;
            }
            if section.trim() == name {
                params = Some(Params::new());
            }
            continue;
        }
        let Some(params) = params.as_mut() else {
            continue;
        };
        let error = |what: &str| ConnectError::Service {
            reason: format!("{what} at line {} of {}", number + 1, file.display()),
        };
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| error("syntax error (expected key=value)"))?;
        let key = key.trim();
        if key == "service" {
            return Err(error("nested service= is not allowed"));
        }
        check_keyword(key, value.trim()).map_err(|e| error(&e.to_string()))?;
        params.insert(key.to_string(), value.trim().to_string());
    }
    Ok(params)
}

/// The password for `endpoint` from a `.pgpass`-format file, as libpq finds it.
/// A file readable by group or others is ignored with a warning, like libpq.
fn password_from_file(
    path: &Path,
    endpoint: &Endpoint,
    dbname: &str,
    user: &str,
) -> Option<SecretString> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() {
        tracing::warn!(
            "password file {} is not a plain file; ignored",
            path.display()
        );
        return None;
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            "password file {} has group or world access; ignored (chmod 0600 it)",
            path.display()
        );
        return None;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            tracing::warn!("cannot read password file {}: {error}", path.display());
            return None;
        }
    };
    // libpq matches the default socket directory as "localhost".
    let host = if endpoint.host == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        endpoint.host.as_str()
    };
    let port = endpoint.port.to_string();
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass_line(line)?;
            let matches = |field: &str, wanted: &str| field == "*" || field == wanted;
            (matches(&fields[0], host)
                && matches(&fields[1], &port)
                && matches(&fields[2], dbname)
                && matches(&fields[3], user))
            .then(|| SecretString::from(fields[4].clone()))
        })
}

/// `host:port:db:user:password`, with `\:` and `\\` escapes; `None` if malformed.
fn split_pgpass_line(line: &str) -> Option<[String; 5]> {
    let mut fields: Vec<String> = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    fields.try_into().ok()
}

fn webpki_verifier(
    path: &Path,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, ConnectError> {
    let unusable = |reason: String| ConnectError::RootCertificateUnusable {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| unusable(error.to_string()))?;
    let mut roots = RootCertStore::empty();
    for certificate in rustls_pemfile::certs(&mut pem.as_slice()) {
        let certificate = certificate.map_err(|error| unusable(format!("not PEM: {error}")))?;
        roots
            .add(certificate)
            .map_err(|error| unusable(error.to_string()))?;
    }
    if roots.is_empty() {
        return Err(unusable("it holds no PEM certificate".to_string()));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|error| unusable(error.to_string()))
}

/// `sslmode=require` (or `prefer`) without a root certificate: encrypted, unverified.
/// Handshake signatures are still checked so the session keys belong to the
/// certificate presented.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the chain must lead to a trusted root; the name is not
/// checked (database hosts are often reached by addresses not in the certificate).
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means the chain passed.
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn certificate_problem(reason: &CertificateError) -> String {
    match reason {
        CertificateError::UnknownIssuer => "signed by an unknown CA".to_string(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "expired".to_string()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "not valid yet".to_string()
        }
        CertificateError::Revoked => "revoked".to_string(),
        CertificateError::BadSignature => "bad signature".to_string(),
        other => format!("{other:?}"),
    }
}

/// The first error of type `E` in `error`'s source chain, looking inside
/// `io::Error`s too (rustls errors travel wrapped in one).
fn find_in_chain<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        if let Some(inner) = error
            .downcast_ref::<io::Error>()
            .and_then(|io_error| io_error.get_ref())
        {
            if let Some(found) = inner.downcast_ref::<E>() {
                return Some(found);
            }
        }
        current = error.source();
    }
    None
}

/// `error: cause: cause...`, for the cases no variant names.
fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
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

    fn resolve_with(
        conninfo: Option<&str>,
        vars: &[(&str, &str)],
    ) -> Result<Settings, ConnectError> {
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
        let settings =
            resolve_with(None, &[("PGPASSFILE", file.path().to_str().unwrap())]).unwrap();
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
}
