package api_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/xapi/xapitest"

	"github.com/insigne/insigne/competency"
)

// TestOfficialFrameworkOnlyRootChanges: frameworks are shared by every
// issuer, so an issuer's administrator may import new ones and send an
// official one back unchanged, but not make a new version of an official
// framework, which would rewrite what every issuer's awards point to.
func TestOfficialFrameworkOnlyRootChanges(t *testing.T) {
	eachCompetencyBackend(t, func(t *testing.T, ts *testServer, comp *competency.Service) {
		ts.createIssuer(t, "ac-a")
		adminA, _ := ts.createToken(t, ts.Root, "ac-a", "admin A", "admin", allScopes...)
		uid := ts.addMember(t, ts.Root, "ac-a", "admin-a@example.org", "admin", "")
		sess := ts.newSession(t, uid)
		official, err := competency.Official()
		if err != nil {
			t.Fatal(err)
		}
		f := official[0]
		same, err := competency.ExportCASE(f, ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		changed := f
		changed.Items = append([]competency.Item(nil), f.Items...)
		changed.Items[0].FullStatement = "Énoncé réécrit par un autre émetteur."
		rewritten, err := competency.ExportCASE(changed, ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		moodle, err := competency.ExportMoodleCSV(changed)
		if err != nil {
			t.Fatal(err)
		}
		served := ts.must(t, 200, "GET", "/ims/case/v1p0/CFPackages/"+f.Identifier, req{}).Body

		ts.must(t, 200, "POST", "/api/v1/frameworks", req{Bearer: adminA, Body: same, ContentType: "application/json"})
		wantError(t, "admin rewrites an official framework (CASE)", ts.do(t, "POST", "/api/v1/frameworks",
			req{Bearer: adminA, Body: rewritten, ContentType: "application/json"}), 403, "forbidden", "")
		wantError(t, "admin rewrites an official framework (Moodle CSV, session)", ts.do(t, "POST", "/api/v1/frameworks",
			req{Session: sess, Body: moodle, ContentType: "text/csv"}), 403, "forbidden", "")
		if got := ts.must(t, 200, "GET", "/ims/case/v1p0/CFPackages/"+f.Identifier, req{}).Body; !bytes.Equal(got, served) {
			t.Errorf("a refused import changed the served framework")
		}
		var vs struct{ Versions []any }
		ts.must(t, 200, "GET", "/api/v1/frameworks/"+f.Identifier+"/versions", req{Bearer: adminA}).json(t, &vs)
		if len(vs.Versions) != 1 {
			t.Errorf("%d versions after refused imports, want 1", len(vs.Versions))
		}
		// A framework of the admin's own is theirs to import.
		ts.must(t, 201, "POST", "/api/v1/frameworks", req{Bearer: adminA, Body: frameworkCSV("FW-PROPRE"), ContentType: "text/csv"})
		// Root, the operator, may.
		ts.must(t, 201, "POST", "/api/v1/frameworks", req{Bearer: ts.Root, Body: rewritten, ContentType: "application/json"})
	})
}

// TestLMSClientAwardsOnlyForItsIssuer: an LMS client belongs to an
// issuer; the statements it sends apply that issuer's mappings only, even
// when another issuer mapped the same activity. The same for a trainer's
// completion report.
func TestLMSClientAwardsOnlyForItsIssuer(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		ts.createIssuer(t, "ac-a")
		ts.createIssuer(t, "ac-b")
		achA := ts.createAchievement(t, ts.Root, "ac-a", "Badge de A")
		achB := ts.createAchievement(t, ts.Root, "ac-b", "Badge de B")
		activity := moodleSite + "/course/view.php?id=7"
		for _, ach := range []string{achA, achB} {
			ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"activity": activity, "achievement": ach}})
		}
		var c struct{ Key, Secret string }
		ts.must(t, 201, "POST", "/api/v1/lms-clients", req{Bearer: ts.Root, JSON: map[string]string{"name": "Moodle de B", "issuer": "ac-b"}}).json(t, &c)
		l := learner(1)
		ts.must(t, 200, "POST", "/xapi/statements", req{Body: xapitest.JSON(xapitest.CourseCompleted(xapitest.UUID(1), moodleSite, 7, "Cours", l, tc0)),
			ContentType: "application/json", Header: map[string]string{"Authorization": lmsBasicAuth(c.Key, c.Secret), "X-Experience-API-Version": "1.0.3"}})

		trainerB, _ := ts.createToken(t, ts.Root, "ac-b", "formateur B", "trainer", auth.ScopeAward)
		other := "autre@ac-versailles.fr"
		csv := "Prénom / Nom,Adresse de courriel,Achèvement du cours\nAutre Personne," + other + ",\"20/11/26, 15:05\"\n"
		var rep struct{ Completions, Recorded int }
		ts.must(t, 200, "POST", "/api/v1/completions/import?issuer=ac-b&course=7&site="+moodleSite, req{Bearer: trainerB, Body: []byte(csv), ContentType: "text/csv"}).json(t, &rep)
		if rep.Completions != 1 || rep.Recorded != 1 {
			t.Errorf("completion report: %+v", rep)
		}
		for _, email := range []string{l.Email, other} {
			as, err := ts.DB.Awards(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				if a.AchievementID == achA {
					t.Errorf("issuer b's LMS client or trainer made issuer a award %s: %+v", email, a)
				}
			}
			if !slices.ContainsFunc(as, func(a completion.Award) bool { return a.AchievementID == achB }) {
				t.Errorf("issuer b's own mapping did not apply: %+v", as)
			}
		}
		if n := ts.credentialCount(t, achA); n != 0 {
			t.Errorf("issuer a has %d credentials, want 0", n)
		}
	})
}
