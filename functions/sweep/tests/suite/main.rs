//! The integration tests of autolock-sweep, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod events;
mod iam;
