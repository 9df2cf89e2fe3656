//! The `autolock` binary's safe defaults: the demo stays on loopback unless told otherwise,
//! signs with a secret of its own at each start and writes its credentials only for its owner;
//! secrets come from the environment or a file and are long enough.

use crate::common;

use std::io::{Read, Write};

use common::{autolock, free_port, start_demo, temp_dir, var};

/// `GET /v1/me` with `token`: the status line.
fn me(port: u16, token: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /v1/me HTTP/1.1\r\nHost: autolock\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn the_demo_refuses_to_listen_beyond_loopback_unless_told() {
    let dir = temp_dir("expose");
    let out = autolock()
        .current_dir(&dir)
        .args(["serve", "--demo", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("loopback") && err.contains("--expose"),
        "{err}"
    );
    assert!(!dir.join("autolock-demo.env").exists());
    assert!(!dir.join("autolock.db").exists(), "nothing was set up");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_demo_signs_with_a_new_secret_at_each_start_and_keeps_its_env_file_private() {
    let dir = temp_dir("demo");
    let port = free_port();
    let (mut first, env) = start_demo(&dir, port, &[]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("autolock-demo.env"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let old = var(&env, "ADMIN");
    assert!(me(port, &old).starts_with("HTTP/1.1 200"));
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut second, env) = start_demo(&dir, port, &[]);
    let new = var(&env, "ADMIN");
    assert_ne!(old, new);
    assert!(me(port, &new).starts_with("HTTP/1.1 200"));
    assert!(
        me(port, &old).starts_with("HTTP/1.1 401"),
        "a token of the previous start is refused"
    );
    second.kill().unwrap();
    second.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_demos_provisioner_keeps_users_and_groups_and_nothing_else() {
    let dir = temp_dir("provisioner");
    let port = free_port();
    let (mut demo, env) = start_demo(&dir, port, &[]);
    let auth = format!("Bearer {}", var(&env, "PROVISIONER"));
    let send = |method: &str, path: &str, body: &str| {
        crate::common::http(
            port,
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    };
    let r = send("POST", "/v1/groups", r#"{"id": "sre", "name": "SRE"}"#);
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        "POST",
        "/v1/users",
        r#"{"id": "fay", "email": "fay@example.com", "display_name": "Fay", "role": "member"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(send("PUT", "/v1/groups/sre/members/fay", "").status, 201);
    for (method, path, body) in [
        ("GET", "/v1/access-requests", ""),
        ("GET", "/v1/resources", ""),
        ("PATCH", "/v1/users/fay", r#"{"role": "admin"}"#),
    ] {
        let r = send(method, path, body);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    demo.kill().unwrap();
    demo.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn secrets_come_from_the_environment_or_a_file_and_have_32_bytes() {
    let dir = temp_dir("secrets");
    let short = autolock()
        .env("AUTOLOCK_TOKEN_SECRET", "only-20-bytes-secret")
        .args(["token", "--user", "ada"])
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 32 bytes"));

    let file = dir.join("secret");
    std::fs::write(&file, "a-secret-of-32-bytes-01234567890\n").unwrap();
    let minted = autolock()
        .args(["token", "--user", "ada", "--token-secret-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let token = String::from_utf8(minted.stdout).unwrap();
    let claims = token.trim().split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "ada");
    assert_eq!(claims["iss"], "autolock");
    assert_eq!(claims["aud"], "http://127.0.0.1:8080");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // No flag takes a secret itself.
    let flag = autolock()
        .args(["token", "--user", "ada", "--token-secret", "x"])
        .output()
        .unwrap();
    assert!(!flag.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
