//! The operations: what derbes does to a subject's data, one module each. They take
//! plain structs, the data map and a connection, and return reports and typed
//! errors; they know no clap, terminal or exit code.

pub mod anonymise;
pub mod archive;
pub mod block;
pub mod consent;
pub mod disclosure;
pub mod erase;
pub mod export;
pub mod html;
pub mod ledger;
pub mod map_check;
pub mod map_init;
pub mod masking;
pub mod policy;
pub mod purge;
pub mod rectify;
pub mod report;
pub mod request;
pub mod resolve;
pub mod retention;
pub mod roles;
pub mod sample;
pub mod subject;
