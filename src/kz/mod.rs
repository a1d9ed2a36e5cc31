//! Kazakh specifics: the IIN and BIN with their check digits, phone spellings, the
//! working-day calendar legal deadlines are counted on.

pub mod calendar;
pub mod identity;
