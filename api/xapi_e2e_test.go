package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/completion/xapi/xapitest"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// The must-show, through the real completion service: 50
// learners complete a mapped course through Moodle-shaped xAPI
// statements (single, PUT and batched; some actors by account with the
// address in Insigne's extension); everything is sent again, twice, in
// other orders. Exactly 50 statements are stored and 50 credentials
// issued, each aligned to the mapped items and each verifying.
func TestXAPIFiftyLearnersFiftyCredentials(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fiftyLearners(t, b.DSN(t))
		})
	}
}

func fiftyLearners(t *testing.T, dsn string) {
	// The official frameworks in the database (alignment by code), and
	// a verifier that resolves this server's own documents (issuer
	// keys, status lists), so that a verdict can be "valid".
	ts := newTestServer(t, dsn, func(base string, c *api.Config) {
		db, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		comp := competency.NewService(db, base, nil, nil)
		if err := comp.SeedOfficial(context.Background()); err != nil {
			t.Fatal(err)
		}
		canon, schemas := shared(t)
		c.Competency, c.BaseURL = comp, base
		c.Verifier = badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Docs: selfDocs{base}})
	})
	ts.createIssuer(t, "versailles")
	spec := achievementSpec("Enseigner avec le numérique")
	spec["competencies"] = []string{"CC9", "F1.5"}
	var a struct{ ID string }
	ts.must(t, 201, "POST", "/api/v1/issuers/versailles/achievements", req{Bearer: ts.Root, JSON: spec}).json(t, &a)
	ach := strings.TrimPrefix(a.ID, ts.URL+"/achievements/")
	course := moodleSite + "/course/view.php?id=42"
	ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"activity": course, "achievement": ach}})
	var cl struct{ Key, Secret string }
	ts.must(t, 201, "POST", "/api/v1/lms-clients", req{Bearer: ts.Root, JSON: map[string]string{"name": "Magistère Versailles", "issuer": "versailles"}}).json(t, &cl)
	xs := &xapiServer{testServer: ts, key: cl.Key, secret: cl.Secret}

	const n = 50
	sts := make([]map[string]any, n)
	for i := range n {
		l := learner(i)
		if i%5 == 0 {
			l.UserID = fmt.Sprint(100 + i)
		}
		sts[i] = xapitest.CourseCompleted(xapitest.UUID(i), moodleSite, 42, "Enseigner avec le numérique", l, tc0.Add(time.Duration(i)*time.Minute))
		sts[i]["result"] = map[string]any{"completion": true, "duration": "PT1H30M"}
		if l.UserID != "" {
			sts[i]["context"].(map[string]any)["extensions"].(map[string]any)[xapi.ExtensionIRI(ts.URL, xapi.ExtEmail)] = l.Email
		}
	}
	for i := range 20 {
		xs.sendOK(t, "POST", "/xapi/statements", xapitest.JSON(sts[i]), 200)
	}
	for i := 20; i < 30; i++ {
		xs.sendOK(t, "PUT", "/xapi/statements?statementId="+xapitest.UUID(i), xapitest.JSON(sts[i]), 204)
	}
	var batch []any
	for i := 30; i < n; i++ {
		batch = append(batch, sts[i])
	}
	xs.sendOK(t, "POST", "/xapi/statements", xapitest.JSON(batch), 200)

	r := rand.New(rand.NewPCG(3, 4))
	order := r.Perm(n)
	for start := 0; start < n; start += 7 {
		var b []any
		for _, i := range order[start:min(start+7, n)] {
			b = append(b, sts[i])
		}
		xs.sendOK(t, "POST", "/xapi/statements", xapitest.JSON(b), 200)
	}
	for _, i := range r.Perm(n) {
		xs.sendOK(t, "PUT", "/xapi/statements?statementId="+xapitest.UUID(i), xapitest.JSON(sts[i]), 204)
	}
	if got := xs.statements(t); got != n {
		t.Fatalf("%d statements stored, want %d", got, n)
	}
	// Awards beyond the synchronous limit go to the worker: wait.
	deadline := time.Now().Add(60 * time.Second)
	for ts.credentialCount(t, ach) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := ts.credentialCount(t, ach); got != n {
		t.Fatalf("%d credentials, want %d", got, n)
	}

	var list struct {
		Credentials []struct{ ID, URL string }
	}
	ts.must(t, 200, "GET", "/api/v1/credentials?achievement="+ach+"&limit=100", req{Bearer: ts.Root}).json(t, &list)
	if len(list.Credentials) != n {
		t.Fatalf("listed %d credentials", len(list.Credentials))
	}
	for _, c := range list.Credentials {
		signed := ts.must(t, 200, "GET", strings.TrimPrefix(c.URL, ts.URL), req{Header: map[string]string{"Accept": "application/vc+ld+json"}}).Body
		for _, code := range []string{`"targetCode":"CC9"`, `"targetCode":"F1.5"`, `"evidence"`} {
			if !strings.Contains(string(signed), code) {
				t.Fatalf("credential %s lacks %s: %.300s", c.ID, code, signed)
			}
		}
		var rep struct {
			Verdict string
			Checks  []struct {
				Name    string
				OK      bool
				Message string
			}
		}
		ts.must(t, 200, "POST", "/api/v1/verify", req{Body: signed, ContentType: "application/vc+ld+json"}).json(t, &rep)
		if rep.Verdict != "valid" {
			t.Fatalf("credential %s: verdict %s: %+v", c.ID, rep.Verdict, rep.Checks)
		}
	}
}

// sendOK sends statements and wants the status.
func (xs *xapiServer) sendOK(t *testing.T, method, path string, body []byte, want int) {
	t.Helper()
	if res := xs.send(t, method, path, body, nil); res.Status != want {
		t.Fatalf("%s %s: %s, want %d", method, path, res, want)
	}
}
