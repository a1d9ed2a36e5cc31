//! Connecting to PostgreSQL (placeholder until TLS support lands).

use std::time::Duration;

use tokio_postgres::{Client, NoTls};

pub struct ConnectOptions {
    pub conninfo: Option<String>,
    pub application_name: String,
    pub connect_timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
}

pub async fn connect(opts: &ConnectOptions) -> anyhow::Result<(Client, Target)> {
    let conninfo = opts
        .conninfo
        .clone()
        .unwrap_or_else(|| "host=127.0.0.1 user=postgres".to_owned());
    let mut config: tokio_postgres::Config = conninfo.parse()?;
    config.application_name(&opts.application_name);
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL at {host}:{port}: {e}"))?;
    tokio::spawn(connection);
    Ok((
        client,
        Target {
            host: String::new(),
            port: 0,
            dbname: config.get_dbname().unwrap_or_default().to_owned(),
            user: config.get_user().unwrap_or_default().to_owned(),
        },
    ))
}
