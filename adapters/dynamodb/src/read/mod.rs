//! Reads: one module per port.

mod audit;
mod deliveries;
mod directory;
mod exemptions;
mod outbox;
mod report;
mod requests;
mod settings;
mod usage;
