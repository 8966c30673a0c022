package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

var (
	// ErrUnauthenticated means the caller could not be identified: no,
	// unknown, expired or revoked credentials, or a wrong password.
	// Errors wrapping it may say why, for the logs; none of them reveals
	// whether an e-mail address has an account.
	ErrUnauthenticated = errors.New("auth: unauthenticated")
	// ErrForbidden means the principal is known but lacks the role or
	// scope for what it asked.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrInvalid is wrapped by errors about a malformed argument (an
	// unknown role or scope, an empty name...).
	ErrInvalid = errors.New("auth: invalid argument")
)

const (
	// DefaultSessionTTL is how long a browser session lasts.
	DefaultSessionTTL = 12 * time.Hour
	// MaxSignInLinkTTL caps how long a sign-in link may stay valid.
	MaxSignInLinkTTL = 7 * 24 * time.Hour
	// maxTokenName caps an API token's name, in characters.
	maxTokenName = 100
)

// Service authenticates callers and issues their credentials, on top of a
// Store. It is safe for concurrent use.
type Service struct {
	st            Store
	now           func() time.Time
	sessionTTL    time.Duration
	rootTokenHash []byte // SHA-256 of the root token; nil if none

	// hashSlots bounds concurrent argon2 computations: each takes 64 MiB,
	// so a burst of sign-in attempts must queue instead of exhausting
	// memory.
	hashSlots chan struct{}

	// dummyHash is checked when a sign-in names no account, so that the
	// answer takes as long as for a wrong password and does not reveal
	// which e-mail addresses have accounts.
	dummyOnce sync.Once
	dummyHash string

	sessions *sessionCache // nil: every request reads its session
}

// Option configures a Service.
type Option func(*Service)

// WithRootToken makes token (INSIGNE_ADMIN_TOKEN) authenticate as the
// root principal. An empty token disables root access by token. It should
// be a long random string: it opens everything.
func WithRootToken(token string) Option {
	return func(s *Service) {
		if token == "" {
			s.rootTokenHash = nil
			return
		}
		sum := sha256.Sum256([]byte(token))
		s.rootTokenHash = sum[:]
	}
}

// WithSessionTTL sets how long new sessions last (DefaultSessionTTL if
// not given or not positive).
func WithSessionTTL(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.sessionTTL = d
		}
	}
}

// WithSessionCache keeps each session's principal in memory for ttl once
// read (0: read it on every request). A sign-out, or a change of
// memberships made through this Service, takes effect at once; the same
// made on another node, or a suspension or deletion made elsewhere, within
// ttl.
func WithSessionCache(ttl time.Duration) Option {
	return func(s *Service) { s.sessions = newSessionCache(ttl) }
}

// ForgetUser drops what this node remembers of userID's sessions: call it
// after the account is suspended or deleted, or its rights change, outside
// this Service.
func (s *Service) ForgetUser(userID string) { s.sessions.dropUser(userID) }

// NewService returns a Service on st. now is the clock (time.Now if nil).
func NewService(st Store, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{
		st:         st,
		now:        now,
		sessionTTL: DefaultSessionTTL,
		hashSlots:  make(chan struct{}, min(runtime.GOMAXPROCS(0), 8)),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// NormalizeEmail returns the form in which e-mail addresses are stored and
// compared: trimmed and lower-cased. Lower-casing the local part is not
// strictly RFC 5321, but no real mailbox depends on case and people do not
// type it consistently.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// unauthenticated wraps ErrUnauthenticated with a reason for the logs.
func unauthenticated(reason string) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
}

// AuthenticateToken returns the principal for a bearer token: the root
// principal for the root token, else the API token's. Unknown and revoked
// tokens, and tokens whose creator is no longer admin of the token's
// issuer, give ErrUnauthenticated.
func (s *Service) AuthenticateToken(ctx context.Context, bearer string) (*Principal, error) {
	if bearer == "" || len(bearer) > maxTokenLen {
		return nil, unauthenticated("no bearer token, or not one of ours")
	}
	if s.rootTokenHash != nil {
		sum := sha256.Sum256([]byte(bearer))
		if subtle.ConstantTimeCompare(sum[:], s.rootTokenHash) == 1 {
			return &Principal{Kind: KindRoot, Root: true, Name: "root"}, nil
		}
	}
	t, err := s.st.TokenByHash(ctx, HashToken(bearer))
	if errors.Is(err, ErrNotFound) {
		return nil, unauthenticated("unknown API token")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: authenticate token: %w", err)
	}
	if t.RevokedAt != nil {
		return nil, unauthenticated("API token " + t.ID + " is revoked")
	}
	// A token acts for the admin who created it, so it stops working when
	// they could no longer create it: someone who leaves an issuer does
	// not keep access through their tokens.
	if t.CreatedBy != "" {
		creator, err := s.UserPrincipal(ctx, t.CreatedBy)
		if errors.Is(err, ErrUnauthenticated) {
			return nil, unauthenticated("the creator of API token " + t.ID + " no longer exists")
		}
		if err != nil {
			return nil, fmt.Errorf("auth: authenticate token: %w", err)
		}
		if !creator.Can(t.Issuer, RoleAdmin) {
			return nil, unauthenticated("the creator of API token " + t.ID + " is no longer admin of " + t.Issuer)
		}
	}
	return &Principal{
		Kind:    KindToken,
		UserID:  t.CreatedBy,
		TokenID: t.ID,
		Name:    t.Name,
		Roles:   map[string]Role{t.Issuer: t.Role},
		Scopes:  slices.Clone(t.Scopes),
	}, nil
}

// UserPrincipal returns the principal of user userID with their current
// memberships. ErrUnauthenticated if there is no such user.
func (s *Service) UserPrincipal(ctx context.Context, userID string) (*Principal, error) {
	u, err := s.st.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, unauthenticated("user " + userID + " does not exist")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: user %s: %w", userID, err)
	}
	if u.Suspended {
		return nil, errSuspended
	}
	ms, err := s.st.Memberships(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("auth: memberships of user %s: %w", u.ID, err)
	}
	return principal(u, ms), nil
}

// principal is a signed-in user's principal.
func principal(u User, ms []Membership) *Principal {
	p := &Principal{Kind: KindUser, UserID: u.ID, Email: u.Email, Name: u.Name, Root: u.Root}
	for _, m := range ms {
		if m.Role.Valid() {
			if p.Roles == nil {
				p.Roles = make(map[string]Role, len(ms))
			}
			p.Roles[m.Issuer] = m.Role
		}
	}
	return p
}

// PasswordSignIn returns the user with this e-mail address if pw is their
// password. A wrong password, an unknown address and an account without a
// password all give the same ErrUnauthenticated, in about the same time.
// A password breaking the length rules gives an error wrapping both
// ErrUnauthenticated and ErrPasswordEmpty or ErrPasswordTooLong.
func (s *Service) PasswordSignIn(ctx context.Context, email, pw string) (User, error) {
	if err := checkPasswordInput(pw); err != nil {
		return User{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	select {
	case s.hashSlots <- struct{}{}:
		defer func() { <-s.hashSlots }()
	case <-ctx.Done():
		return User{}, fmt.Errorf("auth: password sign-in: %w", ctx.Err())
	}
	wrong := unauthenticated("wrong e-mail address or password")
	u, err := s.st.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("auth: password sign-in: %w", err)
	}
	if err != nil || u.PasswordHash == "" {
		CheckPassword(s.dummy(), pw) // same work as a real check; result ignored
		return User{}, wrong
	}
	ok, err := CheckPassword(u.PasswordHash, pw)
	if err != nil {
		return User{}, fmt.Errorf("auth: password sign-in: stored hash of user %s: %w", u.ID, err)
	}
	if !ok {
		return User{}, wrong
	}
	if u.Suspended {
		return User{}, errSuspended
	}
	return u, nil
}

// errSuspended refuses a suspended account, whatever the way it signs in.
var errSuspended = unauthenticated("this account is suspended after a long inactivity; ask an administrator to reinstate it")

// dummy returns a hash of a random password, made once.
func (s *Service) dummy() string {
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = HashPassword(newSecret())
	})
	return s.dummyHash
}

// OIDCSignIn returns the user for verified OpenID Connect claims: the user
// already linked to this identity; else the user with the same e-mail
// address, if the provider verified it, who is then linked to the
// identity; else a new user. An unverified address is not stored at all,
// so that nobody can claim someone else's address through a provider that
// does not check them.
//
// Linking by e-mail trusts every configured provider to verify addresses
// honestly; configure only providers you trust that far.
func (s *Service) OIDCSignIn(ctx context.Context, c *Claims) (User, error) {
	u, err := s.oidcSignIn(ctx, c)
	if err == nil && u.Suspended {
		return User{}, errSuspended
	}
	return u, err
}

func (s *Service) oidcSignIn(ctx context.Context, c *Claims) (User, error) {
	if c == nil || c.Issuer == "" || c.Subject == "" {
		return User{}, fmt.Errorf("%w: OpenID claims without issuer or subject", ErrInvalid)
	}
	u, err := s.st.UserByOIDC(ctx, c.Issuer, c.Subject)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("auth: OpenID sign-in: %w", err)
	}
	var email string
	if c.EmailVerified {
		email = NormalizeEmail(c.Email)
	}
	if email != "" {
		u, err := s.st.UserByEmail(ctx, email)
		switch {
		case err == nil && u.OIDCIssuer == "" && u.OIDCSubject == "":
			if err := s.st.LinkOIDC(ctx, u.ID, c.Issuer, c.Subject); err != nil {
				return User{}, fmt.Errorf("auth: OpenID sign-in: linking user %s: %w", u.ID, err)
			}
			u.OIDCIssuer, u.OIDCSubject = c.Issuer, c.Subject
			return u, nil
		case err == nil:
			return User{}, fmt.Errorf("%w: the account with e-mail address %s is linked to another OpenID identity", ErrConflict, email)
		case !errors.Is(err, ErrNotFound):
			return User{}, fmt.Errorf("auth: OpenID sign-in: %w", err)
		}
	}
	u, err = s.st.CreateUser(ctx, User{
		Email:       email,
		Name:        c.Name,
		OIDCIssuer:  c.Issuer,
		OIDCSubject: c.Subject,
		CreatedAt:   s.now(),
	})
	if errors.Is(err, ErrConflict) {
		// Two first sign-ins of the same person raced; the other won.
		if u, err := s.st.UserByOIDC(ctx, c.Issuer, c.Subject); err == nil {
			return u, nil
		}
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: OpenID sign-in: creating user: %w", err)
	}
	return u, nil
}

// NewSession starts a browser session for userID and records the sign-in
// time. cookieValue goes in the session cookie; csrf is the session's CSRF
// secret, to be given to CSRFToken when rendering forms (SessionPrincipal
// returns it again on later requests). Call it on every sign-in, so that a
// session id planted before sign-in is never promoted.
func (s *Service) NewSession(ctx context.Context, userID string) (cookieValue, csrf string, err error) {
	if userID == "" {
		return "", "", fmt.Errorf("%w: new session: empty user id", ErrInvalid)
	}
	now := s.now()
	plain, hash := NewToken(sessionPrefix)
	csrf = newSecret()
	if err := s.st.CreateSession(ctx, Session{IDHash: hash, UserID: userID, CSRF: csrf, ExpiresAt: now.Add(s.sessionTTL)}); err != nil {
		return "", "", fmt.Errorf("auth: new session for user %s: %w", userID, err)
	}
	if err := s.st.TouchUser(ctx, userID, now); err != nil {
		return "", "", fmt.Errorf("auth: new session for user %s: %w", userID, err)
	}
	return plain, csrf, nil
}

// SessionPrincipal returns the principal of the session whose cookie
// value is given, and the session's CSRF secret. Unknown and expired
// sessions (the latter are deleted) give ErrUnauthenticated.
func (s *Service) SessionPrincipal(ctx context.Context, cookieValue string) (p *Principal, csrf string, err error) {
	if cookieValue == "" || len(cookieValue) > maxTokenLen {
		return nil, "", unauthenticated("no session cookie, or not one of ours")
	}
	hash := HashToken(cookieValue)
	now := s.now()
	if e, ok := s.sessions.get(hash, now); ok {
		return e.p, e.csrf, nil
	}
	gen := s.sessions.generation()
	sess, u, ms, err := s.st.SessionUser(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, "", unauthenticated("unknown session")
	}
	if err != nil {
		return nil, "", fmt.Errorf("auth: session: %w", err)
	}
	if !now.Before(sess.ExpiresAt) {
		// Best effort: an expired session is refused whether or not the
		// clean-up works.
		_ = s.st.DeleteSession(ctx, hash)
		return nil, "", unauthenticated("session expired")
	}
	if u.Suspended {
		return nil, "", errSuspended
	}
	p = principal(u, ms)
	s.sessions.put(hash, p, sess.CSRF, sess.ExpiresAt, now, gen)
	return p, sess.CSRF, nil
}

// EndSession signs out the session whose cookie value is given. Ending an
// unknown session is not an error.
func (s *Service) EndSession(ctx context.Context, cookieValue string) error {
	if cookieValue == "" || len(cookieValue) > maxTokenLen {
		return nil
	}
	hash := HashToken(cookieValue)
	// Dropped after the store, whatever it answered: see sessionCache.gen.
	defer s.sessions.drop(hash)
	if err := s.st.DeleteSession(ctx, hash); err != nil {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}

// IssueToken creates an API token for issuer with role and scopes, and
// returns the plain token (to be shown once) with the stored record. The
// creator must be admin of issuer (and, if a token, hold ScopeAdmin); the
// scopes must be ones that role allows (see AllowedScopes).
func (s *Service) IssueToken(ctx context.Context, creator *Principal, issuer, name string, role Role, scopes []string) (string, APIToken, error) {
	if creator == nil {
		return "", APIToken{}, unauthenticated("no principal")
	}
	if !creator.Can(issuer, RoleAdmin) || !creator.HasScope(ScopeAdmin) {
		return "", APIToken{}, fmt.Errorf("%w: only an admin of issuer %q can create its API tokens", ErrForbidden, issuer)
	}
	name = strings.TrimSpace(name)
	switch {
	case issuer == "":
		return "", APIToken{}, fmt.Errorf("%w: API token: issuer is empty", ErrInvalid)
	case name == "":
		return "", APIToken{}, fmt.Errorf("%w: API token: name is empty", ErrInvalid)
	case utf8.RuneCountInString(name) > maxTokenName || !utf8.ValidString(name):
		return "", APIToken{}, fmt.Errorf("%w: API token: name is not valid UTF-8 of at most %d characters", ErrInvalid, maxTokenName)
	case !role.Valid():
		return "", APIToken{}, fmt.Errorf("%w: API token: unknown role %q", ErrInvalid, role)
	}
	scopes, err := ParseScopes(scopes)
	if err != nil {
		return "", APIToken{}, fmt.Errorf("API token: %w", err)
	}
	for _, sc := range scopes {
		if need, _ := scopeRole(sc); !role.Satisfies(need) {
			return "", APIToken{}, fmt.Errorf("%w: API token: scope %q needs role %q, not %q", ErrInvalid, sc, need, role)
		}
	}
	plain, hash := NewToken(APITokenPrefix)
	t, err := s.st.CreateToken(ctx, APIToken{
		Hash:      hash,
		Name:      name,
		Issuer:    issuer,
		Scopes:    scopes,
		Role:      role,
		CreatedBy: creator.UserID,
		CreatedAt: s.now(),
	})
	if err != nil {
		return "", APIToken{}, fmt.Errorf("auth: create API token for %s: %w", issuer, err)
	}
	return plain, t, nil
}

// canManageTokens is the rule for listing and revoking an issuer's tokens.
func canManageTokens(p *Principal, issuer string) error {
	if !p.Can(issuer, RoleAdmin) || !p.HasScope(ScopeAdmin) {
		return fmt.Errorf("%w: only an admin of issuer %q can manage its API tokens", ErrForbidden, issuer)
	}
	return nil
}

// Tokens lists issuer's API tokens, revoked ones included, for an admin
// of issuer.
func (s *Service) Tokens(ctx context.Context, p *Principal, issuer string) ([]APIToken, error) {
	if err := canManageTokens(p, issuer); err != nil {
		return nil, err
	}
	ts, err := s.st.ListTokens(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: list API tokens of %s: %w", issuer, err)
	}
	return ts, nil
}

// RevokeToken revokes issuer's API token id, for an admin of issuer.
// ErrNotFound if issuer has no such token.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, issuer, id string) error {
	if err := canManageTokens(p, issuer); err != nil {
		return err
	}
	if err := s.st.RevokeToken(ctx, issuer, id, s.now()); err != nil {
		return fmt.Errorf("auth: revoke API token %s of %s: %w", id, issuer, err)
	}
	return nil
}

// AddMember gives the person with this e-mail address the role for
// issuer, creating their account first if there is none (with the
// password, if one is given; without one they sign in by OpenID Connect or
// a sign-in link). p must be admin of issuer. An existing account's
// password is never set here, so that an issuer admin cannot take over
// someone's account: giving a password for an existing account is an
// ErrConflict.
func (s *Service) AddMember(ctx context.Context, p *Principal, issuer, email, name, password string, role Role) (User, error) {
	if err := canManageMembers(p, issuer); err != nil {
		return User{}, err
	}
	email = NormalizeEmail(email)
	switch {
	case issuer == "":
		return User{}, fmt.Errorf("%w: member: issuer is empty", ErrInvalid)
	case !role.Valid():
		return User{}, fmt.Errorf("%w: member: unknown role %q", ErrInvalid, role)
	case !plausibleEmail(email):
		return User{}, fmt.Errorf("%w: member: %q is not an e-mail address", ErrInvalid, email)
	}
	u, err := s.st.UserByEmail(ctx, email)
	switch {
	case err == nil && password != "":
		return User{}, fmt.Errorf("%w: %s already has an account, whose password cannot be set here", ErrConflict, email)
	case errors.Is(err, ErrNotFound):
		nu := User{Email: email, Name: strings.TrimSpace(name), CreatedAt: s.now()}
		if password != "" {
			if nu.PasswordHash, err = HashPassword(password); err != nil {
				return User{}, fmt.Errorf("%w: member: %w", ErrInvalid, err)
			}
		}
		if u, err = s.st.CreateUser(ctx, nu); err != nil {
			return User{}, fmt.Errorf("auth: member: creating user %s: %w", email, err)
		}
	case err != nil:
		return User{}, fmt.Errorf("auth: member: %w", err)
	}
	if err := s.st.SetMembership(ctx, Membership{UserID: u.ID, Issuer: issuer, Role: role}); err != nil {
		return User{}, fmt.Errorf("auth: member: %s as %s of %s: %w", email, role, issuer, err)
	}
	s.sessions.dropUser(u.ID)
	return u, nil
}

// EnsureRootUser makes sure an account with this e-mail address exists,
// creating it with root rights and no password if not (created is then
// true, and the caller typically prints a SignInLink for it). It is meant
// for start-up from trusted configuration, so it checks no principal. An
// existing account is returned as it is, root or not: this never promotes
// anyone.
func (s *Service) EnsureRootUser(ctx context.Context, email string) (u User, created bool, err error) {
	email = NormalizeEmail(email)
	if !plausibleEmail(email) {
		return User{}, false, fmt.Errorf("%w: root user: %q is not an e-mail address", ErrInvalid, email)
	}
	u, err = s.st.UserByEmail(ctx, email)
	if err == nil {
		return u, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return User{}, false, fmt.Errorf("auth: root user: %w", err)
	}
	u, err = s.st.CreateUser(ctx, User{Email: email, Name: email, Root: true, CreatedAt: s.now()})
	if errors.Is(err, ErrConflict) {
		// Another node starting at the same time created it.
		if u, err := s.st.UserByEmail(ctx, email); err == nil {
			return u, false, nil
		}
	}
	if err != nil {
		return User{}, false, fmt.Errorf("auth: root user: creating %s: %w", email, err)
	}
	return u, true, nil
}

// RemoveMember takes away user userID's role for issuer; p must be admin
// of issuer. Removing a role the user does not have is not an error.
func (s *Service) RemoveMember(ctx context.Context, p *Principal, issuer, userID string) error {
	if err := canManageMembers(p, issuer); err != nil {
		return err
	}
	if err := s.st.SetMembership(ctx, Membership{UserID: userID, Issuer: issuer}); err != nil {
		return fmt.Errorf("auth: remove member %s of %s: %w", userID, issuer, err)
	}
	s.sessions.dropUser(userID)
	return nil
}

// canManageMembers is the rule for adding and removing an issuer's members.
func canManageMembers(p *Principal, issuer string) error {
	if !p.Can(issuer, RoleAdmin) || !p.HasScope(ScopeAdmin) {
		return fmt.Errorf("%w: only an admin of issuer %q can manage its members", ErrForbidden, issuer)
	}
	return nil
}

// plausibleEmail is a sanity check, not validation: the address is proved
// by mail or by the identity provider, not by its syntax.
func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && len(s) <= 254 && !strings.ContainsAny(s, " \t\r\n<>,;\"")
}

// SignInLink creates a one-time sign-in secret for userID, valid for ttl
// (at most MaxSignInLinkTTL), to be sent by e-mail in a link. Only its
// hash is stored.
func (s *Service) SignInLink(ctx context.Context, userID string, ttl time.Duration) (string, error) {
	if userID == "" {
		return "", fmt.Errorf("%w: sign-in link: empty user id", ErrInvalid)
	}
	if ttl <= 0 || ttl > MaxSignInLinkTTL {
		return "", fmt.Errorf("%w: sign-in link: lifetime %s is not in (0, %s]", ErrInvalid, ttl, MaxSignInLinkTTL)
	}
	plain, hash := NewToken(signInLinkPrefix)
	if err := s.st.CreateSignInLink(ctx, hash, userID, s.now().Add(ttl)); err != nil {
		return "", fmt.Errorf("auth: sign-in link for user %s: %w", userID, err)
	}
	return plain, nil
}

// RedeemSignInLink consumes a sign-in secret from SignInLink and returns
// its user; follow with NewSession. Unknown, used and expired links give
// ErrUnauthenticated.
func (s *Service) RedeemSignInLink(ctx context.Context, plain string) (User, error) {
	if plain == "" || len(plain) > maxTokenLen {
		return User{}, unauthenticated("no sign-in link, or not one of ours")
	}
	userID, expires, err := s.st.UseSignInLink(ctx, HashToken(plain))
	if errors.Is(err, ErrNotFound) {
		return User{}, unauthenticated("unknown or already used sign-in link")
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: sign-in link: %w", err)
	}
	if !s.now().Before(expires) {
		return User{}, unauthenticated("sign-in link expired")
	}
	u, err := s.st.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return User{}, unauthenticated("the user of this sign-in link no longer exists")
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: sign-in link: %w", err)
	}
	if u.Suspended {
		return User{}, errSuspended
	}
	return u, nil
}
