//! Signing in to the console without an identity provider (docs/semantics.md §6): a one-time
//! link, valid for 15 minutes, issued to an active user and stored only by its digest; redeemed
//! once, it tells the console whom to open a session for.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::Timestamp;
use crate::audit::AuditAction;
use crate::directory::{Principal, User};
use crate::error::{Conflict, Error, Result, StoreError};
use crate::events::DirectoryEdit;
use crate::ids::UserId;
use crate::ports::{Changeset, ConsumedLink, IssuedLink};
use crate::values::Email;

use super::Autolock;

/// How long a sign-in link works.
pub const SIGN_IN_TTL: chrono::Duration = chrono::Duration::minutes(15);

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

impl Autolock {
    /// Issues a sign-in link for the active user with this email address; `None` when there is
    /// no such user (the sign-in page answers the same either way).
    pub async fn issue_sign_in_for_email(
        &self,
        email: &Email,
        now: Timestamp,
    ) -> Result<Option<SignInLink>> {
        match self.store.user_by_email(email).await? {
            Some(user) if user.active => Ok(Some(self.issue_sign_in(user, now).await?)),
            _ => Ok(None),
        }
    }

    /// Issues a sign-in link for a user by id (the command line, the demo). Refused for an
    /// inactive user.
    pub async fn issue_sign_in_for_user(&self, id: &UserId, now: Timestamp) -> Result<SignInLink> {
        let user = self.existing_user(id).await?;
        if !user.active {
            return Err(Error::Forbidden(format!("{id} is deactivated")));
        }
        self.issue_sign_in(user, now).await
    }

    async fn issue_sign_in(&self, user: User, now: Timestamp) -> Result<SignInLink> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Backend(e.to_string()))?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let changes = Changeset {
            sign_in_links: vec![IssuedLink {
                digest: digest(&token),
                user: user.id.clone(),
                expires_at: now + SIGN_IN_TTL,
            }],
            ..Changeset::default()
        };
        self.store.commit(changes).await?;
        Ok(SignInLink { token, user })
    }

    /// The user a console session names, as the directory knows them now (active or not);
    /// `None` when the user no longer exists. The session cookie is the credential: its
    /// signature was checked by the console.
    pub async fn session_user(&self, id: &UserId) -> Result<Option<User>> {
        Ok(self.store.user(id).await?)
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
            .store
            .sign_in_link(&digest)
            .await?
            .filter(|l| now < l.expires_at)
            .ok_or_else(refused)?;
        let principal = self
            .store
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
        match self.store.commit(changes).await {
            Err(StoreError::AlreadyExists(_)) => Err(Error::Conflict(
                Conflict::LinkUsed,
                "this sign-in link was used already".into(),
            )),
            other => Ok(other.map(|()| principal)?),
        }
    }
}
