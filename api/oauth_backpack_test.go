package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/fetch"
	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// TestOAuthWalletBackpack is the outside wallet of issue 5 against the
// real thing: registration, authorization with PKCE and consent, token,
// getCredentials across pages, upsertCredential, getCredentials returning
// it unchanged, refresh, and the old refresh token refused; with the
// access tokens of package oauth behind the backpack's OB endpoints.
func TestOAuthWalletBackpack(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			mail := newSMTPSink(t)
			o := newOBServer(t, b.DSN(t), func(base string, c *api.Config) {
				canon, schemas := shared(t)
				v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Docs: selfDocs{base}})
				c.Verifier = v
				c.Backpack = backpack.New(backpack.Config{Store: c.Idempotency.(*store.DB), Verifier: v,
					Fetcher: fetch.New(fetch.Options{AllowPrivate: true, Timeout: 5 * time.Second}),
					Mailer:  &backpack.SMTP{Addr: mail.Addr, From: "insigne@localhost"}, Issuing: c.Issuing,
					PlatformIssuer: "plateforme", BaseURL: base})
			})
			testOAuthWalletBackpack(t, o)
		})
	}
}

func testOAuthWalletBackpack(t *testing.T, o *obServer) {
	o.createIssuer(t, "ac-lyon")
	o.createIssuer(t, "plateforme")
	ach := o.createAchievement(t, o.Root, "ac-lyon", "Coopérer")
	anne := o.newSession(t, o.learner(t, "anne@example.org", "x"))
	bob := o.newSession(t, o.learner(t, "bob@example.org", "y"))
	o.award(t, o.Root, ach, "anne@example.org", "anne@example.org", "anne@example.org", "bob@example.org")

	// The wallet learns the endpoints from the discovery document.
	var sdd struct {
		Components struct {
			SecuritySchemes struct {
				OAuth2ACG struct {
					Registration string `json:"x-imssf-registrationUrl"`
					Flows        struct {
						AuthorizationCode struct{ AuthorizationURL, TokenURL, RefreshURL string } `json:"authorizationCode"`
					}
				}
			}
		}
		Servers []struct{ URL string }
	}
	o.must(t, 200, "GET", "/ims/ob/v3p0/discovery", req{}).json(t, &sdd)
	scheme := sdd.Components.SecuritySchemes.OAuth2ACG
	path := func(u string) string {
		if !strings.HasPrefix(u, o.URL+"/") {
			t.Fatalf("discovery names %q, not a URL of this service", u)
		}
		return strings.TrimPrefix(u, o.URL)
	}
	if len(sdd.Servers) != 1 || sdd.Servers[0].URL != o.URL+"/ims/ob/v3p0" {
		t.Fatalf("discovery servers %+v", sdd.Servers)
	}
	obBase := path(sdd.Servers[0].URL)
	res := o.must(t, http.StatusCreated, "POST", path(scheme.Registration), req{JSON: registration(allOBScopes)})
	var w wallet
	res.json(t, &w.Registered)
	w.ID, _ = w.Registered["client_id"].(string)
	w.Secret, _ = w.Registered["client_secret"].(string)
	w.Redirect = walletRedirect
	if !strings.HasSuffix(scheme.Flows.AuthorizationCode.AuthorizationURL, "/ims/ob/v3p0/authorize") {
		t.Fatalf("authorization URL %q", scheme.Flows.AuthorizationCode.AuthorizationURL)
	}
	tokenPath := path(scheme.Flows.AuthorizationCode.TokenURL)

	v := newVerifier()
	scopes := oauth.ScopeCredentialRead + " " + oauth.ScopeCredentialUpsert
	code := o.code(t, anne, &w, scopes, v)
	tr := o.tokenReq(t, tokenPath, w.ID, w.Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {w.Redirect}, "code_verifier": {v}})
	var tj tokenJSON
	tr.json(t, &tj)
	if tr.Status != 200 || tj.Scope != scopes {
		t.Fatalf("token: %s", tr)
	}

	type page struct {
		Credential        []json.RawMessage `json:"credential"`
		CompactJwsStrings []string          `json:"compactJwsString"`
	}
	// getCredentials, following the Link header from page to page.
	all := func(token string) []json.RawMessage {
		t.Helper()
		var out []json.RawMessage
		next := obBase + "/credentials?limit=2"
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatal("more than 10 pages")
			}
			r := o.must(t, 200, "GET", next, req{Bearer: token})
			var p page
			r.json(t, &p)
			out = append(out, p.Credential...)
			next = ""
			for _, l := range strings.Split(r.Header.Get("Link"), ",") {
				if u, ok := strings.CutSuffix(strings.TrimSpace(l), `>; rel="next"`); ok {
					next = path(strings.TrimPrefix(u, "<"))
				}
			}
		}
		return out
	}
	before := all(tj.AccessToken)
	if len(before) != 3 {
		t.Fatalf("anne's wallet reads %d credentials, want her 3", len(before))
	}

	// upsertCredential, then the credential comes back unchanged.
	in := bytes.TrimSpace(readValidator(t, "simple.json"))
	up := o.do(t, "POST", obBase+"/credentials", req{Bearer: tj.AccessToken, Body: in, ContentType: "application/json"})
	if up.Status != http.StatusCreated || !bytes.Equal(up.Body, in) {
		t.Fatalf("upsertCredential: %s", up)
	}
	after := all(tj.AccessToken)
	found := 0
	for _, c := range after {
		if bytes.Equal(c, in) {
			found++
		}
	}
	if len(after) != 4 || found != 1 {
		t.Fatalf("after the upsert, %d credentials, %d equal to the one sent; want 4 and 1", len(after), found)
	}

	// Bob's token reads bob's credential only; anne's read-only token
	// cannot upsert.
	vb := newVerifier()
	bt := o.exchange(t, &w, o.code(t, bob, &w, oauth.ScopeCredentialRead, vb), vb)
	if got := all(bt.AccessToken); len(got) != 1 {
		t.Errorf("bob's wallet reads %d credentials, want his 1", len(got))
	}
	if r := o.do(t, "POST", obBase+"/credentials", req{Bearer: bt.AccessToken, Body: in, ContentType: "application/json"}); r.Status != http.StatusForbidden {
		t.Errorf("upsert with a read-only token: %s, want 403", r)
	}

	// Refresh; the old refresh token is then refused.
	rr := o.tokenReq(t, path(scheme.Flows.AuthorizationCode.RefreshURL), w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
	var tj2 tokenJSON
	rr.json(t, &tj2)
	if rr.Status != 200 || tj2.AccessToken == "" {
		t.Fatalf("refresh: %s", rr)
	}
	if got := all(tj2.AccessToken); len(got) != 4 {
		t.Errorf("with the refreshed token, %d credentials, want 4", len(got))
	}
	old := o.tokenReq(t, tokenPath, w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
	wantOAuthError(t, "the old refresh token", old, 400, "invalid_grant")
	if r := o.do(t, "GET", obBase+"/credentials", req{Bearer: tj2.AccessToken}); r.Status != http.StatusUnauthorized {
		t.Errorf("after the reuse of a refresh token, getCredentials answers %s, want 401", r)
	}
	// An expired token is refused by the resource endpoints too.
	o.Clock.Add(time.Hour)
	if r := o.do(t, "GET", obBase+"/credentials", req{Bearer: bt.AccessToken}); r.Status != http.StatusUnauthorized {
		t.Errorf("expired access token on getCredentials: %s, want 401", r)
	}
}
