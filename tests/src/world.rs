//! A seeded directory for flows: an admin, a DevOps admin, an access reviewer, two members, a
//! gateway, a resource with a 7-day manual default, a group granted on it.

use std::sync::Arc;

use autolock_core::Timestamp;
use autolock_core::directory::{Principal, User};
use autolock_core::ids::{GroupId, PrincipalId, ResourceId, UserId};
use autolock_core::policy::{ApprovalMode, AutoLockAfter, Policy, PolicyOverride};
use autolock_core::ports::{Changeset, DirectoryChange, Store};
use autolock_core::service::{Autolock, NewGrant, NewResource, NewUser};
use autolock_core::values::{Email, Name, Role};
use chrono::{DateTime, Duration};

/// The instant `hours` hours after 2026-01-01T00:00:00Z.
#[must_use]
pub fn h(hours: i64) -> Timestamp {
    DateTime::from_timestamp(1_767_225_600, 0).expect("valid") + Duration::hours(hours)
}

/// `days` days after the start.
#[must_use]
pub fn d(days: i64) -> Timestamp {
    h(days * 24)
}

/// A parsed id.
#[must_use]
pub fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

/// A grant of `resource` to `group` from `h(1)` on, without an expiry or an override, its id
/// `<group>-<resource>`: a change written straight to a store.
#[must_use]
pub fn open_grant(group: &str, resource: &str) -> autolock_core::directory::Grant {
    use autolock_core::directory::{Span, Timed};
    autolock_core::directory::Grant {
        id: id(&format!("{group}-{resource}")),
        group: id(group),
        resource: id(resource),
        span: Span::from(h(1)),
        expiry: vec![Timed {
            at: h(1),
            value: None,
        }],
        overrides: vec![Timed {
            at: h(1),
            value: PolicyOverride::default(),
        }],
        revision: 0,
    }
}

/// The seeded world.
pub struct World {
    /// The use cases.
    pub app: Autolock,
    /// The store under them, for tests to look at what was written.
    pub store: Arc<dyn Store>,
    /// role admin.
    pub admin: Principal,
    /// role devops_admin.
    pub devops: Principal,
    /// role access_reviewer.
    pub reviewer: Principal,
    /// a member in group `eng`.
    pub bob: Principal,
    /// a member in group `eng` too.
    pub carol: Principal,
    /// the gateway.
    pub gateway: Principal,
    /// resource `gitlab`, 7d manual.
    pub gitlab: ResourceId,
    /// group `eng`, granted on gitlab without override.
    pub eng: GroupId,
}

fn principal(id: &str, role: Role) -> Principal {
    Principal {
        id: PrincipalId::parse(id).expect("valid"),
        role,
        active: true,
    }
}

/// Writes the first admin straight into the store (every later change goes through the use
/// cases).
pub async fn bootstrap_admin(store: &Arc<dyn Store>, at: Timestamp) -> Principal {
    let admin = User {
        id: id("ada"),
        email: Email::parse("ada@example.com").expect("valid"),
        display_name: Name::parse("Ada Admin").expect("valid"),
        role: Role::Admin,
        active: true,
        created_at: at,
        revision: 0,
        sessions_after: None,
    };
    store
        .commit(Changeset {
            directory: vec![DirectoryChange::CreateUser(admin)],
            ..Changeset::default()
        })
        .await
        .expect("bootstrap admin");
    principal("ada", Role::Admin)
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").finish_non_exhaustive()
    }
}

impl World {
    /// Seeds the world at T0 in `store`.
    pub async fn seed(store: Arc<dyn Store>) -> Self {
        let t0 = h(0);
        let admin = bootstrap_admin(&store, t0).await;
        let app = Autolock::new(Arc::clone(&store));
        for (uid, name, role) in [
            ("dev", "Dee Vops", Role::DevopsAdmin),
            ("rita", "Rita Reviewer", Role::AccessReviewer),
            ("bob", "Bob Member", Role::Member),
            ("carol", "Carol Member", Role::Member),
        ] {
            app.directory()
                .create_user(
                    &admin,
                    NewUser {
                        id: Some(id(uid)),
                        email: Email::parse(&format!("{uid}@example.com")).expect("valid"),
                        display_name: Name::parse(name).expect("valid"),
                        role,
                    },
                    t0,
                )
                .await
                .expect("create user");
        }
        app.directory()
            .create_service_principal(
                &admin,
                autolock_core::service::NewServicePrincipal {
                    id: Some(id("gw")),
                    name: Name::parse("Gateway").expect("valid"),
                    role: Role::Gateway,
                    identity: autolock_core::directory::GateIdentity::default(),
                },
                t0,
            )
            .await
            .expect("create gateway");
        let gitlab = app
            .directory()
            .create_resource(
                &admin,
                NewResource {
                    id: Some(id("gitlab")),
                    name: Name::parse("Gitlab").expect("valid"),
                    address: "https://gitlab.example.com".into(),
                    policy: Policy {
                        auto_lock_after: AutoLockAfter::Hours(7 * 24),
                        approval: ApprovalMode::Manual,
                    },
                },
                t0,
            )
            .await
            .expect("create resource")
            .id;
        let eng = app
            .directory()
            .create_group(
                &admin,
                Some(id("eng")),
                Name::parse("Engineering").expect("valid"),
                t0,
            )
            .await
            .expect("group")
            .id;
        let world = Self {
            app,
            store,
            admin,
            devops: principal("dev", Role::DevopsAdmin),
            reviewer: principal("rita", Role::AccessReviewer),
            bob: principal("bob", Role::Member),
            carol: principal("carol", Role::Member),
            gateway: principal("gw", Role::Gateway),
            gitlab,
            eng,
        };
        world.grant_eng(&world.gitlab, t0).await;
        for u in ["bob", "carol"] {
            world
                .app
                .directory()
                .add_member(&world.admin, &world.eng, &id::<UserId>(u), t0)
                .await
                .expect("member");
        }
        world
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Carol's access to gitlab at `at`, reported by the gateway (arriving) at `at`, through
    /// `app` (the world's use cases, or others over the same store).
    pub async fn carol_uses_gitlab(&self, app: &Autolock, event: &str, at: Timestamp) {
        app.gateway()
            .record_events(
                &self.gateway,
                vec![autolock_core::service::EventInput {
                    user: self.carol.id.clone(),
                    resource: self.gitlab.clone(),
                    event: autolock_core::lock::AccessEvent {
                        event_id: id(event),
                        accessed_at: at,
                    },
                }],
                at,
            )
            .await
            .expect("events recorded");
    }

    /// The audit entries of one action, oldest first.
    pub async fn audited(
        &self,
        action: autolock_core::audit::AuditAction,
    ) -> Vec<autolock_core::audit::AuditEntry> {
        self.store
            .audit(
                &autolock_core::audit::AuditFilter {
                    action: Some(action),
                    ..autolock_core::audit::AuditFilter::default()
                },
                &autolock_core::ports::PageRequest::default(),
            )
            .await
            .expect("audit read")
            .items
    }

    /// Group `eng`'s grant on gitlab, as the directory holds it now.
    pub async fn eng_grant(&self) -> autolock_core::directory::Grant {
        self.app
            .directory()
            .grant_of(&self.admin, &self.gitlab, &self.eng)
            .await
            .expect("eng's grant on gitlab")
    }

    /// Grants group `eng` `resource` at `at`, with no expiry and the resource's policy.
    pub async fn grant_eng(
        &self,
        resource: &ResourceId,
        at: Timestamp,
    ) -> autolock_core::directory::Grant {
        self.app
            .directory()
            .create_grant(
                &self.admin,
                NewGrant {
                    group: self.eng.clone(),
                    resource: resource.clone(),
                    expires_at: None,
                    policy_override: PolicyOverride::default(),
                },
                at,
            )
            .await
            .expect("grant to eng")
    }

    /// Bob's user id.
    #[must_use]
    pub fn bob_id(&self) -> UserId {
        self.bob.id.clone()
    }

    /// The usage of bob's right on gitlab, as the store holds it.
    pub async fn bob_usage(&self) -> autolock_core::ports::Versioned<autolock_core::lock::Usage> {
        self.store
            .usage(&self.bob.id, &self.gitlab)
            .await
            .expect("usage read")
    }
}

/// Writes the notification settings straight into `store`.
pub async fn put_settings(store: &Arc<dyn Store>, settings: autolock_core::ports::Settings) {
    store
        .commit(Changeset {
            settings: vec![autolock_core::ports::SettingsWrite::Notifications(settings)],
            ..Changeset::default()
        })
        .await
        .expect("settings written");
}

/// Sets (or removes) the webhook straight in `store`.
pub async fn put_webhook(
    store: &Arc<dyn Store>,
    hook: Option<autolock_core::delivery::WebhookSettings>,
) {
    store
        .commit(Changeset {
            settings: vec![autolock_core::ports::SettingsWrite::Webhook(hook)],
            ..Changeset::default()
        })
        .await
        .expect("webhook written");
}

/// A webhook to `url` with a fresh secret.
#[must_use]
pub fn webhook(url: &str) -> autolock_core::delivery::WebhookSettings {
    autolock_core::delivery::WebhookSettings {
        url: autolock_core::delivery::WebhookUrl::parse(url, true).expect("a webhook URL"),
        secret: autolock_core::delivery::WebhookSecret::generate(),
    }
}
