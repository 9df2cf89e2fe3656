//! The notifier Lambda: the handler and its senders.

pub mod handler;
