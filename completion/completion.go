// Package completion turns what a learning platform reports (a learner
// completed or passed a course or a module) into award decisions: each
// completion is recorded once, matched against the mappings and parcours
// rules of the issuers, and what it satisfies is awarded through the
// issuing service, with the completion as evidence.
//
// The formats completions arrive in (xAPI statements, Moodle web services,
// CSV reports, JSON) are parsed by the subpackages and all end up as a
// Completion, the one shape the rest of Insigne knows.
package completion

import "time"

// Completion is one learner's completion of one activity (a course, a
// micro-module), whatever the way it came in.
type Completion struct {
	// Source says how it came in: "xapi", "json", "csv" or "moodle-ws".
	Source string `json:"source"`
	// SourceRef identifies it within its source when the source has an
	// identifier (the xAPI statement id); empty otherwise.
	SourceRef string `json:"sourceRef,omitempty"`
	// Client is the LMS client (or API principal) that sent it.
	Client string `json:"client,omitempty"`

	Learner  Learner  `json:"learner"`
	Activity Activity `json:"activity"`

	// Completed and Passed are what the platform asserted; Passed is nil
	// when it said nothing of success.
	Completed bool  `json:"completed"`
	Passed    *bool `json:"passed,omitempty"`
	// Score is the scaled score in [0, 1], nil when none was given.
	Score *float64 `json:"score,omitempty"`
	// At is when the learner completed the activity (the statement's
	// timestamp, not when Insigne heard of it).
	At time.Time `json:"at"`
	// Duration is the time the learner spent, 0 when unknown.
	Duration time.Duration `json:"duration,omitempty"`
}

// Learner names the person who completed. Email is the key Insigne awards
// to; the LMS account identifies them on the platform side.
type Learner struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	// AccountHomePage and AccountName are the LMS account (xAPI
	// actor.account), when known.
	AccountHomePage string `json:"accountHomePage,omitempty"`
	AccountName     string `json:"accountName,omitempty"`
	// Where the learner works, for statistics; all optional.
	Academie    string `json:"academie,omitempty"`
	Departement string `json:"departement,omitempty"`
	Discipline  string `json:"discipline,omitempty"`
}

// Activity identifies what was completed by any of the identifiers the
// platform knows it by; mappings match on any of them.
type Activity struct {
	// ID is the xAPI activity id (an IRI), e.g.
	// https://magistere.example/course/view.php?id=42.
	ID string `json:"id,omitempty"`
	// MoodleCourseID and CourseShortName are Moodle's course id and short
	// name; MoodleModuleID a course module (cmid) for a micro-module.
	MoodleCourseID  string `json:"moodleCourseId,omitempty"`
	CourseShortName string `json:"courseShortName,omitempty"`
	MoodleModuleID  string `json:"moodleModuleId,omitempty"`
	Name            string `json:"name,omitempty"`
	// GAIA identifiers of the training, and the parcours matricule
	// (année_origine_intitulé_version).
	GAIADispositif string `json:"gaiaDispositif,omitempty"`
	GAIAModule     string `json:"gaiaModule,omitempty"`
	GAIASession    string `json:"gaiaSession,omitempty"`
	Matricule      string `json:"matricule,omitempty"`
}

// Result says what recording a batch of completions did. The completion
// service's method is
//
//	func (s *Service) Record(ctx context.Context, cs []Completion) (Result, error)
//
// and every ingestion path (xAPI, JSON, CSV, Moodle web services) calls it.
// Recording is idempotent: the same completion sent again changes nothing
// and never yields a second credential.
type Result struct {
	Recorded   int `json:"recorded"`   // completions stored for the first time
	Duplicates int `json:"duplicates"` // already known: nothing changed
	// Awarded lists the ids (uuid) of the credentials issued because of
	// this batch; awards that run as a job appear in Jobs instead.
	Awarded []string `json:"awarded,omitempty"`
	Jobs    []string `json:"jobs,omitempty"`
	// Pending counts the awards decided and left to the award worker
	// (RunAwards): a large batch, or a failure to issue now. They are
	// stored, and issued shortly.
	Pending int `json:"pending,omitempty"`
}
