-- An issuer's administrators list the award decisions that were not
-- issued: failed ones (to retry) and cancelled ones (their mapping or
-- parcours was deleted first). Only those rows are indexed, so that the
-- worker's pending → issued updates do not maintain these indexes; one
-- index a state, as SQLite uses a partial index only for a query that
-- repeats its condition.
CREATE INDEX completion_awards_failed ON completion_awards(issuer, created_at) WHERE state = 'failed';
CREATE INDEX completion_awards_cancelled ON completion_awards(issuer, created_at) WHERE state = 'cancelled';
