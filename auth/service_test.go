package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStore is a map-based Store for testing Service. The real store's
// conformance suite lives in package store.
type fakeStore struct {
	mu       sync.Mutex
	nextID   int
	users    map[string]User
	members  map[[2]string]Role // {user, issuer}
	tokens   map[string]APIToken
	sessions map[string]Session
	links    map[string]fakeLink
	fail     error // returned by every method when set
}

type fakeLink struct {
	userID  string
	expires time.Time
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		users:    map[string]User{},
		members:  map[[2]string]Role{},
		tokens:   map[string]APIToken{},
		sessions: map[string]Session{},
		links:    map[string]fakeLink{},
	}
}

func (f *fakeStore) id(prefix string) string {
	f.nextID++
	return fmt.Sprintf("%s-%d", prefix, f.nextID)
}

func (f *fakeStore) CreateUser(_ context.Context, u User) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return User{}, f.fail
	}
	for _, o := range f.users {
		if u.Email != "" && o.Email == u.Email || u.OIDCSubject != "" && o.OIDCIssuer == u.OIDCIssuer && o.OIDCSubject == u.OIDCSubject {
			return User{}, ErrConflict
		}
	}
	u.ID = f.id("user")
	f.users[u.ID] = u
	return u, nil
}

func (f *fakeStore) UserByID(_ context.Context, id string) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return User{}, f.fail
	}
	u, ok := f.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) find(match func(User) bool) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return User{}, f.fail
	}
	for _, u := range f.users {
		if match(u) {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (f *fakeStore) UserByEmail(_ context.Context, email string) (User, error) {
	return f.find(func(u User) bool { return u.Email == email })
}

func (f *fakeStore) UserByOIDC(_ context.Context, issuer, subject string) (User, error) {
	return f.find(func(u User) bool { return u.OIDCIssuer == issuer && u.OIDCSubject == subject })
}

func (f *fakeStore) LinkOIDC(_ context.Context, userID, issuer, subject string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[userID]
	if !ok {
		return ErrNotFound
	}
	for _, o := range f.users {
		if o.ID != userID && o.OIDCIssuer == issuer && o.OIDCSubject == subject {
			return ErrConflict
		}
	}
	u.OIDCIssuer, u.OIDCSubject = issuer, subject
	f.users[userID] = u
	return nil
}

func (f *fakeStore) TouchUser(_ context.Context, userID string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[userID]
	if !ok {
		return ErrNotFound
	}
	u.LastSeen = at
	f.users[userID] = u
	return nil
}

func (f *fakeStore) SetMembership(_ context.Context, m Membership) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.Role == "" {
		delete(f.members, [2]string{m.UserID, m.Issuer})
	} else {
		f.members[[2]string{m.UserID, m.Issuer}] = m.Role
	}
	return nil
}

func (f *fakeStore) Memberships(_ context.Context, userID string) ([]Membership, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var out []Membership
	for k, r := range f.members {
		if k[0] == userID {
			out = append(out, Membership{UserID: k[0], Issuer: k[1], Role: r})
		}
	}
	return out, nil
}

func (f *fakeStore) CreateToken(_ context.Context, t APIToken) (APIToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.tokens[t.Hash]; dup {
		return APIToken{}, ErrConflict
	}
	t.ID = f.id("token")
	f.tokens[t.Hash] = t
	return t, nil
}

func (f *fakeStore) TokenByHash(_ context.Context, hash string) (APIToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return APIToken{}, f.fail
	}
	t, ok := f.tokens[hash]
	if !ok {
		return APIToken{}, ErrNotFound
	}
	return t, nil
}

func (f *fakeStore) RevokeToken(_ context.Context, issuer, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, t := range f.tokens {
		if t.ID == id && t.Issuer == issuer {
			if t.RevokedAt == nil {
				t.RevokedAt = &at
				f.tokens[h] = t
			}
			return nil
		}
	}
	return ErrNotFound
}

func (f *fakeStore) ListTokens(_ context.Context, issuer string) ([]APIToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []APIToken
	for _, t := range f.tokens {
		if t.Issuer == issuer {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b APIToken) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (f *fakeStore) CreateSession(_ context.Context, s Session) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.sessions[s.IDHash]; dup {
		return ErrConflict
	}
	f.sessions[s.IDHash] = s
	return nil
}

func (f *fakeStore) SessionUser(ctx context.Context, idHash string) (Session, User, []Membership, error) {
	f.mu.Lock()
	s, ok := f.sessions[idHash]
	f.mu.Unlock()
	if !ok {
		return Session{}, User{}, nil, ErrNotFound
	}
	u, err := f.UserByID(ctx, s.UserID)
	if err != nil {
		return Session{}, User{}, nil, err
	}
	ms, err := f.Memberships(ctx, u.ID)
	return s, u, ms, err
}

func (f *fakeStore) DeleteSession(_ context.Context, idHash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, idHash)
	return nil
}

func (f *fakeStore) CreateSignInLink(_ context.Context, hash, userID string, expires time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links[hash] = fakeLink{userID, expires}
	return nil
}

func (f *fakeStore) UseSignInLink(_ context.Context, hash string) (string, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.links[hash]
	if !ok {
		return "", time.Time{}, ErrNotFound
	}
	delete(f.links, hash)
	return l.userID, l.expires, nil
}

var _ Store = (*fakeStore)(nil)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestService(t *testing.T, opts ...Option) (*Service, *fakeStore, *clock) {
	t.Helper()
	st := newFakeStore()
	clk := &clock{t: time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)}
	return NewService(st, clk.now, opts...), st, clk
}

// addUser creates a user with a cheap password hash and memberships.
func addUser(t *testing.T, st *fakeStore, email, pw string, roles map[string]Role) User {
	t.Helper()
	u := User{Email: email, Name: email}
	if pw != "" {
		var err error
		if u.PasswordHash, err = hashPassword(pw, cheapParams); err != nil {
			t.Fatal(err)
		}
	}
	u, err := st.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	for iss, r := range roles {
		st.SetMembership(t.Context(), Membership{UserID: u.ID, Issuer: iss, Role: r})
	}
	return u
}

func TestPasswordSignIn(t *testing.T) {
	s, st, _ := newTestService(t)
	ctx := t.Context()
	ada := addUser(t, st, "ada@example.org", "analytical engine", nil)
	addUser(t, st, "sso@example.org", "", nil) // OpenID-only account

	u, err := s.PasswordSignIn(ctx, "  Ada@Example.ORG ", "analytical engine")
	if err != nil || u.ID != ada.ID {
		t.Fatalf("PasswordSignIn = %+v, %v", u, err)
	}
	var msgs []string
	for _, tc := range []struct{ email, pw string }{
		{"ada@example.org", "difference engine"},
		{"nobody@example.org", "analytical engine"},
		{"sso@example.org", "anything"},
	} {
		_, err := s.PasswordSignIn(ctx, tc.email, tc.pw)
		if !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("PasswordSignIn(%s, %s) error %v, want ErrUnauthenticated", tc.email, tc.pw, err)
			continue
		}
		msgs = append(msgs, err.Error())
	}
	// The message must not tell which addresses have accounts.
	if len(slices.Compact(msgs)) != 1 {
		t.Errorf("different messages reveal accounts: %q", msgs)
	}
	for _, tc := range []struct {
		pw   string
		want error
	}{{"", ErrPasswordEmpty}, {strings.Repeat("p", MaxPasswordBytes+1), ErrPasswordTooLong}} {
		_, err := s.PasswordSignIn(ctx, "ada@example.org", tc.pw)
		if !errors.Is(err, ErrUnauthenticated) || !errors.Is(err, tc.want) {
			t.Errorf("password of %d bytes: %v", len(tc.pw), err)
		}
	}

	// A broken stored hash is a server problem, not a wrong password.
	st.mu.Lock()
	u = st.users[ada.ID]
	u.PasswordHash = "$argon2id$v=19$garbage"
	st.users[ada.ID] = u
	st.mu.Unlock()
	if _, err := s.PasswordSignIn(ctx, "ada@example.org", "analytical engine"); !errors.Is(err, ErrMalformedHash) || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("malformed stored hash: %v", err)
	}

	// A cancelled request does not wait for a hashing slot.
	for range cap(s.hashSlots) {
		s.hashSlots <- struct{}{}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.PasswordSignIn(cctx, "ada@example.org", "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("all slots busy, cancelled: %v", err)
	}
}

func TestSessions(t *testing.T) {
	s, st, clk := newTestService(t, WithSessionTTL(time.Hour))
	ctx := t.Context()
	u := addUser(t, st, "t@example.org", "", map[string]Role{"ac-lyon": RoleTrainer})

	cookie, csrf, err := s.NewSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cookie, sessionPrefix) || csrf == "" {
		t.Errorf("cookie %q, csrf %q", cookie, csrf)
	}
	if _, ok := st.sessions[cookie]; ok {
		t.Error("the store holds the plain cookie value")
	}
	if got := st.users[u.ID].LastSeen; !got.Equal(clk.now()) {
		t.Errorf("LastSeen %v, want %v", got, clk.now())
	}
	p, gotCSRF, err := s.SessionPrincipal(ctx, cookie)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindUser || p.UserID != u.ID || p.Email != u.Email || !p.Can("ac-lyon", RoleTrainer) || p.Can("ac-lyon", RoleAdmin) || p.IsLearner() {
		t.Errorf("principal %+v", p)
	}
	if gotCSRF != csrf || !CheckCSRF(gotCSRF, CSRFToken(csrf)) {
		t.Errorf("csrf %q, want %q", gotCSRF, csrf)
	}

	// Roles are read on every request: a change applies at once.
	st.SetMembership(ctx, Membership{UserID: u.ID, Issuer: "ac-lyon"})
	if p, _, _ := s.SessionPrincipal(ctx, cookie); !p.IsLearner() {
		t.Errorf("after removing the membership: %+v", p)
	}

	for _, bad := range []string{"", "inss_unknown", strings.Repeat("x", 1000)} {
		if _, _, err := s.SessionPrincipal(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("SessionPrincipal(%.20q) error %v", bad, err)
		}
	}

	clk.advance(time.Hour)
	if _, _, err := s.SessionPrincipal(ctx, cookie); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired session: %v", err)
	}
	if len(st.sessions) != 0 {
		t.Error("expired session not deleted")
	}

	cookie, _, _ = s.NewSession(ctx, u.ID)
	if err := s.EndSession(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionPrincipal(ctx, cookie); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("ended session: %v", err)
	}
	if err := s.EndSession(ctx, cookie); err != nil {
		t.Errorf("ending twice: %v", err)
	}

	// The user was deleted while signed in.
	cookie, _, _ = s.NewSession(ctx, u.ID)
	delete(st.users, u.ID)
	if _, _, err := s.SessionPrincipal(ctx, cookie); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session of a deleted user: %v", err)
	}
}

func TestIssueAndAuthenticateToken(t *testing.T) {
	s, st, clk := newTestService(t, WithRootToken("root-token-of-sufficient-length"))
	ctx := t.Context()
	admin := addUser(t, st, "admin@example.org", "", map[string]Role{"ac-lyon": RoleAdmin, "ac-paris": RoleTrainer})
	ap, err := s.UserPrincipal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}

	plain, tok, err := s.IssueToken(ctx, ap, "ac-lyon", "  Moodle Lyon ", RoleTrainer, []string{ScopeRead, ScopeAward})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, APITokenPrefix) || tok.Hash != HashToken(plain) || tok.ID == "" ||
		tok.Name != "Moodle Lyon" || tok.CreatedBy != admin.ID || !tok.CreatedAt.Equal(clk.now()) ||
		!slices.Equal(tok.Scopes, []string{ScopeAward, ScopeRead}) {
		t.Errorf("IssueToken = %q, %+v", plain, tok)
	}
	p, err := s.AuthenticateToken(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindToken || p.TokenID != tok.ID || p.UserID != admin.ID || !p.Can("ac-lyon", RoleTrainer) ||
		p.Can("ac-lyon", RoleAdmin) || p.Can("ac-paris", RoleTrainer) || !p.HasScope(ScopeAward) || p.HasScope(ScopeRevoke) {
		t.Errorf("token principal %+v", p)
	}

	// What a creator may not do.
	for _, tc := range []struct {
		name   string
		issuer string
		tname  string
		role   Role
		scopes []string
		want   error
	}{
		{"not admin there", "ac-paris", "x", RoleTrainer, []string{ScopeAward}, ErrForbidden},
		{"no role at all", "ac-nice", "x", RoleTrainer, []string{ScopeAward}, ErrForbidden},
		{"admin scope on a trainer token", "ac-lyon", "x", RoleTrainer, []string{ScopeAdmin}, ErrInvalid},
		{"unknown scope", "ac-lyon", "x", RoleAdmin, []string{"everything"}, ErrInvalid},
		{"no scope", "ac-lyon", "x", RoleAdmin, nil, ErrInvalid},
		{"unknown role", "ac-lyon", "x", "owner", []string{ScopeRead}, ErrInvalid},
		{"empty name", "ac-lyon", "  ", RoleAdmin, []string{ScopeRead}, ErrInvalid},
		{"long name", "ac-lyon", strings.Repeat("é", 101), RoleAdmin, []string{ScopeRead}, ErrInvalid},
	} {
		if _, _, err := s.IssueToken(ctx, ap, tc.issuer, tc.tname, tc.role, tc.scopes); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	// A trainer token cannot mint tokens; an admin token with the admin
	// scope can, on behalf of the same user.
	if _, _, err := s.IssueToken(ctx, p, "ac-lyon", "x", RoleTrainer, []string{ScopeRead}); !errors.Is(err, ErrForbidden) {
		t.Errorf("trainer token minting: %v", err)
	}
	adminPlain, _, err := s.IssueToken(ctx, ap, "ac-lyon", "ops", RoleAdmin, []string{ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	adminTok, _ := s.AuthenticateToken(ctx, adminPlain)
	if _, child, err := s.IssueToken(ctx, adminTok, "ac-lyon", "child", RoleTrainer, []string{ScopeRead}); err != nil || child.CreatedBy != admin.ID {
		t.Errorf("admin token minting: %+v, %v", child, err)
	}

	// Listing and revoking.
	if _, err := s.Tokens(ctx, p, "ac-lyon"); !errors.Is(err, ErrForbidden) {
		t.Errorf("trainer token listing: %v", err)
	}
	list, err := s.Tokens(ctx, ap, "ac-lyon")
	if err != nil || len(list) != 3 {
		t.Errorf("Tokens = %d tokens, %v", len(list), err)
	}
	if err := s.RevokeToken(ctx, ap, "ac-paris", tok.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("revoking elsewhere: %v", err)
	}
	if err := s.RevokeToken(ctx, ap, "ac-lyon", "token-999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking an unknown token: %v", err)
	}
	if err := s.RevokeToken(ctx, ap, "ac-lyon", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateToken(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}

	// A token stops working when its creator stops being admin.
	st.SetMembership(ctx, Membership{UserID: admin.ID, Issuer: "ac-lyon", Role: RoleTrainer})
	if _, err := s.AuthenticateToken(ctx, adminPlain); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("token of a demoted admin: %v", err)
	}

	// Unknown tokens, and the root token.
	for _, bad := range []string{"", "ins_nope", strings.Repeat("a", 300), "root-token-of-sufficient-lengt"} {
		if _, err := s.AuthenticateToken(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("AuthenticateToken(%.20q) error %v", bad, err)
		}
	}
	root, err := s.AuthenticateToken(ctx, "root-token-of-sufficient-length")
	if err != nil || root.Kind != KindRoot || !root.Root || !root.Can("anything", RoleAdmin) || !root.HasScope(ScopeAdmin) {
		t.Fatalf("root: %+v, %v", root, err)
	}
	// Root may issue tokens for any issuer; they belong to no user and
	// survive membership changes.
	rootPlain, rootTok, err := s.IssueToken(ctx, root, "ac-nice", "national", RoleAdmin, []string{ScopeRevoke})
	if err != nil || rootTok.CreatedBy != "" {
		t.Fatalf("root IssueToken: %+v, %v", rootTok, err)
	}
	if p, err := s.AuthenticateToken(ctx, rootPlain); err != nil || p.UserID != "" || !p.Can("ac-nice", RoleAdmin) {
		t.Errorf("root-made token: %+v, %v", p, err)
	}

	// Storage failures are not authentication failures.
	st.fail = errors.New("disk on fire")
	if _, err := s.AuthenticateToken(ctx, rootPlain); err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("store failure: %v", err)
	}
}

func TestNoRootTokenByDefault(t *testing.T) {
	s, _, _ := newTestService(t, WithRootToken(""))
	if _, err := s.AuthenticateToken(t.Context(), "anything"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("error %v", err)
	}
}

func TestOIDCSignInService(t *testing.T) {
	s, st, _ := newTestService(t)
	ctx := t.Context()
	const iss = "https://idp.example"

	// First sign-in creates the user; the second finds it.
	c := &Claims{Issuer: iss, Subject: "s1", Email: "New.User@Example.org", EmailVerified: true, Name: "New User"}
	u1, err := s.OIDCSignIn(ctx, c)
	if err != nil || u1.Email != "new.user@example.org" || u1.OIDCSubject != "s1" || u1.Name != "New User" {
		t.Fatalf("first sign-in: %+v, %v", u1, err)
	}
	if u2, err := s.OIDCSignIn(ctx, c); err != nil || u2.ID != u1.ID {
		t.Errorf("second sign-in: %+v, %v", u2, err)
	}

	// An existing account with the verified address is linked.
	pw := addUser(t, st, "trainer@example.org", "pw", nil)
	u, err := s.OIDCSignIn(ctx, &Claims{Issuer: iss, Subject: "s2", Email: "Trainer@example.org", EmailVerified: true})
	if err != nil || u.ID != pw.ID || u.OIDCSubject != "s2" || st.users[pw.ID].OIDCSubject != "s2" {
		t.Errorf("linking: %+v, %v", u, err)
	}

	// An unverified address neither links nor is stored.
	u, err = s.OIDCSignIn(ctx, &Claims{Issuer: iss, Subject: "s3", Email: "victim@example.org"})
	if err != nil || u.Email != "" {
		t.Errorf("unverified: %+v, %v", u, err)
	}
	victim := addUser(t, st, "victim2@example.org", "pw", nil)
	u, err = s.OIDCSignIn(ctx, &Claims{Issuer: iss, Subject: "s4", Email: "victim2@example.org"})
	if err != nil || u.ID == victim.ID {
		t.Errorf("unverified address took over an account: %+v, %v", u, err)
	}

	// A verified address whose account is bound to another identity.
	_, err = s.OIDCSignIn(ctx, &Claims{Issuer: iss, Subject: "s5", Email: "trainer@example.org", EmailVerified: true})
	if !errors.Is(err, ErrConflict) {
		t.Errorf("address of an account linked elsewhere: %v", err)
	}

	for _, bad := range []*Claims{nil, {Subject: "x"}, {Issuer: iss}} {
		if _, err := s.OIDCSignIn(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("OIDCSignIn(%+v) error %v", bad, err)
		}
	}
}

func TestSignInLinks(t *testing.T) {
	s, st, clk := newTestService(t)
	ctx := t.Context()
	u := addUser(t, st, "l@example.org", "", nil)

	plain, err := s.SignInLink(ctx, u.ID, 15*time.Minute)
	if err != nil || !strings.HasPrefix(plain, signInLinkPrefix) {
		t.Fatalf("SignInLink = %q, %v", plain, err)
	}
	if _, ok := st.links[plain]; ok {
		t.Error("the store holds the plain link secret")
	}
	got, err := s.RedeemSignInLink(ctx, plain)
	if err != nil || got.ID != u.ID {
		t.Fatalf("RedeemSignInLink = %+v, %v", got, err)
	}
	if _, err := s.RedeemSignInLink(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("second use: %v", err)
	}

	plain, _ = s.SignInLink(ctx, u.ID, 15*time.Minute)
	clk.advance(15 * time.Minute)
	if _, err := s.RedeemSignInLink(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired link: %v", err)
	}

	for _, ttl := range []time.Duration{0, -time.Minute, MaxSignInLinkTTL + time.Second} {
		if _, err := s.SignInLink(ctx, u.ID, ttl); !errors.Is(err, ErrInvalid) {
			t.Errorf("ttl %s: %v", ttl, err)
		}
	}
	for _, bad := range []string{"", "insl_nope", strings.Repeat("z", 500)} {
		if _, err := s.RedeemSignInLink(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("RedeemSignInLink(%.20q) error %v", bad, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	if got := NormalizeEmail("  Jeanne.Baret@AC-Lyon.fr\n"); got != "jeanne.baret@ac-lyon.fr" {
		t.Errorf("NormalizeEmail = %q", got)
	}
}

func TestMembers(t *testing.T) {
	s, st, _ := newTestService(t)
	ctx := t.Context()
	admin := addUser(t, st, "admin@example.org", "", map[string]Role{"ac-lyon": RoleAdmin, "ac-paris": RoleTrainer})
	ap, _ := s.UserPrincipal(ctx, admin.ID)
	existing := addUser(t, st, "known@example.org", "own password", nil)

	// A new person gets an account with the password, and the role.
	u, err := s.AddMember(ctx, ap, "ac-lyon", " New@Example.org", " Nouveau ", "their first password", RoleTrainer)
	if err != nil || u.ID == "" || u.Email != "new@example.org" || u.Name != "Nouveau" {
		t.Fatalf("AddMember(new) = %+v, %v", u, err)
	}
	if got, err := s.PasswordSignIn(ctx, "new@example.org", "their first password"); err != nil || got.ID != u.ID {
		t.Errorf("sign-in of the new member: %+v, %v", got, err)
	}
	if p, _ := s.UserPrincipal(ctx, u.ID); !p.Can("ac-lyon", RoleTrainer) || p.Can("ac-lyon", RoleAdmin) {
		t.Errorf("new member: %+v", p)
	}

	// An existing account gets the role; its password cannot be set.
	if _, err := s.AddMember(ctx, ap, "ac-lyon", "known@example.org", "", "takeover", RoleAdmin); !errors.Is(err, ErrConflict) {
		t.Errorf("setting an existing account's password: %v", err)
	}
	if u, err := s.AddMember(ctx, ap, "ac-lyon", "known@example.org", "", "", RoleAdmin); err != nil || u.ID != existing.ID {
		t.Errorf("AddMember(existing) = %+v, %v", u, err)
	}
	if p, _ := s.UserPrincipal(ctx, existing.ID); !p.Can("ac-lyon", RoleAdmin) {
		t.Errorf("existing member: %+v", p)
	}
	if err := s.RemoveMember(ctx, ap, "ac-lyon", existing.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.UserPrincipal(ctx, existing.ID); !p.IsLearner() {
		t.Errorf("removed member: %+v", p)
	}

	for _, tc := range []struct {
		name, issuer, email, pw string
		role                    Role
		want                    error
	}{
		{"not admin there", "ac-paris", "x@example.org", "", RoleTrainer, ErrForbidden},
		{"unknown role", "ac-lyon", "x@example.org", "", "owner", ErrInvalid},
		{"not an address", "ac-lyon", "x", "", RoleTrainer, ErrInvalid},
		{"password too long", "ac-lyon", "y@example.org", strings.Repeat("p", MaxPasswordBytes+1), RoleTrainer, ErrInvalid},
	} {
		if _, err := s.AddMember(ctx, ap, tc.issuer, tc.email, "", tc.pw, tc.role); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := s.RemoveMember(ctx, ap, "ac-paris", admin.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("RemoveMember elsewhere: %v", err)
	}
}

func TestEnsureRootUser(t *testing.T) {
	s, st, _ := newTestService(t)
	ctx := t.Context()
	u, created, err := s.EnsureRootUser(ctx, "Admin@localhost")
	if err != nil || !created || !u.Root || u.Email != "admin@localhost" || u.PasswordHash != "" {
		t.Fatalf("first call: %+v, %v, %v", u, created, err)
	}
	again, created, err := s.EnsureRootUser(ctx, "admin@localhost")
	if err != nil || created || again.ID != u.ID {
		t.Errorf("second call: %+v, %v, %v", again, created, err)
	}
	if p, _ := s.UserPrincipal(ctx, u.ID); !p.Root || !p.Can("any", RoleAdmin) {
		t.Errorf("root principal: %+v", p)
	}
	learner := addUser(t, st, "learner@example.org", "", nil)
	if got, created, err := s.EnsureRootUser(ctx, "learner@example.org"); err != nil || created || got.Root || got.ID != learner.ID {
		t.Errorf("existing account promoted or replaced: %+v, %v, %v", got, created, err)
	}
	if _, _, err := s.EnsureRootUser(ctx, "nobody"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad address: %v", err)
	}
}

// With the session cache, a node reads a session once per TTL; what it
// changes itself applies at once, what another node changes within the TTL,
// and a session never outlives its own expiry.
func TestSessionCache(t *testing.T) {
	s, st, clk := newTestService(t, WithSessionTTL(time.Hour), WithSessionCache(5*time.Second))
	ctx := t.Context()
	u := addUser(t, st, "t@example.org", "", map[string]Role{"ac-lyon": RoleTrainer})
	other := addUser(t, st, "o@example.org", "", map[string]Role{"ac-lyon": RoleTrainer})
	cookie, csrf, err := s.NewSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	otherCookie, _, _ := s.NewSession(ctx, other.ID)
	mustTrainer := func(c string, want bool) {
		t.Helper()
		p, gotCSRF, err := s.SessionPrincipal(ctx, c)
		if err != nil {
			t.Fatalf("SessionPrincipal: %v", err)
		}
		if p.Can("ac-lyon", RoleTrainer) != want {
			t.Errorf("trainer of ac-lyon: %v, want %v", !want, want)
		}
		if c == cookie && gotCSRF != csrf {
			t.Errorf("csrf %q, want %q", gotCSRF, csrf)
		}
	}
	mustTrainer(cookie, true)
	mustTrainer(otherCookie, true)

	// Another node removes the membership: seen here once the entry is
	// older than the TTL, not before.
	st.SetMembership(ctx, Membership{UserID: u.ID, Issuer: "ac-lyon"})
	clk.advance(4 * time.Second)
	mustTrainer(cookie, true)
	clk.advance(time.Second)
	mustTrainer(cookie, false)

	// A change made through this Service applies at once, to that user
	// only.
	if _, err := s.AddMember(ctx, &Principal{Kind: KindRoot, Root: true}, "ac-lyon", u.Email, "", "", RoleTrainer); err != nil {
		t.Fatal(err)
	}
	mustTrainer(cookie, true)
	mustTrainer(otherCookie, true)                                         // read again: the first entry is stale by now
	st.SetMembership(ctx, Membership{UserID: other.ID, Issuer: "ac-lyon"}) // behind the cache's back
	if err := s.RemoveMember(ctx, &Principal{Kind: KindRoot, Root: true}, "ac-lyon", u.ID); err != nil {
		t.Fatal(err)
	}
	mustTrainer(cookie, false)
	mustTrainer(otherCookie, true) // still the cached entry: RemoveMember dropped u's only

	// ForgetUser: a suspension made elsewhere, announced to this node.
	st.mu.Lock()
	ou := st.users[other.ID]
	ou.Suspended = true
	st.users[other.ID] = ou
	st.mu.Unlock()
	mustTrainer(otherCookie, true)
	s.ForgetUser(other.ID)
	if _, _, err := s.SessionPrincipal(ctx, otherCookie); !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("suspended user after ForgetUser: %v, want refused", err)
	}

	// Sign-out on this node: refused at once, though the entry was fresh.
	mustTrainer(cookie, false)
	if err := s.EndSession(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionPrincipal(ctx, cookie); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("ended session: %v", err)
	}

	// A cached session still ends at its own expiry.
	s2, st2, clk2 := newTestService(t, WithSessionTTL(3*time.Second), WithSessionCache(time.Minute))
	u2 := addUser(t, st2, "x@example.org", "", nil)
	c2, _, _ := s2.NewSession(ctx, u2.ID)
	if _, _, err := s2.SessionPrincipal(ctx, c2); err != nil {
		t.Fatal(err)
	}
	clk2.advance(3 * time.Second)
	if _, _, err := s2.SessionPrincipal(ctx, c2); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired session served from the cache: %v", err)
	}
}

// The cache stays bounded: past its size, stale entries are dropped.
func TestSessionCacheBounded(t *testing.T) {
	c := newSessionCache(time.Second)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &Principal{Kind: KindUser, UserID: "u"}
	for i := range maxCachedSessions {
		c.put(fmt.Sprint(i), p, "", now.Add(time.Hour), now, c.generation())
	}
	later := now.Add(2 * time.Second)
	c.put("new", p, "", later.Add(time.Hour), later, c.generation())
	if len(c.m) != 1 {
		t.Errorf("%d entries after the stale ones should have gone, want 1", len(c.m))
	}
	for i := range maxCachedSessions {
		c.put(fmt.Sprint(i), p, "", later.Add(time.Hour), later, c.generation())
	}
	if len(c.m) > maxCachedSessions {
		t.Errorf("%d entries, bound %d", len(c.m), maxCachedSessions)
	}
}

// A read that began before a sign-out (or a change of roles) on this node
// cannot put the old principal back after it.
func TestSessionCacheReadBeforeDrop(t *testing.T) {
	c := newSessionCache(time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &Principal{Kind: KindUser, UserID: "u"}
	for name, drop := range map[string]func(){"drop": func() { c.drop("h") }, "dropUser": func() { c.dropUser("someone") }} {
		gen := c.generation() // the request starts reading the store
		drop()                // sign-out, or roles changed, meanwhile
		c.put("h", p, "", now.Add(time.Hour), now, gen)
		if _, ok := c.get("h", now); ok {
			t.Errorf("%s: a read begun before it was stored after it", name)
		}
	}
	c.put("h", p, "", now.Add(time.Hour), now, c.generation())
	if _, ok := c.get("h", now); !ok {
		t.Error("a read begun after the drops was not stored")
	}
}
