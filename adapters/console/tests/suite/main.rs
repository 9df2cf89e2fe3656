//! The integration tests of autolock-console, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod support;

mod fuzz;
mod pages;
