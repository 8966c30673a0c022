-- The OAuth 2.0 authorization server of the Open Badges 3.0 API:
-- registered clients, learners' grants (consents), authorization codes
-- and access/refresh tokens. Client secrets, codes and tokens are stored
-- as SHA-256 hashes only.

CREATE TABLE oauth_clients (
	id                TEXT PRIMARY KEY,
	secret_hash       TEXT NOT NULL,
	name              TEXT NOT NULL,
	client_uri        TEXT NOT NULL,
	logo_uri          TEXT NOT NULL DEFAULT '',
	tos_uri           TEXT NOT NULL DEFAULT '',
	policy_uri        TEXT NOT NULL DEFAULT '',
	software_id       TEXT NOT NULL DEFAULT '',
	software_version  TEXT NOT NULL DEFAULT '',
	-- one URI per line (URIs hold no line breaks)
	redirect_uris     TEXT NOT NULL,
	auth_method       TEXT NOT NULL,
	-- space separated, as OAuth writes scopes
	grant_types       TEXT NOT NULL,
	response_types    TEXT NOT NULL,
	scope             TEXT NOT NULL,
	created_at        BIGINT NOT NULL
);

CREATE TABLE oauth_grants (
	id         TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	scopes     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX oauth_grants_user ON oauth_grants(user_id, created_at);

CREATE TABLE oauth_codes (
	hash           TEXT PRIMARY KEY,
	grant_id       TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
	redirect_uri   TEXT NOT NULL,
	code_challenge TEXT NOT NULL,
	expires_at     BIGINT NOT NULL,
	used_at        BIGINT
);
CREATE INDEX oauth_codes_grant ON oauth_codes(grant_id);

CREATE TABLE oauth_tokens (
	hash       TEXT PRIMARY KEY,
	grant_id   TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id);
