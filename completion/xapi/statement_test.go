package xapi_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/completion/xapi/xapitest"
)

const (
	base = "https://insigne.example"
	site = "https://magistere.example/versailles"
)

var (
	t0   = time.Date(2026, 11, 20, 14, 5, 0, 0, time.UTC)
	opts = xapi.Options{Base: base, NewID: func() string { return "00000000-0000-4000-8000-000000000001" }, Now: t0.Add(time.Hour)}
	ana  = xapitest.Learner{Email: "ana.martin@ac-versailles.fr", Name: "Ana Martin"}
)

func parseOne(t *testing.T, v any) xapi.Statement {
	t.Helper()
	sts, err := xapi.Parse(xapitest.JSON(v), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(sts) != 1 {
		t.Fatalf("%d statements", len(sts))
	}
	return sts[0]
}

func TestCourseCompleted(t *testing.T) {
	st := parseOne(t, xapitest.CourseCompleted(xapitest.UUID(1), site, 42, "Enseigner avec le numérique", ana, t0))
	c := st.Completion
	if st.ID != xapitest.UUID(1) || c.Source != "xapi" || c.SourceRef != st.ID {
		t.Errorf("id %q, source %q/%q", st.ID, c.Source, c.SourceRef)
	}
	if c.Learner.Email != "ana.martin@ac-versailles.fr" || c.Learner.Name != "Ana Martin" {
		t.Errorf("learner %+v", c.Learner)
	}
	if c.Activity.ID != site+"/course/view.php?id=42" || c.Activity.MoodleCourseID != "42" || c.Activity.MoodleModuleID != "" ||
		c.Activity.Name != "Enseigner avec le numérique" {
		t.Errorf("activity %+v", c.Activity)
	}
	if !c.Completed || c.Passed != nil || c.Score != nil || !c.At.Equal(t0) {
		t.Errorf("completion %+v", c)
	}
	if len(st.Hash) != 64 || !strings.Contains(string(st.JSON), `"id":"`+st.ID+`"`) {
		t.Errorf("hash %q json %s", st.Hash, st.JSON)
	}
}

func TestModuleCompletedNamesItsCourse(t *testing.T) {
	st := parseOne(t, xapitest.ModuleCompleted(xapitest.UUID(2), site, 42, 917, "quiz", "Module 1", ana, t0))
	a := st.Completion.Activity
	if a.MoodleModuleID != "917" || a.MoodleCourseID != "42" || a.ID != site+"/mod/quiz/view.php?id=917" || a.Name != "Module 1" {
		t.Errorf("activity %+v", a)
	}
}

// The statement of logstore_xapi's own test (tests/core/course_completed/
// completing_existing_course/statements.json), an account actor and the
// Tin Can verb of its older versions; the e-mail comes in the extension.
func TestLogstoreFixtureWithAccountAndEmailExtension(t *testing.T) {
	body := `[{"actor":{"name":"test_fullname","account":{"homePage":"http:\/\/www.example.org","name":"1"}},
	"verb":{"id":"http:\/\/id.tincanapi.com\/verb\/completed","display":{"en":"completed"}},
	"object":{"id":"http:\/\/www.example.org\/course\/view.php?id=1","definition":{"type":"http:\/\/id.tincanapi.com\/activitytype\/lms\/course","name":{"en":"test_name"}}},
	"timestamp":"2015-06-10T15:31:41+01:00",
	"context":{"platform":"Moodle","language":"en","extensions":{"http:\/\/lrs.learninglocker.net\/define\/extensions\/info":{"http:\/\/moodle.org":"1.0.0","event_name":"\\core\\event\\course_completed"},
	"https://insigne.example/xapi/extensions/email":"Test@Example.org","https://insigne.example/xapi/extensions/academie":"Versailles",
	"https://insigne.example/xapi/extensions/gaia-dispositif":"25A0250123","https://insigne.example/xapi/extensions/discipline":"Mathématiques"},
	"contextActivities":{"grouping":[{"id":"http:\/\/www.example.org","definition":{"type":"http:\/\/id.tincanapi.com\/activitytype\/lms","name":{"en":"test_name"}}}],
	"category":[{"id":"http:\/\/moodle.org","definition":{"type":"http:\/\/id.tincanapi.com\/activitytype\/source","name":{"en":"Moodle"}}}]}}}]`
	sts, err := xapi.Parse([]byte(body), opts)
	if err != nil {
		t.Fatal(err)
	}
	c := sts[0].Completion
	if sts[0].ID != opts.NewID() {
		t.Errorf("id %q, want the one assigned", sts[0].ID)
	}
	if c.Learner.Email != "test@example.org" || c.Learner.AccountHomePage != "http://www.example.org" || c.Learner.AccountName != "1" ||
		c.Learner.Academie != "Versailles" || c.Learner.Discipline != "Mathématiques" {
		t.Errorf("learner %+v", c.Learner)
	}
	if c.Activity.GAIADispositif != "25A0250123" || c.Activity.MoodleCourseID != "1" || !c.Completed {
		t.Errorf("completion %+v", c)
	}
	if want := time.Date(2015, 6, 10, 14, 31, 41, 0, time.UTC); !c.At.Equal(want) || c.At.Location() != time.UTC {
		t.Errorf("at %v, want %v", c.At, want)
	}
}

func TestPassedFailedResult(t *testing.T) {
	s := xapitest.CourseCompleted(xapitest.UUID(3), site, 42, "C", ana, t0)
	s["verb"] = map[string]any{"id": xapi.VerbPassed}
	s["result"] = map[string]any{"score": map[string]any{"raw": 15, "min": 0, "max": 20}, "success": true, "duration": "PT2H30M"}
	c := parseOne(t, s).Completion
	if !c.Completed || c.Passed == nil || !*c.Passed || c.Score == nil || *c.Score != 0.75 || c.Duration != 150*time.Minute {
		t.Errorf("passed: %+v", c)
	}
	s["verb"] = map[string]any{"id": xapi.VerbFailed}
	s["result"] = map[string]any{"score": map[string]any{"scaled": -0.5}}
	c = parseOne(t, s).Completion
	if c.Completed || c.Passed == nil || *c.Passed || c.Score == nil || *c.Score != 0 {
		t.Errorf("failed: %+v", c)
	}
	delete(s, "timestamp")
	if c := parseOne(t, s).Completion; !c.At.Equal(opts.Now) {
		t.Errorf("no timestamp: at %v, want %v", c.At, opts.Now)
	}
}

// The hash ignores what an LRS may set, and nothing else.
func TestHash(t *testing.T) {
	s := xapitest.CourseCompleted(xapitest.UUID(4), site, 42, "C", ana, t0)
	h := parseOne(t, s).Hash
	s["version"] = "1.0.3"
	s["stored"] = "2026-11-29T10:00:00Z"
	s["authority"] = map[string]any{"objectType": "Agent", "mbox": "mailto:lrs@example.org"}
	if h2 := parseOne(t, s).Hash; h2 != h {
		t.Error("stored, authority or version changed the hash")
	}
	s["timestamp"] = t0.Add(time.Second).Format(time.RFC3339)
	if h3 := parseOne(t, s).Hash; h3 == h {
		t.Error("another timestamp kept the hash")
	}
}

func TestRefused(t *testing.T) {
	good := func() map[string]any { return xapitest.CourseCompleted(xapitest.UUID(5), site, 42, "C", ana, t0) }
	with := func(f func(m map[string]any)) any { m := good(); f(m); return m }
	for name, c := range map[string]struct {
		body any
		path string
		want string
	}{
		"no actor":     {with(func(m map[string]any) { delete(m, "actor") }), "actor", "missing"},
		"unknown verb": {with(func(m map[string]any) { m["verb"] = map[string]any{"id": "http://adlnet.gov/expapi/verbs/experienced"} }), "verb.id", "experienced"},
		"sha1 actor":   {with(func(m map[string]any) { m["actor"] = map[string]any{"mbox_sha1sum": "ab"} }), "actor.mbox_sha1sum", "address"},
		"two ifis":     {with(func(m map[string]any) { m["actor"] = map[string]any{"mbox": "mailto:a@b.fr", "openid": "http://x"} }), "actor", "exactly one"},
		"bad mbox":     {with(func(m map[string]any) { m["actor"] = map[string]any{"mbox": "a@b.fr"} }), "actor.mbox", "mailto"},
		"account only": {with(func(m map[string]any) {
			m["actor"] = map[string]any{"account": map[string]any{"homePage": site, "name": "17"}}
		}), "actor.account", "e-mail"},
		"group":        {with(func(m map[string]any) { m["actor"] = map[string]any{"objectType": "Group", "mbox": "mailto:a@b.fr"} }), "actor.objectType", "Group"},
		"bad id":       {with(func(m map[string]any) { m["id"] = "42" }), "id", "UUID"},
		"unknown prop": {with(func(m map[string]any) { m["grade"] = 12 }), "grade", "unknown property"},
		"null prop":    {with(func(m map[string]any) { m["result"] = nil }), "result", "null"},
		"statement ref": {with(func(m map[string]any) {
			m["object"] = map[string]any{"objectType": "StatementRef", "id": xapitest.UUID(9)}
		}), "object.objectType", "activities only"},
		"relative iri":  {with(func(m map[string]any) { m["object"].(map[string]any)["id"] = "/course/view.php?id=1" }), "object.id", "absolute IRI"},
		"bad timestamp": {with(func(m map[string]any) { m["timestamp"] = "10/06/2015" }), "timestamp", "ISO 8601"},
		"bad duration":  {with(func(m map[string]any) { m["result"] = map[string]any{"duration": "2h"} }), "result.duration", "ISO 8601"},
		"scaled > 1":    {with(func(m map[string]any) { m["result"] = map[string]any{"score": map[string]any{"scaled": 1.5}} }), "result.score.scaled", "outside"},
		"contradiction": {with(func(m map[string]any) { m["result"] = map[string]any{"completion": false} }), "result.completion", "contradicts"},
		"version 2":     {with(func(m map[string]any) { m["version"] = "2.0.0" }), "version", "1.0.x"},
		"attachments":   {with(func(m map[string]any) { m["attachments"] = []any{} }), "attachments", "not accepted"},
		"bad lang tag": {with(func(m map[string]any) {
			m["verb"] = map[string]any{"id": xapi.VerbCompleted, "display": map[string]any{"": "x"}}
		}), "verb.display.", "language tag"},
		"bad extension":  {with(func(m map[string]any) { m["context"] = map[string]any{"extensions": map[string]any{"info": 1}} }), "context.extensions", "IRI"},
		"bad registr.":   {with(func(m map[string]any) { m["context"] = map[string]any{"registration": "x"} }), "context.registration", "UUID"},
		"old timestamp":  {with(func(m map[string]any) { m["timestamp"] = "1999-12-31T23:00:00Z" }), "timestamp", "plausible"},
		"future":         {with(func(m map[string]any) { m["timestamp"] = t0.Add(72 * time.Hour).Format(time.RFC3339) }), "timestamp", "plausible"},
		"control chars":  {with(func(m map[string]any) { m["actor"].(map[string]any)["name"] = "Ana\u0000" }), "actor.name", "control"},
		"host-less IRI":  {with(func(m map[string]any) { m["object"].(map[string]any)["id"] = "http:/course" }), "object.id", "absolute IRI"},
		"odd address":    {with(func(m map[string]any) { m["actor"] = map[string]any{"mbox": "mailto:a(b)@c.fr"} }), "actor.mbox", "mailto"},
		"number as verb": {with(func(m map[string]any) { m["verb"] = 3 }), "verb", "object"},
	} {
		_, err := xapi.Parse(xapitest.JSON(c.body), opts)
		var e *xapi.Error
		if !errors.As(err, &e) || e.Path != c.path || !strings.Contains(e.Error(), c.want) {
			t.Errorf("%s: %v (path %q), want path %q and %q", name, err, pathOf(e), c.path, c.want)
		}
	}
}

func pathOf(e *xapi.Error) string {
	if e == nil {
		return ""
	}
	return e.Path
}

func TestBatchNamesTheBadStatement(t *testing.T) {
	good := xapitest.CourseCompleted(xapitest.UUID(6), site, 42, "C", ana, t0)
	bad := xapitest.CourseCompleted(xapitest.UUID(7), site, 42, "C", ana, t0)
	delete(bad, "actor")
	_, err := xapi.Parse(xapitest.JSON([]any{good, good, bad}), opts)
	var e *xapi.Error
	if !errors.As(err, &e) || e.Index != 2 || !strings.HasPrefix(e.Error(), "statement [2]: actor: missing") {
		t.Fatalf("%v", err)
	}
	for body, want := range map[string]string{
		``:       "empty",
		`[]`:     "empty array",
		`{"id":`: "invalid JSON",
		`{} {}`:  "more than one",
		`"text"`: "not a string",
		`[1]`:    "statement [0]: must be an object",
		strings.Repeat("[", 40) + strings.Repeat("]", 40): "nested",
	} {
		_, err := xapi.Parse([]byte(body), opts)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	if _, err := xapi.Parse(make([]byte, xapi.MaxBody+1), opts); !errors.Is(err, xapi.ErrTooLarge) {
		t.Errorf("oversized body: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"PT35S": 35 * time.Second, "PT4M17S": 4*time.Minute + 17*time.Second, "P1DT2H": 26 * time.Hour,
		"PT1.5S": 1500 * time.Millisecond, "P2W": 14 * 24 * time.Hour, "PT0S": 0,
	} {
		if d, err := xapi.ParseDuration(s); err != nil || d != want {
			t.Errorf("%s: %v, %v; want %v", s, d, err, want)
		}
	}
	for _, s := range []string{"", "P", "PT", "1H", "PT1H2", "P1H", "PTS", "P1DT", "PT1HT2M", "P9999999999Y"} {
		if _, err := xapi.ParseDuration(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
