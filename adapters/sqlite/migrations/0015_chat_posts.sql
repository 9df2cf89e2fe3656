-- schema version 15: where the message about a request was posted in a chat channel (Slack),
-- so that it can be updated with the request's outcome.
CREATE TABLE chat_posts (
    request_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
