package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/store"
)

func mkOAuthUser(t *testing.T, db *store.DB, email string) string {
	t.Helper()
	u, err := db.CreateUser(context.Background(), auth.User{Email: email, Name: email, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func mkClient(t *testing.T, db *store.DB, id string) oauth.Client {
	t.Helper()
	c := oauth.Client{ID: id, SecretHash: auth.HashToken("secret-" + id), CreatedAt: t0, Metadata: oauth.Metadata{
		Name: "Portefeuille " + id, URI: "https://wallet.example/" + id, LogoURI: "https://wallet.example/logo.png",
		RedirectURIs:            []string{"https://wallet.example/cb", "https://wallet.example/cb?x=1"},
		TokenEndpointAuthMethod: "client_secret_basic", GrantTypes: []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"}, Scope: oauth.ScopeCredentialRead + " " + oauth.ScopeProfileRead}}
	if err := db.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func mkGrant(t *testing.T, db *store.DB, id, client, user, code string, expires time.Time) {
	t.Helper()
	g := oauth.Grant{ID: id, ClientID: client, UserID: user, Scopes: []string{oauth.ScopeCredentialRead}, CreatedAt: t0, ExpiresAt: expires}
	if err := db.CreateGrant(context.Background(), g, oauth.Code{Hash: auth.HashToken(code), GrantID: id,
		RedirectURI: "https://wallet.example/cb", CodeChallenge: "challenge", ExpiresAt: t0.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
}

func TestOAuthClients(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := mkClient(t, db, "c1")
		got, err := db.OAuthClient(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.SecretHash != c.SecretHash || !got.CreatedAt.Equal(c.CreatedAt) || got.Name != c.Name ||
			!slices.Equal(got.RedirectURIs, c.RedirectURIs) || !slices.Equal(got.GrantTypes, c.GrantTypes) ||
			!slices.Equal(got.ResponseTypes, c.ResponseTypes) || got.Scope != c.Scope || got.LogoURI != c.LogoURI || got.TOSURI != "" {
			t.Errorf("client round trip:\n got %+v\nwant %+v", got, c)
		}
		if err := db.CreateClient(ctx, c); !errors.Is(err, oauth.ErrConflict) {
			t.Errorf("duplicate client: %v, want ErrConflict", err)
		}
		if _, err := db.OAuthClient(ctx, "nope"); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("unknown client: %v, want ErrNotFound", err)
		}
	})
}

func TestOAuthCodes(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mkOAuthUser(t, db, "ana@example.org")
		mkClient(t, db, "c1")
		mkGrant(t, db, "g1", "c1", u, "code-1", t0.Add(10*time.Minute))

		c, g, err := db.UseCode(ctx, auth.HashToken("code-1"), t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if c.GrantID != "g1" || c.RedirectURI != "https://wallet.example/cb" || c.CodeChallenge != "challenge" ||
			!c.ExpiresAt.Equal(t0.Add(10*time.Minute)) || c.UsedAt == nil || !c.UsedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("code %+v", c)
		}
		if g.ID != "g1" || g.ClientID != "c1" || g.UserID != u || !slices.Equal(g.Scopes, []string{oauth.ScopeCredentialRead}) || g.RevokedAt != nil {
			t.Errorf("grant %+v", g)
		}
		// Used again: refused, but the grant comes back so that it can be
		// revoked.
		_, g, err = db.UseCode(ctx, auth.HashToken("code-1"), t0.Add(2*time.Minute))
		if !errors.Is(err, oauth.ErrUsed) || g.ID != "g1" {
			t.Errorf("second use: %v, grant %q; want ErrUsed and g1", err, g.ID)
		}
		if _, _, err := db.UseCode(ctx, auth.HashToken("never"), t0); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("unknown code: %v, want ErrNotFound", err)
		}

		// Concurrent uses: exactly one wins.
		mkGrant(t, db, "g2", "c1", u, "code-2", t0.Add(10*time.Minute))
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, used := 0, 0
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := db.UseCode(ctx, auth.HashToken("code-2"), t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, oauth.ErrUsed):
					used++
				default:
					t.Errorf("concurrent use: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || used != 5 {
			t.Errorf("concurrent uses: %d won, %d refused; want 1 and 5", wins, used)
		}
	})
}

func TestOAuthTokens(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ana, bob := mkOAuthUser(t, db, "ana@example.org"), mkOAuthUser(t, db, "bob@example.org")
		mkClient(t, db, "c1")
		mkGrant(t, db, "g1", "c1", ana, "code-1", t0.Add(10*time.Minute))
		mkGrant(t, db, "g2", "c1", bob, "code-2", t0.Add(10*time.Minute))

		access := oauth.Token{Hash: auth.HashToken("a1"), GrantID: "g1", Kind: oauth.KindAccess, Scopes: []string{oauth.ScopeCredentialRead}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		refresh := oauth.Token{Hash: auth.HashToken("r1"), GrantID: "g1", Kind: oauth.KindRefresh, Scopes: []string{oauth.ScopeCredentialRead, oauth.ScopeProfileRead}, CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}
		if err := db.CreateTokens(ctx, "g1", access, refresh); err != nil {
			t.Fatal(err)
		}
		tok, g, err := db.OAuthToken(ctx, access.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Kind != oauth.KindAccess || tok.GrantID != "g1" || !slices.Equal(tok.Scopes, access.Scopes) || !tok.ExpiresAt.Equal(access.ExpiresAt) || tok.RevokedAt != nil {
			t.Errorf("access token %+v", tok)
		}
		if g.UserID != ana || !g.ExpiresAt.Equal(refresh.ExpiresAt) {
			t.Errorf("grant of the token %+v: want user %s, expiry extended to the refresh token's", g, ana)
		}
		if _, _, err := db.OAuthToken(ctx, auth.HashToken("nope")); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("unknown token: %v", err)
		}

		// Rotation: the old refresh token is revoked, the new ones exist;
		// a second rotation of the same token is refused.
		next := []oauth.Token{
			{Hash: auth.HashToken("a2"), GrantID: "g1", Kind: oauth.KindAccess, Scopes: access.Scopes, CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)},
			{Hash: auth.HashToken("r2"), GrantID: "g1", Kind: oauth.KindRefresh, Scopes: refresh.Scopes, CreatedAt: t0, ExpiresAt: t0.Add(31 * 24 * time.Hour)},
		}
		if err := db.RotateToken(ctx, refresh.Hash, t0.Add(time.Minute), next...); err != nil {
			t.Fatal(err)
		}
		old, _, _ := db.OAuthToken(ctx, refresh.Hash)
		if old.RevokedAt == nil || !old.RevokedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("rotated token revoked at %v", old.RevokedAt)
		}
		if _, g, err := db.OAuthToken(ctx, next[1].Hash); err != nil || !g.ExpiresAt.Equal(next[1].ExpiresAt) {
			t.Errorf("new refresh token: %v, grant expiry %v", err, g.ExpiresAt)
		}
		if err := db.RotateToken(ctx, refresh.Hash, t0.Add(2*time.Minute), oauth.Token{Hash: auth.HashToken("a3"), GrantID: "g1", Kind: oauth.KindAccess, CreatedAt: t0, ExpiresAt: t0}); !errors.Is(err, oauth.ErrUsed) {
			t.Errorf("second rotation: %v, want ErrUsed", err)
		}
		if _, _, err := db.OAuthToken(ctx, auth.HashToken("a3")); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("a refused rotation stored its tokens: %v", err)
		}
		if err := db.RotateToken(ctx, auth.HashToken("nope"), t0); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("rotating an unknown token: %v", err)
		}

		// Revoking one token, then the grant.
		if err := db.RevokeOAuthToken(ctx, next[0].Hash, t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeOAuthToken(ctx, auth.HashToken("nope"), t0); err != nil {
			t.Errorf("revoking an unknown token: %v", err)
		}
		if tok, _, _ := db.OAuthToken(ctx, next[0].Hash); tok.RevokedAt == nil {
			t.Error("revoked token has no RevokedAt")
		}

		// Listing: ana's grant only, with the client's name; gone once
		// revoked.
		if err := db.CreateTokens(ctx, "g2", oauth.Token{Hash: auth.HashToken("b1"), GrantID: "g2", Kind: oauth.KindAccess, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		gs, err := db.UserGrants(ctx, ana, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 || gs[0].ID != "g1" || gs[0].ClientName != "Portefeuille c1" || gs[0].ClientURI != "https://wallet.example/c1" {
			t.Errorf("ana's grants %+v", gs)
		}
		if gs, _ := db.UserGrants(ctx, bob, t0.Add(2*time.Hour)); len(gs) != 0 {
			t.Errorf("bob's expired grant is listed: %+v", gs)
		}
		if err := db.RevokeGrant(ctx, "g1", t0.Add(4*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeGrant(ctx, "g1", t0.Add(5*time.Minute)); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		if g, _ := db.Grant(ctx, "g1"); g.RevokedAt == nil || !g.RevokedAt.Equal(t0.Add(4*time.Minute)) {
			t.Errorf("grant revoked at %v, want the first revocation", g.RevokedAt)
		}
		if err := db.RevokeGrant(ctx, "nope", t0); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("revoking an unknown grant: %v", err)
		}
		if _, err := db.Grant(ctx, "nope"); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("unknown grant: %v", err)
		}
		if gs, _ := db.UserGrants(ctx, ana, t0); len(gs) != 0 {
			t.Errorf("revoked grant still listed: %+v", gs)
		}
		if _, g, _ := db.OAuthToken(ctx, auth.HashToken("a2")); g.RevokedAt == nil {
			t.Error("a token's grant does not show the revocation")
		}
	})
}

func TestOAuthConcurrentRotation(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mkOAuthUser(t, db, "ana@example.org")
		mkClient(t, db, "c1")
		mkGrant(t, db, "g1", "c1", u, "code-1", t0.Add(10*time.Minute))
		if err := db.CreateTokens(ctx, "g1", oauth.Token{Hash: auth.HashToken("r1"), GrantID: "g1", Kind: oauth.KindRefresh, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.RotateToken(ctx, auth.HashToken("r1"), t0, oauth.Token{Hash: auth.HashToken("n" + string(rune('a'+i))), GrantID: "g1", Kind: oauth.KindRefresh, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, oauth.ErrUsed):
				t.Errorf("concurrent rotation: %v", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d concurrent rotations of one refresh token succeeded, want 1", wins)
		}
	})
}

func TestOAuthPurge(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := mkOAuthUser(t, db, "ana@example.org")
		mkClient(t, db, "c1")
		// g1 ended long ago; g2 lives on, with one expired token.
		mkGrant(t, db, "g1", "c1", u, "code-1", t0.Add(10*time.Minute))
		mkGrant(t, db, "g2", "c1", u, "code-2", t0.Add(10*time.Minute))
		if err := db.CreateTokens(ctx, "g1", oauth.Token{Hash: auth.HashToken("old"), GrantID: "g1", Kind: oauth.KindAccess, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateTokens(ctx, "g2",
			oauth.Token{Hash: auth.HashToken("expired"), GrantID: "g2", Kind: oauth.KindAccess, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			oauth.Token{Hash: auth.HashToken("live"), GrantID: "g2", Kind: oauth.KindRefresh, CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		n, err := db.PurgeOAuth(ctx, t0.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// g1 (its code and token go with it, uncounted), g2's expired
		// token and code.
		if n != 3 {
			t.Errorf("purged %d rows, want 3", n)
		}
		if _, err := db.Grant(ctx, "g1"); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("expired grant survives: %v", err)
		}
		for _, h := range []string{"old", "expired"} {
			if _, _, err := db.OAuthToken(ctx, auth.HashToken(h)); !errors.Is(err, oauth.ErrNotFound) {
				t.Errorf("expired token %s survives: %v", h, err)
			}
		}
		if _, g, err := db.OAuthToken(ctx, auth.HashToken("live")); err != nil || g.ID != "g2" {
			t.Errorf("live token purged: %v", err)
		}
		if _, _, err := db.UseCode(ctx, auth.HashToken("code-2"), t0); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("expired code survives: %v", err)
		}
	})
}
