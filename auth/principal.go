package auth

import (
	"fmt"
	"slices"
)

// Role is what a user (or an API token) may do for one issuer.
// RoleAdmin includes every right of RoleTrainer.
type Role string

const (
	// RoleAdmin manages an issuer: achievements, mappings, keys,
	// revocation, members and API tokens.
	RoleAdmin Role = "admin"
	// RoleTrainer awards the issuer's badges and reads its credentials.
	RoleTrainer Role = "trainer"
)

// rank orders roles; 0 means unknown, which satisfies nothing.
func (r Role) rank() int {
	switch r {
	case RoleTrainer:
		return 1
	case RoleAdmin:
		return 2
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Satisfies reports whether r grants at least the rights of need.
// An unknown role satisfies nothing and is satisfied by nothing.
func (r Role) Satisfies(need Role) bool {
	return r.Valid() && need.Valid() && r.rank() >= need.rank()
}

// ParseRole returns the Role named s, or an error wrapping ErrInvalid.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("%w: unknown role %q (want %q or %q)", ErrInvalid, s, RoleAdmin, RoleTrainer)
	}
	return r, nil
}

// Scopes limit what an API token may do, on top of its role. Users and the
// root principal have no scopes: their roles alone decide.
const (
	ScopeAward  = "awards:write"       // award badges
	ScopeRead   = "credentials:read"   // read issued credentials
	ScopeRevoke = "credentials:revoke" // revoke or suspend credentials
	ScopeAdmin  = "issuers:admin"      // manage the issuer (achievements, keys, tokens)
)

// scopeRole returns the least role a token needs to hold scope, and false
// for an unknown scope: a trainer's token cannot be given admin powers by
// its scopes.
func scopeRole(scope string) (Role, bool) {
	switch scope {
	case ScopeAward, ScopeRead:
		return RoleTrainer, true
	case ScopeRevoke, ScopeAdmin:
		return RoleAdmin, true
	}
	return "", false
}

// AllowedScopes returns, sorted, the scopes a token with role r may hold.
func AllowedScopes(r Role) []string {
	var out []string
	for _, s := range []string{ScopeAward, ScopeRead, ScopeRevoke, ScopeAdmin} {
		if need, _ := scopeRole(s); r.Satisfies(need) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// ParseScopes checks scope names and returns them sorted and without
// duplicates. It rejects unknown names and an empty list (a token that may
// do nothing is a mistake), with an error wrapping ErrInvalid.
func ParseScopes(s []string) ([]string, error) {
	if len(s) == 0 {
		return nil, fmt.Errorf("%w: no scope given", ErrInvalid)
	}
	out := make([]string, 0, len(s))
	for _, name := range s {
		if _, ok := scopeRole(name); !ok {
			return nil, fmt.Errorf("%w: unknown scope %q", ErrInvalid, name)
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Kinds of Principal.
const (
	KindUser  = "user"  // signed in with a session
	KindToken = "token" // an API token
	KindRoot  = "root"  // the INSIGNE_ADMIN_TOKEN
)

// Principal is who is making a request, and what they may do.
type Principal struct {
	Kind    string // KindUser, KindToken or KindRoot
	UserID  string // the user; for a token, the user who created it ("" if root did)
	TokenID string // the API token's ID, for KindToken
	Email   string
	Name    string          // the user's name; for a token, the token's name
	Root    bool            // every right on every issuer
	Roles   map[string]Role // issuer id (slug) -> role
	Scopes  []string        // a token's scopes; nil for users and root
}

// Can reports whether p holds at least the role need for issuer.
// Root can do everything; an admin can do whatever a trainer can.
func (p *Principal) Can(issuer string, need Role) bool {
	if p == nil {
		return false
	}
	if p.Root {
		return true
	}
	return p.Roles[issuer].Satisfies(need)
}

// HasScope reports whether p may use scope. Users and root are limited by
// their roles alone, so this is true for them; a token may use only the
// scopes it was issued with.
func (p *Principal) HasScope(scope string) bool {
	if p == nil {
		return false
	}
	if p.Kind != KindToken {
		return true
	}
	return slices.Contains(p.Scopes, scope)
}

// IsLearner reports whether p is a signed-in user with no role on any
// issuer and no root rights: someone who only holds badges.
func (p *Principal) IsLearner() bool {
	if p == nil || p.Kind != KindUser || p.Root {
		return false
	}
	for _, r := range p.Roles {
		if r.Valid() {
			return false
		}
	}
	return true
}
