-- schema version 10: each right's usage row kept in the B-tree of its key (WITHOUT ROWID), so
-- that reading a right's usage descends one tree, where it descended the key's index and then
-- the table.
CREATE TABLE usage_by_key (
    user_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    next_due INTEGER,
    data TEXT NOT NULL,
    PRIMARY KEY (user_id, resource_id)
) WITHOUT ROWID;
INSERT INTO usage_by_key (user_id, resource_id, version, next_due, data)
    SELECT user_id, resource_id, version, next_due, data FROM usage;
DROP TABLE usage;
ALTER TABLE usage_by_key RENAME TO usage;
CREATE INDEX usage_due ON usage (next_due) WHERE next_due IS NOT NULL;
