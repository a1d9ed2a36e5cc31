//! What talks to PostgreSQL: connections (libpq conventions, TLS), the live
//! catalogue, the change engine every mutating command runs on, derbes' own schema
//! (migrations) and its audit log, and small shared helpers.

pub mod audit;
pub mod audit_key;
pub mod catalog;
pub mod change;
pub mod connect;
pub mod db;
pub mod migrate;
