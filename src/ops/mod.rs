//! The operations: what derbes does to a subject's data, one module each. They take
//! plain structs, the data map and a connection, and return reports and typed
//! errors; they know no clap, terminal or exit code.

pub mod archive;
pub mod block;
pub mod export;
pub mod purge;
pub mod resolve;
pub mod sample;
pub mod subject;
