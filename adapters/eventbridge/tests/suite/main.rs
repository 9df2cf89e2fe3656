//! The integration tests of autolock-eventbridge, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod envelopes;
