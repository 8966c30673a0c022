-- Competency frameworks and their versions, and the trainer awards that
-- wait for a second assessor. A framework version keeps the whole model as
-- JSON (data) with the hash of what was imported, so that importing the
-- same content again adds nothing and changed content adds a version.

CREATE TABLE frameworks (
	id           TEXT NOT NULL,
	version      INTEGER NOT NULL,
	title        TEXT NOT NULL,
	content_hash TEXT NOT NULL,
	source       TEXT NOT NULL DEFAULT '',
	items        INTEGER NOT NULL DEFAULT 0,
	data         TEXT NOT NULL,
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (id, version)
);

CREATE TABLE pending_awards (
	id                  TEXT PRIMARY KEY,
	issuer              TEXT NOT NULL REFERENCES issuers(slug),
	achievement_id      TEXT NOT NULL,
	achievement_version INTEGER NOT NULL,
	request             TEXT NOT NULL,
	proposed_by         TEXT NOT NULL,
	proposer            TEXT NOT NULL,
	state               TEXT NOT NULL,
	decided_by          TEXT NOT NULL DEFAULT '',
	reason              TEXT NOT NULL DEFAULT '',
	credentials         TEXT NOT NULL DEFAULT '[]',
	created_at          BIGINT NOT NULL,
	decided_at          BIGINT NOT NULL DEFAULT 0,
	FOREIGN KEY (achievement_id, achievement_version) REFERENCES achievements(id, version)
);
CREATE INDEX pending_awards_issuer ON pending_awards(issuer, state, created_at);
