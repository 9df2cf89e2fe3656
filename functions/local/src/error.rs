//! What a command of the `autolock` binary fails with. It is printed with its causes, one after
//! the other (`autolock: cannot open autolock.db: backend: sqlite: unable to open database file`).

use std::path::PathBuf;

use autolock_core::ValidationError;
use autolock_core::error::StoreError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The flags, the environment or a file say something the command cannot use.
    #[error("{0}")]
    Config(String),
    /// A use case refused or failed.
    #[error(transparent)]
    Refused(#[from] autolock_core::Error),
    /// The demo could not be seeded, or the database is not the demo's.
    #[error("{what}")]
    Demo {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: autolock_core::Error,
    },
    /// A value given does not parse.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The local database could not be opened.
    #[error("cannot open {}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// Reading or writing a file, a socket or the terminal.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The token secret is too short.
    #[error(transparent)]
    Secret(#[from] autolock_http::auth::ShortSecret),
    /// An email sender cannot be set up.
    #[error(transparent)]
    Mail(#[from] autolock_mail::MailError),
    /// A running autolock did not answer, or answered with a problem.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// A value could not be written or read as JSON or YAML.
    #[error("{what}")]
    Format {
        /// What was being written or read.
        what: String,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl CliError {
    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }

    /// A JSON or YAML failure while doing `what`.
    pub fn format<E: std::error::Error + Send + Sync + 'static>(
        what: impl Into<String>,
    ) -> impl FnOnce(E) -> Self {
        let what = what.into();
        move |source| Self::Format {
            what,
            source: Box::new(source),
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self::Config(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        Self::Config(message.to_owned())
    }
}
