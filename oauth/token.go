package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/insigne/insigne/auth"
)

// maxSecretLen caps what is hashed when a presented secret is looked up;
// anything longer cannot be one of ours.
const maxSecretLen = 256

// TokenResponse is the successful answer of the token endpoint
// (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// AuthenticateClient checks a client's credentials from HTTP Basic
// (client_secret_basic). Refusals are *Error invalid_client.
func (s *Service) AuthenticateClient(ctx context.Context, id, secret string) (Client, error) {
	if id == "" || len(id) > maxClientIDLen || secret == "" || len(secret) > maxSecretLen {
		return Client{}, oerr(ErrCodeInvalidClient, "client authentication failed: send client_id and client_secret with HTTP Basic")
	}
	c, err := s.st.OAuthClient(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Client{}, oerr(ErrCodeInvalidClient, "client authentication failed: unknown client or wrong secret")
	}
	if err != nil {
		return Client{}, fmt.Errorf("oauth: client %s: %w", id, err)
	}
	if subtle.ConstantTimeCompare([]byte(auth.HashToken(secret)), []byte(c.SecretHash)) != 1 {
		return Client{}, oerr(ErrCodeInvalidClient, "client authentication failed: unknown client or wrong secret")
	}
	return c, nil
}

// formValue returns the single value of a form parameter; a repeated
// parameter is an error (RFC 6749 §3.2).
func formValue(form url.Values, name string) (string, error) {
	vs := form[name]
	if len(vs) > 1 {
		return "", oerr(ErrCodeInvalidRequest, "%s is given more than once", name)
	}
	if len(vs) == 0 {
		return "", nil
	}
	return vs[0], nil
}

// Token answers a token request (the form of RFC 6749 §4.1.3 or §6)
// from client c, already authenticated. Refusals are *Error.
func (s *Service) Token(ctx context.Context, c Client, form url.Values) (TokenResponse, error) {
	var f [5]string
	for i, name := range []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token"} {
		v, err := formValue(form, name)
		if err != nil {
			return TokenResponse{}, err
		}
		f[i] = v
	}
	scope, err := formValue(form, "scope")
	if err != nil {
		return TokenResponse{}, err
	}
	grantType := f[0]
	switch grantType {
	case "":
		return TokenResponse{}, oerr(ErrCodeInvalidRequest, "grant_type is missing")
	case "authorization_code", "refresh_token":
	default:
		return TokenResponse{}, oerr(ErrCodeUnsupportedGrantType, "grant_type %q is not supported; use authorization_code or refresh_token", clip(grantType))
	}
	if !slices.Contains(c.GrantTypes, grantType) {
		return TokenResponse{}, oerr(ErrCodeUnauthorizedClient, "this client did not register the %s grant type", grantType)
	}
	if grantType == "authorization_code" {
		return s.exchange(ctx, c, f[1], f[2], f[3], scope)
	}
	return s.refresh(ctx, c, f[4], scope)
}

func (s *Service) exchange(ctx context.Context, c Client, code, redirectURI, verifier, scope string) (TokenResponse, error) {
	switch {
	case code == "":
		return TokenResponse{}, oerr(ErrCodeInvalidRequest, "code is missing")
	case redirectURI == "":
		return TokenResponse{}, oerr(ErrCodeInvalidRequest, "redirect_uri is missing")
	case verifier == "":
		return TokenResponse{}, oerr(ErrCodeInvalidRequest, "code_verifier is missing: this service requires PKCE")
	case !isVerifier(verifier):
		return TokenResponse{}, oerr(ErrCodeInvalidRequest, "code_verifier must be 43 to 128 characters among A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)")
	case len(code) > maxSecretLen:
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the code is not one this service issued")
	}
	now := s.now()
	cd, g, err := s.st.UseCode(ctx, auth.HashToken(code), now)
	switch {
	case errors.Is(err, ErrNotFound):
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the code is not one this service issued")
	case errors.Is(err, ErrUsed):
		// RFC 6749 §4.1.2: a code used twice means it leaked; what was
		// issued from it must not stay usable.
		if rerr := s.st.RevokeGrant(ctx, g.ID, now); rerr != nil && !errors.Is(rerr, ErrNotFound) {
			return TokenResponse{}, fmt.Errorf("oauth: revoking grant %s of a reused code: %w", g.ID, rerr)
		}
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the code was already used; the tokens issued from it are revoked")
	case err != nil:
		return TokenResponse{}, fmt.Errorf("oauth: use code: %w", err)
	}
	switch {
	case g.ClientID != c.ID:
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the code was issued to another client")
	case !now.Before(cd.ExpiresAt):
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the code has expired; codes last %s", s.codeTTL)
	case g.RevokedAt != nil:
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the user withdrew this authorization")
	case redirectURI != cd.RedirectURI:
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "redirect_uri differs from the one of the authorization request")
	case !checkVerifier(verifier, cd.CodeChallenge):
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "code_verifier does not match the code_challenge of the authorization request")
	}
	scopes, err := narrow(scope, g.Scopes)
	if err != nil {
		return TokenResponse{}, err
	}
	resp, ts := s.newTokens(c, g, scopes, now)
	if err := s.st.CreateTokens(ctx, g.ID, ts...); err != nil {
		return TokenResponse{}, fmt.Errorf("oauth: issue tokens of grant %s: %w", g.ID, err)
	}
	return resp, nil
}

func (s *Service) refresh(ctx context.Context, c Client, refresh, scope string) (TokenResponse, error) {
	if refresh == "" {
		return TokenResponse{}, oerr(ErrCodeInvalidRequest, "refresh_token is missing")
	}
	if len(refresh) > maxSecretLen {
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the refresh token is not one this service issued")
	}
	now := s.now()
	hash := auth.HashToken(refresh)
	t, g, err := s.st.OAuthToken(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the refresh token is not one this service issued")
	}
	if err != nil {
		return TokenResponse{}, fmt.Errorf("oauth: refresh: %w", err)
	}
	switch {
	case t.Kind != KindRefresh:
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "this is not a refresh token")
	case g.ClientID != c.ID:
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the refresh token was issued to another client")
	case g.RevokedAt != nil:
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "this authorization was withdrawn")
	case t.RevokedAt != nil:
		return TokenResponse{}, s.reused(ctx, g, now)
	case !now.Before(t.ExpiresAt):
		return TokenResponse{}, oerr(ErrCodeInvalidGrant, "the refresh token has expired")
	}
	scopes, err := narrow(scope, g.Scopes)
	if err != nil {
		return TokenResponse{}, err
	}
	resp, ts := s.newTokens(c, g, scopes, now)
	err = s.st.RotateToken(ctx, hash, now, ts...)
	if errors.Is(err, ErrUsed) {
		return TokenResponse{}, s.reused(ctx, g, now)
	}
	if err != nil {
		return TokenResponse{}, fmt.Errorf("oauth: rotate refresh token of grant %s: %w", g.ID, err)
	}
	return resp, nil
}

// reused handles a refresh token presented after it was rotated or
// revoked: either it leaked or two copies of the client raced. Either way
// the whole grant is revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2),
// and the user authorizes again.
func (s *Service) reused(ctx context.Context, g Grant, now time.Time) error {
	if err := s.st.RevokeGrant(ctx, g.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("oauth: revoking grant %s of a reused refresh token: %w", g.ID, err)
	}
	return oerr(ErrCodeInvalidGrant, "the refresh token was already used; this authorization is revoked")
}

// narrow returns the scopes asked for, which must be among granted;
// all of granted when scope is empty (RFC 6749 §6).
func narrow(scope string, granted []string) ([]string, error) {
	if scope == "" {
		return granted, nil
	}
	asked, e := parseScope(scope)
	if e != "" {
		return nil, oerr(ErrCodeInvalidScope, "scope %s", e)
	}
	for _, sc := range asked {
		if !slices.Contains(granted, sc) {
			return nil, oerr(ErrCodeInvalidScope, "scope %q was not granted by the user; a token can narrow its scope, never widen it", sc)
		}
	}
	return asked, nil
}

// newTokens makes an access token for scopes and, when the client
// registered the refresh_token grant, a refresh token for the whole
// grant.
func (s *Service) newTokens(c Client, g Grant, scopes []string, now time.Time) (TokenResponse, []Token) {
	now = now.UTC().Truncate(time.Microsecond)
	access, ah := auth.NewToken(accessPrefix)
	resp := TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(s.accessTTL / time.Second), Scope: strings.Join(scopes, " ")}
	ts := []Token{{Hash: ah, GrantID: g.ID, Kind: KindAccess, Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(s.accessTTL)}}
	if slices.Contains(c.GrantTypes, "refresh_token") {
		refresh, rh := auth.NewToken(refreshPrefix)
		resp.RefreshToken = refresh
		ts = append(ts, Token{Hash: rh, GrantID: g.ID, Kind: KindRefresh, Scopes: g.Scopes, CreatedAt: now, ExpiresAt: now.Add(s.refreshTTL)})
	}
	return resp, ts
}

// isVerifier: RFC 7636 §4.1, code-verifier = 43*128unreserved.
func isVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256Challenge is BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func checkVerifier(verifier, challenge string) bool {
	return subtle.ConstantTimeCompare([]byte(S256Challenge(verifier)), []byte(challenge)) == 1
}

// Revoke revokes a token for client c (RFC 7009). Revoking a refresh
// token revokes its whole grant, access tokens included (§2.1 SHOULD);
// revoking an access token revokes only it. Unknown tokens, and tokens
// of other clients, are answered as success without effect: the client
// learns nothing about tokens that are not its own.
func (s *Service) Revoke(ctx context.Context, c Client, form url.Values) error {
	tok, err := formValue(form, "token")
	if err != nil {
		return err
	}
	if _, err := formValue(form, "token_type_hint"); err != nil {
		return err
	}
	if tok == "" {
		return oerr(ErrCodeInvalidRequest, "token is missing")
	}
	if len(tok) > maxSecretLen {
		return nil
	}
	hash := auth.HashToken(tok)
	t, g, err := s.st.OAuthToken(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("oauth: revoke: %w", err)
	}
	if g.ClientID != c.ID {
		return nil
	}
	now := s.now()
	if t.Kind == KindRefresh {
		err = s.st.RevokeGrant(ctx, g.ID, now)
	} else {
		err = s.st.RevokeOAuthToken(ctx, hash, now)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("oauth: revoke: %w", err)
	}
	return nil
}

// AuthenticateOB checks an access token of the Open Badges API and
// returns the user who granted it and the scopes it carries. Unknown,
// expired and revoked tokens, refresh tokens, and tokens of withdrawn
// grants give errors wrapping ErrInvalidToken. It is one indexed lookup.
func (s *Service) AuthenticateOB(ctx context.Context, accessToken string) (string, []string, error) {
	if accessToken == "" || len(accessToken) > maxSecretLen {
		return "", nil, invalidToken("no access token, or not one of ours")
	}
	t, g, err := s.st.OAuthToken(ctx, auth.HashToken(accessToken))
	if errors.Is(err, ErrNotFound) {
		return "", nil, invalidToken("unknown access token")
	}
	if err != nil {
		return "", nil, fmt.Errorf("oauth: authenticate: %w", err)
	}
	switch {
	case t.Kind != KindAccess:
		return "", nil, invalidToken("not an access token")
	case t.RevokedAt != nil:
		return "", nil, invalidToken("access token revoked")
	case g.RevokedAt != nil:
		return "", nil, invalidToken("the user withdrew this authorization")
	case !s.now().Before(t.ExpiresAt):
		return "", nil, invalidToken("access token expired")
	}
	return g.UserID, slices.Clone(t.Scopes), nil
}

// UserGrants lists the applications userID authorized and has not
// withdrawn, newest first.
func (s *Service) UserGrants(ctx context.Context, userID string) ([]GrantInfo, error) {
	gs, err := s.st.UserGrants(ctx, userID, s.now())
	if err != nil {
		return nil, fmt.Errorf("oauth: grants of user %s: %w", userID, err)
	}
	return gs, nil
}

// RevokeUserGrant withdraws userID's grant id: its codes and tokens stop
// working at once. ErrNotFound (wrapped) if userID has no such grant.
func (s *Service) RevokeUserGrant(ctx context.Context, userID, id string) error {
	g, err := s.st.Grant(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && g.UserID != userID {
		return fmt.Errorf("authorization %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("oauth: grant %s: %w", id, err)
	}
	if err := s.st.RevokeGrant(ctx, id, s.now()); err != nil {
		return fmt.Errorf("oauth: revoke grant %s: %w", id, err)
	}
	return nil
}

// purgeGrace keeps expired codes and tokens a day, for whoever looks into
// a refusal.
const purgeGrace = 24 * time.Hour

// Purge deletes codes, tokens and grants that expired more than a day
// ago; run it now and then (insigne serve does, hourly). Without it the
// tables grow by two tokens per client per hour of use.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	n, err := s.st.PurgeOAuth(ctx, s.now().Add(-purgeGrace))
	if err != nil {
		return n, fmt.Errorf("oauth: purge: %w", err)
	}
	return n, nil
}
