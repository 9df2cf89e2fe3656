//! autolock-aws: what the AWS adapters and functions share — the SDK configuration with one
//! TLS stack (hyper 1 with rustls on ring), reading required settings from the environment, and
//! the functions' log format.
//!
//! Region, credentials and endpoints come from the standard environment, so the same code talks
//! to AWS, to LocalStack or to local emulators when `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_<SERVICE>` point at them.

#[cfg(feature = "testing")]
pub mod testing;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// Loads the SDK configuration from the environment with autolock's HTTPS client.
pub async fn sdk_config() -> SdkConfig {
    let http = Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

/// Waits on the tokio timer: the functions' pause between the attempts of a commit that met a
/// concurrent change.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioPause;

#[async_trait::async_trait]
impl autolock_core::ports::Pause for TokioPause {
    async fn pause(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A required environment variable, or an error naming it.
pub fn required(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!("set the environment variable {name}")),
    }
}

/// The optional `LOCK_WARNING_DAYS`, 0 (unset: no lock warnings) to 365.
pub fn lock_warning_days() -> Result<u32, String> {
    match std::env::var("LOCK_WARNING_DAYS") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .ok()
            .filter(|d| *d <= 365)
            .ok_or_else(|| format!("LOCK_WARNING_DAYS must be 0 to 365 days, not {v:?}")),
        _ => Ok(0),
    }
}

/// The feed guard's window from `FEED_GUARD` (`6h`, `30m`, `1d`; unset, empty or `off`: no
/// guard), docs/semantics.md §2.10.
pub fn feed_guard() -> Result<Option<chrono::Duration>, String> {
    autolock_core::feed::parse_window(&std::env::var("FEED_GUARD").unwrap_or_default())
        .map_err(|e| format!("FEED_GUARD: {}", e.message))
}

/// Logs for CloudWatch: no colours, no timestamps (CloudWatch adds them), level from
/// `RUST_LOG` (default info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}
