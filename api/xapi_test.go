package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/completion/xapi/xapitest"
	"github.com/insigne/insigne/store/storetest"
)

// recorder stands in for the completion service until it lands: it
// keeps every completion it is given and counts one per learner and
// activity, as the service's idempotence promises.
type recorder struct {
	mu      sync.Mutex
	all     []completion.Completion
	once    map[string]completion.Completion
	issuers map[string]int // the issuers named by RecordFor
}

func (r *recorder) RecordFor(ctx context.Context, issuers []string, cs []completion.Completion) (completion.Result, error) {
	r.mu.Lock()
	if r.issuers == nil {
		r.issuers = map[string]int{}
	}
	r.issuers[strings.Join(issuers, ",")] += len(cs)
	r.mu.Unlock()
	return r.Record(ctx, cs)
}

func (r *recorder) Record(_ context.Context, cs []completion.Completion) (completion.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.once == nil {
		r.once = map[string]completion.Completion{}
	}
	var res completion.Result
	for _, c := range cs {
		r.all = append(r.all, c)
		k := c.Learner.Email + "|" + c.Activity.ID
		if _, ok := r.once[k]; ok {
			res.Duplicates++
			continue
		}
		r.once[k] = c
		res.Recorded++
	}
	return res, nil
}

func (r *recorder) counts() (all, distinct int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all), len(r.once)
}

// xapiServer is a test server with a recorder and an issuer
// "versailles" with an LMS client.
type xapiServer struct {
	*testServer
	rec         *recorder // nil with the real completion service
	key, secret string
	ach         string // the achievement mapped to the course, with the real service
}

func newXAPIServer(t *testing.T, dsn string, opts ...func(base string, c *api.Config)) *xapiServer {
	rec := &recorder{}
	opts = append(opts, func(base string, c *api.Config) { c.Recorder, c.BaseURL = rec, base })
	ts := newTestServer(t, dsn, opts...)
	ts.createIssuer(t, "versailles")
	res := ts.must(t, http.StatusCreated, "POST", "/api/v1/lms-clients", req{Bearer: ts.Root, JSON: map[string]string{"name": "Magistère Versailles", "issuer": "versailles"}})
	var out struct{ Key, Secret, Issuer, Endpoint string }
	res.json(t, &out)
	if !strings.HasPrefix(out.Key, "lms_") || !strings.HasPrefix(out.Secret, "inslms_") || out.Issuer != "versailles" || out.Endpoint != ts.URL+"/xapi/" {
		t.Fatalf("LMS client answer %s", res)
	}
	return &xapiServer{testServer: ts, rec: rec, key: out.Key, secret: out.Secret}
}

// newRealXAPIServer is a test server with the real completion service,
// an issuer "versailles" with an LMS client, and an achievement mapped
// to course (an xAPI activity id).
func newRealXAPIServer(t *testing.T, dsn, course string, opts ...func(base string, c *api.Config)) *xapiServer {
	opts = append(opts, func(base string, c *api.Config) { c.BaseURL = base })
	ts := newTestServer(t, dsn, opts...)
	ts.createIssuer(t, "versailles")
	ach := ts.createAchievement(t, ts.Root, "versailles", "Enseigner avec le numérique")
	ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"activity": course, "achievement": ach}})
	var out struct{ Key, Secret string }
	ts.must(t, http.StatusCreated, "POST", "/api/v1/lms-clients", req{Bearer: ts.Root, JSON: map[string]string{"name": "Magistère Versailles", "issuer": "versailles"}}).json(t, &out)
	return &xapiServer{testServer: ts, key: out.Key, secret: out.Secret, ach: ach}
}

func eachXAPI(t *testing.T, f func(t *testing.T, xs *xapiServer)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, newXAPIServer(t, b.DSN(t)))
		})
	}
}

func lmsBasicAuth(key, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))
}

// send sends statements as an LMS does.
func (xs *xapiServer) send(t testing.TB, method, path string, body []byte, hdr map[string]string) *resp {
	t.Helper()
	h := map[string]string{"Authorization": lmsBasicAuth(xs.key, xs.secret), "X-Experience-API-Version": "1.0.3"}
	for k, v := range hdr {
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	res := xs.do(t, method, path, req{Body: body, ContentType: "application/json", Header: h})
	if res.Header.Get("X-Experience-API-Version") != xapi.Version {
		t.Errorf("%s %s: answer without X-Experience-API-Version: %s", method, path, res)
	}
	return res
}

func (xs *xapiServer) statements(t testing.TB) int {
	t.Helper()
	n, err := xs.DB.StatementCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const moodleSite = "https://magistere.example/versailles"

var tc0 = time.Date(2026, 11, 20, 14, 5, 0, 0, time.UTC)

func learner(i int) xapitest.Learner {
	return xapitest.Learner{Email: fmt.Sprintf("enseignant%02d@ac-versailles.fr", i), Name: fmt.Sprintf("Enseignant %02d", i)}
}

func TestXAPIAbout(t *testing.T) {
	xs := newXAPIServer(t, storetest.SQLite(t))
	res := xs.must(t, http.StatusOK, "GET", "/xapi/about", req{})
	var out struct{ Version []string }
	res.json(t, &out)
	if len(out.Version) != 1 || out.Version[0] != "1.0.3" || res.Header.Get("X-Experience-API-Version") != "1.0.3" {
		t.Errorf("about: %s", res)
	}
}

// Bad statements get the status the xAPI specification gives, a message
// naming the problem, and nothing is stored or recorded.
func TestXAPIBadStatements(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testXAPIBadStatements(t, newRealXAPIServer(t, b.DSN(t), moodleSite+"/course/view.php?id=42"))
		})
	}
}

func testXAPIBadStatements(t *testing.T, xs *xapiServer) {
	good := xapitest.CourseCompleted(xapitest.UUID(1), moodleSite, 42, "Cours", learner(1), tc0)
	xs.must(t, http.StatusOK, "POST", "/xapi/statements", req{Body: xapitest.JSON(good), ContentType: "application/json",
		Header: map[string]string{"Authorization": lmsBasicAuth(xs.key, xs.secret), "X-Experience-API-Version": "1.0.3"}})
	before := xs.statements(t)
	if n := xs.credentialCount(t, xs.ach); n != 1 {
		t.Fatalf("%d credentials after the good statement, want 1", n)
	}

	noActor := xapitest.CourseCompleted(xapitest.UUID(2), moodleSite, 42, "Cours", learner(2), tc0)
	delete(noActor, "actor")
	unknownVerb := xapitest.CourseCompleted(xapitest.UUID(3), moodleSite, 42, "Cours", learner(3), tc0)
	unknownVerb["verb"] = map[string]any{"id": "http://adlnet.gov/expapi/verbs/attempted"}
	changed := xapitest.CourseCompleted(xapitest.UUID(1), moodleSite, 42, "Cours", learner(9), tc0)
	fresh := xapitest.CourseCompleted(xapitest.UUID(4), moodleSite, 42, "Cours", learner(4), tc0)
	huge := append([]byte(`[`), []byte(strings.Repeat(`{"a":"`+strings.Repeat("x", 1000)+`"},`, xapi.MaxBody/1000))...)
	huge = append(huge, []byte(`{}]`)...)

	for _, c := range []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    map[string]string
		status int
		code   string
		want   string
	}{
		{"no actor", "POST", "/xapi/statements", xapitest.JSON([]any{fresh, noActor}), nil, 400, "invalid_statement", "statement [1]: actor: missing"},
		{"unknown verb", "POST", "/xapi/statements", xapitest.JSON(unknownVerb), nil, 400, "invalid_statement", "verbs/attempted"},
		{"no version header", "POST", "/xapi/statements", xapitest.JSON(fresh), map[string]string{"X-Experience-API-Version": ""}, 400, "xapi_version", "missing"},
		{"wrong version header", "POST", "/xapi/statements", xapitest.JSON(fresh), map[string]string{"X-Experience-API-Version": "0.95"}, 400, "xapi_version", "0.95"},
		{"oversized body", "POST", "/xapi/statements", huge, nil, 413, "too_large", "larger than"},
		{"invalid JSON", "POST", "/xapi/statements", []byte(`{"actor": {"mbox": "mailto:a@b.fr"},`), nil, 400, "invalid_statement", "invalid JSON"},
		{"PUT with another id", "PUT", "/xapi/statements?statementId=" + xapitest.UUID(5), xapitest.JSON(fresh), nil, 400, "invalid_statement", "differs from the statementId"},
		{"PUT without statementId", "PUT", "/xapi/statements", xapitest.JSON(fresh), nil, 400, "invalid_statement", "statementId"},
		{"same id, other statement", "POST", "/xapi/statements", xapitest.JSON([]any{fresh, changed}), nil, 409, "conflict", xapitest.UUID(1)},
		{"no credentials", "POST", "/xapi/statements", xapitest.JSON(fresh), map[string]string{"Authorization": ""}, 401, "unauthenticated", "HTTP Basic"},
		{"wrong secret", "POST", "/xapi/statements", xapitest.JSON(fresh), map[string]string{"Authorization": lmsBasicAuth(xs.key, xs.secret+"x")}, 401, "unauthenticated", "wrong secret"},
		{"API token instead", "POST", "/xapi/statements", xapitest.JSON(fresh), map[string]string{"Authorization": "Bearer " + xs.Root}, 401, "unauthenticated", "HTTP Basic"},
		{"attachments", "POST", "/xapi/statements", xapitest.JSON(fresh), map[string]string{"Content-Type": "multipart/mixed; boundary=x"}, 400, "invalid_statement", "attachments"},
	} {
		res := xs.send(t, c.method, c.path, c.body, c.hdr)
		wantError(t, c.name, res, c.status, c.code, "-")
		if !strings.Contains(string(res.Body), c.want) {
			t.Errorf("%s: %s, want a message with %q", c.name, res, c.want)
		}
		if c.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
	if n := xs.statements(t); n != before {
		t.Errorf("%d statements stored after refused requests, want %d", n, before)
	}
	if n := xs.credentialCount(t, xs.ach); n != 1 {
		t.Errorf("%d credentials after refused requests, want 1", n)
	}

	// A revoked client is refused at once.
	var list struct{ Clients []struct{ ID, Key string } }
	xs.must(t, http.StatusOK, "GET", "/api/v1/lms-clients?issuer=versailles", req{Bearer: xs.Root}).json(t, &list)
	if len(list.Clients) != 1 || list.Clients[0].Key != xs.key {
		t.Fatalf("clients %+v", list)
	}
	xs.must(t, http.StatusNoContent, "DELETE", "/api/v1/lms-clients/"+list.Clients[0].ID, req{Bearer: xs.Root})
	wantError(t, "revoked client", xs.send(t, "POST", "/xapi/statements", xapitest.JSON(fresh), nil), 401, "unauthenticated", "-")
}

// Moodle-shaped statements for 50 learners, single and batched, then
// everything again twice in other orders: each statement is stored once,
// and each learner's completion is recorded.
func TestXAPIMoodleReplays(t *testing.T) {
	eachXAPI(t, func(t *testing.T, xs *xapiServer) {
		const n = 50
		sts := make([]map[string]any, n)
		for i := range n {
			l := learner(i)
			if i%5 == 0 {
				// logstore_xapi's default actor: the Moodle account, the
				// address in Insigne's extension.
				l.UserID = fmt.Sprint(100 + i)
			}
			sts[i] = xapitest.CourseCompleted(xapitest.UUID(i), moodleSite, 42, "Enseigner avec le numérique", l, tc0.Add(time.Duration(i)*time.Minute))
			if l.UserID != "" {
				sts[i]["context"].(map[string]any)["extensions"].(map[string]any)[xapi.ExtensionIRI(xs.URL, xapi.ExtEmail)] = l.Email
			}
		}
		// First: the first 20 one by one (POST), 10 by PUT, 20 in a batch.
		for i := range 20 {
			res := xs.send(t, "POST", "/xapi/statements", xapitest.JSON(sts[i]), nil)
			var ids []string
			if res.Status != 200 {
				t.Fatalf("POST %d: %s", i, res)
			}
			res.json(t, &ids)
			if len(ids) != 1 || ids[0] != xapitest.UUID(i) {
				t.Fatalf("POST %d: ids %v", i, ids)
			}
		}
		for i := 20; i < 30; i++ {
			if res := xs.send(t, "PUT", "/xapi/statements?statementId="+xapitest.UUID(i), xapitest.JSON(sts[i]), nil); res.Status != 204 {
				t.Fatalf("PUT %d: %s", i, res)
			}
		}
		batch := make([]any, 0, n)
		for i := 30; i < n; i++ {
			batch = append(batch, sts[i])
		}
		xs.send(t, "POST", "/xapi/statements", xapitest.JSON(batch), nil)
		if got := xs.statements(t); got != n {
			t.Fatalf("%d statements stored, want %d", got, n)
		}
		// Twice more, shuffled: in batches of 7, and one by one by PUT.
		r := rand.New(rand.NewPCG(1, 2))
		order := r.Perm(n)
		for start := 0; start < n; start += 7 {
			var b []any
			for _, i := range order[start:min(start+7, n)] {
				b = append(b, sts[i])
			}
			if res := xs.send(t, "POST", "/xapi/statements", xapitest.JSON(b), nil); res.Status != 200 {
				t.Fatalf("replay batch: %s", res)
			}
		}
		for _, i := range r.Perm(n) {
			if res := xs.send(t, "PUT", "/xapi/statements?statementId="+xapitest.UUID(i), xapitest.JSON(sts[i]), nil); res.Status != 204 {
				t.Fatalf("replay PUT %d: %s", i, res)
			}
		}
		if got := xs.statements(t); got != n {
			t.Errorf("%d statements stored after the replays, want %d", got, n)
		}
		all, distinct := xs.rec.counts()
		if all != 3*n || distinct != n {
			t.Errorf("recorder saw %d completions, %d distinct; want %d and %d", all, distinct, 3*n, n)
		}
		xs.rec.mu.Lock()
		defer xs.rec.mu.Unlock()
		if len(xs.rec.issuers) != 1 || xs.rec.issuers["versailles"] != 3*n {
			t.Errorf("recorded for issuers %v, want versailles alone", xs.rec.issuers)
		}
		for _, c := range xs.rec.once {
			if c.Client != "versailles/lms:"+xs.key || c.Activity.MoodleCourseID != "42" || !strings.HasSuffix(c.Learner.Email, "@ac-versailles.fr") {
				t.Errorf("completion %+v", c)
				break
			}
		}
	})
}

func TestLMSClientsAuthorization(t *testing.T) {
	xs := newXAPIServer(t, storetest.SQLite(t))
	xs.createIssuer(t, "creteil")
	admin, _ := xs.createToken(t, xs.Root, "versailles", "admin", "admin", "issuers:admin")
	trainer, _ := xs.createToken(t, xs.Root, "versailles", "trainer", "trainer", "awards:write")
	other, _ := xs.createToken(t, xs.Root, "creteil", "admin", "admin", "issuers:admin")

	// An issuer's admin token makes clients for its issuer without naming it.
	res := xs.must(t, http.StatusCreated, "POST", "/api/v1/lms-clients", req{Bearer: admin, JSON: map[string]string{"name": "Éléa"}})
	var c struct{ ID, Key, Secret, Issuer string }
	res.json(t, &c)
	if c.Issuer != "versailles" || c.Secret == "" {
		t.Fatalf("%s", res)
	}
	wantError(t, "root without issuer", xs.do(t, "POST", "/api/v1/lms-clients", req{Bearer: xs.Root, JSON: map[string]string{"name": "x"}}), 400, "invalid", "issuer")
	wantError(t, "no name", xs.do(t, "POST", "/api/v1/lms-clients", req{Bearer: admin, JSON: map[string]string{"name": " "}}), 400, "invalid", "name")
	wantError(t, "trainer", xs.do(t, "POST", "/api/v1/lms-clients", req{Bearer: trainer, JSON: map[string]string{"name": "x", "issuer": "versailles"}}), 403, "forbidden", "-")
	wantError(t, "other issuer", xs.do(t, "POST", "/api/v1/lms-clients", req{Bearer: other, JSON: map[string]string{"name": "x", "issuer": "versailles"}}), 403, "forbidden", "-")
	wantError(t, "unknown issuer", xs.do(t, "POST", "/api/v1/lms-clients", req{Bearer: xs.Root, JSON: map[string]string{"name": "x", "issuer": "nowhere"}}), 404, "not_found", "-")
	wantError(t, "anonymous", xs.do(t, "POST", "/api/v1/lms-clients", req{JSON: map[string]string{"name": "x"}}), 401, "unauthenticated", "-")
	wantError(t, "other lists", xs.do(t, "GET", "/api/v1/lms-clients?issuer=versailles", req{Bearer: other}), 403, "forbidden", "-")
	wantError(t, "other revokes", xs.do(t, "DELETE", "/api/v1/lms-clients/"+c.ID, req{Bearer: other}), 403, "forbidden", "-")
	wantError(t, "unknown client", xs.do(t, "DELETE", "/api/v1/lms-clients/nope", req{Bearer: admin}), 404, "not_found", "-")
	var list struct{ Clients []map[string]any }
	xs.must(t, http.StatusOK, "GET", "/api/v1/lms-clients", req{Bearer: admin}).json(t, &list)
	if len(list.Clients) != 2 {
		t.Fatalf("list %+v", list)
	}
	for _, cl := range list.Clients {
		if _, shown := cl["secret"]; shown {
			t.Errorf("the list shows a secret: %v", cl)
		}
	}
	xs.must(t, http.StatusNoContent, "DELETE", "/api/v1/lms-clients/"+c.ID, req{Bearer: admin})
	res = xs.do(t, "POST", "/xapi/statements", req{Body: xapitest.JSON(xapitest.CourseCompleted("", moodleSite, 1, "C", learner(1), tc0)),
		ContentType: "application/json", Header: map[string]string{"Authorization": lmsBasicAuth(c.Key, c.Secret), "X-Experience-API-Version": "1.0.3"}})
	wantError(t, "revoked", res, 401, "unauthenticated", "-")
}
