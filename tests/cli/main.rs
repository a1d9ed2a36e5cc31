//! End-to-end tests of the `derbes` binary against a real PostgreSQL: one scratch
//! database per test (see `tests/support`).

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod block;
mod foreign_schema;
mod map;
mod migrate;
mod usage;
