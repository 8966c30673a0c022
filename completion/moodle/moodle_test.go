package moodle_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/moodle"
	"github.com/insigne/insigne/completion/moodle/moodletest"
	"github.com/insigne/insigne/fetch"
)

var paris, _ = time.LoadLocation("Europe/Paris")

func course(site string) completion.Activity {
	return completion.Activity{ID: site + "/course/view.php?id=42", MoodleCourseID: "42", CourseShortName: "NUM-2026", GAIADispositif: "24A0250123"}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type want struct {
	email, name string
	at          time.Time
}

var reportWant = []want{
	{"ana.martin@ac-versailles.fr", "Ana Martin", time.Date(2024, 11, 20, 14, 0, 0, 0, time.UTC)},
	{"benoit.durand@ac-versailles.fr", "Benoît Durand", time.Date(2024, 11, 18, 17, 20, 0, 0, time.UTC)},
	{"dana.cache@ac-versailles.fr", "Dana Caché", time.Date(2024, 11, 19, 7, 6, 0, 0, time.UTC)},
}

func TestCompletionReportEnglishAndFrench(t *testing.T) {
	for _, file := range []string{"report_completion-42.csv", "report_completion-42-fr.csv"} {
		rep, err := moodle.ParseCompletionReport(mustRead(t, "moodletest/testdata/"+file), course("https://m.example"), paris)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if rep.Learners != 5 || len(rep.Completions) != len(reportWant) {
			t.Fatalf("%s: %d learners, %d completions", file, rep.Learners, len(rep.Completions))
		}
		for i, w := range reportWant {
			c := rep.Completions[i]
			if c.Learner.Email != w.email || c.Learner.Name != w.name || !c.At.Equal(w.at) || !c.Completed || c.Source != "csv" ||
				c.Activity != course("https://m.example") || !strings.HasPrefix(c.SourceRef, "course/42/user/") {
				t.Errorf("%s: row %d: %+v, want %+v", file, i, c, w)
			}
		}
	}
}

func TestCompletionReportRefused(t *testing.T) {
	head := `"ID","Name","Email address","Course complete"` + "\n"
	for body, w := range map[string]string{
		"":                                      "empty",
		"\xff\xfeI\x00D\x00":                    "UTF-16",
		"\x80abc":                               "not UTF-8",
		`"ID","Name","Course complete"` + "\n":  "no e-mail column",
		head:                                    "no learner rows",
		head + `3,"A",a@b.fr,"31/02/24, 10:00"`: `line 2: column "Course complete": "31/02/24, 10:00" is not a completion date`,
		head + `3,"A",nobody,"20/11/24, 10:00"`: `line 2: column "Email address"`,
		head + `x,"A",a@b.fr,"20/11/24, 10:00"`: `column "ID"`,
		head + `3,"A",a@b.fr`:                   "line 2: 3 fields, the header has 4",
		head + `3,"A,a@b.fr`:                    "malformed CSV",
	} {
		_, err := moodle.ParseCompletionReport([]byte(body), course("https://m.example"), paris)
		var ie *moodle.InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), w) {
			t.Errorf("%q: %v, want an InputError saying %q", body, err, w)
		}
	}
	if _, err := moodle.ParseCompletionReport(make([]byte, moodle.MaxCSV+1), completion.Activity{}, nil); !errors.Is(err, moodle.ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

func loopback() *fetch.Client {
	return fetch.New(fetch.Options{AllowPrivate: true, Timeout: 5 * time.Second})
}

func TestPull(t *testing.T) {
	m := moodletest.New(t)
	c, err := moodle.NewClient(loopback(), m.URL+"/", moodletest.Token)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	res, err := moodle.Pull(context.Background(), c, moodletest.Course, completion.Activity{GAIADispositif: "24A0250123"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Site != m.URL || res.Enrolled != 5 || !slices.Equal(res.NoEmail, []string{"6"}) || len(res.Completions) != 2 {
		t.Fatalf("pull: %+v", res)
	}
	// The same learners, at the same times, as in the report (which
	// shows Dana's address and loses the seconds).
	for i, w := range reportWant[:2] {
		got := res.Completions[i]
		if got.Learner.Email != w.email || got.Learner.Name != w.name || !got.At.Equal(w.at) || got.Source != "moodle-ws" ||
			got.Activity.ID != m.URL+"/course/view.php?id=42" || got.Activity.MoodleCourseID != "42" || got.Activity.GAIADispositif != "24A0250123" ||
			got.Learner.AccountHomePage != m.URL || got.SourceRef != m.URL+"/course/42/user/"+[]string{"3", "4"}[i] {
			t.Errorf("completion %d: %+v", i, got)
		}
	}
	calls := m.Calls()
	if calls[0] != moodle.FnSiteInfo || calls[1] != moodle.FnEnrolledUsers || len(calls) != 7 {
		t.Errorf("calls %v", calls)
	}
}

func TestPullErrors(t *testing.T) {
	m := moodletest.New(t)
	ctx := context.Background()
	bad, _ := moodle.NewClient(loopback(), m.URL, strings.Repeat("a", 32))
	_, err := moodle.Pull(ctx, bad, 42, completion.Activity{}, time.Now())
	var me *moodle.Error
	if !errors.As(err, &me) || me.ErrorCode != "invalidtoken" || !strings.Contains(err.Error(), "Manage tokens") || strings.Contains(err.Error(), strings.Repeat("a", 32)) {
		t.Errorf("bad token: %v", err)
	}
	good, _ := moodle.NewClient(loopback(), m.URL, moodletest.Token)
	if _, err := moodle.Pull(ctx, good, 43, completion.Activity{}, time.Now()); !errors.As(err, &me) || me.ErrorCode != "invalidrecord" {
		t.Errorf("unknown course: %v", err)
	}
	// fetch's rules: loopback refused unless allowed; the token never
	// shows in the error.
	strict, _ := moodle.NewClient(fetch.New(fetch.Options{}), m.URL, moodletest.Token)
	_, err = moodle.Pull(ctx, strict, 42, completion.Activity{}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "not at a public address") || strings.Contains(err.Error(), moodletest.Token) {
		t.Errorf("loopback through the default rules: %v", err)
	}
	for _, c := range [][2]string{{"ftp://m.example", moodletest.Token}, {"https://", moodletest.Token}, {"https://m.example", "short"}, {"https://m.example", "has space in it!"}} {
		if _, err := moodle.NewClient(loopback(), c[0], c[1]); err == nil {
			t.Errorf("NewClient(%q, %q) accepted", c[0], c[1])
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	var si moodle.SiteInfo
	for body, w := range map[string]string{
		``:                   "answered nothing",
		`<html>login</html>`: "HTML",
		`{"sitename":3}`:     "unreadable",
		`{"exception":"x","errorcode":"e","message":"m"}`: "Moodle refused f: e: m",
	} {
		err := moodle.DecodeResponse("f", []byte(body), &si)
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%q: %v, want %q", body, err, w)
		}
	}
}
