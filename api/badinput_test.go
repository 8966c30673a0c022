package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/issuing"
)

// state is what bad requests must leave as it was.
type state struct {
	Credentials  int    // of the achievement
	Achievement  string // its document
	Achievements int    // of the issuer
	Tokens       int
	Issuers      int
	Keys         int
	Audit        int
	Credential   string // some credentials: their status and reason
}

func (ts *testServer) state(t *testing.T, slug, achievement string, credentials ...string) state {
	t.Helper()
	root := req{Bearer: ts.Root}
	var s state
	s.Credentials = ts.credentialCount(t, achievement)
	s.Achievement = string(ts.must(t, 200, "GET", "/api/v1/achievements/"+achievement, root).Body)
	var lists struct {
		Achievements, Tokens, Issuers, Keys, Entries []any
	}
	for _, p := range []string{"/api/v1/issuers/" + slug + "/achievements", "/api/v1/issuers/" + slug + "/tokens", "/api/v1/issuers",
		"/api/v1/issuers/" + slug + "/keys", "/api/v1/issuers/" + slug + "/audit?limit=1000"} {
		ts.must(t, 200, "GET", p, root).json(t, &lists)
	}
	s.Achievements, s.Tokens, s.Issuers, s.Keys, s.Audit = len(lists.Achievements), len(lists.Tokens), len(lists.Issuers), len(lists.Keys), len(lists.Entries)
	for _, id := range credentials {
		c := ts.must(t, 200, "GET", "/api/v1/credentials/"+id, root).obj(t)
		s.Credential += fmt.Sprintf("%s: %v (%v); ", id, c["status"], c["reason"])
	}
	return s
}

func csvBody(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// TestBadInput sends malformed, oversized and wrong requests: each gets a
// 4xx whose JSON error names the problem, and none changes what is stored.
func TestBadInput(t *testing.T) {
	eachBackend(t, testBadInput)
}

func testBadInput(t *testing.T, ts *testServer) {
	ts.createIssuer(t, "ac-a")
	achA := ts.createAchievement(t, ts.Root, "ac-a", "Entrées")
	trainer, _ := ts.createToken(t, ts.Root, "ac-a", "formateur", "trainer", auth.ScopeAward, auth.ScopeRead)
	ts.addMember(t, ts.Root, "ac-a", "deja@example.org", "trainer", "")
	creds := ts.award(t, trainer, achA, "un@example.org", "deux@example.org", "trois@example.org")
	cred, revokedCred := creds[0], creds[2]
	// Suspended and revoked credentials, so that state changes that are
	// refused have something to leave alone.
	ts.must(t, 200, "POST", "/api/v1/credentials/"+creds[1]+"/suspend", req{Bearer: ts.Root, JSON: map[string]string{"reason": "vérification"}})
	ts.must(t, 200, "POST", "/api/v1/credentials/"+revokedCred+"/revoke", req{Bearer: ts.Root, JSON: map[string]string{"reason": "erreur"}})
	before := ts.state(t, "ac-a", achA, creds...)
	if before.Credentials != 3 {
		t.Fatalf("state before: %+v", before)
	}

	award := func(v any) req { return req{Bearer: trainer, JSON: v} }
	raw := func(ct, body string) req { return req{Bearer: trainer, ContentType: ct, Body: []byte(body)} }
	one := []map[string]string{{"email": "nouveau@example.org"}}
	achURL := ts.URL + "/achievements/" + achA
	unknownUUID := "0b9a6c5e-8e7f-4d3c-9b2a-1f0e9d8c7b6a"
	long := strings.Repeat("é", 201)
	tooManyRows := &bytes.Buffer{}
	tooManyRows.WriteString("email\n")
	for i := range issuing.MaxRecipients + 1 {
		fmt.Fprintf(tooManyRows, "r%d@example.org\n", i)
	}

	cases := []struct {
		name         string
		method, path string
		r            req
		status       int
		code, field  string // field "-": not checked
	}{
		// Award bodies.
		{"truncated JSON", "POST", "/api/v1/awards", raw("application/json", `{"achievement": "`+achA), 400, "invalid_json", ""},
		{"syntax error", "POST", "/api/v1/awards", raw("application/json", `{"achievement": "`+achA+`",}`), 400, "invalid_json", ""},
		{"not JSON at all", "POST", "/api/v1/awards", raw("application/json", `achievement=`+achA), 400, "invalid_json", ""},
		{"two JSON values", "POST", "/api/v1/awards", raw("application/json", `{}{}`), 400, "invalid_json", ""},
		{"empty body", "POST", "/api/v1/awards", raw("application/json", ""), 400, "invalid_json", ""},
		{"empty body, no content type", "POST", "/api/v1/awards", raw("", ""), 400, "invalid_json", ""},
		{"JSON null", "POST", "/api/v1/awards", raw("application/json", "null"), 400, "invalid", "achievement"},
		{"JSON array", "POST", "/api/v1/awards", raw("application/json", "[]"), 400, "invalid_json", ""},
		{"unknown field", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": one, "badge": "x"}), 400, "invalid_json", "badge"},
		{"unknown recipient field", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": []map[string]string{{"email": "a@example.org", "phone": "0"}}}), 400, "invalid_json", "phone"},
		{"achievement is a number", "POST", "/api/v1/awards", award(map[string]any{"achievement": 42, "recipients": one}), 400, "invalid_json", "achievement"},
		{"recipients is a string", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": "a@example.org"}), 400, "invalid_json", "recipients"},
		{"email is a number", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": []map[string]any{{"email": 7}}}), 400, "invalid_json", "recipients.email"},
		{"body over the cap", "POST", "/api/v1/awards", raw("application/json", `{"narrative":"`+strings.Repeat("a", 16<<20)+`"}`), 413, "too_large", ""},
		{"text/plain", "POST", "/api/v1/awards", raw("text/plain", `{"achievement":"`+achA+`"}`), 415, "unsupported_media_type", ""},
		{"XML", "POST", "/api/v1/awards", raw("application/xml", `<award/>`), 415, "unsupported_media_type", ""},
		{"form", "POST", "/api/v1/awards", raw("application/x-www-form-urlencoded", `achievement=`+achA), 415, "unsupported_media_type", ""},
		{"no achievement", "POST", "/api/v1/awards", award(map[string]any{"recipients": one}), 400, "invalid", "achievement"},
		{"achievement not a uuid", "POST", "/api/v1/awards", award(map[string]any{"achievement": "badge-42", "recipients": one}), 400, "invalid", "achievement"},
		{"achievement of another service", "POST", "/api/v1/awards", award(map[string]any{"achievement": "https://ailleurs.example.org/achievements/" + achA, "recipients": one}), 400, "invalid", "achievement"},
		{"unknown achievement", "POST", "/api/v1/awards", award(map[string]any{"achievement": unknownUUID, "recipients": one}), 400, "invalid", "achievement"},
		{"no recipients", "POST", "/api/v1/awards", award(map[string]any{"achievement": achURL, "recipients": []any{}}), 400, "invalid", "recipients"},
		{"invalid e-mail", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": []map[string]string{{"email": "ok@example.org"}, {"email": "pas une adresse"}}}), 400, "invalid", "recipients[1].email"},
		{"e-mail with a display name", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": []map[string]string{{"email": "Eve <eve@example.org>"}}}), 400, "invalid", "recipients[0].email"},
		{"recipient without e-mail or DID", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": []map[string]string{{"name": "Anonyme"}}}), 400, "invalid", "recipients[0]"},
		{"name too long", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": []map[string]string{{"email": "a@example.org", "name": long}}}), 400, "invalid", "recipients[0].name"},
		{"evidence without url or narrative", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": one, "evidence": []map[string]string{{"name": "rien"}}}), 400, "invalid", "evidence[0]"},
		{"evidence javascript: URL", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": one, "evidence": []map[string]string{{"url": "javascript:alert(1)"}}}), 400, "invalid", "evidence[0].url"},
		{"nested too deep", "POST", "/api/v1/awards", raw("application/json", strings.Repeat("[", 20000)), 400, "invalid_json", ""},
		{"number out of range", "PUT", "/api/v1/achievements/" + achA, req{Bearer: ts.Root, ContentType: "application/json", Body: []byte(`{"name":"x","validForDays":1e300}`)}, 400, "invalid_json", "validForDays"},
		{"recipient DID not a DID", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": []map[string]string{{"did": "javascript:alert(1)"}}}), 400, "invalid", "-"},
		{"result with an unknown description", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": one, "results": []map[string]any{{"type": []string{"Result"}, "resultDescription": "x"}}}), 400, "invalid", "-"},
		{"NUL in evidence", "POST", "/api/v1/awards", award(map[string]any{"achievement": achA, "recipients": one, "evidence": []map[string]string{{"narrative": "a\x00b"}}}), 400, "invalid", "-"},
		{"Idempotency-Key too long", "POST", "/api/v1/awards", req{Bearer: trainer, JSON: map[string]any{"achievement": achA, "recipients": one}, Header: map[string]string{"Idempotency-Key": strings.Repeat("k", 201)}}, 400, "invalid", "Idempotency-Key"},

		// Recipients as CSV.
		{"CSV without email column", "POST", "/api/v1/awards?achievement=" + achA, req{Bearer: trainer, ContentType: "text/csv", Body: csvBody("nom,prenom", "Curie,Marie")}, 400, "invalid", "csv"},
		{"CSV with a broken quote", "POST", "/api/v1/awards?achievement=" + achA, req{Bearer: trainer, ContentType: "text/csv", Body: csvBody("email,name", `a@example.org,"Marie`, `b@example.org,Paul`)}, 400, "invalid", "csv"},
		{"CSV with a bare quote", "POST", "/api/v1/awards?achievement=" + achA, req{Bearer: trainer, ContentType: "text/csv", Body: csvBody("email,name", `a@example.org,Ma"rie`)}, 400, "invalid", "csv"},
		{"empty CSV", "POST", "/api/v1/awards?achievement=" + achA, req{Bearer: trainer, ContentType: "text/csv", Body: []byte{}}, 400, "invalid", "csv"},
		{"CSV header only", "POST", "/api/v1/awards?achievement=" + achA, req{Bearer: trainer, ContentType: "text/csv", Body: csvBody("email,name")}, 400, "invalid", "csv"},
		{"CSV with an invalid e-mail", "POST", "/api/v1/awards?achievement=" + achA, req{Bearer: trainer, ContentType: "text/csv; charset=utf-8", Body: csvBody("email,name", "a@example.org,A", "b@@example,B")}, 400, "invalid", "recipients[1].email"},
		{"CSV without achievement", "POST", "/api/v1/awards", req{Bearer: trainer, ContentType: "text/csv", Body: csvBody("email", "a@example.org")}, 400, "invalid", "achievement"},
		{"CSV with too many rows", "POST", "/api/v1/awards?achievement=" + achA, req{Bearer: trainer, ContentType: "text/csv", Body: tooManyRows.Bytes()}, 400, "invalid", "csv"},
		{"CSV over the cap", "POST", "/api/v1/awards?achievement=" + achA, req{Bearer: trainer, ContentType: "text/csv", Body: append([]byte("email\n"), bytes.Repeat([]byte("a@example.org\n"), (16<<20)/14+1)...)}, 413, "too_large", ""},

		// Achievements.
		{"achievement id not a uuid", "GET", "/api/v1/achievements/42", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"achievement id in capitals", "GET", "/api/v1/achievements/" + strings.ToUpper(achA), req{Bearer: ts.Root}, 404, "not_found", ""},
		{"unknown achievement id", "GET", "/api/v1/achievements/" + unknownUUID, req{Bearer: ts.Root}, 404, "not_found", ""},
		{"update unknown achievement", "PUT", "/api/v1/achievements/" + unknownUUID, req{Bearer: ts.Root, JSON: achievementSpec("x")}, 404, "not_found", ""},
		{"update without name", "PUT", "/api/v1/achievements/" + achA, req{Bearer: ts.Root, JSON: map[string]any{"criteria": map[string]string{"narrative": "x"}}}, 400, "invalid", "name"},
		{"update without criteria", "PUT", "/api/v1/achievements/" + achA, req{Bearer: ts.Root, JSON: map[string]any{"name": "x"}}, 400, "invalid", "criteria"},
		{"update with validForDays < 0", "PUT", "/api/v1/achievements/" + achA, req{Bearer: ts.Root, JSON: map[string]any{"name": "x", "criteria": map[string]string{"narrative": "x"}, "validForDays": -1}}, 400, "invalid", "validForDays"},
		{"update setting the id", "PUT", "/api/v1/achievements/" + achA, req{Bearer: ts.Root, JSON: map[string]any{"id": "https://evil.example/a", "name": "x", "criteria": map[string]string{"narrative": "x"}}}, 400, "invalid", "id"},
		{"update with validForDays a string", "PUT", "/api/v1/achievements/" + achA, req{Bearer: ts.Root, JSON: map[string]any{"name": "x", "validForDays": "30"}}, 400, "invalid_json", "validForDays"},
		{"update with unknown field", "PUT", "/api/v1/achievements/" + achA, req{Bearer: ts.Root, JSON: map[string]any{"name": "x", "colour": "red"}}, 400, "invalid_json", "colour"},
		{"update with malformed JSON", "PUT", "/api/v1/achievements/" + achA, req{Bearer: ts.Root, ContentType: "application/json", Body: []byte(`{"name":`)}, 400, "invalid_json", ""},
		{"create for unknown issuer", "POST", "/api/v1/issuers/nulle-part/achievements", req{Bearer: ts.Root, JSON: achievementSpec("x")}, 404, "not_found", ""},

		// Credentials and jobs.
		{"credential id not a uuid", "GET", "/api/v1/credentials/urn:uuid:" + cred, req{Bearer: ts.Root}, 404, "not_found", ""},
		{"unknown credential", "GET", "/api/v1/credentials/" + unknownUUID, req{Bearer: ts.Root}, 404, "not_found", ""},
		{"revoke a non-uuid", "POST", "/api/v1/credentials/not-a-uuid/revoke", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"revoke an unknown credential", "POST", "/api/v1/credentials/" + unknownUUID + "/revoke", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"revoke with a long reason", "POST", "/api/v1/credentials/" + cred + "/revoke", req{Bearer: ts.Root, JSON: map[string]string{"reason": strings.Repeat("r", 501)}}, 400, "invalid", "reason"},
		{"revoke with malformed JSON", "POST", "/api/v1/credentials/" + cred + "/revoke", req{Bearer: ts.Root, ContentType: "application/json", Body: []byte(`{"reason"`)}, 400, "invalid_json", ""},
		{"revoke with an unknown field", "POST", "/api/v1/credentials/" + cred + "/revoke", req{Bearer: ts.Root, JSON: map[string]any{"why": "x"}}, 400, "invalid_json", "why"},
		{"reinstate a revoked credential", "POST", "/api/v1/credentials/" + revokedCred + "/reinstate", req{Bearer: ts.Root}, 400, "invalid", ""},
		{"suspend a revoked credential", "POST", "/api/v1/credentials/" + revokedCred + "/suspend", req{Bearer: ts.Root}, 400, "invalid", ""},
		{"reinstate with a JSON array", "POST", "/api/v1/credentials/" + creds[1] + "/reinstate", req{Bearer: ts.Root, ContentType: "application/json", Body: []byte("[]")}, 400, "invalid_json", ""},
		{"unknown action", "POST", "/api/v1/credentials/" + cred + "/delete", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"job id not a uuid", "GET", "/api/v1/jobs/1", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"unknown job", "GET", "/api/v1/jobs/" + unknownUUID, req{Bearer: ts.Root}, 404, "not_found", ""},
		{"list without filter", "GET", "/api/v1/credentials", req{Bearer: ts.Root}, 400, "invalid", "achievement"},
		{"list with a bad achievement", "GET", "/api/v1/credentials?achievement=x", req{Bearer: ts.Root}, 400, "invalid", "achievement"},
		{"list with an unknown achievement", "GET", "/api/v1/credentials?achievement=" + unknownUUID, req{Bearer: ts.Root}, 404, "not_found", ""},
		{"list with limit 0", "GET", "/api/v1/credentials?issuer=ac-a&limit=0", req{Bearer: ts.Root}, 400, "invalid", "limit"},
		{"list with limit 1001", "GET", "/api/v1/credentials?issuer=ac-a&limit=1001", req{Bearer: ts.Root}, 400, "invalid", "limit"},
		{"list with a word for offset", "GET", "/api/v1/credentials?issuer=ac-a&offset=ten", req{Bearer: ts.Root}, 400, "invalid", "offset"},
		{"list with a negative offset", "GET", "/api/v1/credentials?issuer=ac-a&offset=-1", req{Bearer: ts.Root}, 400, "invalid", "offset"},
		{"audit with limit 0", "GET", "/api/v1/issuers/ac-a/audit?limit=0", req{Bearer: ts.Root}, 400, "invalid", "limit"},

		// Issuers, tokens, members.
		{"issuer slug too short", "POST", "/api/v1/issuers", req{Bearer: ts.Root, JSON: map[string]string{"slug": "a", "name": "A"}}, 400, "invalid", "slug"},
		{"issuer slug with a slash", "POST", "/api/v1/issuers", req{Bearer: ts.Root, JSON: map[string]string{"slug": "ac/b", "name": "B"}}, 400, "invalid", "slug"},
		{"issuer slug taken", "POST", "/api/v1/issuers", req{Bearer: ts.Root, JSON: map[string]string{"slug": "ac-a", "name": "Encore"}}, 400, "invalid", "slug"},
		{"issuer without name", "POST", "/api/v1/issuers", req{Bearer: ts.Root, JSON: map[string]string{"slug": "ac-c"}}, 400, "invalid", "name"},
		{"issuer with an ftp URL", "POST", "/api/v1/issuers", req{Bearer: ts.Root, JSON: map[string]string{"slug": "ac-c", "name": "C", "url": "ftp://example.org"}}, 400, "invalid", "url"},
		{"issuer with a bad e-mail", "POST", "/api/v1/issuers", req{Bearer: ts.Root, JSON: map[string]string{"slug": "ac-c", "name": "C", "email": "contact"}}, 400, "invalid", "email"},
		{"issuer with an unknown field", "POST", "/api/v1/issuers", req{Bearer: ts.Root, JSON: map[string]string{"slug": "ac-c", "name": "C", "siret": "1"}}, 400, "invalid_json", "siret"},
		{"unknown issuer", "GET", "/api/v1/issuers/nulle-part", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"rotate keys of an unknown issuer", "POST", "/api/v1/issuers/nulle-part/keys/rotate", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"token without name", "POST", "/api/v1/issuers/ac-a/tokens", req{Bearer: ts.Root, JSON: map[string]any{"role": "trainer", "scopes": []string{auth.ScopeRead}}}, 400, "invalid", "-"},
		{"token without scopes", "POST", "/api/v1/issuers/ac-a/tokens", req{Bearer: ts.Root, JSON: map[string]any{"name": "x", "role": "trainer"}}, 400, "invalid", "-"},
		{"token with scopes as a string", "POST", "/api/v1/issuers/ac-a/tokens", req{Bearer: ts.Root, JSON: map[string]any{"name": "x", "role": "trainer", "scopes": auth.ScopeRead}}, 400, "invalid_json", "scopes"},
		{"token for an unknown issuer", "POST", "/api/v1/issuers/nulle-part/tokens", req{Bearer: ts.Root, JSON: map[string]any{"name": "x", "role": "trainer", "scopes": []string{auth.ScopeRead}}}, 404, "not_found", ""},
		{"revoke an unknown token", "DELETE", "/api/v1/issuers/ac-a/tokens/nope", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"member with a bad e-mail", "POST", "/api/v1/issuers/ac-a/members", req{Bearer: ts.Root, JSON: map[string]string{"email": "pas-une-adresse", "role": "trainer"}}, 400, "invalid", "-"},
		{"member with an unknown role", "POST", "/api/v1/issuers/ac-a/members", req{Bearer: ts.Root, JSON: map[string]string{"email": "x@example.org", "role": "owner"}}, 400, "invalid", "role"},
		{"member: password for an existing account", "POST", "/api/v1/issuers/ac-a/members", req{Bearer: ts.Root, JSON: map[string]string{"email": "deja@example.org", "role": "admin", "password": "je prends ce compte"}}, 409, "conflict", ""},

		// Routing.
		{"unknown API path", "GET", "/api/v1/nothing", req{Bearer: ts.Root}, 404, "not_found", ""},
		{"wrong method on the last API route", "DELETE", "/api/v1/me", req{Bearer: ts.Root}, 405, "method_not_allowed", ""},
		{"wrong method", "DELETE", "/api/v1/awards", req{Bearer: ts.Root}, 405, "method_not_allowed", ""},
		{"wrong method on issuers", "PUT", "/api/v1/issuers", req{Bearer: ts.Root}, 405, "method_not_allowed", ""},

		// Public documents.
		{"achievement version 0", "GET", "/achievements/" + achA + "?version=0", req{}, 400, "invalid", "version"},
		{"achievement version as a word", "GET", "/achievements/" + achA + "?version=latest", req{}, 400, "invalid", "version"},
		{"unknown achievement version", "GET", "/achievements/" + achA + "?version=99", req{}, 404, "not_found", ""},
		{"public achievement not a uuid", "GET", "/achievements/x", req{}, 404, "not_found", ""},
		{"public credential not a uuid", "GET", "/credentials/x", req{}, 404, "not_found", ""},
		{"public unknown credential", "GET", "/credentials/" + unknownUUID, req{}, 404, "not_found", ""},
		{"baked image of an unknown credential", "GET", "/credentials/" + unknownUUID + "/badge.png", req{}, 404, "not_found", ""},
		{"unknown issuer profile", "GET", "/issuers/nulle-part", req{}, 404, "not_found", ""},
		{"unknown DID document", "GET", "/issuers/nulle-part/did.json", req{}, 404, "not_found", ""},
		{"unknown key", "GET", "/issuers/ac-a/keys/nope", req{}, 404, "not_found", ""},
		{"status list 0", "GET", "/status/ac-a/0", req{}, 404, "not_found", ""},
		{"status list not yet used", "GET", "/status/ac-a/2", req{}, 404, "not_found", ""},
		{"status list number overflowing", "GET", "/status/ac-a/99999999999999999999999", req{}, 404, "not_found", ""},
		{"status list of an unknown issuer", "GET", "/status/nulle-part/1", req{}, 404, "not_found", ""},
		{"unknown evidence", "GET", "/evidence/" + strings.Repeat("0", 64), req{}, 404, "not_found", ""},
		{"verify garbage", "POST", "/api/v1/verify", req{ContentType: "application/json", Body: []byte(`{"@context":`)}, 400, "unusable_input", ""},
	}
	for _, tc := range cases {
		res := ts.do(t, tc.method, tc.path, tc.r)
		wantError(t, tc.name, res, tc.status, tc.code, tc.field)
	}
	if after := ts.state(t, "ac-a", achA, creds...); !reflect.DeepEqual(before, after) {
		t.Errorf("bad requests changed what was stored:\nbefore %+v\nafter  %+v", before, after)
	}
	ts.must(t, 200, "GET", "/credentials/"+cred, req{})
	ts.must(t, 200, "GET", "/status/ac-a/1", req{})
}

// TestAwardCSV: a good recipients file awards within the request.
func TestAwardCSV(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ts.createIssuer(t, "ac-a")
		ach := ts.createAchievement(t, ts.Root, "ac-a", "Tableur")
		body := append([]byte("\xef\xbb\xbf"), csvBody("Nom;x,Email,did", `"Curie, Marie",marie@example.org,`, "", "Paul,paul@example.org,")...)
		res := ts.must(t, 201, "POST", "/api/v1/awards?achievement="+ach+"&narrative=Atelier", req{Bearer: ts.Root, ContentType: "text/csv", Body: body})
		var out struct{ Credentials []struct{ ID string } }
		res.json(t, &out)
		if len(out.Credentials) != 2 || ts.credentialCount(t, ach) != 2 {
			t.Fatalf("CSV award: %s", res)
		}
	})
}

// TestIdempotentAward: a retried award is answered, not redone.
func TestIdempotentAward(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ts.createIssuer(t, "ac-a")
		ach := ts.createAchievement(t, ts.Root, "ac-a", "Une fois")
		trainer, _ := ts.createToken(t, ts.Root, "ac-a", "formateur", "trainer", auth.ScopeAward, auth.ScopeRead)
		body := map[string]any{"achievement": ach, "recipients": []map[string]string{{"email": "une@example.org"}, {"email": "fois@example.org"}}}
		key := map[string]string{"Idempotency-Key": "award-2024-06-01-0001"}

		first := ts.must(t, 201, "POST", "/api/v1/awards", req{Bearer: trainer, JSON: body, Header: key})
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("first answer says it is replayed")
		}
		for range 2 {
			again := ts.must(t, 201, "POST", "/api/v1/awards", req{Bearer: trainer, JSON: body, Header: key})
			if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, first.Body) {
				t.Errorf("retry: Idempotent-Replayed %q, body %s, want true and %s", again.Header.Get("Idempotent-Replayed"), again.Body, first.Body)
			}
			if ct := again.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("retry: Content-Type %q", ct)
			}
		}
		if n := ts.credentialCount(t, ach); n != 2 {
			t.Fatalf("%d credentials after a retried award, want 2", n)
		}

		// The same key for another request.
		other := map[string]any{"achievement": ach, "recipients": []map[string]string{{"email": "autre@example.org"}}}
		wantError(t, "same key, other body", ts.do(t, "POST", "/api/v1/awards", req{Bearer: trainer, JSON: other, Header: key}), 422, "idempotency_key_reused", "Idempotency-Key")
		wantError(t, "same key, same body as CSV", ts.do(t, "POST", "/api/v1/awards?achievement="+ach, req{Bearer: trainer, ContentType: "text/csv", Body: csvBody("email", "une@example.org", "fois@example.org"), Header: key}), 422, "idempotency_key_reused", "Idempotency-Key")
		if n := ts.credentialCount(t, ach); n != 2 {
			t.Fatalf("%d credentials after a reused key, want 2", n)
		}

		// Keys belong to their principal: another caller's same key is
		// another request.
		res := ts.must(t, 201, "POST", "/api/v1/awards", req{Bearer: ts.Root, JSON: body, Header: key})
		if res.Header.Get("Idempotent-Replayed") != "" || bytes.Equal(res.Body, first.Body) {
			t.Errorf("another principal got the first answer: %s", res)
		}

		// A bulk award retried: the same job, no second one.
		rs := make([]map[string]string, 101)
		for i := range rs {
			rs[i] = map[string]string{"email": fmt.Sprintf("lot%d@example.org", i)}
		}
		bulk := map[string]any{"achievement": ach, "recipients": rs}
		key3 := map[string]string{"Idempotency-Key": "award-2024-06-01-0003"}
		first = ts.must(t, 202, "POST", "/api/v1/awards", req{Bearer: trainer, JSON: bulk, Header: key3})
		again := ts.must(t, 202, "POST", "/api/v1/awards", req{Bearer: trainer, JSON: bulk, Header: key3})
		if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, first.Body) {
			t.Errorf("bulk retry: %s, want %s replayed", again, first)
		}
		if loc := again.Header.Get("Location"); loc == "" || loc != first.Header.Get("Location") {
			t.Errorf("the replayed 202 has Location %q, the first %q", loc, first.Header.Get("Location"))
		}
		var job struct{ Job string }
		first.json(t, &job)
		if j := ts.waitJob(t, trainer, job.Job); j.Done != 101 {
			t.Errorf("bulk job: %+v", j)
		}
		if n := ts.credentialCount(t, ach); n != 4+101 {
			t.Fatalf("%d credentials after a retried bulk award, want %d", n, 4+101)
		}

		// A refused request frees its key for the corrected one.
		key2 := map[string]string{"Idempotency-Key": "award-2024-06-01-0002"}
		bad := map[string]any{"achievement": ach, "recipients": []map[string]string{{"email": "faute@"}}}
		wantError(t, "bad award with a key", ts.do(t, "POST", "/api/v1/awards", req{Bearer: trainer, JSON: bad, Header: key2}), 400, "invalid", "recipients[0].email")
		good := map[string]any{"achievement": ach, "recipients": []map[string]string{{"email": "corrige@example.org"}}}
		if res := ts.must(t, 201, "POST", "/api/v1/awards", req{Bearer: trainer, JSON: good, Header: key2}); res.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("corrected request replayed: %s", res)
		}
		if n := ts.credentialCount(t, ach); n != 4+101+1 {
			t.Fatalf("%d credentials, want %d", n, 4+101+1)
		}
	})
}

// TestBulkAward: more recipients than the request may sign become a job,
// which awards the good rows and names the bad ones.
func TestBulkAward(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ts.createIssuer(t, "ac-a")
		ach := ts.createAchievement(t, ts.Root, "ac-a", "Promotion")
		trainer, _ := ts.createToken(t, ts.Root, "ac-a", "formateur", "trainer", auth.ScopeAward, auth.ScopeRead)
		bad := map[int]string{7: "sans-arobase.example.org", 128: "deux@@example.org", 250: "espace @example.org"} // rows, from 1
		rs := make([]map[string]string, 250)
		for i := range rs {
			rs[i] = map[string]string{"email": fmt.Sprintf("stagiaire%03d@example.org", i+1), "name": fmt.Sprintf("Stagiaire %d", i+1)}
			if e, ok := bad[i+1]; ok {
				rs[i]["email"] = e
			}
		}
		res := ts.must(t, 202, "POST", "/api/v1/awards", req{Bearer: trainer, JSON: map[string]any{"achievement": ach, "recipients": rs, "narrative": "Session de juin"}})
		var started struct {
			Job   string
			Total int
		}
		res.json(t, &started)
		if started.Total != 250 || !strings.HasPrefix(started.Job, ts.URL+"/api/v1/jobs/") || res.Header.Get("Location") != started.Job {
			t.Fatalf("job answer %s, Location %q", res, res.Header.Get("Location"))
		}
		j := ts.waitJob(t, trainer, started.Job)
		var rows []int
		for _, e := range j.Errors {
			rows = append(rows, e.Row)
			if !strings.Contains(e.Message, "email") || !strings.Contains(e.Message, bad[e.Row]) {
				t.Errorf("row %d: message %q does not name the e-mail address %q", e.Row, e.Message, bad[e.Row])
			}
		}
		slices.Sort(rows)
		if j.State != issuing.JobDone || j.Total != 250 || j.Done != 247 || j.Failed != 3 || !slices.Equal(rows, []int{7, 128, 250}) {
			t.Errorf("job %+v, want done: 247 done, 3 failed at rows 7, 128, 250", j)
		}
		if n := ts.credentialCount(t, ach); n != 247 {
			t.Errorf("%d credentials, want 247", n)
		}
		// Every good row, and no bad one, has its credential.
		var list struct {
			Credentials []struct{ Recipient struct{ Email string } }
		}
		ts.must(t, 200, "GET", "/api/v1/credentials?achievement="+ach+"&limit=1000", req{Bearer: trainer}).json(t, &list)
		got := map[string]bool{}
		for _, c := range list.Credentials {
			got[c.Recipient.Email] = true
		}
		for i, r := range rs {
			if _, isBad := bad[i+1]; got[r["email"]] == isBad {
				t.Errorf("row %d (%s): credential %v", i+1, r["email"], got[r["email"]])
			}
		}
	})
}

// TestEvidenceUpload: evidence is size-capped and typed by its bytes.
func TestEvidenceUpload(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ts.createIssuer(t, "ac-a")
		trainer, _ := ts.createToken(t, ts.Root, "ac-a", "formateur", "trainer", auth.ScopeAward)
		up := func(ct string, body []byte) *resp {
			return ts.do(t, "POST", "/api/v1/evidence?name=preuve", req{Bearer: trainer, ContentType: ct, Body: body})
		}
		multi := func(field, name string, content []byte) (string, []byte) {
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			fw, _ := w.CreateFormFile(field, name)
			fw.Write(content)
			w.Close()
			return w.FormDataContentType(), b.Bytes()
		}
		html := []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>")

		// Good files, raw and in a form; the type comes from the bytes.
		res := ts.must(t, 201, "POST", "/api/v1/evidence?name=preuve.png", req{Bearer: trainer, ContentType: "text/html", Body: pngBytes(1000)})
		if m := res.obj(t); m["mediaType"] != "image/png" || m["size"] != 1000.0 {
			t.Errorf("upload: %s", res)
		}
		ct, body := multi("file", "attestation.pdf", []byte("%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"))
		if m := ts.must(t, 201, "POST", "/api/v1/evidence", req{Bearer: trainer, ContentType: ct, Body: body}).obj(t); m["mediaType"] != "application/pdf" || m["name"] != "attestation.pdf" {
			t.Errorf("multipart upload: %v", m)
		}

		wantError(t, "oversized evidence", up("image/png", pngBytes(issuing.MaxEvidenceSize+1)), 413, "too_large", "")
		wantError(t, "far oversized evidence", up("image/png", pngBytes(issuing.MaxEvidenceSize+2<<20)), 413, "too_large", "")
		wantError(t, "HTML evidence", up("image/png", html), 400, "invalid", "file")
		wantError(t, "HTML evidence after spaces", up("text/plain", append([]byte("\n\n   "), html...)), 400, "invalid", "file")
		wantError(t, "empty evidence", up("image/png", nil), 400, "invalid", "file")
		wantError(t, "executable evidence", up("application/octet-stream", append([]byte("MZ\x90\x00"), make([]byte, 600)...)), 400, "invalid", "file")
		ct, body = multi("file", "page.html", html)
		wantError(t, "HTML evidence in a form", ts.do(t, "POST", "/api/v1/evidence", req{Bearer: trainer, ContentType: ct, Body: body}), 400, "invalid", "file")
		ct, body = multi("document", "preuve.png", pngBytes(100))
		wantError(t, "form without a file part", ts.do(t, "POST", "/api/v1/evidence", req{Bearer: trainer, ContentType: ct, Body: body}), 400, "invalid", "file")
		ct, body = multi("file", "grande.png", pngBytes(issuing.MaxEvidenceSize+1))
		wantError(t, "oversized evidence in a form", ts.do(t, "POST", "/api/v1/evidence", req{Bearer: trainer, ContentType: ct, Body: body}), 413, "too_large", "")
		ct, body = multi("file", "enorme.png", pngBytes(issuing.MaxEvidenceSize+2<<20))
		wantError(t, "far oversized evidence in a form", ts.do(t, "POST", "/api/v1/evidence", req{Bearer: trainer, ContentType: ct, Body: body}), 413, "too_large", "")

		// Only the two good files were kept.
		var n int
		for _, e := range auditActions(t, ts) {
			if e == "evidence.upload" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d evidence uploads recorded, want 2", n)
		}
	})
}

// auditActions lists the actions of the whole audit log, from the store.
func auditActions(t *testing.T, ts *testServer) []string {
	t.Helper()
	entries, err := ts.DB.AuditLog(context.Background(), "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Action
	}
	return out
}
