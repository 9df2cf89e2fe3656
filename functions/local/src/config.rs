//! Command line and environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The secret `serve --demo` uses when none is configured (never for real use).
pub const DEMO_SECRET: &str = "autolock-demo-secret-do-not-use-in-production";

/// autolock: usage-based auto-lock for access rights, in one local process.
#[derive(Debug, Parser)]
#[command(name = "autolock", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the API and the block page, and runs the sweep on an interval.
    Serve(Box<ServeArgs>),
    /// The same as `serve --demo`.
    Demo(Box<ServeArgs>),
    /// Prints a bearer token for a user or a service principal.
    Token(TokenArgs),
    /// Prints a one-time link that signs a user in to the console (15 minutes).
    SignInLink(SignInLinkArgs),
    /// Runs the tick once — records the locks that are due, sends the lock warnings and the
    /// notifications waiting, retries the deliveries due — and exits.
    Sweep(SweepArgs),
    /// Creates the first admin of an empty directory.
    Bootstrap(BootstrapArgs),
    /// Prints the OpenAPI document of the HTTP API.
    Openapi,
    /// Prints the report of a resource, a group or a user (CSV or JSON), streamed.
    Report(ReportArgs),
    /// Prints the audit log (CSV or JSON lines), streamed, with the filters of the API.
    AuditExport(AuditExportArgs),
    /// Prints the analytics of a resource over a window (JSON).
    Analytics(AnalyticsArgs),
    /// Prints what a proposed policy would do (JSON); nothing changes.
    Preview(PreviewArgs),
}

/// `report`.
#[derive(Debug, Args)]
#[group(id = "scope", required = true, multiple = false)]
pub struct ReportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Every right on this resource.
    #[arg(long, group = "scope")]
    pub resource: Option<String>,
    /// Every right through this group.
    #[arg(long, group = "scope")]
    pub group: Option<String>,
    /// Every right of this user.
    #[arg(long, group = "scope")]
    pub user: Option<String>,
    /// `csv` or `json`.
    #[arg(long, default_value = "csv")]
    pub format: String,
}

/// `audit-export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// `csv` or `jsonl`.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// At or after (RFC 3339).
    #[arg(long)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before (RFC 3339).
    #[arg(long)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Done by this principal.
    #[arg(long)]
    pub actor: Option<String>,
    /// Concerning this id.
    #[arg(long)]
    pub target: Option<String>,
    /// Of this action, e.g. access.locked.
    #[arg(long)]
    pub action: Option<String>,
}

/// `analytics`.
#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long)]
    pub resource: String,
    /// Start (RFC 3339); default 30 days before `--to`.
    #[arg(long)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// End (RFC 3339); default now.
    #[arg(long)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// `preview`.
#[derive(Debug, Args)]
#[group(id = "target", required = true, multiple = false)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A new default for this resource.
    #[arg(long, group = "target")]
    pub resource: Option<String>,
    /// A new override for this grant.
    #[arg(long, group = "target")]
    pub grant: Option<String>,
    /// The proposed duration, e.g. 7d.
    #[arg(long)]
    pub auto_lock_after: Option<String>,
    /// The proposed approval method.
    #[arg(long)]
    pub approval: Option<String>,
}

/// `bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The admin's id (the token's `sub`).
    #[arg(long)]
    pub id: String,
    /// The admin's email address.
    #[arg(long)]
    pub email: String,
    /// The admin's display name.
    #[arg(long)]
    pub name: String,
}

/// Which clock the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockKind {
    /// Real time.
    System,
    /// Starts at `--start` and moves only through `POST /v1/clock/advance` (admin).
    Manual,
}

/// Where the data lives.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The SQLite database file (created when missing).
    #[arg(long, env = "AUTOLOCK_DB", default_value = "autolock.db")]
    pub db: PathBuf,
}

/// The secret that signs bearer tokens.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// The HS256 secret for bearer tokens (at least 16 bytes).
    #[arg(
        long = "token-secret",
        env = "AUTOLOCK_TOKEN_SECRET",
        hide_env_values = true
    )]
    pub token_secret: Option<String>,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Where to listen.
    #[arg(long, env = "AUTOLOCK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How often the sweep runs, e.g. `60s`, `5m`.
    #[arg(long, env = "AUTOLOCK_SWEEP_INTERVAL", default_value = "60s", value_parser = parse_interval)]
    pub sweep_interval: Duration,
    /// Where the block page is served (links in decisions point here). Default: http://<listen>.
    #[arg(long, env = "AUTOLOCK_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// The admin console that links point at. Default: the public base URL.
    #[arg(long, env = "AUTOLOCK_CONSOLE_BASE_URL")]
    pub console_base_url: Option<String>,
    /// The key that signs block-page links. Default: derived from the token secret.
    #[arg(long = "link-key", env = "AUTOLOCK_LINK_KEY", hide_env_values = true)]
    pub link_key: Option<String>,
    /// The key that signs the console's session cookies (32 bytes or more). Default: derived
    /// from the token secret.
    #[arg(
        long = "session-key",
        env = "AUTOLOCK_SESSION_KEY",
        hide_env_values = true
    )]
    pub session_key: Option<String>,
    #[arg(long, env = "AUTOLOCK_CLOCK", value_enum, default_value = "system")]
    pub clock: ClockKind,
    /// The manual clock's start, RFC 3339 (with `--clock manual`; default: now).
    #[arg(long, env = "AUTOLOCK_CLOCK_START")]
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    /// Seeds a demo directory into an empty database and prints tokens and curl commands.
    #[arg(long)]
    pub demo: bool,
    /// With `--demo`: where to write the shell variables (tokens, ids) of the demo.
    #[arg(long, default_value = "autolock-demo.env")]
    pub demo_env: PathBuf,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

/// How notifications go out, and when users are warned.
#[derive(Debug, Clone, Args)]
pub struct NotifyArgs {
    /// How notification emails go out.
    #[arg(long, env = "AUTOLOCK_EMAIL", value_enum, default_value = "spool")]
    pub email: EmailKind,
    /// With `--email spool`: the folder each email is written to as an `.eml` file.
    #[arg(long, env = "AUTOLOCK_MAIL_SPOOL", default_value = "autolock-mail")]
    pub mail_spool: PathBuf,
    /// With `--email smtp`: the relay, `host:port`.
    #[arg(long, env = "AUTOLOCK_SMTP")]
    pub smtp: Option<String>,
    /// The sender address of notification emails.
    #[arg(
        long,
        env = "AUTOLOCK_MAIL_FROM",
        default_value = "autolock <autolock@autolock.local>"
    )]
    pub mail_from: String,
    /// Warns users this many days before a lock (0: no warnings).
    #[arg(long, env = "AUTOLOCK_LOCK_WARNING_DAYS", default_value_t = 0)]
    pub lock_warning_days: u32,
    /// Lets webhooks target http and local addresses (on with `--demo`).
    #[arg(long, env = "AUTOLOCK_ALLOW_LOCAL_WEBHOOKS")]
    pub allow_local_webhooks: bool,
}

/// How emails go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmailKind {
    /// Not at all (deliveries fail, visibly).
    Off,
    /// Written to a folder.
    Spool,
    /// Through an SMTP relay.
    Smtp,
}

/// `token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub secret: SecretArgs,
    /// The user or service principal id (the token's `sub`).
    #[arg(long)]
    pub user: String,
    /// How long the token is valid, e.g. `12h`, `30d`.
    #[arg(long, default_value = "12h", value_parser = parse_interval)]
    pub ttl: Duration,
}

/// `sign-in-link`.
#[derive(Debug, Args)]
pub struct SignInLinkArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The user to sign in.
    #[arg(long)]
    pub user: String,
    /// The console's base URL (the link points there).
    #[arg(
        long,
        env = "AUTOLOCK_CONSOLE_BASE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub console_base_url: String,
}

/// `sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// The admin console that links in emails point at.
    #[arg(
        long,
        env = "AUTOLOCK_CONSOLE_BASE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub console_base_url: String,
    /// Rights per batch.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
}

/// Parses `90s`, `5m`, `12h`, `30d`.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = autolock_core::values::parse_duration(text, &['d', 'h', 'm', 's'])
        .ok_or_else(|| format!("{text:?} is not a duration like 60s, 5m, 12h or 30d"))?;
    match d.to_std() {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{text:?} must be longer than zero")),
    }
}

impl SecretArgs {
    /// The configured secret, the demo's when `demo`, or a clear error.
    pub fn resolve(&self, demo: bool) -> Result<String, String> {
        match (&self.token_secret, demo) {
            (Some(s), _) if s.len() >= 16 => Ok(s.clone()),
            (Some(_), _) => Err("--token-secret (AUTOLOCK_TOKEN_SECRET) must be at least 16 bytes".into()),
            (None, true) => Ok(DEMO_SECRET.into()),
            (None, false) => Err("set --token-secret or AUTOLOCK_TOKEN_SECRET (at least 16 bytes): it signs bearer tokens".into()),
        }
    }
}

/// Checks that a base URL is an absolute http(s) URL without a trailing path quirk.
pub fn check_base_url(flag: &str, url: &str) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(trimmed.to_owned())
        }
        _ => Err(format!(
            "{flag} must be an http(s) URL like https://autolock.example.com, not {url:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_base_urls_are_checked() {
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("5 m").is_err());
        assert_eq!(
            check_base_url("--public-base-url", "https://a.example.com/"),
            Ok("https://a.example.com".into())
        );
        assert!(
            check_base_url("--public-base-url", "ftp://x")
                .unwrap_err()
                .contains("--public-base-url")
        );
        let secret = SecretArgs { token_secret: None };
        assert!(
            secret
                .resolve(false)
                .unwrap_err()
                .contains("AUTOLOCK_TOKEN_SECRET")
        );
        assert_eq!(secret.resolve(true).unwrap(), DEMO_SECRET);
    }
}
