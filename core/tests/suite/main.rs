//! The integration tests of autolock-core, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod common;

mod lock_properties;
mod lock_rule;
mod parsers;
