//! Running the `autolock` binary in tests: a temp folder, a free port, the demo.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn autolock() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autolock"));
    c.env_remove("AUTOLOCK_TOKEN_SECRET")
        .env("AUTOLOCK_LOG", "warn")
        .stdin(Stdio::null());
    c
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autolock-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the demo in `dir` (with `extra` arguments) and waits for it to answer; returns the
/// process and its env file.
pub fn start_demo(dir: &Path, port: u16, extra: &[&str]) -> (Child, String) {
    let env = dir.join("autolock-demo.env");
    let _ = std::fs::remove_file(&env);
    let mut child = autolock()
        .current_dir(dir)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && env.exists() {
            return (child, std::fs::read_to_string(&env).unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the demo did not start");
}

pub fn var(env: &str, name: &str) -> String {
    env.lines()
        .find_map(|l| l.strip_prefix(&format!("export {name}=")))
        .unwrap()
        .to_owned()
}
