package store

import (
	"context"
	"fmt"
)

// SeedBackpack fills PostgreSQL with learners (users u0…) and perLearner
// issued credentials each (to learner{i}@example.org) of an existing
// issuer and achievement (version 1), for the backpack benchmark and the
// load script: building a million signed credentials through the issuing
// service would measure signing, not listing. The signed column holds
// 2 KB of filler, not a credential. It does nothing when user u0 exists.
func (s *DB) SeedBackpack(ctx context.Context, issuer, achievement string, learners, perLearner int) error {
	if s.dialect != Postgres {
		return fmt.Errorf("the backpack benchmark runs on PostgreSQL")
	}
	var one int
	if s.db.QueryRowContext(ctx, "SELECT 1 FROM users WHERE id = 'u0'").Scan(&one) == nil {
		return nil
	}
	stmts := []string{
		fmt.Sprintf(`INSERT INTO users (id, email, name, created_at)
			SELECT 'u' || g, 'learner' || g || '@example.org', 'Learner ' || g, 0 FROM generate_series(0, %d) g`, learners-1),
		fmt.Sprintf(`INSERT INTO credentials (id, issuer, achievement_id, achievement_version, recipient_email, recipient_name,
				status_list, status_index, state, signed, created_at)
			SELECT md5(g::text)::uuid::text, '%s', '%s', 1, 'learner' || (g %% %d) || '@example.org', '',
				g / 131072, g %% 131072, 'active', '{"id":"urn:uuid:' || md5(g::text)::uuid::text || '","filler":"' || repeat(md5((g * 7)::text), 60) || '"}',
				1700000000000000 + g::bigint * 1000
			FROM generate_series(0, %d) g`, issuer, achievement, learners, learners*perLearner-1),
		"VACUUM ANALYZE credentials", // the visibility map lets listings scan the index only
		"ANALYZE users",
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}

// VacuumSessions vacuums and analyzes users and sessions, which opening
// sessions updates (users.last_seen): the load script calls it after its
// setup so that a PostgreSQL without autovacuum (as on the project's test
// machine) is not measured with the dead rows of every earlier run.
func (s *DB) VacuumSessions(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	for _, q := range []string{"VACUUM ANALYZE users", "VACUUM ANALYZE sessions"} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: %s: %w", q, err)
		}
	}
	return nil
}
