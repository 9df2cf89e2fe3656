-- schema version 14: whom each identity provider's subject (an ID token's `sub`) signs in, one
-- subject per user and provider.
CREATE TABLE sign_in_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE UNIQUE INDEX sign_in_identities_user ON sign_in_identities (user_id, issuer);
