package api_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/xapi/xapitest"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"

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

// reviewMatrix is the part of the authorization matrix for attestations
// and the ways completions come in from Moodle, on issuer a's resources.
// The matrix's learner (apprenant@example.org) holds one attestation of a.
func reviewMatrix(t *testing.T, ts *testServer, att *attest.Service, unique func(string) string) []matrixRow {
	root := ts.Root
	var own, others struct{ ID string }
	ts.must(t, 201, "POST", "/api/v1/attestations", req{Bearer: root, JSON: attestationBody("apprenant@example.org")}).json(t, &own)
	ts.must(t, 201, "POST", "/api/v1/attestations", req{Bearer: root, JSON: attestationBody("quelquun@example.org")}).json(t, &others)
	session := func() map[string]any {
		s := attestationBody("")
		delete(s, "learner")
		s["reference"] = unique("SESSION-")
		s["participants"] = []map[string]any{{"email": unique("p") + "@example.org", "name": "Participant", "present": true}}
		return s
	}
	var batch struct{ ID string }
	ts.must(t, 202, "POST", "/api/v1/attestations/batches", req{Bearer: root, JSON: session()}).json(t, &batch)
	if _, err := att.RunPendingBatches(context.Background()); err != nil {
		t.Fatal(err)
	}
	get := func(path string) func(*testing.T, principal) call {
		return func(*testing.T, principal) call { return call{method: "GET", path: path} }
	}
	report := func() []byte {
		return []byte("Prénom / Nom,Adresse de courriel,Achèvement du cours\nPersonne," + unique("r") + "@example.org,\"20/11/26, 15:05\"\n")
	}
	return []matrixRow{
		{"create attestation", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/attestations", r: req{JSON: attestationBody(unique("a") + "@example.org")}}
		}, [nPrincipals]int{401, 201, 201, 201, 403, 403, 403, 201, 403, 201, 401, 401}},
		// The learner reads their own attestation, not another's.
		{"own attestation", get("/api/v1/attestations/" + own.ID),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 200, 200, 200, 200, 401, 401}},
		{"own attestation PDF", get("/api/v1/attestations/" + own.ID + "/pdf"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 200, 200, 200, 200, 401, 401}},
		{"someone else's attestation", get("/api/v1/attestations/" + others.ID),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		{"someone else's attestation PDF", get("/api/v1/attestations/" + others.ID + "/pdf"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		{"create attestation batch", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/attestations/batches", r: req{JSON: session()}}
		}, [nPrincipals]int{401, 202, 202, 202, 403, 403, 403, 202, 403, 202, 401, 401}},
		{"get attestation batch", get("/api/v1/attestations/batches/" + batch.ID),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		{"attestation batch ZIP", get("/api/v1/attestations/batches/" + batch.ID + "/attestations.zip"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		{"attendance report", get("/api/v1/attestations/batches/" + batch.ID + "/report.pdf"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},
		// Public: the verification pages.
		{"verification page by code", func(t *testing.T, p principal) call {
			var a struct{ Verify string }
			ts.must(t, 200, "GET", "/api/v1/attestations/"+own.ID, req{Bearer: root}).json(t, &a)
			return call{method: "GET", path: strings.TrimPrefix(a.Verify, ts.URL)}
		}, [nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		// A completion report for issuer a: a's trainers and admins.
		{"import completion report", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/completions/import?issuer=ac-a&course=7&site=" + moodleSite, r: req{Body: report(), ContentType: "text/csv"}}
		}, [nPrincipals]int{401, 200, 200, 200, 403, 403, 403, 200, 403, 200, 401, 401}},
		// A pull from a Moodle site for issuer a: allowed, it fails on
		// the private address (no traffic leaves the machine); refused,
		// it never gets that far.
		{"Moodle pull", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/moodle/pull", r: req{JSON: map[string]any{"issuer": "ac-a", "url": "http://127.0.0.1:9",
				"token": "0123456789abcdef0123456789abcdef", "courseid": 7}}}
		}, [nPrincipals]int{401, 422, 422, 422, 403, 403, 403, 422, 403, 422, 401, 401}},
	}
}

// TestParcoursProgressHidesOtherIssuersCredentials: a parcours of issuer
// a may count issuer b's achievement as a module. A trainer of a reading
// a learner's progress learns neither that b's module is held nor the
// address of b's credential (that is b's to tell); root and the learner do.
func TestParcoursProgressHidesOtherIssuersCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ts.createIssuer(t, "ac-a")
		ts.createIssuer(t, "ac-b")
		modA := ts.createAchievement(t, ts.Root, "ac-a", "Module de A")
		modB := ts.createAchievement(t, ts.Root, "ac-b", "Module de B")
		parcours := ts.createAchievement(t, ts.Root, "ac-a", "Parcours de A")
		ts.must(t, 201, "POST", "/api/v1/parcours", req{Bearer: ts.Root, JSON: map[string]any{"achievement": parcours, "modules": []string{modA, modB}}})
		email := "suivie@example.org"
		credB := ts.award(t, ts.Root, modB, email)[0]
		credA := ts.award(t, ts.Root, modA, email)[0]
		trainerA, _ := ts.createToken(t, ts.Root, "ac-a", "formateur A", "trainer", auth.ScopeRead)
		uid := ts.addMember(t, ts.Root, "ac-b", email, "trainer", "")
		self := ts.newSession(t, uid)

		type progress struct {
			Parcours []struct {
				Held    int
				Modules []struct {
					Achievement, Credential string
					Held                    bool
				}
			}
		}
		read := func(r req, held int) map[string]string {
			var out progress
			ts.must(t, 200, "GET", "/api/v1/learners/"+email+"/parcours", r).json(t, &out)
			if len(out.Parcours) != 1 || out.Parcours[0].Held != held {
				t.Fatalf("progress %+v, want %d held", out, held)
			}
			creds := map[string]string{}
			for _, m := range out.Parcours[0].Modules {
				if m.Held != (m.Credential != "") {
					t.Errorf("module %s held %v with credential %q", m.Achievement, m.Held, m.Credential)
				}
				creds[strings.TrimPrefix(m.Achievement, ts.URL+"/achievements/")] = strings.TrimPrefix(m.Credential, ts.URL+"/credentials/")
			}
			return creds
		}
		if got := read(req{Bearer: trainerA}, 1); got[modA] != credA || got[modB] != "" {
			t.Errorf("trainer of a sees module credentials %v, want only a's %s", got, credA)
		}
		for name, r := range map[string]req{"root": {Bearer: ts.Root}, "the learner": {Session: self}} {
			if got := read(r, 2); got[modA] != credA || got[modB] != credB {
				t.Errorf("%s sees module credentials %v, want both", name, got)
			}
		}
	})
}

// TestEveryUnsafeRouteNeedsCSRF walks the router of a fully wired server
// and sends every route that changes something with a signed-in admin's
// session cookie but without the session's CSRF token, as another site's
// form or script would: every /api/ route answers 403 csrf, and no other
// route (sign-in, OAuth, xAPI, the OB API, verification) answers a
// success to the cookie alone.
func TestEveryUnsafeRouteNeedsCSRF(t *testing.T) {
	var att *attest.Service
	var cfg *api.Config
	dsn := storetest.SQLite(t)
	ts, _ := newCompetencyServer(t, dsn, withAttest(t, &att), func(base string, c *api.Config) {
		canon, schemas := shared(t)
		v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon})
		c.Backpack = backpack.New(backpack.Config{Store: c.Idempotency.(*store.DB), Verifier: v, Issuing: c.Issuing, BaseURL: base})
		c.OBTokens = mapTokens{}
		cfg = c
	})
	router, ok := api.New(*cfg).(*mux.Router)
	if !ok {
		t.Fatal("api.New no longer returns a *mux.Router")
	}
	ts.createIssuer(t, "ac-a")
	uid := ts.addMember(t, ts.Root, "ac-a", "admin-a@example.org", "admin", "")
	noCSRF := &session{Cookie: ts.newSession(t, uid).Cookie}
	vars := regexp.MustCompile(`\{([a-z]+)(:[^}]*)?\}`)
	n := 0
	err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		path := vars.ReplaceAllStringFunc(tpl, func(v string) string {
			if m := vars.FindStringSubmatch(v); m[2] != "" {
				return strings.SplitN(strings.TrimPrefix(m[2], ":"), "|", 2)[0]
			}
			return "0b9a6c5e-8e7f-4d3c-9b2a-1f0e9d8c7b6a"
		})
		for _, m := range methods {
			if m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions {
				continue
			}
			n++
			res := ts.do(t, m, path, req{Session: noCSRF, JSON: map[string]any{}})
			switch {
			case strings.HasPrefix(tpl, "/api/") && tpl != "/api/v1/verify":
				wantError(t, m+" "+tpl+" without CSRF", res, 403, "csrf", "")
			case tpl == "/api/v1/verify":
				// Public and stateless: it changes nothing.
			case res.Status < 400:
				t.Errorf("%s %s with a cookie and no CSRF token: %s", m, path, res)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Errorf("only %d unsafe routes walked", n)
	}
}

// TestEveryRouteRefusesBadInputCleanly walks the router of a fully wired
// server and sends every route path parameters that name nothing (not a
// uuid, an unknown uuid, an overlong string) and bodies that are not
// what it reads (empty, truncated, of the wrong type, over every cap), as
// root and as a signed-in admin: never a 5xx, and every refusal of an
// /api/ route is the JSON error shape with a code.
func TestEveryRouteRefusesBadInputCleanly(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var att *attest.Service
			var cfg *api.Config
			ts, _ := newCompetencyServer(t, b.DSN(t), withAttest(t, &att), func(base string, c *api.Config) {
				canon, schemas := shared(t)
				v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon})
				c.Backpack = backpack.New(backpack.Config{Store: c.Idempotency.(*store.DB), Verifier: v, Issuing: c.Issuing, BaseURL: base})
				c.OBTokens = mapTokens{}
				cfg = c
			})
			router := api.New(*cfg).(*mux.Router)
			ts.createIssuer(t, "ac-a")
			sess := ts.newSession(t, ts.addMember(t, ts.Root, "ac-a", "admin-a@example.org", "admin", ""))
			vars := regexp.MustCompile(`\{([a-z]+)(:[^}]*)?\}`)
			huge := bytes.Repeat([]byte("a"), 65<<20)
			bodies := []struct{ ct, body string }{{"application/json", ""}, {"application/json", `{"a":`}, {"application/json", `[1]`},
				{"application/json", `{"issuer":7,"achievement":[],"name":{}}`}, {"text/csv", "a,\"b\n"}, {"application/xml", "<x/>"}}
			err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
				tpl, err := route.GetPathTemplate()
				if err != nil {
					return nil
				}
				methods, err := route.GetMethods()
				if err != nil {
					return nil
				}
				for i, id := range []string{"pas-un-uuid", "0b9a6c5e-8e7f-4d3c-9b2a-1f0e9d8c7b6a", strings.Repeat("z", 400)} {
					path := vars.ReplaceAllStringFunc(tpl, func(v string) string {
						if m := vars.FindStringSubmatch(v); m[2] != "" {
							return strings.SplitN(strings.TrimPrefix(m[2], ":"), "|", 2)[0]
						}
						return id
					})
					for _, m := range methods {
						for j, who := range []req{{Bearer: ts.Root}, {Session: sess}} {
							sends := bodies
							if m == http.MethodGet || m == http.MethodHead {
								sends = sends[:1]
							}
							for k, bd := range sends {
								r := who
								r.ContentType, r.Body = bd.ct, []byte(bd.body)
								if i == 0 && j == 0 && k == 0 && m != http.MethodGet && m != http.MethodHead {
									r.Body = huge
								}
								res := ts.do(t, m, path, r)
								what := m + " " + path + " (" + bd.ct + " " + bd.body + ")"
								if res.Status >= 500 {
									t.Errorf("%s: %s", what, res)
								}
								var e apiError
								if strings.HasPrefix(tpl, "/api/") && res.Status >= 400 && (json.Unmarshal(res.Body, &e) != nil || e.Error.Code == "" || e.Error.Message == "") {
									t.Errorf("%s: %d without the error shape: %.200s", what, res.Status, res.Body)
								}
							}
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func pngChunk(buf *bytes.Buffer, typ string, data []byte) {
	binary.Write(buf, binary.BigEndian, uint32(len(data)))
	buf.WriteString(typ)
	buf.Write(data)
	c := crc32.NewIEEE()
	c.Write([]byte(typ))
	c.Write(data)
	binary.Write(buf, binary.BigEndian, c.Sum32())
}

// rawPNG is a PNG whose header says w×h pixels of colour type ct, bit
// depth depth, interlace il, and whose image data inflates to raw bytes.
func rawPNG(w, h uint32, depth, ct, il byte, raw int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9], ihdr[12] = depth, ct, il
	pngChunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, raw))
	zw.Close()
	pngChunk(&b, "IDAT", z.Bytes())
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

// TestAttestationSignatureImage: the signatory's image goes to the PDF
// library, which panicked (ending the process: it renders in a worker
// goroutine) on a PNG whose data is shorter than its header says. Such
// images, and those the library cannot embed or that inflate beyond a
// signature's size, are refused with 400; a good one is printed.
func TestAttestationSignatureImage(t *testing.T) {
	var att *attest.Service
	ts := newTestServer(t, storetest.SQLite(t), withAttest(t, &att))
	ts.createIssuer(t, "ac-a")
	good := &bytes.Buffer{}
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	img.Set(3, 3, color.NRGBA{0, 0, 0x91, 0xff})
	if err := png.Encode(good, img); err != nil {
		t.Fatal(err)
	}
	with := func(image []byte) map[string]any {
		b := attestationBody("signe@example.org")
		b["signatory"] = map[string]any{"name": "Françoise Bézier", "role": "Directrice", "image": image}
		return b
	}
	for name, im := range map[string][]byte{
		"RGBA data shorter than its header":      rawPNG(1000, 1000, 8, 6, 0, 10),
		"grey and alpha shorter than its header": rawPNG(300, 300, 8, 4, 0, 10),
		"RGB data shorter than its header":       rawPNG(300, 300, 8, 2, 0, 10),
		"too many pixels":                        rawPNG(5000, 5000, 8, 6, 0, 10),
		"interlaced":                             rawPNG(10, 10, 8, 6, 1, 10*41),
		"16 bits per channel":                    rawPNG(10, 10, 16, 6, 0, 10*81),
		"a PNG signature and nothing else":       []byte("\x89PNG\r\n\x1a\n"),
		"a truncated JPEG":                       {0xff, 0xd8, 0xff, 0xe0, 0, 0x10},
		"a GIF":                                  []byte("GIF89a"),
	} {
		wantError(t, name, ts.do(t, "POST", "/api/v1/attestations", req{Bearer: ts.Root, JSON: with(im)}), 400, "invalid", "signatory.image")
		s := with(im)
		delete(s, "learner")
		s["participants"] = []map[string]any{{"email": "p@example.org", "name": "P", "present": true}}
		wantError(t, name+" (batch)", ts.do(t, "POST", "/api/v1/attestations/batches", req{Bearer: ts.Root, JSON: s}), 400, "invalid", "signatory.image")
	}
	ts.must(t, 201, "POST", "/api/v1/attestations", req{Bearer: ts.Root, JSON: with(good.Bytes())})
}
