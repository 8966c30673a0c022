package oauth

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzDecodeRegistration: any body gives registered metadata that obeys
// every rule, or an invalid_redirect_uri / invalid_client_metadata error;
// never a panic.
func FuzzDecodeRegistration(f *testing.F) {
	f.Add([]byte(specRegistration), false)
	f.Add([]byte(`{"client_name":"x","client_uri":"http://localhost:1","redirect_uris":["http://[::1]:8/cb"],"scope":"offline_access"}`), true)
	f.Add([]byte(`{"redirect_uris":null}`), false)
	f.Add([]byte(`{"client_name":"é\u2028","client_uri":"https://a","redirect_uris":["https://a/#"],"scope":"  "}`), false)
	f.Add([]byte(`{"grant_types":[1]}`), false)
	f.Add([]byte(`nul`), false)
	f.Fuzz(func(t *testing.T, body []byte, loopback bool) {
		m, err := DecodeRegistration(body, loopback)
		if err != nil {
			var oe *Error
			if !errors.As(err, &oe) || (oe.Code != ErrCodeInvalidClientMetadata && oe.Code != ErrCodeInvalidRedirectURI) || oe.Description == "" {
				t.Fatalf("error %v is not an RFC 7591 error with a description", err)
			}
			return
		}
		if m.Name == "" || m.URI == "" || len(m.RedirectURIs) == 0 || len(m.RedirectURIs) > maxRedirectURIs || m.TokenEndpointAuthMethod != "client_secret_basic" ||
			!slices.Contains(m.GrantTypes, "authorization_code") || !slices.Equal(m.ResponseTypes, []string{"code"}) {
			t.Fatalf("accepted incomplete metadata %+v", m)
		}
		for _, u := range m.RedirectURIs {
			if checkRedirectURI(u, loopback) != "" || strings.ContainsAny(u, "\n#") {
				t.Fatalf("accepted redirect URI %q", u)
			}
		}
		if _, e := parseScope(m.Scope); e != "" {
			t.Fatalf("accepted scope %q: %s", m.Scope, e)
		}
		// What is stored must survive the store's encoding (one URI per
		// line, space-separated lists) and JSON.
		if _, err := json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseAuthorize: any query gives parameters that obey every rule of
// an authorization request, or an error with an OAuth code; problems with
// client_id and redirect_uri are never marked for redirection.
func FuzzParseAuthorize(f *testing.F) {
	f.Add(validQuery().Encode())
	f.Add("client_id=a&redirect_uri=https://x&state=%00&code_challenge_method=plain")
	f.Add("client_id=a&client_id=b")
	f.Add("redirect_uri=x&client_id=%ff&scope=offline_access")
	f.Add("response_type=code&client_id=c&redirect_uri=r&scope=offline_access+offline_access&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, perr := ParseAuthorize(q)
		if perr != nil {
			if perr.Code == "" || perr.Description == "" {
				t.Fatalf("error without code or description: %+v", perr)
			}
			if perr.redirectable && (len(q["client_id"]) != 1 || len(q["redirect_uri"]) != 1 || p.ClientID == "" || p.RedirectURI == "") {
				t.Fatalf("redirectable error %+v for a request whose client or redirect URI is not settled", perr)
			}
			return
		}
		if p.ResponseType != "code" || p.CodeChallengeMethod != "S256" || !isS256Challenge(p.CodeChallenge) || p.State == "" || !isVSChars(p.State) || p.ClientID == "" || p.RedirectURI == "" {
			t.Fatalf("accepted %+v", p)
		}
		if _, e := parseScope(p.Scope); e != "" {
			t.Fatalf("accepted scope %q", p.Scope)
		}
		for _, k := range []string{"client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method", "response_type"} {
			if len(q[k]) != 1 {
				t.Fatalf("accepted %d values of %s", len(q[k]), k)
			}
		}
	})
}
