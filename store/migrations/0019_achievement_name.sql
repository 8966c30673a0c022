-- An achievement's name, kept beside its JSON: a backpack listing shows
-- the name of each credential's achievement, and reading it out of the
-- whole JSON (kilobytes with alignments and images) on every row of every
-- listing cost more than the rest of the query.
ALTER TABLE achievements ADD COLUMN name TEXT NOT NULL DEFAULT '';
-- postgres: UPDATE achievements SET name = COALESCE(CAST(data AS jsonb) ->> 'name', '');
-- sqlite: UPDATE achievements SET name = COALESCE(json_extract(data, '$.name'), '');
