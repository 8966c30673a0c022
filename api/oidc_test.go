package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/auth/oidctest"
	"github.com/insigne/insigne/store/storetest"
)

// TestOIDCSignIn signs a person in through a real (local) OpenID provider:
// start → the provider → callback → a session that /api/v1/me recognises.
func TestOIDCSignIn(t *testing.T) {
	op := oidctest.New(t)
	op.SetUser("agent-42", "Claire.Dupont@ac-lyon.fr", "Claire Dupont")
	ts := newTestServer(t, storetest.SQLite(t), func(base string, c *api.Config) {
		p, err := auth.NewProvider(context.Background(), op.Issuer(), op.ClientID(), op.ClientSecret(), base+"/auth/oidc/callback", op.Client())
		if err != nil {
			t.Fatal(err)
		}
		c.OIDC = p
	})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	start, err := noRedirect.Get(ts.URL + "/auth/oidc/start")
	if err != nil {
		t.Fatal(err)
	}
	start.Body.Close()
	authURL := start.Header.Get("Location")
	if start.StatusCode != http.StatusFound || !strings.HasPrefix(authURL, op.Issuer()) {
		t.Fatalf("start: %d to %q", start.StatusCode, authURL)
	}
	var flow *http.Cookie
	for _, c := range start.Cookies() {
		if c.Name == "insigne_oidc" {
			flow = c
		}
	}
	if flow == nil || !flow.HttpOnly {
		t.Fatalf("no HttpOnly flow cookie: %v", start.Cookies())
	}
	code, state := op.Authorize(t, authURL)

	callback := func(state string, cookie *http.Cookie) *http.Response {
		req, _ := http.NewRequest("GET", ts.URL+"/auth/oidc/callback?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(state), nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// A callback whose state is not the one this browser started with
	// (login CSRF), or with no flow cookie, is refused.
	if r := callback("forged", flow); r.StatusCode != http.StatusBadRequest {
		t.Errorf("forged state: %d", r.StatusCode)
	}
	if r := callback(state, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("no flow cookie: %d", r.StatusCode)
	}
	resp := callback(state, flow)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "insigne_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", sess)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/me", nil)
	req.AddCookie(sess)
	me, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer me.Body.Close()
	var who struct {
		Kind, Email, Name, CSRFToken string
	}
	json.NewDecoder(me.Body).Decode(&who)
	if me.StatusCode != 200 || who.Kind != "user" || who.Email != "claire.dupont@ac-lyon.fr" || who.Name != "Claire Dupont" || who.CSRFToken == "" {
		t.Fatalf("me: %d %+v", me.StatusCode, who)
	}
	// The code was used: replaying the callback does not sign in again.
	if r := callback(state, flow); r.StatusCode == http.StatusSeeOther {
		t.Error("a used code signed in again")
	}
	// With the CSRF token from /me, the browser signs out.
	out, _ := http.NewRequest("POST", ts.URL+"/signout", nil)
	out.AddCookie(sess)
	out.Header.Set("X-CSRF-Token", who.CSRFToken)
	r, err := noRedirect.Do(out)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", r.StatusCode)
	}
	again, _ := http.NewRequest("GET", ts.URL+"/api/v1/me", nil)
	again.AddCookie(sess)
	if r, _ := http.DefaultClient.Do(again); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d", r.StatusCode)
	}
}
