package issuing

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/dataintegrity"
	"github.com/insigne/insigne/keys"
)

// Config is what a Service is built from.
type Config struct {
	Store   Store
	Blobs   BlobStore
	Sealer  *keys.Sealer
	Canon   dataintegrity.Canonicalizer
	BaseURL string // e.g. https://badges.ac-exemple.fr, without a trailing slash
	Now     func() time.Time
	Log     *slog.Logger
	// SyncLimit is the largest award done within the request; larger ones
	// become jobs. Default 100.
	SyncLimit int
	// JobLease is how long a bulk job stays with a worker that gives no
	// news (default 15 s): the delay before a crashed node's job resumes.
	JobLease time.Duration
}

// Service is the issuing service. It is safe for concurrent use; the only
// state it keeps in memory is a cache of opened keys (keyed by key id,
// which never changes meaning) and a hint of each issuer's current status
// list, so several nodes may share one database.
type Service struct {
	store     Store
	blobs     BlobStore
	sealer    *keys.Sealer
	canon     dataintegrity.Canonicalizer
	base      string
	now       func() time.Time
	log       *slog.Logger
	syncLimit int
	lease     time.Duration

	keyMu  sync.Mutex
	opened map[string]*keys.KeyPair

	alloc allocator
	wake  chan struct{}
}

// New returns a Service.
func New(c Config) *Service {
	s := &Service{
		store: c.Store, blobs: c.Blobs, sealer: c.Sealer, canon: c.Canon,
		base: strings.TrimRight(c.BaseURL, "/"), now: c.Now, log: c.Log, syncLimit: c.SyncLimit,
		opened: map[string]*keys.KeyPair{},
		wake:   make(chan struct{}, 1),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.lease = c.JobLease
	if s.lease <= 0 {
		s.lease = defaultLease
	}
	if s.syncLimit <= 0 {
		s.syncLimit = 100
	}
	s.alloc.lists = map[string]*listHint{}
	return s
}

// BaseURL is the public base of every id the service mints.
func (s *Service) BaseURL() string { return s.base }

// IssuerID is the profile URL of an issuer.
func (s *Service) IssuerID(slug string) string { return s.base + "/issuers/" + slug }

// KeyURL is the kid of a key: it returns the public JWK.
func (s *Service) KeyURL(slug, keyID string) string {
	return s.base + "/issuers/" + slug + "/keys/" + keyID
}

// AchievementURL is the id of an achievement.
func (s *Service) AchievementURL(id string) string { return s.base + "/achievements/" + id }

// CredentialURL is the public page of a credential.
func (s *Service) CredentialURL(id string) string { return s.base + "/credentials/" + id }

// StatusListURL is the URL of an issuer's status list credential.
func (s *Service) StatusListURL(slug string, n int) string {
	return fmt.Sprintf("%s/status/%s/%d", s.base, slug, n)
}

// EvidenceURL is where an uploaded evidence file is served.
func (s *Service) EvidenceURL(sha string) string { return s.base + "/evidence/" + sha }

// JobURL is where a job's progress is read.
func (s *Service) JobURL(id string) string { return s.base + "/api/v1/jobs/" + id }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// IsUUID tells whether s is a canonical lower-case UUID.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// InputError is a problem with what a caller sent, naming the field.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// asInputError turns the builder's field errors into input errors, the
// field renamed from the credential's path (prefix) to the request's
// (replacement); other errors are returned as they are.
func asInputError(err error, prefix, replacement string) error {
	var fe *badges.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	return &InputError{Field: replacement + strings.TrimPrefix(fe.Field, prefix), Reason: fe.Reason}
}
