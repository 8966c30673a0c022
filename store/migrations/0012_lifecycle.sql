-- Account lifecycle: a long-inactive account is suspended, then deleted,
-- each step announced by a notice some time before (package lifecycle).
-- notice_step is the step last announced ('suspend' or 'delete') and
-- notice_at when.

ALTER TABLE users ADD COLUMN suspended_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN notice_step TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN notice_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX users_last_seen ON users(last_seen);
