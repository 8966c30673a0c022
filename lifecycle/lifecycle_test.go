package lifecycle_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/issuing/issuingtest"
	"github.com/insigne/insigne/lifecycle"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

const base = "https://badges.example.fr"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mailbox is a Mailer that keeps what it was given.
type mailbox struct {
	mu   sync.Mutex
	sent []string // "to|subject"
}

func (m *mailbox) Send(ctx context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, to+"|"+subject)
	return nil
}

func (m *mailbox) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sent
	m.sent = nil
	return s
}

const day = 24 * time.Hour

// TestLifecycle follows accounts through three years and more on a fake
// clock, on both databases: notices, suspension, a sign-in that cancels
// it, deletion of the personal data, credentials still verifying.
func TestLifecycle(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
			dsn := b.DSN(t)
			it := issuingtest.New(t, dsn, issuingtest.Config{BaseURL: base, Now: clk.Now})
			db, iss, verifier := it.DB, it.Service, it.Verifier()
			// Sessions long enough to outlive the years the test skips, and
			// the per-node session cache on, as serve runs: a suspension must
			// end a session the node remembers.
			a := auth.NewService(db, clk.Now, auth.WithSessionTTL(10*365*day), auth.WithSessionCache(time.Hour))

			users := map[string]string{}
			for _, who := range []string{"ana", "ben", "chloe", "root"} {
				u, err := db.CreateUser(ctx, auth.User{Email: who + "@example.org", Name: "Nom " + who, CreatedAt: clk.Now(), LastSeen: clk.Now(), Root: who == "root"})
				if err != nil {
					t.Fatal(err)
				}
				users[who] = u.ID
			}
			it.Issuer(t, "ac-lyon", "Académie de Lyon")
			if err := db.SetMembership(ctx, auth.Membership{UserID: users["ana"], Issuer: "ac-lyon", Role: auth.RoleTrainer}); err != nil {
				t.Fatal(err)
			}
			ach := it.Achievement(t, "ac-lyon", "Coopérer")
			p, err := iss.Prepare(ctx, issuing.AwardRequest{Achievement: ach.ID, Recipients: []issuing.RecipientInput{
				{Email: "ana@example.org", Name: "Ana Lefèvre"}, {Email: "ben@example.org", Name: "Ben"}}})
			if err != nil {
				t.Fatal(err)
			}
			creds, err := iss.Award(ctx, "t", p)
			if err != nil {
				t.Fatal(err)
			}
			if err := iss.Revoke(ctx, "t", creds[1].ID, "erreur"); err != nil {
				t.Fatal(err)
			}
			verdict := func(c issuing.Credential) badges.Verdict {
				got, err := iss.Credential(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				r, err := verifier.Verify(ctx, got.Signed, badges.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return r.Verdict
			}
			if verdict(creds[0]) != badges.Valid || verdict(creds[1]) != badges.Invalid {
				t.Fatal("credentials before the sweeps")
			}
			// The signed credential names its recipient by salted hash only.
			for _, s := range []string{"ana@example.org", "Ana Lefèvre"} {
				if strings.Contains(string(creds[0].Signed), s) {
					t.Fatalf("the signed credential holds %q in clear", s)
				}
			}
			_, cookie := mustSession(t, a, users["ana"])

			mail := &mailbox{}
			sw := lifecycle.New(lifecycle.Config{Store: db, Mailer: mail, Now: clk.Now, BaseURL: base,
				SuspendAfter: 3 * 365 * day, DeleteAfter: 365 * day, Notice: 30 * day, Forget: a.ForgetUser})
			sweep := func(want lifecycle.Result) {
				t.Helper()
				r, err := sw.Sweep(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if r != want {
					t.Fatalf("%s: sweep %+v, want %+v", clk.Now().Format(time.DateOnly), r, want)
				}
			}

			// Ben is active all along.
			touch := func(who string) {
				if err := db.TouchUser(ctx, users[who], clk.Now()); err != nil {
					t.Fatal(err)
				}
			}
			clk.Add(2 * 365 * day)
			touch("ben")
			sweep(lifecycle.Result{})
			// 3 years less 20 days: Ana and Chloé get the notice, once.
			clk.Add(365*day - 20*day)
			sweep(lifecycle.Result{SuspendNotices: 2})
			if got := strings.Join(mail.take(), ","); !strings.Contains(got, "ana@example.org|Votre compte Insigne va être suspendu") || !strings.Contains(got, "chloe@") {
				t.Fatalf("notices %s", got)
			}
			sweep(lifecycle.Result{})
			// Chloé signs in after her notice: nothing happens to her.
			clk.Add(5 * day)
			touch("chloe")
			// 3 years passed, but the notice is not 30 days old yet.
			clk.Add(20 * day)
			sweep(lifecycle.Result{})
			clk.Add(6 * day)
			if _, _, err := a.SessionPrincipal(ctx, cookie); err != nil {
				t.Fatalf("Ana's session before her suspension: %v", err) // and now remembered by the node
			}
			sweep(lifecycle.Result{Suspended: 1})
			if _, err := a.UserPrincipal(ctx, users["ana"]); err == nil {
				t.Fatal("a suspended account still authenticates")
			}
			if _, _, err := a.SessionPrincipal(ctx, cookie); err == nil {
				t.Fatal("a suspended account's session still works")
			}
			if _, err := a.UserPrincipal(ctx, users["chloe"]); err != nil {
				t.Fatalf("chloé, active again: %v", err)
			}
			// A year after the suspension, less the notice: the deletion
			// notice; the deletion 30 days later.
			clk.Add(365*day - 29*day)
			sweep(lifecycle.Result{DeleteNotices: 1})
			if got := mail.take(); len(got) != 1 || got[0] != "ana@example.org|Votre compte Insigne va être supprimé" {
				t.Fatalf("notices %v", got)
			}
			clk.Add(29 * day)
			sweep(lifecycle.Result{})
			clk.Add(day + time.Hour)
			sweep(lifecycle.Result{Deleted: 1})

			// Ana's personal data is gone; her credential still verifies, the
			// revoked one of Ben still does not.
			raw, err := sql.Open(map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[b.Name], rawDSN(b.Name, dsn))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			for q, want := range map[string]int{
				"SELECT COUNT(*) FROM users WHERE id = '" + users["ana"] + "'":                                    0,
				"SELECT COUNT(*) FROM memberships WHERE user_id = '" + users["ana"] + "'":                         0,
				"SELECT COUNT(*) FROM sessions WHERE user_id = '" + users["ana"] + "'":                            0,
				"SELECT COUNT(*) FROM credentials WHERE recipient_email = 'ana@example.org'":                      0,
				"SELECT COUNT(*) FROM credentials WHERE recipient_name = 'Ana Lefèvre'":                           0,
				"SELECT COUNT(*) FROM credentials WHERE recipient_email = 'ben@example.org'":                      1,
				"SELECT COUNT(*) FROM users WHERE id IN ('" + users["ben"] + "', '" + users["root"] + "')":        2,
				"SELECT COUNT(*) FROM audit WHERE action = 'account.delete' AND target = '" + users["ana"] + "'":  1,
				"SELECT COUNT(*) FROM audit WHERE action = 'account.suspend' AND target = '" + users["ana"] + "'": 1,
			} {
				var n int
				if err := raw.QueryRow(q).Scan(&n); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if n != want {
					t.Errorf("%s: %d, want %d", q, n, want)
				}
			}
			if v := verdict(creds[0]); v != badges.Valid {
				t.Errorf("the deleted person's credential: %s", v)
			}
			if v := verdict(creds[1]); v != badges.Invalid {
				t.Errorf("the revoked credential: %s", v)
			}
			// The root account is never touched; nothing more to do.
			sweep(lifecycle.Result{})
		})
	}
}

func mustSession(t *testing.T, a *auth.Service, userID string) (string, string) {
	t.Helper()
	cookie, csrf, err := a.NewSession(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return csrf, cookie
}

// rawDSN opens the same database as store.Open would.
func rawDSN(name, dsn string) string {
	if name == "sqlite" {
		return "file:" + dsn
	}
	return dsn
}

// flakyMailer fails while down, and keeps what it sent.
type flakyMailer struct {
	mu     sync.Mutex
	down   bool
	bodies map[string]string // subject → body
}

func (m *flakyMailer) Send(ctx context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return fmt.Errorf("smtp: connection refused")
	}
	m.bodies[to+"|"+subject] = body
	return nil
}

func (m *flakyMailer) setDown(down bool) { m.mu.Lock(); m.down = down; m.mu.Unlock() }

// TestNoStepWithoutItsNotice: while the notice cannot be sent, neither
// the suspension nor the deletion happens, however late; once it is sent,
// the step waits its full notice period, and the notice gives the date.
func TestNoStepWithoutItsNotice(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
			u, err := db.CreateUser(ctx, auth.User{Email: "dora@example.org", Name: "Dora", CreatedAt: clk.Now(), LastSeen: clk.Now()})
			if err != nil {
				t.Fatal(err)
			}
			mail := &flakyMailer{down: true, bodies: map[string]string{}}
			sw := lifecycle.New(lifecycle.Config{Store: db, Mailer: mail, Now: clk.Now, BaseURL: base,
				SuspendAfter: 3 * 365 * day, DeleteAfter: 365 * day, Notice: 30 * day})
			sweep := func(want lifecycle.Result) {
				t.Helper()
				r, err := sw.Sweep(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if r != want {
					t.Fatalf("%s: sweep %+v, want %+v", clk.Now().Format(time.DateOnly), r, want)
				}
			}
			suspended := func() bool {
				t.Helper()
				got, err := db.SuspendedAccounts(ctx, clk.Now().Add(time.Hour), 10)
				if err != nil {
					t.Fatal(err)
				}
				return len(got) == 1 && got[0].ID == u.ID
			}

			clk.Add(3*365*day + 90*day) // long overdue, never announced
			sweep(lifecycle.Result{})
			clk.Add(40 * day)
			sweep(lifecycle.Result{})
			if suspended() {
				t.Fatal("suspended without a notice")
			}
			mail.setDown(false)
			sweep(lifecycle.Result{SuspendNotices: 1})
			due := clk.Now().Add(30 * day).Format("02/01/2006")
			if body := mail.bodies["dora@example.org|Votre compte Insigne va être suspendu"]; !strings.Contains(body, due) || !strings.Contains(body, base+"/signin") {
				t.Fatalf("the suspension notice does not give the date %s and the way back: %q", due, body)
			}
			clk.Add(29 * day)
			sweep(lifecycle.Result{})
			clk.Add(day)
			sweep(lifecycle.Result{Suspended: 1})
			if !suspended() {
				t.Fatal("not suspended after its notice")
			}

			// The deletion notice cannot be sent: no deletion.
			mail.setDown(true)
			clk.Add(365*day + 60*day)
			sweep(lifecycle.Result{})
			if !suspended() {
				t.Fatal("deleted without a notice")
			}
			mail.setDown(false)
			sweep(lifecycle.Result{DeleteNotices: 1})
			due = clk.Now().Add(30 * day).Format("02/01/2006")
			if body := mail.bodies["dora@example.org|Votre compte Insigne va être supprimé"]; !strings.Contains(body, due) {
				t.Fatalf("the deletion notice does not give the date %s: %q", due, body)
			}
			clk.Add(29 * day)
			sweep(lifecycle.Result{})
			clk.Add(day)
			sweep(lifecycle.Result{Deleted: 1})
			if suspended() {
				t.Fatal("still there after the deletion")
			}
		})
	}
}
