//! The CLI for approvers and admins against a running demo: requests, rights, unlock, audit and
//! exemptions as tables and as JSON, the token from the environment or the config file, and
//! the problem's detail when the API refuses.

use crate::common;

use std::process::Output;

use common::{autolock, free_port, start_demo, temp_dir, var};

struct Demo {
    child: std::process::Child,
    server: String,
    env: String,
    dir: std::path::PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Demo {
    fn start(name: &str) -> Self {
        Self::start_with(name, &[])
    }

    fn start_with(name: &str, extra: &[&str]) -> Self {
        let dir = temp_dir(name);
        let port = free_port();
        let mut args = vec!["--clock", "manual", "--start", "2026-01-01T00:00:00Z"];
        args.extend_from_slice(extra);
        let (child, env) = start_demo(&dir, port, &args);
        Self {
            child,
            server: format!("http://127.0.0.1:{port}"),
            env,
            dir,
        }
    }

    /// Runs `autolock --server ... ARGS` as `who` (a variable of the demo's env file).
    fn run(&self, who: &str, args: &[&str]) -> Output {
        autolock()
            .env("AUTOLOCK_TOKEN", var(&self.env, who))
            .env("XDG_CONFIG_HOME", &self.dir)
            .env_remove("AUTOLOCK_CONFIG")
            .env_remove("AUTOLOCK_SERVER")
            .arg("--server")
            .arg(&self.server)
            .args(args)
            .output()
            .unwrap()
    }

    /// Moves the demo's manual clock by `by` (e.g. `8d`).
    fn advance(&self, by: &str) {
        use std::io::{Read, Write};
        let port = self
            .server
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap();
        let body = format!("{{\"by\":\"{by}\"}}");
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "POST /v1/clock/advance HTTP/1.1\r\nHost: autolock\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            var(&self.env, "ADMIN"),
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    }

    fn ok(&self, who: &str, args: &[&str]) -> String {
        let out = self.run(who, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn an_approver_lists_and_approves_requests_and_reads_rights_and_the_audit() {
    let demo = Demo::start("remote-requests");
    // The demo seeds erin's open request on prod-db.
    let listed = demo.ok("REVIEWER", &["requests", "list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert!(lines[0].starts_with("ID "), "{listed}");
    assert!(lines[0].contains("REASON"), "{listed}");
    let erin = lines
        .iter()
        .find(|l| l.contains("erin") && l.contains("prod-db") && l.contains("open"))
        .unwrap_or_else(|| panic!("{listed}"));
    let id = erin.split_whitespace().next().unwrap();

    // A member may not approve: the problem's detail, and a failed exit.
    let refused = demo.run("BOB", &["requests", "approve", id]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("may not"), "{err}");

    let approved = demo.ok("REVIEWER", &["requests", "approve", id]);
    assert_eq!(
        approved,
        format!("Request {id} is approved: erin on prod-db.\n")
    );
    let again = demo.run("REVIEWER", &["requests", "deny", id]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already approved"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        demo.ok("REVIEWER", &["requests", "list"])
            .contains("No requests."),
        "none open any more"
    );
    let resolved = demo.ok("REVIEWER", &["requests", "list", "--status", "resolved"]);
    assert!(
        resolved.contains(id) && resolved.contains("approved"),
        "{resolved}"
    );

    let rights = demo.ok("REVIEWER", &["rights", "erin"]);
    assert!(
        rights
            .lines()
            .any(|l| l.starts_with("erin") && l.contains("prod-db") && l.contains("active")),
        "{rights}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&demo.ok("REVIEWER", &["--json", "rights", "--resource", "gitlab"]))
            .unwrap();
    assert!(
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["user"] == "bob")
    );

    let audit = demo.ok("ADMIN", &["audit", "--action", "request.resolved"]);
    assert!(
        audit.lines().any(|l| l.contains("request.resolved")
            && l.contains("rita")
            && l.contains("user=erin")),
        "{audit}"
    );
    // Arguments are typed: an instant that is not one is refused before any call, naming it.
    let bad = demo.run("ADMIN", &["audit", "--from", "yesterday"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("'yesterday' for '--from"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let bad = demo.run("ADMIN", &["requests", "approve", "no such id!"]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("for '<ID>'"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn an_admin_unlocks_and_sets_moves_and_ends_exemptions() {
    let demo = Demo::start("remote-exemptions");
    demo.advance("8d");
    // Bob's prod-db (two days, manual) locked on day 2 of the demo's history.
    let rights = demo.ok("ADMIN", &["rights", "bob"]);
    assert!(
        rights
            .lines()
            .any(|l| l.contains("prod-db") && l.contains("locked since")),
        "{rights}"
    );
    let set = demo.ok(
        "DEVOPS",
        &[
            "exemptions",
            "create",
            "--user",
            "bob",
            "--resource",
            "prod-db",
            "--until",
            "2026-01-20T00:00:00Z",
            "--reason",
            "on call this weekend",
        ],
    );
    assert!(
        set.starts_with("Exemption ")
            && set.contains("user bob on prod-db until 2026-01-20 00:00Z"),
        "{set}"
    );
    let id = set.split_whitespace().nth(1).unwrap().to_owned();
    // It never lifts the lock in force; an unlock does.
    let rights = demo.ok("ADMIN", &["rights", "bob"]);
    assert!(
        rights.lines().any(|l| l.contains("prod-db")
            && l.contains("locked since")
            && l.contains("exempt until 2026-01-20")),
        "{rights}"
    );
    let unlocked = demo.ok("DEVOPS", &["unlock", "bob", "prod-db"]);
    assert!(
        unlocked.starts_with("bob is unlocked on prod-db"),
        "{unlocked}"
    );
    let rights = demo.ok("ADMIN", &["rights", "bob"]);
    assert!(
        rights
            .lines()
            .any(|l| l.contains("prod-db") && l.contains("active, locks 2026-01-22 00:00Z")),
        "two days after the exemption's end: {rights}"
    );

    let listed = demo.ok("REVIEWER", &["exemptions", "list", "--resource", "prod-db"]);
    assert!(
        listed.contains(&id) && listed.contains("on call this weekend"),
        "{listed}"
    );
    let moved = demo.ok(
        "ADMIN",
        &[
            "exemptions",
            "change",
            &id,
            "--until",
            "2026-01-25T00:00:00Z",
        ],
    );
    assert_eq!(
        moved,
        format!("Exemption {id} now ends 2026-01-25 00:00Z.\n")
    );
    let too_far = demo.run(
        "ADMIN",
        &[
            "exemptions",
            "change",
            &id,
            "--until",
            "2027-01-01T00:00:00Z",
        ],
    );
    assert!(
        String::from_utf8_lossy(&too_far.stderr).contains("at most 90 days ahead (field until)"),
        "{}",
        String::from_utf8_lossy(&too_far.stderr)
    );
    let ended = demo.ok("ADMIN", &["exemptions", "end", &id]);
    assert!(
        ended.starts_with(&format!("Exemption {id} ended ")),
        "{ended}"
    );
    assert_eq!(
        demo.ok("REVIEWER", &["exemptions", "list", "--user", "bob"]),
        "No exemptions in force.\n"
    );
    let all: serde_json::Value = serde_json::from_str(&demo.ok(
        "REVIEWER",
        &["--json", "exemptions", "list", "--user", "bob", "--all"],
    ))
    .unwrap();
    assert_eq!(all["items"][0]["ended_by"], "ada");
}

#[test]
fn the_token_comes_from_the_config_file_when_the_environment_has_none() {
    let demo = Demo::start("remote-config");
    let config = demo.dir.join("config");
    std::fs::write(
        &config,
        format!(
            "# autolock CLI\nserver = \"{}\"\ntoken = \"{}\"\n",
            demo.server,
            var(&demo.env, "REVIEWER")
        ),
    )
    .unwrap();
    let list = || {
        autolock()
            .env_remove("AUTOLOCK_TOKEN")
            .env_remove("AUTOLOCK_SERVER")
            .env("AUTOLOCK_CONFIG", &config)
            .args(["requests", "list"])
            .output()
            .unwrap()
    };
    // A file that holds a token and that others may read is refused, unread.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = list();
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("chmod 600"));
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = list();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("erin"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let run = || {
            autolock()
                .env_remove("AUTOLOCK_TOKEN")
                .env("AUTOLOCK_CONFIG", &config)
                .args(["requests", "list"])
                .output()
                .unwrap()
        };
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(String::from_utf8_lossy(&run().stderr).contains("chmod 600"));
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
        let quiet = run();
        assert!(
            quiet.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&quiet.stderr)
        );
    }
    let none = autolock()
        .env_remove("AUTOLOCK_TOKEN")
        .env("AUTOLOCK_CONFIG", demo.dir.join("missing"))
        .args(["--server", &demo.server, "requests", "list"])
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("cannot read the config file"));
}

#[test]
fn the_feed_guard_holds_locks_while_no_access_event_arrives_and_the_cli_says_so() {
    let demo = Demo::start_with("remote-feed", &["--feed-guard", "6h"]);
    let status = demo.ok("REVIEWER", &["feed"]);
    assert!(
        status
            .starts_with("The feed guard is on: a silence begins 6h after the last access event."),
        "{status}"
    );
    assert!(!status.contains("SILENT"), "{status}");
    // Eight days without an access event: a silence since six hours after the last one, and
    // bob's prod-db (two days) is not locked.
    demo.advance("8d");
    let status = demo.ok("REVIEWER", &["feed"]);
    assert!(status.contains("SILENT since"), "{status}");
    let rights = demo.ok("REVIEWER", &["rights", "bob"]);
    assert!(
        rights
            .lines()
            .all(|l| !l.contains("locked since 2026-01-0")),
        "nobody locked during the silence: {rights}"
    );
    let audit = demo.ok("ADMIN", &["audit", "--action", "feed.silence_began"]);
    assert!(audit.lines().count() == 2, "one entry: {audit}");
    let json: serde_json::Value =
        serde_json::from_str(&demo.ok("REVIEWER", &["--json", "feed"])).unwrap();
    assert_eq!(json["guard"], "6h");
    assert!(json["silent_since"].is_string());
}

#[test]
fn policies_are_exported_as_yaml_planned_and_applied_from_a_file() {
    let demo = Demo::start("remote-policies");
    let exported = demo.ok("REVIEWER", &["policies", "export"]);
    assert!(
        exported.contains("gitlab:\n    auto_lock_after: 30d\n    approval: manual"),
        "{exported}"
    );
    let file = demo.dir.join("policies.yaml");
    std::fs::write(&file, &exported).unwrap();
    let path = file.to_str().unwrap();
    assert_eq!(
        demo.ok("DEVOPS", &["policies", "plan", path]),
        "No changes: what is in force is what the file says.\n"
    );
    std::fs::write(
        &file,
        exported.replace("auto_lock_after: 30d", "auto_lock_after: 7d"),
    )
    .unwrap();
    let plan = demo.ok("DEVOPS", &["policies", "plan", path]);
    assert!(
        plan.lines()
            .any(|l| l.starts_with("gitlab (default)") && l.contains("30d") && l.contains("7d")),
        "{plan}"
    );
    let applied = demo.ok("DEVOPS", &["policies", "apply", path]);
    assert!(applied.ends_with("Applied 1 change(s).\n"), "{applied}");
    assert!(
        demo.ok("DEVOPS", &["policies", "apply", path])
            .starts_with("No changes")
    );
    let audit = demo.ok(
        "ADMIN",
        &[
            "audit",
            "--action",
            "policy.duration_changed",
            "--actor",
            "dev",
        ],
    );
    assert!(
        audit.contains("{\"after\":\"7d\",\"before\":\"30d\"}"),
        "{audit}"
    );
    std::fs::write(
        &file,
        "resources:\n  gitlab:\n    auto_lock_after: 7 days\n    approval: manual\n",
    )
    .unwrap();
    let bad = demo.run("DEVOPS", &["policies", "plan", path]);
    assert!(!bad.status.success());
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(
        said.contains("line 3") && said.contains("auto_lock_after") && said.contains("7 days"),
        "{said}"
    );
}
