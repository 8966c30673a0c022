package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/fetch"
	"github.com/insigne/insigne/store/storetest"
)

// The security suite: rate limits, refused outbound requests (SSRF),
// missing and forged credentials, CSRF, and the headers and cookie flags
// of every kind of answer.

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func limitedServer(t *testing.T, rl api.RateLimits) (*testServer, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	rl.Now = clock.Now
	ts := newTestServer(t, storetest.SQLite(t), func(base string, c *api.Config) { c.RateLimits = rl })
	ts.createIssuer(t, "ac-caen")
	return ts, clock
}

func TestSecurityRateLimitPublic(t *testing.T) {
	ts, clock := limitedServer(t, api.RateLimits{Public: api.RateLimit{Rate: 1, Burst: 3}})
	for i := range 3 {
		ts.must(t, http.StatusOK, "GET", "/issuers/ac-caen", req{})
		_ = i
	}
	res := ts.do(t, "GET", "/issuers/ac-caen", req{})
	wantError(t, "4th read in a burst of 3", res, http.StatusTooManyRequests, "rate_limited", "")
	if ra := res.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	// X-Forwarded-For from a client that is not a trusted proxy is
	// ignored: it does not buy a new bucket.
	res = ts.do(t, "GET", "/issuers/ac-caen", req{Header: map[string]string{"X-Forwarded-For": "198.51.100.7"}})
	wantError(t, "spoofed X-Forwarded-For", res, http.StatusTooManyRequests, "rate_limited", "")
	// Probes and the authenticated API are not public routes.
	ts.must(t, http.StatusOK, "GET", "/healthz", req{})
	ts.must(t, http.StatusOK, "GET", "/api/v1/issuers", req{Bearer: ts.Root})
	clock.Advance(time.Second)
	ts.must(t, http.StatusOK, "GET", "/issuers/ac-caen", req{})
	wantError(t, "after one token came back", ts.do(t, "GET", "/issuers/ac-caen", req{}), http.StatusTooManyRequests, "rate_limited", "")
	// The verification endpoint is public too.
	wantError(t, "POST /api/v1/verify", ts.do(t, "POST", "/api/v1/verify", req{Body: []byte("{}"), ContentType: "application/json"}),
		http.StatusTooManyRequests, "rate_limited", "")
}

func TestSecurityRateLimitBehindProxy(t *testing.T) {
	ts, _ := limitedServer(t, api.RateLimits{Public: api.RateLimit{Rate: 1, Burst: 2},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	get := func(xff string) int {
		return ts.do(t, "GET", "/issuers/ac-caen", req{Header: map[string]string{"X-Forwarded-For": xff}}).Status
	}
	for _, xff := range []string{"203.0.113.7", "203.0.113.7"} {
		if s := get(xff); s != 200 {
			t.Fatalf("client %s: %d", xff, s)
		}
	}
	if s := get("203.0.113.7"); s != 429 {
		t.Errorf("third request of 203.0.113.7: %d, want 429", s)
	}
	// Another client behind the same proxy has its own budget.
	if s := get("198.51.100.9"); s != 200 {
		t.Errorf("another client: %d", s)
	}
	// A client that writes its own X-Forwarded-For in front of the
	// proxy's is still the address the proxy saw.
	if s := get("192.0.2.1, 203.0.113.7"); s != 429 {
		t.Errorf("forged leftmost hop: %d, want 429", s)
	}
	// IPv6 clients are counted by /64.
	get("2001:db8:1:2::1")
	get("2001:db8:1:2::2")
	if s := get("2001:db8:1:2::3"); s != 429 {
		t.Errorf("third address of one /64: %d, want 429", s)
	}
}

func TestSecurityRateLimitSignIn(t *testing.T) {
	ts, clock := limitedServer(t, api.RateLimits{SignIn: api.RateLimit{Rate: 1.0 / 60, Burst: 5}})
	for i := range 5 {
		wantError(t, fmt.Sprintf("forged token %d", i), ts.do(t, "GET", "/api/v1/issuers", req{Bearer: forgedToken()}),
			http.StatusUnauthorized, "unauthenticated", "")
	}
	wantError(t, "6th forged token", ts.do(t, "GET", "/api/v1/issuers", req{Bearer: forgedToken()}), http.StatusTooManyRequests, "rate_limited", "")
	// Sign-in links are secrets too.
	if res := ts.do(t, "GET", "/signin/link?token="+url.QueryEscape(forgedToken()), req{}); res.Status != http.StatusTooManyRequests {
		t.Errorf("sign-in link after the budget: %s", res)
	}
	// Public documents are still served to that address.
	ts.must(t, http.StatusOK, "GET", "/issuers/ac-caen", req{})
	clock.Advance(61 * time.Second)
	ts.must(t, http.StatusOK, "GET", "/api/v1/issuers", req{Bearer: ts.Root})
}

func TestSecuritySSRFRefused(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	c := fetch.New(fetch.Options{Timeout: 2 * time.Second})
	for _, u := range []string{
		srv.URL,                                                         // loopback
		"http://localhost:" + port + "/",                                // a name that resolves to 127.0.0.1
		"http://[::1]:" + port + "/",                                    // IPv6 loopback
		"http://[::ffff:127.0.0.1]:" + port + "/",                       // IPv4-mapped IPv6 loopback
		"http://[::ffff:7f00:1]:" + port + "/",                          // the same, in hex
		"http://10.0.0.1/", "http://172.16.0.1/", "http://192.168.1.1/", // private
		"http://169.254.169.254/latest/meta-data/", // link-local: cloud metadata
		"http://[fe80::1]/", "http://[fc00::1]/",   // IPv6 link-local, unique local
		"http://100.64.0.1/", "http://0.0.0.0:" + port + "/", "http://[::]:" + port + "/",
	} {
		_, err := c.Get(context.Background(), u, "")
		if !errors.Is(err, fetch.ErrForbiddenAddress) {
			t.Errorf("GET %s: %v, want ErrForbiddenAddress", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server was reached %d times", n)
	}

	// A server we are allowed to reach redirects to addresses we are not.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	defer redirector.Close()
	allowed := fetch.New(fetch.Options{Timeout: 2 * time.Second, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	for _, to := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:" + port + "/",
		"http://10.1.2.3/",
		"file:///etc/passwd",
	} {
		_, err := allowed.Get(context.Background(), redirector.URL+"/?to="+url.QueryEscape(to), "")
		if err == nil {
			t.Errorf("redirect to %s followed", to)
		}
	}
	if _, err := allowed.Get(context.Background(), srv.URL, ""); err != nil {
		t.Errorf("an allowed address: %v", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the loopback server was reached %d times, want once (the allowed request)", n)
	}
}

func TestSecurityMissingAndForgedCredentials(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	ts.createIssuer(t, "ac-dijon")
	body := map[string]string{"slug": "ac-x", "name": "x"}
	for name, h := range map[string]map[string]string{
		"none":           nil,
		"forged token":   {"Authorization": "Bearer " + forgedToken()},
		"empty bearer":   {"Authorization": "Bearer "},
		"basic":          {"Authorization": "Basic cm9vdDpyb290"},
		"root token + 1": {"Authorization": "Bearer " + ts.Root + "x"},
		"forged cookie":  {"Cookie": "insigne_session=" + forgedToken()},
	} {
		wantError(t, name, ts.do(t, "POST", "/api/v1/issuers", req{JSON: body, Header: h}), http.StatusUnauthorized, "unauthenticated", "")
	}
	// A revoked token stops working at once.
	plain, id := ts.createToken(t, ts.Root, "ac-dijon", "ci", "admin", "issuers:admin")
	ts.must(t, http.StatusOK, "GET", "/api/v1/issuers/ac-dijon", req{Bearer: plain})
	ts.must(t, http.StatusNoContent, "DELETE", "/api/v1/issuers/ac-dijon/tokens/"+id, req{Bearer: ts.Root})
	wantError(t, "revoked token", ts.do(t, "GET", "/api/v1/issuers/ac-dijon", req{Bearer: plain}), http.StatusUnauthorized, "unauthenticated", "")
}

func TestSecurityCSRF(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	ts.createIssuer(t, "ac-lille")
	uid := ts.addMember(t, ts.Root, "ac-lille", "admin@ac-lille.fr", "admin", "")
	s := ts.newSession(t, uid)
	ach := map[string]any{"name": "n", "description": "d", "criteria": map[string]string{"narrative": "n"}}
	path := "/api/v1/issuers/ac-lille/achievements"
	noCSRF := &session{Cookie: s.Cookie}
	wantError(t, "no CSRF token", ts.do(t, "POST", path, req{Session: noCSRF, JSON: ach}), http.StatusForbidden, "csrf", "")
	wantError(t, "a wrong CSRF token", ts.do(t, "POST", path, req{Session: noCSRF, JSON: ach,
		Header: map[string]string{"X-CSRF-Token": "AAAA" + forgedToken()}}), http.StatusForbidden, "csrf", "")
	wantError(t, "another session's CSRF token", ts.do(t, "POST", path, req{Session: &session{Cookie: s.Cookie, CSRF: ts.newSession(t, uid).CSRF}, JSON: ach}),
		http.StatusForbidden, "csrf", "")
	// A form post from another site carries the cookie and nothing else.
	wantError(t, "cross-site form", ts.do(t, "POST", "/signout", req{Session: noCSRF, Body: []byte("x=1"), ContentType: "application/x-www-form-urlencoded"}),
		http.StatusForbidden, "csrf", "")
	ts.must(t, http.StatusCreated, "POST", path, req{Session: s, JSON: ach})
}

func TestSecurityHeaders(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprint("secure=", secure), func(t *testing.T) {
			ts := newTestServer(t, storetest.SQLite(t), func(base string, c *api.Config) { c.SecureCookies = secure })
			ts.createIssuer(t, "ac-reims")
			for _, p := range []struct{ method, path string }{
				{"GET", "/healthz"}, {"GET", "/issuers/ac-reims"}, {"GET", "/api/v1/issuers"}, {"GET", "/signin"},
				{"GET", "/no/such/page"}, {"GET", "/.well-known/jwks.json"}, {"POST", "/api/v1/verify"},
			} {
				res := ts.do(t, p.method, p.path, req{Bearer: ts.Root})
				h := res.Header
				for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
					"Referrer-Policy": "strict-origin-when-cross-origin"} {
					if h.Get(k) != want {
						t.Errorf("%s %s: %s %q, want %q", p.method, p.path, k, h.Get(k), want)
					}
				}
				if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
					t.Errorf("%s %s: Content-Security-Policy %q", p.method, p.path, h.Get("Content-Security-Policy"))
				}
				if p.path == "/no/such/page" {
					continue // answered by the router's not-found handler
				}
				if hsts := h.Get("Strict-Transport-Security"); (hsts != "") != secure {
					t.Errorf("%s %s: HSTS %q with secure=%v", p.method, p.path, hsts, secure)
				}
			}
			res := ts.must(t, http.StatusOK, "GET", "/signin", req{})
			cookies := (&http.Response{Header: res.Header}).Cookies()
			if len(cookies) == 0 {
				t.Fatal("GET /signin set no cookie")
			}
			for _, c := range cookies {
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure {
					t.Errorf("cookie %s: HttpOnly %v SameSite %v Secure %v (secure=%v)", c.Name, c.HttpOnly, c.SameSite, c.Secure, secure)
				}
			}
		})
	}
}
