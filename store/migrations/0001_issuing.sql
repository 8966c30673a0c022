-- Issuers, keys, achievements, credentials, status lists, jobs, evidence
-- and the audit log. Times are Unix microseconds (BIGINT) and JSON is TEXT
-- so that SQLite and PostgreSQL hold the same logical schema; {{blob}} is
-- BLOB or BYTEA.

CREATE TABLE issuers (
	slug        TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	url         TEXT NOT NULL DEFAULT '',
	email       TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	image_url   TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL
);

CREATE TABLE issuer_keys (
	id               TEXT PRIMARY KEY,
	issuer           TEXT NOT NULL REFERENCES issuers(slug),
	purpose          TEXT NOT NULL,
	alg              TEXT NOT NULL,
	public_multibase TEXT NOT NULL,
	sealed           {{blob}} NOT NULL,
	created_at       BIGINT NOT NULL,
	retired_at       BIGINT
);
CREATE INDEX issuer_keys_issuer ON issuer_keys(issuer);

CREATE TABLE achievements (
	id         TEXT NOT NULL,
	version    INTEGER NOT NULL,
	issuer     TEXT NOT NULL REFERENCES issuers(slug),
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (id, version)
);
CREATE INDEX achievements_issuer ON achievements(issuer);

CREATE TABLE jobs (
	id          TEXT PRIMARY KEY,
	issuer      TEXT NOT NULL REFERENCES issuers(slug),
	state       TEXT NOT NULL,
	total       INTEGER NOT NULL,
	done        INTEGER NOT NULL DEFAULT 0,
	failed      INTEGER NOT NULL DEFAULT 0,
	errors      TEXT NOT NULL DEFAULT '[]',
	payload     TEXT NOT NULL,
	created_by  TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_state ON jobs(state, created_at);

CREATE TABLE credentials (
	id                  TEXT PRIMARY KEY,
	issuer              TEXT NOT NULL REFERENCES issuers(slug),
	achievement_id      TEXT NOT NULL,
	achievement_version INTEGER NOT NULL,
	recipient_email     TEXT NOT NULL DEFAULT '',
	recipient_name      TEXT NOT NULL DEFAULT '',
	recipient_did       TEXT NOT NULL DEFAULT '',
	status_list         INTEGER NOT NULL,
	status_index        INTEGER NOT NULL,
	state               TEXT NOT NULL,
	reason              TEXT NOT NULL DEFAULT '',
	signed              TEXT NOT NULL,
	job_id              TEXT,
	job_row             INTEGER,
	created_at          BIGINT NOT NULL,
	FOREIGN KEY (achievement_id, achievement_version) REFERENCES achievements(id, version),
	UNIQUE (issuer, status_list, status_index),
	UNIQUE (job_id, job_row)
);
CREATE INDEX credentials_achievement ON credentials(achievement_id, created_at);
CREATE INDEX credentials_issuer ON credentials(issuer, created_at);
CREATE INDEX credentials_email ON credentials(recipient_email);

CREATE TABLE status_lists (
	issuer         TEXT NOT NULL REFERENCES issuers(slug),
	list           INTEGER NOT NULL,
	version        INTEGER NOT NULL,
	signed         TEXT,
	signed_version INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (issuer, list)
);

CREATE TABLE blobs (
	sha256     TEXT PRIMARY KEY,
	media_type TEXT NOT NULL,
	size       BIGINT NOT NULL,
	name       TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);

CREATE TABLE audit (
	id     {{serial}},
	at     BIGINT NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	issuer TEXT NOT NULL DEFAULT '',
	target TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_issuer ON audit(issuer, at);

CREATE TABLE idempotency (
	principal  TEXT NOT NULL,
	key        TEXT NOT NULL,
	request    TEXT NOT NULL,
	status     INTEGER NOT NULL DEFAULT 0,
	response   TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	PRIMARY KEY (principal, key)
);
