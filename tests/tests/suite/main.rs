//! The integration tests of autolock-tests, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod coalescing;
mod lock_warnings;
mod sqlite_cache;
mod sqlite_contract;
mod sqlite_faults;
mod sqlite_retention;
