-- Completions an LMS reported, the mappings and parcours that turn them
-- into awards, and the award decisions themselves. Uniqueness lives here,
-- not in a node's memory: several nodes may share the database.

-- One row per completion. key is a digest of who sent it, the learner,
-- the activity's identifiers, the date and the outcome: a replay, a retry
-- or the same batch in another order finds the row already there.
CREATE TABLE completions (
	key          TEXT PRIMARY KEY,
	source       TEXT NOT NULL,
	source_ref   TEXT NOT NULL DEFAULT '',
	client       TEXT NOT NULL DEFAULT '',
	learner      TEXT NOT NULL,
	activity     TEXT NOT NULL,
	completed    INTEGER NOT NULL,
	passed       INTEGER,
	score        DOUBLE PRECISION,
	at           BIGINT NOT NULL,
	duration_ms  BIGINT NOT NULL DEFAULT 0,
	data         TEXT NOT NULL,
	received_at  BIGINT NOT NULL
);
-- An xAPI statement id (or any source's own reference) is recorded once,
-- even when a replay differs in content.
CREATE UNIQUE INDEX completions_source_ref ON completions(source, client, source_ref) WHERE source_ref <> '';

-- An activity, known by one of its identifiers (kind, value), maps to an
-- achievement under conditions.
CREATE TABLE completion_mappings (
	id             TEXT PRIMARY KEY,
	issuer         TEXT NOT NULL REFERENCES issuers(slug),
	achievement_id TEXT NOT NULL,
	kind           TEXT NOT NULL,
	value          TEXT NOT NULL,
	require_completed INTEGER NOT NULL DEFAULT 0,
	require_passed    INTEGER NOT NULL DEFAULT 0,
	min_score      DOUBLE PRECISION,
	not_before     BIGINT,
	not_after      BIGINT,
	created_by     TEXT NOT NULL DEFAULT '',
	created_at     BIGINT NOT NULL,
	UNIQUE (kind, value, achievement_id)
);
CREATE INDEX completion_mappings_value ON completion_mappings(value);
CREATE INDEX completion_mappings_issuer ON completion_mappings(issuer);

-- A parcours: its achievement is awarded once the learner holds required
-- of its member achievements (0: all of them).
CREATE TABLE parcours (
	id             TEXT PRIMARY KEY,
	issuer         TEXT NOT NULL REFERENCES issuers(slug),
	achievement_id TEXT NOT NULL UNIQUE,
	required       INTEGER NOT NULL DEFAULT 0,
	created_by     TEXT NOT NULL DEFAULT '',
	created_at     BIGINT NOT NULL
);
CREATE TABLE parcours_members (
	parcours_id    TEXT NOT NULL REFERENCES parcours(id) ON DELETE CASCADE,
	achievement_id TEXT NOT NULL,
	position       INTEGER NOT NULL,
	PRIMARY KEY (parcours_id, achievement_id)
);
CREATE INDEX parcours_members_achievement ON parcours_members(achievement_id);

-- An award decision: at most one per (learner, achievement), whatever
-- arrives and however often. credential_id is chosen when deciding, so
-- that issuing it twice is impossible (credentials.id is unique) and a
-- crash between deciding and issuing loses nothing: pending rows are
-- claimed (lease_until) and issued by a worker.
CREATE TABLE completion_awards (
	learner        TEXT NOT NULL,
	achievement_id TEXT NOT NULL,
	issuer         TEXT NOT NULL,
	credential_id  TEXT NOT NULL UNIQUE,
	state          TEXT NOT NULL,
	reason         TEXT NOT NULL,
	completion_key TEXT NOT NULL DEFAULT '',
	name           TEXT NOT NULL DEFAULT '',
	evidence       TEXT NOT NULL DEFAULT '[]',
	error          TEXT NOT NULL DEFAULT '',
	attempts       INTEGER NOT NULL DEFAULT 0,
	claim          TEXT NOT NULL DEFAULT '',
	lease_until    BIGINT NOT NULL DEFAULT 0,
	created_at     BIGINT NOT NULL,
	issued_at      BIGINT,
	PRIMARY KEY (learner, achievement_id)
);
-- Only pending awards are claimed: issued ones leave these indexes.
CREATE INDEX completion_awards_pending ON completion_awards(lease_until, created_at) WHERE state = 'pending';
CREATE INDEX completion_awards_claim ON completion_awards(claim) WHERE state = 'pending';
