//! End-to-end tests of the `derbes` binary against a real PostgreSQL: one scratch
//! database per test (see `tests/support`).

#[path = "../support/mod.rs"]
mod support;

mod archive;
mod audit;
mod block;
mod export;
mod foreign_schema;
mod map;
mod migrate;
mod sample;
mod subject;
mod usage;
