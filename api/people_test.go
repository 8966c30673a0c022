package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/store/storetest"
)

// TestDeletePersonOnRequest: the root deletes a person (right to
// erasure), found by a secondary address; their account, sessions,
// addresses, backpack, learner record, recipient columns and the evidence
// that was theirs alone go, audited without the address; their
// credentials still verify; someone else's data stays. Nobody else may
// ask, an unknown person is a 404, a person without an account can be
// deleted too.
func TestDeletePersonOnRequest(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			dsn := be.DSN(t)
			b := newBPServer(t, dsn)
			ctx := context.Background()

			upload := func(n int) string {
				m := b.must(t, http.StatusCreated, "POST", "/api/v1/evidence", req{Bearer: b.Root, Body: pngBytes(n), ContentType: "image/png"}).obj(t)
				sha, _ := m["sha256"].(string)
				if len(sha) != 64 {
					t.Fatalf("evidence answer %v", m)
				}
				return sha
			}
			own, shared := upload(200), upload(300)
			evidence := func(shas ...string) []map[string]string {
				var out []map[string]string
				for _, s := range shas {
					out = append(out, map[string]string{"url": b.URL + "/evidence/" + s, "name": "séance"})
				}
				return out
			}
			var awarded struct{ Credentials []struct{ ID string } }
			b.must(t, http.StatusCreated, "POST", "/api/v1/awards", req{Bearer: b.Root, JSON: map[string]any{"achievement": b.Ach,
				"recipients": []map[string]any{
					{"email": "anne@example.org", "name": "Anne Martin", "evidence": evidence(own, shared)},
					{"email": "anne.perso@example.org", "name": "Anne Martin"},
					{"email": "bob@example.org", "name": "Bob Durand", "evidence": evidence(shared)},
					{"email": "claire@example.org", "name": "Claire Petit"},
				}}}).json(t, &awarded)
			var ids []string
			for _, c := range awarded.Credentials {
				ids = append(ids, strings.TrimPrefix(c.ID, "urn:uuid:"))
			}
			if len(ids) != 4 {
				t.Fatalf("awarded %v", ids)
			}

			// Anne: a second, verified address, an import, a share, a
			// learner record.
			b.must(t, http.StatusAccepted, "POST", "/api/v1/backpack/emails", req{Session: b.AnneS, JSON: map[string]string{"email": "anne.perso@example.org"}})
			mails := b.Mail.To("anne.perso@example.org")
			if len(mails) != 1 {
				t.Fatalf("%d verification mails", len(mails))
			}
			link := linkRE.FindString(strings.ReplaceAll(mails[0].Data, "=\r\n", ""))
			b.must(t, http.StatusOK, "GET", strings.TrimPrefix(link, b.URL), req{})
			b.must(t, http.StatusCreated, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: readValidator(t, "simple.json"), ContentType: "application/json"})
			var share struct{ URL string }
			b.must(t, http.StatusCreated, "POST", "/api/v1/backpack/shares", req{Session: b.AnneS, JSON: map[string]any{"kind": "credential", "id": ids[0]}}).json(t, &share)
			if err := b.DB.SetLearnerAttributes(ctx, competency.Learner{Email: "anne@example.org", Academie: "Lyon"}); err != nil {
				t.Fatal(err)
			}
			if _, total := b.list(t, b.AnneS); total != 3 {
				t.Fatalf("Anne holds %d, want 3", total)
			}

			// Who may ask, and bad requests.
			admin, _ := b.createToken(t, b.Root, "ac-lyon", "admin", "admin", auth.ScopeAdmin)
			wantError(t, "an issuer admin", b.do(t, "DELETE", "/api/v1/people/anne@example.org", req{Bearer: admin}), http.StatusForbidden, "forbidden", "")
			wantError(t, "a learner", b.do(t, "DELETE", "/api/v1/people/anne@example.org", req{Session: b.BoS}), http.StatusForbidden, "forbidden", "")
			wantError(t, "the learner herself", b.do(t, "DELETE", "/api/v1/people/anne@example.org", req{Session: b.AnneS}), http.StatusForbidden, "forbidden", "")
			wantError(t, "a stranger", b.do(t, "DELETE", "/api/v1/people/anne@example.org", req{}), http.StatusUnauthorized, "unauthenticated", "")
			wantError(t, "not an address", b.do(t, "DELETE", "/api/v1/people/anne", req{Bearer: b.Root}), http.StatusBadRequest, "invalid", "email")
			wantError(t, "nobody", b.do(t, "DELETE", "/api/v1/people/nobody@example.org", req{Bearer: b.Root}), http.StatusNotFound, "not_found", "")
			rootUser, err := b.DB.CreateUser(ctx, auth.User{Email: "dpo@example.org", Name: "DPO", Root: true, CreatedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, "a root account", b.do(t, "DELETE", "/api/v1/people/dpo@example.org", req{Bearer: b.Root}), http.StatusConflict, "conflict", "")
			if _, total := b.list(t, b.AnneS); total != 3 {
				t.Fatal("a refused request changed Anne's backpack")
			}

			// A root user's session may ask; by the secondary address, in
			// capitals.
			var out struct {
				User     string
				Removed  map[string]int
				Evidence int
			}
			b.must(t, http.StatusOK, "DELETE", "/api/v1/people/Anne.Perso@Example.org", req{Session: b.newSession(t, rootUser.ID)}).json(t, &out)
			if out.User != b.Anne || out.Removed["credentials"] != 2 || out.Removed["users"] != 1 || out.Removed["backpack_items"] != 1 ||
				out.Removed["backpack_shares"] != 1 || out.Removed["learners"] != 1 || out.Evidence != 1 {
				t.Fatalf("deletion answer %+v", out)
			}
			if got := b.Removed.list(); !slices.Equal(got, []string{own}) {
				t.Fatalf("evidence files removed %v, want only %s", got, own)
			}

			// Gone.
			wantError(t, "Anne's session", b.do(t, "GET", "/api/v1/backpack/credentials", req{Session: b.AnneS}), http.StatusUnauthorized, "unauthenticated", "")
			b.must(t, http.StatusNotFound, "GET", strings.TrimPrefix(share.URL, b.URL), req{})
			b.must(t, http.StatusNotFound, "GET", "/evidence/"+own, req{})
			b.must(t, http.StatusOK, "GET", "/evidence/"+shared, req{})
			raw, err := sql.Open(map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[be.Name], map[string]string{"sqlite": "file:" + dsn, "postgres": dsn}[be.Name])
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			count := func(q string, args ...any) int {
				t.Helper()
				if be.Name == "postgres" {
					for i := range args {
						q = strings.Replace(q, "?", "$"+string(rune('1'+i)), 1)
					}
				}
				var n int
				if err := raw.QueryRow(q, args...).Scan(&n); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return n
			}
			for q, want := range map[string]int{
				"SELECT COUNT(*) FROM users WHERE id = ?":                  0,
				"SELECT COUNT(*) FROM sessions WHERE user_id = ?":          0,
				"SELECT COUNT(*) FROM learner_emails WHERE user_id = ?":    0,
				"SELECT COUNT(*) FROM backpack_items WHERE user_id = ?":    0,
				"SELECT COUNT(*) FROM backpack_shares WHERE user_id = ?":   0,
				"SELECT COUNT(*) FROM backpack_profiles WHERE user_id = ?": 0,
			} {
				if n := count(q, b.Anne); n != want {
					t.Errorf("%s: %d, want %d", q, n, want)
				}
			}
			for _, e := range []string{"anne@example.org", "anne.perso@example.org"} {
				if n := count("SELECT COUNT(*) FROM credentials WHERE recipient_email = ?", e) + count("SELECT COUNT(*) FROM learners WHERE email = ?", e); n != 0 {
					t.Errorf("%s is still kept (%d rows)", e, n)
				}
			}
			if n := count("SELECT COUNT(*) FROM credentials WHERE recipient_name = ?", "Anne Martin"); n != 0 {
				t.Errorf("Anne's name is still on %d credentials", n)
			}
			if n := count("SELECT COUNT(*) FROM credentials WHERE recipient_email = ?", "bob@example.org") + count("SELECT COUNT(*) FROM users WHERE id = ?", b.Bob); n != 2 {
				t.Errorf("Bob's data was touched")
			}
			if _, total := b.list(t, b.BoS); total != 1 {
				t.Errorf("Bob's backpack after Anne's deletion: %d", total)
			}

			// Audited: who and what, never the address or the name.
			entries, err := b.DB.AuditLog(ctx, "", 200)
			if err != nil {
				t.Fatal(err)
			}
			var erased int
			for _, e := range entries {
				line := strings.ToLower(e.Actor + " " + e.Target + " " + e.Detail)
				if strings.Contains(line, "anne") || strings.Contains(line, "martin") {
					t.Errorf("audit entry %+v names the person", e)
				}
				if e.Action == "account.erase" {
					erased++
					if e.Actor != "user:"+rootUser.ID || e.Target != b.Anne || !strings.Contains(e.Detail, "credentials 2") || e.At.IsZero() {
						t.Errorf("audit entry %+v", e)
					}
				}
			}
			if erased != 1 {
				t.Errorf("%d account.erase entries", erased)
			}

			// The credentials issued to her still verify.
			for _, id := range ids[:2] {
				doc := b.must(t, http.StatusOK, "GET", "/credentials/"+id, req{Header: map[string]string{"Accept": "application/vc+ld+json"}})
				rep := b.must(t, http.StatusOK, "POST", "/api/v1/verify", req{Body: doc.Body, ContentType: "application/json"})
				if v, _ := rep.obj(t)["verdict"].(string); v != "valid" {
					t.Fatalf("after deletion credential %s verifies %s", id, rep)
				}
			}
			// And their status still works: a revocation shows.
			b.must(t, http.StatusOK, "POST", "/api/v1/credentials/"+ids[0]+"/revoke", req{Bearer: b.Root, JSON: map[string]string{"reason": "erreur"}})
			doc := b.must(t, http.StatusOK, "GET", "/credentials/"+ids[0], req{Header: map[string]string{"Accept": "application/vc+ld+json"}})
			if v, _ := b.must(t, http.StatusOK, "POST", "/api/v1/verify", req{Body: doc.Body, ContentType: "application/json"}).obj(t)["verdict"].(string); v != "invalid" {
				t.Fatalf("a revoked credential of a deleted person verifies %s", v)
			}

			// Deleted once; a person without an account too.
			wantError(t, "Anne again", b.do(t, "DELETE", "/api/v1/people/anne@example.org", req{Bearer: b.Root}), http.StatusNotFound, "not_found", "")
			out.Removed = nil
			b.must(t, http.StatusOK, "DELETE", "/api/v1/people/claire@example.org", req{Bearer: b.Root}).json(t, &out)
			if out.User != "" || out.Removed["credentials"] != 1 || out.Removed["users"] != 0 {
				t.Fatalf("deleting Claire: %+v", out)
			}
			if n := count("SELECT COUNT(*) FROM credentials WHERE recipient_email = ?", "claire@example.org"); n != 0 {
				t.Errorf("Claire is still kept")
			}
		})
	}
}
