-- What Insigne knows of a learner beyond their credentials: where they
-- work, for statistics (académie, département, discipline). Filled from
-- the completions an LMS sends and by administrators; keyed by the
-- normalized e-mail address credentials are awarded to.

CREATE TABLE learners (
	email       TEXT PRIMARY KEY,
	name        TEXT NOT NULL DEFAULT '',
	academie    TEXT NOT NULL DEFAULT '',
	departement TEXT NOT NULL DEFAULT '',
	discipline  TEXT NOT NULL DEFAULT '',
	updated_at  BIGINT NOT NULL
);
