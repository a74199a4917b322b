-- Personal API tokens: a person's name and roles; only a hash of the token is kept.
CREATE TABLE api_tokens (
    name        TEXT PRIMARY KEY,
    roles       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
