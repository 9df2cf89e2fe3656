//! Reads: one module per port.

mod audit;
mod deliveries;
mod directory;
mod exemptions;
mod facts;
mod outbox;
mod requests;
mod settings;
mod usage;
