//! What reaches the disk: age encryption and decryption, and output files written
//! 0600 under a temporary name, fsynced and renamed.

pub mod crypto;
pub mod manifest;
pub mod secure_file;
pub mod tar_writer;
