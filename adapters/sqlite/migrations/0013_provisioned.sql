-- schema version 13: what an identity provider keeps of the users and groups it provisions
-- (SCIM): its document, whole; a user's userName unique among the records not deleted.
CREATE TABLE provisioned (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    user_name_key TEXT,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX provisioned_user_name ON provisioned (user_name_key)
    WHERE user_name_key IS NOT NULL;
