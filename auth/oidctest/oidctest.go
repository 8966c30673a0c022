// Package oidctest runs a small but real OpenID Connect provider for tests:
// discovery, a JWKS with an ES256 key, an authorization endpoint that signs
// in a configurable user at once, and a token endpoint that checks the
// code, the client credentials (client_secret_basic), the redirect URI and
// the PKCE verifier before issuing a signed ID token.
//
// Hooks let a test make the provider misbehave (wrong claims, tampered
// tokens, odd metadata) to check that a relying party notices.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// codeTTL is how long an authorization code can be exchanged.
const codeTTL = time.Minute

// Provider is a running test OpenID provider. Its methods are safe for
// concurrent use.
type Provider struct {
	server       *httptest.Server
	clientID     string
	clientSecret string

	mu            sync.Mutex
	key           *ecdsa.PrivateKey
	kid           string
	user          User
	codes         map[string]grant
	jwksFetches   int
	claimsHook    func(claims map[string]any)
	tokenHook     func(idToken string) string
	discoveryHook func(meta map[string]any)
}

// User is who the provider signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// grant is what an authorization code stands for.
type grant struct {
	user        User
	clientID    string
	redirectURI string
	nonce       string
	challenge   string
	expires     time.Time
}

// New starts a provider over TLS, stopped when the test ends. It knows one
// client (ClientID, ClientSecret) and signs in the user
// "user-1" <ada@example.org>, "Ada Lovelace", with a verified e-mail
// address, until SetUser says otherwise.
func New(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{
		clientID:     "insigne-test",
		clientSecret: "s3cret with spaces & symbols", // exercises RFC 6749 §2.3.1 encoding
		codes:        make(map[string]grant),
		user:         User{Subject: "user-1", Email: "ada@example.org", EmailVerified: true, Name: "Ada Lovelace"},
	}
	p.newKey()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("GET /jwks", p.serveJWKS)
	mux.HandleFunc("GET /authorize", p.serveAuthorize)
	mux.HandleFunc("POST /token", p.serveToken)
	p.server = httptest.NewTLSServer(mux)
	t.Cleanup(p.server.Close)
	return p
}

// Issuer returns the issuer URL, which is also the base URL of the server.
func (p *Provider) Issuer() string { return p.server.URL }

// Client returns an HTTP client that trusts the provider's certificate.
func (p *Provider) Client() *http.Client { return p.server.Client() }

// ClientID returns the registered client's id.
func (p *Provider) ClientID() string { return p.clientID }

// ClientSecret returns the registered client's secret.
func (p *Provider) ClientSecret() string { return p.clientSecret }

// SetUser makes the provider sign in this user (e-mail verified) from now on.
func (p *Provider) SetUser(sub, email, name string) {
	p.SetUserInfo(User{Subject: sub, Email: email, EmailVerified: true, Name: name})
}

// SetUserInfo is SetUser with every field, such as an unverified address.
func (p *Provider) SetUserInfo(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// RotateKey replaces the signing key with a new one under a new key id;
// the JWKS publishes only the new key from then on.
func (p *Provider) RotateKey() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.newKey()
}

// KeyID returns the current signing key's id.
func (p *Provider) KeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kid
}

// JWKSFetches returns how many times the JWKS has been served.
func (p *Provider) JWKSFetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jwksFetches
}

// SetClaimsHook sets a function that may change the ID token's claims
// just before signing (nil removes it).
func (p *Provider) SetClaimsHook(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claimsHook = f
}

// SetTokenHook sets a function that may change the signed ID token, in
// compact form, before it is returned (nil removes it).
func (p *Provider) SetTokenHook(f func(idToken string) string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenHook = f
}

// SetDiscoveryHook sets a function that may change the provider metadata
// before it is served (nil removes it).
func (p *Provider) SetDiscoveryHook(f func(meta map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.discoveryHook = f
}

// SignJWT signs claims with the current key (ES256, kid set), for tests
// that build an ID token by hand.
func (p *Provider) SignJWT(claims map[string]any) (string, error) {
	p.mu.Lock()
	key, kid := p.key, p.kid
	p.mu.Unlock()
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// Authorize follows authURL (from a relying party) to the authorization
// endpoint, as a browser would, and returns the code and state from the
// redirect back to the relying party. It fails the test if the provider
// refuses.
func (p *Provider) Authorize(t testing.TB, authURL string) (code, state string) {
	t.Helper()
	c := *p.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("oidctest: authorize: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("oidctest: authorize: HTTP %d: %s", resp.StatusCode, msg)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("oidctest: authorize: bad redirect: %v", err)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// newKey makes a new signing key. p.mu must be held (or p unshared).
func (p *Provider) newKey() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // cannot happen with crypto/rand
	}
	p.key = key
	p.kid = rand.Text()
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	base := p.Issuer()
	meta := map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/authorize",
		"token_endpoint":                        base + "/token",
		"jwks_uri":                              base + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"grant_types_supported":                 []string{"authorization_code"},
	}
	p.mu.Lock()
	hook := p.discoveryHook
	p.mu.Unlock()
	if hook != nil {
		hook(meta)
	}
	writeJSON(w, http.StatusOK, meta)
}

func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.jwksFetches++
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.ES256), Use: "sig",
	}}}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

// serveAuthorize signs the current user in at once and redirects back
// with a code. Errors are plain 400s naming the problem, rather than
// redirects, so that a test sees them.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(format string, args ...any) {
		http.Error(w, "oidctest: authorize: "+fmt.Sprintf(format, args...), http.StatusBadRequest)
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != p.clientID:
		fail("unknown client_id %q", q.Get("client_id"))
	case err != nil || !redirect.IsAbs() || redirect.Fragment != "":
		fail("redirect_uri %q is not an absolute URL without fragment", q.Get("redirect_uri"))
	case q.Get("response_type") != "code":
		fail("response_type %q, want code", q.Get("response_type"))
	case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		fail("scope %q lacks openid", q.Get("scope"))
	case q.Get("code_challenge_method") != "S256":
		fail("code_challenge_method %q, want S256", q.Get("code_challenge_method"))
	case len(q.Get("code_challenge")) != 43:
		fail("code_challenge %q is not a base64url SHA-256", q.Get("code_challenge"))
	case q.Get("state") == "":
		fail("state is missing")
	case q.Get("nonce") == "":
		fail("nonce is missing")
	default:
		code := rand.Text()
		p.mu.Lock()
		p.codes[code] = grant{
			user:        p.user,
			clientID:    p.clientID,
			redirectURI: q.Get("redirect_uri"),
			nonce:       q.Get("nonce"),
			challenge:   q.Get("code_challenge"),
			expires:     time.Now().Add(codeTTL),
		}
		p.mu.Unlock()
		back := redirect.Query()
		back.Set("code", code)
		back.Set("state", q.Get("state"))
		redirect.RawQuery = back.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	oauthError := func(status int, code, format string, args ...any) {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		writeJSON(w, status, map[string]string{"error": code, "error_description": fmt.Sprintf(format, args...)})
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		oauthError(http.StatusUnauthorized, "invalid_client", "client_secret_basic authentication is required")
		return
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil ||
		subtle.ConstantTimeCompare([]byte(id), []byte(p.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(p.clientSecret)) != 1 {
		oauthError(http.StatusUnauthorized, "invalid_client", "wrong client id or secret")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(http.StatusBadRequest, "invalid_request", "form: %v", err)
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type %q", gt)
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, found := p.codes[code]
	delete(p.codes, code) // one use only, whatever happens next
	p.mu.Unlock()
	verifier := r.PostForm.Get("code_verifier")
	switch {
	case !found:
		oauthError(http.StatusBadRequest, "invalid_grant", "unknown or already used code")
	case time.Now().After(g.expires):
		oauthError(http.StatusBadRequest, "invalid_grant", "code expired")
	case g.clientID != id:
		oauthError(http.StatusBadRequest, "invalid_grant", "code was issued to another client")
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		oauthError(http.StatusBadRequest, "invalid_grant", "redirect_uri %q differs from the authorization request's", r.PostForm.Get("redirect_uri"))
	case !validVerifier(verifier):
		oauthError(http.StatusBadRequest, "invalid_request", "code_verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1)")
	case s256(verifier) != g.challenge:
		oauthError(http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
	default:
		idToken, err := p.idToken(g)
		if err != nil {
			oauthError(http.StatusInternalServerError, "server_error", "signing: %v", err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": rand.Text(),
			"token_type":   "Bearer",
			"expires_in":   300,
			"id_token":     idToken,
		})
	}
}

// idToken builds and signs the ID token for a grant, through the hooks.
func (p *Provider) idToken(g grant) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss":   p.Issuer(),
		"sub":   g.user.Subject,
		"aud":   g.clientID,
		"exp":   now.Add(5 * time.Minute).Unix(),
		"iat":   now.Unix(),
		"nonce": g.nonce,
	}
	if g.user.Email != "" {
		claims["email"] = g.user.Email
		claims["email_verified"] = g.user.EmailVerified
	}
	if g.user.Name != "" {
		claims["name"] = g.user.Name
	}
	p.mu.Lock()
	claimsHook, tokenHook := p.claimsHook, p.tokenHook
	p.mu.Unlock()
	if claimsHook != nil {
		claimsHook(claims)
	}
	tok, err := p.SignJWT(claims)
	if err != nil {
		return "", err
	}
	if tokenHook != nil {
		tok = tokenHook(tok)
	}
	return tok, nil
}

// validVerifier checks RFC 7636 §4.1: 43 to 128 characters from
// [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
