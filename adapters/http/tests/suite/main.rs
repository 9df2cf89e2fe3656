//! The integration tests of autolock-http, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod common;

mod api;
mod authorization;
mod block_page;
mod exemptions;
mod fuzz;
mod gate;
mod policies;
mod reports;
mod scim;
