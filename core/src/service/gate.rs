//! The gate (docs/gateways/README.md): a proxy's forward-authentication check. The gateway's
//! service principal and the header it vouches for its user with, the resource by id or by the
//! host it is reached at, the decision, and the access counted at most once per right per
//! coalescing window.
//!
//! What the gate reads of the directory that rarely changes (the gateway principal, the gate's
//! settings, which resource is reached at which host, which user an email address names) is
//! kept in the warm process for [`GATE_CACHE_TTL`], and forgotten at once in the process that
//! changes the directory or the settings.
//!
//! An allowed decision is kept too, by right, for the gate's `decision_ttl_secs` (5 s unless
//! set; 0: never), but never past the lock instant it knew nor past the moment a check would
//! have to write the access again (the end of the coalescing window of the access recorded):
//! a check it answers is one that would have decided the same and written nothing, and reads
//! nothing. A commit in the process forgets the decisions it may change (every one, on a change
//! of the directory, the requests or the settings; those of the rights whose usage it writes);
//! a change made in another process takes effect here within the time kept. Denials are never
//! kept: an unlock or an approval lets the user in at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;

use crate::Timestamp;
use crate::authz::{Capability, admit, require};
use crate::directory::ServicePrincipal;
use crate::error::{Error, Result};
use crate::ids::{PrincipalId, ResourceId, UserId};
use crate::lock::{DenyReason, RightState};
use crate::ports::{
    Changeset, Committer, DirectoryReader, GateSettings, PageRequest, SettingsStore, StoreResult,
};
use crate::values::Email;

use super::gateway::{Decision, Gateway};

/// How long the warm process keeps a gateway principal, the gate's settings, the map of
/// resources by host and the user an email address names before reading them again. A gateway
/// disabled, a setting changed or an address changed in another process takes effect there
/// within this time.
pub const GATE_CACHE_TTL: StdDuration = StdDuration::from_secs(5);

/// How many gateway principals the cache holds at most.
const MAX_PRINCIPALS: usize = 1024;

/// How many users found by email address the cache holds at most.
const MAX_EMAILS: usize = 100_000;

/// How many rights' decisions the cache holds at most.
const MAX_DECISIONS: usize = 100_000;

/// A host seen on a gate check that no resource is reached at reads the map again only when it
/// is older than this: random hosts cannot make every check a scan of the resources.
const HOST_MISS_RELOAD: StdDuration = StdDuration::from_secs(1);

/// Who the gateway vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateUser {
    /// By autolock id.
    Id(UserId),
    /// By email address.
    Email(Email),
}

/// Which resource the check is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateResource {
    /// By autolock id (the auth URL's `?resource=` or the `X-Autolock-Resource` header).
    Id(ResourceId),
    /// By the host the user asked for (`X-Forwarded-Host`, else `Host`), matched against the
    /// resources' addresses.
    Host(String),
}

/// A gate check's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateAnswer {
    /// The user, when the directory knows them.
    pub user: Option<UserId>,
    /// The resource.
    pub resource: ResourceId,
    /// The decision.
    pub decision: Decision,
}

/// The host a resource's address names, as matched: lower case, without a trailing dot, with
/// its port when it names one. `None` when the address names no host.
#[must_use]
pub fn host_of_address(address: &str) -> Option<String> {
    let rest = address
        .split_once("://")
        .map_or(address, |(_, rest)| rest)
        .trim();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    normalize_host(authority)
}

/// A host as a client wrote it (`Host`, `X-Forwarded-Host`), as matched: lower case, without a
/// trailing dot; the first of a list a proxy joined with commas.
#[must_use]
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.split(',').next().unwrap_or_default().trim();
    let (name, port) = split_port(host);
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(match port {
        Some(p) => format!("{name}:{p}"),
        None => name,
    })
}

/// A host and its port, when it names one (`[::1]:8080`, `example.com:443`).
fn split_port(host: &str) -> (&str, Option<&str>) {
    let is_port = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    if host.starts_with('[') {
        return match host.split_once("]:") {
            Some((name, port)) if is_port(port) => (&host[..=name.len()], Some(port)),
            _ => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) && !name.contains(':') => (name, Some(port)),
        _ => (host, None),
    }
}

/// Which resources are reached at each host, as matched.
type Hosts = Arc<HashMap<String, Vec<ResourceId>>>;

/// What the gate keeps in the warm process (see the module's doc).
#[derive(Default)]
pub(crate) struct GateCache {
    principals: Mutex<HashMap<PrincipalId, (Instant, ServicePrincipal)>>,
    settings: Mutex<Option<(Instant, GateSettings)>>,
    hosts: Mutex<Option<(Instant, Hosts)>>,
    /// The user each address named when read (addresses no user has are read each time).
    emails: Mutex<HashMap<Email, (Instant, UserId)>>,
    decisions: Mutex<HashMap<(UserId, ResourceId), (Decision, Timestamp)>>,
}

fn fresh(at: Instant) -> bool {
    at.elapsed() < GATE_CACHE_TTL
}

/// What a map of the cache keeps for `key`, if it is fresh.
fn kept<K: Eq + std::hash::Hash, V: Clone>(
    map: &Mutex<HashMap<K, (Instant, V)>>,
    key: &K,
) -> Option<V> {
    lock(map)
        .get(key)
        .filter(|(at, _)| fresh(*at))
        .map(|(_, v)| v.clone())
}

/// Keeps `value` for `key` in a map of the cache, which is emptied first when it holds `max`.
fn keep_bounded<K: Eq + std::hash::Hash, V>(
    map: &Mutex<HashMap<K, V>>,
    max: usize,
    key: K,
    value: V,
) {
    let mut map = lock(map);
    if map.len() >= max {
        map.clear();
    }
    map.insert(key, value);
}

/// A cache's lock; one a panic left poisoned still holds a whole value (each write is one
/// assignment), so it is taken as it is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GateCache {
    /// Forgets the directory's part: principals, hosts and users by address.
    pub(crate) fn forget_directory(&self) {
        lock(&self.principals).clear();
        *lock(&self.hosts) = None;
        lock(&self.emails).clear();
    }

    fn user_by_email(&self, email: &Email) -> Option<UserId> {
        kept(&self.emails, email)
    }

    fn keep_user_by_email(&self, email: Email, user: UserId) {
        keep_bounded(&self.emails, MAX_EMAILS, email, (Instant::now(), user));
    }

    /// Forgets the settings.
    pub(crate) fn forget_settings(&self) {
        *lock(&self.settings) = None;
    }

    /// Forgets every decision kept.
    pub(crate) fn forget_decisions(&self) {
        lock(&self.decisions).clear();
    }

    /// Forgets the decisions kept for these rights.
    pub(crate) fn forget_decisions_of(&self, rights: &[(UserId, ResourceId)]) {
        let mut decisions = lock(&self.decisions);
        for right in rights {
            decisions.remove(right);
        }
    }

    /// The decision kept for a right, if it still holds at `now`.
    fn decision(&self, user: &UserId, resource: &ResourceId, now: Timestamp) -> Option<Decision> {
        let decisions = lock(&self.decisions);
        decisions
            .get(&(user.clone(), resource.clone()))
            .filter(|(_, until)| now < *until)
            .map(|(d, _)| d.clone())
    }

    fn keep_decision(&self, user: &UserId, resource: &ResourceId, d: &Decision, until: Timestamp) {
        let right = (user.clone(), resource.clone());
        keep_bounded(&self.decisions, MAX_DECISIONS, right, (d.clone(), until));
    }

    fn principal(&self, id: &PrincipalId) -> Option<ServicePrincipal> {
        kept(&self.principals, id)
    }

    fn keep_principal(&self, sp: &ServicePrincipal) {
        let mut principals = lock(&self.principals);
        if principals.len() >= MAX_PRINCIPALS {
            principals.retain(|_, (at, _)| fresh(*at));
            if principals.len() >= MAX_PRINCIPALS {
                principals.clear();
            }
        }
        principals.insert(sp.id.clone(), (Instant::now(), sp.clone()));
    }
}

impl std::fmt::Debug for GateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateCache").finish_non_exhaustive()
    }
}

/// A committer that makes the gate forget what a commit may have changed: the directory's part
/// on a directory change, the settings on a settings write; every decision on a change of the
/// directory, the requests or the settings, and the decisions of the rights whose usage it
/// writes.
pub(crate) struct Forgetting {
    pub(crate) inner: Arc<dyn Committer>,
    pub(crate) cache: Arc<GateCache>,
}

#[async_trait]
impl Committer for Forgetting {
    async fn commit(&self, changes: Changeset) -> StoreResult<()> {
        let directory = !changes.directory.is_empty();
        let settings = !changes.settings.is_empty();
        let every_decision = directory || settings || !changes.requests.is_empty();
        let rights: Vec<(UserId, ResourceId)> = if every_decision {
            Vec::new()
        } else {
            (changes.usage.iter())
                .map(|w| (w.user.clone(), w.resource.clone()))
                .collect()
        };
        let result = self.inner.commit(changes).await;
        if directory {
            self.cache.forget_directory();
        }
        if settings {
            self.cache.forget_settings();
        }
        if every_decision {
            self.cache.forget_decisions();
        } else {
            self.cache.forget_decisions_of(&rights);
        }
        result
    }

    fn rights_per_commit(&self) -> usize {
        self.inner.rights_per_commit()
    }
}

impl Gateway {
    /// The gateway principal behind an authenticated id: known, active, of role `gateway`
    /// (else 401, 403). Kept for [`GATE_CACHE_TTL`].
    pub async fn gate_principal(&self, caller: &PrincipalId) -> Result<ServicePrincipal> {
        let cache = &self.engine.gate;
        let sp = match cache.principal(caller) {
            Some(sp) => sp,
            None => {
                let directory: &dyn DirectoryReader = self.engine.directory.as_ref();
                // One read when the caller is a service principal; a user or nobody is read
                // again only to say which refusal it is.
                let Some(sp) = directory.service_principal(caller).await? else {
                    let principal = admit(caller, directory.principal(caller).await?)?;
                    require(&principal, Capability::Gateway)?;
                    return Err(Error::Forbidden(format!(
                        "{caller} is not a gateway's service principal"
                    )));
                };
                cache.keep_principal(&sp);
                sp
            }
        };
        let principal = admit(caller, Some(sp.principal()))?;
        require(&principal, Capability::Gateway)?;
        Ok(sp)
    }

    /// The gate's settings, kept for [`GATE_CACHE_TTL`].
    async fn gate_settings(&self) -> Result<GateSettings> {
        let cache = &self.engine.gate;
        if let Some((at, s)) = *lock(&cache.settings) {
            if fresh(at) {
                return Ok(s);
            }
        }
        let settings: &dyn SettingsStore = self.engine.settings.as_ref();
        let s = settings.gate_settings().await?;
        *lock(&cache.settings) = Some((Instant::now(), s));
        Ok(s)
    }

    /// The map of resources by the host of their address, read whole (kept for
    /// [`GATE_CACHE_TTL`]; a miss reads it again when it is older than a second).
    async fn hosts(&self, miss: bool) -> Result<Hosts> {
        let cache = &self.engine.gate;
        if let Some((at, map)) = &*lock(&cache.hosts) {
            if fresh(*at) && !(miss && at.elapsed() >= HOST_MISS_RELOAD) {
                return Ok(Arc::clone(map));
            }
        }
        let mut map: HashMap<String, Vec<ResourceId>> = HashMap::new();
        let mut page = PageRequest::first(1000);
        loop {
            let read = self.engine.directory.resources(&page).await?;
            for r in read.items {
                if let Some(host) = host_of_address(&r.address) {
                    map.entry(host).or_default().push(r.id);
                }
            }
            match read.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        let map = Arc::new(map);
        *lock(&cache.hosts) = Some((Instant::now(), Arc::clone(&map)));
        Ok(map)
    }

    /// The resource reached at `host` (with its port when the address names one, else by name
    /// alone), or a 404 that says no resource is, or a 400 when several are.
    async fn resource_at(&self, host: &str) -> Result<ResourceId> {
        let Some(host) = normalize_host(host) else {
            return Err(crate::ValidationError::new("host", "is not a host name").into());
        };
        let without_port = || host.rsplit_once(':').map(|(name, _)| name.to_owned());
        let find = |map: &HashMap<String, Vec<ResourceId>>| {
            map.get(&host)
                .or_else(|| without_port().and_then(|h| map.get(&h)))
                .cloned()
        };
        let found = match find(&*self.hosts(false).await?) {
            Some(found) => Some(found),
            None => find(&*self.hosts(true).await?),
        };
        match found.as_deref() {
            Some([one]) => Ok(one.clone()),
            Some(several) => Err(crate::ValidationError::new(
                "host",
                format!(
                    "{host:?} is the address of {} resources; name one with ?resource= or X-Autolock-Resource",
                    several.len()
                ),
            )
            .into()),
            None => Err(Error::NotFound(format!("a resource at host {host:?}"))),
        }
    }

    /// A gate check by gateway `sp` (from [`Self::gate_principal`]): may this user reach this
    /// resource now? An allowed check counts as the user's access, written at most once per
    /// right per the gate's coalescing window; a denied one is a denied attempt. A resource
    /// named that does not exist is a 404; a user the directory does not know has no access.
    pub async fn gate(
        &self,
        sp: &ServicePrincipal,
        user: GateUser,
        resource: GateResource,
        now: Timestamp,
    ) -> Result<GateAnswer> {
        let resource = match resource {
            GateResource::Id(id) => id,
            GateResource::Host(host) => self.resource_at(&host).await?,
        };
        let user = match user {
            GateUser::Id(id) => Some(id),
            GateUser::Email(email) => self.user_by_email(email).await?,
        };
        let Some(user) = user else {
            self.must_exist(&resource).await?;
            return Ok(GateAnswer {
                user: None,
                resource,
                decision: Decision {
                    allow: false,
                    state: RightState::NoAccess,
                    reason: Some(DenyReason::NoAccess),
                },
            });
        };
        let cache = &self.engine.gate;
        if let Some(decision) = cache.decision(&user, &resource, now) {
            return Ok(GateAnswer {
                user: Some(user),
                resource,
                decision,
            });
        }
        let actor = sp.principal();
        let settings = self.gate_settings().await?;
        let window = settings.usage_window();
        let window = (window > chrono::Duration::zero()).then_some(window);
        let (decision, fresh_until) = self
            .decide_coalescing(&actor, &user, &resource, window, now)
            .await?;
        let kept_until = fresh_until
            .map(|until| until.min(now + settings.decision_ttl()))
            .filter(|until| *until > now);
        if let Some(until) = kept_until {
            cache.keep_decision(&user, &resource, &decision, until);
        }
        if decision.state == RightState::NoAccess {
            self.must_exist(&resource).await?;
        }
        Ok(GateAnswer {
            user: Some(user),
            resource,
            decision,
        })
    }

    /// The user an email address names, kept for [`GATE_CACHE_TTL`] once found.
    async fn user_by_email(&self, email: Email) -> Result<Option<UserId>> {
        let cache = &self.engine.gate;
        if let Some(user) = cache.user_by_email(&email) {
            return Ok(Some(user));
        }
        let found = self.engine.directory.user_by_email(&email).await?;
        Ok(found.map(|u| {
            cache.keep_user_by_email(email, u.id.clone());
            u.id
        }))
    }

    async fn must_exist(&self, resource: &ResourceId) -> Result<()> {
        match self.engine.directory.resource(resource).await? {
            Some(_) => Ok(()),
            None => Err(Error::NotFound(format!("resource {resource}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_names_its_host_as_matched() {
        assert_eq!(
            host_of_address("https://Wiki.Example.com./a?b").as_deref(),
            Some("wiki.example.com")
        );
        assert_eq!(
            host_of_address("http://127.0.0.1:8081/").as_deref(),
            Some("127.0.0.1:8081")
        );
        assert_eq!(
            host_of_address("git.example.com").as_deref(),
            Some("git.example.com")
        );
        assert_eq!(
            host_of_address("ssh://deploy@db.internal:22").as_deref(),
            Some("db.internal:22")
        );
        assert_eq!(
            host_of_address("http://[::1]:9000/x").as_deref(),
            Some("[::1]:9000")
        );
        assert_eq!(host_of_address("https:///nothing"), None);
        assert_eq!(
            normalize_host("App.example.com, proxy.local").as_deref(),
            Some("app.example.com")
        );
    }
}
