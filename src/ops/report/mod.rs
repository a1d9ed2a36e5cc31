//! The DPO's report (`derbes report`): what is held, what is due, what is late.
//! Every figure is a count, a reference or a rule name, read in one read-only
//! snapshot; [`model`] says what each means.

pub mod model;

pub use model::*;
