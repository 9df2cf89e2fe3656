//! The integration tests of autolock-api, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod common;

mod envelopes;
mod events;
mod iam;
mod slack;
