-- The xAPI statement resource and the LMS clients that may write to it.
-- Statements are kept as received (keys sorted, id assigned), with the
-- hash two sendings of the same id are compared by. An LMS client's
-- secret is stored as a SHA-256 hash only, like API tokens.

CREATE TABLE lms_clients (
	id          TEXT PRIMARY KEY,
	client_key  TEXT NOT NULL UNIQUE,
	secret_hash TEXT NOT NULL,
	name        TEXT NOT NULL,
	issuer      TEXT NOT NULL,
	created_by  TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	revoked_at  BIGINT
);
CREATE INDEX lms_clients_issuer ON lms_clients(issuer, created_at);

CREATE TABLE xapi_statements (
	id         TEXT PRIMARY KEY,
	hash       TEXT NOT NULL,
	statement  TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	stored_at  BIGINT NOT NULL
);
