// Package issuing is the issuing service: issuers and their keys,
// achievements (badge classes) and their versions, awards signed as
// Open Badges 3.0 credentials, bulk award jobs, evidence files and
// revocation through Bitstring Status Lists. It knows neither HTTP nor SQL:
// it declares the storage it needs (Store) and package store provides it.
package issuing

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/insigne/insigne/keys"
)

// Errors the store returns and the service passes on; api maps them to
// HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrTooLarge = errors.New("too large")
	// ErrNoSpace: the storage is full; nothing was kept.
	ErrNoSpace = errors.New("no space left for the file")
)

// Issuer is an organisation that awards badges: an académie, a national
// directorate. Its profile id is {base}/issuers/{slug}.
type Issuer struct {
	Slug        string
	Name        string
	URL         string
	Email       string
	Description string
	ImageURL    string
	CreatedAt   time.Time
}

// Key purposes: each issuer has one active key of each.
const (
	PurposeDI  = "di"  // Ed25519, Data Integrity proofs
	PurposeJWT = "jwt" // P-256, VC-JWT
)

// Key is one of an issuer's signing keys. The private half is only ever
// held sealed under the key-encryption key.
type Key struct {
	ID              string // short random id, the last path segment of its kid URL
	Issuer          string
	Purpose         string
	Alg             keys.Alg
	PublicMultibase string
	Sealed          []byte
	CreatedAt       time.Time
	RetiredAt       *time.Time // nil while active
}

// Achievement is one version of a badge class. Data holds the OB 3.0
// Achievement without its id and creator, which the service fills in.
type Achievement struct {
	ID        string // uuid
	Issuer    string
	Version   int
	Data      json.RawMessage
	CreatedAt time.Time
	// Key, when set on creation, names the achievement for the caller
	// that made it (FindOrCreateAchievement); unique per issuer.
	Key string
}

// Credential states.
const (
	StateActive    = "active"
	StateRevoked   = "revoked"
	StateSuspended = "suspended"
)

// Credential is an issued, signed credential and what Insigne must know
// about it: who received it and where its status lives.
type Credential struct {
	ID                 string // uuid; the credential id is urn:uuid:{ID}
	Issuer             string
	AchievementID      string
	AchievementVersion int
	RecipientEmail     string
	RecipientName      string
	RecipientDID       string
	StatusList         int
	StatusIndex        int
	State              string
	Reason             string
	Signed             json.RawMessage
	JobID              string
	JobRow             int
	CreatedAt          time.Time
}

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// RowError says why one row of a bulk award failed. Rows count from 1.
type RowError struct {
	Row     int    `json:"row"`
	Message string `json:"message"`
}

// Job is a bulk award. Its rows are processed in order and the cursor
// (Done+Failed) only moves in the same transaction that stores the
// credentials, so a restart neither repeats nor skips a row.
type Job struct {
	ID         string
	Issuer     string
	State      string
	Total      int
	Done       int
	Failed     int
	Errors     []RowError
	Payload    json.RawMessage
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LeaseUntil time.Time
}

// Progress is what a chunk of a job changes, committed with its credentials.
type Progress struct {
	JobID  string
	Done   int // rows that became credentials in this chunk
	Failed int
	Errors []RowError
	Finish bool // the last chunk: the job becomes done
}

// Blob is an uploaded evidence file, stored by the SHA-256 of its bytes.
type Blob struct {
	SHA256    string
	MediaType string
	Size      int64
	Name      string
	CreatedAt time.Time
}

// AuditEntry records who did what: every award, revocation and key
// operation.
type AuditEntry struct {
	At     time.Time
	Actor  string
	Action string
	Issuer string
	Target string
	Detail string
}

// StatusList is the stored state of one of an issuer's status lists:
// Version moves on every change, and Signed is the signed list credential
// for SignedVersion (stale when they differ).
type StatusList struct {
	Issuer        string
	Number        int
	Version       int
	Signed        json.RawMessage
	SignedVersion int
}

// CredentialQuery selects credentials.
type CredentialQuery struct {
	Issuer        string
	AchievementID string
	Limit, Offset int
}
