package oauth

import (
	"context"
	"time"
)

// Client is a registered application (a wallet, another host).
type Client struct {
	ID         string
	SecretHash string // auth.HashToken of the client secret
	Metadata
	CreatedAt time.Time
}

// Metadata is what a client registers about itself (RFC 7591 §2), as
// validated and normalized by Register.
type Metadata struct {
	Name                    string   `json:"client_name"`
	URI                     string   `json:"client_uri"`
	LogoURI                 string   `json:"logo_uri"`
	TOSURI                  string   `json:"tos_uri"`
	PolicyURI               string   `json:"policy_uri"`
	SoftwareID              string   `json:"software_id"`
	SoftwareVersion         string   `json:"software_version"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	// Scope is the space-separated list of scopes the client may ask
	// for.
	Scope string `json:"scope"`
}

// Grant is a learner's consent to one client for some scopes. Codes and
// tokens hang off it; revoking it ends them all.
type Grant struct {
	ID        string
	ClientID  string
	UserID    string // the auth user who consented
	Scopes    []string
	CreatedAt time.Time
	// ExpiresAt is when its last token expires; the store keeps it
	// current as tokens are issued.
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// Code is an authorization code, bound to its grant (client, user,
// scopes), the redirect URI and the PKCE challenge.
type Code struct {
	Hash          string
	GrantID       string
	RedirectURI   string
	CodeChallenge string // S256 challenge (base64url of SHA-256 of the verifier)
	ExpiresAt     time.Time
	UsedAt        *time.Time
}

// Token kinds.
const (
	KindAccess  = "access"
	KindRefresh = "refresh"
)

// Token is an access or refresh token.
type Token struct {
	Hash      string
	GrantID   string
	Kind      string
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time
	// RevokedAt is set when the token is revoked or, for a refresh
	// token, used (rotation).
	RevokedAt *time.Time
}

// GrantInfo is a grant as its learner sees it: with the client's name.
type GrantInfo struct {
	Grant
	ClientName string
	ClientURI  string
	LogoURI    string
}

// Store is the persistence package oauth needs; package store implements
// it on SQLite and PostgreSQL. Errors are ErrNotFound, ErrUsed and
// ErrConflict (possibly wrapped) as documented, or failures of the
// storage itself.
type Store interface {
	// CreateClient stores a new client. ErrConflict if its id exists.
	CreateClient(ctx context.Context, c Client) error
	// OAuthClient returns a client, or ErrNotFound.
	OAuthClient(ctx context.Context, id string) (Client, error)

	// CreateGrant stores a grant and its first code, together.
	CreateGrant(ctx context.Context, g Grant, c Code) error
	// Grant returns a grant, or ErrNotFound.
	Grant(ctx context.Context, id string) (Grant, error)
	// UseCode marks the code with this hash used at at and returns it
	// with its grant. It is atomic: of two concurrent uses, one wins. A
	// code used before gives ErrUsed with the code and grant filled in
	// (so that the caller can revoke what was issued from it); an
	// unknown code gives ErrNotFound.
	UseCode(ctx context.Context, hash string, at time.Time) (Code, Grant, error)
	// RevokeGrant sets the grant's RevokedAt (keeping an earlier one).
	// ErrNotFound if there is no such grant.
	RevokeGrant(ctx context.Context, id string, at time.Time) error
	// UserGrants lists the user's grants that are neither revoked nor
	// expired at now, newest first.
	UserGrants(ctx context.Context, userID string, now time.Time) ([]GrantInfo, error)

	// CreateTokens stores new tokens of one grant and extends the
	// grant's ExpiresAt to the latest of their expiries.
	CreateTokens(ctx context.Context, grantID string, ts ...Token) error
	// RotateToken revokes the token oldHash at at and stores ts in the
	// same transaction. ErrUsed if oldHash was already revoked (someone
	// used it first), ErrNotFound if unknown.
	RotateToken(ctx context.Context, oldHash string, at time.Time, ts ...Token) error
	// OAuthToken returns the token with this hash and its grant, or
	// ErrNotFound. This is the lookup behind every OB API call.
	OAuthToken(ctx context.Context, hash string) (Token, Grant, error)
	// RevokeOAuthToken sets the token's RevokedAt (keeping an earlier
	// one); an unknown token is not an error.
	RevokeOAuthToken(ctx context.Context, hash string, at time.Time) error

	// PurgeOAuth deletes the codes and tokens that expired before
	// before, and the grants whose last token did (revoked or not), with
	// their codes and tokens. It returns how many grants, and tokens and
	// codes of surviving grants, it deleted.
	PurgeOAuth(ctx context.Context, before time.Time) (int64, error)
}
