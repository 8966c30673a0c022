package competency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/insigne/insigne/badges"
)

// ErrNotFound is returned (wrapped) for an unknown framework or version.
var ErrNotFound = errors.New("not found")

// Sources of a stored framework version.
const (
	SourceOfficial  = "official"
	SourceCASE      = "case"
	SourceMoodleCSV = "moodle-csv"
)

// Record is one stored version of a framework. Data is the Framework as
// JSON; the list queries leave it empty.
type Record struct {
	ID        string
	Version   int
	Title     string
	Hash      string // SHA-256 of the framework as imported, before dating
	Source    string
	Items     int
	CreatedBy string
	CreatedAt time.Time
	// Owner is the issuer whose administrator imported the first version
	// ("" for the official frameworks and the operator's imports).
	// Frameworks imported before owners were recorded got their first
	// importer's issuer from migration 0018, when it names one.
	Owner string
	Data  []byte
}

// Store is the storage the competency service needs.
type Store interface {
	// AddFrameworkVersion stores rec as the next version of framework
	// rec.ID (rec.Version is ignored), unless the latest version has the
	// same Hash: then it returns that version and false. Before adding a
	// version to an existing framework it calls allow (when not nil) with
	// the latest version, in the same transaction, and returns its error
	// unchanged; a new version keeps the first version's Owner.
	AddFrameworkVersion(ctx context.Context, rec Record, allow func(latest Record) error) (Record, bool, error)
	// LatestFrameworks lists the latest version of every framework,
	// without Data, ordered by title.
	LatestFrameworks(ctx context.Context) ([]Record, error)
	// FrameworkVersion returns one version with its Data; version 0 is
	// the latest. ErrNotFound when there is none.
	FrameworkVersion(ctx context.Context, id string, version int) (*Record, error)
	// FrameworkVersions lists every version of a framework, newest first.
	FrameworkVersions(ctx context.Context, id string) ([]Record, error)

	// LearnerCredentials returns the credentials issued to a normalized
	// e-mail address, any state, oldest first.
	LearnerCredentials(ctx context.Context, email string) ([]CredentialFact, error)
	// CredentialFacts returns the credentials of an issuer ("" for all)
	// that are not revoked, with their learner's attributes, without
	// their signed documents (Signed is nil).
	CredentialFacts(ctx context.Context, issuer string) ([]CredentialFact, error)
	// SignedCredentials returns the signed documents of credentials by id.
	SignedCredentials(ctx context.Context, ids []string) (map[string][]byte, error)
	// SetLearnerAttributes creates or replaces a learner's attributes.
	SetLearnerAttributes(ctx context.Context, l Learner) error
	LearnerAttributes(ctx context.Context, email string) (*Learner, error)
}

// Learner is what Insigne knows of a learner for statistics.
type Learner struct {
	Email       string    `json:"email"`
	Name        string    `json:"name,omitempty"`
	Academie    string    `json:"academie,omitempty"`
	Departement string    `json:"departement,omitempty"`
	Discipline  string    `json:"discipline,omitempty"`
	UpdatedAt   time.Time `json:"-"`
}

// CredentialFact is an issued credential as the profile and statistics
// read it: the signed document and what the database knows around it.
type CredentialFact struct {
	ID                 string
	Issuer             string
	AchievementID      string
	AchievementVersion int
	Email              string
	State              string
	CreatedAt          time.Time
	Signed             []byte
	// The learner's attributes, empty when unknown.
	Academie, Departement, Discipline string
}

// Service keeps frameworks in the store and answers questions about them.
// It caches the latest version of every framework in memory, checked
// against the store's list of versions on each use, so that several nodes
// sharing a database see each other's imports.
type Service struct {
	store Store
	base  string
	now   func() time.Time
	log   *slog.Logger

	mu   sync.Mutex
	snap *Snapshot

	// covered caches the items each credential covers. A signed
	// credential never changes, so the cache is right on every node.
	coverMu sync.Mutex
	covered map[string][]string
}

// maxCovered bounds the coverage cache (about 100 bytes an entry).
const maxCovered = 1 << 20

// NewService returns a Service whose item URLs are under base.
func NewService(st Store, base string, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, base: strings.TrimRight(base, "/"), now: now, log: log}
}

// BaseURL is the base of the CASE URIs the service mints.
func (s *Service) BaseURL() string { return s.base }

// hashFramework is the content hash that decides whether an import is a
// new version: the whole model, Moodle cells included.
func hashFramework(f Framework) (string, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Save stores f as a new version when its content changed since the latest
// version of the same identifier, and returns the version that holds it
// and whether it was created.
func (s *Service) Save(ctx context.Context, actor, source string, f Framework) (Record, bool, error) {
	return s.save(ctx, actor, source, "", f, nil)
}

func (s *Service) save(ctx context.Context, actor, source, owner string, f Framework, allow func(Record) error) (Record, bool, error) {
	if err := f.Validate(); err != nil {
		return Record{}, false, err
	}
	hash, err := hashFramework(f)
	if err != nil {
		return Record{}, false, fmt.Errorf("competency: hash: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	// A Moodle file carries no date; the first import dates it, outside
	// the hash so that the same file imported again is the same version.
	if f.LastChangeDateTime.IsZero() {
		f.LastChangeDateTime = now.Truncate(time.Second)
	}
	data, err := json.Marshal(f)
	if err != nil {
		return Record{}, false, fmt.Errorf("competency: encode: %w", err)
	}
	rec, created, err := s.store.AddFrameworkVersion(ctx, Record{ID: f.Identifier, Title: f.Title, Hash: hash, Source: source,
		Items: len(f.Items), CreatedBy: actor, CreatedAt: now, Owner: owner, Data: data}, allow)
	if errors.Is(err, ErrOfficial) || errors.Is(err, ErrNotOwner) {
		return Record{}, false, err
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("competency: save %s: %w", f.Identifier, err)
	}
	if created {
		s.log.InfoContext(ctx, "framework version", "framework", rec.ID, "version", rec.Version, "title", rec.Title, "actor", actor)
	}
	return rec, created, nil
}

// Formats of Import and Export.
const (
	FormatCASE      = "case"
	FormatMoodleCSV = "moodle-csv"
)

// ErrOfficial is returned (wrapped) when an import would change an
// official framework and the importer may not.
var ErrOfficial = errors.New("an official framework is changed only by the service's operator")

// ErrNotOwner is returned (wrapped, naming the owner) when an issuer's
// administrator would add a version to a framework another issuer owns.
var ErrNotOwner = errors.New("only its owner's administrators or the service's operator import new versions")

// Import reads a framework in format (FormatCASE or FormatMoodleCSV) and
// saves it, as the service's operator: any framework may change. Bad
// input is an *InputError naming the place.
func (s *Service) Import(ctx context.Context, actor, format string, data []byte) (Record, bool, error) {
	return s.importAs(ctx, actor, format, "", data, nil)
}

// ImportShared is Import for an administrator of issuer, who owns the
// frameworks they import first. Frameworks are shared by every issuer, so
// a new version (the same identifier, other content) would rewrite what
// other issuers' awards point to: for an official framework it is refused
// with ErrOfficial, for one another issuer owns (or none) with
// ErrNotOwner. The same content again is answered as Import does.
func (s *Service) ImportShared(ctx context.Context, actor, issuer, format string, data []byte) (Record, bool, error) {
	return s.importAs(ctx, actor, format, issuer, data, func(latest Record) error {
		switch {
		case latest.Source == SourceOfficial:
			return fmt.Errorf("competency: framework %s (%s): %w", latest.ID, latest.Title, ErrOfficial)
		case latest.Owner == "":
			return fmt.Errorf("competency: framework %s (%s) belongs to no issuer: %w", latest.ID, latest.Title, ErrNotOwner)
		case latest.Owner != issuer:
			return fmt.Errorf("competency: framework %s (%s) belongs to issuer %s: %w", latest.ID, latest.Title, latest.Owner, ErrNotOwner)
		}
		return nil
	})
}

func (s *Service) importAs(ctx context.Context, actor, format, owner string, data []byte, allow func(Record) error) (Record, bool, error) {
	var (
		f   Framework
		err error
	)
	switch format {
	case FormatCASE:
		f, err = ImportCASE(data)
	case FormatMoodleCSV:
		f, err = ImportMoodleCSV(data)
	default:
		return Record{}, false, inputErr("format", "unknown format %q: want %s or %s", format, FormatCASE, FormatMoodleCSV)
	}
	if err != nil {
		return Record{}, false, err
	}
	return s.save(ctx, actor, format, owner, f, allow)
}

// SniffFormat guesses the format of a framework file from its first
// non-blank byte: a JSON object is CASE, anything else Moodle CSV.
func SniffFormat(data []byte) string {
	t := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return FormatCASE
	}
	return FormatMoodleCSV
}

// SeedOfficial stores the two official frameworks; it adds nothing when
// they are already there unchanged.
func (s *Service) SeedOfficial(ctx context.Context) error {
	fs, err := Official()
	if err != nil {
		return err
	}
	for _, f := range fs {
		if _, _, err := s.Save(ctx, "system", SourceOfficial, f); err != nil {
			return err
		}
	}
	return nil
}

// Framework returns one version of a framework (0: the latest).
func (s *Service) Framework(ctx context.Context, id string, version int) (*Record, Framework, error) {
	rec, err := s.store.FrameworkVersion(ctx, id, version)
	if err != nil {
		return nil, Framework{}, err
	}
	f, err := decodeFramework(rec)
	return rec, f, err
}

func decodeFramework(rec *Record) (Framework, error) {
	var f Framework
	if err := json.Unmarshal(rec.Data, &f); err != nil {
		return f, fmt.Errorf("competency: framework %s version %d: %w", rec.ID, rec.Version, err)
	}
	return f, nil
}

// Frameworks lists the latest version of every framework.
func (s *Service) Frameworks(ctx context.Context) ([]Record, error) {
	return s.store.LatestFrameworks(ctx)
}

// Versions lists the versions of a framework, newest first.
func (s *Service) Versions(ctx context.Context, id string) ([]Record, error) {
	return s.store.FrameworkVersions(ctx, id)
}

// Export writes one version of a framework (0: the latest) in format.
func (s *Service) Export(ctx context.Context, id string, version int, format string) ([]byte, error) {
	_, f, err := s.Framework(ctx, id, version)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatCASE, "":
		return ExportCASE(f, s.base)
	case FormatMoodleCSV:
		return ExportMoodleCSV(f)
	}
	return nil, inputErr("format", "unknown format %q: want %s or %s", format, FormatCASE, FormatMoodleCSV)
}

// Snapshot is the latest version of every stored framework, with indexes
// for looking items up. It is shared: callers must not modify it.
type Snapshot struct {
	// Key changes whenever a framework gets a new version.
	Key        string
	Frameworks []Framework
	Versions   map[string]int // framework id → version
	items      map[string]itemRef
	codes      map[string][]itemRef
}

type itemRef struct{ f, i int }

// Item returns the framework and item of an item identifier.
func (sn *Snapshot) Item(id string) (*Framework, *Item, bool) {
	r, ok := sn.items[id]
	if !ok {
		return nil, nil, false
	}
	return &sn.Frameworks[r.f], &sn.Frameworks[r.f].Items[r.i], true
}

// Latest returns the snapshot of the latest versions, rebuilt only when
// the store lists versions the cached one lacks.
func (s *Service) Latest(ctx context.Context) (*Snapshot, error) {
	heads, err := s.store.LatestFrameworks(ctx)
	if err != nil {
		return nil, err
	}
	var kb strings.Builder
	for _, h := range heads {
		kb.WriteString(h.ID + ":" + strconv.Itoa(h.Version) + ";")
	}
	key := kb.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap != nil && s.snap.Key == key {
		return s.snap, nil
	}
	old := s.snap
	sn := &Snapshot{Key: key, Versions: map[string]int{}, items: map[string]itemRef{}, codes: map[string][]itemRef{}}
	for _, h := range heads {
		var f Framework
		reused := false
		if old != nil && old.Versions[h.ID] == h.Version {
			for _, of := range old.Frameworks {
				if of.Identifier == h.ID {
					f, reused = of, true
					break
				}
			}
		}
		if !reused {
			rec, err := s.store.FrameworkVersion(ctx, h.ID, h.Version)
			if err != nil {
				return nil, err
			}
			if f, err = decodeFramework(rec); err != nil {
				return nil, err
			}
		}
		fi := len(sn.Frameworks)
		sn.Frameworks = append(sn.Frameworks, f)
		sn.Versions[h.ID] = h.Version
		for ii, it := range f.Items {
			sn.items[it.Identifier] = itemRef{fi, ii}
			if it.HumanCodingScheme != "" {
				sn.codes[it.HumanCodingScheme] = append(sn.codes[it.HumanCodingScheme], itemRef{fi, ii})
			}
		}
	}
	s.snap = sn
	return sn, nil
}

// MaxCompetencies caps the items named in one request.
const MaxCompetencies = 200

// Resolve turns item references (a human code such as "CC14" or "F1.5",
// or an item identifier) into Open Badges alignments to the latest
// versions. field names the list in errors ("competencies"). A code held
// by items of several frameworks must be given by identifier.
func (s *Service) Resolve(ctx context.Context, field string, refs []string) ([]badges.Alignment, error) {
	if len(refs) > MaxCompetencies {
		return nil, inputErr(field, "at most %d items", MaxCompetencies)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	sn, err := s.Latest(ctx)
	if err != nil {
		return nil, err
	}
	var out []badges.Alignment
	seen := map[string]bool{}
	for i, ref := range refs {
		where := fmt.Sprintf("%s[%d]", field, i)
		ref = strings.TrimSpace(ref)
		var f *Framework
		var it *Item
		if id, ok := normUUID(ref); ok {
			var found bool
			if f, it, found = sn.Item(id); !found {
				return nil, inputErr(where, "no framework item has the identifier %s", id)
			}
		} else {
			rs := sn.codes[ref]
			switch len(rs) {
			case 0:
				return nil, inputErr(where, "no framework item has the code %q", ref)
			case 1:
				f, it = &sn.Frameworks[rs[0].f], &sn.Frameworks[rs[0].f].Items[rs[0].i]
			default:
				var names []string
				for _, r := range rs {
					names = append(names, fmt.Sprintf("%s in %q", sn.Frameworks[r.f].Items[r.i].Identifier, sn.Frameworks[r.f].Title))
				}
				return nil, inputErr(where, "the code %q is used by several frameworks; give the item identifier (%s)", ref, strings.Join(names, ", "))
			}
		}
		if seen[it.Identifier] {
			continue
		}
		seen[it.Identifier] = true
		out = append(out, Alignment(*f, *it, s.base))
	}
	return out, nil
}

// MergeAlignments appends to have the alignments of add it lacks (same
// targetUrl).
func MergeAlignments(have, add []badges.Alignment) []badges.Alignment {
	for _, a := range add {
		if !slices.ContainsFunc(have, func(h badges.Alignment) bool { return h.TargetURL == a.TargetURL }) {
			have = append(have, a)
		}
	}
	return have
}

// SetLearnerAttributes sets a learner's attributes.
func (s *Service) SetLearnerAttributes(ctx context.Context, l Learner) error {
	l.Email = badges.NormalizeEmail(l.Email)
	if l.Email == "" || !strings.Contains(l.Email, "@") {
		return inputErr("email", "is not an e-mail address")
	}
	for name, v := range map[string]string{"name": l.Name, "academie": l.Academie, "departement": l.Departement, "discipline": l.Discipline} {
		if len(v) > 200 {
			return inputErr(name, "is longer than 200 characters")
		}
	}
	l.UpdatedAt = s.now()
	return s.store.SetLearnerAttributes(ctx, l)
}

// LearnerIssuers lists the issuers that issued a credential (in any state)
// to the learner at email.
func (s *Service) LearnerIssuers(ctx context.Context, email string) ([]string, error) {
	facts, err := s.store.LearnerCredentials(ctx, badges.NormalizeEmail(email))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range facts {
		if !slices.Contains(out, f.Issuer) {
			out = append(out, f.Issuer)
		}
	}
	return out, nil
}
