package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/insigne/insigne/auth"
)

// AuthorizeParams are the parameters of an authorization request
// (RFC 6749 §4.1.1, RFC 7636 §4.3).
type AuthorizeParams struct {
	ResponseType        string
	ClientID            string
	RedirectURI         string
	Scope               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
}

// Values returns the parameters as a query, for the consent form to send
// back.
func (p AuthorizeParams) Values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"response_type": p.ResponseType, "client_id": p.ClientID, "redirect_uri": p.RedirectURI,
		"scope": p.Scope, "state": p.State, "code_challenge": p.CodeChallenge, "code_challenge_method": p.CodeChallengeMethod} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// AuthorizeError is a refused authorization request. When RedirectURI is
// empty, the client or its redirect URI could not be trusted: the error
// is shown to the user and never redirected (RFC 6749 §4.1.2.1).
// Otherwise the user agent goes back to RedirectURL().
type AuthorizeError struct {
	Code        string
	Description string
	RedirectURI string
	State       string
	// redirectable marks parse errors that may be redirected once the
	// redirect URI is known to be the client's.
	redirectable bool
}

func (e *AuthorizeError) Error() string { return "oauth: authorize: " + e.Code + ": " + e.Description }

// RedirectURL is the redirect URI with error, error_description and
// state; "" when the error must be shown instead.
func (e *AuthorizeError) RedirectURL() string {
	if e.RedirectURI == "" {
		return ""
	}
	v := url.Values{"error": {e.Code}, "error_description": {e.Description}}
	if e.State != "" {
		v.Set("state", e.State)
	}
	return withQuery(e.RedirectURI, v)
}

// withQuery appends v to u's query, keeping what u already holds
// (RFC 6749 §3.1.2: the query of a redirection URI must be retained).
func withQuery(u string, v url.Values) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
		if strings.HasSuffix(u, "?") || strings.HasSuffix(u, "&") {
			sep = ""
		}
	}
	return u + sep + v.Encode()
}

func shown(format string, args ...any) *AuthorizeError {
	return &AuthorizeError{Code: ErrCodeInvalidRequest, Description: fmt.Sprintf(format, args...)}
}

func redirected(code, format string, args ...any) *AuthorizeError {
	return &AuthorizeError{Code: code, Description: fmt.Sprintf(format, args...), redirectable: true}
}

const (
	maxClientIDLen = 100
	maxStateLen    = 1024
)

// ParseAuthorize reads an authorization request's query and checks what
// can be checked without the client's registration. Its *AuthorizeError
// puts problems with client_id and redirect_uri first (they cannot be
// redirected); Service.Authorize fills in where the others are sent.
func ParseAuthorize(q url.Values) (AuthorizeParams, *AuthorizeError) {
	var p AuthorizeParams
	// RFC 6749 §3.1: "Request and response parameters MUST NOT be
	// included more than once."
	one := func(name string) (string, bool) {
		vs := q[name]
		if len(vs) > 1 {
			return "", false
		}
		if len(vs) == 1 {
			return vs[0], true
		}
		return "", true
	}
	var ok bool
	if p.ClientID, ok = one("client_id"); !ok {
		return p, shown("client_id is given more than once")
	}
	if p.RedirectURI, ok = one("redirect_uri"); !ok {
		return p, shown("redirect_uri is given more than once")
	}
	switch {
	case p.ClientID == "":
		return p, shown("client_id is missing")
	case len(p.ClientID) > maxClientIDLen || checkText(p.ClientID, maxClientIDLen) != "":
		return p, shown("client_id is not one this service issued")
	case p.RedirectURI == "":
		return p, shown("redirect_uri is missing")
	case len(p.RedirectURI) > maxURILen:
		return p, shown("redirect_uri is longer than %d bytes", maxURILen)
	}
	// Past this point errors go back to the client, with the state if it
	// is usable.
	state, stateOK := one("state")
	if stateOK && len(state) <= maxStateLen && isVSChars(state) {
		p.State = state
	}
	for _, name := range []string{"response_type", "scope", "code_challenge", "code_challenge_method"} {
		if _, ok := one(name); !ok {
			return p, redirected(ErrCodeInvalidRequest, "%s is given more than once", name)
		}
	}
	p.ResponseType, _ = one("response_type")
	p.Scope, _ = one("scope")
	p.CodeChallenge, _ = one("code_challenge")
	p.CodeChallengeMethod, _ = one("code_challenge_method")
	switch {
	case !stateOK:
		return p, redirected(ErrCodeInvalidRequest, "state is given more than once")
	case state == "":
		return p, redirected(ErrCodeInvalidRequest, "state is required (it protects the client against cross-site request forgery)")
	case p.State == "":
		return p, redirected(ErrCodeInvalidRequest, "state must be at most %d printable ASCII characters", maxStateLen)
	case p.ResponseType == "":
		return p, redirected(ErrCodeInvalidRequest, "response_type is missing; use code")
	case p.ResponseType != "code":
		return p, redirected(ErrCodeUnsupportedResponseType, "response_type %q is not supported; use code", clip(p.ResponseType))
	case p.CodeChallenge == "":
		return p, redirected(ErrCodeInvalidRequest, "code_challenge is required: this service requires PKCE (RFC 7636) with S256")
	case p.CodeChallengeMethod == "":
		return p, redirected(ErrCodeInvalidRequest, "code_challenge_method is missing, which means plain; this service accepts only S256")
	case p.CodeChallengeMethod != "S256":
		return p, redirected(ErrCodeInvalidRequest, "code_challenge_method %q is not supported; use S256", clip(p.CodeChallengeMethod))
	case !isS256Challenge(p.CodeChallenge):
		return p, redirected(ErrCodeInvalidRequest, "code_challenge must be the unpadded base64url SHA-256 of the verifier: 43 characters")
	case p.Scope == "":
		return p, redirected(ErrCodeInvalidScope, "scope is missing; ask for the Open Badges scopes you need")
	}
	if _, e := parseScope(p.Scope); e != "" {
		return p, redirected(ErrCodeInvalidScope, "scope %s", e)
	}
	return p, nil
}

// isVSChars: RFC 6749 Appendix A, state = 1*VSCHAR (%x20-7E).
func isVSChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func isS256Challenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Request is an authorization request that passed every check: what the
// consent page shows and Approve records.
type Request struct {
	Params AuthorizeParams
	Client Client
	Scopes []string
}

// Authorize checks an authorization request. Refusals are
// *AuthorizeError (see there for where to send them); other errors are
// failures of the store.
func (s *Service) Authorize(ctx context.Context, q url.Values) (*Request, error) {
	p, perr := ParseAuthorize(q)
	if perr != nil && !perr.redirectable {
		return nil, perr
	}
	c, err := s.st.OAuthClient(ctx, p.ClientID)
	if errors.Is(err, ErrNotFound) {
		return nil, &AuthorizeError{Code: ErrCodeInvalidClient, Description: "client_id is not a client registered with this service"}
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: authorize: %w", err)
	}
	if !slices.Contains(c.RedirectURIs, p.RedirectURI) {
		return nil, shown("redirect_uri is not one the client registered (it must match exactly)")
	}
	if perr != nil {
		perr.RedirectURI, perr.State = p.RedirectURI, p.State
		return nil, perr
	}
	scopes, _ := parseScope(p.Scope)
	registered := strings.Fields(c.Scope)
	for _, sc := range scopes {
		if !slices.Contains(registered, sc) {
			return nil, &AuthorizeError{Code: ErrCodeInvalidScope, Description: fmt.Sprintf("scope %q was not registered by this client", sc),
				RedirectURI: p.RedirectURI, State: p.State}
		}
	}
	return &Request{Params: p, Client: c, Scopes: scopes}, nil
}

// DenyURL is where the user agent goes when the user refuses.
func (r *Request) DenyURL() string {
	e := &AuthorizeError{Code: ErrCodeAccessDenied, Description: "the user refused", RedirectURI: r.Params.RedirectURI, State: r.Params.State}
	return e.RedirectURL()
}

// Approve records userID's consent to r and returns where to send the
// user agent: the redirect URI with code, state and scope.
func (s *Service) Approve(ctx context.Context, userID string, r *Request) (string, error) {
	if userID == "" {
		return "", fmt.Errorf("%w: approve: no user", auth.ErrUnauthenticated)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	plain, hash := auth.NewToken(codePrefix)
	g := Grant{ID: rand.Text(), ClientID: r.Client.ID, UserID: userID, Scopes: r.Scopes, CreatedAt: now, ExpiresAt: now.Add(s.codeTTL)}
	c := Code{Hash: hash, GrantID: g.ID, RedirectURI: r.Params.RedirectURI, CodeChallenge: r.Params.CodeChallenge, ExpiresAt: now.Add(s.codeTTL)}
	if err := s.st.CreateGrant(ctx, g, c); err != nil {
		return "", fmt.Errorf("oauth: approve client %s for user %s: %w", r.Client.ID, userID, err)
	}
	return withQuery(r.Params.RedirectURI, url.Values{"code": {plain}, "state": {r.Params.State}, "scope": {strings.Join(r.Scopes, " ")}}), nil
}
