package oauth_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// BenchmarkAuthenticateOB measures the check behind every Open Badges API
// call, on each database, among 4,000 other tokens, next to a bare round trip (Ping) for
// scale.
func BenchmarkAuthenticateOB(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, be.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			svc := oauth.New(oauth.Config{Store: db})
			u, err := db.CreateUser(ctx, auth.User{Email: "ana@example.org", CreatedAt: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			c, secret, err := svc.Register(ctx, []byte(`{"client_name":"bench","client_uri":"https://w.example","redirect_uris":["https://w.example/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"`+oauth.ScopeCredentialRead+`"}`))
			if err != nil {
				b.Fatal(err)
			}
			c, err = svc.AuthenticateClient(ctx, c.ID, secret)
			if err != nil {
				b.Fatal(err)
			}
			verifier := strings.Repeat("v", 43)
			var access string
			for i := range 2_000 {
				req, err := svc.Authorize(ctx, url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {"https://w.example/cb"},
					"scope": {oauth.ScopeCredentialRead}, "state": {"s"}, "code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"}})
				if err != nil {
					b.Fatal(err)
				}
				back, err := svc.Approve(ctx, u.ID, req)
				if err != nil {
					b.Fatal(err)
				}
				loc, _ := url.Parse(back)
				tr, err := svc.Token(ctx, c, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
					"redirect_uri": {"https://w.example/cb"}, "code_verifier": {verifier}})
				if err != nil {
					b.Fatal(err)
				}
				if i == 1_000 {
					access = tr.AccessToken
				}
			}
			b.Run("AuthenticateOB", func(b *testing.B) {
				for b.Loop() {
					user, _, err := svc.AuthenticateOB(ctx, access)
					if err != nil || user != u.ID {
						b.Fatalf("AuthenticateOB: %q %v", user, err)
					}
				}
			})
			b.Run("Ping", func(b *testing.B) {
				for b.Loop() {
					if err := db.Ping(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
