package completion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/issuing"
)

// Config is what a Service is built from.
type Config struct {
	Store   Store
	Issuing *issuing.Service
	Log     *slog.Logger
	Now     func() time.Time
	// SyncLimit is the most awards a Record call issues before it returns
	// (default 100); more are left to the worker (RunAwards). Negative:
	// Record never issues, the worker does everything.
	SyncLimit int
	// Lease is how long a worker holds the awards it claimed before
	// another may take them over (default 30 s).
	Lease time.Duration
}

// Service records completions and awards what they earn.
type Service struct {
	store     Store
	iss       *issuing.Service
	log       *slog.Logger
	now       func() time.Time
	syncLimit int
	lease     time.Duration
	wake      chan struct{}
}

// New returns a Service.
func New(c Config) *Service {
	s := &Service{store: c.Store, iss: c.Issuing, log: c.Log, now: c.Now, syncLimit: c.SyncLimit, lease: c.Lease, wake: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.syncLimit == 0 {
		s.syncLimit = 100
	}
	if s.lease <= 0 {
		s.lease = 30 * time.Second
	}
	return s
}

// MaxBatch caps one Record call.
const MaxBatch = 50000

// recordChunk is how many completions one transaction records.
const recordChunk = 1000

// actor names the completion service in the audit log.
const actor = "completion"

func inputErr(field, format string, args ...any) error {
	return &issuing.InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Record records completions and awards what they earn, for every
// issuer's mappings: the path of the LMS.
func (s *Service) Record(ctx context.Context, cs []Completion) (Result, error) {
	return s.RecordFor(ctx, nil, cs)
}

// RecordFor records completions sent on behalf of issuers: only those
// issuers' mappings are applied (nil means every issuer's). Parcours are
// applied whoever sent the completion: they build on achievements held,
// not on what the sender claims.
//
// The batch is checked whole first: one bad completion refuses it all,
// with an InputError naming completions[i].field, and nothing is stored.
func (s *Service) RecordFor(ctx context.Context, issuers []string, cs []Completion) (Result, error) {
	res := Result{}
	if len(cs) == 0 {
		return res, inputErr("completions", "at least one completion is required")
	}
	if len(cs) > MaxBatch {
		return res, inputErr("completions", "at most %d completions in one batch", MaxBatch)
	}
	now := s.now().UTC()
	cs, err := Check(cs, now)
	if err != nil {
		return res, err
	}
	stored := make([]Stored, 0, len(cs))
	seen := make(map[string]bool, len(cs))
	for _, c := range cs {
		k := Key(c)
		if seen[k] {
			res.Duplicates++
			continue
		}
		seen[k] = true
		stored = append(stored, Stored{Key: k, Completion: c, ReceivedAt: now})
	}
	rules, err := s.rules(ctx, issuers, stored)
	if err != nil {
		return res, err
	}
	var decided []Award
	for start := 0; start < len(stored); start += recordChunk {
		part := stored[start:min(start+recordChunk, len(stored))]
		as, recorded, err := s.recordChunk(ctx, rules, part)
		if err != nil {
			return res, err
		}
		res.Recorded += recorded
		res.Duplicates += len(part) - recorded
		decided = append(decided, as...)
	}
	if len(decided) == 0 {
		return res, nil
	}
	if s.syncLimit >= 0 && len(decided) <= s.syncLimit {
		ids := make([]string, len(decided))
		for i, a := range decided {
			ids[i] = a.CredentialID
		}
		claimed, err := s.store.ClaimAwards(ctx, ids, 0, s.now(), s.now().Add(s.lease))
		if err == nil {
			res.Awarded, err = s.issue(ctx, claimed)
		}
		if err != nil {
			// Recorded and decided: the worker issues them later.
			s.log.WarnContext(ctx, "completion awards left to the worker", "awards", len(decided), "err", err)
		}
	}
	res.Pending = len(decided) - len(res.Awarded)
	if res.Pending > 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	s.log.InfoContext(ctx, "completions", "recorded", res.Recorded, "duplicates", res.Duplicates, "awarded", len(res.Awarded), "pending", res.Pending)
	return res, nil
}

// Check validates completions as Record does, without storing anything,
// and returns them normalized (e-mail addresses lower-cased, dates in UTC
// to the millisecond). Its error is an InputError naming
// completions[i].field.
func Check(cs []Completion, now time.Time) ([]Completion, error) {
	out := make([]Completion, len(cs))
	for i, c := range cs {
		n, err := normalize(fmt.Sprintf("completions[%d]", i), c, now)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// rules are the mappings a batch may match and every parcours.
type rules struct {
	mappings map[string][]Mapping // kind \x00 value -> mappings
	memberOf map[string][]*Parcours
	names    map[string]string // achievement id -> name, filled as needed
}

func (s *Service) rules(ctx context.Context, issuers []string, cs []Stored) (*rules, error) {
	vals := map[string]bool{}
	for _, c := range cs {
		for _, v := range c.Activity.identifiers() {
			if v != "" {
				vals[v] = true
			}
		}
	}
	list := make([]string, 0, len(vals))
	for v := range vals {
		list = append(list, v)
	}
	ms, err := s.store.MappingsFor(ctx, list)
	if err != nil {
		return nil, err
	}
	r := &rules{mappings: map[string][]Mapping{}, memberOf: map[string][]*Parcours{}, names: map[string]string{}}
	for _, m := range ms {
		if issuers != nil && !slices.Contains(issuers, m.Issuer) {
			continue
		}
		r.mappings[m.Kind+"\x00"+m.Value] = append(r.mappings[m.Kind+"\x00"+m.Value], m)
	}
	ps, err := s.store.ParcoursList(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range ps {
		for _, m := range ps[i].Members {
			r.memberOf[m] = append(r.memberOf[m], &ps[i])
		}
	}
	// The names of the modules of the parcours this batch may complete,
	// for their evidence: read now, as the recording transaction must not
	// wait on another connection.
	reach := map[string]bool{}
	var todo []string
	for _, list := range r.mappings {
		for _, m := range list {
			todo = append(todo, m.AchievementID)
		}
	}
	for len(todo) > 0 {
		a := todo[0]
		todo = todo[1:]
		if reach[a] {
			continue
		}
		reach[a] = true
		for _, p := range r.memberOf[a] {
			for _, m := range p.Members {
				if _, ok := r.names[m]; !ok {
					r.names[m] = s.achievementName(ctx, m)
				}
			}
			todo = append(todo, p.AchievementID)
		}
	}
	return r, nil
}

// achievementName is an achievement's name, its URL when unknown.
func (s *Service) achievementName(ctx context.Context, id string) string {
	if a, err := s.iss.Achievement(ctx, id); err == nil {
		if spec, err := a.Spec(); err == nil && spec.Name != "" {
			return spec.Name
		}
	}
	return s.iss.AchievementURL(id)
}

// parcoursDepth bounds a chain of parcours made of parcours.
const parcoursDepth = 5

// recordChunk records completions in one transaction and decides the
// awards they earn, parcours included; it returns the new decisions.
func (s *Service) recordChunk(ctx context.Context, r *rules, cs []Stored) ([]Award, int, error) {
	learners := make([]Learner, 0, len(cs))
	names := map[string]string{}
	for _, c := range cs {
		learners = append(learners, c.Learner)
		if c.Learner.Name != "" {
			names[c.Learner.Email] = c.Learner.Name
		}
	}
	learners = mergeLearners(learners)
	var decided []Award
	recorded := 0
	err := s.store.Record(ctx, learners, func(tx Tx) error {
		decided, recorded = nil, 0
		fresh, err := tx.InsertCompletions(ctx, cs)
		if err != nil {
			return err
		}
		var cands []Award
		pairs := map[string]bool{}
		for i, c := range cs {
			if !fresh[i] {
				continue
			}
			recorded++
			for k, v := range c.Activity.identifiers() {
				if v == "" || !c.Activity.names(Kinds[k]) {
					continue
				}
				for _, m := range r.mappings[Kinds[k]+"\x00"+v] {
					pair := c.Learner.Email + "\x00" + m.AchievementID
					if pairs[pair] || !m.Conditions.Satisfied(c.Completion) {
						continue
					}
					pairs[pair] = true
					cands = append(cands, Award{Learner: c.Learner.Email, AchievementID: m.AchievementID, Issuer: m.Issuer,
						CredentialID: newUUID(), State: AwardPending, Reason: "mapping:" + m.ID, CompletionKey: c.Key,
						Name: names[c.Learner.Email], Evidence: Evidence(c.Completion), CreatedAt: s.now()})
				}
			}
		}
		if cands, err = liveOnly(ctx, tx, cands); err != nil {
			return err
		}
		frontier, err := insertNew(ctx, tx, cands)
		if err != nil {
			return err
		}
		decided = append(decided, frontier...)
		for depth := 0; len(frontier) > 0 && depth < parcoursDepth; depth++ {
			next, err := s.parcoursEarned(ctx, tx, r, frontier, names)
			if err == nil {
				next, err = liveOnly(ctx, tx, next)
			}
			if err != nil {
				return err
			}
			if frontier, err = insertNew(ctx, tx, next); err != nil {
				return err
			}
			decided = append(decided, frontier...)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("record completions: %w", err)
	}
	return decided, recorded, nil
}

func insertNew(ctx context.Context, tx Tx, as []Award) ([]Award, error) {
	if len(as) == 0 {
		return nil, nil
	}
	fresh, err := tx.InsertAwards(ctx, as)
	if err != nil {
		return nil, err
	}
	var out []Award
	for i, a := range as {
		if fresh[i] {
			out = append(out, a)
		}
	}
	return out, nil
}

// parcoursEarned returns the parcours awards that the new awards complete.
// It runs in the recording transaction, which holds the learners' locks:
// of two completions arriving together for a parcours' last two modules,
// the second to commit sees the first's award, so the parcours is decided
// once, never zero times nor twice.
func (s *Service) parcoursEarned(ctx context.Context, tx Tx, r *rules, news []Award, names map[string]string) ([]Award, error) {
	type check struct {
		learner string
		p       *Parcours
	}
	var checks []check
	seen := map[string]bool{}
	learners := map[string]bool{}
	achs := map[string]bool{}
	for _, a := range news {
		for _, p := range r.memberOf[a.AchievementID] {
			k := a.Learner + "\x00" + p.ID
			if seen[k] {
				continue
			}
			seen[k] = true
			checks = append(checks, check{a.Learner, p})
			learners[a.Learner] = true
			for _, m := range p.Members {
				achs[m] = true
			}
		}
	}
	if len(checks) == 0 {
		return nil, nil
	}
	hs, err := tx.AchievementHoldings(ctx, keys(learners), keys(achs))
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, h := range hs {
		held[h.Learner+"\x00"+h.AchievementID] = true
	}
	var out []Award
	for _, c := range checks {
		n := 0
		for _, m := range c.p.Members {
			if held[c.learner+"\x00"+m] {
				n++
			}
		}
		if n < c.p.needed() {
			continue
		}
		ev := parcoursEvidence(r, c.p, c.learner, held)
		out = append(out, Award{Learner: c.learner, AchievementID: c.p.AchievementID, Issuer: c.p.Issuer, CredentialID: newUUID(),
			State: AwardPending, Reason: "parcours:" + c.p.ID, Name: names[c.learner], Evidence: ev, CreatedAt: s.now()})
	}
	return out, nil
}

// parcoursEvidence names the modules the learner holds.
func parcoursEvidence(r *rules, p *Parcours, learner string, held map[string]bool) []issuing.EvidenceInput {
	var got []string
	for _, m := range p.Members {
		if held[learner+"\x00"+m] {
			got = append(got, "« "+r.names[m]+" »")
		}
	}
	return []issuing.EvidenceInput{{
		Name:      "Parcours achevé",
		Narrative: fmt.Sprintf("A obtenu %d des %d badges du parcours : %s.", len(got), len(p.Members), strings.Join(got, ", ")),
		Genre:     "Parcours",
	}}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// mergeLearners keeps one entry per e-mail address, each attribute the
// last non-empty one given.
func mergeLearners(ls []Learner) []Learner {
	idx := map[string]int{}
	var out []Learner
	for _, l := range ls {
		i, ok := idx[l.Email]
		if !ok {
			idx[l.Email] = len(out)
			out = append(out, Learner{Email: l.Email})
			i = len(out) - 1
		}
		o := &out[i]
		for _, f := range [][2]*string{{&o.Name, &l.Name}, {&o.Academie, &l.Academie}, {&o.Departement, &l.Departement}, {&o.Discipline, &l.Discipline}} {
			if *f[1] != "" {
				*f[0] = *f[1]
			}
		}
	}
	return out
}

// Key identifies a completion: who sent it, the learner, the activity's
// identifiers, when and the outcome. The same completion sent again (a
// replay, a retry, a batch resent in another order) has the same key.
func Key(c Completion) string {
	passed, score := "-", "-"
	if c.Passed != nil {
		passed = strconv.FormatBool(*c.Passed)
	}
	if c.Score != nil {
		score = strconv.FormatFloat(*c.Score, 'g', -1, 64)
	}
	h := sha256.New()
	for _, f := range []string{"v1", c.Client, c.Learner.Email, ActivityKey(c.Activity), strconv.FormatInt(c.At.UnixMilli(), 10),
		strconv.FormatBool(c.Completed), passed, score} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ActivityKey is the activity's identifiers as one readable string.
func ActivityKey(a Activity) string {
	var b strings.Builder
	for k, v := range a.identifiers() {
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Kinds[k])
		b.WriteByte('=')
		b.WriteString(strconv.Quote(v))
	}
	return b.String()
}

// normalize checks a completion and returns it with its e-mail address
// normalized and its date in UTC.
func normalize(field string, c Completion, now time.Time) (Completion, error) {
	str := func(f, v string, max int) error {
		if utf8.RuneCountInString(v) > max {
			return inputErr(field+"."+f, "is longer than %d characters", max)
		}
		if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return inputErr(field+"."+f, "holds control characters or invalid UTF-8")
		}
		return nil
	}
	if c.Source == "" {
		return c, inputErr(field+".source", "is required (xapi, json, csv, moodle-ws…)")
	}
	for _, x := range []struct {
		f, v string
		max  int
	}{
		{"source", c.Source, 32}, {"sourceRef", c.SourceRef, 200}, {"client", c.Client, 200},
		{"learner.email", c.Learner.Email, 254}, {"learner.name", c.Learner.Name, 200},
		{"learner.accountHomePage", c.Learner.AccountHomePage, 500}, {"learner.accountName", c.Learner.AccountName, 200},
		{"learner.academie", c.Learner.Academie, 100}, {"learner.departement", c.Learner.Departement, 100}, {"learner.discipline", c.Learner.Discipline, 100},
		{"activity.id", c.Activity.ID, 2000}, {"activity.moodleCourseId", c.Activity.MoodleCourseID, 100},
		{"activity.courseShortName", c.Activity.CourseShortName, 255}, {"activity.moodleModuleId", c.Activity.MoodleModuleID, 100},
		{"activity.name", c.Activity.Name, 500}, {"activity.gaiaDispositif", c.Activity.GAIADispositif, 100},
		{"activity.gaiaModule", c.Activity.GAIAModule, 100}, {"activity.gaiaSession", c.Activity.GAIASession, 100},
		{"activity.matricule", c.Activity.Matricule, 255},
	} {
		if err := str(x.f, x.v, x.max); err != nil {
			return c, err
		}
	}
	email := strings.TrimSpace(c.Learner.Email)
	if email == "" {
		return c, inputErr(field+".learner.email", "is required: credentials are awarded to an e-mail address")
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return c, inputErr(field+".learner.email", "%q is not an e-mail address", email)
	}
	c.Learner.Email = badges.NormalizeEmail(email)
	c.Learner.Name = strings.TrimSpace(c.Learner.Name)
	empty := true
	for _, v := range c.Activity.identifiers() {
		if strings.TrimSpace(v) != v {
			return c, inputErr(field+".activity", "identifiers may not start or end with spaces")
		}
		if v != "" {
			empty = false
		}
	}
	if empty {
		return c, inputErr(field+".activity", "needs at least one identifier (id, moodleCourseId, courseShortName, moodleModuleId, gaiaDispositif, gaiaModule, gaiaSession or matricule)")
	}
	if c.Activity.ID != "" {
		if u, err := url.Parse(c.Activity.ID); err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
			return c, inputErr(field+".activity.id", "must be an absolute IRI (the xAPI activity id)")
		}
	}
	if !c.Completed && c.Passed == nil {
		return c, inputErr(field+".completed", "the completion says neither completed nor passed")
	}
	if c.Score != nil && (math.IsNaN(*c.Score) || *c.Score < 0 || *c.Score > 1) {
		return c, inputErr(field+".score", "must be a scaled score between 0 and 1")
	}
	if c.At.IsZero() {
		return c, inputErr(field+".at", "is required: when the learner completed the activity")
	}
	if c.At.Year() < 2000 || c.At.After(now.Add(24*time.Hour)) {
		return c, inputErr(field+".at", "%s is not a plausible completion date", c.At.Format(time.RFC3339))
	}
	if c.Duration < 0 || c.Duration > 366*24*time.Hour {
		return c, inputErr(field+".duration", "must be between 0 and a year")
	}
	c.At = c.At.UTC().Truncate(time.Millisecond)
	return c, nil
}

// Evidence describes a completion as OB 3.0 evidence: the activity (its
// id when it is a web address), what was completed, when, how long and
// with what result.
func Evidence(c Completion) []issuing.EvidenceInput {
	a := c.Activity
	name := a.Name
	if name == "" {
		name = a.CourseShortName
	}
	if name == "" {
		name = "l'activité"
	}
	var b strings.Builder
	verb := "A achevé"
	if c.Passed != nil && *c.Passed {
		verb = "A réussi"
	}
	fmt.Fprintf(&b, "%s « %s » le %s (UTC).", verb, name, c.At.UTC().Format("02/01/2006 à 15:04"))
	if c.Duration > 0 {
		fmt.Fprintf(&b, " Temps passé : %s.", frenchDuration(c.Duration))
	}
	if c.Score != nil {
		fmt.Fprintf(&b, " Score : %s %%.", strconv.FormatFloat(math.Round(*c.Score*1000)/10, 'f', -1, 64))
	}
	var ids []string
	for _, x := range [][2]string{{"cours Moodle", a.MoodleCourseID}, {"nom abrégé", a.CourseShortName}, {"module Moodle", a.MoodleModuleID},
		{"dispositif GAIA", a.GAIADispositif}, {"module GAIA", a.GAIAModule}, {"session GAIA", a.GAIASession}, {"matricule du parcours", a.Matricule}} {
		if x[1] != "" {
			ids = append(ids, x[0]+" "+x[1])
		}
	}
	if len(ids) > 0 {
		fmt.Fprintf(&b, " Identifiants : %s.", strings.Join(ids, ", "))
	}
	e := issuing.EvidenceInput{Name: name, Narrative: b.String(), Genre: "Achèvement de formation"}
	if u, err := url.Parse(a.ID); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		e.URL = a.ID
	} else if a.ID != "" {
		e.Description = "Activité xAPI " + a.ID
	}
	return []issuing.EvidenceInput{e}
}

func frenchDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0 && m == 0:
		return "moins d'une minute"
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %02d min", h, m)
}
