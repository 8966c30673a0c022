-- The learner's backpack: further e-mail addresses (each verified by a
-- link), imported credentials with their verification reports,
-- collections, share links, the Open Badges API profile and the cursor of
-- the "a credential has landed" notifications. Issued credentials are not
-- copied: the backpack joins the credentials table on recipient_email.

-- Covering: a backpack listing reads its issued half from the index alone
-- (PostgreSQL: an index-only scan), not from the 2 KB rows of the table.
CREATE INDEX credentials_email_created ON credentials(recipient_email, created_at, id, issuer, state, achievement_id, achievement_version);
CREATE INDEX credentials_created ON credentials(created_at);

CREATE TABLE learner_emails (
	user_id     TEXT NOT NULL REFERENCES users(id),
	email       TEXT NOT NULL,
	token_hash  TEXT NOT NULL DEFAULT '',
	expires_at  BIGINT NOT NULL DEFAULT 0,
	verified_at BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	PRIMARY KEY (user_id, email)
);
-- A verified address belongs to one learner only; pending claims may compete.
CREATE UNIQUE INDEX learner_emails_verified ON learner_emails(email) WHERE verified_at > 0;
CREATE INDEX learner_emails_token ON learner_emails(token_hash);

CREATE TABLE backpack_items (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users(id),
	credential_id TEXT NOT NULL DEFAULT '',
	issuer_id     TEXT NOT NULL DEFAULT '',
	issuer_name   TEXT NOT NULL DEFAULT '',
	name          TEXT NOT NULL DEFAULT '',
	format        TEXT NOT NULL,
	source_url    TEXT NOT NULL DEFAULT '',
	original      {{blob}} NOT NULL,
	payload       TEXT NOT NULL,
	verdict       TEXT NOT NULL,
	status        TEXT NOT NULL DEFAULT '',
	report        TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	verified_at   BIGINT NOT NULL
);
CREATE INDEX backpack_items_user ON backpack_items(user_id, created_at);
CREATE INDEX backpack_items_credential ON backpack_items(user_id, credential_id);
CREATE INDEX backpack_items_verified ON backpack_items(verified_at);

CREATE TABLE backpack_collections (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users(id),
	name        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	items       TEXT NOT NULL DEFAULT '[]',
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE INDEX backpack_collections_user ON backpack_collections(user_id, created_at);

CREATE TABLE backpack_shares (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users(id),
	target_kind TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	expires_at  BIGINT NOT NULL DEFAULT 0,
	revoked_at  BIGINT NOT NULL DEFAULT 0,
	views       BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL
);
CREATE INDEX backpack_shares_user ON backpack_shares(user_id, created_at);

CREATE TABLE backpack_profiles (
	user_id    TEXT PRIMARY KEY REFERENCES users(id),
	data       TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE backpack_notified (
	credential_id TEXT PRIMARY KEY,
	at            BIGINT NOT NULL
);
