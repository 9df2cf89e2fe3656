//! autolock-mail: email for the local runtime, chosen by configuration — an SMTP sender (a
//! relay such as a company MTA or a local catcher) or a file spool that writes each message as
//! an `.eml` file (multipart/alternative: the text part, then the HTML part).

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use autolock_core::delivery::EmailMessage;
use autolock_core::ports::{EmailError, EmailSender};

/// Builds the MIME message of an email.
pub fn build(from: &Mailbox, email: &EmailMessage) -> Result<Message, EmailError> {
    let to: Mailbox = email.to.as_str().parse().map_err(|e| EmailError {
        retryable: false,
        message: format!("recipient: {e}"),
    })?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| EmailError {
            retryable: false,
            message: e.to_string(),
        })
}

/// Writes each email to `<dir>/<n>-<recipient>.eml`.
/// Why a sender cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The spool directory cannot be created.
    #[error("cannot create the mail spool {}", dir.display())]
    Spool {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sender address does not parse.
    #[error("sender address {from:?}")]
    Sender {
        /// The address given.
        from: String,
        /// Why.
        #[source]
        source: lettre::address::AddressError,
    },
}

fn sender(from: &str) -> Result<Mailbox, MailError> {
    from.parse().map_err(|source| MailError::Sender {
        from: from.to_owned(),
        source,
    })
}

#[derive(Debug, Clone)]
pub struct SpoolSender {
    dir: PathBuf,
    from: Mailbox,
}

impl SpoolSender {
    /// A spool in `dir` (created when missing), sending as `from`.
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| MailError::Spool {
            dir: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            from: sender(from)?,
        })
    }
}

#[async_trait]
impl EmailSender for SpoolSender {
    async fn send(&self, email: &EmailMessage) -> Result<(), EmailError> {
        let message = build(&self.from, email)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let safe: String = email
            .to
            .as_str()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '@' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.dir.join(format!("{stamp}-{safe}.eml"));
        tokio::fs::write(&path, message.formatted())
            .await
            .map_err(|e| EmailError {
                retryable: true,
                message: format!("writing {}: {e}", path.display()),
            })
    }
}

/// Sends through an SMTP relay (plain SMTP, no authentication: a relay on a trusted network).
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// A sender through `host:port`, sending as `from`.
    pub fn new(host: &str, port: u16, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        Ok(Self {
            transport,
            from: sender(from)?,
        })
    }
}

#[async_trait]
impl EmailSender for SmtpSender {
    async fn send(&self, email: &EmailMessage) -> Result<(), EmailError> {
        let message = build(&self.from, email)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| EmailError {
                retryable: !e.is_permanent(),
                message: e.to_string(),
            })
    }
}
