-- A caller's key for an achievement it makes on the fly (an attestation's
-- training): one achievement per issuer and key, whoever asks first. The
-- primary key is what makes concurrent find-or-create safe on both
-- databases.
CREATE TABLE achievement_keys (
	issuer         TEXT NOT NULL REFERENCES issuers(slug),
	key            TEXT NOT NULL,
	achievement_id TEXT NOT NULL,
	PRIMARY KEY (issuer, key)
);
