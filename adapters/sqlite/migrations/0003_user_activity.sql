-- schema version 3: the history of each user's active flag (a temporal fact like memberships).
CREATE TABLE user_activity (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id),
    at INTEGER NOT NULL,
    active INTEGER NOT NULL
);
CREATE INDEX user_activity_by_user ON user_activity (user_id, seq);
INSERT INTO user_activity (user_id, at, active) SELECT id, created_at, active FROM users;
