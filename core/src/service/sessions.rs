//! Signing in to the console (docs/semantics.md §6). Through the organisation's identity
//! provider (single sign-on, OpenID Connect), where one is configured: the person is matched
//! by the subject remembered at an earlier sign-on, else by the verified email address the
//! provider vouches for, and then remembered by their subject. Without it, or beside it unless
//! an admin turned links off: a one-time link, valid for 15 minutes, issued to an active user
//! and stored only by its digest; redeemed once, it tells the console whom to open a session
//! for. Every sign-in is audited, with its method.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::Timestamp;
use crate::audit::AuditAction;
use crate::directory::{Principal, User};
use crate::error::{Conflict, Error, Result, StoreError};
use crate::events::{DirectoryEdit, DomainEvent};
use crate::ids::UserId;
use crate::ports::{
    Changeset, ConsumedLink, DirectoryChange, IdentityProvider, IssuedLink, SignOnError,
    SignOnFlow, SignOnStart, ThrottleWrite, VerifiedIdentity,
};
use crate::values::Email;

use std::sync::Arc;

use super::engine::Engine;
use crate::ports::SignInLinks;

/// How long a sign-in link works.
pub const SIGN_IN_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// How long a sign-on may take at the identity provider, from its start to its return.
pub const SIGN_ON_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// How the sign-in page may sign people in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInOptions {
    /// Through the identity provider (single sign-on), where one is configured.
    pub single_sign_on: bool,
    /// By an emailed one-time link, unless an admin turned links off.
    pub email_links: bool,
}

/// A sign-in link just issued: its token (shown once, in the link) and whom it signs in.
#[derive(Clone, PartialEq, Eq)]
pub struct SignInLink {
    /// The secret part of the link.
    pub token: String,
    /// The user it signs in.
    pub user: User,
}

impl std::fmt::Debug for SignInLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInLink")
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

fn digest(token: &str) -> String {
    let hash = Sha256::digest(token.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The longest window a throttle counts uses in.
const THROTTLE_WINDOW: chrono::Duration = chrono::Duration::hours(1);
/// Sign-in emails per address: one a minute, five an hour.
const PER_ADDRESS: [(chrono::Duration, usize); 2] = [
    (chrono::Duration::minutes(1), 1),
    (chrono::Duration::hours(1), 5),
];
/// Sign-in emails asked for by one client: five a minute, twenty an hour.
const PER_CLIENT: [(chrono::Duration, usize); 2] = [
    (chrono::Duration::minutes(1), 5),
    (chrono::Duration::hours(1), 20),
];

/// The uses of a limited action with one more at `now`, if every limit still admits one: at
/// most `max` within each `window` before `now`. Uses older than the longest window are left
/// out.
fn admitted(
    hits: &[Timestamp],
    now: Timestamp,
    limits: &[(chrono::Duration, usize)],
) -> Option<Vec<Timestamp>> {
    let within = |window: chrono::Duration| hits.iter().filter(|h| **h > now - window).count();
    if limits.iter().any(|(window, max)| within(*window) >= *max) {
        return None;
    }
    let mut kept: Vec<Timestamp> = hits
        .iter()
        .copied()
        .filter(|h| *h > now - THROTTLE_WINDOW)
        .collect();
    kept.push(now);
    Some(kept)
}

/// Issues a sign-in link for `user` at real time `now`, stored by its digest: the token to put
/// in the link, valid for [`SIGN_IN_TTL`] and once.
pub(crate) async fn issue_link(
    store: &dyn crate::ports::Committer,
    user: &UserId,
    now: Timestamp,
) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::backend_says(format!("the random source: {e}")))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let changes = Changeset {
        sign_in_links: vec![IssuedLink {
            digest: digest(&token),
            user: user.clone(),
            expires_at: now + SIGN_IN_TTL,
        }],
        ..Changeset::default()
    };
    store.commit(changes).await?;
    Ok(token)
}

/// Sign-in links and console sessions.
#[derive(Clone)]
pub struct Sessions {
    pub(crate) engine: Engine,
    pub(crate) links: Arc<dyn SignInLinks>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    pub(crate) fn new(engine: &Engine, links: Arc<dyn SignInLinks>) -> Self {
        Self {
            engine: engine.clone(),
            links,
        }
    }
}

impl Sessions {
    /// Issues a sign-in link for a user by id (the command line, the demo). Refused for an
    /// inactive user.
    pub async fn issue_sign_in_for_user(&self, id: &UserId, now: Timestamp) -> Result<SignInLink> {
        let user = self.engine.existing_user(id).await?;
        if !user.active {
            return Err(Error::Forbidden(format!("{id} is deactivated")));
        }
        self.issue_sign_in(user, now).await
    }

    async fn issue_sign_in(&self, user: User, now: Timestamp) -> Result<SignInLink> {
        let token = issue_link(self.engine.commit.as_ref(), &user.id, now).await?;
        Ok(SignInLink { token, user })
    }

    /// How the sign-in page may sign people in (anyone may ask).
    pub async fn sign_in_options(&self) -> Result<SignInOptions> {
        Ok(SignInOptions {
            single_sign_on: self.engine.options.identity_provider.is_some(),
            email_links: self.engine.settings.sign_in_settings().await?.email_links,
        })
    }

    fn identity_provider(&self) -> Result<&Arc<dyn IdentityProvider>> {
        self.engine
            .options
            .identity_provider
            .as_ref()
            .ok_or_else(|| {
                Error::Unavailable(
                    "single_sign_on",
                    "single sign-on is not configured here: sign in with a link".into(),
                )
            })
    }

    /// Starts a sign-on at the identity provider, to come back to `redirect_uri`: where to
    /// send the browser, and the flow it must keep until it returns.
    pub async fn start_single_sign_on(&self, redirect_uri: &str) -> Result<SignOnStart> {
        self.identity_provider()?
            .start(redirect_uri)
            .await
            .map_err(sign_on_error)
    }

    /// Finishes a sign-on that came back to `redirect_uri` with `code`, for the `flow` the
    /// browser kept (its `state` already compared with the one that came back), at real time
    /// `now`: the principal to open a session for, the sign-in audited at `recorded_at`.
    ///
    /// A flow finishes once (a second time, even with a code the provider would take again, is
    /// a `link_used` conflict, before the provider is asked anything). The person is the user
    /// remembered for their subject at this provider, else the user with the email address the
    /// provider verified, whose subject is then remembered. Nobody known: `Unauthenticated`;
    /// a deactivated user: `Inactive`; an answer of the provider that does not verify:
    /// `Forbidden`. Nothing is written but the flow's use when it is refused.
    pub async fn finish_single_sign_on(
        &self,
        redirect_uri: &str,
        code: &str,
        flow: &SignOnFlow,
        now: Timestamp,
        recorded_at: Timestamp,
    ) -> Result<Principal> {
        let provider = self.identity_provider()?;
        let once = Changeset {
            consumed_links: vec![ConsumedLink {
                id: format!("signon:{}", digest(&flow.state)),
                expires_at: now + SIGN_ON_TTL,
            }],
            ..Changeset::default()
        };
        match self.engine.commit.commit(once).await {
            Err(StoreError::AlreadyExists(_)) => {
                return Err(Error::Conflict(
                    Conflict::LinkUsed,
                    "this sign-in was completed already: start again".into(),
                ));
            }
            other => other?,
        }
        let identity = provider
            .finish(redirect_uri, code, flow)
            .await
            .map_err(sign_on_error)?;
        let (user, remember) = self.identified(&identity).await?;
        if !user.active {
            return Err(Error::Inactive(format!(
                "{} is deactivated in autolock: ask an admin",
                user.id
            )));
        }
        let mut changes = Changeset::default();
        if remember {
            changes.directory.push(DirectoryChange::LinkSignInIdentity {
                user: user.id.clone(),
                issuer: identity.issuer.clone(),
                subject: identity.subject.clone(),
            });
        }
        changes.record(
            DirectoryEdit::new(
                AuditAction::SignedIn,
                Some(&user.id),
                serde_json::json!({"method": "oidc", "issuer": identity.issuer}),
            )
            .principal(&user.id)
            .event(),
            recorded_at,
        );
        self.engine.commit.commit(changes).await?;
        Ok(Principal {
            id: user.id,
            role: user.role,
            active: user.active,
        })
    }

    /// The active user an identity at another system is (a Slack user who clicked a button):
    /// the one remembered for its subject at that issuer, else the one with the address it
    /// verified, whose subject is then remembered. Nobody: `Unauthenticated`; a deactivated
    /// user: `Inactive`. Nothing is audited: this is no sign-in.
    pub async fn identify(&self, identity: &VerifiedIdentity) -> Result<Principal> {
        let (user, remember) = self.identified(identity).await?;
        if !user.active {
            return Err(Error::Inactive(format!(
                "{} is deactivated in autolock",
                user.id
            )));
        }
        if remember {
            let link = Changeset {
                directory: vec![DirectoryChange::LinkSignInIdentity {
                    user: user.id.clone(),
                    issuer: identity.issuer.clone(),
                    subject: identity.subject.clone(),
                }],
                ..Changeset::default()
            };
            self.engine.commit.commit(link).await?;
        }
        Ok(Principal {
            id: user.id,
            role: user.role,
            active: user.active,
        })
    }

    /// The user an identity is: the one remembered for its subject, else (to be remembered)
    /// the one with its verified address, as written or in lower case.
    async fn identified(&self, identity: &VerifiedIdentity) -> Result<(User, bool)> {
        let directory = &self.engine.directory;
        if let Some(id) = directory
            .user_of_sign_in_identity(&identity.issuer, &identity.subject)
            .await?
        {
            if let Some(user) = directory.user(&id).await? {
                return Ok((user, false));
            }
        }
        let Some(email) = identity.email.as_ref() else {
            return Err(Error::Unauthenticated(
                "your identity provider did not tell autolock your email address".into(),
            ));
        };
        if !identity.email_verified {
            return Err(Error::Unauthenticated(format!(
                "your identity provider does not vouch for the address {email} (it is not verified)"
            )));
        }
        let mut user = directory.user_by_email(email).await?;
        if user.is_none() {
            if let Ok(lower) = Email::parse(&email.as_str().to_lowercase()) {
                user = directory.user_by_email(&lower).await?;
            }
        }
        user.map(|u| (u, true)).ok_or_else(|| {
            Error::Unauthenticated(format!(
                "no autolock user has the address {email}: ask an admin to add you"
            ))
        })
    }

    /// Asks for a sign-in link to `email` (the console's sign-in page), at real time `now`:
    /// within the limits — one per address a minute and five an hour, five per client a minute
    /// and twenty an hour — a `signin.requested` event goes to the outbox, and the notifier
    /// emails a link if the address is an active user's. Nobody looks the address up here, so
    /// the answer is the same, in the same time, for any address. `false` when a limit held it
    /// back (nothing was written). Forbidden while an admin has turned links off.
    pub async fn request_sign_in(
        &self,
        email: &Email,
        next: &str,
        client: Option<&str>,
        now: Timestamp,
        recorded_at: Timestamp,
    ) -> Result<bool> {
        if !self.engine.settings.sign_in_settings().await?.email_links {
            return Err(Error::Forbidden(
                "sign-in links are turned off here: sign in with single sign-on".into(),
            ));
        }
        let mut limited = vec![(
            format!("sign-in:address:{}", digest(&email.as_str().to_lowercase())),
            &PER_ADDRESS,
        )];
        if let Some(client) = client {
            limited.push((format!("sign-in:client:{}", digest(client)), &PER_CLIENT));
        }
        self.engine
            .retry(|| async {
                let mut changes = Changeset::default();
                for (key, limits) in &limited {
                    let read = self.links.throttle(key).await?;
                    let Some(hits) = admitted(&read.value, now, &limits[..]) else {
                        return Ok(false);
                    };
                    changes.throttles.push(ThrottleWrite {
                        key: key.clone(),
                        expected_version: read.version,
                        hits,
                        expires_at: now + THROTTLE_WINDOW,
                    });
                }
                changes.record(
                    DomainEvent::SignInRequested {
                        email: email.clone(),
                        next: next.to_owned(),
                    },
                    recorded_at,
                );
                self.engine.commit.commit(changes).await?;
                Ok(true)
            })
            .await
    }

    /// Ends every console session of `user` opened before real time `now` (their own sessions,
    /// for anyone; anyone's, for an admin): audited at `recorded_at`.
    pub async fn end_sessions(
        &self,
        actor: &Principal,
        user: &UserId,
        now: Timestamp,
        recorded_at: Timestamp,
    ) -> Result<()> {
        if actor.id != *user {
            crate::authz::require(actor, crate::authz::Capability::Administer)?;
        }
        self.engine.existing_user(user).await?;
        let mut changes = Changeset {
            directory: vec![DirectoryChange::EndSessions {
                user: user.clone(),
                at: now,
            }],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::SessionsEnded,
                Some(&actor.id),
                serde_json::json!({}),
            )
            .principal(user)
            .event(),
            recorded_at,
        );
        self.engine.commit.commit(changes).await?;
        Ok(())
    }

    /// The user a console session names, as the directory knows them now (active or not);
    /// `None` when the user no longer exists. The session cookie is the credential: its
    /// signature was checked by the console.
    pub async fn session_user(&self, id: &UserId) -> Result<Option<User>> {
        Ok(self.engine.directory.user(id).await?)
    }

    /// Redeems a sign-in link, once, within its 15 minutes by real time `now`: the principal to
    /// open a session for, the sign-in audited at `recorded_at` (the deployment's clock). A used
    /// link is a `link_used` conflict; an unknown or expired one, or an inactive user, is
    /// forbidden.
    pub async fn redeem_sign_in(
        &self,
        token: &str,
        now: Timestamp,
        recorded_at: Timestamp,
    ) -> Result<Principal> {
        let refused = || Error::Forbidden("this sign-in link is not valid any more".into());
        let digest = digest(token);
        let link = self
            .links
            .sign_in_link(&digest)
            .await?
            .filter(|l| now < l.expires_at)
            .ok_or_else(refused)?;
        let principal = self
            .engine
            .directory
            .principal(&link.user)
            .await?
            .filter(|p| p.active)
            .ok_or_else(refused)?;
        let mut changes = Changeset {
            consumed_links: vec![ConsumedLink {
                id: format!("signin:{digest}"),
                expires_at: link.expires_at,
            }],
            ..Changeset::default()
        };
        changes.record(
            DirectoryEdit::new(
                AuditAction::SignedIn,
                Some(&principal.id),
                serde_json::json!({"method": "link"}),
            )
            .principal(&principal.id)
            .event(),
            recorded_at,
        );
        match self.engine.commit.commit(changes).await {
            Err(StoreError::AlreadyExists(_)) => Err(Error::Conflict(
                Conflict::LinkUsed,
                "this sign-in link was used already".into(),
            )),
            other => Ok(other.map(|()| principal)?),
        }
    }
}

/// A provider's refusal as the use case's error.
fn sign_on_error(e: SignOnError) -> Error {
    match e {
        SignOnError::Unavailable(why) => Error::Unavailable("identity_provider", why),
        SignOnError::Refused(why) => Error::Forbidden(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_767_225_600 + seconds, 0).unwrap()
    }

    #[test]
    fn an_address_gets_one_email_a_minute_and_five_an_hour() {
        let mut hits = Vec::new();
        let mut sent = Vec::new();
        for second in (0..7200).step_by(10) {
            if let Some(next) = admitted(&hits, at(second), &PER_ADDRESS) {
                hits = next;
                sent.push(second);
            }
        }
        // 0, 60, 120, 180, 240 in the first hour; the sixth once the first is an hour old.
        assert_eq!(&sent[..6], [0, 60, 120, 180, 240, 3600]);
        assert!(sent.windows(2).all(|w| w[1] - w[0] >= 60));
        assert_eq!(sent.iter().filter(|s| **s < 3600).count(), 5, "{sent:?}");
    }
}
