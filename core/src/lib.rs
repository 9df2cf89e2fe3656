//! autolock-core: the cloud-agnostic heart of autolock.
//!
//! It holds the domain model (validated values, a temporal directory), the lock rule as pure
//! functions, the access-request state machine, audit entries and domain events, the ports
//! (traits) every store implements, and the services (use cases) that compose them.
//!
//! Nothing here reads the clock or performs I/O on its own: time comes in as `now` or through
//! the [`ports::Clock`] port, and storage through the ports.

pub mod audit;
pub mod authz;
pub mod delivery;
pub mod directory;
pub mod error;
pub mod events;
pub mod exemption;
pub mod feed;
pub mod ids;
pub mod lock;
pub mod notify;
#[cfg(feature = "openapi")]
mod openapi;
pub mod policy;
pub mod ports;
pub mod report;
pub mod request;
pub mod service;
pub mod values;

pub use error::{Error, ValidationError};

/// An instant, UTC, with microsecond precision in storage.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
