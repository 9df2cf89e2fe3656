//! autolock-aws: the AWS SDK configuration shared by the AWS adapters and functions.
//!
//! One HTTPS client (hyper 1 with rustls on ring) built once, and the standard configuration
//! chain: region, credentials and endpoints come from the environment, so the same code talks to
//! AWS, to LocalStack or to local emulators when `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_<SERVICE>` point at them.

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
