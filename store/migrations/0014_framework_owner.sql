-- The issuer whose administrator first imported a framework owns it: only
-- that issuer's administrators (or the operator) may import new versions.
-- '' is no issuer: the official frameworks and those the operator imported
-- or that were imported before owners were recorded, changed by the
-- operator only.
ALTER TABLE frameworks ADD COLUMN owner TEXT NOT NULL DEFAULT '';
