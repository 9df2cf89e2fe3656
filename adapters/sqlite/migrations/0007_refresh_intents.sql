-- schema version 7: intents to refresh the rights a committed change affects, kept until they
-- are carried out.
CREATE TABLE refresh_intents (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX refresh_intents_by_time ON refresh_intents (at, id);
