package auth

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound is returned by a Store when the thing asked for does not
	// exist (or, for a sign-in link, was already used).
	ErrNotFound = errors.New("auth: not found")
	// ErrConflict is returned by a Store when a write would break a
	// uniqueness rule: an e-mail address or an OpenID identity that
	// already belongs to a user, a token hash that already exists.
	ErrConflict = errors.New("auth: conflict")
)

// User is an account: a learner, a trainer, an issuer admin. A user signs
// in with a password, an OpenID Connect identity, or a one-time link.
type User struct {
	ID           string // assigned by the store
	Email        string // normalized (NormalizeEmail), unique when not empty
	Name         string
	PasswordHash string // argon2id PHC string (HashPassword); "" if none
	OIDCIssuer   string // with OIDCSubject, unique when not empty
	OIDCSubject  string
	Root         bool // every right on every issuer
	CreatedAt    time.Time
	LastSeen     time.Time // last sign-in; zero if never
	// Suspended accounts (long inactive, see package lifecycle) sign in
	// no more until an administrator reinstates them.
	Suspended bool
}

// Membership gives a user a role for one issuer. A user has at most one
// membership per issuer.
type Membership struct {
	UserID string
	Issuer string // issuer id (slug)
	Role   Role
}

// APIToken is a bearer token for machines (the LMS, scripts), bound to one
// issuer with a role and scopes. Only its hash is stored.
type APIToken struct {
	ID        string // assigned by the store
	Hash      string // HashToken of the plain token, unique
	Name      string // what it is for, chosen by its creator
	Issuer    string
	Scopes    []string // sorted, as returned by ParseScopes
	Role      Role
	CreatedBy string // user id of the creator; "" for the root token
	CreatedAt time.Time
	RevokedAt *time.Time // nil while the token is valid
}

// Session is a signed-in browser. The cookie holds the plain secret; the
// store holds only its hash.
type Session struct {
	IDHash    string // HashToken of the cookie value, unique
	UserID    string
	CSRF      string // the session's CSRF secret (see CSRFToken)
	ExpiresAt time.Time
}

// Store is the persistence that package auth needs; package store
// implements it. Methods return ErrNotFound and ErrConflict (possibly
// wrapped) as documented, and other errors only for failures of the
// storage itself. Values handed to the store are already validated and
// normalized by auth; the store compares strings exactly.
type Store interface {
	// CreateUser stores a new user with a new ID and returns it as stored.
	// ErrConflict if u.Email (when not empty) or the pair u.OIDCIssuer,
	// u.OIDCSubject (when not empty) already belongs to a user.
	CreateUser(ctx context.Context, u User) (User, error)
	// UserByID returns the user with this ID, or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// UserByEmail returns the user with this (normalized) e-mail
	// address, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UserByOIDC returns the user linked to this OpenID Connect
	// identity, or ErrNotFound.
	UserByOIDC(ctx context.Context, issuer, subject string) (User, error)
	// LinkOIDC sets the OpenID Connect identity of user userID.
	// ErrNotFound if there is no such user; ErrConflict if the identity
	// already belongs to another user.
	LinkOIDC(ctx context.Context, userID, issuer, subject string) error
	// TouchUser sets the user's LastSeen to at. ErrNotFound if there is
	// no such user.
	TouchUser(ctx context.Context, userID string, at time.Time) error

	// SetMembership gives m.UserID the role m.Role for m.Issuer,
	// replacing any role they had there; an empty m.Role removes the
	// membership (and is not an error if there was none).
	SetMembership(ctx context.Context, m Membership) error
	// Memberships returns all of a user's memberships, in any order; none
	// is not an error.
	Memberships(ctx context.Context, userID string) ([]Membership, error)

	// CreateToken stores a new API token with a new ID and returns it as
	// stored. ErrConflict if t.Hash exists already.
	CreateToken(ctx context.Context, t APIToken) (APIToken, error)
	// TokenByHash returns the token with this hash, revoked or not, or
	// ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (APIToken, error)
	// RevokeToken sets RevokedAt to at for token id of issuer. Revoking a
	// revoked token keeps its first RevokedAt and is not an error.
	// ErrNotFound if issuer has no token with this id.
	RevokeToken(ctx context.Context, issuer, id string, at time.Time) error
	// ListTokens returns all of an issuer's tokens, revoked ones
	// included, newest first.
	ListTokens(ctx context.Context, issuer string) ([]APIToken, error)

	// CreateSession stores a new session. ErrConflict if s.IDHash exists
	// already.
	CreateSession(ctx context.Context, s Session) error
	// SessionUser returns the session with this hash, even if expired
	// (auth checks ExpiresAt), its user and the user's memberships, or
	// ErrNotFound: everything a signed-in request needs, in one read.
	SessionUser(ctx context.Context, idHash string) (Session, User, []Membership, error)
	// DeleteSession deletes the session with this hash; deleting a
	// session that does not exist is not an error.
	DeleteSession(ctx context.Context, idHash string) error

	// CreateSignInLink stores a one-time sign-in link for userID, valid
	// until expires. ErrConflict if hash exists already.
	CreateSignInLink(ctx context.Context, hash, userID string, expires time.Time) error
	// UseSignInLink consumes the link with this hash and returns its user
	// and expiry (auth checks the expiry). It must be atomic: of two
	// concurrent calls with the same hash, at most one succeeds. Unknown
	// or already used links give ErrNotFound.
	UseSignInLink(ctx context.Context, hash string) (userID string, expires time.Time, err error)
}
