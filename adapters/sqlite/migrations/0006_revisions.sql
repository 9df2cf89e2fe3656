-- schema version 6: users, resources and grants count their edits; an edit is written only over
-- the revision it was computed from.
ALTER TABLE users ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resources ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE grants ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
