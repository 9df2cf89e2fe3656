-- schema version 4: the console's sign-in links, stored by the digest of their token.
CREATE TABLE sign_in_links (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX users_by_email ON users (email, id);
