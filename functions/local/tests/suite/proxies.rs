//! autolock behind the real proxies, driven with the configurations shipped in docs/gateways:
//! Debian's nginx and Caddy (scripts/proxies installs them; scripts/test runs it) in front of a
//! small upstream, everything on loopback. The demo (`serve --demo --clock manual`) is the
//! directory: on grafana (7 days, automatic approval) bob is active, dave is locked, carol has
//! no path.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::common::{Reply, free_port, http, start_demo, temp_dir, var};

/// The password of every user in the shipped configurations' examples.
const PASSWORD: &str = "open sesame";

/// The app behind the proxy: answers every request with what it was told of the user.
fn start_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer_upstream(stream));
        }
    });
    port
}

fn answer_upstream(mut stream: TcpStream) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let path = text.split(' ').nth(1).unwrap_or("?").to_owned();
    let header = |name: &str| {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map_or("-".to_owned(), |(_, v)| v.trim().to_owned())
    };
    let body = format!(
        "upstream {path} user={} token={}\n",
        header("x-autolock-user"),
        header("x-autolock-token")
    );
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

/// A proxy process, stopped (TERM) when dropped.
struct Proxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    fn wait_ready(mut self) -> Self {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the proxy exited ({status}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return self;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the proxy did not listen: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

/// A program the harness installs, found where Debian puts it.
fn program(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: scripts/proxies installs nginx and caddy");
}

/// A shipped configuration with its example values replaced; every one must be found, so that
/// a test never runs a configuration other than the one shipped.
fn shipped(file: &str, replace: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/gateways")
        .join(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{file} no longer holds {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// nginx with docs/gateways/nginx.conf.
fn start_nginx(dir: &Path, autolock: u16, upstream: u16, token: &str) -> Proxy {
    let port = free_port();
    let htpasswd = dir.join("htpasswd");
    let users: String = ["bob", "dave", "carol"]
        .iter()
        .map(|u| format!("{u}:{{PLAIN}}{PASSWORD}\n"))
        .collect();
    std::fs::write(&htpasswd, users).unwrap();
    let site = shipped(
        "nginx.conf",
        &[
            ("listen 8000;", &format!("listen 127.0.0.1:{port};")),
            ("/etc/nginx/wiki.htpasswd", htpasswd.to_str().unwrap()),
            ("127.0.0.1:3000", &format!("127.0.0.1:{upstream}")),
            ("127.0.0.1:8080", &format!("127.0.0.1:{autolock}")),
            ("resource=wiki", "resource=grafana"),
            ("paste-the-gateway-token-here", token),
        ],
    );
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let d = dir.display();
    let main = format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           include {d}/site.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let log = dir.join("error.log");
    let child = Command::new(program("nginx"))
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(&log)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proxy { child, port, log }.wait_ready()
}

/// Caddy with docs/gateways/Caddyfile.
fn start_caddy(dir: &Path, autolock: u16, upstream: u16, token: &str) -> Proxy {
    let port = free_port();
    let shipped_hash = "$2a$14$gQw006E7AkcvtfVIUmadX.urS614oA/mLrY2..8V/Gc3.v83UErA6";
    let users = format!("bob {shipped_hash}\n\t\tdave {shipped_hash}\n\t\tcarol {shipped_hash}");
    let site = shipped(
        "Caddyfile",
        &[
            ("wiki.example.com {", &format!("http://127.0.0.1:{port} {{")),
            (&format!("bob {shipped_hash}"), &users),
            ("127.0.0.1:3000", &format!("127.0.0.1:{upstream}")),
            ("127.0.0.1:8080", &format!("127.0.0.1:{autolock}")),
            ("resource=wiki", "resource=grafana"),
            ("paste-the-gateway-token-here", token),
        ],
    );
    let config = dir.join("Caddyfile");
    std::fs::write(&config, format!("{{\n\tadmin off\n}}\n\n{site}")).unwrap();
    let log = dir.join("caddy.log");
    let child = Command::new(program("caddy"))
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&config)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("HOME", dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Proxy { child, port, log }.wait_ready()
}

fn basic(user: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{PASSWORD}")))
}

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// As `user`'s browser, through the proxy.
fn browse(proxy: &Proxy, user: &str, path: &str) -> Reply {
    let auth = basic(user);
    http(
        proxy.port,
        "GET",
        path,
        &[("Authorization", &auth), ("Accept", BROWSER)],
        "",
    )
}

/// bob's right on grafana as the API shows it to the admin: its last access.
fn bobs_last_access(autolock: u16, admin: &str) -> serde_json::Value {
    let auth = format!("Bearer {admin}");
    let r = http(
        autolock,
        "GET",
        "/v1/users/bob/rights/grafana",
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let right: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    right["last_access"].clone()
}

fn advance(autolock: u16, admin: &str, by: &str) -> String {
    let auth = format!("Bearer {admin}");
    let r = http(
        autolock,
        "POST",
        "/v1/clock/advance",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &format!("{{\"by\":\"{by}\"}}"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let clock: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    clock["now"].as_str().unwrap().to_owned()
}

/// Every behaviour the issue of the gateways names, through `proxy`.
fn walk(proxy: &Proxy, autolock: u16, env: &str) {
    let admin = var(env, "ADMIN");
    let base = var(env, "AUTOLOCK");

    // An active user reaches the app, which learns who they are; the token stays behind.
    let r = browse(proxy, "bob", "/dashboards/1");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("upstream /dashboards/1 user=bob token=-"),
        "{}",
        r.body
    );

    // That check was bob's access, at this instant; another within the window writes nothing,
    // one after it moves the last access.
    let first = bobs_last_access(autolock, &admin);
    advance(autolock, &admin, "30s");
    assert_eq!(browse(proxy, "bob", "/").status, 200);
    assert_eq!(
        bobs_last_access(autolock, &admin),
        first,
        "written within the window"
    );
    let later = advance(autolock, &admin, "31s");
    assert_eq!(browse(proxy, "bob", "/").status, 200);
    let instant = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let moved = bobs_last_access(autolock, &admin);
    assert_eq!(instant(moved.as_str().unwrap()), instant(&later));

    // A member without a path is refused.
    let r = browse(proxy, "carol", "/");
    assert_eq!(r.status, 403, "{r:?}");
    assert!(!r.body.contains("upstream"));

    // A forged identity header: without the proxy's own authentication the proxy refuses; with
    // it, the proxy's word counts, not the client's header; straight to autolock without the
    // gateway's credential, 401.
    let r = http(
        proxy.port,
        "GET",
        "/",
        &[("X-Forwarded-User", "bob"), ("Accept", BROWSER)],
        "",
    );
    assert_eq!(r.status, 401, "{r:?}");
    let auth = basic("carol");
    let r = http(
        proxy.port,
        "GET",
        "/",
        &[("Authorization", &auth), ("X-Forwarded-User", "bob")],
        "",
    );
    assert_eq!(r.status, 403, "{r:?}");
    let r = http(
        autolock,
        "GET",
        "/v1/gate?resource=grafana",
        &[("X-Forwarded-User", "bob")],
        "",
    );
    assert_eq!(r.status, 401, "{r:?}");

    // A locked user's browser is sent to the block page; an API client gets 403 and the link.
    let r = browse(proxy, "dave", "/dashboards/1");
    assert_eq!(r.status, 302, "{r:?}");
    let block = r.header("location").unwrap().to_owned();
    assert!(block.starts_with(&format!("{base}/block/")), "{block}");
    let auth = basic("dave");
    let r = http(
        proxy.port,
        "GET",
        "/",
        &[("Authorization", &auth), ("Accept", "application/json")],
        "",
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        r.header("x-autolock-block-url")
            .is_some_and(|u| u.starts_with(&format!("{base}/block/"))),
        "{r:?}"
    );
    // ... asks there (automatic approval), and is let through.
    let path = block.trim_start_matches(&base);
    let page = http(autolock, "GET", path, &[], "");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Grafana"), "{}", page.body);
    let filed = http(
        autolock,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "reason=Checking+the+release+dashboards",
    );
    assert!(filed.status < 400, "{filed:?}");
    let r = browse(proxy, "dave", "/dashboards/1");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("user=dave"), "{}", r.body);
}

/// The demo, the upstream and the proxy `start` makes, walked through; all stopped after.
fn behind(name: &str, start: fn(&Path, u16, u16, &str) -> Proxy) {
    let dir = temp_dir(name);
    let port = free_port();
    let (mut demo, env) = start_demo(&dir, port, &["--clock", "manual"]);
    let upstream = start_upstream();
    let proxy_dir = dir.join(name);
    std::fs::create_dir_all(&proxy_dir).unwrap();
    let proxy = start(&proxy_dir, port, upstream, &var(&env, "GATEWAY"));
    walk(&proxy, port, &env);
    drop(proxy);
    let _ = demo.kill();
    let _ = demo.wait();
    // Kept only when the walk failed, for its logs.
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn behind_nginx_with_the_shipped_config() {
    behind("nginx", start_nginx);
}

#[test]
fn behind_caddy_with_the_shipped_config() {
    behind("caddy", start_caddy);
}
