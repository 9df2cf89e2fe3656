//! Reads: one module per port.

mod audit;
mod deliveries;
mod directory;
mod exemptions;
pub(crate) mod facts;
mod outbox;
mod requests;
mod settings;
mod usage;
