package api

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/issuing"
)

// FuzzCompletionsJSON feeds the completions decoder, then the checks the
// completion service applies, anything: it must answer a value or an input
// error, never panic; what it accepts re-encodes to what it decoded, and
// yields evidence the issuing service accepts.
func FuzzCompletionsJSON(f *testing.F) {
	for _, s := range []string{
		`[{"learner":{"email":"ana@example.org","name":"Ana","academie":"Lyon"},"activity":{"id":"https://m.example.fr/course/view.php?id=42","moodleCourseId":"42"},"completed":true,"at":"2026-11-20T10:00:00Z","duration":5400000000000}]`,
		`{"completions":[{"learner":{"email":"b@example.org"},"activity":{"moodleModuleId":"17","name":"Micro-module"},"passed":true,"score":0.85,"at":"2026-11-20T10:00:00+01:00"}]}`,
		`{"completions":[]}`, `[]`, `[{}]`, `[{"learner":{"email":"x"},"grade":1}]`, `{"completions":[{"at":"hier"}]}`,
		`[{"learner":{"email":"c@example.org"},"activity":{"id":"urn:x:1","gaiaDispositif":"23A0010001"},"completed":true,"passed":false,"at":"2026-01-01T00:00:00Z","score":1e308}]`,
		` [ ] `, `null`, `[null]`, `{"completions":null}`, `"x"`, `[{"learner":{"email":"d@example.org"},"activity":{"id":"http://a.b/\u0000"},"completed":true,"at":"2026-01-01T00:00:00Z"}]`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		cs, err := decodeCompletions(body)
		if err != nil {
			var in *issuing.InputError
			if !errors.As(err, &in) || in.Error() == "" {
				t.Fatalf("decode error %v is not an input error with a reason", err)
			}
			return
		}
		again, err := json.Marshal(cs)
		if err != nil {
			t.Fatalf("accepted completions do not re-encode: %v", err)
		}
		back, err := decodeCompletions(again)
		if err != nil || len(back) != len(cs) {
			t.Fatalf("re-encoded completions decode to %d, %v (had %d)", len(back), err, len(cs))
		}
		for i := range cs {
			cs[i].Source = "json"
		}
		ok, err := completion.Check(cs, now)
		if err != nil {
			var in *issuing.InputError
			if !errors.As(err, &in) || in.Field == "" {
				t.Fatalf("check error %v does not name a field", err)
			}
			return
		}
		for _, c := range ok {
			if completion.Key(c) == "" {
				t.Fatal("empty key")
			}
			for _, e := range completion.Evidence(c) {
				if e.Narrative == "" {
					t.Fatalf("evidence without a narrative: %+v", e)
				}
				if e.URL != "" {
					if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
						t.Fatalf("evidence URL %q is not an absolute http(s) URL", e.URL)
					}
				}
			}
		}
	})
}
