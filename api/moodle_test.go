package api_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/completion/moodle/moodletest"
	"github.com/insigne/insigne/store/storetest"
)

type imported struct {
	Learners, Completions, Recorded, Duplicates int
	NoEmail, Awarded                            []string
}

// download fetches the fake Moodle's completion report, as a teacher does.
func download(t *testing.T, m *moodletest.Server, query string) []byte {
	t.Helper()
	res, err := http.Get(m.URL + "/report/completion/index.php?course=42&format=csv" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("download: %d %v", res.StatusCode, err)
	}
	return b
}

// The report downloaded from Moodle (English and French) and the
// web-services pull give the same completions, recorded once, through the
// real completion service: three learners, three credentials.
func TestMoodleReportAndPull(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			m := moodletest.New(t)
			xs := newRealXAPIServer(t, b.DSN(t), m.URL+"/course/view.php?id=42", func(_ string, c *api.Config) { c.MoodleBaseURLs = []string{m.URL + "/"} })
			trainer, _ := xs.createToken(t, xs.Root, "versailles", "trainer", "trainer", "awards:write")
			path := "/api/v1/completions/import?course=42&site=" + m.URL + "&gaiaDispositif=24A0250123"

			var out imported
			xs.must(t, http.StatusOK, "POST", path, req{Bearer: trainer, Body: download(t, m, ""), ContentType: "text/csv"}).json(t, &out)
			if out.Learners != 5 || out.Completions != 3 || out.Recorded != 3 || len(out.Awarded) != 3 {
				t.Errorf("English report: %+v", out)
			}
			xs.must(t, http.StatusOK, "POST", path, req{Bearer: trainer, Body: download(t, m, "&lang=fr"), ContentType: "text/csv; charset=utf-8"}).json(t, &out)
			if out.Completions != 3 || out.Recorded != 0 || out.Duplicates != 3 {
				t.Errorf("French report after the English one: %+v", out)
			}

			pull := map[string]any{"url": m.URL, "token": moodletest.Token, "courseid": 42, "gaiaDispositif": "24A0250123"}
			xs.must(t, http.StatusOK, "POST", "/api/v1/moodle/pull", req{Bearer: trainer, JSON: pull}).json(t, &out)
			if out.Learners != 5 || out.Completions != 2 || out.Recorded != 0 || out.Duplicates != 2 || !slices.Equal(out.NoEmail, []string{"6"}) {
				t.Errorf("pull after the reports: %+v", out)
			}
			if n := xs.credentialCount(t, xs.ach); n != 3 {
				t.Errorf("%d credentials, want 3", n)
			}
			// The credential carries the completion as evidence.
			var list struct{ Credentials []struct{ URL string } }
			xs.must(t, 200, "GET", "/api/v1/credentials?achievement="+xs.ach, req{Bearer: xs.Root}).json(t, &list)
			for _, c := range list.Credentials {
				signed := xs.must(t, 200, "GET", strings.TrimPrefix(c.URL, xs.URL), req{}).Body
				if !strings.Contains(string(signed), `"evidence"`) || !strings.Contains(string(signed), "Enseigner avec le numérique") {
					t.Errorf("credential %s: %.300s", c.URL, signed)
				}
			}
		})
	}
}

func TestMoodleImportAndPullRefused(t *testing.T) {
	m := moodletest.New(t)
	xs := newRealXAPIServer(t, storetest.SQLite(t), m.URL+"/course/view.php?id=42", func(_ string, c *api.Config) { c.MoodleBaseURLs = []string{m.URL} })
	trainer, _ := xs.createToken(t, xs.Root, "versailles", "trainer", "trainer", "awards:write")
	reader, _ := xs.createToken(t, xs.Root, "versailles", "reader", "trainer", "credentials:read")
	report := download(t, m, "")
	imp := "/api/v1/completions/import?course=42&site=" + m.URL

	wantError(t, "no course", xs.do(t, "POST", "/api/v1/completions/import", req{Bearer: trainer, Body: report, ContentType: "text/csv"}), 400, "invalid", "course")
	wantError(t, "bad course", xs.do(t, "POST", "/api/v1/completions/import?course=x", req{Bearer: trainer, Body: report, ContentType: "text/csv"}), 400, "invalid", "course")
	wantError(t, "bad tz", xs.do(t, "POST", imp+"&tz=Mars/Olympus", req{Bearer: trainer, Body: report, ContentType: "text/csv"}), 400, "invalid", "tz")
	wantError(t, "not CSV", xs.do(t, "POST", imp, req{Bearer: trainer, Body: report, ContentType: "application/pdf"}), 415, "unsupported_media_type", "-")
	res := xs.do(t, "POST", imp, req{Bearer: trainer, Body: []byte("ID,Name,Course complete\n3,A,\n"), ContentType: "text/csv"})
	wantError(t, "no e-mail column", res, 400, "invalid_csv", "csv")
	if !strings.Contains(string(res.Body), "e-mail column") {
		t.Errorf("no e-mail column: %s", res)
	}
	wantError(t, "scope", xs.do(t, "POST", imp, req{Bearer: reader, Body: report, ContentType: "text/csv"}), 403, "forbidden", "-")
	wantError(t, "anonymous", xs.do(t, "POST", imp, req{Body: report, ContentType: "text/csv"}), 401, "unauthenticated", "-")

	pull := func(body map[string]any) *resp {
		return xs.do(t, "POST", "/api/v1/moodle/pull", req{Bearer: trainer, JSON: body})
	}
	res = pull(map[string]any{"url": m.URL, "token": strings.Repeat("0", 32), "courseid": 42})
	wantError(t, "bad token", res, 422, "moodle_error", "-")
	if !strings.Contains(string(res.Body), "invalidtoken") {
		t.Errorf("bad token: %s", res)
	}
	wantError(t, "unknown course", pull(map[string]any{"url": m.URL, "token": moodletest.Token, "courseid": 43}), 422, "moodle_error", "-")
	wantError(t, "no course", pull(map[string]any{"url": m.URL, "token": moodletest.Token}), 400, "invalid", "courseid")
	wantError(t, "not a URL", pull(map[string]any{"url": "file:///etc/passwd", "token": moodletest.Token, "courseid": 42}), 400, "invalid", "url")
	wantError(t, "bad token shape", pull(map[string]any{"url": m.URL, "token": "x y", "courseid": 42}), 400, "invalid", "token")
	// A loopback site that is not configured goes through fetch's rules.
	other := moodletest.New(t)
	res = pull(map[string]any{"url": other.URL, "token": moodletest.Token, "courseid": 42})
	wantError(t, "loopback not allowed", res, 422, "moodle_unreachable", "url")
	if !strings.Contains(string(res.Body), "not at a public address") || strings.Contains(string(res.Body), moodletest.Token) {
		t.Errorf("loopback not allowed: %s", res)
	}
	if len(other.Calls()) != 0 {
		t.Errorf("the unallowed site was called: %v", other.Calls())
	}
	if n := xs.credentialCount(t, xs.ach); n != 0 {
		t.Errorf("refused requests awarded %d credentials", n)
	}
	if strings.Contains(xs.Log.String(), moodletest.Token) {
		t.Error("the Moodle token is in the service log")
	}
}
