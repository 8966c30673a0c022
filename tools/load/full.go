package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/insigne/insigne/completion/xapi/xapitest"
)

const lmsSite = "https://magistere.load.example"

// setupFull prepares the full scenario: an LMS client of the issuer, the
// mapping of one course to the achievement, and a learner (an account
// with a password) signed in through the sign-in form, holding a few
// credentials for the backpack to list.
func (g *generator) setupFull(ctx context.Context) error {
	var lms struct{ Key, Secret string }
	if _, err := g.call(ctx, http.MethodPost, "/api/v1/lms-clients", map[string]string{"name": "Load " + g.runID, "issuer": g.issuer}, &lms, http.StatusCreated); err != nil {
		return err
	}
	g.lmsAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(lms.Key+":"+lms.Secret))
	g.course = fmt.Sprintf("%s/course/view.php?id=%d", lmsSite, 7)
	if _, err := g.call(ctx, http.MethodPost, "/api/v1/mappings", map[string]any{"activity": g.course, "achievement": g.achievement}, nil, http.StatusCreated); err != nil {
		return err
	}
	email := "learner-" + g.runID + "@load.example.org"
	password := "load-" + g.runID + "-Mot-de-passe"
	if _, err := g.call(ctx, http.MethodPost, "/api/v1/issuers/"+g.issuer+"/members", map[string]string{"email": email, "name": "Learner " + g.runID,
		"role": "trainer", "password": password}, nil, http.StatusCreated); err != nil {
		return err
	}
	rec := make([]map[string]string, 5)
	for i := range rec {
		rec[i] = map[string]string{"email": email}
	}
	for _, r := range rec {
		if _, err := g.call(ctx, http.MethodPost, "/api/v1/awards", map[string]any{"achievement": g.achievement, "recipients": []map[string]string{r}}, nil, http.StatusCreated); err != nil {
			return err
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(g.c.base + "/signin")
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("GET /signin: %s, no csrf_token field", resp.Status)
	}
	resp, err = c.PostForm(g.c.base+"/signin", url.Values{"email": {email}, "password": {password}, "csrf_token": {string(m[1])}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "insigne_session" {
			g.session = ck.Value
		}
	}
	if g.session == "" {
		return fmt.Errorf("POST /signin: %s, no session", resp.Status)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.c.base+"/api/v1/backpack/credentials", nil)
	req.AddCookie(&http.Cookie{Name: "insigne_session", Value: g.session})
	resp, err = g.client.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "urn:uuid:") {
		return fmt.Errorf("the learner's backpack: %s %.200s", resp.Status, b)
	}
	logf("LMS client %s, course %s mapped, learner signed in", lms.Key, g.course)
	return nil
}

// statement is one course completion of a new learner.
func (g *generator) statement() []byte {
	n := g.learner.Add(1)
	l := xapitest.Learner{Email: fmt.Sprintf("x%d-%s@load.example.org", n, g.runID), Name: fmt.Sprintf("Enseignant %d", n)}
	id := fmt.Sprintf("%s-%04x-4%03x-8%03x-%012x", g.runID, n>>48&0xffff, n>>36&0xfff, n>>24&0xfff, n&0xffffffffffff)
	return xapitest.JSON(xapitest.CourseCompleted(id, lmsSite, 7, "Parcours", l, time.Now().UTC().Truncate(time.Second)))
}
