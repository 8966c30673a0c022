package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/interop"
	"github.com/insigne/insigne/store/storetest"
)

// syncBuffer is a bytes.Buffer safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server runs `insigne serve` in process on a free port and returns its
// base URL. The server stops when the test ends.
func server(t *testing.T, vars map[string]string) string {
	t.Helper()
	return serverAt(t, t.TempDir(), vars)
}

// serverAt is server on the data directory data.
func serverAt(t *testing.T, data string, vars map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data},
			env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, errb.String())
		}
	})
	re := regexp.MustCompile(`public base (http://\S+)\)`)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errb.String())
		default:
		}
	}
	t.Fatalf("serve did not start: %s", errb.String())
	return ""
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path string, body any, accept string) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = c.base + path
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c client) json(method, path string, body any, want int) map[string]any {
	c.t.Helper()
	status, b := c.do(method, path, body, "")
	if status != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return m
}

// TestEndToEnd is the issuing service's acceptance test, on SQLite and on
// PostgreSQL: start the server, create an issuer and an achievement through
// the API, award it to three people, fetch each credential from its public
// URL, verify it with insigne verify and with the Digital Bazaar stack
// (keys resolved from what the server serves), check it against the
// 1EdTech JSON Schema, revoke one: it is reported revoked, the others stay
// valid.
func TestEndToEnd(t *testing.T) {
	node := interop.Node(t)
	schemas, err := badges.NewSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			vars := map[string]string{"INSIGNE_ADMIN_TOKEN": "e2e-root-token"}
			if b.Name == "postgres" {
				vars["INSIGNE_DATABASE_URL"] = b.DSN(t)
			}
			base := server(t, vars)
			c := client{t: t, base: base, token: "e2e-root-token"}

			iss := c.json("POST", "/api/v1/issuers", map[string]string{"slug": "ac-lyon", "name": "Académie de Lyon", "url": "https://www.ac-lyon.fr", "email": "badges@ac-lyon.fr"}, 201)
			if iss["id"] != base+"/issuers/ac-lyon" {
				t.Fatalf("issuer id %v", iss["id"])
			}
			ach := c.json("POST", "/api/v1/issuers/ac-lyon/achievements", map[string]any{
				"name": "Coopérer au sein d'une équipe", "description": "Travail en équipe pédagogique.",
				"criteria": map[string]string{"narrative": "Avoir conduit un projet d'équipe."}, "achievementType": "Competency",
				"alignment": []map[string]any{{"type": []string{"Alignment"}, "targetType": "CFItem", "targetCode": "CC10",
					"targetName": "Coopérer au sein d'une équipe", "targetUrl": base + "/ims/case/v1p0/CFItems/cc10"}},
			}, 201)
			achID, _ := ach["id"].(string)
			if !strings.HasPrefix(achID, base+"/achievements/") {
				t.Fatalf("achievement id %v", ach["id"])
			}
			award := c.json("POST", "/api/v1/awards", map[string]any{
				"achievement": achID,
				"recipients":  []map[string]string{{"email": "ana@example.org", "name": "Ana"}, {"email": "ben@example.org", "name": "Ben"}, {"email": "chloe@example.org", "name": "Chloé"}},
				"narrative":   "Projet interdisciplinaire mené en 2026.",
				"evidence":    []map[string]string{{"name": "Compte rendu", "narrative": "Présenté en conseil pédagogique.", "url": "https://example.org/cr.pdf"}},
			}, 201)
			creds, _ := award["credentials"].([]any)
			if len(creds) != 3 {
				t.Fatalf("awarded %d credentials: %v", len(creds), award)
			}
			nodeAtBase := node.WithBaseURL(base)
			var files []string
			for _, x := range creds {
				cr := x.(map[string]any)
				status, signed := c.do("GET", cr["url"].(string), nil, "application/vc+ld+json")
				if status != 200 {
					t.Fatalf("GET %s: %d", cr["url"], status)
				}
				var doc map[string]any
				json.Unmarshal(signed, &doc)
				if doc["id"] != cr["id"] {
					t.Fatalf("credential at %s has id %v, want %v", cr["url"], doc["id"], cr["id"])
				}
				if err := schemas.ValidateCredential(doc); err != nil {
					t.Errorf("1EdTech schema: %v", err)
				}
				if ok, detail := nodeAtBase.VerifyDI(t, signed); !ok {
					t.Errorf("Digital Bazaar stack refuses %s: %s", cr["id"], detail)
				}
				files = append(files, write(t, "cred.json", signed))
			}
			verify := func(file string) string {
				code, out, stderr := insigne(t, "", "verify", "--json", "--allow-private", file)
				var rep badges.Report
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("verify: exit %d %s %s", code, out, stderr)
				}
				return fmt.Sprintf("%d %s", code, rep.Verdict)
			}
			for _, f := range files {
				if got := verify(f); got != "0 valid" {
					t.Errorf("insigne verify: %s, want 0 valid", got)
				}
			}
			revoked := creds[1].(map[string]any)
			uuid := strings.TrimPrefix(revoked["id"].(string), "urn:uuid:")
			r := c.json("POST", "/api/v1/credentials/"+uuid+"/revoke", map[string]string{"reason": "attribué par erreur"}, 200)
			if r["status"] != "revoked" {
				t.Fatalf("revoke answered %v", r)
			}
			for i, f := range files {
				want := "0 valid"
				if i == 1 {
					want = "1 invalid"
				}
				if got := verify(f); got != want {
					t.Errorf("after revocation, credential %d: %s, want %s", i, got, want)
				}
			}
			list := c.json("GET", "/api/v1/credentials?achievement="+achID, nil, 200)
			if list["total"] != float64(3) {
				t.Errorf("credentials total %v", list["total"])
			}
			states := map[string]string{}
			for _, x := range list["credentials"].([]any) {
				m := x.(map[string]any)
				states[m["id"].(string)] = m["status"].(string)
			}
			if states[revoked["id"].(string)] != "revoked" || len(states) != 3 {
				t.Errorf("states %v", states)
			}
		})
	}
}
