//! The spool and SMTP senders, SMTP against a minimal SMTP server on loopback.

use autolock_core::delivery::EmailMessage;
use autolock_core::ports::EmailSender;
use autolock_mail::{SmtpSender, SpoolSender};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn message() -> EmailMessage {
    EmailMessage {
        to: "rita@example.com".parse().unwrap(),
        subject: "Access request: Bob asks to regain Gitlab".into(),
        text: "Reason: Release 4.2 needs a hotfix".into(),
        html: "<p>Reason: Release 4.2 needs a hotfix</p>".into(),
    }
}

#[tokio::test]
async fn the_spool_writes_a_text_and_an_html_part() {
    let dir = std::env::temp_dir().join(format!("autolock-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spool = SpoolSender::new(&dir, "autolock <autolock@acme.example.com>").unwrap();
    spool.send(&message()).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("To: rita@example.com"), "{eml}");
    assert!(eml.contains("Subject: Access request: Bob asks to regain Gitlab"));
    assert!(eml.contains("multipart/alternative"));
    assert!(eml.contains("Content-Type: text/plain") && eml.contains("Content-Type: text/html"));
    assert!(eml.contains("<p>Reason: Release 4.2 needs a hotfix</p>"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Accepts one message and returns (recipients, data).
async fn smtp_server(listener: tokio::net::TcpListener) -> (Vec<String>, String) {
    let (socket, _) = listener.accept().await.unwrap();
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
    let (mut rcpt, mut data, mut in_data) = (Vec::new(), String::new(), false);
    while let Some(line) = lines.next_line().await.unwrap() {
        if in_data {
            if line == "." {
                in_data = false;
                write.write_all(b"250 queued\r\n").await.unwrap();
            } else {
                data.push_str(&line);
                data.push('\n');
            }
            continue;
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 test\r\n"
        } else if upper.starts_with("RCPT TO:") {
            rcpt.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            b"250 ok\r\n"
        } else if upper.starts_with("DATA") {
            in_data = true;
            b"354 go on\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await.unwrap();
            break;
        } else {
            b"250 ok\r\n"
        };
        write.write_all(reply).await.unwrap();
    }
    (rcpt, data)
}

#[tokio::test]
async fn smtp_delivers_to_the_relay() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(smtp_server(listener));
    let smtp = SmtpSender::new("127.0.0.1", port, "autolock@acme.example.com").unwrap();
    smtp.send(&message()).await.unwrap();
    let (rcpt, data) = server.await.unwrap();
    assert_eq!(rcpt, ["rita@example.com"]);
    assert!(
        data.contains("Subject: Access request: Bob asks to regain Gitlab"),
        "{data}"
    );
    assert!(data.contains("text/plain") && data.contains("text/html"));
}

#[tokio::test]
async fn an_unreachable_relay_is_a_retryable_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let smtp = SmtpSender::new("127.0.0.1", port, "autolock@acme.example.com").unwrap();
    let err = smtp.send(&message()).await.unwrap_err();
    assert!(err.retryable, "{}", err.message);
}
