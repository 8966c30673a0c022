-- Training attestations: each is a credential (credentials.id) delivered
-- as a PDF, kept with its SHA-256 and the short code printed on it; and
-- the batches that issue a whole session's attestations as a job. The PDF
-- (20 to 40 KB) lives in the row: a chunk of a batch is then one
-- transaction, not a hundred synced files.

CREATE TABLE attest_batches (
	id           TEXT PRIMARY KEY,
	issuer       TEXT NOT NULL REFERENCES issuers(slug),
	state        TEXT NOT NULL,
	total        INTEGER NOT NULL,
	done         INTEGER NOT NULL DEFAULT 0,
	failed       INTEGER NOT NULL DEFAULT 0,
	errors       TEXT NOT NULL DEFAULT '[]',
	session      TEXT NOT NULL,
	achievement  TEXT NOT NULL DEFAULT '',
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	lease_until  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX attest_batches_state ON attest_batches(state, created_at);

CREATE TABLE attestations (
	id            TEXT PRIMARY KEY,
	code          TEXT NOT NULL UNIQUE,
	issuer        TEXT NOT NULL REFERENCES issuers(slug),
	credential_id TEXT NOT NULL UNIQUE REFERENCES credentials(id),
	learner_email TEXT NOT NULL,
	learner_name  TEXT NOT NULL DEFAULT '',
	batch_id      TEXT REFERENCES attest_batches(id),
	batch_row     INTEGER,
	fields        TEXT NOT NULL,
	pdf_sha256    TEXT NOT NULL,
	pdf_size      BIGINT NOT NULL,
	pdf           {{blob}} NOT NULL,
	created_by    TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	UNIQUE (batch_id, batch_row)
);
CREATE INDEX attestations_sha ON attestations(pdf_sha256);
CREATE INDEX attestations_learner ON attestations(learner_email, created_at);
