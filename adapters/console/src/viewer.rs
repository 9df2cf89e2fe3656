//! Who is looking at a page: the signed-in person, as the directory knows them now, and their
//! session's CSRF token for the page's forms. `session.rs` makes one from a request.

use autolock_core::directory::{Principal, User};

/// The signed-in person looking at a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// As an actor of the use cases: id, role, active.
    pub principal: Principal,
    /// As a person: their name and address.
    pub user: User,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// The session's random id, which its CSRF token is bound to.
    pub(crate) session: String,
}
