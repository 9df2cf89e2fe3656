-- schema version 16: a provisioned record's deleted flag beside its document, so that a page of
-- the records not deleted (an identity provider lists users a page at a time) and their count
-- are read from an index, without reading the documents of the others.
ALTER TABLE provisioned ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
UPDATE provisioned SET deleted = 1 WHERE json_extract(data, '$.deleted');
CREATE INDEX provisioned_live ON provisioned (kind, deleted, id);
