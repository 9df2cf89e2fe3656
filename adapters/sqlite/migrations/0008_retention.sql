-- schema version 8: what the tick purges is found by index.
CREATE INDEX consumed_links_by_expiry ON consumed_links (expires_at);
CREATE INDEX sign_in_links_by_expiry ON sign_in_links (expires_at);
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
