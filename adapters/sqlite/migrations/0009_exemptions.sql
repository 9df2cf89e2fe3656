-- schema version 9: exemptions from auto-lock, of one right (user_id set) or of one grant
-- (grant_id and group_id set). `end_at` is when it ends or ended; `closed` is set once its end
-- is recorded. `data` holds the whole exemption.
CREATE TABLE exemptions (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL,
    user_id TEXT,
    group_id TEXT,
    grant_id TEXT,
    start_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    rev INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX exemptions_by_resource ON exemptions (resource_id, user_id);
CREATE INDEX exemptions_by_user ON exemptions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX exemptions_by_group ON exemptions (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX exemptions_open_by_end ON exemptions (end_at) WHERE closed = 0;
