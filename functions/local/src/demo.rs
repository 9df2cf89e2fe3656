//! The demo directory: users of every role, groups, resources with different policies and an
//! override, and a usage history such that some rights are already locked and one request is
//! open when the clock reaches `start`.

use std::fmt::Write as _;

use autolock_core::Timestamp;
use autolock_core::directory::Principal;
use autolock_core::error::Result;
use autolock_core::ids::{EventId, GroupId, PrincipalId, ResourceId};
use autolock_core::lock::AccessEvent;
use autolock_core::policy::{ApprovalMode, AutoLockAfter, Policy, PolicyOverride};
use autolock_core::service::{Autolock, EventInput, NewGrant, NewResource, NewUser};
use autolock_core::values::{Email, Name, Reason, Role};
use chrono::Duration;

/// The people of the demo, with their roles: (id, name, role).
pub const PEOPLE: [(&str, &str, Role); 7] = [
    ("ada", "Ada Admin", Role::Admin),
    ("dev", "Dee Vops", Role::DevopsAdmin),
    ("rita", "Rita Reviewer", Role::AccessReviewer),
    ("bob", "Bob Builder", Role::Member),
    ("carol", "Carol Contractor", Role::Member),
    ("dave", "Dave Dormant", Role::Member),
    ("erin", "Erin Oncall", Role::Member),
];

/// The gateway's service principal.
pub const GATEWAY: &str = "gateway";

/// The identity provider's service principal (role `provisioner`).
pub const PROVISIONER: &str = "provisioner";

fn parsed<T: std::str::FromStr<Err = autolock_core::ValidationError>>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|e| panic!("demo value {s:?}: {e}"))
}

fn principal(id: &str, role: Role) -> Principal {
    Principal {
        id: parsed(id),
        role,
        active: true,
    }
}

/// Whether the directory is empty (the demo seeds only then).
pub async fn is_empty(app: &Autolock) -> Result<bool> {
    app.directory().directory_is_empty().await
}

/// Seeds the demo so that it reads as described at `start`.
pub async fn seed(app: &Autolock, start: Timestamp) -> Result<()> {
    let t0 = start - Duration::days(40);
    let admin = principal("ada", Role::Admin);
    seed_people(app, &admin, t0).await?;
    seed_resources(app, &admin, t0).await?;
    seed_groups(app, &admin, start, t0).await?;
    seed_usage(app, start, t0).await?;
    // Dave never used anything: locked on gitlab (30 d) and grafana (7 d). Erin never used
    // prod-db since she joined on-call (2 d): locked; she asked to get back in.
    let erin = principal("erin", Role::Member);
    app.requests()
        .file_request(
            &erin,
            &parsed("prod-db"),
            Reason::parse("Investigating the overnight replication alert")?,
            start - Duration::days(1),
        )
        .await?;
    app.sweep().sweep(start, 10_000).await?;
    Ok(())
}

/// The people: Ada the admin first, then the others, the demo gateway and provisioner.
async fn seed_people(app: &Autolock, admin: &Principal, t0: Timestamp) -> Result<()> {
    app.directory()
        .bootstrap_admin(
            parsed("ada"),
            Email::parse("ada@example.com")?,
            Name::parse("Ada Admin")?,
            t0,
        )
        .await?;
    for (id, name, role) in &PEOPLE[1..] {
        let new = NewUser {
            id: Some(parsed(id)),
            email: Email::parse(&format!("{id}@example.com"))?,
            display_name: Name::parse(name)?,
            role: *role,
        };
        app.directory().create_user(admin, new, t0).await?;
    }
    for (id, name, role) in [
        (GATEWAY, "Demo gateway", Role::Gateway),
        (PROVISIONER, "Demo identity provider", Role::Provisioner),
    ] {
        app.directory()
            .create_service_principal(
                admin,
                autolock_core::service::NewServicePrincipal {
                    id: Some(parsed(id)),
                    name: Name::parse(name)?,
                    role,
                    identity: autolock_core::directory::GateIdentity::default(),
                },
                t0,
            )
            .await?;
    }
    Ok(())
}

/// Gitlab (30 days, manual), Grafana (7 days, automatic), the production database (1 day).
async fn seed_resources(app: &Autolock, admin: &Principal, t0: Timestamp) -> Result<()> {
    let policy = |days: u32, approval| Policy {
        auto_lock_after: AutoLockAfter::Hours(days * 24),
        approval,
    };
    for (id, name, address, p) in [
        (
            "gitlab",
            "Gitlab",
            "https://gitlab.example.com",
            policy(30, ApprovalMode::Manual),
        ),
        (
            "grafana",
            "Grafana",
            "https://grafana.example.com",
            policy(7, ApprovalMode::Automatic),
        ),
        (
            "prod-db",
            "Production database",
            "prod-db.internal:5432",
            policy(1, ApprovalMode::Manual),
        ),
    ] {
        let new = NewResource {
            id: Some(parsed(id)),
            name: Name::parse(name)?,
            address: address.into(),
            policy: p,
        };
        app.directory().create_resource(admin, new, t0).await?;
    }
    Ok(())
}

/// The groups, their members, and their grants (the contractors' expiring in 90 days, on-call's
/// overriding the production database's duration).
async fn seed_groups(
    app: &Autolock,
    admin: &Principal,
    start: Timestamp,
    t0: Timestamp,
) -> Result<()> {
    for (id, name, members) in [
        ("engineering", "Engineering", &["bob", "dave", "erin"][..]),
        ("contractors", "Contractors", &["carol"][..]),
        ("oncall", "On-call", &["bob", "erin"][..]),
    ] {
        let group: GroupId = parsed(id);
        app.directory()
            .create_group(admin, Some(group.clone()), Name::parse(name)?, t0)
            .await?;
        for m in members {
            app.directory()
                .add_member(admin, &group, &parsed(m), t0)
                .await?;
        }
    }
    for (group, resource, o) in [
        ("engineering", "gitlab", PolicyOverride::default()),
        ("contractors", "gitlab", PolicyOverride::default()),
        ("engineering", "grafana", PolicyOverride::default()),
        (
            "oncall",
            "prod-db",
            PolicyOverride {
                auto_lock_after: Some(AutoLockAfter::Hours(48)),
                approval: None,
            },
        ),
    ] {
        let expires_at = (group == "contractors").then(|| start + Duration::days(90));
        app.directory()
            .create_grant(
                admin,
                NewGrant {
                    group: parsed(group),
                    resource: parsed(resource),
                    expires_at,
                    policy_override: o,
                },
                t0,
            )
            .await?;
    }
    Ok(())
}

/// Usage, reported as it happened: bob and erin work on gitlab every few days, bob looks at
/// grafana and is on call on prod-db daily, carol (a contractor) drops by now and then.
async fn seed_usage(app: &Autolock, start: Timestamp, t0: Timestamp) -> Result<()> {
    let gateway = principal(GATEWAY, Role::Gateway);
    let mut events = Vec::new();
    for (user, resource, every_hours) in [
        ("bob", "gitlab", 4 * 24),
        ("bob", "grafana", 3 * 24),
        ("bob", "prod-db", 20),
        ("carol", "gitlab", 9 * 24),
        ("erin", "gitlab", 5 * 24),
    ] {
        let mut at = start - Duration::hours(1);
        while at > t0 {
            events.push((at, user, resource));
            at -= Duration::hours(every_hours);
        }
    }
    events.sort_by_key(|e| e.0);
    for (n, (at, user, resource)) in events.into_iter().enumerate() {
        let event = AccessEvent {
            event_id: EventId::parse(format!("demo-{n}"))?,
            accessed_at: at,
        };
        app.gateway()
            .record_events(
                &gateway,
                vec![EventInput {
                    user: parsed(user),
                    resource: parsed(resource),
                    event,
                }],
                at,
            )
            .await?;
    }
    Ok(())
}

/// Checks that the directory is the demo's: the walk-through edits the grant of contractors on
/// gitlab.
pub async fn check_seeded(app: &Autolock) -> Result<()> {
    let admin = principal("ada", Role::Admin);
    app.directory()
        .grant_of(
            &admin,
            &parsed::<ResourceId>("gitlab"),
            &parsed("contractors"),
        )
        .await
        .map(|_| ())
}

/// The demo people `serve --demo` prints a console sign-in link for.
pub const SIGN_IN_DEMO: [&str; 3] = ["ada", "rita", "bob"];

/// Shell lines that export a token per demo principal, the API address and the console sign-in
/// links.
#[must_use]
pub fn env_file(
    base_url: &str,
    token: impl Fn(&PrincipalId) -> String,
    links: &[(&str, String)],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "export AUTOLOCK={base_url}");
    for (id, var) in [
        ("ada", "ADMIN"),
        ("dev", "DEVOPS"),
        ("rita", "REVIEWER"),
        ("bob", "BOB"),
        ("carol", "CAROL"),
        ("dave", "DAVE"),
        ("erin", "ERIN"),
        (GATEWAY, "GATEWAY"),
        (PROVISIONER, "PROVISIONER"),
    ] {
        let _ = writeln!(out, "export {var}={}", token(&parsed(id)));
    }
    for (who, link) in links {
        let _ = writeln!(out, "export SIGN_IN_{}={link}", who.to_uppercase());
    }
    out
}

/// Who is who, for the console.
#[must_use]
pub fn describe(env_path: &str, base_url: &str, links: &[(&str, String)]) -> String {
    let mut sign_in = String::new();
    for (who, link) in links {
        let _ = writeln!(sign_in, "  {who:<5} {link}");
    }
    format!(
        r#"
autolock demo is ready at {base_url}

  people  ada (admin), dev (devops_admin), rita (access_reviewer),
          bob, carol, dave, erin (members); gateway and provisioner
          (service principals)
  state   dave is locked out of gitlab and grafana (never used them);
          erin is locked out of prod-db and has an open request

The console, signed in with a one-time link (15 minutes; more with
`autolock sign-in-link --user ID`):

{sign_in}
Tokens and ids are in {env_path}. In another shell:

  . ./{env_path}
  curl -s -H "Authorization: Bearer $GATEWAY" -H 'Content-Type: application/json' \
       -d '{{"user_id":"dave","resource_id":"gitlab"}}' $AUTOLOCK/v1/access/check
  curl -s -H "Authorization: Bearer $REVIEWER" $AUTOLOCK/v1/access-requests
  curl -s -H "Authorization: Bearer $ADMIN" "$AUTOLOCK/v1/audit?target=dave"

The README walks through the rest.
"#
    )
}
