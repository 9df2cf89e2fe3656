//! The `autolock` binary: wires configuration, the SQLite store, the router and the sweep.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use autolock_core::ValidationError;
use autolock_core::directory::Principal;
use autolock_core::notify::Notifier;
use autolock_core::policy::{ApprovalMode, AutoLockAfter, FieldPatch, OverridePatch};
use autolock_core::ports::EmailSender;
use autolock_core::ports::{Clock, Store};
use autolock_core::service::Autolock;
use autolock_core::service::{DownloadFormat, DownloadOf, PolicyPatch, PreviewTarget, ReportScope};
use autolock_core::values::{Role, SigningKeys};
use autolock_http::HttpConfig;
use autolock_local::config::{
    Cli, ClockKind, Command, EmailKind, NotifyArgs, ServeArgs, check_base_url, read_secret,
};
use autolock_local::demo;
use autolock_local::remote::{Remote, commands, policies, printable};
use autolock_mail::{SmtpSender, SpoolSender};
use autolock_sqlite::SqliteStore;
use autolock_webhook::HttpWebhookSender;

fn open(db: &std::path::Path) -> Result<Arc<dyn Store>, String> {
    SqliteStore::open(db)
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| format!("cannot open {}: {e}", db.display()))
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn email_sender(args: &NotifyArgs) -> Result<Arc<dyn EmailSender>, String> {
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
) -> Result<Notifier, String> {
    let webhook = HttpWebhookSender::new(allow_local, std::time::Duration::from_secs(10))?;
    Ok(Notifier::new(store, email, Arc::new(webhook), console)
        .with_real_time(Arc::new(autolock_core::ports::SystemClock)))
}

/// A console sign-in link.
fn sign_in_url(console: &str, token: &str) -> String {
    format!("{}/sign-in/{token}", console.trim_end_matches('/'))
}

/// Writes a file only its owner may read (it holds credentials).
fn write_private(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Signing keys of their own from the environment or a file — one per line: the current one,
/// then during a rotation the previous one, each at least 32 bytes — or one derived from the
/// token secret.
fn keys(
    var: &str,
    file: Option<&std::path::Path>,
    purpose: &str,
    secret: &str,
) -> Result<SigningKeys, String> {
    let text = read_secret(var, file)?.unwrap_or_else(|| format!("{purpose}:{secret}"));
    SigningKeys::parse(&text).map_err(|e| format!("{var}: {}", e.message))
}

async fn serve(args: ServeArgs, demo_mode: bool) -> Result<(), String> {
    if demo_mode && !args.listen.ip().is_loopback() && !args.expose {
        return Err(format!(
            "the demo listens on loopback only (its people and tokens are for trying autolock out); \
             {} is not loopback: add --expose to serve it there anyway",
            args.listen
        ));
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
            .map_err(|e| format!("cannot open {}: {e}", args.store.db.display()))?
            .with_outbox_hook({
                let wake = Arc::clone(&wake);
                Arc::new(move || wake.notify_one())
            }),
    );
    let allow_local_webhooks = args.notify.allow_local_webhooks || demo_mode;
    let app = Autolock::with_options(
        Arc::clone(&store),
        args.notify.options().local_webhooks(allow_local_webhooks),
    );

    if demo_mode {
        if demo::is_empty(&app).await.map_err(|e| e.to_string())? {
            // The seeded history is written without the feed guard (its events are replayed at
            // their instants, with gaps no real feed would have); the feed counts as heard when
            // the demo starts.
            let seeding = app.reconfigured(app.options().clone().feed_guard(None));
            demo::seed(&seeding, clock.now())
                .await
                .map_err(|e| format!("seeding the demo: {e}"))?;
            app.feed()
                .hear(clock.now())
                .await
                .map_err(|e| format!("seeding the demo: {e}"))?;
            tracing::info!(db = %args.store.db.display(), "seeded the demo directory");
        }
        demo::check_seeded(&app)
            .await
            .map_err(|e| format!("the demo directory is not the demo's: {e}"))?;
        let exp = now_secs() + 30 * 86_400;
        let mut links = Vec::new();
        for who in demo::SIGN_IN_DEMO {
            let link = app
                .sessions()
                .issue_sign_in_for_user(
                    &who.parse().map_err(|e: ValidationError| e.to_string())?,
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| e.to_string())?;
            links.push((who, sign_in_url(&console, &link.token)));
        }
        let env = demo::env_file(&public, |id| tokens.mint(id, now_secs(), exp), &links);
        write_private(&args.demo_env, &env)?;
        println!(
            "{}",
            demo::describe(&args.demo_env.display().to_string(), &public, &links)
        );
    }

    let email = email_sender(&args.notify)?;
    let notifier = notifier(
        Arc::clone(&email),
        Arc::clone(&store),
        &console,
        allow_local_webhooks,
    )?;
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
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
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
    .map_err(|e| e.to_string())?;
    sweeper.abort();
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => {
            let demo_mode = args.demo;
            serve(*args, demo_mode).await
        }
        Command::Demo(args) => serve(*args, true).await,
        Command::Token(args) => {
            let public = check_base_url("--public-base-url", &args.public_base_url)?;
            let tokens = args.secret.tokens(&args.secret.resolve(false)?, &public)?;
            let sub = autolock_core::ids::PrincipalId::parse(args.user.as_str())
                .map_err(|e| e.to_string())?;
            let ttl = i64::try_from(args.ttl.as_secs()).map_err(|e| e.to_string())?;
            println!("{}", tokens.mint(&sub, now_secs(), now_secs() + ttl));
            Ok(())
        }
        Command::SignInLink(args) => {
            let app = Autolock::new(open(&args.store.db)?);
            let user = args
                .user
                .parse()
                .map_err(|e: ValidationError| e.to_string())?;
            let console = check_base_url("--console-base-url", &args.console_base_url)?;
            let link = app
                .sessions()
                .issue_sign_in_for_user(&user, chrono::Utc::now())
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", sign_in_url(&console, &link.token));
            Ok(())
        }
        Command::Sweep(args) => {
            let store = open(&args.store.db)?;
            let console = check_base_url("--console-base-url", &args.console_base_url)?;
            let allow_local = args.notify.allow_local_webhooks;
            let email = email_sender(&args.notify)?;
            let notifier = notifier(email, Arc::clone(&store), &console, allow_local)?;
            let app = Autolock::with_options(store, args.notify.options());
            let clock: Arc<dyn Clock> = autolock_local::clock(None);
            let ticker = autolock_local::ticker(app, clock, notifier, args.limit);
            let report = ticker
                .tick(chrono::Utc::now(), &|| true)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string(&report).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::Openapi => {
            let doc = <autolock_http::openapi::ApiDoc as utoipa::OpenApi>::openapi();
            println!("{}", doc.to_pretty_json().map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Report(args) => {
            let app = Autolock::new(open(&args.store.db)?);
            let scope = match (args.resource, args.group, args.user) {
                (Some(r), _, _) => {
                    ReportScope::Resource(r.parse().map_err(|e: ValidationError| e.to_string())?)
                }
                (_, Some(g), _) => {
                    ReportScope::Group(g.parse().map_err(|e: ValidationError| e.to_string())?)
                }
                (_, _, Some(u)) => {
                    ReportScope::User(u.parse().map_err(|e: ValidationError| e.to_string())?)
                }
                _ => return Err("give --resource, --group or --user".into()),
            };
            let fmt = match args.format.as_str() {
                "csv" => DownloadFormat::Csv,
                "json" => DownloadFormat::Json,
                other => return Err(format!("--format {other:?}: allowed are csv and json")),
            };
            let of = DownloadOf::Report(scope);
            to_stdout(&app, of, fmt).await
        }
        Command::AuditExport(args) => {
            let app = Autolock::new(open(&args.store.db)?);
            let fmt = match args.format.as_str() {
                "csv" => DownloadFormat::Csv,
                "jsonl" => DownloadFormat::Json,
                other => return Err(format!("--format {other:?}: allowed are csv and jsonl")),
            };
            let action = args
                .action
                .as_deref()
                .map(|a| {
                    autolock_core::audit::AuditAction::parse(a)
                        .ok_or_else(|| format!("--action {a:?} is not an audit action"))
                })
                .transpose()?;
            let actor = args
                .actor
                .map(|a| a.parse().map_err(|e: ValidationError| e.to_string()))
                .transpose()?;
            let filter = autolock_core::audit::AuditFilter {
                from: args.from,
                to: args.to,
                actor,
                target: args.target,
                action,
            };
            to_stdout(&app, DownloadOf::Audit(filter), fmt).await
        }
        Command::Analytics(args) => {
            let app = Autolock::new(open(&args.store.db)?);
            let to = args.to.unwrap_or_else(chrono::Utc::now);
            let from = args.from.unwrap_or(to - chrono::Duration::days(30));
            let resource = args
                .resource
                .parse()
                .map_err(|e: ValidationError| e.to_string())?;
            let a = app
                .reports()
                .analytics(&cli_principal(), &resource, from, to)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&a).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::Preview(args) => {
            let app = Autolock::new(open(&args.store.db)?);
            let duration = args
                .auto_lock_after
                .as_deref()
                .map(AutoLockAfter::parse)
                .transpose()
                .map_err(|e| e.to_string())?;
            let approval = args
                .approval
                .as_deref()
                .map(ApprovalMode::parse)
                .transpose()
                .map_err(|e| e.to_string())?;
            let target = match (args.resource, args.grant) {
                (Some(r), _) => PreviewTarget::Resource(
                    r.parse().map_err(|e: ValidationError| e.to_string())?,
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
                    PreviewTarget::Grant(
                        g.parse().map_err(|e: ValidationError| e.to_string())?,
                        patch,
                    )
                }
                _ => return Err("give --resource or --grant".into()),
            };
            let p = app
                .policies()
                .preview(&cli_principal(), &target, chrono::Utc::now())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&p).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::Bootstrap(args) => {
            let app = Autolock::new(open(&args.store.db)?);
            let email =
                autolock_core::values::Email::parse(&args.email).map_err(|e| e.to_string())?;
            let name = autolock_core::values::Name::parse(&args.name).map_err(|e| e.to_string())?;
            let id =
                autolock_core::ids::UserId::parse(args.id.as_str()).map_err(|e| e.to_string())?;
            let user = app
                .directory()
                .bootstrap_admin(id, email, name, chrono::Utc::now())
                .await
                .map_err(|e| e.to_string())?;
            println!("created admin {}", user.id);
            Ok(())
        }
        Command::Requests(action) => {
            let (remote, json) = remote(cli.server, cli.config, cli.json)?;
            print!(
                "{}",
                printable(&commands::requests(&remote, action, json).await?)
            );
            Ok(())
        }
        Command::Rights(args) => {
            let (remote, json) = remote(cli.server, cli.config, cli.json)?;
            print!(
                "{}",
                printable(&commands::rights(&remote, args, json).await?)
            );
            Ok(())
        }
        Command::Unlock(args) => {
            let (remote, json) = remote(cli.server, cli.config, cli.json)?;
            print!(
                "{}",
                printable(&commands::unlock(&remote, args, json).await?)
            );
            Ok(())
        }
        Command::Audit(args) => {
            let (remote, json) = remote(cli.server, cli.config, cli.json)?;
            print!(
                "{}",
                printable(&commands::audit(&remote, args, json).await?)
            );
            Ok(())
        }
        Command::Exemptions(action) => {
            let (remote, json) = remote(cli.server, cli.config, cli.json)?;
            print!(
                "{}",
                printable(&commands::exemptions(&remote, action, json).await?)
            );
            Ok(())
        }
        Command::Policies(action) => {
            let (remote, json) = remote(cli.server, cli.config, cli.json)?;
            print!(
                "{}",
                printable(&policies::policies(&remote, action, json).await?)
            );
            Ok(())
        }
        Command::Feed => {
            let (remote, json) = remote(cli.server, cli.config, cli.json)?;
            print!("{}", printable(&policies::feed(&remote, json).await?));
            Ok(())
        }
    }
}

/// The client of a running autolock: `--server` (or `AUTOLOCK_SERVER`), the token from
/// `AUTOLOCK_TOKEN`, the config file filling what they leave unset.
fn remote(
    server: Option<String>,
    config: Option<std::path::PathBuf>,
    json: bool,
) -> Result<(Remote, bool), String> {
    let token = std::env::var("AUTOLOCK_TOKEN").ok();
    let target = autolock_local::remote::resolve(server, token, config.as_deref())?;
    Ok((Remote::new(target)?, json))
}

/// The CLI works on the local database as an admin of its own.
fn cli_principal() -> Principal {
    Principal {
        id: "autolock-cli".parse().expect("valid id"),
        role: Role::Admin,
        active: true,
    }
}

/// Runs a streaming writer and copies what it writes to stdout as it comes.
/// Writes a download to standard output, a page at a time.
async fn to_stdout(app: &Autolock, of: DownloadOf, fmt: DownloadFormat) -> Result<(), String> {
    use std::io::Write;
    let mut download = app
        .reports()
        .download(&cli_principal(), of, fmt, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = download.next_chunk().await.map_err(|e| e.to_string())? {
        out.write_all(chunk.as_bytes()).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
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
        Err(message) => {
            eprintln!("autolock: {}", printable(&message));
            ExitCode::from(2)
        }
    }
}
