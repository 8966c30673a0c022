-- The merged PDF of a batch made with "output": "pdf": one document with
-- every attestation of the session, delivered as stored so that its
-- SHA-256 identifies it when HR verifies it.

CREATE TABLE attest_merged (
	batch_id  TEXT PRIMARY KEY REFERENCES attest_batches(id),
	sha256    TEXT NOT NULL,
	size      BIGINT NOT NULL,
	pdf       {{blob}} NOT NULL,
	merged_at BIGINT NOT NULL
);
CREATE INDEX attest_merged_sha ON attest_merged(sha256);
