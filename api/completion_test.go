package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/store/storetest"
)

const mappedCourse = "https://magistere.example.fr/course/view.php?id=42"

func jsonCompletion(email string, i int) map[string]any {
	return map[string]any{
		"learner":   map[string]string{"email": email, "name": fmt.Sprintf("Enseignant %d", i), "academie": "Lyon"},
		"activity":  map[string]string{"id": mappedCourse, "moodleCourseId": "42", "name": "Enseigner avec le numérique"},
		"completed": true, "at": time.Date(2026, 11, 20, 14, 0, i, 0, time.UTC).Format(time.RFC3339), "duration": int64(90 * time.Minute),
	}
}

type resultJSON struct {
	Recorded, Duplicates, Pending int
	Awarded                       []string
}

// 50 learners complete a mapped course through the JSON API; everything
// is sent again, twice, in another order and wrapped: 50 credentials.
func TestCompletionsThroughTheAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ts.createIssuer(t, "ac-lyon")
		ach := ts.createAchievement(t, ts.Root, "ac-lyon", "Numérique")
		admin, _ := ts.createToken(t, ts.Root, "ac-lyon", "admin", "admin", allScopes...)
		trainer, _ := ts.createToken(t, admin, "ac-lyon", "lms", "trainer", auth.ScopeAward)
		res := ts.must(t, http.StatusCreated, "POST", "/api/v1/mappings", req{Bearer: admin, JSON: map[string]any{"activity": mappedCourse, "achievement": ach}})
		var m struct{ ID, Activity, Kind, Achievement, Issuer string }
		res.json(t, &m)
		if m.Kind != "xapi" || m.Activity != mappedCourse || m.Achievement != ts.URL+"/achievements/"+ach || m.Issuer != "ac-lyon" {
			t.Fatalf("mapping %s", res)
		}
		if loc := res.Header.Get("Location"); loc != ts.URL+"/api/v1/mappings/"+m.ID {
			t.Fatalf("Location %q", loc)
		}
		wantError(t, "the same mapping again", ts.do(t, "POST", "/api/v1/mappings", req{Bearer: admin,
			JSON: map[string]any{"activity": mappedCourse, "achievement": ach}}), 409, "conflict", "")

		var batch []map[string]any
		for i := range 50 {
			batch = append(batch, jsonCompletion(fmt.Sprintf("prof%d@ac-lyon.fr", i), i))
		}
		var r resultJSON
		ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: trainer, JSON: batch}).json(t, &r)
		if r.Recorded != 50 || len(r.Awarded) != 50 {
			t.Fatalf("first batch: %+v", r)
		}
		rev := slices.Clone(batch)
		slices.Reverse(rev)
		for _, body := range []any{batch, map[string]any{"completions": batch}, rev} {
			r = resultJSON{}
			ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: trainer, JSON: body}).json(t, &r)
			if r.Recorded != 0 || r.Duplicates != 50 || len(r.Awarded) != 0 {
				t.Fatalf("resent: %+v", r)
			}
		}
		if n := ts.credentialCount(t, ach); n != 50 {
			t.Fatalf("%d credentials, want 50", n)
		}
		// A credential from a completion verifies through the API.
		var list struct{ Credentials []struct{ URL string } }
		ts.must(t, 200, "GET", "/api/v1/credentials?achievement="+ach+"&limit=1", req{Bearer: admin}).json(t, &list)
		signed := ts.must(t, 200, "GET", strings.TrimPrefix(list.Credentials[0].URL, ts.URL), req{}).Body
		if !strings.Contains(string(signed), `"evidence"`) || !strings.Contains(string(signed), "Temps passé : 1 h 30 min") {
			t.Fatalf("credential without the completion as evidence: %.400s", signed)
		}
		// The LMS token may not read mappings (no credentials:read).
		wantError(t, "mappings without credentials:read", ts.do(t, "GET", "/api/v1/mappings?issuer=ac-lyon", req{Bearer: trainer}), 403, "forbidden", "")
		ts.must(t, 204, "DELETE", "/api/v1/mappings/"+m.ID, req{Bearer: admin})
		r = resultJSON{}
		ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: trainer, JSON: []any{jsonCompletion("apres@ac-lyon.fr", 1)}}).json(t, &r)
		if r.Recorded != 1 || len(r.Awarded) != 0 {
			t.Fatalf("after the mapping was deleted: %+v", r)
		}
	})
}

// A parcours through the API, and each learner's progress.
func TestParcoursThroughTheAPI(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	ts.createIssuer(t, "ac-lyon")
	var mods []string
	for i := range 3 {
		a := ts.createAchievement(t, ts.Root, "ac-lyon", fmt.Sprintf("Micro-module %d", i))
		ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"activity": fmt.Sprint(200 + i), "kind": "moodle-module", "achievement": a}})
		mods = append(mods, ts.URL+"/achievements/"+a)
	}
	pa := ts.createAchievement(t, ts.Root, "ac-lyon", "Parcours")
	var pc struct {
		ID       string
		Modules  []string
		Required int
	}
	ts.must(t, 201, "POST", "/api/v1/parcours", req{Bearer: ts.Root, JSON: map[string]any{"achievement": pa, "modules": mods}}).json(t, &pc)
	if pc.Required != 3 || !slices.Equal(pc.Modules, mods) {
		t.Fatalf("parcours %+v", pc)
	}
	wantError(t, "a second parcours for the same achievement", ts.do(t, "POST", "/api/v1/parcours", req{Bearer: ts.Root,
		JSON: map[string]any{"achievement": pa, "modules": mods[:1]}}), 409, "conflict", "")
	uid := ts.addMember(t, ts.Root, "ac-lyon", "Ana@Example.org", "trainer", "")
	ana := ts.newSession(t, uid)
	ts.Auth.RemoveMember(context.Background(), &auth.Principal{Kind: auth.KindRoot, Root: true}, "ac-lyon", uid)
	for i := 2; i >= 0; i-- {
		ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: ts.Root, JSON: []any{map[string]any{
			"learner": map[string]string{"email": "ana@example.org"}, "activity": map[string]string{"moodleModuleId": fmt.Sprint(200 + i)},
			"passed": true, "at": "2026-11-20T10:00:00Z"}}})
		var pr struct {
			Parcours []completion.Progress
		}
		ts.must(t, 200, "GET", "/api/v1/learners/ana@example.org/parcours", req{Session: ana}).json(t, &pr)
		if len(pr.Parcours) != 1 || pr.Parcours[0].Held != 3-i || pr.Parcours[0].Complete != (i == 0) {
			t.Fatalf("progress after module %d: %+v", i, pr)
		}
		if i == 0 && !strings.HasPrefix(pr.Parcours[0].Credential, ts.URL+"/credentials/") {
			t.Fatalf("complete parcours without its credential: %+v", pr.Parcours[0])
		}
	}
	if n := ts.credentialCount(t, pa); n != 1 {
		t.Fatalf("%d parcours credentials", n)
	}
	wantError(t, "another learner's progress", ts.do(t, "GET", "/api/v1/learners/ben@example.org/parcours", req{Session: ana}), 403, "forbidden", "")
	ts.must(t, 204, "DELETE", "/api/v1/parcours/"+pc.ID, req{Bearer: ts.Root})
	wantError(t, "deleted parcours", ts.do(t, "GET", "/api/v1/parcours/"+pc.ID, req{Bearer: ts.Root}), 404, "not_found", "")
}

// Bad completions: 4xx naming the problem, nothing stored.
func TestBadCompletions(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	ts.createIssuer(t, "ac-lyon")
	ach := ts.createAchievement(t, ts.Root, "ac-lyon", "Numérique")
	ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"activity": mappedCourse, "achievement": ach}})
	good := jsonCompletion("bon@example.org", 1)
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	raw := func(s string) req { return req{Bearer: ts.Root, Body: []byte(s), ContentType: "application/json"} }
	for _, tc := range []struct {
		name   string
		r      req
		status int
		code   string
		field  string
	}{
		{"invalid JSON", raw(`[{"learner":`), 400, "invalid_json", ""},
		{"empty body", raw(``), 400, "invalid_json", ""},
		{"empty array", raw(`[]`), 400, "invalid", "completions"},
		{"a string", raw(`"x"`), 400, "invalid_json", "-"},
		{"unknown field", raw(`[{"learner":{"email":"a@b.fr"},"grade":"A"}]`), 400, "invalid_json", "grade"},
		{"wrong type", raw(`[{"learner":{"email":"a@b.fr"},"completed":"yes"}]`), 400, "invalid_json", "-"},
		{"no learner e-mail", req{Bearer: ts.Root, JSON: []any{good, with("learner", map[string]string{"name": "X"})}}, 400, "invalid", "completions[1].learner.email"},
		{"bad e-mail", req{Bearer: ts.Root, JSON: []any{with("learner", map[string]string{"email": "nope"})}}, 400, "invalid", "completions[0].learner.email"},
		{"no activity identifier", req{Bearer: ts.Root, JSON: []any{good, with("activity", map[string]string{"name": "?"})}}, 400, "invalid", "completions[1].activity"},
		{"neither completed nor passed", req{Bearer: ts.Root, JSON: []any{with("completed", nil)}}, 400, "invalid", "completions[0].completed"},
		{"no date", req{Bearer: ts.Root, JSON: []any{good, with("at", nil)}}, 400, "invalid", "completions[1].at"},
		{"bad date", req{Bearer: ts.Root, JSON: []any{with("at", "hier")}}, 400, "invalid_json", "-"},
		{"score above 1", req{Bearer: ts.Root, JSON: []any{with("score", 87)}}, 400, "invalid", "completions[0].score"},
		{"XML", req{Bearer: ts.Root, Body: []byte("<a/>"), ContentType: "application/xml"}, 415, "unsupported_media_type", ""},
		{"too large", raw(`[` + strings.Repeat(" ", 17<<20) + `]`), 413, "too_large", ""},
		{"bad mapping kind", req{Bearer: ts.Root, JSON: map[string]any{"activity": "42", "kind": "moodle", "achievement": ach}}, 400, "invalid", "kind"},
		{"mapping of an unknown achievement", req{Bearer: ts.Root, JSON: map[string]any{"activity": mappedCourse, "achievement": "00000000-0000-4000-8000-000000000000"}}, 400, "invalid", "achievement"},
		{"mapping with a relative activity id", req{Bearer: ts.Root, JSON: map[string]any{"activity": "course 42", "achievement": ach}}, 400, "invalid", "activity"},
		{"mapping min score 80", req{Bearer: ts.Root, JSON: map[string]any{"activity": "x:1", "achievement": ach, "conditions": map[string]any{"minScore": 80}}}, 400, "invalid", "conditions.minScore"},
		{"parcours without modules", req{Bearer: ts.Root, JSON: map[string]any{"achievement": ach, "modules": []string{}}}, 400, "invalid", "modules"},
		{"parcours needing more than it has", req{Bearer: ts.Root, JSON: map[string]any{"achievement": ach, "modules": []string{"00000000-0000-4000-8000-000000000000"}}}, 400, "invalid", "modules[0]"},
	} {
		path := "/api/v1/completions"
		if strings.HasPrefix(tc.name, "mapping") || strings.HasPrefix(tc.name, "bad mapping") {
			path = "/api/v1/mappings"
		}
		if strings.HasPrefix(tc.name, "parcours") {
			path = "/api/v1/parcours"
		}
		wantError(t, tc.name, ts.do(t, "POST", path, tc.r), tc.status, tc.code, tc.field)
	}
	wantError(t, "unknown mapping", ts.do(t, "GET", "/api/v1/mappings/nope", req{Bearer: ts.Root}), 404, "not_found", "")
	if n := ts.credentialCount(t, ach); n != 0 {
		t.Fatalf("%d credentials after bad completions", n)
	}
	// The good completion of the refused batches was never stored.
	var r resultJSON
	ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: ts.Root, JSON: []any{good}}).json(t, &r)
	if r.Recorded != 1 || len(r.Awarded) != 1 {
		t.Fatalf("good completion: %+v", r)
	}
}

// A trainer of one issuer cannot make another issuer award by sending a
// completion its mapping matches.
func TestCompletionsApplyOnlyTheSendersMappings(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	ts.createIssuer(t, "ac-lyon")
	ts.createIssuer(t, "ac-nice")
	lyon := ts.createAchievement(t, ts.Root, "ac-lyon", "Lyon")
	nice := ts.createAchievement(t, ts.Root, "ac-nice", "Nice")
	for _, a := range []string{lyon, nice} {
		ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"activity": mappedCourse, "achievement": a}})
	}
	trainerNice, _ := ts.createToken(t, ts.Root, "ac-nice", "formateur", "trainer", auth.ScopeAward)
	ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: trainerNice, JSON: []any{jsonCompletion("x@example.org", 1)}})
	if ts.credentialCount(t, lyon) != 0 || ts.credentialCount(t, nice) != 1 {
		t.Fatal("a trainer of ac-nice made ac-lyon award")
	}
	// Root's completions apply every issuer's mappings.
	ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: ts.Root, JSON: []any{jsonCompletion("y@example.org", 1)}})
	if ts.credentialCount(t, lyon) != 1 || ts.credentialCount(t, nice) != 2 {
		t.Fatal("root's completion did not apply both mappings")
	}
}

// matrixRow is a row of the authorization matrix (authz_test.go).
type matrixRow = struct {
	name string
	prep func(t *testing.T, p principal) call
	want [nPrincipals]int
}

// completionMatrix is the part of the authorization matrix for
// completions, mappings, parcours and progress, on issuer a's resources.
func completionMatrix(t *testing.T, ts *testServer, unique func(string) string) []matrixRow {
	root := ts.Root
	achA := ts.createAchievement(t, root, "ac-a", "Matrice complétions")
	ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: root, JSON: map[string]any{"activity": "https://m.example.fr/matrice", "achievement": achA}})
	mapping := func() string {
		var m struct{ ID string }
		ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: root, JSON: map[string]any{"activity": unique("https://m.example.fr/c/"), "achievement": achA}}).json(t, &m)
		return m.ID
	}
	parcours := func() string {
		pa := ts.createAchievement(t, root, "ac-a", unique("Parcours "))
		var p struct{ ID string }
		ts.must(t, 201, "POST", "/api/v1/parcours", req{Bearer: root, JSON: map[string]any{"achievement": pa, "modules": []string{achA}}}).json(t, &p)
		return p.ID
	}
	mID, pID := mapping(), parcours()
	// a awarded autre@ its module; nobody awarded inconnu@ anything.
	ts.award(t, root, achA, "autre@example.org")
	get := func(path string) func(*testing.T, principal) call {
		return func(*testing.T, principal) call { return call{method: "GET", path: path} }
	}
	return []matrixRow{
		{"create mapping", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/mappings", r: req{JSON: map[string]any{"activity": unique("https://m.example.fr/n/"), "achievement": achA}}}
		}, [nPrincipals]int{401, 201, 201, 403, 403, 403, 403, 201, 403, 403, 401, 401}},
		{"list mappings", get("/api/v1/mappings?issuer=ac-a"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		{"get mapping", get("/api/v1/mappings/" + mID),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		{"delete mapping", func(t *testing.T, p principal) call {
			id := mapping()
			return call{method: "DELETE", path: "/api/v1/mappings/" + id, after: func(t *testing.T, res *resp) {
				_, err := ts.Comp.Mapping(context.Background(), id)
				if (res.Status == 204) != (err != nil) {
					t.Errorf("after %d, the mapping: %v", res.Status, err)
				}
			}}
		}, [nPrincipals]int{401, 204, 204, 403, 403, 403, 403, 204, 403, 403, 401, 401}},
		// Admin B may send completions, which apply only b's mappings.
		{"record completions", func(t *testing.T, p principal) call {
			email := unique("stagiaire") + "@example.org"
			c := map[string]any{"learner": map[string]string{"email": email}, "activity": map[string]string{"id": "https://m.example.fr/matrice"},
				"completed": true, "at": "2026-11-20T10:00:00Z"}
			return call{method: "POST", path: "/api/v1/completions", r: req{JSON: []any{c}}, after: func(t *testing.T, res *resp) {
				as, err := ts.DB.Awards(context.Background(), email)
				appliesA := res.Status == 200 && p.id != pAdminB
				if err != nil || slices.ContainsFunc(as, func(a completion.Award) bool { return a.AchievementID == achA }) != appliesA {
					t.Errorf("after %d, awards of %s: %+v %v", res.Status, email, as, err)
				}
			}}
		}, [nPrincipals]int{401, 200, 200, 200, 403, 200, 403, 200, 403, 200, 401, 401}},
		{"create parcours", func(t *testing.T, p principal) call {
			pa := ts.createAchievement(t, root, "ac-a", unique("Parcours "))
			return call{method: "POST", path: "/api/v1/parcours", r: req{JSON: map[string]any{"achievement": pa, "modules": []string{achA}}}}
		}, [nPrincipals]int{401, 201, 201, 403, 403, 403, 403, 201, 403, 403, 401, 401}},
		{"list parcours", get("/api/v1/parcours?issuer=ac-a"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		{"get parcours", get("/api/v1/parcours/" + pID),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		{"delete parcours", func(t *testing.T, p principal) call {
			return call{method: "DELETE", path: "/api/v1/parcours/" + parcours()}
		}, [nPrincipals]int{401, 204, 204, 403, 403, 403, 403, 204, 403, 403, 401, 401}},
		// Someone else's progress: only for the people of an issuer that
		// awarded them (a), who see a's parcours and modules; b awarded
		// autre@ nothing and gets 404, as for the competency profile.
		{"a learner's progress", func(t *testing.T, p principal) call {
			return call{method: "GET", path: "/api/v1/learners/autre@example.org/parcours", after: func(t *testing.T, res *resp) {
				if res.Status != 200 {
					return
				}
				var out struct {
					Parcours []struct {
						Issuer  string
						Modules []struct{ Held bool }
					}
				}
				res.json(t, &out)
				if len(out.Parcours) == 0 || len(out.Parcours[0].Modules) == 0 || !out.Parcours[0].Modules[0].Held {
					t.Errorf("sees %+v", out.Parcours)
				}
			}}
		}, [nPrincipals]int{401, 200, 200, 200, 200, 404, 403, 200, 200, 200, 401, 401}},
		{"an unawarded learner's progress", get("/api/v1/learners/inconnu@example.org/parcours"),
			[nPrincipals]int{401, 200, 404, 404, 404, 404, 403, 404, 404, 404, 401, 401}},
		// One's own progress (for the others, that of a learner a awarded).
		{"own progress", get("/api/v1/learners/apprenant@example.org/parcours"),
			[nPrincipals]int{401, 200, 200, 200, 200, 404, 200, 200, 200, 200, 401, 401}},
	}
}
