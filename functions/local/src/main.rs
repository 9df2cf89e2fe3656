//! The `autolock` binary: wires configuration, the SQLite store, the router and the sweep.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use autolock_core::directory::Principal;
use autolock_core::error::chain;
use autolock_core::ids::PrincipalId;
use autolock_core::notify::Notifier;
use autolock_core::policy::{FieldPatch, OverridePatch};
use autolock_core::ports::EmailSender;
use autolock_core::ports::{Clock, Store};
use autolock_core::service::Autolock;
use autolock_core::service::{DownloadFormat, DownloadOf, PolicyPatch, PreviewTarget, ReportScope};
use autolock_core::values::{Role, SigningKeys};
use autolock_http::HttpConfig;
use autolock_local::CliError;
use autolock_local::config::{
    AnalyticsArgs, AuditExportArgs, AuditFormat, BootstrapArgs, Cli, ClockKind, Command, EmailKind,
    NotifyArgs, PreviewArgs, ReportArgs, ReportFormat, ServeArgs, SignInLinkArgs, SweepArgs,
    TokenArgs, check_base_url, read_secret,
};
use autolock_local::demo;
use autolock_local::remote::{Remote, commands, policies, printable};
use autolock_mail::{SmtpSender, SpoolSender};
use autolock_sqlite::SqliteStore;
use autolock_webhook::HttpWebhookSender;

fn open(db: &std::path::Path) -> Result<Arc<dyn Store>, CliError> {
    SqliteStore::open(db)
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|source| CliError::Open {
            path: db.to_owned(),
            source,
        })
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn email_sender(args: &NotifyArgs) -> Result<Arc<dyn EmailSender>, CliError> {
    Ok(match args.email {
        EmailKind::Off => Arc::new(autolock_core::ports::EmailDisabled),
        EmailKind::Spool => Arc::new(SpoolSender::new(&args.mail_spool, &args.mail_from)?),
        EmailKind::Smtp => {
            let relay = args
                .smtp
                .as_deref()
                .ok_or("--email smtp needs --smtp host:port (AUTOLOCK_SMTP)")?;
            let (host, port) = relay.rsplit_once(':').ok_or("--smtp must be host:port")?;
            let port = port
                .parse()
                .map_err(|_| format!("--smtp port {port:?} is not a number"))?;
            Arc::new(SmtpSender::new(host, port, &args.mail_from)?)
        }
    })
}

fn notifier(
    email: Arc<dyn EmailSender>,
    store: Arc<dyn Store>,
    console: &str,
    allow_local: bool,
    slack: &autolock_slack::SlackConfig,
) -> Result<Notifier, CliError> {
    let webhook = HttpWebhookSender::new(allow_local, std::time::Duration::from_secs(10));
    let slack = autolock_slack::SlackChannel::new(Arc::clone(&store), slack.clone(), console);
    Ok(Notifier::new(store, email, Arc::new(webhook), console)
        .with_real_time(Arc::new(autolock_core::ports::SystemClock))
        .with_channel(Arc::new(slack)))
}

/// A console sign-in link.
fn sign_in_url(console: &str, token: &str) -> String {
    format!("{}/sign-in/{token}", console.trim_end_matches('/'))
}

/// Writes a file only its owner may read (it holds credentials).
fn write_private(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let what = format!("cannot write {}", path.display());
    let mut file = options.open(path).map_err(CliError::io(&what))?;
    file.write_all(text.as_bytes()).map_err(CliError::io(what))
}

/// Signing keys of their own from the environment or a file — one per line: the current one,
/// then during a rotation the previous one, each at least 32 bytes — or one derived from the
/// token secret.
fn keys(
    var: &str,
    file: Option<&std::path::Path>,
    purpose: &str,
    secret: &str,
) -> Result<SigningKeys, CliError> {
    let text = read_secret(var, file)?.unwrap_or_else(|| format!("{purpose}:{secret}"));
    SigningKeys::parse(&text).map_err(|e| CliError::Config(format!("{var}: {}", e.message)))
}

/// Seeds the demo's directory and history into an empty database (and checks that a database
/// that is not empty is the demo's); the demo people's sign-in links.
async fn seed_demo(
    app: &Autolock,
    now: autolock_core::Timestamp,
    db: &std::path::Path,
    console: &str,
) -> Result<Vec<(&'static str, String)>, CliError> {
    let seeding = |source| CliError::Demo {
        what: "seeding the demo",
        source,
    };
    if demo::is_empty(app).await? {
        // The seeded history is written without the feed guard (its events are replayed at
        // their instants, with gaps no real feed would have); the feed counts as heard when
        // the demo starts.
        let seeder = app.reconfigured(app.options().clone().feed_guard(None));
        demo::seed(&seeder, now).await.map_err(seeding)?;
        app.feed().hear(now).await.map_err(seeding)?;
        tracing::info!(db = %db.display(), "seeded the demo directory");
    }
    demo::check_seeded(app)
        .await
        .map_err(|source| CliError::Demo {
            what: "the demo directory is not the demo's",
            source,
        })?;
    let mut links = Vec::new();
    for who in demo::SIGN_IN_DEMO {
        let link = app
            .sessions()
            .issue_sign_in_for_user(&who.parse()?, chrono::Utc::now())
            .await?;
        links.push((who, sign_in_url(console, &link.token)));
    }
    Ok(links)
}

/// The public base URL (by default the listening address) and the console's (by default the
/// public one).
fn addresses(args: &ServeArgs) -> Result<(String, String), CliError> {
    let public = check_base_url(
        "--public-base-url",
        &args
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.listen)),
    )?;
    let console = check_base_url(
        "--console-base-url",
        &args
            .console_base_url
            .clone()
            .unwrap_or_else(|| public.clone()),
    )?;
    Ok((public, console))
}

async fn serve(args: ServeArgs, demo_mode: bool) -> Result<(), CliError> {
    if demo_mode && !args.listen.ip().is_loopback() && !args.expose {
        return Err(CliError::Config(format!(
            "the demo listens on loopback only (its people and tokens are for trying autolock out); \
             {} is not loopback: add --expose to serve it there anyway",
            args.listen
        )));
    }
    let secret = args.secret.resolve(demo_mode)?;
    let link_keys = keys(
        "AUTOLOCK_LINK_KEY",
        args.link_key_file.as_deref(),
        "block-links",
        &secret,
    )?;
    let session_keys = keys(
        "AUTOLOCK_SESSION_KEY",
        args.session_key_file.as_deref(),
        "console-sessions",
        &secret,
    )?;
    let (public, console) = addresses(&args)?;
    let tokens = args.secret.tokens(&secret, &public)?;
    let start = match args.clock {
        ClockKind::Manual => Some(args.start.unwrap_or_else(chrono::Utc::now)),
        ClockKind::System if args.start.is_some() => {
            return Err("--start goes with --clock manual".into());
        }
        ClockKind::System => None,
    };
    let clock: Arc<dyn Clock> = autolock_local::clock(start);
    // A commit that writes domain events wakes the tick, so that notifications go out at once.
    let wake: autolock_local::Wake = Arc::default();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&args.store.db)
            .map_err(|source| CliError::Open {
                path: args.store.db.clone(),
                source,
            })?
            .with_outbox_hook({
                let wake = Arc::clone(&wake);
                Arc::new(move || wake.notify_one())
            }),
    );
    let allow_local_webhooks = args.notify.allow_local_webhooks || demo_mode;
    let mut options = args.notify.options().local_webhooks(allow_local_webhooks);
    if let Some(provider) = args.sign_on.provider()? {
        tracing::info!(
            issuer = autolock_core::ports::IdentityProvider::issuer(&provider),
            "single sign-on"
        );
        options = options.identity_provider(Arc::new(provider));
    }
    let app = Autolock::with_options(Arc::clone(&store), options);

    if demo_mode {
        let links = seed_demo(&app, clock.now(), &args.store.db, &console).await?;
        let env = demo::env_file(
            &public,
            |id| tokens.mint(id, now_secs(), now_secs() + 30 * 86_400),
            &links,
        );
        write_private(&args.demo_env, &env)?;
        println!(
            "{}",
            demo::describe(&args.demo_env.display().to_string(), &public, &links)
        );
    }

    let email = email_sender(&args.notify)?;
    let slack = args.slack.config()?;
    let notifier = notifier(
        Arc::clone(&email),
        Arc::clone(&store),
        &console,
        allow_local_webhooks,
        &slack,
    )?;
    let interactions = autolock_slack::interactions::Interactions::new(
        app.clone(),
        Arc::clone(&store),
        slack,
        Arc::clone(&clock),
        Arc::new(autolock_core::ports::SystemClock),
    );
    let http = HttpConfig {
        public_base_url: public.clone(),
        console_base_url: console,
    };
    let (router, ticker) = autolock_local::wire(autolock_local::Parts {
        app: app.clone(),
        clock: Arc::clone(&clock),
        notifier,
        tokens,
        link_keys,
        session_keys,
        http,
        slack: Some(interactions),
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(CliError::io(format!("cannot listen on {}", args.listen)))?;
    tracing::info!(listen = %args.listen, clock = ?args.clock, "serving");

    let sweeper = tokio::spawn(autolock_local::run_ticks(
        ticker,
        Arc::clone(&clock),
        args.sweep_interval,
        wake,
    ));
    let limits = autolock_local::server::Limits {
        header_timeout: args.header_timeout,
        request_timeout: args.request_timeout,
        max_connections: usize::from(args.max_connections),
    };
    autolock_local::server::serve(listener, router, limits, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
    .map_err(CliError::io("serving"))?;
    sweeper.abort();
    Ok(())
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let remote = || remote(cli.server.clone(), cli.config.clone());
    let json = cli.json;
    match cli.command {
        Command::Serve(args) => {
            let demo_mode = args.demo;
            serve(*args, demo_mode).await
        }
        Command::Demo(args) => serve(*args, true).await,
        Command::Token(args) => token(&args),
        Command::SignInLink(args) => sign_in_link(args).await,
        Command::Sweep(args) => sweep(args).await,
        Command::Openapi => openapi(),
        Command::Report(args) => report(args).await,
        Command::AuditExport(args) => audit_export(args).await,
        Command::Analytics(args) => analytics(args).await,
        Command::Preview(args) => preview(args).await,
        Command::Bootstrap(args) => bootstrap(args).await,
        Command::Requests(action) => print(commands::requests(&remote()?, action, json).await),
        Command::Rights(args) => print(commands::rights(&remote()?, args, json).await),
        Command::Unlock(args) => print(commands::unlock(&remote()?, args, json).await),
        Command::Audit(args) => print(commands::audit(&remote()?, args, json).await),
        Command::Exemptions(action) => print(commands::exemptions(&remote()?, action, json).await),
        Command::Policies(action) => print(policies::policies(&remote()?, action, json).await),
        Command::Feed => print(policies::feed(&remote()?, json).await),
    }
}

/// Prints what a command of a running autolock answered, printable.
fn print(answer: Result<String, CliError>) -> Result<(), CliError> {
    print!("{}", printable(&answer?));
    Ok(())
}

/// Prints `value` as pretty JSON.
fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(CliError::format("the answer"))?;
    println!("{text}");
    Ok(())
}

/// `token`.
fn token(args: &TokenArgs) -> Result<(), CliError> {
    let public = check_base_url("--public-base-url", &args.public_base_url)?;
    let tokens = args.secret.tokens(&args.secret.resolve(false)?, &public)?;
    let ttl = i64::try_from(args.ttl.as_secs()).unwrap_or(i64::MAX);
    let now = now_secs();
    println!("{}", tokens.mint(&args.user, now, now.saturating_add(ttl)));
    Ok(())
}

/// `sign-in-link`.
async fn sign_in_link(args: SignInLinkArgs) -> Result<(), CliError> {
    let app = Autolock::new(open(&args.store.db)?);
    let console = check_base_url("--console-base-url", &args.console_base_url)?;
    let link = app
        .sessions()
        .issue_sign_in_for_user(&args.user, chrono::Utc::now())
        .await?;
    println!("{}", sign_in_url(&console, &link.token));
    Ok(())
}

/// `sweep`.
async fn sweep(args: SweepArgs) -> Result<(), CliError> {
    let store = open(&args.store.db)?;
    let console = check_base_url("--console-base-url", &args.console_base_url)?;
    let allow_local = args.notify.allow_local_webhooks;
    let email = email_sender(&args.notify)?;
    let notifier = notifier(
        email,
        Arc::clone(&store),
        &console,
        allow_local,
        &args.slack.config()?,
    )?;
    let app = Autolock::with_options(store, args.notify.options());
    let clock: Arc<dyn Clock> = autolock_local::clock(None);
    let ticker = autolock_local::ticker(app, clock, notifier, args.limit);
    let report = ticker.tick(chrono::Utc::now(), &|| true).await?;
    let text = serde_json::to_string(&report).map_err(CliError::format("the tick's report"))?;
    println!("{text}");
    Ok(())
}

/// `openapi`.
fn openapi() -> Result<(), CliError> {
    let doc = <autolock_http::openapi::ApiDoc as utoipa::OpenApi>::openapi();
    let text = doc
        .to_pretty_json()
        .map_err(CliError::format("the OpenAPI document"))?;
    println!("{text}");
    Ok(())
}

/// `report`.
async fn report(args: ReportArgs) -> Result<(), CliError> {
    let app = Autolock::new(open(&args.store.db)?);
    let scope = match (args.resource, args.group, args.user) {
        (Some(r), _, _) => ReportScope::Resource(r),
        (_, Some(g), _) => ReportScope::Group(g),
        (_, _, Some(u)) => ReportScope::User(u),
        _ => return Err("give --resource, --group or --user".into()),
    };
    let fmt = match args.format {
        ReportFormat::Csv => DownloadFormat::Csv,
        ReportFormat::Json => DownloadFormat::Json,
    };
    to_stdout(&app, DownloadOf::Report(scope), fmt).await
}

/// `audit-export`.
async fn audit_export(args: AuditExportArgs) -> Result<(), CliError> {
    let app = Autolock::new(open(&args.store.db)?);
    let fmt = match args.format {
        AuditFormat::Csv => DownloadFormat::Csv,
        AuditFormat::Jsonl => DownloadFormat::Json,
    };
    let filter = autolock_core::audit::AuditFilter {
        from: args.from,
        to: args.to,
        actor: args.actor,
        target: args.target,
        action: args.action,
    };
    to_stdout(&app, DownloadOf::Audit(filter), fmt).await
}

/// `analytics`.
async fn analytics(args: AnalyticsArgs) -> Result<(), CliError> {
    let app = Autolock::new(open(&args.store.db)?);
    let to = args.to.unwrap_or_else(chrono::Utc::now);
    let from = args.from.unwrap_or(to - chrono::Duration::days(30));
    let a = app
        .reports()
        .analytics(&cli_principal(), &args.resource, from, to)
        .await?;
    print_json(&a)
}

/// `preview`.
async fn preview(args: PreviewArgs) -> Result<(), CliError> {
    let app = Autolock::new(open(&args.store.db)?);
    let (duration, approval) = (args.auto_lock_after, args.approval);
    let target = match (args.resource, args.grant) {
        (Some(r), _) => PreviewTarget::Resource(
            r,
            PolicyPatch {
                auto_lock_after: duration,
                approval,
            },
        ),
        (_, Some(g)) => {
            let mut patch = OverridePatch::default();
            if let Some(d) = duration {
                patch.auto_lock_after = FieldPatch::Set(d);
            }
            if let Some(a) = approval {
                patch.approval = FieldPatch::Set(a);
            }
            PreviewTarget::Grant(g, patch)
        }
        _ => return Err("give --resource or --grant".into()),
    };
    let p = app
        .policies()
        .preview(&cli_principal(), &target, chrono::Utc::now())
        .await?;
    print_json(&p)
}

/// `bootstrap`.
async fn bootstrap(args: BootstrapArgs) -> Result<(), CliError> {
    let app = Autolock::new(open(&args.store.db)?);
    let user = app
        .directory()
        .bootstrap_admin(args.id, args.email, args.name, chrono::Utc::now())
        .await?;
    println!("created admin {}", user.id);
    Ok(())
}

/// The client of a running autolock: `--server` (or `AUTOLOCK_SERVER`), the token from
/// `AUTOLOCK_TOKEN`, the config file filling what they leave unset.
fn remote(server: Option<String>, config: Option<std::path::PathBuf>) -> Result<Remote, CliError> {
    let token = std::env::var("AUTOLOCK_TOKEN").ok();
    let target = autolock_local::remote::resolve(server, token, config.as_deref())?;
    Ok(Remote::new(target))
}

/// The CLI works on the local database as an admin of its own.
fn cli_principal() -> Principal {
    Principal {
        id: PrincipalId::built_in("autolock-cli"),
        role: Role::Admin,
        active: true,
    }
}

/// Writes a download to standard output, a page at a time.
async fn to_stdout(app: &Autolock, of: DownloadOf, fmt: DownloadFormat) -> Result<(), CliError> {
    use std::io::Write;
    let mut download = app
        .reports()
        .download(&cli_principal(), of, fmt, chrono::Utc::now())
        .await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = download.next_chunk().await? {
        out.write_all(chunk.as_bytes())
            .map_err(CliError::io("writing to standard output"))?;
    }
    out.flush()
        .map_err(CliError::io("writing to standard output"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("AUTOLOCK_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autolock: {}", printable(&chain(&e)));
            ExitCode::from(2)
        }
    }
}
