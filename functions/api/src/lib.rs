//! The API Lambda: configuration and the handler (the router behind API Gateway).

pub mod config;
pub mod handler;
