//! End-to-end tests of the `derbes` binary against a real PostgreSQL: one scratch
//! database per test (see `tests/support`).

#[path = "../support/mod.rs"]
mod support;

mod anonymise;
mod archive;
mod archive_jobs;
mod audit;
mod bad_input;
mod block;
mod change;
mod consent;
mod disclosure;
mod dry_runs;
mod erase;
mod export;
mod faults;
mod foreign_schema;
mod gate;
mod links;
mod map;
mod map_init;
mod migrate;
mod no_personal_data;
mod others_untouched;
mod periods;
mod policy;
mod promises;
mod purge;
mod rectify;
mod report;
mod requests;
mod restore_jobs;
mod retention;
mod roles;
mod sample;
mod subject;
mod surface;
mod usage;
