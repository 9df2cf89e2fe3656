//! The integration tests of autolock-dynamodb, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod access_patterns;
mod capacity;
mod contract;
