package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

var (
	// ErrInvalidIDToken is wrapped by every error about an ID token that
	// fails verification: signature, issuer, audience, times or nonce.
	ErrInvalidIDToken = errors.New("auth: oidc: invalid ID token")
	// ErrCodeRejected is wrapped when the provider's token endpoint
	// refuses the authorization code (expired, already used, wrong PKCE
	// verifier...). The user can simply start signing in again.
	ErrCodeRejected = errors.New("auth: oidc: token endpoint rejected the authorization code")
)

const (
	// oidcScopes are requested at the authorization endpoint: the
	// identity, and the e-mail address that links an account.
	oidcScopes = "openid email profile"
	// clockSkew is tolerated between the provider's clock and ours.
	clockSkew = 2 * time.Minute
	// jwksRefetchInterval is the least time between two JWKS fetches
	// caused by an unknown key id, so that tokens naming random key ids
	// cannot make us hammer the provider.
	jwksRefetchInterval = time.Minute
	// maxOIDCResponse caps every document read from the provider.
	maxOIDCResponse = 1 << 20
	// maxIDToken caps the ID token itself.
	maxIDToken = 64 << 10
	// maxJWKSKeys caps how many keys of a JWKS are kept.
	maxJWKSKeys = 100
	// minRSABits is the smallest RSA key accepted for RS256.
	minRSABits = 2048
)

// idTokenAlgs are the signature algorithms accepted on ID tokens. "none"
// and the HMAC algorithms are never accepted: with HS256 the client secret
// would become a signing key.
var idTokenAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// Claims are the facts about the user taken from a verified ID token.
type Claims struct {
	Subject       string // "sub": the user's stable id at the provider
	Issuer        string // "iss": the provider
	Email         string // "email", possibly empty
	EmailVerified bool   // "email_verified": the provider checked Email
	Name          string // "name", possibly empty
}

// Provider is an OpenID Connect relying party for one provider and one
// client registration: the authorization code flow with PKCE (S256),
// state and nonce, client_secret_basic at the token endpoint. It is safe
// for concurrent use.
type Provider struct {
	issuer       string
	clientID     string
	clientSecret string
	redirectURL  string

	authEndpoint  *url.URL
	tokenEndpoint string
	jwksURI       string

	client *http.Client
	now    func() time.Time

	// refetch serialises JWKS refreshes; mu guards the fields below and
	// is never held during a fetch.
	refetch     sync.Mutex
	mu          sync.Mutex
	keys        []jose.JSONWebKey
	lastRefetch time.Time
}

// discovery is the part of the provider metadata (OpenID Connect
// Discovery 1.0 §3) that a relying party needs.
type discovery struct {
	Issuer                        string   `json:"issuer"`
	AuthorizationEndpoint         string   `json:"authorization_endpoint"`
	TokenEndpoint                 string   `json:"token_endpoint"`
	JWKSURI                       string   `json:"jwks_uri"`
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported"`
}

// NewProvider reads the provider's metadata at
// issuerURL/.well-known/openid-configuration and its signing keys. The
// metadata's issuer must equal issuerURL exactly (Discovery §4.3), so that
// one provider cannot pass itself off as another. httpClient is the
// outbound client (fetch.Client.HTTP: timeouts, redirect limit, address
// checks); it is required, so that no request leaves unguarded.
func NewProvider(ctx context.Context, issuerURL, clientID, clientSecret, redirectURL string, httpClient *http.Client) (*Provider, error) {
	iss, err := parseEndpoint("issuer URL", issuerURL, "")
	if err != nil {
		return nil, err
	}
	if clientID == "" {
		return nil, errors.New("auth: oidc: client id is empty")
	}
	if _, err := parseEndpoint("redirect URL", redirectURL, ""); err != nil {
		return nil, err
	}
	if httpClient == nil {
		return nil, errors.New("auth: oidc: no HTTP client")
	}
	p := &Provider{
		issuer:       issuerURL,
		clientID:     clientID,
		clientSecret: clientSecret,
		redirectURL:  redirectURL,
		client:       httpClient,
		now:          time.Now,
	}

	wellKnown := strings.TrimSuffix(issuerURL, "/") + "/.well-known/openid-configuration"
	var d discovery
	if err := p.getJSON(ctx, wellKnown, &d); err != nil {
		return nil, fmt.Errorf("auth: oidc: discovery: %w", err)
	}
	if d.Issuer != issuerURL {
		return nil, fmt.Errorf("auth: oidc: discovery at %s names issuer %q, want exactly %q", wellKnown, d.Issuer, issuerURL)
	}
	// An https issuer must not send the browser or the code anywhere in
	// clear text.
	scheme := iss.Scheme
	if p.authEndpoint, err = parseEndpoint("authorization_endpoint", d.AuthorizationEndpoint, scheme); err != nil {
		return nil, err
	}
	tok, err := parseEndpoint("token_endpoint", d.TokenEndpoint, scheme)
	if err != nil {
		return nil, err
	}
	p.tokenEndpoint = tok.String()
	jwks, err := parseEndpoint("jwks_uri", d.JWKSURI, scheme)
	if err != nil {
		return nil, err
	}
	p.jwksURI = jwks.String()
	// The list is optional; when present it must offer S256, or the
	// provider would ignore the code challenge and PKCE would protect
	// nothing.
	if d.CodeChallengeMethodsSupported != nil && !slices.Contains(d.CodeChallengeMethodsSupported, "S256") {
		return nil, fmt.Errorf("auth: oidc: provider %s does not support PKCE S256 (code_challenge_methods_supported: %v)", issuerURL, d.CodeChallengeMethodsSupported)
	}

	keys, err := p.fetchKeys(ctx)
	if err != nil {
		return nil, err
	}
	p.keys = keys
	return p, nil
}

// parseEndpoint checks that raw is an absolute http(s) URL without a
// fragment, and https when mustScheme is "https".
func parseEndpoint(what, raw, mustScheme string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("auth: oidc: %s is missing", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("auth: oidc: %s: %w", what, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return nil, fmt.Errorf("auth: oidc: %s %q is not an absolute http(s) URL without fragment", what, raw)
	}
	if mustScheme == "https" && u.Scheme != "https" {
		return nil, fmt.Errorf("auth: oidc: %s %q is not https although the issuer is", what, raw)
	}
	return u, nil
}

// Issuer returns the provider's issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// NewPKCE returns a new PKCE code verifier (RFC 7636: 52 characters from
// the unreserved set, 256 bits) and its S256 code challenge. The verifier
// stays with the pending sign-in; the challenge goes in AuthURL.
func NewPKCE() (verifier, challenge string) {
	verifier = newSecret()
	return verifier, pkceChallenge(verifier)
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthURL returns the URL to send the browser to. state protects the
// callback against cross-site request forgery, nonce binds the ID token to
// this sign-in, and codeVerifier (from NewPKCE) binds the code to it; all
// three must be kept with the pending sign-in and given back to Exchange
// (state is compared by the caller).
func (p *Provider) AuthURL(state, nonce, codeVerifier string) string {
	u := *p.authEndpoint
	q := u.Query() // keep any parameters the provider put in its endpoint
	q.Set("response_type", "code")
	q.Set("client_id", p.clientID)
	q.Set("redirect_uri", p.redirectURL)
	q.Set("scope", oidcScopes)
	q.Set("state", state)
	q.Set("nonce", nonce)
	q.Set("code_challenge", pkceChallenge(codeVerifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	return u.String()
}

// tokenResponse is the token endpoint's answer (RFC 6749 §5.1, §5.2).
type tokenResponse struct {
	IDToken          string `json:"id_token"`
	TokenType        string `json:"token_type"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// Exchange trades the authorization code from the callback for an ID
// token, verifies it and returns its claims. codeVerifier and nonce are
// the ones given to AuthURL for this sign-in.
func (p *Provider) Exchange(ctx context.Context, code, codeVerifier, nonce string) (*Claims, error) {
	switch {
	case code == "":
		return nil, errors.New("auth: oidc: exchange: authorization code is empty")
	case codeVerifier == "":
		return nil, errors.New("auth: oidc: exchange: PKCE code verifier is empty")
	case nonce == "":
		return nil, errors.New("auth: oidc: exchange: expected nonce is empty")
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.redirectURL},
		"code_verifier": {codeVerifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.tokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("auth: oidc: exchange: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: client_secret_basic form-encodes both parts first.
	req.SetBasicAuth(url.QueryEscape(p.clientID), url.QueryEscape(p.clientSecret))
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: oidc: exchange: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOIDCResponse+1))
	if err != nil {
		return nil, fmt.Errorf("auth: oidc: exchange: reading the token response: %w", err)
	}
	if len(body) > maxOIDCResponse {
		return nil, fmt.Errorf("auth: oidc: exchange: token response is larger than %d bytes", maxOIDCResponse)
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		if jsonErr == nil && tr.Error != "" {
			return nil, fmt.Errorf("%w: %s (HTTP %d): %s", ErrCodeRejected, tr.Error, resp.StatusCode, tr.ErrorDescription)
		}
		return nil, fmt.Errorf("auth: oidc: exchange: token endpoint answered HTTP %d", resp.StatusCode)
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("auth: oidc: exchange: token response is not JSON: %w", jsonErr)
	}
	if tr.IDToken == "" {
		return nil, errors.New("auth: oidc: exchange: token response has no id_token (was the openid scope granted?)")
	}
	return p.verifyIDToken(ctx, tr.IDToken, nonce)
}

// idTokenClaims is the ID token payload (OpenID Connect Core §2).
type idTokenClaims struct {
	Issuer        string          `json:"iss"`
	Subject       string          `json:"sub"`
	Audience      json.RawMessage `json:"aud"`
	AZP           *string         `json:"azp"`
	Expiry        json.RawMessage `json:"exp"`
	IssuedAt      json.RawMessage `json:"iat"`
	NotBefore     json.RawMessage `json:"nbf"`
	Nonce         string          `json:"nonce"`
	Email         string          `json:"email"`
	EmailVerified any             `json:"email_verified"`
	Name          string          `json:"name"`
}

// verifyIDToken checks the signature and the claims of an ID token
// (OpenID Connect Core §3.1.3.7) and returns the claims.
func (p *Provider) verifyIDToken(ctx context.Context, raw, nonce string) (*Claims, error) {
	if len(raw) > maxIDToken {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidIDToken, maxIDToken)
	}
	jws, err := jose.ParseSignedCompact(raw, idTokenAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: not an acceptable signed JWT: %w", ErrInvalidIDToken, err)
	}
	payload, err := p.verifySignature(ctx, jws)
	if err != nil {
		return nil, err
	}

	var c idTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: payload is not a JSON object of claims: %w", ErrInvalidIDToken, err)
	}
	if c.Issuer != p.issuer {
		return nil, fmt.Errorf("%w: issuer %q, want %q", ErrInvalidIDToken, c.Issuer, p.issuer)
	}
	if c.Subject == "" || len(c.Subject) > 255 {
		return nil, fmt.Errorf("%w: subject is empty or longer than 255 characters", ErrInvalidIDToken)
	}
	aud, err := audiences(c.Audience)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(aud, p.clientID) {
		return nil, fmt.Errorf("%w: audience %q does not include client id %q", ErrInvalidIDToken, aud, p.clientID)
	}
	// Core §3.1.3.7 items 4 and 5: a token for several audiences must say
	// which one it was issued to, and that must be us.
	if c.AZP != nil && *c.AZP != p.clientID {
		return nil, fmt.Errorf("%w: authorized party (azp) %q is not client id %q", ErrInvalidIDToken, *c.AZP, p.clientID)
	}
	if len(aud) > 1 && c.AZP == nil {
		return nil, fmt.Errorf("%w: several audiences %q but no authorized party (azp)", ErrInvalidIDToken, aud)
	}

	now := p.now()
	exp, err := numericDate("exp", c.Expiry, true)
	if err != nil {
		return nil, err
	}
	if now.After(exp.Add(clockSkew)) {
		return nil, fmt.Errorf("%w: expired at %s", ErrInvalidIDToken, exp.UTC().Format(time.RFC3339))
	}
	iat, err := numericDate("iat", c.IssuedAt, true)
	if err != nil {
		return nil, err
	}
	if iat.After(now.Add(clockSkew)) {
		return nil, fmt.Errorf("%w: issued in the future (%s)", ErrInvalidIDToken, iat.UTC().Format(time.RFC3339))
	}
	nbf, err := numericDate("nbf", c.NotBefore, false)
	if err != nil {
		return nil, err
	}
	if !nbf.IsZero() && nbf.After(now.Add(clockSkew)) {
		return nil, fmt.Errorf("%w: not valid before %s", ErrInvalidIDToken, nbf.UTC().Format(time.RFC3339))
	}
	if subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: nonce does not match this sign-in (replayed or injected token)", ErrInvalidIDToken)
	}
	verified, err := emailVerified(c.EmailVerified)
	if err != nil {
		return nil, err
	}
	return &Claims{
		Subject:       c.Subject,
		Issuer:        c.Issuer,
		Email:         c.Email,
		EmailVerified: verified && c.Email != "",
		Name:          c.Name,
	}, nil
}

// audiences decodes "aud", a string or an array of strings.
func audiences(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil || len(many) == 0 {
		return nil, fmt.Errorf("%w: audience (aud) is missing or not a string or array of strings", ErrInvalidIDToken)
	}
	return many, nil
}

// numericDate decodes a NumericDate claim: a JSON number of seconds since
// the epoch, possibly fractional. A missing optional claim gives the zero
// time.
func numericDate(name string, raw json.RawMessage, required bool) (time.Time, error) {
	if raw == nil || string(raw) == "null" {
		if required {
			return time.Time{}, fmt.Errorf("%w: %s is missing", ErrInvalidIDToken, name)
		}
		return time.Time{}, nil
	}
	var f float64
	// Unmarshalling into a float64 accepts JSON numbers only, not strings.
	if err := json.Unmarshal(raw, &f); err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%w: %s %s is not a date in seconds since 1970", ErrInvalidIDToken, name, raw)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// emailVerified decodes "email_verified": a boolean, or the strings "true"
// and "false" that some providers send.
func emailVerified(v any) (bool, error) {
	switch v := v.(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		switch v {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("%w: email_verified is %v, not a boolean", ErrInvalidIDToken, v)
}

// verifySignature finds the signing key in the provider's JWKS, fetching
// it again once if the key id is unknown (the provider may have rotated
// its keys since we last looked), and verifies the signature.
func (p *Provider) verifySignature(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrInvalidIDToken)
	}
	h := jws.Signatures[0].Header
	alg := jose.SignatureAlgorithm(h.Algorithm)

	p.mu.Lock()
	keys := p.keys
	p.mu.Unlock()
	candidates := signingKeys(keys, h.KeyID, alg)
	if len(candidates) == 0 {
		var err error
		if keys, err = p.refreshKeys(ctx, keys); err != nil {
			return nil, err
		}
		candidates = signingKeys(keys, h.KeyID, alg)
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("%w: provider publishes no %s key with key id %q", ErrInvalidIDToken, alg, h.KeyID)
	}
	for _, k := range candidates {
		if payload, err := jws.Verify(k); err == nil {
			return payload, nil
		}
	}
	return nil, fmt.Errorf("%w: signature does not verify (%s, key id %q)", ErrInvalidIDToken, alg, h.KeyID)
}

// refreshKeys fetches the JWKS again unless another caller already did
// since seen was read, or a refetch happened less than
// jwksRefetchInterval ago. It returns the current keys.
func (p *Provider) refreshKeys(ctx context.Context, seen []jose.JSONWebKey) ([]jose.JSONWebKey, error) {
	p.refetch.Lock()
	defer p.refetch.Unlock()
	p.mu.Lock()
	keys, last := p.keys, p.lastRefetch
	p.mu.Unlock()
	if !sameKeys(keys, seen) || (!last.IsZero() && p.now().Sub(last) < jwksRefetchInterval) {
		return keys, nil
	}
	fresh, err := p.fetchKeys(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastRefetch = p.now()
	if err != nil {
		return keys, err
	}
	p.keys = fresh
	return fresh, nil
}

// sameKeys reports whether a and b are the same slice (the keys are
// replaced whole, never modified).
func sameKeys(a, b []jose.JSONWebKey) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// signingKeys returns the public keys among keys that may verify a
// signature with alg: the right type and size, the key id if kid is set,
// and nothing marked for encryption or for another algorithm.
func signingKeys(keys []jose.JSONWebKey, kid string, alg jose.SignatureAlgorithm) []any {
	var out []any
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != string(alg)) {
			continue
		}
		if keyFits(k.Key, alg) {
			out = append(out, k.Key)
		}
	}
	return out
}

// keyFits reports whether key is a public key for alg, so that no key is
// ever used with an algorithm it was not made for.
func keyFits(key any, alg jose.SignatureAlgorithm) bool {
	switch alg {
	case jose.RS256:
		k, ok := key.(*rsa.PublicKey)
		return ok && k.N != nil && k.N.BitLen() >= minRSABits
	case jose.ES256:
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve == elliptic.P256()
	case jose.EdDSA:
		k, ok := key.(ed25519.PublicKey)
		return ok && len(k) == ed25519.PublicKeySize
	}
	return false
}

// fetchKeys reads the provider's JWKS. Keys that go-jose cannot parse
// (new key types, encryption keys with unknown parameters) are skipped
// rather than failing the whole set, as are keys with private parts.
func (p *Provider) fetchKeys(ctx context.Context) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := p.getJSON(ctx, p.jwksURI, &set); err != nil {
		return nil, fmt.Errorf("auth: oidc: signing keys: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || !k.Valid() || !k.IsPublic() {
			continue
		}
		if keys = append(keys, k); len(keys) == maxJWKSKeys {
			break
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("auth: oidc: signing keys: %s has no usable public key", p.jwksURI)
	}
	return keys, nil
}

// getJSON GETs u and decodes its JSON body into v.
func (p *Provider) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOIDCResponse+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxOIDCResponse {
		return fmt.Errorf("GET %s: response is larger than %d bytes", u, maxOIDCResponse)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: not the expected JSON: %w", u, err)
	}
	return nil
}
