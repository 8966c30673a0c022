package completion_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/issuing/issuingtest"
	"github.com/insigne/insigne/store/storetest"
)

const base = "https://badges.example.fr"

type fixture struct {
	*issuingtest.Fixture
	svc      *completion.Service
	verifier *badges.Verifier
	clock    *clock
}

// clock is a settable time for lease expiry.
type clock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.d)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.d += d
	c.mu.Unlock()
}

func newFixture(t testing.TB, dsn string, syncLimit int) *fixture {
	t.Helper()
	it := issuingtest.New(t, dsn, issuingtest.Config{BaseURL: base})
	c := &clock{}
	svc := completion.New(completion.Config{Store: it.DB, Issuing: it.Service, SyncLimit: syncLimit, Now: c.now})
	return &fixture{Fixture: it, svc: svc, verifier: it.Verifier(), clock: c}
}

func each(t *testing.T, syncLimit int, fn func(t *testing.T, f *fixture)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, newFixture(t, b.DSN(t), syncLimit)) })
	}
}

// alignments are the official items the mapped course evidences.
func alignments(t testing.TB) []badges.Alignment {
	t.Helper()
	fs, err := competency.Official()
	if err != nil {
		t.Fatal(err)
	}
	var out []badges.Alignment
	for _, code := range []string{"CC14", "P3", "F1.5"} {
		found := false
		for _, f := range fs {
			if it, ok := f.Item(code); ok {
				out = append(out, competency.Alignment(f, it, base))
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("no official item %s", code)
		}
	}
	return out
}

func (f *fixture) mapping(t testing.TB, in completion.MappingInput) *completion.Mapping {
	t.Helper()
	m, err := f.svc.NewMapping(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SaveMapping(context.Background(), "test", m); err != nil {
		t.Fatal(err)
	}
	return m
}

// credentials returns the credentials of an achievement.
func (f *fixture) credentials(t testing.TB, ach string) []issuing.Credential {
	t.Helper()
	cs, total, err := f.Service.Credentials(context.Background(), issuing.CredentialQuery{AchievementID: ach, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(cs) {
		t.Fatalf("%d credentials listed of %d", len(cs), total)
	}
	return cs
}

func (f *fixture) verify(t testing.TB, c issuing.Credential) {
	t.Helper()
	r, err := f.verifier.Verify(context.Background(), c.Signed, badges.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != badges.Valid {
		for _, ch := range r.Checks {
			if !ch.OK || ch.Warning {
				t.Logf("%s: %s", ch.Name, ch.Message)
			}
		}
		t.Fatalf("credential %s: %s", c.ID, r.Verdict)
	}
}

const course = "https://magistere.example.fr/course/view.php?id=42"

func learnerCompletion(i int) completion.Completion {
	return completion.Completion{Source: "json", Client: "test",
		Learner:   completion.Learner{Email: fmt.Sprintf("Enseignant%02d@AC-Lyon.fr", i), Name: fmt.Sprintf("Enseignant %02d", i), Academie: "Lyon", Departement: "69", Discipline: "Mathématiques"},
		Activity:  completion.Activity{ID: course, MoodleCourseID: "42", CourseShortName: "NUM-2026", Name: "Enseigner avec le numérique"},
		Completed: true, At: time.Date(2026, 11, 20, 14, 3, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute), Duration: 2*time.Hour + 15*time.Minute}
}

func shuffled[T any](xs []T) []T {
	out := slices.Clone(xs)
	for i := len(out) - 1; i > 0; i-- {
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return out
}

func (f *fixture) record(t testing.TB, cs []completion.Completion) completion.Result {
	t.Helper()
	res, err := f.svc.Record(context.Background(), cs)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	return res
}

// 50 learners complete a mapped course; the completions are sent again,
// twice, in another order and concurrently: exactly 50 credentials, each
// aligned to the mapped items, carrying the completion as evidence, each
// verifying.
func TestFiftyLearnersOneCredentialEach(t *testing.T) {
	each(t, 0, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.Issuer(t, "ac-lyon", "Académie de Lyon")
		al := alignments(t)
		ach := f.Achievement(t, "ac-lyon", "Enseigner avec le numérique", al...).ID
		f.mapping(t, completion.MappingInput{Activity: course, Achievement: base + "/achievements/" + ach})
		// An unmapped course and a mapping of another course change nothing.
		other := f.Achievement(t, "ac-lyon", "Autre parcours").ID
		f.mapping(t, completion.MappingInput{Activity: "99", Kind: completion.KindMoodleCourse, Achievement: other})

		var cs []completion.Completion
		for i := range 50 {
			cs = append(cs, learnerCompletion(i))
		}
		// First arrival: two overlapping halves at once.
		var wg sync.WaitGroup
		results := make([]completion.Result, 2)
		for k, part := range [][]completion.Completion{cs[:35], cs[15:]} {
			wg.Go(func() {
				res, err := f.svc.Record(ctx, part)
				if err != nil {
					t.Errorf("Record: %v", err)
				}
				results[k] = res
			})
		}
		wg.Wait()
		if got := results[0].Recorded + results[1].Recorded; got != 50 {
			t.Fatalf("first arrival recorded %d, want 50 (%+v)", got, results)
		}
		if got := len(results[0].Awarded) + len(results[1].Awarded) + results[0].Pending + results[1].Pending; got != 50 {
			t.Fatalf("first arrival decided %d awards, want 50 (%+v)", got, results)
		}
		// Again, twice; reversed; shuffled from three senders at once.
		for range 2 {
			if res := f.record(t, cs); res.Recorded != 0 || res.Duplicates != 50 || len(res.Awarded) != 0 || res.Pending != 0 {
				t.Fatalf("resent: %+v", res)
			}
		}
		rev := slices.Clone(cs)
		slices.Reverse(rev)
		if res := f.record(t, rev); res.Recorded != 0 || res.Duplicates != 50 {
			t.Fatalf("reversed: %+v", res)
		}
		for range 3 {
			wg.Go(func() {
				if _, err := f.svc.Record(ctx, shuffled(cs)); err != nil {
					t.Errorf("Record: %v", err)
				}
			})
		}
		wg.Wait()
		if n, err := f.svc.IssuePending(ctx); err != nil || n != 0 {
			t.Fatalf("IssuePending: %d %v", n, err)
		}

		creds := f.credentials(t, ach)
		if len(creds) != 50 {
			t.Fatalf("%d credentials, want 50", len(creds))
		}
		if n := len(f.credentials(t, other)); n != 0 {
			t.Fatalf("%d credentials of the unmapped achievement", n)
		}
		seen := map[string]bool{}
		for _, c := range creds {
			if seen[c.RecipientEmail] {
				t.Fatalf("%s has two credentials", c.RecipientEmail)
			}
			seen[c.RecipientEmail] = true
			var doc struct {
				CredentialSubject struct {
					Achievement struct{ Alignment []badges.Alignment }
				} `json:"credentialSubject"`
				Evidence []badges.Evidence
			}
			if err := json.Unmarshal(c.Signed, &doc); err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(doc.CredentialSubject.Achievement.Alignment, al, func(a, b badges.Alignment) bool {
				return a.TargetURL == b.TargetURL && a.TargetCode == b.TargetCode && a.TargetName == b.TargetName && a.TargetType == "CFItem"
			}) {
				t.Fatalf("alignment %+v, want %+v", doc.CredentialSubject.Achievement.Alignment, al)
			}
			if len(doc.Evidence) != 1 || doc.Evidence[0].ID != course || !strings.Contains(doc.Evidence[0].Narrative, "Temps passé : 2 h 15 min") ||
				!strings.Contains(doc.Evidence[0].Narrative, "cours Moodle 42") || !strings.Contains(doc.Evidence[0].Narrative, "20/11/2026") {
				t.Fatalf("evidence %+v", doc.Evidence)
			}
		}
		for i := range 50 {
			if !seen[fmt.Sprintf("enseignant%02d@ac-lyon.fr", i)] {
				t.Fatalf("learner %d has no credential", i)
			}
		}
		for _, c := range creds {
			f.verify(t, c)
		}
	})
}

// Three micro-modules make a parcours: its badge is issued exactly once,
// when the last module arrives, whatever the order, and when modules
// arrive at the same time.
func TestParcoursOnceWhateverTheOrder(t *testing.T) {
	each(t, 0, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.Issuer(t, "ac-lyon", "Académie de Lyon")
		var modules []string
		for i := range 3 {
			m := f.Achievement(t, "ac-lyon", fmt.Sprintf("Micro-module %d", i+1)).ID
			f.mapping(t, completion.MappingInput{Activity: fmt.Sprint(101 + i), Kind: completion.KindMoodleModule, Achievement: m})
			modules = append(modules, m)
		}
		pAch := f.Achievement(t, "ac-lyon", "Parcours numérique", alignments(t)[:1]...).ID
		p, err := f.svc.NewParcours(ctx, completion.ParcoursInput{Achievement: pAch, Modules: modules})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.SaveParcours(ctx, "test", p); err != nil {
			t.Fatal(err)
		}
		module := func(email string, i int) completion.Completion {
			return completion.Completion{Source: "json", Learner: completion.Learner{Email: email},
				Activity:  completion.Activity{MoodleModuleID: fmt.Sprint(101 + i), Name: fmt.Sprintf("Micro-module %d", i+1)},
				Completed: true, At: time.Date(2026, 11, 2+i, 9, 0, 0, 0, time.UTC)}
		}
		held := func(email string) int {
			n := 0
			for _, c := range f.credentials(t, pAch) {
				if c.RecipientEmail == email {
					n++
				}
			}
			return n
		}
		perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
		for k, order := range perms {
			email := fmt.Sprintf("ordre%d@example.fr", k)
			for step, i := range order {
				res := f.record(t, []completion.Completion{module(email, i)})
				last := step == len(order)-1
				if want := map[bool]int{false: 1, true: 2}[last]; len(res.Awarded) != want {
					t.Fatalf("order %v step %d: %+v, want %d credentials", order, step, res, want)
				}
				if got, want := held(email), map[bool]int{false: 0, true: 1}[last]; got != want {
					t.Fatalf("order %v step %d: %d parcours credentials, want %d", order, step, got, want)
				}
			}
			// The whole parcours again changes nothing.
			f.record(t, []completion.Completion{module(email, 2), module(email, 1), module(email, 0)})
			if got := held(email); got != 1 {
				t.Fatalf("order %v resent: %d parcours credentials", order, got)
			}
		}
		// All three modules at once, each in its own request, for ten
		// learners together.
		var wg sync.WaitGroup
		for l := range 10 {
			for i := range 3 {
				wg.Go(func() {
					if _, err := f.svc.Record(ctx, []completion.Completion{module(fmt.Sprintf("ensemble%d@example.fr", l), i)}); err != nil {
						t.Errorf("Record: %v", err)
					}
				})
			}
		}
		wg.Wait()
		if _, err := f.svc.IssuePending(ctx); err != nil {
			t.Fatal(err)
		}
		for l := range 10 {
			if got := held(fmt.Sprintf("ensemble%d@example.fr", l)); got != 1 {
				t.Fatalf("concurrent learner %d: %d parcours credentials", l, got)
			}
		}
		cs := f.credentials(t, pAch)
		f.verify(t, cs[0])
		var doc struct{ Evidence []badges.Evidence }
		json.Unmarshal(cs[0].Signed, &doc)
		if len(doc.Evidence) != 1 || !strings.Contains(doc.Evidence[0].Narrative, "« Micro-module 2 »") {
			t.Fatalf("parcours evidence %+v", doc.Evidence)
		}
		// Progress: complete for one, two of three for another.
		f.record(t, []completion.Completion{module("moitie@example.fr", 0), module("moitie@example.fr", 2)})
		for email, want := range map[string][2]any{"ordre0@example.fr": {3, true}, "moitie@example.fr": {2, false}, "personne@example.fr": {0, false}} {
			pr, err := f.svc.LearnerProgress(ctx, email, func(string) bool { return true })
			if err != nil || len(pr) != 1 {
				t.Fatalf("progress of %s: %+v %v", email, pr, err)
			}
			if pr[0].Held != want[0] || pr[0].Complete != want[1] || pr[0].Required != 3 || len(pr[0].Modules) != 3 {
				t.Fatalf("progress of %s: %+v, want %v", email, pr[0], want)
			}
		}
	})
}

// A parcours of "2 of 3" is awarded at the second module, once.
func TestParcoursNOfM(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0)
	ctx := context.Background()
	f.Issuer(t, "ac-lyon", "Académie de Lyon")
	var modules []string
	for i := range 3 {
		m := f.Achievement(t, "ac-lyon", fmt.Sprintf("Module %d", i)).ID
		f.mapping(t, completion.MappingInput{Activity: fmt.Sprintf("https://magistere.example.fr/mod/%d", i), Achievement: m})
		modules = append(modules, m)
	}
	pAch := f.Achievement(t, "ac-lyon", "Deux sur trois").ID
	p, err := f.svc.NewParcours(ctx, completion.ParcoursInput{Achievement: pAch, Modules: modules, Required: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.SaveParcours(ctx, "t", p)
	for i, want := range []int{0, 1, 1} {
		f.record(t, []completion.Completion{{Source: "json", Learner: completion.Learner{Email: "a@example.fr"},
			Activity: completion.Activity{ID: fmt.Sprintf("https://magistere.example.fr/mod/%d", i)}, Completed: true, At: time.Now().Add(-time.Hour)}})
		if got := len(f.credentials(t, pAch)); got != want {
			t.Fatalf("after module %d: %d parcours credentials, want %d", i, got, want)
		}
	}
}

// Conditions: passed, minimum score and date window.
func TestMappingConditions(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0)
	f.Issuer(t, "ac-lyon", "Académie de Lyon")
	ach := f.Achievement(t, "ac-lyon", "Quiz").ID
	from := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	min := 0.8
	f.mapping(t, completion.MappingInput{Activity: "QUIZ-1", Kind: completion.KindCourseShortName, Achievement: ach,
		Conditions: &completion.Conditions{Passed: true, MinScore: &min, From: &from, Until: &until}})
	yes, no := true, false
	score := func(v float64) *float64 { return &v }
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		c    completion.Completion
		want int
	}{
		{completion.Completion{Completed: true, Score: score(0.9), At: at}, 0},                               // not said passed
		{completion.Completion{Completed: true, Passed: &no, Score: score(0.9), At: at}, 0},                  // failed
		{completion.Completion{Passed: &yes, Score: score(0.7), At: at}, 0},                                  // score too low
		{completion.Completion{Passed: &yes, Score: score(0.9), At: from.Add(-time.Hour)}, 0},                // too early
		{completion.Completion{Passed: &yes, At: at}, 0},                                                     // no score
		{completion.Completion{Passed: &yes, Score: score(0.8), At: at, Activity: completion.Activity{}}, 1}, // all met
	} {
		tc.c.Source = "json"
		tc.c.Learner = completion.Learner{Email: fmt.Sprintf("l%d@example.fr", i)}
		tc.c.Activity.CourseShortName = "QUIZ-1"
		f.record(t, []completion.Completion{tc.c})
		if got := len(f.credentials(t, ach)); got != tc.want {
			t.Fatalf("case %d: %d credentials, want %d", i, got, tc.want)
		}
	}
}

// A module's completion names its course too (as Moodle's statements do):
// it earns the module's badge, never the course's.
func TestModuleCompletionDoesNotEarnItsCourse(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0)
	f.Issuer(t, "ac-lyon", "Académie de Lyon")
	courseBadge := f.Achievement(t, "ac-lyon", "Cours").ID
	moduleBadge := f.Achievement(t, "ac-lyon", "Module").ID
	f.mapping(t, completion.MappingInput{Activity: "42", Kind: completion.KindMoodleCourse, Achievement: courseBadge})
	f.mapping(t, completion.MappingInput{Activity: "SHORT-42", Kind: completion.KindCourseShortName, Achievement: courseBadge})
	f.mapping(t, completion.MappingInput{Activity: "7", Kind: completion.KindMoodleModule, Achievement: moduleBadge})
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	module := completion.Completion{Source: "json", Learner: completion.Learner{Email: "ana@example.fr"}, Completed: true, At: at,
		Activity: completion.Activity{MoodleCourseID: "42", CourseShortName: "SHORT-42", MoodleModuleID: "7"}}
	f.record(t, []completion.Completion{module})
	if n, m := len(f.credentials(t, courseBadge)), len(f.credentials(t, moduleBadge)); n != 0 || m != 1 {
		t.Fatalf("after the module: %d course credentials (want 0), %d module credentials (want 1)", n, m)
	}
	course := module
	course.Activity = completion.Activity{MoodleCourseID: "42", CourseShortName: "SHORT-42"}
	f.record(t, []completion.Completion{course})
	if n := len(f.credentials(t, courseBadge)); n != 1 {
		t.Fatalf("after the course: %d course credentials, want 1", n)
	}
}

// Bad completions are refused whole, naming the field; nothing is stored.
func TestBadCompletionsStoreNothing(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0)
	f.Issuer(t, "ac-lyon", "Académie de Lyon")
	ach := f.Achievement(t, "ac-lyon", "Cours").ID
	f.mapping(t, completion.MappingInput{Activity: course, Achievement: ach})
	good := learnerCompletion(1)
	score := 1.5
	for _, tc := range []struct {
		bad   func(c *completion.Completion)
		field string
	}{
		{func(c *completion.Completion) { c.Learner.Email = "" }, "completions[1].learner.email"},
		{func(c *completion.Completion) { c.Learner.Email = "pas une adresse" }, "completions[1].learner.email"},
		{func(c *completion.Completion) { c.Activity = completion.Activity{Name: "sans identifiant"} }, "completions[1].activity"},
		{func(c *completion.Completion) { c.Activity.ID = "not an iri" }, "completions[1].activity.id"},
		{func(c *completion.Completion) { c.Completed = false }, "completions[1].completed"},
		{func(c *completion.Completion) { c.Score = &score }, "completions[1].score"},
		{func(c *completion.Completion) { c.At = time.Time{} }, "completions[1].at"},
		{func(c *completion.Completion) { c.At = time.Now().Add(72 * time.Hour) }, "completions[1].at"},
		{func(c *completion.Completion) { c.Learner.Name = "a\x00b" }, "completions[1].learner.name"},
		{func(c *completion.Completion) { c.Source = "" }, "completions[1].source"},
		{func(c *completion.Completion) { c.Duration = -time.Second }, "completions[1].duration"},
	} {
		bad := learnerCompletion(2)
		tc.bad(&bad)
		_, err := f.svc.Record(context.Background(), []completion.Completion{good, bad})
		var in *issuing.InputError
		if !errors.As(err, &in) || in.Field != tc.field {
			t.Fatalf("want an input error on %s, got %v", tc.field, err)
		}
	}
	if _, err := f.svc.Record(context.Background(), nil); err == nil {
		t.Fatal("an empty batch was accepted")
	}
	if as, _ := f.DB.Awards(context.Background(), "enseignant01@ac-lyon.fr"); len(as) != 0 {
		t.Fatalf("awards stored from refused batches: %+v", as)
	}
	// The good completion was never stored: sent alone it is new.
	if res := f.record(t, []completion.Completion{good}); res.Recorded != 1 || len(res.Awarded) != 1 {
		t.Fatalf("good completion after refused batches: %+v", res)
	}
}

// Decided awards survive a crash: deferred, then issued by the worker;
// one whose credential was stored before the crash is not issued again.
func TestDeferredAwardsSurviveACrash(t *testing.T) {
	each(t, -1, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.Issuer(t, "ac-lyon", "Académie de Lyon")
		ach := f.Achievement(t, "ac-lyon", "Cours").ID
		f.mapping(t, completion.MappingInput{Activity: course, Achievement: ach})
		var cs []completion.Completion
		for i := range 20 {
			cs = append(cs, learnerCompletion(i))
		}
		res := f.record(t, cs)
		if res.Recorded != 20 || res.Pending != 20 || len(res.Awarded) != 0 {
			t.Fatalf("deferred: %+v", res)
		}
		if n := len(f.credentials(t, ach)); n != 0 {
			t.Fatalf("%d credentials before the worker ran", n)
		}
		// A node claims five and dies after storing their credentials,
		// before noting it.
		claimed, err := f.DB.ClaimAwards(ctx, nil, 5, f.clock.now(), f.clock.now().Add(30*time.Second))
		if err != nil || len(claimed) != 5 {
			t.Fatalf("claim: %d %v", len(claimed), err)
		}
		var rs []issuing.RecipientInput
		for _, a := range claimed {
			rs = append(rs, issuing.RecipientInput{Email: a.Learner, CredentialID: a.CredentialID, Evidence: a.Evidence})
		}
		p, err := f.Service.Prepare(ctx, issuing.AwardRequest{Achievement: ach, Recipients: rs})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Service.Award(ctx, "dead node", p); err != nil {
			t.Fatal(err)
		}
		// Issuing a chosen id twice is refused by the store.
		if _, err := f.Service.Award(ctx, "dead node", p); !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("second award of the same credential ids: %v", err)
		}
		// The worker issues the other fifteen now and, once the lease
		// runs out, notes the five.
		if n, err := f.svc.IssuePending(ctx); err != nil || n != 15 {
			t.Fatalf("worker: %d %v", n, err)
		}
		f.clock.advance(time.Minute)
		if n, err := f.svc.IssuePending(ctx); err != nil || n != 5 {
			t.Fatalf("worker after the lease: %d %v", n, err)
		}
		if n := len(f.credentials(t, ach)); n != 20 {
			t.Fatalf("%d credentials, want 20", n)
		}
		for _, c := range cs {
			as, _ := f.DB.Awards(ctx, strings.ToLower(c.Learner.Email))
			if len(as) != 1 || as[0].State != completion.AwardIssued {
				t.Fatalf("awards of %s: %+v", c.Learner.Email, as)
			}
		}
	})
}

// Completions sent for an issuer only apply its mappings.
func TestRecordForAppliesOnlyTheSendersIssuers(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), 0)
	f.Issuer(t, "ac-lyon", "Académie de Lyon")
	f.Issuer(t, "ac-nice", "Académie de Nice")
	lyon := f.Achievement(t, "ac-lyon", "Lyon").ID
	nice := f.Achievement(t, "ac-nice", "Nice").ID
	f.mapping(t, completion.MappingInput{Activity: course, Achievement: lyon})
	f.mapping(t, completion.MappingInput{Activity: course, Achievement: nice})
	res, err := f.svc.RecordFor(context.Background(), []string{"ac-lyon"}, []completion.Completion{learnerCompletion(1)})
	if err != nil || len(res.Awarded) != 1 {
		t.Fatalf("RecordFor: %+v %v", res, err)
	}
	if len(f.credentials(t, lyon)) != 1 || len(f.credentials(t, nice)) != 0 {
		t.Fatal("a completion sent for ac-lyon awarded ac-nice's badge")
	}
}

// A mapping deleted before the worker issued what it decided awards
// nothing more: its pending awards are cancelled with the reason, no
// credential is issued, and a later decision through another mapping
// replaces the cancelled one.
func TestDeletedMappingAwardsNothingMore(t *testing.T) {
	each(t, -1, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.Issuer(t, "ac-lyon", "Académie ac-lyon")
		ach := f.Achievement(t, "ac-lyon", "Cours").ID
		m := f.mapping(t, completion.MappingInput{Activity: course, Achievement: ach})
		var cs []completion.Completion
		for i := range 3 {
			cs = append(cs, learnerCompletion(i))
		}
		if res := f.record(t, cs); res.Pending != 3 {
			t.Fatalf("deferred: %+v", res)
		}
		if err := f.svc.DeleteMapping(ctx, "test", m); err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.IssuePending(ctx); err != nil || n != 0 {
			t.Fatalf("worker after the deletion: %d %v", n, err)
		}
		if n := len(f.credentials(t, ach)); n != 0 {
			t.Fatalf("%d credentials issued by a deleted mapping", n)
		}
		list, total, err := f.svc.IssuerAwards(ctx, "ac-lyon", completion.AwardCancelled, 0, 0)
		if err != nil || total != 3 || len(list) != 3 {
			t.Fatalf("cancelled awards: %d %v", total, err)
		}
		for _, d := range list {
			if d.Error != completion.RuleGone("mapping", m.ID) || !strings.Contains(d.Activity, course) {
				t.Fatalf("cancelled award %+v", d)
			}
		}
		// The same badge through another mapping, for learner 0.
		f.mapping(t, completion.MappingInput{Activity: "NUM-2027", Kind: completion.KindCourseShortName, Achievement: ach})
		c := learnerCompletion(0)
		c.Activity = completion.Activity{CourseShortName: "NUM-2027"}
		if res := f.record(t, []completion.Completion{c}); res.Pending != 1 {
			t.Fatalf("decision after the cancellation: %+v", res)
		}
		if n, err := f.svc.IssuePending(ctx); err != nil || n != 1 {
			t.Fatalf("worker: %d %v", n, err)
		}
		creds := f.credentials(t, ach)
		if len(creds) != 1 || creds[0].RecipientEmail != "enseignant00@ac-lyon.fr" {
			t.Fatalf("credentials %+v", creds)
		}
		f.verify(t, creds[0])
	})
}

// A failed award is listed for its issuer with the reason, and retried:
// failed again while the cause remains, issued once it is gone; an award
// whose mapping no longer exists is cancelled instead.
func TestRetryFailedAward(t *testing.T) {
	each(t, 0, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.Issuer(t, "ac-lyon", "Académie ac-lyon")
		f.Issuer(t, "ac-nice", "Académie ac-nice")
		ach := f.Achievement(t, "ac-lyon", "Cours").ID
		f.mapping(t, completion.MappingInput{Activity: course, Achievement: ach})
		a, err := f.Service.Achievement(ctx, ach)
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := a.Spec()
		spec.RequireSecondAssessor = true
		if _, err := f.Service.UpdateAchievement(ctx, "test", ach, spec); err != nil {
			t.Fatal(err)
		}
		if res := f.record(t, []completion.Completion{learnerCompletion(1)}); len(res.Awarded) != 0 {
			t.Fatalf("awarded without the second assessor: %+v", res)
		}
		failed, total, err := f.svc.IssuerAwards(ctx, "ac-lyon", completion.AwardFailed, 10, 0)
		if err != nil || total != 1 || !strings.Contains(failed[0].Error, "second assessor") || failed[0].Learner != "enseignant01@ac-lyon.fr" {
			t.Fatalf("failed awards: %+v %d %v", failed, total, err)
		}
		id := failed[0].CredentialID
		if _, err := f.svc.RetryAward(ctx, "test", "ac-nice", id); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("another issuer retried it: %v", err)
		}
		d, err := f.svc.RetryAward(ctx, "test", "ac-lyon", id)
		if err != nil || d.State != completion.AwardFailed || !strings.Contains(d.Error, "second assessor") {
			t.Fatalf("retry while the cause remains: %+v %v", d, err)
		}
		spec.RequireSecondAssessor = false
		if _, err := f.Service.UpdateAchievement(ctx, "test", ach, spec); err != nil {
			t.Fatal(err)
		}
		d, err = f.svc.RetryAward(ctx, "test", "ac-lyon", id)
		if err != nil || d.State != completion.AwardIssued || d.Error != "" {
			t.Fatalf("retry: %+v %v", d, err)
		}
		creds := f.credentials(t, ach)
		if len(creds) != 1 || creds[0].ID != id {
			t.Fatalf("credentials after the retry: %+v", creds)
		}
		f.verify(t, creds[0])
		if _, err := f.svc.RetryAward(ctx, "test", "ac-lyon", id); !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("retrying an issued award: %v", err)
		}
		if _, _, err := f.svc.IssuerAwards(ctx, "ac-lyon", "lost", 10, 0); err == nil {
			t.Fatal("an unknown state was accepted")
		}

		// A failed award whose mapping went before deletions cancelled
		// (as it was before they did).
		gone := "00000000-0000-4000-8000-0000000000aa"
		orphan := completion.Award{Learner: "x@example.org", AchievementID: ach, Issuer: "ac-lyon", CredentialID: "00000000-0000-4000-8000-0000000000bb",
			State: completion.AwardPending, Reason: "mapping:" + gone, CreatedAt: time.Now()}
		if err := f.DB.Record(ctx, nil, func(tx completion.Tx) error { _, err := tx.InsertAwards(ctx, []completion.Award{orphan}); return err }); err != nil {
			t.Fatal(err)
		}
		if err := f.DB.FinishAwards(ctx, []string{orphan.CredentialID}, completion.AwardFailed, "boom", time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RetryAward(ctx, "test", "ac-lyon", orphan.CredentialID); !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("retrying an award of a deleted mapping: %v", err)
		}
		if d, _ := f.svc.IssuerAward(ctx, "ac-lyon", orphan.CredentialID); d.State != completion.AwardCancelled || d.Error != completion.RuleGone("mapping", gone) {
			t.Fatalf("award of a deleted mapping: %+v", d)
		}
	})
}
