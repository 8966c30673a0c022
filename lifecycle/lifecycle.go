// Package lifecycle ends the life of accounts nobody uses: an account
// inactive for SuspendAfter (3 years by default) is suspended, and a
// suspended account is deleted DeleteAfter later, each step announced by
// a notice Notice ahead. Deleting a person removes their personal data;
// the credentials issued to them stay verifiable through their status
// lists (the signed credentials name their recipient only by a salted
// hash). Every step is audited.
package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/insigne/insigne/issuing"
)

// Account is what a sweep needs to know of one account.
type Account struct {
	ID    string
	Email string // where notices go; "" when the account has none
	// LastActive is the last sign-in, or the creation when never signed in.
	LastActive  time.Time
	SuspendedAt time.Time // zero when active
	NoticeStep  string    // StepSuspend or StepDelete: the step last announced
	NoticeAt    time.Time
}

// Steps of the lifecycle.
const (
	StepSuspend = "suspend"
	StepDelete  = "delete"
)

// Store is the storage the sweep needs.
type Store interface {
	// InactiveAccounts lists accounts (never the root) that are active and
	// last active before `before`, up to limit.
	InactiveAccounts(ctx context.Context, before time.Time, limit int) ([]Account, error)
	// SuspendedAccounts lists accounts suspended before `before`.
	SuspendedAccounts(ctx context.Context, before time.Time, limit int) ([]Account, error)
	// MarkNotice records that step was announced to the account at `at`.
	MarkNotice(ctx context.Context, userID, step string, at time.Time) error
	// SuspendAccount suspends the account and ends its sessions, with the
	// audit entry, in one transaction. It does nothing (and returns
	// false) when the account was active after lastActive.
	SuspendAccount(ctx context.Context, userID string, lastActive, at time.Time, a issuing.AuditEntry) (bool, error)
	// DeleteAccount removes the account and the personal data tied to it
	// and to its addresses, with the audit entry, in one transaction.
	DeleteAccount(ctx context.Context, userID string, a issuing.AuditEntry) (Deletion, error)
	// DeletePerson does the same for the person with this address: their
	// account when they have one, else what is kept under the address.
	// issuing.ErrNotFound when nothing is kept about them,
	// issuing.ErrConflict for the root account.
	DeletePerson(ctx context.Context, email string, a issuing.AuditEntry) (Deletion, error)
	// ReinstateAccount lifts a suspension (an administrator's decision).
	ReinstateAccount(ctx context.Context, email string, at time.Time, a issuing.AuditEntry) error
}

// Deletion is what deleting a person removed.
type Deletion struct {
	UserID  string           // the account deleted; "" when the person had none
	Removed map[string]int64 // rows deleted or blanked, by table
	// Evidence lists the evidence files (SHA-256) that were the person's;
	// their records are gone, and the Sweeper removes their bytes.
	Evidence []string
}

// Blobs removes stored files (store.DiskBlobs is one).
type Blobs interface {
	Remove(ctx context.Context, sha string) error
}

// Mailer sends a plain-text e-mail (backpack.SMTP is one).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Config is what a Sweeper is built from.
type Config struct {
	Store Store
	// Mailer sends the notices; nil writes them to the log instead.
	Mailer Mailer
	// Blobs, when set, removes the bytes of a deleted person's evidence.
	Blobs        Blobs
	SuspendAfter time.Duration // default 3 years
	DeleteAfter  time.Duration // after the suspension; default 1 year
	Notice       time.Duration // how long before each step; default 30 days
	BaseURL      string
	Now          func() time.Time
	Log          *slog.Logger
	// Forget, when set, is told of every account suspended or deleted,
	// after the store: the node drops what it remembers of its sessions
	// (auth.Service.ForgetUser).
	Forget func(userID string)
}

// Sweeper runs the lifecycle.
type Sweeper struct {
	c Config
}

const year = 365 * 24 * time.Hour

// New returns a Sweeper with the defaults filled in.
func New(c Config) *Sweeper {
	if c.SuspendAfter <= 0 {
		c.SuspendAfter = 3 * year
	}
	if c.DeleteAfter <= 0 {
		c.DeleteAfter = year
	}
	if c.Notice <= 0 {
		c.Notice = 30 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Forget == nil {
		c.Forget = func(string) {}
	}
	return &Sweeper{c: c}
}

// Result counts what a sweep did.
type Result struct {
	SuspendNotices, Suspended, DeleteNotices, Deleted int
}

const batch = 500

// Sweep does every step that is due. A notice is sent once per step, and
// a step is taken only when its notice went out at least Notice ago and
// after the account's last activity: signing in again cancels it.
func (s *Sweeper) Sweep(ctx context.Context) (Result, error) {
	var r Result
	now := s.c.Now()
	inactive, err := s.c.Store.InactiveAccounts(ctx, now.Add(-s.c.SuspendAfter+s.c.Notice), batch)
	if err != nil {
		return r, err
	}
	for _, a := range inactive {
		announced := a.NoticeStep == StepSuspend && a.NoticeAt.After(a.LastActive)
		switch {
		case !announced:
			when := a.LastActive.Add(s.c.SuspendAfter)
			if when.Before(now.Add(s.c.Notice)) {
				when = now.Add(s.c.Notice)
			}
			sent, err := s.notify(ctx, a, StepSuspend, when)
			if err != nil {
				return r, err
			}
			if sent {
				r.SuspendNotices++
			}
		case !a.NoticeAt.After(now.Add(-s.c.Notice)) && a.LastActive.Before(now.Add(-s.c.SuspendAfter)):
			ok, err := s.c.Store.SuspendAccount(ctx, a.ID, a.LastActive, now, issuing.AuditEntry{At: now, Actor: "system", Action: "account.suspend",
				Target: a.ID, Detail: fmt.Sprintf("inactive since %s", a.LastActive.UTC().Format(time.DateOnly))})
			if err != nil {
				return r, err
			}
			if ok {
				s.c.Forget(a.ID)
				r.Suspended++
			}
		}
	}
	suspended, err := s.c.Store.SuspendedAccounts(ctx, now.Add(-s.c.DeleteAfter+s.c.Notice), batch)
	if err != nil {
		return r, err
	}
	for _, a := range suspended {
		announced := a.NoticeStep == StepDelete && !a.NoticeAt.Before(a.SuspendedAt)
		switch {
		case !announced:
			when := a.SuspendedAt.Add(s.c.DeleteAfter)
			if when.Before(now.Add(s.c.Notice)) {
				when = now.Add(s.c.Notice)
			}
			sent, err := s.notify(ctx, a, StepDelete, when)
			if err != nil {
				return r, err
			}
			if sent {
				r.DeleteNotices++
			}
		case !a.NoticeAt.After(now.Add(-s.c.Notice)) && a.SuspendedAt.Before(now.Add(-s.c.DeleteAfter)):
			d, err := s.c.Store.DeleteAccount(ctx, a.ID, issuing.AuditEntry{At: now, Actor: "system", Action: "account.delete",
				Target: a.ID, Detail: fmt.Sprintf("suspended since %s", a.SuspendedAt.UTC().Format(time.DateOnly))})
			if err != nil {
				return r, err
			}
			s.c.Forget(a.ID)
			s.removeEvidence(ctx, d)
			r.Deleted++
		}
	}
	if r != (Result{}) {
		s.c.Log.InfoContext(ctx, "account lifecycle sweep", "suspend_notices", r.SuspendNotices, "suspended", r.Suspended,
			"delete_notices", r.DeleteNotices, "deleted", r.Deleted)
	}
	return r, nil
}

// notify sends the notice of step (due at when) and records it; a notice
// that cannot be sent is retried at the next sweep and the step waits
// (sent is false).
func (s *Sweeper) notify(ctx context.Context, a Account, step string, when time.Time) (sent bool, err error) {
	date := when.UTC().Format("02/01/2006")
	var subject, body string
	if step == StepSuspend {
		subject = "Votre compte Insigne va être suspendu"
		body = "Bonjour,\n\nVous ne vous êtes pas connecté(e) à Insigne depuis le " + a.LastActive.UTC().Format("02/01/2006") +
			".\nSans connexion de votre part, votre compte sera suspendu le " + date + ".\nPour le conserver, connectez-vous avant cette date : " +
			s.c.BaseURL + "/signin\n\nVos badges restent vérifiables dans tous les cas.\n"
	} else {
		subject = "Votre compte Insigne va être supprimé"
		body = "Bonjour,\n\nVotre compte Insigne est suspendu depuis le " + a.SuspendedAt.UTC().Format("02/01/2006") +
			".\nIl sera supprimé, avec vos données personnelles, le " + date + ".\nPour le conserver, demandez à un administrateur de le rétablir avant cette date." +
			"\n\nLes badges qui vous ont été délivrés resteront vérifiables.\n"
	}
	if s.c.Mailer != nil && a.Email != "" {
		if err := s.c.Mailer.Send(ctx, a.Email, subject, body); err != nil {
			s.c.Log.WarnContext(ctx, "account notice not sent", "user", a.ID, "step", step, "err", err)
			return false, nil
		}
	} else {
		// No SMTP, or no address: the notice goes to the log (without
		// the address, which is personal data).
		s.c.Log.InfoContext(ctx, "account notice", "user", a.ID, "step", step, "due", when.UTC().Format(time.RFC3339), "has_email", a.Email != "", "subject", subject)
	}
	if err := s.c.Store.MarkNotice(ctx, a.ID, step, s.c.Now()); err != nil {
		return false, err
	}
	return true, nil
}

// Reinstate lifts the suspension of the account with this e-mail address.
func (s *Sweeper) Reinstate(ctx context.Context, actor, email string) error {
	now := s.c.Now()
	return s.c.Store.ReinstateAccount(ctx, email, now, issuing.AuditEntry{At: now, Actor: actor, Action: "account.reinstate"})
}

// Delete erases a person on request (the right to erasure): their
// account if they have one, with every address of it, or what is kept
// under the address alone, as the lifecycle deletes an account. Their
// credentials stay verifiable through their status. The audit entry
// (account.erase) names the actor and the account id, never the address.
func (s *Sweeper) Delete(ctx context.Context, actor, email string) (Deletion, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || !strings.Contains(email, "@") {
		return Deletion{}, &issuing.InputError{Field: "email", Reason: "not an e-mail address"}
	}
	now := s.c.Now()
	d, err := s.c.Store.DeletePerson(ctx, email, issuing.AuditEntry{At: now, Actor: actor, Action: "account.erase", Detail: "on request"})
	if err != nil {
		return d, err
	}
	s.c.Forget(d.UserID)
	s.removeEvidence(ctx, d)
	s.c.Log.InfoContext(ctx, "person deleted on request", "actor", actor, "user", d.UserID, "evidence", len(d.Evidence))
	return d, nil
}

// removeEvidence removes the bytes of the evidence files a deletion
// released. Their records are already gone (nothing serves them); a file
// left behind by an error is logged, by hash only.
func (s *Sweeper) removeEvidence(ctx context.Context, d Deletion) {
	if s.c.Blobs == nil {
		return
	}
	for _, sha := range d.Evidence {
		if err := s.c.Blobs.Remove(ctx, sha); err != nil {
			s.c.Log.WarnContext(ctx, "evidence file of a deleted person not removed", "sha256", sha, "err", err)
		}
	}
}

// Run sweeps every interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.c.Log.ErrorContext(ctx, "account lifecycle sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
