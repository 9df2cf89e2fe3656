//! The SES sender against the SES v2 emulator (moto's server, as `scripts/test` starts it),
//! with the sent message read back from the emulator.

use autolock_core::delivery::EmailMessage;
use autolock_core::ports::EmailSender;
use autolock_ses::SesSender;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn moto_state(endpoint: &str) -> serde_json::Value {
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!("GET /moto-api/ses.json HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn an_email_is_sent_through_ses_and_read_back_from_the_emulator() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("run scripts/test: it starts the SES v2 emulator and sets AWS_ENDPOINT_URL");
    let client = aws_sdk_sesv2::Client::new(&autolock_aws::sdk_config().await);
    let domain = format!("t{}.acme.example.com", std::process::id());
    client
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    let sender = SesSender::new(client, format!("autolock@{domain}"));
    let to = format!("rita-{}@example.com", std::process::id());
    sender
        .send(&EmailMessage {
            to: to.parse().unwrap(),
            subject: "Access request: Bob asks to regain Gitlab".into(),
            text: "Reason: Release 4.2 needs a hotfix".into(),
            html: "<p>Reason: Release 4.2 needs a hotfix</p>".into(),
        })
        .await
        .unwrap();
    let state = moto_state(&endpoint).await;
    let messages = state["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mine: Vec<_> = messages
        .iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"][0] == to.as_str()
                || m["destinations"].to_string().contains(&to)
        })
        .collect();
    assert_eq!(mine.len(), 1, "{state}");
    assert_eq!(
        mine[0]["subject"],
        "Access request: Bob asks to regain Gitlab"
    );
    assert_eq!(mine[0]["source"], format!("autolock@{domain}"));
    assert!(
        mine[0]["body"]
            .as_str()
            .unwrap()
            .contains("<p>Reason: Release 4.2 needs a hotfix</p>"),
        "the emulator keeps the HTML part"
    );

    let unverified = SesSender::new(
        aws_sdk_sesv2::Client::new(&autolock_aws::sdk_config().await),
        "autolock@unverified.example.org",
    );
    let err = unverified
        .send(&EmailMessage {
            to: to.parse().unwrap(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        })
        .await
        .unwrap_err();
    assert!(
        !err.retryable,
        "a rejected sender is final: {}",
        err.message
    );
}
