//! Kazakh specifics: the IIN and BIN with their check digits, phone spellings.

pub mod identity;
