package xapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/completion"
)

// Errors a Store returns (possibly wrapped) and the Service passes on.
var (
	ErrNotFound = errors.New("xapi: not found")
	// ErrConflict: a statement with the same id and different content is
	// stored already (xAPI: 409 Conflict).
	ErrConflict = errors.New("xapi: conflict")
	// ErrUnauthenticated: unknown or revoked LMS client, or wrong secret.
	ErrUnauthenticated = errors.New("xapi: unauthenticated")
	// ErrInvalid: an argument is wrong (an empty name).
	ErrInvalid = errors.New("xapi: invalid")
)

// Client is an LMS (a Moodle site) allowed to send statements. It
// belongs to one issuer: its completions trigger that issuer's mappings
// only. It authenticates with HTTP Basic, Key as the user name and the
// secret as the password; only the secret's hash is stored.
type Client struct {
	ID         string
	Key        string // public, "lms_" and 26 characters
	SecretHash string // auth.HashToken of the secret
	Name       string
	Issuer     string
	CreatedBy  string
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// Ref is how completions name the client that sent them:
// "{issuer}/lms:{key}". Every ingestion path names its sender
// "{issuer}/{who}", so the completion service can tell whose mappings a
// completion may trigger.
func (c Client) Ref() string { return c.Issuer + "/lms:" + c.Key }

// Stored is a statement as the store keeps it.
type Stored struct {
	ID     string
	Hash   string
	JSON   []byte
	Client string // the client's ID
	Stored time.Time
}

// Store is the persistence the Service needs; package store implements it.
type Store interface {
	// SaveStatements stores, in one transaction, the statements whose ids
	// are new and returns how many were. A statement whose id is stored
	// with the same hash is skipped; one whose id is stored with another
	// hash makes it store nothing and return an error wrapping
	// ErrConflict that names the id.
	SaveStatements(ctx context.Context, ss []Stored) (fresh int, err error)
	// StatementByID returns a stored statement, or ErrNotFound.
	StatementByID(ctx context.Context, id string) (Stored, error)

	// CreateLMSClient stores a new client; ErrConflict if its ID or Key
	// exists.
	CreateLMSClient(ctx context.Context, c Client) error
	// LMSClientByKey returns the client with this key, revoked or not, or
	// ErrNotFound.
	LMSClientByKey(ctx context.Context, key string) (Client, error)
	// LMSClientByID returns the client with this ID, or ErrNotFound.
	LMSClientByID(ctx context.Context, id string) (Client, error)
	// LMSClients lists an issuer's clients, revoked ones included, newest
	// first.
	LMSClients(ctx context.Context, issuer string) ([]Client, error)
	// RevokeLMSClient sets RevokedAt (once); ErrNotFound if the issuer has
	// no client with this ID.
	RevokeLMSClient(ctx context.Context, issuer, id string, at time.Time) error
}

// Recorder records completions: the completion service.
type Recorder interface {
	Record(ctx context.Context, cs []completion.Completion) (completion.Result, error)
}

// IssuerRecorder is a Recorder that can apply one issuer's mappings only
// (the completion service's RecordFor).
type IssuerRecorder interface {
	RecordFor(ctx context.Context, issuers []string, cs []completion.Completion) (completion.Result, error)
}

// RecordFor records completions sent on behalf of issuer: with an
// IssuerRecorder only that issuer's mappings apply; a plain Recorder
// applies what it applies (every issuer's).
func RecordFor(ctx context.Context, r Recorder, issuer string, cs []completion.Completion) (completion.Result, error) {
	if ir, ok := r.(IssuerRecorder); ok {
		return ir.RecordFor(ctx, []string{issuer}, cs)
	}
	return r.Record(ctx, cs)
}

// Service is the statement resource of Insigne's LRS.
type Service struct {
	store Store
	rec   Recorder
	base  string
	now   func() time.Time
}

// NewService returns a Service. base is the service's base URL (for the
// extension IRIs); rec may be nil, and then statements are stored only.
func NewService(st Store, rec Recorder, base string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, rec: rec, base: base, now: now}
}

// Base is the base URL extension IRIs live under.
func (s *Service) Base() string { return s.base }

// Parse parses a body of statements as this service reads them.
func (s *Service) Parse(body []byte) ([]Statement, error) {
	return Parse(body, Options{Base: s.base, NewID: newUUID, Now: s.now()})
}

// Save stores statements for client c and records their completions.
// putID, when not empty, is the statementId of a PUT: the body must be a
// single statement with that id or none. It returns the statement ids in
// the order of the body.
//
// Nothing is stored unless every statement is valid and none conflicts
// with a stored one. Every statement's completion is recorded, stored
// before or not: the completion service is idempotent, and a retry after
// a failed recording must still record.
func (s *Service) Save(ctx context.Context, c Client, body []byte, putID string) ([]string, completion.Result, error) {
	var res completion.Result
	o := Options{Base: s.base, NewID: newUUID, Now: s.now()}
	if putID != "" {
		if !IsUUID(putID) {
			return nil, res, &Error{Index: -1, Path: "statementId", Reason: fmt.Sprintf("%q is not a UUID", clip(putID))}
		}
		putID = strings.ToLower(putID)
		o.NewID = func() string { return putID }
	}
	sts, err := Parse(body, o)
	if err != nil {
		return nil, res, err
	}
	if putID != "" {
		if len(sts) != 1 || strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
			return nil, res, &Error{Index: -1, Reason: "PUT takes a single statement, not an array"}
		}
		if sts[0].ID != putID {
			return nil, res, &Error{Index: 0, Path: "id", Reason: fmt.Sprintf("%s differs from the statementId parameter %s", sts[0].ID, putID)}
		}
	}
	// The same id twice in one batch is refused, as the xAPI
	// specification advises (Part Three, 2.1.2): one of them is a mistake.
	seen := make(map[string]int, len(sts))
	ids := make([]string, len(sts))
	stored := make([]Stored, 0, len(sts))
	cs := make([]completion.Completion, 0, len(sts))
	at := s.now().UTC()
	for i, st := range sts {
		ids[i] = st.ID
		if j, ok := seen[st.ID]; ok {
			return nil, res, &Error{Index: i, Batch: true, Path: "id", Reason: fmt.Sprintf("%s is also the id of statement [%d]: each statement of a batch needs its own id", st.ID, j)}
		}
		seen[st.ID] = i
		stored = append(stored, Stored{ID: st.ID, Hash: st.Hash, JSON: st.JSON, Client: c.ID, Stored: at})
		st.Completion.Client = c.Ref()
		cs = append(cs, st.Completion)
	}
	if _, err := s.store.SaveStatements(ctx, stored); err != nil {
		return nil, res, err
	}
	if s.rec != nil {
		res, err = RecordFor(ctx, s.rec, c.Issuer, cs)
		if err != nil {
			return nil, res, fmt.Errorf("xapi: record completions: %w", err)
		}
	}
	return ids, res, nil
}

// clientKeyPrefix and clientSecretPrefix tell what a leaked string is.
const (
	clientKeyPrefix    = "lms_"
	clientSecretPrefix = "inslms_"
)

// CreateClient makes an LMS client for issuer and returns it with its
// secret, which is shown this once.
func (s *Service) CreateClient(ctx context.Context, issuer, name, createdBy string) (Client, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return Client{}, "", fmt.Errorf("%w: name must be 1 to 200 characters", ErrInvalid)
	}
	secret, hash := auth.NewToken(clientSecretPrefix)
	c := Client{ID: newUUID(), Key: clientKeyPrefix + strings.ToLower(rand.Text()), SecretHash: hash, Name: name,
		Issuer: issuer, CreatedBy: createdBy, CreatedAt: s.now().UTC()}
	if err := s.store.CreateLMSClient(ctx, c); err != nil {
		return Client{}, "", fmt.Errorf("xapi: create LMS client: %w", err)
	}
	return c, secret, nil
}

// Authenticate checks an LMS client's key and secret (HTTP Basic).
func (s *Service) Authenticate(ctx context.Context, key, secret string) (Client, error) {
	if key == "" || secret == "" || len(key) > 64 || len(secret) > 256 {
		return Client{}, ErrUnauthenticated
	}
	c, err := s.store.LMSClientByKey(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return Client{}, ErrUnauthenticated
	}
	if err != nil {
		return Client{}, fmt.Errorf("xapi: authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(auth.HashToken(secret)), []byte(c.SecretHash)) != 1 || c.RevokedAt != nil {
		return Client{}, ErrUnauthenticated
	}
	return c, nil
}

// Clients lists an issuer's LMS clients.
func (s *Service) Clients(ctx context.Context, issuer string) ([]Client, error) {
	return s.store.LMSClients(ctx, issuer)
}

// ClientByID returns an LMS client.
func (s *Service) ClientByID(ctx context.Context, id string) (Client, error) {
	return s.store.LMSClientByID(ctx, id)
}

// RevokeClient revokes an LMS client: its secret stops working at once.
func (s *Service) RevokeClient(ctx context.Context, issuer, id string) error {
	return s.store.RevokeLMSClient(ctx, issuer, id, s.now().UTC())
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
