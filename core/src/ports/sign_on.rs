//! Single sign-on to the console through the organisation's identity provider
//! (docs/semantics.md §6): the provider is asked to authenticate someone (OpenID Connect's
//! authorization code flow, with PKCE, `state` and `nonce`), then answers with a code that is
//! exchanged for an ID token, verified by the adapter. The core decides whom it signs in.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::values::Email;

/// A sign-in at the identity provider in flight: the secrets the browser keeps (signed, in a
/// cookie) from the start until the provider sends it back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOnFlow {
    /// The `state` sent to the provider, which must come back with the code.
    pub state: String,
    /// The `nonce` sent to the provider, which its ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier (RFC 7636), whose S256 challenge was sent.
    pub pkce_verifier: String,
}

impl std::fmt::Debug for SignOnFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignOnFlow").finish_non_exhaustive()
    }
}

/// Where to send the browser, and the flow to keep until it comes back.
#[derive(Debug, Clone)]
pub struct SignOnStart {
    /// The provider's authorization URL with this flow's parameters.
    pub url: String,
    /// The flow's secrets.
    pub flow: SignOnFlow,
}

/// Who the identity provider says signed in: its ID token verified (signature by the
/// provider's published keys, issuer, audience, expiry, nonce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The provider (the ID token's `iss`).
    pub issuer: String,
    /// The person at the provider (`sub`), stable for them.
    pub subject: String,
    /// Their address, when the token has one.
    pub email: Option<Email>,
    /// Whether the provider vouches for the address (`email_verified`, or Entra ID's
    /// `xms_edov`).
    pub email_verified: bool,
}

/// Why a sign-on did not give an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignOnError {
    /// The provider could not be reached, or answered what is not OpenID Connect (discovery,
    /// its keys, its token endpoint): trying again later may work.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider's answer was refused: the code (used, expired, for another flow), or the
    /// ID token (signature, issuer, audience, expiry, nonce).
    #[error("{0}")]
    Refused(String),
}

/// An OpenID Connect provider, as the relying party sees it.
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// The provider's issuer identifier.
    fn issuer(&self) -> &str;

    /// Starts a sign-on: the authorization URL (code flow, PKCE S256, a fresh `state` and
    /// `nonce`) that returns to `redirect_uri`, and the flow to keep.
    async fn start(&self, redirect_uri: &str) -> Result<SignOnStart, SignOnError>;

    /// Finishes a sign-on: exchanges `code` (with the flow's PKCE verifier, at `redirect_uri`)
    /// and verifies the ID token against the flow's nonce. The `state` was compared by the
    /// caller.
    async fn finish(
        &self,
        redirect_uri: &str,
        code: &str,
        flow: &SignOnFlow,
    ) -> Result<VerifiedIdentity, SignOnError>;
}
