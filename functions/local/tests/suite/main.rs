//! The integration tests of autolock-local, in one binary (one link of the crate and its
//! dependencies): each module is one concern.

mod common;

mod cli;
mod clock;
mod console_links;
mod latency;
mod notifications;
mod proxies;
mod remote_cli;
mod server;
mod slack;
mod walkthrough;
