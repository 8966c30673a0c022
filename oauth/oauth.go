// Package oauth is the OAuth 2.0 authorization server of the Open Badges
// 3.0 API: RFC 7591 dynamic client registration, the authorization code
// grant with PKCE (S256 only), refresh token rotation, RFC 7009
// revocation, and the check of access tokens that every OB API call
// makes (AuthenticateOB). It knows no HTTP: package api decodes requests
// and writes answers; it knows no SQL: it declares Store, which package
// store implements.
//
// Every secret it hands out (client secrets, codes, access and refresh
// tokens) is 256 random bits and is stored only as its SHA-256 hash
// (auth.HashToken), so a leaked database leaks nothing usable.
package oauth

import (
	"errors"
	"fmt"
	"time"

	"github.com/insigne/insigne/auth"
)

// The scopes of the Open Badges 3.0 API (OB 3.0 §6.2.1), and
// offline_access, which the specification's examples send when they want
// a refresh token; it is accepted and changes nothing (a client that
// registered the refresh_token grant always gets one).
const (
	ScopeCredentialRead   = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly"
	ScopeCredentialUpsert = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.upsert"
	ScopeProfileRead      = "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly"
	ScopeProfileUpdate    = "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.update"
	ScopeOfflineAccess    = "offline_access"
)

// ScopeInfo describes a scope to the user who grants it.
type ScopeInfo struct {
	Scope string
	// English for the service description document, French for the
	// consent page.
	English, French string
}

// Scopes lists the scopes Insigne grants, in a stable order.
var Scopes = []ScopeInfo{
	{ScopeCredentialRead, "Permission to read AchievementCredentials for the authenticated entity.",
		"lire vos badges et attestations (Open Badges)"},
	{ScopeCredentialUpsert, "Permission to create or update AchievementCredentials for the authenticated entity.",
		"ajouter des badges à votre sac à badges, ou remplacer ceux qu'elle y a déjà déposés"},
	{ScopeProfileRead, "Permission to read the profile for the authenticated entity.",
		"lire votre profil (nom, adresse électronique)"},
	{ScopeProfileUpdate, "Permission to update the profile for the authenticated entity.",
		"modifier votre profil"},
	{ScopeOfflineAccess, "Keep access while the user is away (refresh tokens).",
		"garder cet accès quand vous n'êtes pas connecté, jusqu'à ce que vous le retiriez"},
}

func knownScope(s string) bool {
	for _, i := range Scopes {
		if i.Scope == s {
			return true
		}
	}
	return false
}

// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 7591 §3.2.2 and
// RFC 7009 §2.2.1.
const (
	ErrCodeInvalidRequest          = "invalid_request"
	ErrCodeInvalidClient           = "invalid_client"
	ErrCodeInvalidGrant            = "invalid_grant"
	ErrCodeUnauthorizedClient      = "unauthorized_client"
	ErrCodeUnsupportedGrantType    = "unsupported_grant_type"
	ErrCodeInvalidScope            = "invalid_scope"
	ErrCodeAccessDenied            = "access_denied"
	ErrCodeUnsupportedResponseType = "unsupported_response_type"
	ErrCodeInvalidRedirectURI      = "invalid_redirect_uri"
	ErrCodeInvalidClientMetadata   = "invalid_client_metadata"
	ErrCodeUnsupportedTokenType    = "unsupported_token_type"
)

// Error is a refusal with an OAuth error code and a description meant for
// the client's developer. Package api answers it as the RFCs say:
// {"error": Code, "error_description": Description}.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return "oauth: " + e.Code + ": " + e.Description }

func oerr(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// ErrInvalidToken is wrapped by AuthenticateOB's refusals (unknown,
// expired, revoked, or not an access token). It wraps
// auth.ErrUnauthenticated, so callers that answer auth errors answer 401.
var ErrInvalidToken = fmt.Errorf("%w: invalid OAuth access token", auth.ErrUnauthenticated)

func invalidToken(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// Store errors (possibly wrapped).
var (
	// ErrNotFound: no such client, grant, code or token.
	ErrNotFound = errors.New("oauth: not found")
	// ErrUsed: the code or refresh token was already used (or revoked).
	ErrUsed = errors.New("oauth: already used")
	// ErrConflict: an id or hash exists already.
	ErrConflict = errors.New("oauth: conflict")
)

// Lifetimes.
const (
	DefaultAccessTTL  = time.Hour
	DefaultRefreshTTL = 30 * 24 * time.Hour
	// MaxCodeTTL: RFC 6749 §4.1.2 recommends at most ten minutes, and the
	// OB 3.0 security framework says 600 s.
	MaxCodeTTL = 10 * time.Minute
)

// Prefixes of the secrets (they tell a person, and secret scanners, what
// a leaked string is).
const (
	clientSecretPrefix = "insoc_"
	codePrefix         = "insoa_"
	accessPrefix       = "insot_"
	refreshPrefix      = "insor_"
)

// Config builds a Service.
type Config struct {
	Store Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// AccessTTL, RefreshTTL and CodeTTL: DefaultAccessTTL,
	// DefaultRefreshTTL and MaxCodeTTL when zero; CodeTTL is capped at
	// MaxCodeTTL.
	AccessTTL, RefreshTTL, CodeTTL time.Duration
	// AllowLoopbackHTTP lets clients register http:// URIs on loopback
	// hosts (127.0.0.1, [::1], localhost): wallets under test, and
	// native apps (RFC 8252 §7.3). Everything else must be https.
	AllowLoopbackHTTP bool
}

// Service is the authorization server. It is safe for concurrent use and
// keeps no state of its own: codes and tokens live in the Store, so that
// any node can answer any step.
type Service struct {
	st                             Store
	now                            func() time.Time
	accessTTL, refreshTTL, codeTTL time.Duration
	loopback                       bool
}

// New returns a Service.
func New(c Config) *Service {
	s := &Service{st: c.Store, now: c.Now, accessTTL: c.AccessTTL, refreshTTL: c.RefreshTTL, codeTTL: c.CodeTTL, loopback: c.AllowLoopbackHTTP}
	if s.now == nil {
		s.now = time.Now
	}
	if s.accessTTL <= 0 {
		s.accessTTL = DefaultAccessTTL
	}
	if s.refreshTTL <= 0 {
		s.refreshTTL = DefaultRefreshTTL
	}
	if s.codeTTL <= 0 || s.codeTTL > MaxCodeTTL {
		s.codeTTL = MaxCodeTTL
	}
	return s
}

// AccessTTL is the lifetime of access tokens (expires_in).
func (s *Service) AccessTTL() time.Duration { return s.accessTTL }
