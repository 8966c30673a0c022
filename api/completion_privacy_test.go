package api_test

import (
	"testing"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/store/storetest"
)

// TestProgressShowsOnlyWhatOneMayRead: a trainer of a sees the progress of
// a learner a awarded, but not whether the learner holds a module of
// issuer b (which only b's people and root may tell); a learner a never
// awarded is 404 for a's trainer, whatever b awarded them.
func TestProgressShowsOnlyWhatOneMayRead(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, be.DSN(t))
			ts.createIssuer(t, "ac-a")
			ts.createIssuer(t, "ac-b")
			trainerA, _ := ts.createToken(t, ts.Root, "ac-a", "trainer A", "trainer", auth.ScopeAward, auth.ScopeRead)
			modA := ts.createAchievement(t, ts.Root, "ac-a", "Module de a")
			modB := ts.createAchievement(t, ts.Root, "ac-b", "Module de b")
			pa := ts.createAchievement(t, ts.Root, "ac-a", "Parcours de a")
			ts.must(t, 201, "POST", "/api/v1/parcours", req{Bearer: ts.Root, JSON: map[string]any{"achievement": pa,
				"modules": []string{ts.URL + "/achievements/" + modA, ts.URL + "/achievements/" + modB}}})
			ts.award(t, ts.Root, modA, "both@example.org")
			ts.award(t, ts.Root, modB, "both@example.org", "onlyb@example.org")

			progress := func(bearer, email string) completion.Progress {
				t.Helper()
				var out struct{ Parcours []completion.Progress }
				ts.must(t, 200, "GET", "/api/v1/learners/"+email+"/parcours", req{Bearer: bearer}).json(t, &out)
				if len(out.Parcours) != 1 || len(out.Parcours[0].Modules) != 2 {
					t.Fatalf("progress of %s: %+v", email, out)
				}
				return out.Parcours[0]
			}
			if pr := progress(ts.Root, "both@example.org"); pr.Held != 2 || !pr.Modules[1].Held || pr.Modules[1].Credential == "" {
				t.Errorf("root: %+v", pr)
			}
			pr := progress(trainerA, "both@example.org")
			if pr.Held != 1 || !pr.Modules[0].Held || pr.Modules[0].Credential == "" || pr.Modules[1].Held || pr.Modules[1].Credential != "" {
				t.Errorf("trainer of a sees b's module: %+v", pr)
			}
			wantError(t, "a learner only b awarded", ts.do(t, "GET", "/api/v1/learners/onlyb@example.org/parcours", req{Bearer: trainerA}), 404, "not_found", "")
		})
	}
}

// Mapping and parcours reads need credentials:read on a token.
func TestCompletionReadsNeedReadScope(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	ts.createIssuer(t, "ac-a")
	awardOnly, _ := ts.createToken(t, ts.Root, "ac-a", "award only", "trainer", auth.ScopeAward)
	reader, _ := ts.createToken(t, ts.Root, "ac-a", "reader", "trainer", auth.ScopeRead)
	a := ts.createAchievement(t, ts.Root, "ac-a", "Module")
	var m, p struct{ ID string }
	ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"activity": "https://m.example.fr/c/1", "achievement": a}}).json(t, &m)
	pa := ts.createAchievement(t, ts.Root, "ac-a", "Parcours")
	ts.must(t, 201, "POST", "/api/v1/parcours", req{Bearer: ts.Root, JSON: map[string]any{"achievement": pa, "modules": []string{a}}}).json(t, &p)
	for _, path := range []string{"/api/v1/mappings", "/api/v1/mappings?issuer=ac-a", "/api/v1/mappings/" + m.ID,
		"/api/v1/parcours", "/api/v1/parcours?issuer=ac-a", "/api/v1/parcours/" + p.ID} {
		wantError(t, path+" without credentials:read", ts.do(t, "GET", path, req{Bearer: awardOnly}), 403, "forbidden", "")
		ts.must(t, 200, "GET", path, req{Bearer: reader})
	}
}
