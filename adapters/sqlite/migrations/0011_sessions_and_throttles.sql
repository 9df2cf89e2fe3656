-- schema version 11: a user's console sessions can be ended (those opened before
-- `sessions_after`, microseconds of real time, no longer count), and the recent uses of limited
-- actions (sign-in emails per address and per client) are kept, each under its key and version.
ALTER TABLE users ADD COLUMN sessions_after INTEGER;
CREATE TABLE throttles (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    hits TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX throttles_by_expiry ON throttles (expires_at);
