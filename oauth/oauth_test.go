package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// RFC 7636 Appendix B.
func TestS256ChallengeRFC7636(t *testing.T) {
	if got := S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("S256 challenge %q, want RFC 7636's E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", got)
	}
	if !checkVerifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") || !isVerifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") {
		t.Error("RFC 7636's verifier does not check")
	}
	for _, v := range []string{"", strings.Repeat("a", 42), strings.Repeat("a", 129), strings.Repeat("a", 42) + "/", strings.Repeat("é", 43)} {
		if isVerifier(v) {
			t.Errorf("%q accepted as a code_verifier", v)
		}
	}
}

// The OB 3.0 specification's registration example (§7.1.1.2), with its
// scope (offline_access included).
const specRegistration = `{
  "client_name": "Example Client Application",
  "client_uri": "https://client.1edtech.org/",
  "logo_uri": "https://client.1edtech.org/logo.png",
  "tos_uri": "https://client.1edtech.org/terms",
  "policy_uri": "https://client.1edtech.org/privacy",
  "software_id": "c88b6ed8-269e-448e-99be-7e2ff47167d1",
  "software_version": "v4.0.30319",
  "redirect_uris": ["https://client.1edtech.org/Authorize"],
  "token_endpoint_auth_method": "client_secret_basic",
  "grant_types": ["authorization_code", "refresh_token"],
  "response_types": ["code"],
  "scope": "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.upsert offline_access"
}`

func TestDecodeRegistration(t *testing.T) {
	m, err := DecodeRegistration([]byte(specRegistration), false)
	if err != nil {
		t.Fatalf("the specification's example: %v", err)
	}
	if m.Name != "Example Client Application" || m.RedirectURIs[0] != "https://client.1edtech.org/Authorize" ||
		m.Scope != ScopeCredentialRead+" "+ScopeCredentialUpsert+" offline_access" || len(m.GrantTypes) != 2 {
		t.Errorf("decoded %+v", m)
	}
	// Defaults of RFC 7591 §2.
	m, err = DecodeRegistration([]byte(`{"client_name":"x","client_uri":"https://a.example","redirect_uris":["https://a.example/cb"],"scope":"`+ScopeProfileRead+`"}`), false)
	if err != nil || m.TokenEndpointAuthMethod != "client_secret_basic" || len(m.GrantTypes) != 1 || m.GrantTypes[0] != "authorization_code" || m.ResponseTypes[0] != "code" {
		t.Errorf("defaults: %+v %v", m, err)
	}
	for _, c := range []struct {
		body, code, mentions string
	}{
		{`[]`, ErrCodeInvalidClientMetadata, "JSON"},
		{`{"client_name":"x"} {}`, ErrCodeInvalidClientMetadata, "more than one"},
		{strings.Replace(specRegistration, `"https://client.1edtech.org/Authorize"`, `"http://client.1edtech.org/Authorize"`, 1), ErrCodeInvalidRedirectURI, "https"},
		{strings.Replace(specRegistration, `"https://client.1edtech.org/Authorize"`, `"http://127.0.0.1/cb"`, 1), ErrCodeInvalidRedirectURI, "https"},
		{strings.Replace(specRegistration, `"https://client.1edtech.org/Authorize"`, `"https://u:p@client.1edtech.org/cb"`, 1), ErrCodeInvalidRedirectURI, "user information"},
		{strings.Replace(specRegistration, `"redirect_uris": ["https://client.1edtech.org/Authorize"]`, `"redirect_uris": []`, 1), ErrCodeInvalidRedirectURI, "redirect_uris"},
		{strings.Replace(specRegistration, `offline_access`, `openid`, 1), ErrCodeInvalidClientMetadata, `"openid"`},
		{strings.Replace(specRegistration, `"client_secret_basic"`, `"private_key_jwt"`, 1), ErrCodeInvalidClientMetadata, "token_endpoint_auth_method"},
		{strings.Replace(specRegistration, `"Example Client Application"`, `"a\u0000b"`, 1), ErrCodeInvalidClientMetadata, "control"},
		{strings.Replace(specRegistration, `"grant_types": ["authorization_code", "refresh_token"]`, `"grant_types": ["refresh_token"]`, 1), ErrCodeInvalidClientMetadata, "authorization_code"},
		{strings.Replace(specRegistration, `"scope"`, `"scope": 3, "x"`, 1), ErrCodeInvalidClientMetadata, "scope"},
	} {
		_, err := DecodeRegistration([]byte(c.body), false)
		var oe *Error
		if !errors.As(err, &oe) || oe.Code != c.code || !strings.Contains(oe.Description, c.mentions) {
			t.Errorf("%.60s…: %v, want %s mentioning %q", c.body, err, c.code, c.mentions)
		}
	}
	// Loopback http only when allowed.
	body := strings.Replace(specRegistration, `"https://client.1edtech.org/Authorize"`, `"http://127.0.0.1:8123/cb"`, 1)
	if _, err := DecodeRegistration([]byte(body), true); err != nil {
		t.Errorf("loopback redirect URI with AllowLoopbackHTTP: %v", err)
	}
}

func validQuery() url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {"C1"}, "redirect_uri": {"https://w.example/cb"}, "scope": {ScopeCredentialRead},
		"state": {"xyz"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
}

func TestParseAuthorize(t *testing.T) {
	p, err := ParseAuthorize(validQuery())
	if err != nil || p.ClientID != "C1" || p.State != "xyz" || p.CodeChallenge != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("valid request: %+v %v", p, err)
	}
	if got := p.Values(); got.Encode() != validQuery().Encode() {
		t.Errorf("Values() %v, want the query back", got)
	}
	for _, c := range []struct {
		what       string
		mod        func(url.Values)
		code       string
		redirected bool
	}{
		{"no client_id", func(q url.Values) { q.Del("client_id") }, ErrCodeInvalidRequest, false},
		{"two client_ids", func(q url.Values) { q.Add("client_id", "C2") }, ErrCodeInvalidRequest, false},
		{"no redirect_uri", func(q url.Values) { q.Del("redirect_uri") }, ErrCodeInvalidRequest, false},
		{"two redirect_uris", func(q url.Values) { q.Add("redirect_uri", "https://evil.example") }, ErrCodeInvalidRequest, false},
		{"no state", func(q url.Values) { q.Del("state") }, ErrCodeInvalidRequest, true},
		{"plain", func(q url.Values) { q.Set("code_challenge_method", "plain") }, ErrCodeInvalidRequest, true},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", "abc") }, ErrCodeInvalidRequest, true},
		{"implicit", func(q url.Values) { q.Set("response_type", "token") }, ErrCodeUnsupportedResponseType, true},
		{"no scope", func(q url.Values) { q.Del("scope") }, ErrCodeInvalidScope, true},
		{"unknown scope", func(q url.Values) { q.Set("scope", "email") }, ErrCodeInvalidScope, true},
	} {
		q := validQuery()
		c.mod(q)
		_, err := ParseAuthorize(q)
		if err == nil || err.Code != c.code || err.redirectable != c.redirected || err.Description == "" {
			t.Errorf("%s: %+v, want %s (redirected: %v)", c.what, err, c.code, c.redirected)
		}
	}
}
