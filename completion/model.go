package completion

import (
	"context"
	"time"

	"github.com/insigne/insigne/issuing"
)

// Kinds of activity identifier a mapping matches on, one per field of
// Activity.
const (
	KindXAPI            = "xapi"             // Activity.ID, the xAPI activity id (the default)
	KindMoodleCourse    = "moodle-course"    // Activity.MoodleCourseID
	KindCourseShortName = "course-shortname" // Activity.CourseShortName
	KindMoodleModule    = "moodle-module"    // Activity.MoodleModuleID
	KindGAIADispositif  = "gaia-dispositif"  // Activity.GAIADispositif
	KindGAIAModule      = "gaia-module"      // Activity.GAIAModule
	KindGAIASession     = "gaia-session"     // Activity.GAIASession
	KindMatricule       = "matricule"        // Activity.Matricule
)

// Kinds lists the identifier kinds in a fixed order.
var Kinds = []string{KindXAPI, KindMoodleCourse, KindCourseShortName, KindMoodleModule, KindGAIADispositif, KindGAIAModule, KindGAIASession, KindMatricule}

// identifiers returns the activity's identifiers, kind by kind, in the
// order of Kinds; empty ones are "".
func (a Activity) identifiers() [8]string {
	return [8]string{a.ID, a.MoodleCourseID, a.CourseShortName, a.MoodleModuleID, a.GAIADispositif, a.GAIAModule, a.GAIASession, a.Matricule}
}

// names reports whether the activity's identifier of kind k names the
// activity itself. A module's completion also carries its course's id and
// short name (the course it sits in), which must not earn the course's
// badge: for a module, those kinds name the container, not what was
// completed.
func (a Activity) names(kind string) bool {
	if a.MoodleModuleID == "" {
		return true
	}
	return kind != KindMoodleCourse && kind != KindCourseShortName
}

// Conditions say which completions of a mapped activity earn its
// achievement. With none set, a completion earns it when the platform said
// completed or passed; a failed attempt (passed false) never earns it.
type Conditions struct {
	// Completed requires the platform to have said completed.
	Completed bool `json:"completed,omitempty"`
	// Passed requires the platform to have said passed.
	Passed bool `json:"passed,omitempty"`
	// MinScore requires a scaled score of at least this (0 to 1).
	MinScore *float64 `json:"minScore,omitempty"`
	// From and Until bound the completion date, inclusive.
	From  *time.Time `json:"from,omitempty"`
	Until *time.Time `json:"until,omitempty"`
}

// Satisfied tells whether c earns the mapped achievement.
func (k Conditions) Satisfied(c Completion) bool {
	if c.Passed != nil && !*c.Passed {
		return false
	}
	if !c.Completed && c.Passed == nil {
		return false
	}
	if k.Completed && !c.Completed {
		return false
	}
	if k.Passed && (c.Passed == nil || !*c.Passed) {
		return false
	}
	if k.MinScore != nil && (c.Score == nil || *c.Score < *k.MinScore) {
		return false
	}
	if k.From != nil && c.At.Before(*k.From) {
		return false
	}
	if k.Until != nil && c.At.After(*k.Until) {
		return false
	}
	return true
}

// Mapping maps an activity, known by one identifier, to an achievement.
type Mapping struct {
	ID            string
	Issuer        string // the achievement's issuer
	AchievementID string
	Kind          string
	Value         string
	Conditions    Conditions
	CreatedBy     string
	CreatedAt     time.Time
}

// MappingInput is a mapping as administrators write it.
type MappingInput struct {
	// Activity is the identifier's value: an xAPI activity id unless Kind
	// says otherwise.
	Activity string `json:"activity"`
	// Kind is one of Kinds; "xapi" when empty.
	Kind string `json:"kind,omitempty"`
	// Achievement is the achievement's URL or uuid.
	Achievement string      `json:"achievement"`
	Conditions  *Conditions `json:"conditions,omitempty"`
}

// Parcours is an achievement awarded once a learner holds Required of the
// Members achievements (all of them when Required is 0).
type Parcours struct {
	ID            string
	Issuer        string // the parcours achievement's issuer
	AchievementID string
	Required      int
	Members       []string // achievement ids, in the order given
	CreatedBy     string
	CreatedAt     time.Time
}

// needed is how many members a learner must hold.
func (p Parcours) needed() int {
	if p.Required <= 0 || p.Required > len(p.Members) {
		return len(p.Members)
	}
	return p.Required
}

// ParcoursInput is a parcours as administrators write it.
type ParcoursInput struct {
	// Achievement is awarded when the parcours is complete (URL or uuid).
	Achievement string `json:"achievement"`
	// Modules are the micro-modules' achievements (URLs or uuids).
	Modules []string `json:"modules"`
	// Required is how many modules are needed; 0 means all.
	Required int `json:"required,omitempty"`
}

// Award states.
const (
	AwardPending = "pending" // decided, not issued yet
	AwardIssued  = "issued"
	AwardFailed  = "failed" // cannot be issued (the achievement is gone…); kept for the record
	// AwardCancelled: the mapping or parcours that decided it was deleted
	// before it was issued; Error says so. A later decision for the same
	// learner and achievement replaces it.
	AwardCancelled = "cancelled"
)

// Award is a decision to award an achievement to a learner, taken at most
// once per (learner, achievement). Its credential id is chosen when
// deciding, so that issuing it twice is impossible.
type Award struct {
	Learner       string // normalized e-mail address
	AchievementID string
	Issuer        string
	CredentialID  string
	State         string
	// Reason is what decided it: "mapping:{id}" or "parcours:{id}".
	Reason        string
	CompletionKey string
	Name          string // the learner's name, for the credential
	Evidence      []issuing.EvidenceInput
	Error         string
	Attempts      int
	CreatedAt     time.Time
	IssuedAt      time.Time
}

// Stored is a completion as recorded.
type Stored struct {
	Key string
	Completion
	ReceivedAt time.Time
}

// Holding is an achievement a learner holds: an active credential, or an
// award decided and not yet issued.
type Holding struct {
	Learner       string
	AchievementID string
	CredentialID  string
	Issued        bool
}

// Store is the storage the completion service needs; package store
// implements it on SQLite and PostgreSQL.
type Store interface {
	// Record runs fn in one transaction that first upserts the learners
	// (an empty attribute keeps the stored one). It takes each learner's
	// row lock before fn runs and holds it until commit, so two recordings
	// for the same learner run one after the other: what fn reads of a
	// learner's holdings cannot change under it.
	Record(ctx context.Context, learners []Learner, fn func(Tx) error) error

	// CreateMapping stores a mapping; ErrConflict when the same
	// identifier already maps to the same achievement.
	CreateMapping(ctx context.Context, m Mapping, a issuing.AuditEntry) error
	Mapping(ctx context.Context, id string) (*Mapping, error)
	// Mappings lists an issuer's mappings ("" for all), oldest first.
	Mappings(ctx context.Context, issuer string) ([]Mapping, error)
	// MappingsFor returns the mappings whose value is one of values.
	MappingsFor(ctx context.Context, values []string) ([]Mapping, error)
	// DeleteMapping deletes a mapping and, in the same transaction,
	// cancels the awards it decided that are not issued yet (pending or
	// failed).
	DeleteMapping(ctx context.Context, id string, a issuing.AuditEntry) error

	// CreateParcours stores a parcours; ErrConflict when its achievement
	// already completes another parcours.
	CreateParcours(ctx context.Context, p Parcours, a issuing.AuditEntry) error
	Parcours(ctx context.Context, id string) (*Parcours, error)
	// ParcoursList lists an issuer's parcours ("" for all), oldest first.
	ParcoursList(ctx context.Context, issuer string) ([]Parcours, error)
	// DeleteParcours is DeleteMapping for a parcours.
	DeleteParcours(ctx context.Context, id string, a issuing.AuditEntry) error

	// Holdings returns which of achievements the learners hold.
	AchievementHoldings(ctx context.Context, learners, achievements []string) ([]Holding, error)
	// CredentialIssuers lists the issuers that issued a credential (in
	// any state) to a normalized e-mail address.
	CredentialIssuers(ctx context.Context, email string) ([]string, error)
	// Awards returns a learner's award decisions.
	Awards(ctx context.Context, learner string) ([]Award, error)

	// ClaimAwards leases up to limit pending awards whose lease ran out
	// (all of ids when ids is not empty) until `until`, and returns those
	// this call got: of two workers, only one gets each award.
	ClaimAwards(ctx context.Context, ids []string, limit int, now, until time.Time) ([]Award, error)
	// FinishAwards marks awards issued, or failed with a reason.
	FinishAwards(ctx context.Context, credentialIDs []string, state, reason string, at time.Time) error
	// IssueAwards stores the credentials of awards (each credential's id
	// is its award's) with their audit entries, and marks the awards
	// issued, in one transaction; issuing.ErrConflict as InsertCredentials.
	IssueAwards(ctx context.Context, creds []issuing.Credential, audit []issuing.AuditEntry, at time.Time) error
	// ReleaseAwards records a failed attempt; the awards stay pending and
	// are tried again when their lease runs out.
	ReleaseAwards(ctx context.Context, credentialIDs []string, reason string) error
	// ExistingCredentials returns which of ids are stored credentials.
	ExistingCredentials(ctx context.Context, ids []string) ([]string, error)

	// IssuerAwards lists an issuer's award decisions in state ("" for
	// any), oldest first, from offset, at most limit, with the total.
	IssuerAwards(ctx context.Context, issuer, state string, limit, offset int) ([]Decision, int, error)
	// Award returns one award decision by its credential id.
	Award(ctx context.Context, credentialID string) (*Decision, error)
	// RetryAward makes a failed award pending again, its attempts counted
	// from zero; ErrConflict when it is not failed.
	RetryAward(ctx context.Context, credentialID string, a issuing.AuditEntry) error
	// CancelAward cancels an award that is not issued, with a reason.
	CancelAward(ctx context.Context, credentialID, reason string, a issuing.AuditEntry) error
}

// Tx is what a recording transaction does.
type Tx interface {
	// InsertCompletions stores the completions whose key is new and tells,
	// for each, whether it was.
	InsertCompletions(ctx context.Context, cs []Stored) ([]bool, error)
	// InsertAwards stores the awards whose (learner, achievement) is new
	// and tells, for each, whether it was.
	InsertAwards(ctx context.Context, as []Award) ([]bool, error)
	// Holdings is Store.Holdings within the transaction.
	AchievementHoldings(ctx context.Context, learners, achievements []string) ([]Holding, error)
	// LiveRules tells which of the mappings and parcours (by id) still
	// exist, as the Reason of the awards they decide ("mapping:{id}",
	// "parcours:{id}"), and keeps them from being deleted until the
	// transaction ends: a rule deleted meanwhile decides nothing.
	LiveRules(ctx context.Context, mappings, parcours []string) (map[string]bool, error)
}
