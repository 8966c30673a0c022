package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/auth/oidctest"
)

const redirectURL = "https://insigne.example/auth/oidc/callback"

func newRP(t *testing.T, op *oidctest.Provider) *auth.Provider {
	t.Helper()
	rp, err := auth.NewProvider(t.Context(), op.Issuer(), op.ClientID(), op.ClientSecret(), redirectURL, op.Client())
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	return rp
}

// pending is what a relying party keeps between AuthURL and Exchange.
type pending struct{ state, nonce, verifier string }

// authorize runs the browser part of a sign-in and returns the code.
func authorize(t *testing.T, op *oidctest.Provider, rp *auth.Provider) (string, pending) {
	t.Helper()
	verifier, _ := auth.NewPKCE()
	pd := pending{state: auth.NewNonce(), nonce: auth.NewNonce(), verifier: verifier}
	code, state := op.Authorize(t, rp.AuthURL(pd.state, pd.nonce, pd.verifier))
	if state != pd.state {
		t.Fatalf("state %q came back as %q", pd.state, state)
	}
	return code, pd
}

// signIn runs a whole sign-in.
func signIn(t *testing.T, op *oidctest.Provider, rp *auth.Provider) (*auth.Claims, error) {
	t.Helper()
	code, pd := authorize(t, op, rp)
	return rp.Exchange(t.Context(), code, pd.verifier, pd.nonce)
}

func TestOIDCSignIn(t *testing.T) {
	op := oidctest.New(t)
	rp := newRP(t, op)
	op.SetUser("8a1f", "Marie.Curie@Example.org", "Marie Curie")
	c, err := signIn(t, op, rp)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	want := auth.Claims{Subject: "8a1f", Issuer: op.Issuer(), Email: "Marie.Curie@Example.org", EmailVerified: true, Name: "Marie Curie"}
	if *c != want {
		t.Errorf("claims %+v, want %+v", *c, want)
	}
	if rp.Issuer() != op.Issuer() {
		t.Errorf("Issuer() = %q", rp.Issuer())
	}

	op.SetUserInfo(oidctest.User{Subject: "9b2e", Email: "x@example.org", EmailVerified: false})
	if c, err = signIn(t, op, rp); err != nil || c.EmailVerified || c.Email != "x@example.org" {
		t.Errorf("unverified address: %+v, %v", c, err)
	}
	op.SetUserInfo(oidctest.User{Subject: "no-mail"})
	if c, err = signIn(t, op, rp); err != nil || c.Email != "" || c.EmailVerified {
		t.Errorf("no address: %+v, %v", c, err)
	}
}

func TestOIDCAuthURL(t *testing.T) {
	op := oidctest.New(t)
	op.SetDiscoveryHook(func(m map[string]any) { m["authorization_endpoint"] = op.Issuer() + "/authorize?tenant=ac-lyon" })
	rp := newRP(t, op)
	verifier, challenge := auth.NewPKCE()
	u, err := url.Parse(rp.AuthURL("st", "no", verifier))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range map[string]string{
		"tenant":                "ac-lyon",
		"response_type":         "code",
		"client_id":             op.ClientID(),
		"redirect_uri":          redirectURL,
		"state":                 "st",
		"nonce":                 "no",
		"code_challenge":        challenge,
		"code_challenge_method": "S256",
		"scope":                 "openid email profile",
	} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
}

func TestNewPKCE(t *testing.T) {
	v1, c1 := auth.NewPKCE()
	v2, _ := auth.NewPKCE()
	if v1 == v2 || len(v1) < 43 || len(v1) > 128 || len(c1) != 43 {
		t.Errorf("NewPKCE: %q %q %q", v1, v2, c1)
	}
}

// expectInvalid asserts that a sign-in fails with ErrInvalidIDToken and
// an error that mentions want.
func expectInvalid(t *testing.T, op *oidctest.Provider, rp *auth.Provider, want string) {
	t.Helper()
	c, err := signIn(t, op, rp)
	t.Logf("Exchange: %v", err)
	if !errors.Is(err, auth.ErrInvalidIDToken) || !strings.Contains(err.Error(), want) {
		t.Errorf("Exchange = %+v, %v; want ErrInvalidIDToken mentioning %q", c, err, want)
	}
}

func TestOIDCRejectsBadClaims(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		hook func(c map[string]any)
		want string
	}{
		{"expired", func(c map[string]any) {
			c["exp"] = now.Add(-10 * time.Minute).Unix()
			c["iat"] = now.Add(-20 * time.Minute).Unix()
		}, "expired"},
		{"issued in the future", func(c map[string]any) { c["iat"] = now.Add(10 * time.Minute).Unix() }, "future"},
		{"not yet valid", func(c map[string]any) { c["nbf"] = now.Add(10 * time.Minute).Unix() }, "not valid before"},
		{"no exp", func(c map[string]any) { delete(c, "exp") }, "exp is missing"},
		{"no iat", func(c map[string]any) { delete(c, "iat") }, "iat is missing"},
		{"exp not a number", func(c map[string]any) { c["exp"] = "tomorrow" }, "exp"},
		{"exp as a string", func(c map[string]any) { c["exp"] = fmt.Sprint(now.Add(time.Hour).Unix()) }, "exp"},
		{"exp null", func(c map[string]any) { c["exp"] = nil }, "exp is missing"},
		{"claims not an object", func(c map[string]any) { c["sub"] = 42 }, "not a JSON object"},
		{"wrong audience", func(c map[string]any) { c["aud"] = "another-client" }, "audience"},
		{"no audience", func(c map[string]any) { delete(c, "aud") }, "audience"},
		{"several audiences without azp", func(c map[string]any) { c["aud"] = []string{"insigne-test", "other"} }, "azp"},
		{"azp of another client", func(c map[string]any) { c["azp"] = "other" }, "azp"},
		{"wrong issuer", func(c map[string]any) { c["iss"] = "https://evil.example" }, "issuer"},
		{"no subject", func(c map[string]any) { delete(c, "sub") }, "subject"},
		{"no nonce", func(c map[string]any) { delete(c, "nonce") }, "nonce"},
		{"other nonce", func(c map[string]any) { c["nonce"] = "replayed" }, "nonce"},
		{"email_verified odd", func(c map[string]any) { c["email_verified"] = 1 }, "email_verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := oidctest.New(t)
			rp := newRP(t, op)
			op.SetClaimsHook(tc.hook)
			expectInvalid(t, op, rp, tc.want)
		})
	}
}

func TestOIDCAcceptsWithinSkewAndVariants(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		hook func(c map[string]any)
	}{
		{"expired a minute ago", func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }},
		{"issued a minute ahead", func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }},
		{"fractional dates", func(c map[string]any) { c["exp"] = float64(now.Add(time.Hour).Unix()) + 0.5 }},
		{"audience array with azp", func(c map[string]any) {
			c["aud"] = []string{"other", "insigne-test"}
			c["azp"] = "insigne-test"
		}},
		{"email_verified as string", func(c map[string]any) { c["email_verified"] = "true" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := oidctest.New(t)
			rp := newRP(t, op)
			op.SetClaimsHook(tc.hook)
			if c, err := signIn(t, op, rp); err != nil || c.Subject != "user-1" || !c.EmailVerified {
				t.Errorf("Exchange = %+v, %v", c, err)
			}
		})
	}
}

func TestOIDCWrongNonce(t *testing.T) {
	op := oidctest.New(t)
	rp := newRP(t, op)
	code, pd := authorize(t, op, rp)
	_, err := rp.Exchange(t.Context(), code, pd.verifier, auth.NewNonce())
	if !errors.Is(err, auth.ErrInvalidIDToken) || !strings.Contains(err.Error(), "nonce") {
		t.Errorf("Exchange with another nonce: %v", err)
	}
}

func TestOIDCWrongVerifier(t *testing.T) {
	op := oidctest.New(t)
	rp := newRP(t, op)
	code, pd := authorize(t, op, rp)
	other, _ := auth.NewPKCE()
	_, err := rp.Exchange(t.Context(), code, other, pd.nonce)
	if !errors.Is(err, auth.ErrCodeRejected) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("Exchange with another verifier: %v", err)
	}
	// The code was spent by the failed attempt.
	if _, err := rp.Exchange(t.Context(), code, pd.verifier, pd.nonce); !errors.Is(err, auth.ErrCodeRejected) {
		t.Errorf("Exchange of a used code: %v", err)
	}
}

func TestOIDCWrongClientSecret(t *testing.T) {
	op := oidctest.New(t)
	rp, err := auth.NewProvider(t.Context(), op.Issuer(), op.ClientID(), "wrong", redirectURL, op.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signIn(t, op, rp); !errors.Is(err, auth.ErrCodeRejected) || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("Exchange with a wrong secret: %v", err)
	}
}

func TestOIDCExchangeArguments(t *testing.T) {
	op := oidctest.New(t)
	rp := newRP(t, op)
	for _, args := range [][3]string{{"", "v", "n"}, {"c", "", "n"}, {"c", "v", ""}} {
		if _, err := rp.Exchange(t.Context(), args[0], args[1], args[2]); err == nil {
			t.Errorf("Exchange(%q) succeeded", args)
		}
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	op := oidctest.New(t)
	rp := newRP(t, op)
	if _, err := signIn(t, op, rp); err != nil {
		t.Fatal(err)
	}
	if n := op.JWKSFetches(); n != 1 {
		t.Fatalf("JWKS fetched %d times before rotation, want 1", n)
	}
	op.RotateKey()
	if _, err := signIn(t, op, rp); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := op.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times after rotation, want 2 (one refetch)", n)
	}
	if _, err := signIn(t, op, rp); err != nil {
		t.Fatal(err)
	}
	if n := op.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want no refetch for a known key", n)
	}
}

// signWith signs claims with a key the provider does not publish.
func signWith(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims []byte) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// payloadOf returns the claims of a compact JWS.
func payloadOf(t *testing.T, tok string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOIDCUnknownKey(t *testing.T) {
	op := oidctest.New(t)
	rp := newRP(t, op)
	ghost, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	op.SetTokenHook(func(tok string) string { return signWith(t, jose.ES256, ghost, "ghost", payloadOf(t, tok)) })
	expectInvalid(t, op, rp, `key id "ghost"`)
	if n := op.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (one refetch for the unknown kid)", n)
	}
	// A second unknown kid right after does not make us fetch again.
	expectInvalid(t, op, rp, `key id "ghost"`)
	if n := op.JWKSFetches(); n != 2 {
		t.Errorf("JWKS fetched %d times, want still 2 (refetches are rate-limited)", n)
	}
	// A key under the provider's own kid is still not the provider's key.
	op.SetTokenHook(func(tok string) string { return signWith(t, jose.ES256, ghost, op.KeyID(), payloadOf(t, tok)) })
	expectInvalid(t, op, rp, "signature does not verify")
}

func TestOIDCTampered(t *testing.T) {
	op := oidctest.New(t)
	rp := newRP(t, op)

	// Flip a bit of the signature.
	op.SetTokenHook(func(tok string) string {
		parts := strings.Split(tok, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[10] ^= 0x01
		parts[2] = base64.RawURLEncoding.EncodeToString(sig)
		return strings.Join(parts, ".")
	})
	expectInvalid(t, op, rp, "signature does not verify")

	// Change a claim and keep the signature.
	op.SetTokenHook(func(tok string) string {
		parts := strings.Split(tok, ".")
		var claims map[string]any
		json.Unmarshal(payloadOf(t, tok), &claims)
		claims["email"] = "attacker@example.org"
		b, _ := json.Marshal(claims)
		parts[1] = base64.RawURLEncoding.EncodeToString(b)
		return strings.Join(parts, ".")
	})
	expectInvalid(t, op, rp, "signature does not verify")

	// Garbage.
	op.SetTokenHook(func(string) string { return "not.a.jwt" })
	expectInvalid(t, op, rp, "")
}

func TestOIDCRejectsOtherAlgorithms(t *testing.T) {
	op := oidctest.New(t)
	rp := newRP(t, op)
	// HS256 keyed with the client secret: the classic confusion attack.
	op.SetTokenHook(func(tok string) string {
		return signWith(t, jose.HS256, []byte(strings.Repeat(op.ClientSecret(), 2)), op.KeyID(), payloadOf(t, tok))
	})
	expectInvalid(t, op, rp, "HS256")
	// alg "none".
	op.SetTokenHook(func(tok string) string {
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))
		return header + "." + strings.Split(tok, ".")[1] + "."
	})
	expectInvalid(t, op, rp, "none")
	// ES384 is not on the list even with a valid key.
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	op.SetTokenHook(func(tok string) string { return signWith(t, jose.ES384, k384, op.KeyID(), payloadOf(t, tok)) })
	expectInvalid(t, op, rp, "ES384")
}

func TestOIDCDiscoveryErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hook   func(op *oidctest.Provider, m map[string]any)
		issuer func(op *oidctest.Provider) string
		want   string
	}{
		{"issuer differs", func(op *oidctest.Provider, m map[string]any) { m["issuer"] = "https://other.example" }, nil, "names issuer"},
		{"trailing slash", nil, func(op *oidctest.Provider) string { return op.Issuer() + "/" }, "names issuer"},
		{"no S256", func(op *oidctest.Provider, m map[string]any) {
			m["code_challenge_methods_supported"] = []string{"plain"}
		}, nil, "S256"},
		{"no jwks_uri", func(op *oidctest.Provider, m map[string]any) { delete(m, "jwks_uri") }, nil, "jwks_uri is missing"},
		{"clear-text token endpoint", func(op *oidctest.Provider, m map[string]any) {
			m["token_endpoint"] = strings.Replace(op.Issuer(), "https:", "http:", 1) + "/token"
		}, nil, "not https"},
		{"jwks not found", func(op *oidctest.Provider, m map[string]any) { m["jwks_uri"] = op.Issuer() + "/nowhere" }, nil, "HTTP 404"},
		{"wrong path", nil, func(op *oidctest.Provider) string { return op.Issuer() + "/realms/x" }, "HTTP 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := oidctest.New(t)
			if tc.hook != nil {
				op.SetDiscoveryHook(func(m map[string]any) { tc.hook(op, m) })
			}
			issuer := op.Issuer()
			if tc.issuer != nil {
				issuer = tc.issuer(op)
			}
			_, err := auth.NewProvider(t.Context(), issuer, op.ClientID(), op.ClientSecret(), redirectURL, op.Client())
			t.Logf("NewProvider: %v", err)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewProvider error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNewProviderArguments(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][3]string{
		{"", "client", redirectURL},
		{"not a url", "client", redirectURL},
		{"https://idp.example", "", redirectURL},
		{"https://idp.example", "client", "/relative"},
	} {
		if _, err := auth.NewProvider(ctx, args[0], args[1], "s", args[2], nil); err == nil {
			t.Errorf("NewProvider(%q) succeeded", args)
		}
	}
}
