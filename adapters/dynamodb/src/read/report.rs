//! What a report reads: the provided reads, which compose the directory's and the usage's (a
//! page of a resource's users, then each right and each user).

use autolock_core::ports::ReportReader;

use crate::DynamoStore;

impl ReportReader for DynamoStore {}
