-- People, their roles per issuer, API tokens, browser sessions and
-- one-time sign-in links. Secrets are stored as SHA-256 hashes only.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT,
	name          TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	oidc_issuer   TEXT,
	oidc_subject  TEXT,
	root          INTEGER NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	last_seen     BIGINT NOT NULL DEFAULT 0,
	UNIQUE (email),
	UNIQUE (oidc_issuer, oidc_subject)
);

CREATE TABLE memberships (
	user_id TEXT NOT NULL REFERENCES users(id),
	issuer  TEXT NOT NULL,
	role    TEXT NOT NULL,
	PRIMARY KEY (user_id, issuer)
);

CREATE TABLE api_tokens (
	id         TEXT PRIMARY KEY,
	hash       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	issuer     TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	role       TEXT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX api_tokens_issuer ON api_tokens(issuer, created_at);

CREATE TABLE sessions (
	id_hash    TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id),
	csrf       TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

CREATE TABLE signin_links (
	hash       TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id),
	expires_at BIGINT NOT NULL
);
