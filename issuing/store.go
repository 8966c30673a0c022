package issuing

import (
	"context"
	"io"
	"time"
)

// Store is the storage the issuing service needs. Methods that change
// several things do it in one transaction, audit entry included.
type Store interface {
	// CreateIssuer stores an issuer with its first keys; ErrConflict if
	// the slug is taken.
	CreateIssuer(ctx context.Context, iss Issuer, ks []Key, a AuditEntry) error
	Issuer(ctx context.Context, slug string) (*Issuer, error)
	Issuers(ctx context.Context) ([]Issuer, error)
	// Keys returns every key of the issuer, active and retired, oldest first.
	Keys(ctx context.Context, issuer string) ([]Key, error)
	// RotateKeys retires the active keys of the new keys' purposes and
	// stores the new ones.
	RotateKeys(ctx context.Context, issuer string, ks []Key, at time.Time, a AuditEntry) error

	// CreateAchievement stores an achievement's first version, and its
	// key when it has one; ErrConflict (nothing written) when the id or
	// the issuer's key is taken.
	CreateAchievement(ctx context.Context, a Achievement, e AuditEntry) error
	// AchievementByKey returns the latest version of the issuer's
	// achievement created with key.
	AchievementByKey(ctx context.Context, issuer, key string) (*Achievement, error)
	// Achievement returns the latest version; AchievementVersion one version.
	Achievement(ctx context.Context, id string) (*Achievement, error)
	AchievementVersion(ctx context.Context, id string, version int) (*Achievement, error)
	Achievements(ctx context.Context, issuer string) ([]Achievement, error)
	// UpdateAchievement replaces the latest version in place while no
	// credential uses it, and otherwise adds a version. It returns the
	// version written.
	UpdateAchievement(ctx context.Context, a Achievement, e AuditEntry) (int, error)

	// StatusUsage returns the issuer's highest status list number (0 when
	// none) and how many indexes it has allocated.
	StatusUsage(ctx context.Context, issuer string) (list, used int, err error)
	UsedStatusIndexes(ctx context.Context, issuer string, list int) ([]int, error)

	// InsertCredentials stores credentials, their audit entries and, when
	// p is not nil, a job's progress, in one transaction. ErrConflict when
	// a status index or a job row is already taken: nothing is written.
	InsertCredentials(ctx context.Context, cs []Credential, p *Progress, audit []AuditEntry) error
	Credential(ctx context.Context, id string) (*Credential, error)
	Credentials(ctx context.Context, q CredentialQuery) ([]Credential, int, error)
	// SetCredentialState changes a credential's state and moves its status
	// list's version.
	SetCredentialState(ctx context.Context, id, state, reason string, a AuditEntry) error

	// StatusList returns the list's record (Version 0 when nothing changed
	// yet) and FlaggedIndexes the indexes of revoked or suspended
	// credentials in it.
	StatusList(ctx context.Context, issuer string, list int) (*StatusList, error)
	FlaggedIndexes(ctx context.Context, issuer string, list int) ([]int, error)
	// SaveSignedStatusList caches a signed list for version; a newer
	// version already saved wins.
	SaveSignedStatusList(ctx context.Context, issuer string, list, version int, signed []byte) error

	CreateJob(ctx context.Context, j Job, a AuditEntry) error
	Job(ctx context.Context, id string) (*Job, error)
	// ClaimJob takes the oldest queued job, or a running one whose lease
	// ran out (its process died), and leases it until `until`.
	ClaimJob(ctx context.Context, now, until time.Time) (*Job, error)
	// ExtendLease keeps a claimed job while its worker is alive.
	ExtendLease(ctx context.Context, id string, until time.Time) error
	// FailJob ends a job that cannot go on.
	FailJob(ctx context.Context, id string, e RowError) error

	PutBlob(ctx context.Context, b Blob) error
	Blob(ctx context.Context, sha256 string) (*Blob, error)

	// ApprovalStore keeps the awards waiting for a second assessor.
	ApprovalStore

	Audit(ctx context.Context, a AuditEntry) error
	// AuditLog returns the latest entries about an issuer, newest first.
	AuditLog(ctx context.Context, issuer string, limit int) ([]AuditEntry, error)
}

// BlobStore keeps evidence bytes, content-addressed.
type BlobStore interface {
	// Put stores the bytes read from r (at most max) and returns their
	// SHA-256 (hex) and size; a partial write leaves nothing behind.
	Put(ctx context.Context, r io.Reader, max int64) (sha string, size int64, err error)
	Open(ctx context.Context, sha string) (io.ReadCloser, error)
}
