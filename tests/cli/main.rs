//! End-to-end tests of the `derbes` binary against a real PostgreSQL: one scratch
//! database per test (see `tests/support`).

#[path = "../support/mod.rs"]
mod support;

mod archive;
mod audit;
mod bad_input;
mod block;
mod change;
mod export;
mod faults;
mod foreign_schema;
mod gate;
mod links;
mod map;
mod map_init;
mod migrate;
mod periods;
mod promises;
mod purge;
mod sample;
mod subject;
mod surface;
mod usage;
