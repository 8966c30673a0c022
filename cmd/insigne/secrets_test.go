package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSecretsNeverLogged runs a whole scenario against `insigne serve`
// logging at debug level, every secret going in or out: the root token,
// the first administrator's sign-in link, a session cookie and its CSRF
// token, a password, an API token, forged tokens, an OAuth client secret
// (sent right and wrong). None of them may appear in the JSON log.
func TestSecretsNeverLogged(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs syncBuffer
	root := "root-" + strings.Repeat("s3cr3t", 6)
	vars := map[string]string{"INSIGNE_ADMIN_TOKEN": root, "INSIGNE_LOG_LEVEL": "debug", "INSIGNE_ADMIN_EMAIL": "chef@ac-test.fr"}
	done := make(chan int, 1)
	data := t.TempDir()
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data},
			env{stdin: strings.NewReader(""), stdout: &out, stderr: &logs, getenv: func(k string) string { return vars[k] }})
	}()
	defer func() {
		cancel()
		<-done
	}()
	var base, link string
	reBase := regexp.MustCompile(`public base (http://\S+)\)`)
	reLink := regexp.MustCompile(`/signin/link\?token=(\S+)`)
	for deadline := time.Now().Add(20 * time.Second); base == "" || link == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s %s", out.String(), logs.String())
		}
		if m := reBase.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if m := reLink.FindStringSubmatch(out.String()); m != nil {
			link = m[1]
		}
	}
	secrets := map[string]string{"root token": root, "sign-in link": link}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	call := func(c *http.Client, method, path, body string, h map[string]string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" && h["Content-Type"] == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	anon := &http.Client{Timeout: 30 * time.Second}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	// The first administrator signs in with the link, and reads the CSRF
	// token of the session.
	if code, _ := call(browser, "GET", "/signin/link?token="+link, "", nil); code != 200 && code != 404 {
		t.Fatalf("sign-in link: %d", code)
	}
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == "insigne_session" {
			secrets["session cookie"] = c.Value
		}
	}
	if secrets["session cookie"] == "" {
		t.Fatal("the sign-in link gave no session")
	}
	_, me := call(browser, "GET", "/api/v1/me", "", nil)
	var mine map[string]any
	json.Unmarshal(me, &mine)
	csrf, _ := mine["csrfToken"].(string)
	if csrf == "" {
		t.Fatalf("/api/v1/me: %s", me)
	}
	secrets["CSRF token"] = csrf
	if code, b := call(browser, "POST", "/api/v1/issuers", `{"slug":"ac-test","name":"Académie de test"}`, map[string]string{"X-CSRF-Token": csrf}); code != 201 {
		t.Fatalf("create issuer in a session: %d %s", code, b)
	}

	// An API token, used; a member with a password, who signs in.
	code, b := call(anon, "POST", "/api/v1/issuers/ac-test/tokens", `{"name":"moodle","role":"admin","scopes":["issuers:admin","awards:write"]}`, bearer(root))
	var tok map[string]any
	json.Unmarshal(b, &tok)
	plain, _ := tok["token"].(string)
	if code != 201 || plain == "" {
		t.Fatalf("create token: %d %s", code, b)
	}
	secrets["API token"] = plain
	if code, b := call(anon, "GET", "/api/v1/issuers/ac-test", "", bearer(plain)); code != 200 {
		t.Fatalf("use the token: %d %s", code, b)
	}
	password := "Mot-de-passe-tres-secret-42"
	secrets["password"] = password
	if code, b := call(anon, "POST", "/api/v1/issuers/ac-test/members", `{"email":"form@ac-test.fr","name":"F","role":"trainer","password":"`+password+`"}`, bearer(root)); code != 201 {
		t.Fatalf("add member: %d %s", code, b)
	}
	jar2, _ := cookiejar.New(nil)
	b2 := &http.Client{Jar: jar2, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, page := call(b2, "GET", "/signin", "", nil)
	field := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if field == nil {
		t.Fatal("no login CSRF field")
	}
	form := url.Values{"email": {"form@ac-test.fr"}, "password": {password}, "csrf_token": {string(field[1])}}.Encode()
	if code, _ := call(b2, "POST", "/signin", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); code != http.StatusSeeOther {
		t.Fatalf("password sign-in: %d", code)
	}
	wrong := url.Values{"email": {"form@ac-test.fr"}, "password": {password + "-faux"}, "csrf_token": {string(field[1])}}.Encode()
	call(b2, "POST", "/signin", wrong, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	secrets["wrong password"] = password + "-faux"

	// Forged and malformed credentials.
	for i, f := range []string{"insigne_" + strings.Repeat("f0rg3d", 8), root + "x", plain[:len(plain)-2] + "zz"} {
		call(anon, "GET", "/api/v1/issuers", "", bearer(f))
		secrets["forged token "+string(rune('a'+i))] = f
	}

	// An OAuth client: registration answers its secret, which is then
	// sent at the token endpoint, once right and once wrong.
	code, b = call(anon, "POST", "/ims/ob/v3p0/register", `{"client_name":"Portefeuille","client_uri":"https://wallet.example.org/",
		"redirect_uris":["https://wallet.example.org/cb"],"token_endpoint_auth_method":"client_secret_basic",
		"grant_types":["authorization_code","refresh_token"],"response_types":["code"],
		"scope":"https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly"}`, nil)
	var reg map[string]any
	json.Unmarshal(b, &reg)
	cid, _ := reg["client_id"].(string)
	csecret, _ := reg["client_secret"].(string)
	if code != 201 || csecret == "" {
		t.Fatalf("register: %d %s", code, b)
	}
	secrets["OAuth client secret"] = csecret
	for _, s := range []string{csecret, csecret + "-wrong"} {
		basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cid) + ":" + url.QueryEscape(s)))
		call(anon, "POST", "/ims/ob/v3p0/token", "grant_type=authorization_code&code=not-a-code&redirect_uri=https%3A%2F%2Fwallet.example.org%2Fcb&code_verifier="+strings.Repeat("v", 50),
			map[string]string{"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
	}
	secrets["OAuth basic header"] = base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cid) + ":" + url.QueryEscape(csecret)))

	cancel()
	<-done
	done <- 0
	log := logs.String()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) < 20 {
		t.Fatalf("only %d log lines: the debug log was not captured", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %s", l)
		}
	}
	for what, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("%s %q is too short to search for", what, s)
		}
		if strings.Contains(log, s) {
			t.Errorf("the %s appears in the log", what)
		}
	}
	t.Logf("%d log lines checked for %d secrets", len(lines), len(secrets))
}
