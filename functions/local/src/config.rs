//! Command line and environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use autolock_core::audit::AuditAction;
use autolock_core::ids::{GrantId, GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::policy::{ApprovalMode, AutoLockAfter};
use autolock_core::service::{FeedWindow, GroupRoles, LockWarning, Options};
use autolock_core::values::{Email, Name};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::CliError;

/// autolock: usage-based auto-lock for access rights, in one local process.
#[derive(Debug, Parser)]
#[command(name = "autolock", version, about)]
pub struct Cli {
    /// A running autolock to talk to (`requests`, `rights`, `unlock`, `audit`, `exemptions`);
    /// the token comes from `AUTOLOCK_TOKEN` or the config file.
    #[arg(long, global = true, env = "AUTOLOCK_SERVER")]
    pub server: Option<String>,
    /// The config file with `server = "..."` and `token = "..."` (default
    /// `~/.config/autolock/config`).
    #[arg(long, global = true, env = "AUTOLOCK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
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
    /// Lists, approves and denies access requests on a running autolock (`--server`).
    #[command(subcommand)]
    Requests(crate::remote::commands::RequestsAction),
    /// Shows a user's rights, or every right on a resource, on a running autolock.
    Rights(crate::remote::commands::RightsArgs),
    /// Unlocks a user on a resource, on a running autolock.
    Unlock(crate::remote::commands::UnlockArgs),
    /// Shows the audit log of a running autolock, with the filters of the API.
    Audit(crate::remote::commands::AuditArgs),
    /// Lists, sets, moves and ends exemptions from auto-lock on a running autolock.
    #[command(subcommand)]
    Exemptions(crate::remote::commands::ExemptionsAction),
    /// Shows how the usage feed stands on a running autolock: the feed guard, the last access
    /// event received, silences.
    Feed,
    /// Policies as code on a running autolock: export them as YAML, plan and apply a file.
    #[command(subcommand)]
    Policies(crate::remote::policies::PoliciesAction),
}

/// `report`.
#[derive(Debug, Args)]
#[group(id = "scope", required = true, multiple = false)]
pub struct ReportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Every right on this resource.
    #[arg(long, group = "scope")]
    pub resource: Option<ResourceId>,
    /// Every right through this group.
    #[arg(long, group = "scope")]
    pub group: Option<GroupId>,
    /// Every right of this user.
    #[arg(long, group = "scope")]
    pub user: Option<UserId>,
    /// How it is written.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ReportFormat,
}

/// `audit-export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// How it is written.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: AuditFormat,
    /// At or after (RFC 3339).
    #[arg(long)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before (RFC 3339).
    #[arg(long)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Done by this principal.
    #[arg(long)]
    pub actor: Option<PrincipalId>,
    /// Concerning this id.
    #[arg(long)]
    pub target: Option<String>,
    /// Of this action, e.g. access.locked.
    #[arg(long)]
    pub action: Option<AuditAction>,
}

/// `analytics`.
#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The resource.
    #[arg(long)]
    pub resource: ResourceId,
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
    pub resource: Option<ResourceId>,
    /// A new override for this grant.
    #[arg(long, group = "target")]
    pub grant: Option<GrantId>,
    /// The proposed duration, e.g. 7d.
    #[arg(long)]
    pub auto_lock_after: Option<AutoLockAfter>,
    /// The proposed approval method.
    #[arg(long)]
    pub approval: Option<ApprovalMode>,
}

/// `bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The admin's id (the token's `sub`).
    #[arg(long)]
    pub id: UserId,
    /// The admin's email address.
    #[arg(long)]
    pub email: Email,
    /// The admin's display name.
    #[arg(long)]
    pub name: Name,
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A JSON array.
    Json,
}

/// How the audit export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// JSON lines.
    Jsonl,
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

/// The secret that signs bearer tokens, and what tokens must name. Secrets are read from the
/// environment or from a file, never from a flag (a flag shows in the process list).
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// A file holding the HS256 secret of bearer tokens (at least 32 bytes); or set the
    /// secret itself in AUTOLOCK_TOKEN_SECRET.
    #[arg(long = "token-secret-file", env = "AUTOLOCK_TOKEN_SECRET_FILE")]
    pub token_secret_file: Option<PathBuf>,
    /// The issuer tokens name (`iss`).
    #[arg(long, env = "AUTOLOCK_TOKEN_ISSUER", default_value = autolock_http::DEFAULT_ISSUER)]
    pub token_issuer: String,
    /// The audience tokens name (`aud`). Default: the public base URL.
    #[arg(long, env = "AUTOLOCK_TOKEN_AUDIENCE")]
    pub token_audience: Option<String>,
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
    /// How long a client may take to send a request's headers, and how long a kept-alive
    /// connection may stay idle.
    #[arg(long, env = "AUTOLOCK_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_interval)]
    pub header_timeout: Duration,
    /// How long a request may take before it is answered 503.
    #[arg(long, env = "AUTOLOCK_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_interval)]
    pub request_timeout: Duration,
    /// How many connections are served at once (more wait).
    #[arg(long, env = "AUTOLOCK_MAX_CONNECTIONS", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_connections: u16,
    /// Where the block page is served (links in decisions point here). Default: http://<listen>.
    #[arg(long, env = "AUTOLOCK_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// The admin console that links point at. Default: the public base URL.
    #[arg(long, env = "AUTOLOCK_CONSOLE_BASE_URL")]
    pub console_base_url: Option<String>,
    /// A file holding the key that signs block-page links; or set AUTOLOCK_LINK_KEY. Default:
    /// derived from the token secret.
    #[arg(long = "link-key-file", env = "AUTOLOCK_LINK_KEY_FILE")]
    pub link_key_file: Option<PathBuf>,
    /// A file holding the key that signs the console's session cookies (32 bytes or more); or
    /// set AUTOLOCK_SESSION_KEY. Default: derived from the token secret.
    #[arg(long = "session-key-file", env = "AUTOLOCK_SESSION_KEY_FILE")]
    pub session_key_file: Option<PathBuf>,
    /// With `--demo`: serve on an address beyond loopback (the demo's people and tokens are
    /// for trying autolock out, not for a network).
    #[arg(long)]
    pub expose: bool,
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
    #[command(flatten)]
    pub sign_on: SignOnArgs,
    #[command(flatten)]
    pub slack: SlackArgs,
}

/// Slack: where its Web API is, and its secrets when the deployment gives them (else an admin
/// sets them in Settings). Secrets come from AUTOLOCK_SLACK_BOT_TOKEN and
/// AUTOLOCK_SLACK_SIGNING_SECRET or the files their `_FILE` variants name, never from a flag.
#[derive(Debug, Clone, Args)]
pub struct SlackArgs {
    /// Slack's Web API.
    #[arg(long = "slack-api-url", env = "AUTOLOCK_SLACK_API_URL", default_value = autolock_slack::DEFAULT_API_URL)]
    pub slack_api_url: String,
    /// A file holding the bot token (`xoxb-…`); or set AUTOLOCK_SLACK_BOT_TOKEN.
    #[arg(long = "slack-bot-token-file", env = "AUTOLOCK_SLACK_BOT_TOKEN_FILE")]
    pub slack_bot_token_file: Option<PathBuf>,
    /// A file holding the signing secret; or set AUTOLOCK_SLACK_SIGNING_SECRET.
    #[arg(
        long = "slack-signing-secret-file",
        env = "AUTOLOCK_SLACK_SIGNING_SECRET_FILE"
    )]
    pub slack_signing_secret_file: Option<PathBuf>,
}

impl SlackArgs {
    /// What the deployment gives Slack.
    pub fn config(&self) -> Result<autolock_slack::SlackConfig, CliError> {
        let secret = |var: &str, file: Option<&std::path::Path>, field: &str| {
            read_secret(var, file)?
                .map(|text| {
                    autolock_core::delivery::SecretText::parse(field, &text)
                        .map_err(|e| CliError::Config(format!("{var}: {}", e.message)))
                })
                .transpose()
        };
        Ok(autolock_slack::SlackConfig {
            api_url: self.slack_api_url.clone(),
            bot_token: secret(
                "AUTOLOCK_SLACK_BOT_TOKEN",
                self.slack_bot_token_file.as_deref(),
                "bot_token",
            )?,
            signing_secret: secret(
                "AUTOLOCK_SLACK_SIGNING_SECRET",
                self.slack_signing_secret_file.as_deref(),
                "signing_secret",
            )?,
        })
    }
}

/// Single sign-on to the console through an OpenID Connect provider (off unless an issuer is
/// set). The client secret is read from AUTOLOCK_OIDC_CLIENT_SECRET or from the file
/// AUTOLOCK_OIDC_CLIENT_SECRET_FILE names, never from a flag.
#[derive(Debug, Clone, Args)]
pub struct SignOnArgs {
    /// The provider's issuer, e.g. `https://example.okta.com` (its discovery document is at
    /// `<issuer>/.well-known/openid-configuration`).
    #[arg(long = "oidc-issuer", env = "AUTOLOCK_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id the provider gave the console.
    #[arg(long = "oidc-client-id", env = "AUTOLOCK_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// A file holding the client secret; or set AUTOLOCK_OIDC_CLIENT_SECRET. Without either,
    /// the console is a public client (PKCE alone).
    #[arg(
        long = "oidc-client-secret-file",
        env = "AUTOLOCK_OIDC_CLIENT_SECRET_FILE"
    )]
    pub oidc_client_secret_file: Option<PathBuf>,
}

impl SignOnArgs {
    /// The provider these settings name, if an issuer is set.
    pub fn provider(&self) -> Result<Option<autolock_oidc::OidcProvider>, CliError> {
        let Some(issuer) = self.oidc_issuer.clone().filter(|i| !i.trim().is_empty()) else {
            return Ok(None);
        };
        let client_id = self.oidc_client_id.clone().ok_or_else(|| {
            CliError::Config("AUTOLOCK_OIDC_ISSUER is set: set AUTOLOCK_OIDC_CLIENT_ID too".into())
        })?;
        let client_secret = read_secret(
            "AUTOLOCK_OIDC_CLIENT_SECRET",
            self.oidc_client_secret_file.as_deref(),
        )?;
        autolock_oidc::OidcProvider::new(autolock_oidc::OidcConfig {
            issuer,
            client_id,
            client_secret,
        })
        .map(Some)
        .map_err(|e| CliError::Config(e.to_string()))
    }
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
    /// Warns users this many days before a lock (0: no warnings; at most 365).
    #[arg(
        long = "lock-warning-days",
        env = "AUTOLOCK_LOCK_WARNING_DAYS",
        default_value = "0",
        value_parser = lock_warning
    )]
    pub lock_warning: Warnings,
    /// The feed guard: when no access event arrives for this long (e.g. `6h`), time stops
    /// counting toward auto-lock durations and admins are alerted; `off` by default.
    #[arg(long, env = "AUTOLOCK_FEED_GUARD", default_value = "off", value_parser = feed_window)]
    pub feed_guard: FeedGuard,
    /// Lets webhooks target http and local addresses (on with `--demo`).
    #[arg(long, env = "AUTOLOCK_ALLOW_LOCAL_WEBHOOKS")]
    pub allow_local_webhooks: bool,
    /// The roles the identity provider's groups give through SCIM, `group=role,...` (e.g.
    /// `autolock-admins=admin`); none by default.
    #[arg(long, env = "AUTOLOCK_SCIM_GROUP_ROLES", default_value = "", value_parser = group_roles)]
    pub scim_group_roles: GroupRoles,
}

fn group_roles(text: &str) -> Result<GroupRoles, String> {
    GroupRoles::parse(text).map_err(|e| e.message)
}

impl NotifyArgs {
    /// The options of the use cases these flags ask for: tokio's timer between the attempts of
    /// a commit that met a concurrent change, lock warnings, the feed guard.
    #[must_use]
    pub fn options(&self) -> Options {
        Options::default()
            .pause(std::sync::Arc::new(autolock_core::ports::Sleep(
                tokio::time::sleep,
            )))
            .lock_warnings(self.lock_warning.0)
            .feed_guard(self.feed_guard.0)
            .group_roles(self.scim_group_roles.clone())
    }
}

/// Lock warnings as `--lock-warning-days` asks: none for 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warnings(pub Option<LockWarning>);

fn lock_warning(text: &str) -> Result<Warnings, String> {
    let days: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of days, 0 to 365"))?;
    LockWarning::days(days).map(Warnings).map_err(|e| e.message)
}

/// The feed guard's window, or none when it is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedGuard(pub Option<FeedWindow>);

fn feed_window(text: &str) -> Result<FeedGuard, String> {
    FeedWindow::parse(text)
        .map(FeedGuard)
        .map_err(|e| e.message)
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
    pub user: PrincipalId,
    /// How long the token is valid, e.g. `12h`, `30d`.
    #[arg(long, default_value = "12h", value_parser = parse_interval)]
    pub ttl: Duration,
    /// The deployment's public base URL (the token's default audience).
    #[arg(
        long,
        env = "AUTOLOCK_PUBLIC_BASE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_base_url: String,
}

/// `sign-in-link`.
#[derive(Debug, Args)]
pub struct SignInLinkArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The user to sign in.
    #[arg(long)]
    pub user: UserId,
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
    #[command(flatten)]
    pub slack: SlackArgs,
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

/// A secret from the environment variable `var` or the file `file` (its content, without the
/// final line break); `None` when neither is set.
pub fn read_secret(var: &str, file: Option<&std::path::Path>) -> Result<Option<String>, CliError> {
    let from_env = std::env::var(var).ok().filter(|s| !s.is_empty());
    match (from_env, file) {
        (Some(_), Some(_)) => Err(CliError::Config(format!("set {var} or its file, not both"))),
        (Some(s), None) => Ok(Some(s)),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_owned()))
            .map_err(CliError::io(format!(
                "cannot read the secret file {}",
                path.display()
            ))),
        (None, None) => Ok(None),
    }
}

/// A fresh random secret (the demo's, made at each start).
#[must_use]
pub fn random_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl SecretArgs {
    /// The configured secret (at least 32 bytes), a random one for the demo when none is
    /// configured, or a clear error.
    pub fn resolve(&self, demo: bool) -> Result<String, CliError> {
        let min = autolock_http::auth::MIN_SECRET;
        match read_secret("AUTOLOCK_TOKEN_SECRET", self.token_secret_file.as_deref())? {
            Some(s) if s.len() >= min => Ok(s),
            Some(s) => Err(CliError::Config(format!(
                "the token secret (AUTOLOCK_TOKEN_SECRET or --token-secret-file) must be at least {min} bytes; it has {}",
                s.len()
            ))),
            None if demo => Ok(random_secret()),
            None => Err(CliError::Config(format!(
                "set AUTOLOCK_TOKEN_SECRET or --token-secret-file (at least {min} bytes): it signs bearer tokens"
            ))),
        }
    }

    /// The token verifier and minter for a deployment at `public_base_url`.
    pub fn tokens(
        &self,
        secret: &str,
        public_base_url: &str,
    ) -> Result<autolock_http::Hs256, CliError> {
        Ok(autolock_http::Hs256::new(
            secret.as_bytes(),
            self.token_issuer.clone(),
            self.token_audience
                .clone()
                .unwrap_or_else(|| public_base_url.to_owned()),
        )?)
    }
}

/// Checks that a base URL given as `flag` is an absolute http(s) URL; without its trailing
/// slash.
pub fn check_base_url(flag: &str, url: &str) -> Result<String, CliError> {
    autolock_core::values::BaseUrl::parse(flag, url)
        .map(String::from)
        .map_err(|e| CliError::Config(format!("{flag} {}", e.message)))
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
            check_base_url("--public-base-url", "https://a.example.com/").unwrap(),
            "https://a.example.com"
        );
        assert!(
            check_base_url("--public-base-url", "ftp://x")
                .unwrap_err()
                .to_string()
                .contains("--public-base-url")
        );
        let dir = std::env::temp_dir().join(format!("autolock-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let short = dir.join("short");
        std::fs::write(&short, "too-short\n").unwrap();
        let good = dir.join("good");
        std::fs::write(&good, "a-secret-of-32-bytes-01234567890\n").unwrap();
        let args = |file: Option<PathBuf>| SecretArgs {
            token_secret_file: file,
            token_issuer: "autolock".into(),
            token_audience: None,
        };
        // (The tests never set AUTOLOCK_TOKEN_SECRET: the file is the only source here.)
        assert!(
            args(None)
                .resolve(false)
                .unwrap_err()
                .to_string()
                .contains("AUTOLOCK_TOKEN_SECRET")
        );
        assert!(
            args(Some(short))
                .resolve(false)
                .unwrap_err()
                .to_string()
                .contains("at least 32 bytes")
        );
        assert_eq!(
            args(Some(good.clone())).resolve(false).unwrap(),
            "a-secret-of-32-bytes-01234567890"
        );
        let (a, b) = (
            args(None).resolve(true).unwrap(),
            args(None).resolve(true).unwrap(),
        );
        assert!(a.len() >= 32 && a != b, "the demo's secret is random");
        assert!(
            args(Some(dir.join("missing")))
                .resolve(false)
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
