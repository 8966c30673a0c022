package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/store/storetest"
)

// TestOAuthRefusals checks that every wrong request is refused with the
// error the RFCs give, and leaves nothing usable behind.
func TestOAuthRefusals(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testOAuthRefusals(t, newOBServer(t, b.DSN(t)))
		})
	}
}

func testOAuthRefusals(t *testing.T, o *obServer) {
	ana := o.newSession(t, o.learner(t, "ana@example.org", "secret d'Ana"))
	w := o.register(t, registration(oauth.ScopeCredentialRead+" "+oauth.ScopeProfileRead))
	read := oauth.ScopeCredentialRead
	token := "/ims/ob/v3p0/token"

	t.Run("wrong code_verifier", func(t *testing.T) {
		code := o.code(t, ana, w, read, newVerifier())
		res := o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {w.Redirect}, "code_verifier": {newVerifier()}})
		wantOAuthError(t, "wrong verifier", res, 400, "invalid_grant")
	})

	t.Run("reused code", func(t *testing.T) {
		v := newVerifier()
		code := o.code(t, ana, w, read, v)
		tj := o.exchange(t, w, code, v)
		res := o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {w.Redirect}, "code_verifier": {v}})
		wantOAuthError(t, "reused code", res, 400, "invalid_grant")
		if st, _ := o.resource(t, tj.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("the access token issued from a reused code answers %d, want 401 (revoked)", st)
		}
		res = o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
		wantOAuthError(t, "refresh token issued from a reused code", res, 400, "invalid_grant")
	})

	t.Run("wrong redirect URI", func(t *testing.T) {
		// At the authorization endpoint: shown to the user, never
		// redirected (the URI is not trusted).
		for _, bad := range []string{"https://attacker.example/cb", walletRedirect + "/x", walletRedirect + "?a=1", ""} {
			q := w.authorizeQuery(read, "s", newVerifier())
			q.Set("redirect_uri", bad)
			res := o.do(t, "GET", "/ims/ob/v3p0/authorize?"+q.Encode(), req{Session: ana})
			if res.Status != http.StatusBadRequest || res.Header.Get("Location") != "" || !strings.Contains(string(res.Body), "n'est pas valable") {
				t.Errorf("redirect_uri %q: %s, want a 400 page and no redirect", bad, res)
			}
		}
		// At the token endpoint: the code is bound to its redirect URI.
		v := newVerifier()
		code := o.code(t, ana, w, read, v)
		res := o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {walletRedirect + "/other"}, "code_verifier": {v}})
		wantOAuthError(t, "token with another redirect_uri", res, 400, "invalid_grant")
	})

	t.Run("unknown client", func(t *testing.T) {
		q := w.authorizeQuery(read, "s", newVerifier())
		q.Set("client_id", "INCONNU")
		res := o.do(t, "GET", "/ims/ob/v3p0/authorize?"+q.Encode(), req{Session: ana})
		if res.Status != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("unknown client: %s, want a 400 page", res)
		}
	})

	// Errors once client and redirect URI are trusted go back to the
	// client with the state.
	redirectError := func(t *testing.T, what string, q url.Values, code string) {
		t.Helper()
		res := o.do(t, "GET", "/ims/ob/v3p0/authorize?"+q.Encode(), req{Session: ana})
		p := redirectParams(t, res)
		if p.Get("error") != code || p.Get("error_description") == "" || p.Get("code") != "" || (q.Get("state") != "" && p.Get("state") != q.Get("state")) {
			t.Errorf("%s: redirected with %v, want error=%s and the state", what, p, code)
		}
	}
	t.Run("scopes", func(t *testing.T) {
		q := w.authorizeQuery(read, "s1", newVerifier())
		q.Del("scope")
		redirectError(t, "missing scope", q, "invalid_scope")
		q.Set("scope", read+" https://purl.imsglobal.org/spec/ob/v3p0/scope/everything")
		redirectError(t, "unknown scope", q, "invalid_scope")
		q.Set("scope", oauth.ScopeCredentialUpsert)
		redirectError(t, "scope the client did not register", q, "invalid_scope")
	})
	t.Run("PKCE", func(t *testing.T) {
		v := newVerifier()
		q := w.authorizeQuery(read, "s2", v)
		q.Set("code_challenge_method", "plain")
		q.Set("code_challenge", v)
		redirectError(t, "plain PKCE", q, "invalid_request")
		q.Del("code_challenge_method")
		redirectError(t, "no method (plain by default)", q, "invalid_request")
		q = w.authorizeQuery(read, "s3", v)
		q.Del("code_challenge")
		redirectError(t, "no PKCE", q, "invalid_request")
		q = w.authorizeQuery(read, "s4", v)
		q.Del("state")
		redirectError(t, "no state", q, "invalid_request")
		q = w.authorizeQuery(read, "s5", v)
		q.Set("response_type", "token")
		redirectError(t, "implicit grant", q, "unsupported_response_type")
		q = w.authorizeQuery(read, "s6", v)
		q.Add("scope", read)
		redirectError(t, "repeated parameter", q, "invalid_request")
	})

	t.Run("consent refused or forged", func(t *testing.T) {
		p := redirectParams(t, o.consent(t, ana, w.authorizeQuery(read, "s7", newVerifier()), "refuse"))
		if p.Get("error") != "access_denied" || p.Get("state") != "s7" || p.Get("code") != "" {
			t.Errorf("refusal: %v", p)
		}
		// A cross-site form without the CSRF token gets no code.
		f := w.authorizeQuery(read, "s8", newVerifier())
		f.Set("decision", "accept")
		res := o.do(t, "POST", "/ims/ob/v3p0/authorize", req{Session: &session{Cookie: ana.Cookie}, ContentType: "application/x-www-form-urlencoded", Body: []byte(f.Encode())})
		if res.Status != http.StatusForbidden || res.Header.Get("Location") != "" {
			t.Errorf("consent without CSRF token: %s, want 403", res)
		}
		// Nor does an anonymous one.
		res = o.do(t, "POST", "/ims/ob/v3p0/authorize", req{ContentType: "application/x-www-form-urlencoded", Body: []byte(f.Encode())})
		if res.Status != http.StatusUnauthorized || res.Header.Get("Location") != "" {
			t.Errorf("anonymous consent: %s, want 401", res)
		}
	})

	t.Run("expired code and access token", func(t *testing.T) {
		v := newVerifier()
		code := o.code(t, ana, w, read, v)
		o.Clock.Add(oauth.MaxCodeTTL + time.Second)
		res := o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {w.Redirect}, "code_verifier": {v}})
		wantOAuthError(t, "expired code", res, 400, "invalid_grant")

		v = newVerifier()
		tj := o.exchange(t, w, o.code(t, ana, w, read, v), v)
		if st, _ := o.resource(t, tj.AccessToken); st != http.StatusOK {
			t.Fatalf("fresh access token: %d", st)
		}
		o.Clock.Add(time.Hour)
		if st, _ := o.resource(t, tj.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("access token after an hour: %d, want 401", st)
		}
		// The refresh token outlives it.
		res = o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
		if res.Status != http.StatusOK {
			t.Errorf("refresh after the access token expired: %s", res)
		}
	})

	t.Run("client authentication", func(t *testing.T) {
		v := newVerifier()
		code := o.code(t, ana, w, read, v)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {w.Redirect}, "code_verifier": {v}}
		for _, c := range []struct{ what, id, secret string }{
			{"wrong secret", w.ID, w.Secret + "x"},
			{"unknown client", "INCONNU", w.Secret},
			{"no Basic credentials", "", ""},
		} {
			res := o.tokenReq(t, token, c.id, c.secret, form)
			wantOAuthError(t, c.what, res, 401, "invalid_client")
			if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s: WWW-Authenticate %q", c.what, res.Header.Get("WWW-Authenticate"))
			}
		}
		// Another client cannot redeem w's code.
		other := o.register(t, registration(read))
		res := o.tokenReq(t, token, other.ID, other.Secret, form)
		wantOAuthError(t, "another client's code", res, 400, "invalid_grant")
	})

	t.Run("token requests", func(t *testing.T) {
		res := o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}})
		wantOAuthError(t, "password grant", res, 400, "unsupported_grant_type")
		res = o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"authorization_code"}})
		wantOAuthError(t, "no code", res, 400, "invalid_request")
		res = o.tokenReq(t, token, w.ID, w.Secret, url.Values{})
		wantOAuthError(t, "no grant_type", res, 400, "invalid_request")
		res = o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"authorization_code"}, "code": {"insoa_inconnu"}, "redirect_uri": {w.Redirect}, "code_verifier": {newVerifier()}})
		wantOAuthError(t, "unknown code", res, 400, "invalid_grant")

		// A client without the refresh_token grant gets no refresh token
		// and may not refresh.
		noRefresh := o.register(t, registration(read, "authorization_code"))
		v := newVerifier()
		tj := o.exchange(t, noRefresh, o.code(t, ana, noRefresh, read, v), v)
		if tj.RefreshToken != "" {
			t.Errorf("a client without the refresh_token grant got a refresh token")
		}
		res = o.tokenReq(t, token, noRefresh.ID, noRefresh.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"insor_x"}})
		wantOAuthError(t, "refresh by a client without the grant", res, 400, "unauthorized_client")

		// Scope: narrowed on refresh, never widened.
		v = newVerifier()
		tj = o.exchange(t, w, o.code(t, ana, w, read+" "+oauth.ScopeProfileRead, v), v)
		res = o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}, "scope": {read + " " + oauth.ScopeCredentialUpsert}})
		wantOAuthError(t, "widening refresh", res, 400, "invalid_scope")
		res = o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}, "scope": {oauth.ScopeProfileRead}})
		var narrowed tokenJSON
		res.json(t, &narrowed)
		if res.Status != http.StatusOK || narrowed.Scope != oauth.ScopeProfileRead {
			t.Fatalf("narrowing refresh: %s", res)
		}
		if st, _ := o.resource(t, narrowed.AccessToken); st != http.StatusForbidden {
			t.Errorf("a token narrowed to profile.readonly reads credentials: %d, want 403", st)
		}
		// The rotated refresh token still carries the whole grant.
		res = o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {narrowed.RefreshToken}})
		var again tokenJSON
		res.json(t, &again)
		if res.Status != http.StatusOK || again.Scope != read+" "+oauth.ScopeProfileRead {
			t.Errorf("refresh without scope after narrowing: %s, want the whole grant", res)
		}
		// Parameters in the URL are refused (they end up in logs).
		res = o.tokenReq(t, token+"?code=x", w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {again.RefreshToken}})
		wantOAuthError(t, "parameters in the URL", res, 400, "invalid_request")
	})

	t.Run("revocation", func(t *testing.T) {
		v := newVerifier()
		tj := o.exchange(t, w, o.code(t, ana, w, read, v), v)
		revoke := "/ims/ob/v3p0/revoke"
		// Another client's revocation does nothing.
		other := o.register(t, registration(read))
		if res := o.tokenReq(t, revoke, other.ID, other.Secret, url.Values{"token": {tj.AccessToken}}); res.Status != 200 {
			t.Errorf("revocation by another client: %s, want 200", res)
		}
		if st, _ := o.resource(t, tj.AccessToken); st != http.StatusOK {
			t.Errorf("another client revoked w's token: %d", st)
		}
		if res := o.tokenReq(t, revoke, w.ID, w.Secret, url.Values{"token": {tj.AccessToken}, "token_type_hint": {"access_token"}}); res.Status != 200 {
			t.Errorf("revocation: %s", res)
		}
		if st, _ := o.resource(t, tj.AccessToken); st != http.StatusUnauthorized {
			t.Errorf("revoked access token: %d, want 401", st)
		}
		if res := o.tokenReq(t, revoke, w.ID, w.Secret, url.Values{"token": {"insot_inconnu"}}); res.Status != 200 {
			t.Errorf("revoking an unknown token: %s, want 200", res)
		}
		wantOAuthError(t, "revocation without token", o.tokenReq(t, revoke, w.ID, w.Secret, url.Values{}), 400, "invalid_request")
		wantOAuthError(t, "revocation with a wrong secret", o.tokenReq(t, revoke, w.ID, "x", url.Values{"token": {tj.RefreshToken}}), 401, "invalid_client")
		// Revoking the refresh token ends the grant.
		if res := o.tokenReq(t, revoke, w.ID, w.Secret, url.Values{"token": {tj.RefreshToken}}); res.Status != 200 {
			t.Errorf("refresh token revocation: %s", res)
		}
		res := o.tokenReq(t, token, w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
		wantOAuthError(t, "revoked refresh token", res, 400, "invalid_grant")
	})

	t.Run("registration", func(t *testing.T) {
		bad := func(what string, mod func(m map[string]any), code string) {
			t.Helper()
			m := registration(read)
			mod(m)
			res := o.do(t, "POST", "/ims/ob/v3p0/register", req{JSON: m})
			wantOAuthError(t, what, res, 400, code)
		}
		bad("http redirect off loopback", func(m map[string]any) { m["redirect_uris"] = []string{"http://wallet.example/cb"} }, "invalid_redirect_uri")
		bad("no redirect URI", func(m map[string]any) { delete(m, "redirect_uris") }, "invalid_redirect_uri")
		bad("redirect URI with a fragment", func(m map[string]any) { m["redirect_uris"] = []string{"https://wallet.example/cb#x"} }, "invalid_redirect_uri")
		bad("relative redirect URI", func(m map[string]any) { m["redirect_uris"] = []string{"/cb"} }, "invalid_redirect_uri")
		bad("unknown scope", func(m map[string]any) { m["scope"] = "admin" }, "invalid_client_metadata")
		bad("no scope", func(m map[string]any) { delete(m, "scope") }, "invalid_client_metadata")
		bad("public client", func(m map[string]any) { m["token_endpoint_auth_method"] = "none" }, "invalid_client_metadata")
		bad("implicit grant", func(m map[string]any) { m["grant_types"] = []string{"implicit"} }, "invalid_client_metadata")
		bad("token response type", func(m map[string]any) { m["response_types"] = []string{"token"} }, "invalid_client_metadata")
		bad("no client name", func(m map[string]any) { delete(m, "client_name") }, "invalid_client_metadata")
		bad("client_name of the wrong type", func(m map[string]any) { m["client_name"] = 42 }, "invalid_client_metadata")
		bad("javascript: client URI", func(m map[string]any) { m["client_uri"] = "javascript:alert(1)" }, "invalid_client_metadata")
		res := o.do(t, "POST", "/ims/ob/v3p0/register", req{Body: []byte("client_name=x"), ContentType: "application/x-www-form-urlencoded"})
		wantOAuthError(t, "form body", res, 400, "invalid_client_metadata")
		res = o.do(t, "POST", "/ims/ob/v3p0/register", req{Body: []byte(`{"client_name":`), ContentType: "application/json"})
		wantOAuthError(t, "truncated JSON", res, 400, "invalid_client_metadata")
		huge := registration(read)
		huge["client_name"] = strings.Repeat("x", 70<<10)
		wantOAuthError(t, "70 KiB body", o.do(t, "POST", "/ims/ob/v3p0/register", req{JSON: huge}), 400, "invalid_client_metadata")
	})

	t.Run("oversized forms", func(t *testing.T) {
		big := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("r", 70<<10)}}
		wantOAuthError(t, "70 KiB token request", o.tokenReq(t, token, w.ID, w.Secret, big), 400, "invalid_request")
		res := o.do(t, "POST", "/ims/ob/v3p0/authorize", req{Session: &session{Cookie: ana.Cookie}, ContentType: "application/x-www-form-urlencoded", Body: []byte(big.Encode())})
		if res.Status != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("70 KiB consent form: %s, want 400", res)
		}
		q := w.authorizeQuery(read, strings.Repeat("s", 2000), newVerifier())
		p := redirectParams(t, o.do(t, "GET", "/ims/ob/v3p0/authorize?"+q.Encode(), req{Session: ana}))
		if p.Get("error") != "invalid_request" || p.Get("state") != "" {
			t.Errorf("2,000-character state: %v, want invalid_request without echoing it", p)
		}
	})
}

// TestOAuthLearnersApart checks that a token answers for the learner who
// granted it and nobody else, and that learners manage only their own
// authorizations.
func TestOAuthLearnersApart(t *testing.T) {
	o := newOBServer(t, storetest.SQLite(t))
	anaID, bobID := o.learner(t, "ana@example.org", "a"), o.learner(t, "bob@example.org", "b")
	ana, bob := o.newSession(t, anaID), o.newSession(t, bobID)
	w := o.register(t, registration(oauth.ScopeCredentialRead))
	va, vb := newVerifier(), newVerifier()
	ta := o.exchange(t, w, o.code(t, ana, w, oauth.ScopeCredentialRead, va), va)
	tb := o.exchange(t, w, o.code(t, bob, w, oauth.ScopeCredentialRead, vb), vb)
	if _, u := o.resource(t, ta.AccessToken); u != anaID {
		t.Errorf("ana's token answers for %q", u)
	}
	if _, u := o.resource(t, tb.AccessToken); u != bobID {
		t.Errorf("bob's token answers for %q", u)
	}

	var grants struct{ Grants []struct{ ID string } }
	o.must(t, http.StatusOK, "GET", "/api/v1/me/oauth-grants", req{Session: ana}).json(t, &grants)
	if len(grants.Grants) != 1 {
		t.Fatalf("ana's authorizations %+v", grants)
	}
	anaGrant := grants.Grants[0].ID
	o.must(t, http.StatusOK, "GET", "/api/v1/me/oauth-grants", req{Session: bob}).json(t, &grants)
	if len(grants.Grants) != 1 || grants.Grants[0].ID == anaGrant {
		t.Fatalf("bob's authorizations %+v", grants)
	}
	wantError(t, "bob withdraws ana's authorization", o.do(t, "DELETE", "/api/v1/me/oauth-grants/"+anaGrant, req{Session: bob}), 404, "not_found", "-")
	wantError(t, "withdrawal without CSRF token", o.do(t, "DELETE", "/api/v1/me/oauth-grants/"+anaGrant, req{Session: &session{Cookie: ana.Cookie}}), 403, "csrf", "-")
	wantError(t, "anonymous list", o.do(t, "GET", "/api/v1/me/oauth-grants", req{}), 401, "unauthenticated", "-")
	wantError(t, "the root token's list", o.do(t, "GET", "/api/v1/me/oauth-grants", req{Bearer: o.Root}), 403, "forbidden", "-")
	wantError(t, "an OAuth access token on the JSON API", o.do(t, "GET", "/api/v1/me/oauth-grants", req{Bearer: ta.AccessToken}), 401, "unauthenticated", "-")
	if st, _ := o.resource(t, ta.AccessToken); st != http.StatusOK {
		t.Errorf("refused withdrawals changed ana's token: %d", st)
	}
	o.must(t, http.StatusNoContent, "DELETE", "/api/v1/me/oauth-grants/"+anaGrant, req{Session: ana})
	if st, _ := o.resource(t, ta.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("withdrawn authorization: ana's token answers %d, want 401", st)
	}
	if st, u := o.resource(t, tb.AccessToken); st != http.StatusOK || u != bobID {
		t.Errorf("ana's withdrawal touched bob's token: %d %q", st, u)
	}
	res := o.tokenReq(t, "/ims/ob/v3p0/token", w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ta.RefreshToken}})
	wantOAuthError(t, "refresh of a withdrawn authorization", res, 400, "invalid_grant")
}
