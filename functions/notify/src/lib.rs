//! The notifier Lambda: configuration and the handler.

pub mod config;
pub mod handler;
