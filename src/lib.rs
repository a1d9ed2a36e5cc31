//! derbes: keep a privacy policy's promises against a production PostgreSQL.
//!
//! The library behind the `derbes` binary. Domain modules (data map, catalogue,
//! audit, migrations, ...) know nothing of the command line; `cli` and `commands`
//! are the thin layer on top.
#![forbid(unsafe_code)]

pub mod archive;
pub mod audit;
pub mod block;
pub mod catalog;
pub mod change;
pub mod cli;
pub mod commands;
pub mod connect;
pub mod crypto;
pub mod datamap;
pub mod db;
pub mod draft;
pub mod error;
pub mod export;
pub mod fault;
pub mod free_text;
pub mod identity;
pub mod link;
pub mod migrate;
pub mod output;
pub mod resolve;
pub mod sample;
pub mod secure_file;
pub mod subject;
pub mod terminal;
pub mod when;
