package api_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/insigne/insigne/competency"
)

// TestFrameworkOwner: the issuer whose administrator imports a framework
// first owns it; another issuer's administrator may send it back
// unchanged but not import a new version (403 naming the owner), while the
// owner's administrators and root may.
func TestFrameworkOwner(t *testing.T) {
	eachCompetencyBackend(t, func(t *testing.T, ts *testServer, comp *competency.Service) {
		ts.createIssuer(t, "ac-a")
		ts.createIssuer(t, "ac-b")
		adminA, _ := ts.createToken(t, ts.Root, "ac-a", "admin A", "admin", allScopes...)
		adminB, _ := ts.createToken(t, ts.Root, "ac-b", "admin B", "admin", allScopes...)
		v1 := frameworkCSV("FW-A")
		v2 := bytes.Replace(v1, []byte(`"Compétence"`), []byte(`"Compétence révisée"`), 1)
		v3 := bytes.Replace(v1, []byte(`"Compétence"`), []byte(`"Compétence révisée par l'opérateur"`), 1)
		var fw struct {
			ID      string
			Version int
		}
		ts.must(t, 201, "POST", "/api/v1/frameworks", req{Bearer: adminA, Body: v1, ContentType: "text/csv"}).json(t, &fw)

		res := ts.do(t, "POST", "/api/v1/frameworks", req{Bearer: adminB, Body: v2, ContentType: "text/csv"})
		wantError(t, "admin of ac-b versions ac-a's framework", res, 403, "forbidden", "")
		if !strings.Contains(res.String(), "ac-a") {
			t.Errorf("the refusal does not name the owner: %s", res)
		}
		wantError(t, "admin of ac-a imports for ac-b", ts.do(t, "POST", "/api/v1/frameworks?issuer=ac-b",
			req{Bearer: adminA, Body: v2, ContentType: "text/csv"}), 403, "forbidden", "issuer")
		// The same content again changes nothing and is answered.
		ts.must(t, 200, "POST", "/api/v1/frameworks", req{Bearer: adminB, Body: v1, ContentType: "text/csv"})
		ts.must(t, 201, "POST", "/api/v1/frameworks", req{Bearer: adminA, Body: v2, ContentType: "text/csv"}).json(t, &fw)
		if fw.Version != 2 {
			t.Fatalf("owner's new version: %+v", fw)
		}
		ts.must(t, 201, "POST", "/api/v1/frameworks", req{Bearer: ts.Root, Body: v3, ContentType: "text/csv"}).json(t, &fw)
		if fw.Version != 3 {
			t.Fatalf("root's new version: %+v", fw)
		}
		// Root's version keeps the owner: ac-b is still refused.
		wantError(t, "admin of ac-b after root", ts.do(t, "POST", "/api/v1/frameworks",
			req{Bearer: adminB, Body: v1, ContentType: "text/csv"}), 403, "forbidden", "")
		var vs struct{ Versions []any }
		ts.must(t, 200, "GET", "/api/v1/frameworks/"+fw.ID+"/versions", req{Bearer: adminA}).json(t, &vs)
		if len(vs.Versions) != 3 {
			t.Errorf("%d versions, want 3", len(vs.Versions))
		}
		// An administrator of two issuers says which one imports.
		uid := ts.addMember(t, ts.Root, "ac-a", "deux@example.org", "admin", "")
		ts.addMember(t, ts.Root, "ac-b", "deux@example.org", "admin", "")
		sess := ts.newSession(t, uid)
		wantError(t, "admin of two issuers without ?issuer", ts.do(t, "POST", "/api/v1/frameworks",
			req{Session: sess, Body: frameworkCSV("FW-B"), ContentType: "text/csv"}), 400, "invalid", "issuer")
		ts.must(t, 201, "POST", "/api/v1/frameworks?issuer=ac-b", req{Session: sess, Body: frameworkCSV("FW-B"), ContentType: "text/csv"})
		wantError(t, "ac-a for ac-b's framework", ts.do(t, "POST", "/api/v1/frameworks?issuer=ac-a",
			req{Session: sess, Body: bytes.Replace(frameworkCSV("FW-B"), []byte(`"Compétence"`), []byte(`"Autre"`), 1), ContentType: "text/csv"}), 403, "forbidden", "")

		// The 413 names the real limit.
		res = ts.do(t, "POST", "/api/v1/frameworks", req{Bearer: adminA, Body: bytes.Repeat([]byte("a"), competency.MaxImportBytes+2), ContentType: "text/csv"})
		wantError(t, "oversized", res, 413, "too_large", "")
		if !strings.Contains(res.String(), fmt.Sprintf("larger than %d bytes", competency.MaxImportBytes)) {
			t.Errorf("oversized: %s does not name the limit %d", res, competency.MaxImportBytes)
		}
	})
}
