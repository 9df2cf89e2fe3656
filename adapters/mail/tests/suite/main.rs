//! The integration tests of autolock-mail, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod senders;
