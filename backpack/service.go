package backpack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/insigne/insigne/badges"
)

// Config is what a Service is built from.
type Config struct {
	Store    Store
	Verifier Verifier
	Fetcher  Fetcher // nil: URL imports and OB 2.0 hosted checks are refused
	Mailer   Mailer  // nil: no e-mail is sent
	Issuing  Issuing
	// PlatformIssuer is the slug of the issuer that signs CLR records.
	PlatformIssuer string
	BaseURL        string
	Now            func() time.Time
	Log            *slog.Logger
	// ReverifyEvery is how often an imported credential is verified again
	// (default 24 h).
	ReverifyEvery time.Duration
	// MaxImported caps the credentials a learner may import (default
	// DefaultMaxImported), each up to MaxImport bytes.
	MaxImported int
	// Forget, when set, is told of every learner erased, after the store:
	// the node drops what it remembers of their sessions
	// (auth.Service.ForgetUser).
	Forget func(userID string)
}

// DefaultMaxImported is the default of Config.MaxImported.
const DefaultMaxImported = 5000

// Service is the backpack. It keeps no state in memory.
type Service struct {
	store    Store
	verifier Verifier
	fetcher  Fetcher
	mailer   Mailer
	iss      Issuing
	platform string
	base     string
	now      func() time.Time
	log      *slog.Logger
	reverify time.Duration
	maxItems int
	forget   func(userID string)
}

// New returns a Service.
func New(c Config) *Service {
	s := &Service{store: c.Store, verifier: c.Verifier, fetcher: c.Fetcher, mailer: c.Mailer, iss: c.Issuing,
		platform: c.PlatformIssuer, base: strings.TrimRight(c.BaseURL, "/"), now: c.Now, log: c.Log, reverify: c.ReverifyEvery, maxItems: c.MaxImported, forget: c.Forget}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.forget == nil {
		s.forget = func(string) {}
	}
	if s.maxItems <= 0 {
		s.maxItems = DefaultMaxImported
	}
	if s.reverify <= 0 {
		s.reverify = 24 * time.Hour
	}
	return s
}

// BaseURL is the service's public base.
func (s *Service) BaseURL() string { return s.base }

// ShareURL is the public page of a share link.
func (s *Service) ShareURL(id string) string { return s.base + "/s/" + id }

func newToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// Identities returns the learner's verified addresses: the account's and
// every further one verified by link. Credentials issued to any of them
// are in the backpack.
func (s *Service) Identities(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.store.LearnerIdentities(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	for _, e := range ids {
		if e = badges.NormalizeEmail(e); e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Emails lists the learner's further addresses, pending or verified.
func (s *Service) Emails(ctx context.Context, userID string) ([]Email, error) {
	return s.store.LearnerEmails(ctx, userID)
}

// emailTTL is how long a verification link works.
const emailTTL = 48 * time.Hour

// AddEmail records a further address as pending and mails a verification
// link to it; the address joins the backpack once the link is followed.
// The token is returned for callers without a mailer (and for tests).
func (s *Service) AddEmail(ctx context.Context, userID, address string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(address))
	if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
		return "", inputErr("email", "%q is not an e-mail address", address)
	}
	email := badges.NormalizeEmail(a.Address)
	tok := newToken()
	now := s.now()
	if err := s.store.AddLearnerEmail(ctx, Email{UserID: userID, Email: email, TokenHash: hashToken(tok), ExpiresAt: now.Add(emailTTL), CreatedAt: now}); err != nil {
		return "", err
	}
	if s.mailer != nil {
		link := s.base + "/backpack/verify-email?token=" + tok
		body := "Bonjour,\n\nPour ajouter l'adresse " + email + " à votre sac à badges Insigne, suivez ce lien dans les 48 heures :\n\n" + link +
			"\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n"
		if err := s.mailer.Send(ctx, email, "Confirmez votre adresse pour votre sac à badges", body); err != nil {
			return "", fmt.Errorf("backpack: verification e-mail: %w", err)
		}
	}
	return tok, nil
}

// VerifyEmail follows a verification link.
func (s *Service) VerifyEmail(ctx context.Context, token string) (Email, error) {
	if token == "" {
		return Email{}, inputErr("token", "is required")
	}
	return s.store.VerifyLearnerEmail(ctx, hashToken(token), s.now())
}

// RemoveEmail removes a further address (and so the credentials issued to
// it from the backpack view; they are not deleted).
func (s *Service) RemoveEmail(ctx context.Context, userID, address string) error {
	return s.store.RemoveLearnerEmail(ctx, userID, badges.NormalizeEmail(address))
}

// MaxPage is the largest page of a listing.
const MaxPage = 100

// List pages the learner's holdings, newest first.
func (s *Service) List(ctx context.Context, userID string, q Query) ([]Item, int, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, MaxPage)
	if q.Offset < 0 {
		return nil, 0, inputErr("offset", "must not be negative")
	}
	items, total, err := s.store.Holdings(ctx, userID, q)
	for i := range items {
		s.fill(&items[i])
	}
	return items, total, err
}

// Get returns one item of the learner's, with its credential and report.
func (s *Service) Get(ctx context.Context, userID, id string) (*Item, error) {
	it, err := s.store.Holding(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	s.fill(it)
	return it, nil
}

// fill completes an issued item: the issuer's own record is the truth
// about it (active, revoked or suspended).
func (s *Service) fill(it *Item) {
	if it.Kind != KindIssued {
		return
	}
	if s.iss != nil {
		it.IssuerID = s.iss.IssuerID(it.IssuerSlug)
	}
	it.Format = FormatJSON
	it.Verdict = string(badges.Valid)
	if it.Status != "" && it.Status != "active" {
		it.Verdict = string(badges.Invalid)
		return
	}
	it.Status = ""
	// An achievement with a validity period: past it, the credential has
	// expired (read when the credential itself is, not in listings).
	var d struct {
		ValidUntil string `json:"validUntil"`
	}
	if len(it.Payload) > 0 && json.Unmarshal(it.Payload, &d) == nil && d.ValidUntil != "" {
		if until, err := time.Parse(time.RFC3339Nano, d.ValidUntil); err == nil && !s.now().Before(until) {
			it.Verdict, it.Status = string(badges.Invalid), "expired"
		}
	}
}

// Delete removes an imported item. Issued credentials cannot be removed
// from the backpack (they are the issuer's record); an address can.
func (s *Service) Delete(ctx context.Context, userID, id string) error {
	it, err := s.Get(ctx, userID, id)
	if err != nil {
		return err
	}
	if it.Kind != KindImported {
		return fmt.Errorf("%w: an issued credential stays in the backpack of its recipient", ErrConflict)
	}
	return s.store.DeleteImported(ctx, userID, id)
}

// reportJSON serializes a report for storage.
func reportJSON(r *badges.Report) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		return []byte(`{}`)
	}
	return b
}

// statusOf reads what a report says of revocation and expiry.
func statusOf(r *badges.Report) string {
	if r.Status != "" {
		return r.Status
	}
	if c, ok := r.Check("dates"); ok && !c.OK && strings.Contains(strings.ToLower(c.Message), "expir") {
		return "expired"
	}
	return ""
}

// Reverify verifies imported credentials last verified more than the
// configured interval ago, and stores the new reports: revocation and
// expiry show. It returns how many it verified.
func (s *Service) Reverify(ctx context.Context, limit int) (int, error) {
	due, err := s.store.DueForVerification(ctx, s.now().Add(-s.reverify), limit)
	if err != nil {
		return 0, err
	}
	for _, it := range due {
		v, err := s.verify(ctx, it.Format, it.Original, it.Payload, it.SourceURL)
		if err != nil {
			// Unusable now means what it meant on import; keep a record.
			s.log.WarnContext(ctx, "backpack: re-verification failed", "item", it.ID, "err", err)
			v = &verified{report: &badges.Report{Verdict: badges.Invalid, Checks: []badges.Check{{Name: "parse", Message: err.Error()}}}}
		}
		s.checkRecipient(ctx, it.UserID, v.recipientDoc(), v.report)
		if err := s.store.SetVerification(ctx, it.ID, string(v.report.Verdict), statusOf(v.report), reportJSON(v.report), s.now()); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// Run re-verifies imported credentials and sends the notifications of
// landed credentials every interval until ctx ends. Several nodes may run
// it: each notification is claimed once in the database.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Reverify(ctx, 200); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "backpack: re-verification", "err", err)
		}
		if _, err := s.Notify(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "backpack: notifications", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// isNotFound tells the store's not-found.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
