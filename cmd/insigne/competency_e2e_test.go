package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/interop"
	"github.com/insigne/insigne/store/storetest"
)

// insigneEnv runs a command with environment variables.
func insigneEnv(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }})
	return code, out.String(), errb.String()
}

// TestCompetencyEndToEnd, on SQLite and PostgreSQL: a third framework
// imported with the CLI into the database serve then uses (and again while
// it runs), served as CASE; an achievement aligned by code; a trainer's
// award with a level and an evidence file, approved by a second assessor,
// verified by insigne verify and by the Digital Bazaar stack, and shown in
// the learner's competency profile with its level; frameworks exported by
// the CLI as the server serves them.
func TestCompetencyEndToEnd(t *testing.T) {
	node := interop.Node(t)
	schemas, err := badges.NewSchemas()
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile("../../testdata/frameworks/crcn-edu.moodle.csv")
	if err != nil {
		t.Fatal(err)
	}
	csvFile := write(t, "crcn.csv", csv)
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "insigne-data") // created by the first import
			vars := map[string]string{"INSIGNE_ADMIN_TOKEN": "e2e-root-token"}
			if b.Name == "postgres" {
				vars["INSIGNE_DATABASE_URL"] = b.DSN(t)
			}
			// Bad input: exit 2, naming the problem; nothing stored.
			bad := write(t, "bad.csv", []byte("\"Parent ID number\",\"ID number\"\n,A\n"))
			if code, _, stderr := insigneEnv(t, vars, "framework", "import", "--data", data, bad); code != 2 || !strings.Contains(stderr, "bad.csv") || !strings.Contains(stderr, "line") {
				t.Errorf("bad file: exit %d %s", code, stderr)
			}
			if code, _, stderr := insigneEnv(t, vars, "framework", "export", "--data", data, "--format", "pdf", "x"); code != 2 || !strings.Contains(stderr, "--format") {
				t.Errorf("bad format: exit %d %s", code, stderr)
			}
			if code, _, stderr := insigneEnv(t, vars, "framework", "export", "--data", data, "3f0f3b2e-0000-4000-8000-000000000000"); code != 2 || !strings.Contains(stderr, "no framework 3f0f3b2e") {
				t.Errorf("unknown framework: exit %d %s", code, stderr)
			}
			code, out, stderr := insigneEnv(t, vars, "framework", "import", "--data", data, csvFile)
			if code != 0 || !strings.Contains(out, "imported as version 1") {
				t.Fatalf("framework import: exit %d %s %s", code, out, stderr)
			}

			if code, out, _ := insigneEnv(t, vars, "framework", "list", "--data", data); code != 0 || !strings.Contains(out, "Cadre numérique enseignant") {
				t.Errorf("framework list: exit %d %s", code, out)
			}
			base := serverAt(t, data, vars)
			vars["INSIGNE_BASE_URL"] = base
			c := client{t: t, base: base, token: "e2e-root-token"}
			var docs struct{ CFDocuments []struct{ Identifier string } }
			_, body := c.do("GET", "/ims/case/v1p0/CFDocuments", nil, "")
			json.Unmarshal(body, &docs)
			if len(docs.CFDocuments) != 3 {
				t.Fatalf("CFDocuments: %s", body)
			}

			// The CLI exports what the server serves, from the same database.
			official, _ := competency.Official()
			for _, f := range official {
				code, out, stderr := insigneEnv(t, vars, "framework", "export", "--data", data, "--format", "case", f.Identifier)
				_, served := c.do("GET", "/ims/case/v1p0/CFPackages/"+f.Identifier, nil, "")
				if code != 0 || out != string(served) {
					t.Errorf("%s: CLI CASE export differs from the served package (exit %d %s)", f.Title, code, stderr)
				}
				want, _ := competency.ExportMoodleCSV(f)
				if code, out, _ := insigneEnv(t, vars, "framework", "export", "--data", data, "--format", "moodle-csv", f.Identifier); code != 0 || out != string(want) {
					t.Errorf("%s: CLI Moodle export differs (exit %d)", f.Title, code)
				}
			}
			third, _ := competency.ImportMoodleCSV(csv)
			if code, out, _ := insigneEnv(t, vars, "framework", "export", "--data", data, "--format", "moodle-csv", third.Identifier); code != 0 || out != string(csv) {
				t.Errorf("third framework: CLI Moodle export differs (exit %d):\n%s", code, out)
			}
			// An import while the server runs is served at once.
			changed := write(t, "crcn2.csv", bytes.Replace(csv, []byte("Se connecter à l'ENT."), []byte("Se connecter à l'ENT de l'académie."), 1))
			if code, out, stderr := insigneEnv(t, vars, "framework", "import", "--data", data, changed); code != 0 || !strings.Contains(out, "version 2") {
				t.Fatalf("second import: exit %d %s %s", code, out, stderr)
			}
			item, _ := third.Item("C1.1.a")
			var served struct{ FullStatement string }
			_, body = c.do("GET", "/ims/case/v1p0/CFItems/"+item.Identifier, nil, "")
			json.Unmarshal(body, &served)
			if served.FullStatement != "Se connecter à l'ENT de l'académie." {
				t.Errorf("the running server serves %q", served.FullStatement)
			}

			c.json("POST", "/api/v1/issuers", map[string]string{"slug": "ac-lyon", "name": "Académie de Lyon", "url": "https://www.ac-lyon.fr"}, 201)
			token := func(name string) string {
				m := c.json("POST", "/api/v1/issuers/ac-lyon/tokens", map[string]any{"name": name, "role": "trainer", "scopes": []string{"awards:write", "credentials:read"}}, 201)
				return m["token"].(string)
			}
			t1 := client{t: t, base: base, token: token("formateur 1")}
			t2 := client{t: t, base: base, token: token("formateur 2")}
			ach := c.json("POST", "/api/v1/issuers/ac-lyon/achievements", map[string]any{
				"name": "Gérer la classe", "description": "Organise et anime le travail de la classe.", "achievementType": "Competency",
				"criteria": map[string]string{"narrative": "Observation d'une séance par un formateur."}, "competencies": []string{"CC14", "F1.5", "C1.1"},
				"resultDescription": []map[string]any{{"id": base + "/scales/maitrise", "type": []string{"ResultDescription"}, "name": "Degré de maîtrise",
					"resultType": "RubricCriterionLevel", "rubricCriterionLevel": []map[string]any{
						{"id": base + "/scales/maitrise#1", "type": []string{"RubricCriterionLevel"}, "name": "En cours d'acquisition"},
						{"id": base + "/scales/maitrise#2", "type": []string{"RubricCriterionLevel"}, "name": "Acquis"},
						{"id": base + "/scales/maitrise#3", "type": []string{"RubricCriterionLevel"}, "name": "Expert"}}}},
			}, 201)
			achID := ach["id"].(string)

			// An evidence file, uploaded by the trainer.
			req, _ := http.NewRequest("POST", base+"/api/v1/evidence?name=grille.pdf", bytes.NewReader([]byte("%PDF-1.4\n% grille d'observation\n%%EOF\n")))
			req.Header.Set("Authorization", "Bearer "+t1.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			evb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var ev struct{ URL string }
			json.Unmarshal(evb, &ev)
			if resp.StatusCode != 201 || ev.URL == "" {
				t.Fatalf("evidence upload: %d %s", resp.StatusCode, evb)
			}

			pending := t1.json("POST", "/api/v1/competency-awards", map[string]any{"achievement": achID,
				"recipients": []map[string]string{{"email": "lea.martin@ac-lyon.fr", "name": "Léa Martin"}}, "competencies": []string{"CC14", "C1.1"},
				"level": "Expert", "narrative": "Séance de mathématiques observée le 12 novembre 2026.",
				"evidence": []map[string]string{{"url": ev.URL, "name": "Grille d'observation"}}, "secondAssessor": true}, 202)
			pid := pending["id"].(string)
			if list := c.json("GET", "/api/v1/credentials?achievement="+achID, nil, 200); list["total"] != float64(0) {
				t.Fatalf("issued before approval: %v", list)
			}
			if status, _ := t1.do("POST", "/api/v1/pending-awards/"+pid+"/approve", nil, ""); status != 403 {
				t.Errorf("the proposer approved: %d", status)
			}
			approved := t2.json("POST", "/api/v1/pending-awards/"+pid+"/approve", nil, 201)
			creds := approved["credentials"].([]any)
			if len(creds) != 1 {
				t.Fatalf("approved: %v", approved)
			}
			url := creds[0].(map[string]any)["url"].(string)
			status, signed := c.do("GET", url, nil, "application/vc+ld+json")
			if status != 200 {
				t.Fatalf("GET %s: %d", url, status)
			}
			var doc map[string]any
			json.Unmarshal(signed, &doc)
			if err := schemas.ValidateCredential(doc); err != nil {
				t.Errorf("1EdTech schema: %v", err)
			}
			subject := doc["credentialSubject"].(map[string]any)
			result := subject["result"].([]any)[0].(map[string]any)
			if result["achievedLevel"] != base+"/scales/maitrise#3" || len(result["alignment"].([]any)) != 2 {
				t.Errorf("result %v", result)
			}
			if ok, detail := node.WithBaseURL(base).VerifyDI(t, signed); !ok {
				t.Errorf("Digital Bazaar stack refuses the credential: %s", detail)
			}
			code, out, stderr = insigne(t, "", "verify", "--json", "--allow-private", write(t, "cred.json", signed))
			var rep badges.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.Verdict != "valid" {
				t.Errorf("insigne verify: exit %d %s %s", code, out, stderr)
			}

			var prof competency.Profile
			_, body = c.do("GET", "/api/v1/learners/lea.martin@ac-lyon.fr/competencies", nil, "")
			if err := json.Unmarshal(body, &prof); err != nil {
				t.Fatalf("profile: %s", body)
			}
			levels := map[string]string{}
			for _, f := range prof.Frameworks {
				for _, it := range f.Items {
					if it.BestLevel != nil {
						levels[it.Code] = it.BestLevel.Name
					} else {
						levels[it.Code] = "-"
					}
					if len(it.Credentials) != 1 || len(it.Credentials[0].Evidence) != 1 || it.Credentials[0].Evidence[0].ID != ev.URL {
						t.Errorf("%s: credentials %+v", it.Code, it.Credentials)
					}
				}
			}
			if levels["CC14"] != "Expert" || levels["C1.1"] != "Expert" || levels["F1.5"] != "-" || len(levels) != 3 {
				t.Errorf("profile levels %v", levels)
			}
		})
	}
}
