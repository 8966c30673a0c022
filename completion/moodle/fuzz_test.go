package moodle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/moodle"
)

// FuzzCompletionReport: any file gives completions or an *InputError
// (ErrTooLarge past the cap), never a panic; every completion has an
// address and a time.
func FuzzCompletionReport(f *testing.F) {
	for _, n := range []string{"report_completion-42.csv", "report_completion-42-fr.csv"} {
		b, err := os.ReadFile(filepath.Join("moodletest", "testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("ID\tName\tEmail\tCourse complete\n3\tA\ta@b.fr\t2024-11-20\n"))
	f.Add([]byte(`"ID","Name","Email address","Course complete"` + "\n" + `3,"A",a@b.fr,"31/02/24, 10:00"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := moodle.ParseCompletionReport(data, completion.Activity{MoodleCourseID: "42"}, paris)
		if err != nil {
			var ie *moodle.InputError
			if !errors.As(err, &ie) && !errors.Is(err, moodle.ErrTooLarge) {
				t.Fatalf("error %v is not an *InputError", err)
			}
			return
		}
		if len(rep.Completions) > rep.Learners {
			t.Fatalf("%d completions of %d learners", len(rep.Completions), rep.Learners)
		}
		for _, c := range rep.Completions {
			if !strings.Contains(c.Learner.Email, "@") || c.At.IsZero() || !c.Completed {
				t.Fatalf("completion %+v", c)
			}
		}
	})
}

// FuzzDecodeResponse: whatever Moodle answers, the decoder gives a value,
// an *Error (Moodle's exception) or ErrResponse, never a panic.
func FuzzDecodeResponse(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("moodletest", "testdata", "*.json"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<html></html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var si moodle.SiteInfo
		var us []moodle.User
		var st moodle.CompletionStatus
		for _, out := range []any{&si, &us, &st} {
			err := moodle.DecodeResponse("f", body, out)
			var me *moodle.Error
			if err != nil && !errors.As(err, &me) && !errors.Is(err, moodle.ErrResponse) {
				t.Fatalf("error %v is neither *Error nor ErrResponse", err)
			}
		}
		st.CompletedAt()
	})
}
