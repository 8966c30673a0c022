package api_test

import (
	"bytes"
	"testing"

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
