//! What a report reads (docs/semantics.md §5): its rights with their users, a page at a time.

use async_trait::async_trait;

use super::{DirectoryReader, Page, PageRequest, StoreResult, UsageReader, Versioned};
use crate::directory::{RightFacts, User};
use crate::ids::{ResourceId, UserId};
use crate::lock::Usage;

/// A right as a report reads it: its user, its facts and its usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRight {
    pub user: User,
    pub facts: RightFacts,
    pub usage: Versioned<Usage>,
}

/// The rights a report covers, read with their users. The provided methods compose the other
/// readers; a store may answer each in fewer reads.
#[async_trait]
pub trait ReportReader: DirectoryReader + UsageReader {
    /// Each of `rights` whose user exists, in order, as [`UsageReader::rights`] and
    /// [`DirectoryReader::users_by_id`] read them.
    async fn user_rights(&self, rights: &[(UserId, ResourceId)]) -> StoreResult<Vec<UserRight>> {
        let ids: Vec<UserId> = rights.iter().map(|(u, _)| u.clone()).collect();
        let read = self.rights(rights).await?;
        let users = self.users_by_id(&ids).await?;
        Ok(users
            .into_iter()
            .zip(read)
            .filter_map(|(user, (facts, usage))| {
                Some(UserRight {
                    user: user?,
                    facts,
                    usage,
                })
            })
            .collect())
    }

    /// One page of the rights on `resource`: the page of its users that
    /// [`DirectoryReader::users_of_resource_page`] gives (the cursor is theirs), each right read
    /// as [`Self::user_rights`] reads it.
    async fn resource_rights_page(
        &self,
        resource: &ResourceId,
        page: &PageRequest,
    ) -> StoreResult<Page<UserRight>> {
        let users = self.users_of_resource_page(resource, page).await?;
        let rights: Vec<(UserId, ResourceId)> = users
            .items
            .into_iter()
            .map(|u| (u, resource.clone()))
            .collect();
        Ok(Page {
            items: self.user_rights(&rights).await?,
            next: users.next,
        })
    }
}
