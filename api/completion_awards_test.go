package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/store/storetest"
)

type completionAwardJSON struct {
	ID, Learner, Achievement, Issuer, State, Rule, Activity, Error, Credential string
	Attempts                                                                   int
}

type completionAwardList struct {
	Total            int
	CompletionAwards []completionAwardJSON
}

// A completion award that cannot be issued (its badge waits for a second
// assessor) is listed for the issuer's staff with the reason and the
// activity; an admin retries it once the cause is gone. Learners and
// another issuer's staff neither see nor retry it. Deleting the mapping
// cancels a failed award.
func TestFailedCompletionAwardsListedAndRetried(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ts.createIssuer(t, "ac-lyon")
		ts.createIssuer(t, "ac-nice")
		spec := achievementSpec("Numérique")
		spec["requireSecondAssessor"] = true
		res := ts.must(t, http.StatusCreated, "POST", "/api/v1/issuers/ac-lyon/achievements", req{Bearer: ts.Root, JSON: spec})
		achURL, _ := res.obj(t)["id"].(string)
		ach := strings.TrimPrefix(achURL, ts.URL+"/achievements/")
		admin, _ := ts.createToken(t, ts.Root, "ac-lyon", "admin", "admin", allScopes...)
		trainer, _ := ts.createToken(t, ts.Root, "ac-lyon", "trainer", "trainer", auth.ScopeAward, auth.ScopeRead)
		adminNice, _ := ts.createToken(t, ts.Root, "ac-nice", "admin", "admin", allScopes...)
		usr, err := ts.DB.CreateUser(context.Background(), auth.User{Email: "prof1@ac-lyon.fr", Name: "Prof", CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		learner := ts.newSession(t, usr.ID)
		var m struct{ ID string }
		ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: admin, JSON: map[string]any{"activity": mappedCourse, "achievement": ach}}).json(t, &m)
		var r resultJSON
		ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: ts.Root, JSON: []map[string]any{jsonCompletion("prof1@ac-lyon.fr", 1)}}).json(t, &r)
		if r.Recorded != 1 || len(r.Awarded) != 0 {
			t.Fatalf("completion: %+v", r)
		}

		list := "/api/v1/issuers/ac-lyon/completion-awards"
		var got completionAwardList
		ts.must(t, 200, "GET", list, req{Bearer: trainer}).json(t, &got)
		if got.Total != 1 || len(got.CompletionAwards) != 1 {
			t.Fatalf("failed awards: %+v", got)
		}
		fa := got.CompletionAwards[0]
		if fa.State != "failed" || !strings.Contains(fa.Error, "second assessor") || fa.Learner != "prof1@ac-lyon.fr" ||
			!strings.Contains(fa.Activity, mappedCourse) || fa.Rule != ts.URL+"/api/v1/mappings/"+m.ID || fa.Achievement != achURL || fa.Credential != "" {
			t.Fatalf("failed award %+v", fa)
		}
		retry := list + "/" + fa.ID + "/retry"

		// Who may not.
		wantError(t, "a learner lists", ts.do(t, "GET", list, req{Session: learner}), 403, "forbidden", "")
		wantError(t, "another issuer's admin lists", ts.do(t, "GET", list, req{Bearer: adminNice}), 403, "forbidden", "")
		wantError(t, "a learner retries", ts.do(t, "POST", retry, req{Session: &session{Cookie: learner.Cookie, CSRF: learner.CSRF}}), 403, "forbidden", "")
		wantError(t, "a trainer retries", ts.do(t, "POST", retry, req{Bearer: trainer}), 403, "forbidden", "")
		wantError(t, "another issuer's admin retries", ts.do(t, "POST", retry, req{Bearer: adminNice}), 403, "forbidden", "")
		wantError(t, "another issuer's admin retries it as theirs", ts.do(t, "POST", "/api/v1/issuers/ac-nice/completion-awards/"+fa.ID+"/retry", req{Bearer: adminNice}), 404, "not_found", "")
		ts.must(t, 200, "GET", "/api/v1/issuers/ac-nice/completion-awards", req{Bearer: adminNice}).json(t, &got)
		if got.Total != 0 {
			t.Fatalf("ac-nice sees %+v", got)
		}
		// Bad input.
		wantError(t, "unknown state", ts.do(t, "GET", list+"?state=lost", req{Bearer: admin}), 400, "invalid", "state")
		wantError(t, "limit 0", ts.do(t, "GET", list+"?limit=0", req{Bearer: admin}), 400, "invalid", "limit")
		wantError(t, "limit abc", ts.do(t, "GET", list+"?limit=abc", req{Bearer: admin}), 400, "invalid", "limit")
		wantError(t, "negative offset", ts.do(t, "GET", list+"?offset=-1", req{Bearer: admin}), 400, "invalid", "offset")
		wantError(t, "unknown issuer", ts.do(t, "GET", "/api/v1/issuers/ac-nulle/completion-awards", req{Bearer: ts.Root}), 404, "not_found", "")
		wantError(t, "unknown award", ts.do(t, "POST", list+"/not-a-uuid/retry", req{Bearer: admin}), 404, "not_found", "")

		// Retried while the cause remains: failed again.
		var after completionAwardJSON
		ts.must(t, 200, "POST", retry, req{Bearer: admin}).json(t, &after)
		if after.State != "failed" || !strings.Contains(after.Error, "second assessor") {
			t.Fatalf("retry while the cause remains: %+v", after)
		}
		// The cause gone, it is issued.
		spec["requireSecondAssessor"] = false
		ts.must(t, 200, "PUT", "/api/v1/achievements/"+ach, req{Bearer: ts.Root, JSON: spec})
		after = completionAwardJSON{}
		ts.must(t, 200, "POST", retry, req{Bearer: admin}).json(t, &after)
		if after.State != "issued" || after.Error != "" || after.Credential != ts.URL+"/credentials/"+fa.ID {
			t.Fatalf("retry: %+v", after)
		}
		if n := ts.credentialCount(t, ach); n != 1 {
			t.Fatalf("%d credentials after the retry", n)
		}
		wantError(t, "retrying an issued award", ts.do(t, "POST", retry, req{Bearer: ts.Root}), 409, "conflict", "")
		got = completionAwardList{}
		ts.must(t, 200, "GET", list+"?state=issued", req{Bearer: admin}).json(t, &got)
		if got.Total != 1 || got.CompletionAwards[0].ID != fa.ID {
			t.Fatalf("issued awards %+v", got)
		}

		// A second learner's award fails; deleting the mapping cancels it.
		spec["requireSecondAssessor"] = true
		ts.must(t, 200, "PUT", "/api/v1/achievements/"+ach, req{Bearer: ts.Root, JSON: spec})
		ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: ts.Root, JSON: []map[string]any{jsonCompletion("prof2@ac-lyon.fr", 2)}})
		ts.must(t, 200, "GET", list, req{Bearer: admin}).json(t, &got)
		if got.Total != 1 {
			t.Fatalf("failed awards: %+v", got)
		}
		ts.must(t, 204, "DELETE", "/api/v1/mappings/"+m.ID, req{Bearer: admin})
		ts.must(t, 200, "GET", list, req{Bearer: admin}).json(t, &got)
		if got.Total != 0 {
			t.Fatalf("failed awards after the deletion: %+v", got)
		}
		ts.must(t, 200, "GET", list+"?state=cancelled", req{Bearer: admin}).json(t, &got)
		if got.Total != 1 || got.CompletionAwards[0].Learner != "prof2@ac-lyon.fr" || !strings.Contains(got.CompletionAwards[0].Error, "deleted before the award was issued") {
			t.Fatalf("cancelled awards: %+v", got)
		}
		ts.must(t, 200, "GET", list+"?state=all&limit=1&offset=1", req{Bearer: ts.Root}).json(t, &got)
		if got.Total != 2 || len(got.CompletionAwards) != 1 || got.CompletionAwards[0].Learner != "prof2@ac-lyon.fr" {
			t.Fatalf("second page of all: %+v", got)
		}
	})
}

// The rules page lists the issuer's failed completion awards with a
// button that retries each; a trainer cannot see the page.
func TestFailedAwardsOnTheRulesPage(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	ts.createIssuer(t, "ac-lyon")
	spec := achievementSpec("Numérique")
	spec["requireSecondAssessor"] = true
	res := ts.must(t, http.StatusCreated, "POST", "/api/v1/issuers/ac-lyon/achievements", req{Bearer: ts.Root, JSON: spec})
	ach := strings.TrimPrefix(res.obj(t)["id"].(string), ts.URL+"/achievements/")
	ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"activity": mappedCourse, "achievement": ach}})
	ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: ts.Root, JSON: []map[string]any{jsonCompletion("prof1@ac-lyon.fr", 1)}})
	admin := ts.newSession(t, ts.addMember(t, ts.Root, "ac-lyon", "admin@ac-lyon.fr", "admin", ""))
	trainer := ts.newSession(t, ts.addMember(t, ts.Root, "ac-lyon", "formateur@ac-lyon.fr", "trainer", ""))

	page := string(ts.must(t, 200, "GET", "/manage/ac-lyon/rules", req{Session: admin}).Body)
	var got completionAwardList
	ts.must(t, 200, "GET", "/api/v1/issuers/ac-lyon/completion-awards", req{Bearer: ts.Root}).json(t, &got)
	if got.Total != 1 {
		t.Fatalf("failed awards %+v", got)
	}
	action := `/manage/ac-lyon/completion-awards/` + got.CompletionAwards[0].ID + `/retry`
	if !strings.Contains(page, "prof1@ac-lyon.fr") || !strings.Contains(page, `action="`+action+`"`) || !strings.Contains(page, "second assessor") {
		t.Fatalf("the rules page does not list the failed award:\n%s", page)
	}
	m := csrfFieldRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no csrf_token on the rules page")
	}
	form := req{Session: &session{Cookie: admin.Cookie}, Body: []byte("csrf_token=" + url.QueryEscape(m[1])), ContentType: "application/x-www-form-urlencoded"}
	if res := ts.do(t, "POST", action, form); res.Status != 303 || res.Header.Get("Location") != "/manage/ac-lyon/rules?done=award.retry.failed" {
		t.Fatalf("retry while the cause remains: %d %s", res.Status, res.Header.Get("Location"))
	}
	spec["requireSecondAssessor"] = false
	ts.must(t, 200, "PUT", "/api/v1/achievements/"+ach, req{Bearer: ts.Root, JSON: spec})
	if res := ts.do(t, "POST", action, form); res.Status != 303 || res.Header.Get("Location") != "/manage/ac-lyon/rules?done=award.retried" {
		t.Fatalf("retry: %d %s", res.Status, res.Header.Get("Location"))
	}
	if n := ts.credentialCount(t, ach); n != 1 {
		t.Fatalf("%d credentials after the retry", n)
	}
	page = string(ts.must(t, 200, "GET", "/manage/ac-lyon/rules?done=award.retried", req{Session: admin}).Body)
	if strings.Contains(page, action) || !strings.Contains(page, "Le badge a été délivré.") {
		t.Fatalf("after the retry:\n%s", page)
	}
	// Again: the award is issued, the form says why nothing happened.
	if res := ts.do(t, "POST", action, form); res.Status != 400 {
		t.Fatalf("retrying an issued award from the page: %s", res)
	}
	if res := ts.do(t, "GET", "/manage/ac-lyon/rules", req{Session: trainer}); res.Status != 403 {
		t.Fatalf("a trainer opens the rules page: %d", res.Status)
	}
}
