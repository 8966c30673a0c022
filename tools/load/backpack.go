package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/store"
)

// seedBackpack is the data generator of the backpack scenario: learners
// and their issued credentials written straight into the server's
// PostgreSQL (store.SeedBackpack, in SQL), then sessions for random
// learners opened as sign-in would (auth.Service.NewSession).
func (g *generator) seedBackpack(ctx context.Context) error {
	if g.c.databaseURL == "" {
		return errors.New("the backpack scenario needs -database-url (the server's PostgreSQL)")
	}
	db, err := store.Open(ctx, g.c.databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if err := db.SeedBackpack(ctx, g.issuer, g.achievement, g.c.learners, g.c.perLearner); err != nil {
		return err
	}
	logf("learners ready in %v", time.Since(start).Round(time.Second))
	a := auth.NewService(db, time.Now)
	for range g.c.sessions {
		c, _, err := a.NewSession(ctx, fmt.Sprintf("u%d", rand.IntN(g.c.learners)))
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		g.cookies = append(g.cookies, c)
	}
	if err := db.VacuumSessions(ctx); err != nil {
		return err
	}
	// One listing now, so that a misconfigured run is noticed before it is
	// measured.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.c.base+"/api/v1/backpack/credentials", nil)
	req.Header.Set("Cookie", "insigne_session="+g.cookies[0])
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/v1/backpack/credentials: %s", resp.Status)
	}
	logf("%d learner sessions open", len(g.cookies))
	return nil
}
