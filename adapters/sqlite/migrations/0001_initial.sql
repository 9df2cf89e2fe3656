-- autolock's embedded store, schema version 1. Instants are microseconds since the epoch, UTC.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE service_principals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE memberships (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER
);
CREATE INDEX memberships_by_user ON memberships (user_id, group_id);
CREATE INDEX memberships_by_group ON memberships (group_id, user_id);
CREATE UNIQUE INDEX memberships_current ON memberships (user_id, group_id) WHERE end_at IS NULL;
CREATE TABLE resources (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE resource_policies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id TEXT NOT NULL REFERENCES resources (id),
    at INTEGER NOT NULL,
    auto_lock_after TEXT NOT NULL,
    approval TEXT NOT NULL
);
CREATE INDEX resource_policies_by_resource ON resource_policies (resource_id, seq);
CREATE TABLE grants (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    group_id TEXT NOT NULL REFERENCES groups (id),
    resource_id TEXT NOT NULL REFERENCES resources (id),
    start_at INTEGER NOT NULL,
    end_at INTEGER
);
CREATE INDEX grants_by_resource ON grants (resource_id, group_id);
CREATE INDEX grants_by_group ON grants (group_id, resource_id);
CREATE UNIQUE INDEX grants_current ON grants (group_id, resource_id) WHERE end_at IS NULL;
CREATE TABLE grant_expiry (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    grant_id TEXT NOT NULL REFERENCES grants (id),
    at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX grant_expiry_by_grant ON grant_expiry (grant_id, seq);
CREATE TABLE grant_overrides (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    grant_id TEXT NOT NULL REFERENCES grants (id),
    at INTEGER NOT NULL,
    auto_lock_after TEXT,
    approval TEXT
);
CREATE INDEX grant_overrides_by_grant ON grant_overrides (grant_id, seq);
CREATE TABLE usage (
    user_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    next_due INTEGER,
    data TEXT NOT NULL,
    PRIMARY KEY (user_id, resource_id)
);
CREATE INDEX usage_due ON usage (next_due) WHERE next_due IS NOT NULL;
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    resolved_at INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX requests_open ON requests (requested_at, id) WHERE status = 'open';
CREATE INDEX requests_resolved ON requests (resolved_at, id) WHERE resolved_at IS NOT NULL;
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT,
    targets TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX audit_by_at ON audit (at);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    delivered_at INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE delivered_at IS NULL;
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE consumed_links (
    id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
