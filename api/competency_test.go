package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// newCompetencyServer is a test server with frameworks in its database
// (the official ones seeded), as serve wires it.
func newCompetencyServer(t *testing.T, dsn string, opts ...func(base string, c *api.Config)) (*testServer, *competency.Service) {
	t.Helper()
	var comp *competency.Service
	ts := newTestServer(t, dsn, append(opts, func(base string, c *api.Config) {
		db, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		comp = competency.NewService(db, base, nil, nil)
		if err := comp.SeedOfficial(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Competency, c.BaseURL = comp, base
	})...)
	return ts, comp
}

func eachCompetencyBackend(t *testing.T, f func(t *testing.T, ts *testServer, comp *competency.Service)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ts, comp := newCompetencyServer(t, b.DSN(t))
			f(t, ts, comp)
		})
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/frameworks/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Frameworks through the API: import (CASE or Moodle CSV), versions,
// export byte for byte, and CASE serving every stored framework, an
// imported third one included.
func TestFrameworksAPI(t *testing.T) {
	csv := readTestdata(t, "crcn-edu.moodle.csv")
	eachCompetencyBackend(t, func(t *testing.T, ts *testServer, comp *competency.Service) {
		ts.createIssuer(t, "ac-a")
		admin, _ := ts.createToken(t, ts.Root, "ac-a", "admin", "admin", auth.ScopeAdmin)
		trainer, _ := ts.createToken(t, ts.Root, "ac-a", "trainer", "trainer", auth.ScopeAward, auth.ScopeRead)

		var list struct {
			Frameworks []struct{ ID, Title, Source string }
		}
		ts.must(t, 200, "GET", "/api/v1/frameworks", req{Bearer: trainer}).json(t, &list)
		if len(list.Frameworks) != 2 || list.Frameworks[0].Source != "official" {
			t.Fatalf("frameworks at start: %+v", list)
		}

		// Who may import.
		wantError(t, "anonymous import", ts.do(t, "POST", "/api/v1/frameworks", req{Body: csv, ContentType: "text/csv"}), 401, "unauthenticated", "-")
		wantError(t, "trainer import", ts.do(t, "POST", "/api/v1/frameworks", req{Bearer: trainer, Body: csv, ContentType: "text/csv"}), 403, "forbidden", "-")
		// Bad input names the problem and stores nothing.
		wantError(t, "bad CSV", ts.do(t, "POST", "/api/v1/frameworks", req{Bearer: admin, Body: []byte("a,b\n1,2\n"), ContentType: "text/csv"}), 400, "invalid", "-")
		res := ts.do(t, "POST", "/api/v1/frameworks", req{Bearer: admin, Body: []byte(`{"CFDocument": {"identifier": "nope"}}`), ContentType: "application/json"})
		wantError(t, "bad CASE", res, 400, "invalid", "-")
		if !strings.Contains(res.String(), "identifier") {
			t.Errorf("bad CASE: %s does not name the identifier", res)
		}
		wantError(t, "oversized", ts.do(t, "POST", "/api/v1/frameworks", req{Bearer: admin, Body: bytes.Repeat([]byte("a"), competency.MaxImportBytes+2), ContentType: "text/csv"}), 413, "too_large", "-")
		wantError(t, "XML", ts.do(t, "POST", "/api/v1/frameworks", req{Bearer: admin, Body: []byte("<x/>"), ContentType: "application/xml"}), 415, "unsupported_media_type", "-")
		ts.must(t, 200, "GET", "/api/v1/frameworks", req{Bearer: trainer}).json(t, &list)
		if len(list.Frameworks) != 2 {
			t.Fatalf("a refused import stored something: %+v", list)
		}

		var fw struct {
			ID      string
			Version int
			Created bool
			CASE    string
		}
		ts.must(t, 201, "POST", "/api/v1/frameworks", req{Bearer: admin, Body: csv, ContentType: "text/csv"}).json(t, &fw)
		if fw.Version != 1 || !fw.Created || fw.CASE != ts.URL+"/ims/case/v1p0/CFPackages/"+fw.ID {
			t.Fatalf("import: %+v", fw)
		}
		ts.must(t, 200, "POST", "/api/v1/frameworks", req{Bearer: ts.Root, Body: csv, ContentType: "text/csv; charset=utf-8"}).json(t, &fw)
		if fw.Version != 1 || fw.Created {
			t.Fatalf("the same file again: %+v", fw)
		}
		out := ts.must(t, 200, "GET", "/api/v1/frameworks/"+fw.ID+"/export?format=moodle-csv", req{Bearer: trainer})
		if !bytes.Equal(out.Body, csv) {
			t.Errorf("Moodle CSV through the API differs:\n%s", out.Body)
		}
		wantError(t, "unknown format", ts.do(t, "GET", "/api/v1/frameworks/"+fw.ID+"/export?format=xml", req{Bearer: trainer}), 400, "invalid", "format")
		wantError(t, "unknown framework", ts.do(t, "GET", "/api/v1/frameworks/nope/export", req{Bearer: trainer}), 404, "not_found", "-")

		// The official frameworks come out of the API as the in-memory
		// exporters write them, and their CASE export imports back as the
		// same version.
		official, _ := competency.Official()
		for _, f := range official {
			wantCASE, _ := competency.ExportCASE(f, ts.URL)
			wantCSV, _ := competency.ExportMoodleCSV(f)
			if got := ts.must(t, 200, "GET", "/api/v1/frameworks/"+f.Identifier+"/export?format=case", req{Bearer: trainer}).Body; !bytes.Equal(got, wantCASE) {
				t.Errorf("%s: CASE through the API differs", f.Title)
			}
			if got := ts.must(t, 200, "GET", "/api/v1/frameworks/"+f.Identifier+"/export?format=moodle-csv", req{Bearer: trainer}).Body; !bytes.Equal(got, wantCSV) {
				t.Errorf("%s: Moodle CSV through the API differs", f.Title)
			}
			var again struct {
				Version int
				Created bool
			}
			ts.must(t, 200, "POST", "/api/v1/frameworks", req{Bearer: admin, Body: wantCASE, ContentType: "application/json"}).json(t, &again)
			if again.Version != 1 || again.Created {
				t.Errorf("%s: its own CASE export made a new version: %+v", f.Title, again)
			}
			served := ts.must(t, 200, "GET", "/ims/case/v1p0/CFPackages/"+f.Identifier, req{}).Body
			if !bytes.Equal(served, wantCASE) {
				t.Errorf("%s: the served CFPackage differs from the export", f.Title)
			}
		}

		// CASE serves the imported third framework.
		var docs struct {
			CFDocuments []struct{ Identifier, Title string }
		}
		ts.must(t, 200, "GET", "/ims/case/v1p0/CFDocuments", req{}).json(t, &docs)
		if len(docs.CFDocuments) != 3 {
			t.Fatalf("CFDocuments: %+v", docs)
		}
		third, err := competency.ImportMoodleCSV(csv)
		if err != nil {
			t.Fatal(err)
		}
		item, _ := third.Item("C1.1.a")
		var got struct{ FullStatement, HumanCodingScheme string }
		ts.must(t, 200, "GET", "/ims/case/v1p0/CFItems/"+item.Identifier, req{}).json(t, &got)
		if got.FullStatement != item.FullStatement || got.HumanCodingScheme != "C1.1.a" {
			t.Errorf("third framework item: %+v", got)
		}

		// Changed content: a new version, served at once.
		changed := bytes.Replace(csv, []byte("Se connecter à l'ENT."), []byte("Se connecter à l'ENT et à la messagerie."), 1)
		ts.must(t, 201, "POST", "/api/v1/frameworks", req{Bearer: admin, Body: changed, ContentType: "text/csv"}).json(t, &fw)
		if fw.Version != 2 {
			t.Fatalf("changed file: %+v", fw)
		}
		ts.must(t, 200, "GET", "/ims/case/v1p0/CFItems/"+item.Identifier, req{}).json(t, &got)
		if got.FullStatement != "Se connecter à l'ENT et à la messagerie." {
			t.Errorf("CASE still serves %q", got.FullStatement)
		}
		var versions struct{ Versions []struct{ Version int } }
		ts.must(t, 200, "GET", "/api/v1/frameworks/"+fw.ID+"/versions", req{Bearer: trainer}).json(t, &versions)
		if len(versions.Versions) != 2 || versions.Versions[0].Version != 2 {
			t.Errorf("versions: %+v", versions)
		}
		if old := ts.must(t, 200, "GET", "/api/v1/frameworks/"+fw.ID+"/export?format=moodle-csv&version=1", req{Bearer: trainer}).Body; !bytes.Equal(old, csv) {
			t.Errorf("version 1 changed")
		}
	})
}

// rubricAchievement is an achievement aligned by code, with a scale of
// three levels.
func rubricAchievement(base string) map[string]any {
	spec := achievementSpec("Gérer la classe")
	spec["competencies"] = []string{"CC14", "F1.5"}
	spec["resultDescription"] = []map[string]any{{
		"id": base + "/scales/maitrise", "type": []string{"ResultDescription"}, "name": "Degré de maîtrise", "resultType": "RubricCriterionLevel",
		"rubricCriterionLevel": []map[string]any{
			{"id": base + "/scales/maitrise#1", "type": []string{"RubricCriterionLevel"}, "name": "Insuffisant"},
			{"id": base + "/scales/maitrise#2", "type": []string{"RubricCriterionLevel"}, "name": "Satisfaisant"},
			{"id": base + "/scales/maitrise#3", "type": []string{"RubricCriterionLevel"}, "name": "Très satisfaisant"},
		},
	}}
	return spec
}

// An achievement created with competencies by code carries OB 3.0
// alignments with the official wording and a targetUrl that resolves; an
// unknown code is refused, naming it.
func TestAchievementCompetencies(t *testing.T) {
	eachCompetencyBackend(t, func(t *testing.T, ts *testServer, comp *competency.Service) {
		ts.createIssuer(t, "ac-a")
		res := ts.must(t, 201, "POST", "/api/v1/issuers/ac-a/achievements", req{Bearer: ts.Root, JSON: rubricAchievement(ts.URL)})
		var a struct {
			ID        string
			Alignment []struct{ TargetType, TargetCode, TargetName, TargetFramework, TargetURL string }
		}
		res.json(t, &a)
		official, _ := competency.Official()
		cc14, _ := official[0].Item("CC14")
		f15, _ := official[1].Item("F1.5")
		if len(a.Alignment) != 2 || a.Alignment[0].TargetCode != "CC14" || a.Alignment[1].TargetCode != "F1.5" {
			t.Fatalf("alignments %+v", a.Alignment)
		}
		for i, it := range []competency.Item{cc14, f15} {
			al := a.Alignment[i]
			if al.TargetType != "CFItem" || al.TargetName != it.FullStatement || al.TargetURL != ts.URL+"/ims/case/v1p0/CFItems/"+it.Identifier || al.TargetFramework != official[i].Title {
				t.Errorf("alignment %d: %+v", i, al)
			}
			var got struct{ FullStatement string }
			ts.must(t, 200, "GET", strings.TrimPrefix(al.TargetURL, ts.URL), req{}).json(t, &got)
			if got.FullStatement != it.FullStatement {
				t.Errorf("%s resolves to %q", al.TargetURL, got.FullStatement)
			}
		}
		bad := achievementSpec("Inconnu")
		bad["competencies"] = []string{"CC14", "XX99"}
		res = ts.do(t, "POST", "/api/v1/issuers/ac-a/achievements", req{Bearer: ts.Root, JSON: bad})
		wantError(t, "unknown code", res, 400, "invalid", "competencies[1]")
		if !strings.Contains(res.String(), "XX99") {
			t.Errorf("the error does not name the code: %s", res)
		}
		// The alignment goes into every credential of the achievement.
		id := strings.TrimPrefix(a.ID, ts.URL+"/achievements/")
		creds := ts.award(t, ts.Root, id, "lea@example.org")
		var c struct{ Credential json.RawMessage }
		ts.must(t, 200, "GET", "/api/v1/credentials/"+creds[0], req{Bearer: ts.Root}).json(t, &c)
		if !bytes.Contains(c.Credential, []byte(`"targetCode":"CC14"`)) || !bytes.Contains(c.Credential, []byte(cc14.FullStatement)) {
			t.Errorf("the credential lacks the alignment: %s", c.Credential)
		}
	})
}

type pendingOut struct {
	ID          string
	State       string
	Level       string
	Reason      string
	Credentials []struct{ ID, URL string }
}

// A trainer's award against competencies: the level and the items go into
// the result, the evidence into the credential, and the learner's profile
// shows the best level. With a second assessor nothing is issued before
// another trainer approves; the proposer cannot approve; rejection issues
// nothing. A trainer of another issuer can do none of it.
func TestCompetencyAwards(t *testing.T) {
	eachCompetencyBackend(t, func(t *testing.T, ts *testServer, comp *competency.Service) {
		ctx := context.Background()
		ts.createIssuer(t, "ac-a")
		ts.createIssuer(t, "ac-b")
		t1 := ts.newSession(t, ts.addMember(t, ts.Root, "ac-a", "t1@ac-a.fr", "trainer", ""))
		t2 := ts.newSession(t, ts.addMember(t, ts.Root, "ac-a", "t2@ac-a.fr", "admin", ""))
		t1tok, _ := ts.createToken(t, ts.Root, "ac-a", "t1 script", "trainer", auth.ScopeAward, auth.ScopeRead)
		tb := ts.newSession(t, ts.addMember(t, ts.Root, "ac-b", "tb@ac-b.fr", "admin", ""))
		res := ts.must(t, 201, "POST", "/api/v1/issuers/ac-a/achievements", req{Bearer: ts.Root, JSON: rubricAchievement(ts.URL)})
		achID, _ := res.obj(t)["id"].(string)
		ev := ts.must(t, 201, "POST", "/api/v1/evidence?name=seance.png", req{Session: t1, Body: pngBytes(300), ContentType: "image/png"}).obj(t)
		evURL, _ := ev["url"].(string)

		award := func(level string, second bool, emails ...string) map[string]any {
			rs := []map[string]string{}
			for _, e := range emails {
				rs = append(rs, map[string]string{"email": e, "name": "Nom " + e})
			}
			return map[string]any{"achievement": achID, "recipients": rs, "competencies": []string{"CC14", "CC4"}, "level": level,
				"narrative": "Séance observée le 12 novembre.", "evidence": []map[string]string{{"url": evURL, "name": "Photo du tableau"}}, "secondAssessor": second}
		}
		count := func() int { return ts.credentialCount(t, achID) }

		// Another issuer's trainer or admin cannot award for ac-a.
		wantError(t, "trainer of ac-b", ts.do(t, "POST", "/api/v1/competency-awards", req{Session: tb, JSON: award("Satisfaisant", false, "x@example.org")}), 403, "forbidden", "-")
		wantError(t, "unknown level", ts.do(t, "POST", "/api/v1/competency-awards", req{Session: t1, JSON: award("Parfait", false, "x@example.org")}), 400, "invalid", "level")
		bad := award("Satisfaisant", false, "x@example.org")
		bad["competencies"] = []string{"ZZ1"}
		wantError(t, "unknown item", ts.do(t, "POST", "/api/v1/competency-awards", req{Session: t1, JSON: bad}), 400, "invalid", "competencies[0]")
		typo := award("Satisfaisant", false, "x@example.org")
		typo["evidence"] = []map[string]string{{"url": evURL[:len(evURL)-1] + "0"}}
		if strings.HasSuffix(evURL, "0") {
			typo["evidence"] = []map[string]string{{"url": evURL[:len(evURL)-1] + "1"}}
		}
		wantError(t, "evidence file that was never uploaded", ts.do(t, "POST", "/api/v1/competency-awards", req{Session: t1, JSON: typo}), 400, "invalid", "evidence[0].url")
		if n := count(); n != 0 {
			t.Fatalf("refused awards issued %d credentials", n)
		}

		// A direct award.
		var direct struct{ Credentials []struct{ ID, URL string } }
		ts.must(t, 201, "POST", "/api/v1/competency-awards", req{Session: t1, JSON: award("Très satisfaisant", false, "lea@example.org")}).json(t, &direct)
		if len(direct.Credentials) != 1 {
			t.Fatalf("direct award: %+v", direct)
		}
		var c struct{ Credential json.RawMessage }
		ts.must(t, 200, "GET", "/api/v1/credentials/"+strings.TrimPrefix(direct.Credentials[0].ID, "urn:uuid:"), req{Bearer: ts.Root}).json(t, &c)
		var doc struct {
			CredentialSubject struct {
				Result []struct {
					ResultDescription, AchievedLevel string
					Alignment                        []struct{ TargetCode string }
				}
			}
			Evidence []struct{ ID, Name string }
		}
		json.Unmarshal(c.Credential, &doc)
		r := doc.CredentialSubject.Result
		if len(r) != 1 || r[0].AchievedLevel != ts.URL+"/scales/maitrise#3" || r[0].ResultDescription != ts.URL+"/scales/maitrise" ||
			len(r[0].Alignment) != 2 || r[0].Alignment[0].TargetCode != "CC14" || r[0].Alignment[1].TargetCode != "CC4" {
			t.Errorf("result %+v", r)
		}
		if len(doc.Evidence) != 1 || doc.Evidence[0].ID != evURL {
			t.Errorf("evidence %+v", doc.Evidence)
		}
		// A later, lower assessment does not lower the best level. Sent
		// twice with its Idempotency-Key, it is awarded once.
		lower := req{Bearer: t1tok, JSON: award("Insuffisant", false, "lea@example.org"), Header: map[string]string{"Idempotency-Key": "eval-lea-2"}}
		first := ts.must(t, 201, "POST", "/api/v1/competency-awards", lower)
		if again := ts.must(t, 201, "POST", "/api/v1/competency-awards", lower); !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry: %s", again)
		}

		// With a second assessor.
		var pa pendingOut
		res = ts.must(t, 202, "POST", "/api/v1/competency-awards", req{Session: t1, JSON: award("Satisfaisant", true, "max@example.org")})
		res.json(t, &pa)
		if pa.State != "pending" || len(pa.Credentials) != 0 || res.Header.Get("Location") != ts.URL+"/api/v1/pending-awards/"+pa.ID {
			t.Fatalf("pending: %s", res)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d credentials while the award waits, want 2", n)
		}
		var queue struct{ PendingAwards []pendingOut }
		ts.must(t, 200, "GET", "/api/v1/issuers/ac-a/pending-awards", req{Session: t2}).json(t, &queue)
		if len(queue.PendingAwards) != 1 || queue.PendingAwards[0].ID != pa.ID {
			t.Fatalf("queue: %+v", queue)
		}
		wantError(t, "queue of ac-a for ac-b", ts.do(t, "GET", "/api/v1/issuers/ac-a/pending-awards", req{Session: tb}), 403, "forbidden", "-")
		wantError(t, "proposer approves", ts.do(t, "POST", "/api/v1/pending-awards/"+pa.ID+"/approve", req{Session: t1}), 403, "same_assessor", "-")
		t2tok := ts.userToken(t, t2, "ac-a")
		wantError(t, "ac-b approves", ts.do(t, "POST", "/api/v1/pending-awards/"+pa.ID+"/approve", req{Session: tb}), 403, "forbidden", "-")
		if n := count(); n != 2 {
			t.Fatalf("%d credentials after refused approvals, want 2", n)
		}
		ts.must(t, 201, "POST", "/api/v1/pending-awards/"+pa.ID+"/approve", req{Bearer: t2tok}).json(t, &pa)
		if pa.State != "approved" || len(pa.Credentials) != 1 {
			t.Fatalf("approved: %+v", pa)
		}
		wantError(t, "approved twice", ts.do(t, "POST", "/api/v1/pending-awards/"+pa.ID+"/approve", req{Session: t2}), 409, "already_decided", "-")
		if n := count(); n != 3 {
			t.Fatalf("%d credentials after the approval, want 3", n)
		}
		// A token its user made is that user: no self-approval with a token.
		ts.must(t, 202, "POST", "/api/v1/competency-awards", req{Session: t2, JSON: award("Satisfaisant", true, "noe@example.org")}).json(t, &pa)
		wantError(t, "proposer approves with a token", ts.do(t, "POST", "/api/v1/pending-awards/"+pa.ID+"/approve", req{Bearer: t2tok}), 403, "same_assessor", "-")
		ts.must(t, 201, "POST", "/api/v1/pending-awards/"+pa.ID+"/approve", req{Session: t1})

		// Rejection issues nothing.
		ts.must(t, 202, "POST", "/api/v1/competency-awards", req{Session: t1, JSON: award("Satisfaisant", true, "zoe@example.org")}).json(t, &pa)
		wantError(t, "proposer rejects", ts.do(t, "POST", "/api/v1/pending-awards/"+pa.ID+"/reject", req{Session: t1, JSON: map[string]string{"reason": "x"}}), 403, "same_assessor", "-")
		ts.must(t, 200, "POST", "/api/v1/pending-awards/"+pa.ID+"/reject", req{Session: t2, JSON: map[string]string{"reason": "Preuve insuffisante."}}).json(t, &pa)
		if pa.State != "rejected" || pa.Reason != "Preuve insuffisante." || len(pa.Credentials) != 0 {
			t.Fatalf("rejected: %+v", pa)
		}
		wantError(t, "approve after rejection", ts.do(t, "POST", "/api/v1/pending-awards/"+pa.ID+"/approve", req{Session: t2}), 409, "already_decided", "-")
		if n := count(); n != 4 {
			t.Fatalf("%d credentials after the rejection, want 4", n)
		}
		// An achievement that requires a second assessor: never awarded
		// directly, and a competency award waits even without the flag.
		strict := rubricAchievement(ts.URL)
		strict["name"], strict["requireSecondAssessor"] = "Évaluation certificative", true
		res = ts.must(t, 201, "POST", "/api/v1/issuers/ac-a/achievements", req{Bearer: ts.Root, JSON: strict})
		if res.obj(t)["requireSecondAssessor"] != true {
			t.Errorf("achievement: %s", res)
		}
		strictID, _ := res.obj(t)["id"].(string)
		wantError(t, "direct award of a strict achievement", ts.do(t, "POST", "/api/v1/awards", req{Session: t1,
			JSON: map[string]any{"achievement": strictID, "recipients": []map[string]string{{"email": "x@example.org"}}}}), 400, "invalid", "achievement")
		direct2 := award("Satisfaisant", false, "x@example.org")
		direct2["achievement"] = strictID
		ts.must(t, 202, "POST", "/api/v1/competency-awards", req{Session: t1, JSON: direct2}).json(t, &pa)
		if pa.State != "pending" || ts.credentialCount(t, strictID) != 0 {
			t.Errorf("strict achievement: %+v", pa)
		}
		ts.must(t, 201, "POST", "/api/v1/pending-awards/"+pa.ID+"/approve", req{Session: t2})

		log, err := ts.Iss.AuditLog(ctx, "ac-a", 100)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range log {
			actions[e.Action]++
		}
		if actions["award.propose"] != 4 || actions["award.approve"] != 3 || actions["award.reject"] != 1 {
			t.Errorf("audit: %v", actions)
		}

		// The profile: the best level, the credentials and their evidence.
		var prof competency.Profile
		ts.must(t, 200, "GET", "/api/v1/learners/lea@example.org/competencies", req{Bearer: ts.Root}).json(t, &prof)
		item := profileItem(t, prof, "CC14")
		if item.BestLevel == nil || item.BestLevel.Name != "Très satisfaisant" || item.BestLevel.Rank != 3 || item.BestLevel.Of != 3 {
			t.Errorf("CC14 best level %+v", item.BestLevel)
		}
		if len(item.Credentials) != 2 || len(item.Credentials[0].Evidence) != 1 || item.Credentials[0].Evidence[0].ID != evURL {
			t.Errorf("CC14 credentials %+v", item.Credentials)
		}
		if f15 := profileItem(t, prof, "F1.5"); f15.BestLevel != nil || len(f15.Credentials) != 2 {
			t.Errorf("F1.5 (aligned by the achievement, not assessed): %+v", f15)
		}
		var maxProf competency.Profile
		ts.must(t, 200, "GET", "/api/v1/learners/max@example.org/competencies", req{Session: t2}).json(t, &maxProf)
		if it := profileItem(t, maxProf, "CC4"); it.BestLevel == nil || it.BestLevel.Name != "Satisfaisant" {
			t.Errorf("max CC4: %+v", it)
		}

		// Who reads a profile: the learner themself, root, the trainers of
		// an issuer that awarded them; nobody else.
		leaUser := ts.addMember(t, ts.Root, "ac-b", "lea@example.org", "trainer", "")
		if err := ts.Auth.RemoveMember(ctx, &auth.Principal{Kind: auth.KindRoot, Root: true}, "ac-b", leaUser); err != nil {
			t.Fatal(err)
		}
		lea := ts.newSession(t, leaUser)
		var own competency.Profile
		ts.must(t, 200, "GET", "/api/v1/learners/Lea@Example.org/competencies", req{Session: lea}).json(t, &own)
		if len(own.Frameworks) != 2 {
			t.Errorf("the learner's own profile: %+v", own)
		}
		wantError(t, "another learner's profile", ts.do(t, "GET", "/api/v1/learners/max@example.org/competencies", req{Session: lea}), 403, "forbidden", "-")
		wantError(t, "trainer of an issuer that awarded nothing", ts.do(t, "GET", "/api/v1/learners/lea@example.org/competencies", req{Session: tb}), 404, "not_found", "-")
		wantError(t, "anonymous", ts.do(t, "GET", "/api/v1/learners/lea@example.org/competencies", req{}), 401, "unauthenticated", "-")
	})
}

func profileItem(t *testing.T, p competency.Profile, code string) competency.ProfileItem {
	t.Helper()
	for _, f := range p.Frameworks {
		for _, it := range f.Items {
			if it.Code == code {
				return it
			}
		}
	}
	t.Fatalf("no %s in the profile %+v", code, p)
	return competency.ProfileItem{}
}

// userToken makes an API token (trainer, awards:write) as the signed-in
// admin s of slug would, through their session.
func (ts *testServer) userToken(t *testing.T, s *session, slug string) string {
	t.Helper()
	res := ts.do(t, "POST", "/api/v1/issuers/"+slug+"/tokens", req{Session: s, JSON: map[string]any{"name": "script", "role": "trainer", "scopes": []string{auth.ScopeAward}}})
	if res.Status != 201 {
		t.Fatalf("token: %s", res)
	}
	var out struct{ Token string }
	res.json(t, &out)
	return out.Token
}

// Statistics as JSON and as SVG charts, for the issuer's admins and root.
func TestStatistics(t *testing.T) {
	eachCompetencyBackend(t, func(t *testing.T, ts *testServer, comp *competency.Service) {
		ts.createIssuer(t, "ac-a")
		ts.createIssuer(t, "ac-b")
		admin, _ := ts.createToken(t, ts.Root, "ac-a", "admin", "admin", auth.ScopeAdmin)
		trainer, _ := ts.createToken(t, ts.Root, "ac-a", "trainer", "trainer", auth.ScopeAward, auth.ScopeRead)
		adminB, _ := ts.createToken(t, ts.Root, "ac-b", "admin", "admin", auth.ScopeAdmin)
		res := ts.must(t, 201, "POST", "/api/v1/issuers/ac-a/achievements", req{Bearer: ts.Root, JSON: rubricAchievement(ts.URL)})
		achID, _ := res.obj(t)["id"].(string)
		ts.award(t, trainer, achID, "a@example.org", "b@example.org", "c@example.org")
		ts.must(t, 201, "POST", "/api/v1/competency-awards", req{Bearer: trainer, JSON: map[string]any{"achievement": achID,
			"recipients": []map[string]string{{"email": "a@example.org"}}, "competencies": []string{"P3"}, "level": "Satisfaisant"}})
		for email, acad := range map[string]string{"a@example.org": "Lyon", "b@example.org": "Lyon", "c@example.org": "Grenoble"} {
			ts.must(t, 200, "PUT", "/api/v1/learners/"+email, req{Bearer: admin, JSON: map[string]string{"academie": acad, "departement": "69", "discipline": "Mathématiques"}})
		}
		wantError(t, "admin of another issuer sets a learner", ts.do(t, "PUT", "/api/v1/learners/a@example.org", req{Bearer: adminB, JSON: map[string]string{"academie": "Nice"}}), 403, "forbidden", "-")
		wantError(t, "unknown field", ts.do(t, "PUT", "/api/v1/learners/a@example.org", req{Bearer: admin, JSON: map[string]string{"academy": "Nice"}}), 400, "invalid_json", "academy")

		var st competency.Statistics
		ts.must(t, 200, "GET", "/api/v1/statistics?issuer=ac-a", req{Bearer: admin}).json(t, &st)
		counts := func(cs []competency.Count) map[string]int {
			m := map[string]int{}
			for _, c := range cs {
				m[c.Label] = c.Count
			}
			return m
		}
		if st.Total != 4 {
			t.Errorf("total %d, want 4", st.Total)
		}
		if m := counts(st.ByItem); m["CC14"] != 4 || m["F1.5"] != 4 || m["P3"] != 1 {
			t.Errorf("by item %v", m)
		}
		if m := counts(st.ByAcademie); m["Lyon"] != 3 || m["Grenoble"] != 1 {
			t.Errorf("by académie %v", m)
		}
		if m := counts(st.ByIssuer); m["ac-a"] != 4 {
			t.Errorf("by issuer %v", m)
		}
		if len(st.ByMonth) != 1 || st.ByMonth[0].Count != 4 {
			t.Errorf("by month %+v", st.ByMonth)
		}
		wantError(t, "trainer", ts.do(t, "GET", "/api/v1/statistics?issuer=ac-a", req{Bearer: trainer}), 403, "forbidden", "-")
		wantError(t, "admin of ac-b", ts.do(t, "GET", "/api/v1/statistics?issuer=ac-a", req{Bearer: adminB}), 403, "forbidden", "-")
		wantError(t, "admin without issuer", ts.do(t, "GET", "/api/v1/statistics", req{Bearer: admin}), 400, "invalid", "issuer")
		ts.must(t, 200, "GET", "/api/v1/statistics", req{Bearer: ts.Root}).json(t, &st)
		if st.Total != 4 {
			t.Errorf("root total %d", st.Total)
		}

		for _, name := range []string{"items", "issuers", "academies", "departements", "disciplines", "months"} {
			res := ts.must(t, 200, "GET", "/api/v1/statistics/"+name+".svg?issuer=ac-a", req{Bearer: admin})
			if ct := res.Header.Get("Content-Type"); ct != "image/svg+xml" {
				t.Errorf("%s: Content-Type %q", name, ct)
			}
			checkSVG(t, name, res.Body)
		}
		items := string(ts.must(t, 200, "GET", "/api/v1/statistics/items.svg?issuer=ac-a", req{Bearer: admin}).Body)
		if !strings.Contains(items, ">CC14<") || !strings.Contains(items, ">4<") {
			t.Errorf("the items chart lacks a label or a value: %s", items)
		}
		wantError(t, "chart for a trainer", ts.do(t, "GET", "/api/v1/statistics/items.svg?issuer=ac-a", req{Bearer: trainer}), 403, "forbidden", "-")
	})
}

// checkSVG parses a chart as XML and checks what makes it accessible: a
// role, a title and a description it is labelled by, and text.
func checkSVG(t *testing.T, name string, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var title, desc, texts int
	var labelled string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Errorf("%s: not XML: %v", name, err)
			return
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "svg":
				for _, a := range se.Attr {
					if a.Name.Local == "aria-labelledby" {
						labelled = a.Value
					}
				}
			case "title":
				title++
			case "desc":
				desc++
			case "text":
				texts++
			}
		}
	}
	if title == 0 || desc == 0 || texts < 2 || !strings.Contains(labelled, "-title") || !strings.Contains(labelled, "-desc") {
		t.Errorf("%s: title %d desc %d texts %d aria-labelledby %q", name, title, desc, texts, labelled)
	}
}
