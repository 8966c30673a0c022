// Package backpack is a learner's holdings: the credentials Insigne issued
// to any of their verified e-mail addresses (joined from the issuing
// records, never copied), the credentials they import from elsewhere
// (Open Badges 3.0 JSON, VC-JWT, baked images, URLs and Open Badges 2.0
// assertions, each verified on import and again on a schedule),
// collections, share links, exports (JSON, VC-JWT, baked images, a signed
// CLR 2.0 record, a personal-data archive) and erasure.
//
// It knows neither HTTP nor SQL: it declares the storage it needs (Store)
// and package store provides it.
package backpack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/fetch"
)

// Errors the store and the service return; api maps them to statuses.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
)

// InputError is a problem with what the learner sent, naming the field.
type InputError struct {
	Field  string
	Reason string
	Err    error // a sentinel the API maps to its status (ErrNotCredential, ErrTooMany), or nil
}

func (e *InputError) Unwrap() error { return e.Err }

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Kinds of Item.
const (
	KindIssued   = "issued"   // issued here to one of the learner's addresses
	KindImported = "imported" // brought in by the learner
)

// Formats of imported items.
const (
	FormatJSON = "json" // OB 3.0 with an embedded proof
	FormatJWS  = "jws"  // OB 3.0 VC-JWT
	FormatPNG  = "png"  // baked
	FormatSVG  = "svg"  // baked
	FormatOB2  = "ob2"  // an Open Badges 2.0 assertion (hosted or signed)
)

// Item is one credential in a backpack.
type Item struct {
	ID           string // the issued credential's uuid, or the imported item's
	Kind         string
	CredentialID string // the credential's own id (urn:uuid:…, a URL)
	Name         string
	IssuerID     string
	IssuerName   string
	Format       string // for imported items: how it arrived
	SourceURL    string
	Verdict      string // valid, warnings, invalid
	Status       string // revoked, suspended, expired or ""
	CreatedAt    time.Time
	VerifiedAt   time.Time
	// Filled when one item is read, not in listings.
	Payload  []byte          // the credential: JSON, or a compact JWS
	Original []byte          // an imported item's bytes as they arrived
	Report   json.RawMessage // the last verification report
	// Issued items only.
	IssuerSlug string
}

// Imported is an imported credential as stored.
type Imported struct {
	ID           string
	UserID       string
	CredentialID string
	IssuerID     string
	IssuerName   string
	Name         string
	Format       string
	SourceURL    string
	Original     []byte
	Payload      []byte
	Verdict      string
	Status       string
	Report       json.RawMessage
	CreatedAt    time.Time
	UpdatedAt    time.Time
	VerifiedAt   time.Time
}

// Email is one of a learner's further addresses.
type Email struct {
	UserID     string
	Email      string
	TokenHash  string
	ExpiresAt  time.Time
	VerifiedAt time.Time // zero while pending
	CreatedAt  time.Time
}

// Collection is a named, ordered set of a learner's items.
type Collection struct {
	ID          string
	UserID      string
	Name        string
	Description string
	Items       []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Share targets.
const (
	ShareCredential = "credential"
	ShareCollection = "collection"
)

// Share is a public link to an item or a collection.
type Share struct {
	ID         string // the unguessable token in the link
	UserID     string
	TargetKind string
	TargetID   string
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time // zero: live
	Views      int64
	CreatedAt  time.Time
}

// Live tells whether the link may be followed at t.
func (s Share) Live(t time.Time) bool {
	return s.RevokedAt.IsZero() && (s.ExpiresAt.IsZero() || t.Before(s.ExpiresAt))
}

// Query pages a listing.
type Query struct {
	Limit, Offset int
	// Since keeps credentials that landed at or after it (OB API).
	Since time.Time
	// OB3Only leaves out Open Badges 2.0 assertions (OB API).
	OB3Only bool
	// WithPayload reads each credential (OB API).
	WithPayload bool
}

// Landed is an issued credential not yet announced by e-mail.
type Landed struct {
	CredentialID   string
	RecipientEmail string
	RecipientName  string
	IssuerName     string
	AchievementDoc []byte
	CreatedAt      time.Time
}

// Store is what the backpack needs from the database.
type Store interface {
	// Addresses.
	AddLearnerEmail(ctx context.Context, e Email) error
	LearnerEmails(ctx context.Context, userID string) ([]Email, error)
	// VerifyLearnerEmail marks the pending address whose token hash is
	// given as verified at now, if not expired; ErrConflict when another
	// learner verified it first.
	VerifyLearnerEmail(ctx context.Context, tokenHash string, now time.Time) (Email, error)
	RemoveLearnerEmail(ctx context.Context, userID, email string) error
	// LearnerIdentities returns the account's address and the verified
	// further ones (in no order).
	LearnerIdentities(ctx context.Context, userID string) ([]string, error)
	// AccountEmail is the e-mail address of the user's account ("" if none).
	AccountEmail(ctx context.Context, userID string) (string, error)

	// Holdings.
	// Holdings and Holding read the credentials issued to the user's
	// addresses (LearnerIdentities) and those the user imported.
	Holdings(ctx context.Context, userID string, q Query) ([]Item, int, error)
	Holding(ctx context.Context, userID string, id string) (*Item, error)
	PutImported(ctx context.Context, it Imported) error
	// ImportedCount is how many imported items the user holds.
	ImportedCount(ctx context.Context, userID string) (int, error)
	// ReplaceImported replaces the credential of an existing item (same
	// user, same id): a newer version of the same credential.
	ReplaceImported(ctx context.Context, it Imported) error
	ImportedByCredentialID(ctx context.Context, userID, credentialID string) (*Imported, error)
	DeleteImported(ctx context.Context, userID, id string) error
	// DueForVerification returns imported items last verified before t.
	DueForVerification(ctx context.Context, before time.Time, limit int) ([]Imported, error)
	SetVerification(ctx context.Context, id, verdict, status string, report []byte, at time.Time) error

	// Collections.
	PutCollection(ctx context.Context, c Collection) error
	Collections(ctx context.Context, userID string) ([]Collection, error)
	Collection(ctx context.Context, userID, id string) (*Collection, error)
	DeleteCollection(ctx context.Context, userID, id string) error

	// Shares.
	PutShare(ctx context.Context, s Share) error
	Shares(ctx context.Context, userID string) ([]Share, error)
	RevokeShare(ctx context.Context, userID, id string, at time.Time) error
	// ViewShare returns the share and counts one view when it is live at t.
	ViewShare(ctx context.Context, id string, t time.Time) (*Share, error)

	// The OB API profile (a JSON Profile), nil when none was stored.
	Profile(ctx context.Context, userID string) (json.RawMessage, error)
	PutProfile(ctx context.Context, userID string, data json.RawMessage, at time.Time) error

	// Notifications: issued credentials created after since and not yet
	// claimed; ClaimNotification is true for the one caller that claims.
	LandedSince(ctx context.Context, since time.Time, limit int) ([]Landed, error)
	ClaimNotification(ctx context.Context, credentialID string, at time.Time) (bool, error)

	// EraseLearner deletes the learner's personal data: imported items,
	// collections, shares, addresses, profile, sessions; blanks the
	// recipient columns of credentials issued to emails; anonymizes the
	// account.
	EraseLearner(ctx context.Context, userID string, emails []string) error
}

// Verifier verifies an Open Badges 3.0 credential (package badges).
type Verifier interface {
	Verify(ctx context.Context, input []byte, opts badges.Options) (*badges.Report, error)
}

// Fetcher fetches documents for URL imports and Open Badges 2.0 hosted
// assertions; *fetch.Client is one.
type Fetcher interface {
	Get(ctx context.Context, url, accept string) (*fetch.Response, error)
}

// Mailer sends a plain-text e-mail.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Issuing is what the backpack needs from the issuing service: the
// exports of issued credentials, and the platform issuer's signature on
// CLR records (private keys never leave issuing).
type Issuing interface {
	JWT(ctx context.Context, id string) (string, error)
	Baked(ctx context.Context, id, format string) ([]byte, error)
	PlatformProfile(ctx context.Context, slug string) (badges.Profile, error)
	SignDataIntegrity(ctx context.Context, slug string, doc map[string]any) ([]byte, error)
	CredentialURL(id string) string
	IssuerID(slug string) string
	BaseURL() string
}
