package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store/storetest"
)

// The principals of the authorization matrix, in the order of its columns.
const (
	pAnon         = iota // no credentials at all
	pRoot                // INSIGNE_ADMIN_TOKEN
	pAdminA              // API token of issuer a, role admin, every scope
	pTrainerA            // API token of a, role trainer, awards:write credentials:read
	pTrainerANoAw        // API token of a, role trainer, credentials:read only
	pAdminB              // API token of issuer b, role admin, every scope
	pLearner             // signed-in user without any role
	pSessAdminA          // signed-in user, admin of a, sending the CSRF token
	pSessNoCSRF          // the same session, without the CSRF token
	pSessTrainerA        // signed-in user, trainer of a, sending the CSRF token
	pRevoked             // a revoked API token of a (admin, every scope)
	pForged              // "ins_" and random characters
	nPrincipals
)

var principalNames = [nPrincipals]string{"anonymous", "root", "admin A (token)", "trainer A (token)", "trainer A without awards:write",
	"admin B (token)", "learner (session)", "admin A (session)", "admin A (session, no CSRF)", "trainer A (session)",
	"revoked token", "forged token"}

type principal struct {
	id     int
	bearer string
	sess   *session
}

func (p principal) name() string { return principalNames[p.id] }

func (p principal) sign(r req) req {
	r.Bearer, r.Session = p.bearer, p.sess
	return r
}

// call is one request of the matrix, prepared for one principal. after,
// when set, checks what the request changed, or that a refused request
// changed nothing.
type call struct {
	method, path string
	r            req
	after        func(t *testing.T, res *resp)
}

var allScopes = []string{auth.ScopeAward, auth.ScopeRead, auth.ScopeRevoke, auth.ScopeAdmin}

// TestAuthorizationMatrix sends every route of the API, as every kind of
// principal, to issuer a's resources and checks each answer against the
// table below.
func TestAuthorizationMatrix(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var att *attest.Service
			ts, _ := newCompetencyServer(t, b.DSN(t), withAttest(t, &att))
			testAuthorizationMatrix(t, ts, att)
		})
	}
}

func testAuthorizationMatrix(t *testing.T, ts *testServer, att *attest.Service) {
	ctx := context.Background()
	root := ts.Root
	ts.createIssuer(t, "ac-a")
	ts.createIssuer(t, "ac-b")
	achA := ts.createAchievement(t, root, "ac-a", "Matrice")
	// Credentials that the matrix revokes, suspends and reinstates belong to
	// another achievement, so that achA counts only awards.
	achR := ts.createAchievement(t, root, "ac-a", "À révoquer")
	credA := ts.award(t, root, achA, "titulaire@example.org")[0]

	adminA, _ := ts.createToken(t, root, "ac-a", "admin A", "admin", allScopes...)
	// A token made by a token: the trainer's token comes from admin A's.
	trainerA, _ := ts.createToken(t, adminA, "ac-a", "trainer A", "trainer", auth.ScopeAward, auth.ScopeRead)
	trainerANoAw, _ := ts.createToken(t, root, "ac-a", "trainer A, read only", "trainer", auth.ScopeRead)
	adminB, _ := ts.createToken(t, root, "ac-b", "admin B", "admin", allScopes...)
	revoked, revokedID := ts.createToken(t, root, "ac-a", "revoked", "admin", allScopes...)
	ts.must(t, http.StatusNoContent, "DELETE", "/api/v1/issuers/ac-a/tokens/"+revokedID, req{Bearer: root})

	// A learner: a user who had a role and lost it, leaving an account
	// with no role anywhere.
	learnerID := ts.addMember(t, root, "ac-b", "apprenant@example.org", "trainer", "")
	if err := ts.Auth.RemoveMember(ctx, &auth.Principal{Kind: auth.KindRoot, Root: true}, "ac-b", learnerID); err != nil {
		t.Fatal(err)
	}
	if p, err := ts.Auth.UserPrincipal(ctx, learnerID); err != nil || !p.IsLearner() {
		t.Fatalf("learner principal %+v, %v", p, err)
	}
	adminAUser := ts.addMember(t, adminA, "ac-a", "admin-a@example.org", "admin", "")
	trainerAUser := ts.addMember(t, adminA, "ac-a", "formateur-a@example.org", "trainer", "")
	adminSess := ts.newSession(t, adminAUser)

	ps := [nPrincipals]principal{
		pAnon:         {},
		pRoot:         {bearer: root},
		pAdminA:       {bearer: adminA},
		pTrainerA:     {bearer: trainerA},
		pTrainerANoAw: {bearer: trainerANoAw},
		pAdminB:       {bearer: adminB},
		pLearner:      {sess: ts.newSession(t, learnerID)},
		pSessAdminA:   {sess: adminSess},
		pSessNoCSRF:   {sess: &session{Cookie: adminSess.Cookie}},
		pSessTrainerA: {sess: ts.newSession(t, trainerAUser)},
		pRevoked:      {bearer: revoked},
		pForged:       {bearer: forgedToken()},
	}
	for i := range ps {
		ps[i].id = i
	}

	// A job of a (the bulk path through the API is in badinput_test.go).
	prep, err := ts.Iss.Prepare(ctx, issuing.AwardRequest{Achievement: achA, Recipients: []issuing.RecipientInput{{Email: "lot@example.org"}}})
	if err != nil {
		t.Fatal(err)
	}
	job, err := ts.Iss.StartJob(ctx, "root", prep)
	if err != nil {
		t.Fatal(err)
	}
	if j := ts.waitJob(t, root, ts.Iss.JobURL(job.ID)); j.Done != 1 {
		t.Fatalf("setup job: %+v", j)
	}
	evidence := ts.must(t, http.StatusCreated, "POST", "/api/v1/evidence", req{Bearer: root, Body: pngBytes(100), ContentType: "image/png"}).obj(t)
	var keysA struct{ Keys []struct{ ID string } }
	ts.must(t, http.StatusOK, "GET", "/api/v1/issuers/ac-a/keys", req{Bearer: root}).json(t, &keysA)
	signedA := ts.must(t, http.StatusOK, "GET", "/credentials/"+credA, req{}).Body

	var seq atomic.Int64
	unique := func(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }
	var rotations, awards, scaleAwards atomic.Int64
	achS := strings.TrimPrefix(ts.must(t, 201, "POST", "/api/v1/issuers/ac-a/achievements", req{Bearer: root, JSON: rubricAchievement(ts.URL)}).obj(t)["id"].(string), ts.URL+"/achievements/")
	proposer, _ := ts.createToken(t, root, "ac-a", "proposer", "trainer", auth.ScopeAward)
	proposeA := func(t *testing.T) string {
		var pa struct{ ID string }
		ts.must(t, 202, "POST", "/api/v1/competency-awards", req{Bearer: proposer, JSON: map[string]any{"achievement": achS,
			"recipients": []map[string]string{{"email": unique("p") + "@example.org"}}, "competencies": []string{"CC4"}, "level": "Insuffisant",
			"secondAssessor": true}}).json(t, &pa)
		return pa.ID
	}
	pendingA := proposeA(t)
	freshCred := func(t *testing.T) string { return ts.award(t, root, achR, unique("r")+"@example.org")[0] }
	credState := func(t *testing.T, id, want string) {
		t.Helper()
		c, err := ts.Iss.Credential(ctx, id)
		if err != nil || c.State != want {
			t.Errorf("credential %s: state %v (%v), want %s", id, c, err, want)
		}
	}
	get := func(path string) func(*testing.T, principal) call {
		return func(*testing.T, principal) call { return call{method: "GET", path: path} }
	}

	// 401: no or bad credentials; 403: known but not allowed (for the
	// session without its CSRF token: any method but GET).
	matrix := []struct {
		name string
		prep func(t *testing.T, p principal) call
		// want, in the order of the principals: anonymous, root, admin A,
		// trainer A, trainer A without awards:write, admin B, learner,
		// admin A (session), admin A (session, no CSRF), trainer A
		// (session), revoked token, forged token.
		want [nPrincipals]int
	}{
		{"create issuer", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/issuers", r: req{JSON: map[string]string{"slug": unique("n-"), "name": "Nouvel émetteur"}}}
		}, [nPrincipals]int{401, 201, 403, 403, 403, 403, 403, 403, 403, 403, 401, 401}},

		{"list issuers", func(t *testing.T, p principal) call {
			return call{method: "GET", path: "/api/v1/issuers", after: func(t *testing.T, res *resp) {
				if res.Status != 200 {
					return
				}
				var out struct{ Issuers []struct{ Slug string } }
				res.json(t, &out)
				var slugs []string
				for _, i := range out.Issuers {
					slugs = append(slugs, i.Slug)
				}
				seesA := p.id != pAdminB && p.id != pLearner
				seesB := p.id == pRoot || p.id == pAdminB
				if slices.Contains(slugs, "ac-a") != seesA || slices.Contains(slugs, "ac-b") != seesB || (!seesA && !seesB && len(slugs) > 0) {
					t.Errorf("sees issuers %v", slugs)
				}
			}}
		}, [nPrincipals]int{401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401}},

		{"get issuer", get("/api/v1/issuers/ac-a"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},

		{"list keys", get("/api/v1/issuers/ac-a/keys"),
			[nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 200, 403, 401, 401}},

		{"rotate keys", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/issuers/ac-a/keys/rotate", after: func(t *testing.T, res *resp) {
				if res.Status == 200 {
					rotations.Add(1)
				}
			}}
		}, [nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 403, 403, 401, 401}},

		{"create achievement", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/issuers/ac-a/achievements", r: req{JSON: achievementSpec(unique("Badge "))}}
		}, [nPrincipals]int{401, 201, 201, 403, 403, 403, 403, 201, 403, 403, 401, 401}},

		{"list achievements", get("/api/v1/issuers/ac-a/achievements"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},

		{"audit log", get("/api/v1/issuers/ac-a/audit"),
			[nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 200, 403, 401, 401}},

		{"create token", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/issuers/ac-a/tokens", r: req{JSON: map[string]any{"name": unique("jeton "), "role": "trainer", "scopes": []string{auth.ScopeAward}}}}
		}, [nPrincipals]int{401, 201, 201, 403, 403, 403, 403, 201, 403, 403, 401, 401}},

		{"list tokens", get("/api/v1/issuers/ac-a/tokens"),
			[nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 200, 403, 401, 401}},

		{"revoke token", func(t *testing.T, p principal) call {
			plain, id := ts.createToken(t, root, "ac-a", unique("à révoquer "), "trainer", auth.ScopeRead)
			return call{method: "DELETE", path: "/api/v1/issuers/ac-a/tokens/" + id, after: func(t *testing.T, res *resp) {
				_, err := ts.Auth.AuthenticateToken(ctx, plain)
				if (res.Status == 204) != (err != nil) {
					t.Errorf("after %d, the token authenticates: %v", res.Status, err)
				}
			}}
		}, [nPrincipals]int{401, 204, 204, 403, 403, 403, 403, 204, 403, 403, 401, 401}},

		{"add member", func(t *testing.T, p principal) call {
			email := unique("membre") + "@example.org"
			return call{method: "POST", path: "/api/v1/issuers/ac-a/members", r: req{JSON: map[string]string{"email": email, "name": "Membre", "role": "trainer"}},
				after: func(t *testing.T, res *resp) {
					_, err := ts.DB.UserByEmail(ctx, email)
					if (res.Status == 201) != (err == nil) {
						t.Errorf("after %d, the account of %s: %v", res.Status, email, err)
					}
				}}
		}, [nPrincipals]int{401, 201, 201, 403, 403, 403, 403, 201, 403, 403, 401, 401}},

		{"get achievement", get("/api/v1/achievements/" + achA),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},

		{"update achievement", func(t *testing.T, p principal) call {
			id := ts.createAchievement(t, root, "ac-a", "Avant")
			return call{method: "PUT", path: "/api/v1/achievements/" + id, r: req{JSON: achievementSpec("Après")},
				after: func(t *testing.T, res *resp) {
					a, err := ts.Iss.Achievement(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if changed := strings.Contains(string(a.Data), "Après"); changed != (res.Status == 200) {
						t.Errorf("after %d, the achievement is %s", res.Status, a.Data)
					}
				}}
		}, [nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 403, 403, 401, 401}},

		{"award", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/awards",
				r: req{JSON: map[string]any{"achievement": achA, "recipients": []map[string]string{{"email": unique("laureat") + "@example.org"}}}},
				after: func(t *testing.T, res *resp) {
					if res.Status == 201 {
						awards.Add(1)
					}
				}}
		}, [nPrincipals]int{401, 201, 201, 201, 403, 403, 403, 201, 403, 201, 401, 401}},

		{"get job", get("/api/v1/jobs/" + job.ID),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},

		{"list credentials", get("/api/v1/credentials?achievement=" + achA),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},

		{"list credentials by issuer", get("/api/v1/credentials?issuer=ac-a"),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},

		{"get credential", get("/api/v1/credentials/" + credA),
			[nPrincipals]int{401, 200, 200, 200, 200, 403, 403, 200, 200, 200, 401, 401}},

		{"revoke credential", func(t *testing.T, p principal) call {
			id := freshCred(t)
			return call{method: "POST", path: "/api/v1/credentials/" + id + "/revoke", r: req{JSON: map[string]string{"reason": "erreur"}},
				after: func(t *testing.T, res *resp) {
					credState(t, id, map[bool]string{true: issuing.StateRevoked, false: issuing.StateActive}[res.Status == 200])
				}}
		}, [nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 403, 403, 401, 401}},

		{"suspend credential", func(t *testing.T, p principal) call {
			id := freshCred(t)
			return call{method: "POST", path: "/api/v1/credentials/" + id + "/suspend",
				after: func(t *testing.T, res *resp) {
					credState(t, id, map[bool]string{true: issuing.StateSuspended, false: issuing.StateActive}[res.Status == 200])
				}}
		}, [nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 403, 403, 401, 401}},

		{"reinstate credential", func(t *testing.T, p principal) call {
			id := freshCred(t)
			ts.must(t, 200, "POST", "/api/v1/credentials/"+id+"/suspend", req{Bearer: root})
			return call{method: "POST", path: "/api/v1/credentials/" + id + "/reinstate",
				after: func(t *testing.T, res *resp) {
					credState(t, id, map[bool]string{true: issuing.StateActive, false: issuing.StateSuspended}[res.Status == 200])
				}}
		}, [nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 403, 403, 401, 401}},

		{"create LMS client", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/lms-clients", r: req{JSON: map[string]string{"name": unique("Moodle "), "issuer": "ac-a"}}}
		}, [nPrincipals]int{401, 201, 201, 403, 403, 403, 403, 201, 403, 403, 401, 401}},

		{"list LMS clients", get("/api/v1/lms-clients?issuer=ac-a"),
			[nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 200, 403, 401, 401}},

		{"revoke LMS client", func(t *testing.T, p principal) call {
			var c struct{ ID, Key, Secret string }
			ts.must(t, 201, "POST", "/api/v1/lms-clients", req{Bearer: root, JSON: map[string]string{"name": unique("à révoquer "), "issuer": "ac-a"}}).json(t, &c)
			return call{method: "DELETE", path: "/api/v1/lms-clients/" + c.ID, after: func(t *testing.T, res *resp) {
				got := ts.do(t, "POST", "/xapi/statements", req{Body: []byte("{}"), ContentType: "application/json",
					Header: map[string]string{"Authorization": lmsBasicAuth(c.Key, c.Secret), "X-Experience-API-Version": "1.0.3"}})
				if (res.Status == 204) != (got.Status == 401) {
					t.Errorf("after %d, the LMS client gets %d", res.Status, got.Status)
				}
			}}
		}, [nPrincipals]int{401, 204, 204, 403, 403, 403, 403, 204, 403, 403, 401, 401}},

		// Evidence belongs to no issuer: whoever may award somewhere may
		// upload it, admin B included.
		{"upload evidence", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/evidence?name=preuve.png", r: req{Body: pngBytes(200 + p.id), ContentType: "image/png"}}
		}, [nPrincipals]int{401, 201, 201, 201, 403, 201, 403, 201, 403, 201, 401, 401}},

		// Frameworks, trainer awards against competencies, profiles and
		// statistics.
		{"list frameworks", get("/api/v1/frameworks"),
			[nPrincipals]int{401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401}},
		{"framework versions", get("/api/v1/frameworks/" + competency.DocumentID(competency.KeyRCPF2015) + "/versions"),
			[nPrincipals]int{401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401}},
		{"export framework", get("/api/v1/frameworks/" + competency.DocumentID(competency.KeyRCPF2015) + "/export?format=moodle-csv"),
			[nPrincipals]int{401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401}},
		// Any issuer's admin imports frameworks: they are shared by all.
		{"import framework", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/frameworks", r: req{Body: frameworkCSV(unique("FW-")), ContentType: "text/csv"}}
		}, [nPrincipals]int{401, 201, 201, 403, 403, 201, 403, 201, 403, 403, 401, 401}},
		{"competency award", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/competency-awards", r: req{JSON: map[string]any{"achievement": achS,
				"recipients": []map[string]string{{"email": "evalue@example.org"}}, "competencies": []string{"CC14"}, "level": "Satisfaisant"}},
				after: func(t *testing.T, res *resp) {
					if res.Status == 201 {
						scaleAwards.Add(1)
					}
				}}
		}, [nPrincipals]int{401, 201, 201, 201, 403, 403, 403, 201, 403, 201, 401, 401}},
		{"list pending awards", get("/api/v1/issuers/ac-a/pending-awards"),
			[nPrincipals]int{401, 200, 200, 200, 403, 403, 403, 200, 200, 200, 401, 401}},
		{"get pending award", get("/api/v1/pending-awards/" + pendingA),
			[nPrincipals]int{401, 200, 200, 200, 403, 403, 403, 200, 200, 200, 401, 401}},
		{"reject pending award", func(t *testing.T, p principal) call {
			id := proposeA(t)
			return call{method: "POST", path: "/api/v1/pending-awards/" + id + "/reject", r: req{JSON: map[string]string{"reason": "à revoir"}},
				after: func(t *testing.T, res *resp) {
					pa, err := ts.Iss.PendingAward(ctx, id)
					if err != nil || (pa.State == issuing.PendingRejected) != (res.Status == 200) {
						t.Errorf("after %d, the pending award: %+v %v", res.Status, pa, err)
					}
				}}
		}, [nPrincipals]int{401, 200, 200, 200, 403, 403, 403, 200, 403, 200, 401, 401}},
		// Proposed by a trainer who is none of the principals.
		{"approve pending award", func(t *testing.T, p principal) call {
			id := proposeA(t)
			return call{method: "POST", path: "/api/v1/pending-awards/" + id + "/approve", after: func(t *testing.T, res *resp) {
				if res.Status == 201 {
					scaleAwards.Add(1)
				}
			}}
		}, [nPrincipals]int{401, 201, 201, 201, 403, 403, 403, 201, 403, 201, 401, 401}},
		// Admin B's issuer awarded the holder nothing: 404, not their part.
		{"competency profile", get("/api/v1/learners/titulaire@example.org/competencies"),
			[nPrincipals]int{401, 200, 200, 200, 200, 404, 403, 200, 200, 200, 401, 401}},
		{"set learner attributes", func(t *testing.T, p principal) call {
			return call{method: "PUT", path: "/api/v1/learners/titulaire@example.org", r: req{JSON: map[string]string{"academie": "Lyon"}}}
		}, [nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 403, 403, 401, 401}},
		{"statistics", get("/api/v1/statistics?issuer=ac-a"),
			[nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 200, 403, 401, 401}},
		{"statistics chart", get("/api/v1/statistics/months.svg?issuer=ac-a"),
			[nPrincipals]int{401, 200, 200, 403, 403, 403, 403, 200, 200, 403, 401, 401}},

		{"me", func(t *testing.T, p principal) call {
			return call{method: "GET", path: "/api/v1/me", after: func(t *testing.T, res *resp) {
				if res.Status != 200 {
					return
				}
				var me struct {
					Kind  string
					Root  bool
					Roles map[string]string
				}
				res.json(t, &me)
				want := map[int]string{pRoot: "", pAdminA: "admin", pTrainerA: "trainer", pTrainerANoAw: "trainer", pAdminB: "",
					pLearner: "", pSessAdminA: "admin", pSessNoCSRF: "admin", pSessTrainerA: "trainer"}[p.id]
				if me.Roles["ac-a"] != want || me.Root != (p.id == pRoot) {
					t.Errorf("me: %+v, want role %q on a", me, want)
				}
			}}
		}, [nPrincipals]int{401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 401}},

		// A person's own OAuth authorizations: theirs alone, never an
		// API token's (whose principal acts for an issuer).
		{"my OAuth authorizations", get("/api/v1/me/oauth-grants"),
			[nPrincipals]int{401, 403, 403, 403, 403, 403, 200, 200, 200, 200, 401, 401}},
		{"withdraw an OAuth authorization that is not mine", func(t *testing.T, p principal) call {
			return call{method: "DELETE", path: "/api/v1/me/oauth-grants/" + unique("inconnue-")}
		}, [nPrincipals]int{401, 403, 403, 403, 403, 403, 404, 404, 403, 404, 401, 401}},

		// Public: whatever the caller sends, or does not.
		{"verify", func(t *testing.T, p principal) call {
			return call{method: "POST", path: "/api/v1/verify", r: req{Body: signedA, ContentType: "application/vc+ld+json"}}
		}, [nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public issuer profile", get("/issuers/ac-a"),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public DID document", get("/issuers/ac-a/did.json"),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public key", get("/issuers/ac-a/keys/" + keysA.Keys[0].ID),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public achievement", get("/achievements/" + achA),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public credential", get("/credentials/" + credA),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public credential as VC-JWT", func(*testing.T, principal) call {
			return call{method: "GET", path: "/credentials/" + credA, r: req{Header: map[string]string{"Accept": "application/vc+jwt"}},
				after: func(t *testing.T, res *resp) {
					if ct := res.Header.Get("Content-Type"); ct != "application/vc+jwt" || strings.Count(string(res.Body), ".") != 2 {
						t.Errorf("VC-JWT: %s %.80s", ct, res.Body)
					}
				}}
		}, [nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public credential page", func(*testing.T, principal) call {
			return call{method: "GET", path: "/credentials/" + credA, r: req{Header: map[string]string{"Accept": "text/html"}}}
		}, [nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public baked badge", get("/credentials/" + credA + "/badge.svg"),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public status list", get("/status/ac-a/1"),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public JWKS", get("/.well-known/jwks.json"),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"public evidence", get(strings.TrimPrefix(evidence["url"].(string), ts.URL)),
			[nPrincipals]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
	}

	matrix = append(matrix, completionMatrix(t, ts, unique)...)
	matrix = append(matrix, reviewMatrix(t, ts, att, unique)...)

	for _, ep := range matrix {
		for _, p := range ps {
			want := ep.want[p.id]
			c := ep.prep(t, p)
			res := ts.do(t, c.method, c.path, p.sign(c.r))
			what := fmt.Sprintf("%s as %s", ep.name, p.name())
			switch {
			case res.Status != want:
				t.Errorf("%s (%s %s): %s, want %d", what, c.method, c.path, res, want)
			case want == 401:
				wantError(t, what, res, 401, "unauthenticated", "")
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: 401 without WWW-Authenticate: Bearer", what)
				}
			case want == 403 && p.id == pSessNoCSRF:
				wantError(t, what, res, 403, "csrf", "")
			case want == 403:
				wantError(t, what, res, 403, "forbidden", "")
			}
			if c.after != nil {
				t.Run(what, func(t *testing.T) { c.after(t, res) })
			}
		}
	}

	// Refused requests changed nothing.
	var ks struct{ Keys []any }
	ts.must(t, 200, "GET", "/api/v1/issuers/ac-a/keys", req{Bearer: root}).json(t, &ks)
	if want := 2 + 2*int(rotations.Load()); len(ks.Keys) != want {
		t.Errorf("issuer a has %d keys after %d rotations, want %d", len(ks.Keys), rotations.Load(), want)
	}
	if n, want := ts.credentialCount(t, achA), 2+int(awards.Load()); n != want {
		t.Errorf("achievement A has %d credentials after %d awards, want %d", n, awards.Load(), want)
	}
	if n, want := ts.credentialCount(t, achS), int(scaleAwards.Load()); n != want {
		t.Errorf("the achievement with a scale has %d credentials after %d awards and approvals, want %d", n, scaleAwards.Load(), want)
	}
}

// frameworkCSV is a one-item Moodle framework whose idnumber is key.
func frameworkCSV(key string) []byte {
	return []byte(`"Parent ID number","ID number","Short name",Description,"Description format","Scale values","Scale configuration","Rule type (optional)","Rule outcome (optional)","Rule config (optional)","Cross-referenced competency ID numbers","Exported ID (optional)","Is framework",Taxonomy
,` + key + `,"Cadre ` + key + `",,2,"A,B","[{""scaleid"":""2""},{""id"":1,""scaledefault"":1,""proficient"":1}]",,,,,,1,competency
,` + key + `.1,"Compétence",,2,,,,,,,,,
`)
}

// TestSessions goes through the browser's password sign-in and checks what
// a session cookie may do with and without the session's CSRF token.
func TestSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ts.createIssuer(t, "ac-a")
		ts.addMember(t, ts.Root, "ac-a", "formatrice@example.org", "admin", "un mot de passe assez long")

		// Wrong password, missing login CSRF: no session.
		res, err := noRedirects.PostForm(ts.URL+"/signin", map[string][]string{"email": {"formatrice@example.org"}, "password": {"un mot de passe assez long"}, "csrf_token": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 1 || res.Cookies()[0].Name != "insigne_login" {
			t.Errorf("sign-in without the login cookie: %d %v, want 403 and a fresh login cookie only", res.StatusCode, res.Header["Set-Cookie"])
		}

		s := ts.signIn(t, "formatrice@example.org", "un mot de passe assez long")
		var me struct {
			Kind  string
			Email string
			Roles map[string]string
		}
		ts.must(t, 200, "GET", "/api/v1/me", req{Session: s}).json(t, &me)
		if me.Kind != auth.KindUser || me.Email != "formatrice@example.org" || me.Roles["ac-a"] != "admin" {
			t.Errorf("me: %+v", me)
		}
		ts.must(t, 200, "GET", "/api/v1/issuers/ac-a/keys", req{Session: s})

		// The browser does not know the session's CSRF secret, so every
		// unsafe request is refused, whatever it sends instead.
		for name, r := range map[string]req{
			"no token":      {Session: s, JSON: achievementSpec("Sans jeton")},
			"a wrong token": {Session: s, JSON: achievementSpec("Mauvais jeton"), Header: map[string]string{"X-CSRF-Token": auth.CSRFToken(strings.Repeat("x", 52))}},
			"garbage":       {Session: s, JSON: achievementSpec("Déchets"), Header: map[string]string{"X-CSRF-Token": "%%%"}},
			"a form field":  {Session: s, Body: []byte("csrf_token=abc"), ContentType: "application/x-www-form-urlencoded"},
		} {
			res := ts.do(t, "POST", "/api/v1/issuers/ac-a/achievements", r)
			wantError(t, "POST with "+name, res, 403, "csrf", "")
		}
		var list struct{ Achievements []any }
		ts.must(t, 200, "GET", "/api/v1/issuers/ac-a/achievements", req{Bearer: ts.Root}).json(t, &list)
		if len(list.Achievements) != 0 {
			t.Errorf("refused requests created %d achievements", len(list.Achievements))
		}
		wantError(t, "sign out without CSRF token", ts.do(t, "POST", "/signout", req{Session: s}), 403, "csrf", "")
		ts.must(t, 200, "GET", "/api/v1/me", req{Session: s})

		// A bad Authorization header is not rescued by a good cookie.
		for _, h := range []string{"Bearer " + forgedToken(), "Basic " + ts.Root, "Bearer", "Bearer  ", "Bearer " + strings.Repeat("a", 300)} {
			res := ts.do(t, "GET", "/api/v1/me", req{Session: s, Header: map[string]string{"Authorization": h}})
			wantError(t, "Authorization: "+h[:min(len(h), 20)], res, 401, "unauthenticated", "")
		}
		ts.must(t, 200, "GET", "/api/v1/me", req{Header: map[string]string{"Authorization": "bearer " + ts.Root}})
		// Unknown and mangled session cookies.
		for _, c := range []string{"inss_" + strings.Repeat("a", 52), "", strings.Repeat("z", 400)} {
			res := ts.do(t, "GET", "/api/v1/me", req{Session: &session{Cookie: c}})
			wantError(t, "cookie "+c[:min(len(c), 10)], res, 401, "unauthenticated", "")
		}
	})
}

// TestTokenBoundaries: tokens act within their issuer, their role and
// their creator's rights.
func TestTokenBoundaries(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		ts.createIssuer(t, "ac-a")
		ts.createIssuer(t, "ac-b")
		achA := ts.createAchievement(t, ts.Root, "ac-a", "Frontières")
		adminA, idA := ts.createToken(t, ts.Root, "ac-a", "admin A", "admin", allScopes...)
		adminB, _ := ts.createToken(t, ts.Root, "ac-b", "admin B", "admin", allScopes...)

		// Admin of b cannot revoke a's token through b's URL.
		wantError(t, "admin B revokes A's token via /issuers/ac-b", ts.do(t, "DELETE", "/api/v1/issuers/ac-b/tokens/"+idA, req{Bearer: adminB}), 404, "not_found", "")
		ts.must(t, 200, "GET", "/api/v1/issuers/ac-a", req{Bearer: adminA})
		// Nor list a's credentials by naming its own issuer.
		res := ts.do(t, "GET", "/api/v1/credentials?issuer=ac-b&achievement="+achA, req{Bearer: adminB})
		if res.Status == 200 {
			var out struct{ Total int }
			res.json(t, &out)
			if out.Total != 0 {
				t.Errorf("admin B lists A's credentials: %s", res)
			}
		}

		// A trainer of b does not award a's badges, nor read them.
		trainerB, _ := ts.createToken(t, adminB, "ac-b", "formateur B", "trainer", auth.ScopeAward, auth.ScopeRead)
		wantError(t, "trainer B awards A's achievement", ts.do(t, "POST", "/api/v1/awards", req{Bearer: trainerB,
			JSON: map[string]any{"achievement": achA, "recipients": []map[string]string{{"email": "x@example.org"}}}}), 403, "forbidden", "")
		wantError(t, "trainer B lists A's credentials", ts.do(t, "GET", "/api/v1/credentials?issuer=ac-a", req{Bearer: trainerB}), 403, "forbidden", "")

		// Someone without any role reads no credentials list, whatever the
		// filters.
		learnerID := ts.addMember(t, ts.Root, "ac-b", "apprenti@example.org", "trainer", "")
		if err := ts.Auth.RemoveMember(ctx, &auth.Principal{Kind: auth.KindRoot, Root: true}, "ac-b", learnerID); err != nil {
			t.Fatal(err)
		}
		learner := ts.newSession(t, learnerID)
		for _, q := range []string{"issuer=ac-a", "achievement=" + achA, "issuer=ac-b&achievement=" + achA} {
			res := ts.do(t, "GET", "/api/v1/credentials?"+q, req{Session: learner})
			wantError(t, "learner lists credentials?"+q, res, 403, "forbidden", "")
		}

		// Scopes cannot exceed the role.
		wantError(t, "trainer token with issuers:admin", ts.do(t, "POST", "/api/v1/issuers/ac-a/tokens", req{Bearer: adminA,
			JSON: map[string]any{"name": "x", "role": "trainer", "scopes": []string{auth.ScopeAdmin}}}), 400, "invalid", "-")
		wantError(t, "unknown scope", ts.do(t, "POST", "/api/v1/issuers/ac-a/tokens", req{Bearer: adminA,
			JSON: map[string]any{"name": "x", "role": "admin", "scopes": []string{"everything"}}}), 400, "invalid", "-")
		wantError(t, "unknown role", ts.do(t, "POST", "/api/v1/issuers/ac-a/tokens", req{Bearer: adminA,
			JSON: map[string]any{"name": "x", "role": "owner", "scopes": []string{auth.ScopeRead}}}), 400, "invalid", "role")
		// A token of a does nothing on b, whatever its scopes.
		wantError(t, "admin A creates a token for b", ts.do(t, "POST", "/api/v1/issuers/ac-b/tokens", req{Bearer: adminA,
			JSON: map[string]any{"name": "x", "role": "admin", "scopes": allScopes}}), 403, "forbidden", "")

		// A token made by a user stops working when the user stops being
		// admin of its issuer.
		uid := ts.addMember(t, ts.Root, "ac-a", "partante@example.org", "admin", "")
		sess := ts.newSession(t, uid)
		res = ts.must(t, 201, "POST", "/api/v1/issuers/ac-a/tokens", req{Session: sess,
			JSON: map[string]any{"name": "jeton de partante", "role": "trainer", "scopes": []string{auth.ScopeAward}}})
		var tok struct{ Token string }
		res.json(t, &tok)
		ts.award(t, tok.Token, achA, "avant@example.org")
		if err := ts.Auth.RemoveMember(ctx, &auth.Principal{Kind: auth.KindRoot, Root: true}, "ac-a", uid); err != nil {
			t.Fatal(err)
		}
		wantError(t, "token of a removed admin", ts.do(t, "POST", "/api/v1/awards", req{Bearer: tok.Token,
			JSON: map[string]any{"achievement": achA, "recipients": []map[string]string{{"email": "apres@example.org"}}}}), 401, "unauthenticated", "")
		wantError(t, "session of a removed admin", ts.do(t, "GET", "/api/v1/issuers/ac-a/keys", req{Session: sess}), 403, "forbidden", "")
		if n := ts.credentialCount(t, achA); n != 1 {
			t.Errorf("%d credentials, want 1", n)
		}
	})
}
