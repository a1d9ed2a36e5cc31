//! derbes: keep a privacy policy's promises against a production PostgreSQL.
//!
//! The library behind the `derbes` binary, in layers:
//! - [`ops`]: the operations (subject lookup, export, block, archive, the synthetic
//!   population), knowing no clap, terminal or exit code;
//! - [`pg`]: what talks to PostgreSQL (connection, catalogue, change engine,
//!   migrations, audit log);
//! - [`map`]: the data map, its link paths and `map init`;
//! - [`kz`]: Kazakh specifics (IIN, BIN, phones);
//! - [`files`]: what reaches the disk (age encryption, output files);
//! - `cli` and `commands`: the thin command-line layer on top, with `output` and
//!   `terminal` for what the person at the terminal sees, and `error` for the exit
//!   codes.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod error;
pub mod fault;
pub mod files;
pub mod free_text;
pub mod key_strength;
pub mod kz;
pub mod map;
pub mod ops;
pub mod output;
pub mod pg;
pub mod stop;
pub mod terminal;
pub mod when;
