package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insigne/insigne/completion/xapi/xapitest"
	"github.com/insigne/insigne/internal/testenv"
	"github.com/insigne/insigne/store/storetest"
)

// raw sends a request and returns the status, without failing the test:
// the fault tests expect refusals while the fault lasts.
func raw(base, token, method, path string, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, nil
}

// TestKeyRotationSurvivesKill kills the server (SIGKILL) while keys are
// rotated and credentials awarded, and starts it again: every credential
// acknowledged before the kill is there, every credential stored
// verifies, the issuer has exactly one active key of each kind, and
// signing goes on with it.
func TestKeyRotationSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			port := freePort(t)
			base := fmt.Sprintf("http://localhost:%d", port)
			vars := map[string]string{"INSIGNE_ADMIN_TOKEN": "rotate-test", "INSIGNE_BASE_URL": base}
			if b.Name == "postgres" {
				vars["INSIGNE_DATABASE_URL"] = b.DSN(t)
			}
			data := t.TempDir()
			srv := startChild(t, port, data, vars)
			c := client{t: t, base: base, token: "rotate-test"}
			c.json("POST", "/api/v1/issuers", map[string]string{"slug": "ac-amiens", "name": "Académie d'Amiens"}, 201)
			ach := c.json("POST", "/api/v1/issuers/ac-amiens/achievements", map[string]any{"name": "Rotation", "description": "d",
				"criteria": map[string]string{"narrative": "n"}}, 201)["id"].(string)

			var rotations atomic.Int64
			var mu sync.Mutex
			acked := map[string]bool{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if s, _, err := raw(base, "rotate-test", "POST", "/api/v1/issuers/ac-amiens/keys/rotate", nil); err == nil && s == 200 {
						rotations.Add(1)
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					s, m, err := raw(base, "rotate-test", "POST", "/api/v1/awards", map[string]any{"achievement": ach,
						"recipients": []map[string]string{{"email": fmt.Sprintf("r%04d@example.org", i)}}})
					if err == nil && s == 201 {
						for _, x := range m["credentials"].([]any) {
							mu.Lock()
							acked[x.(map[string]any)["id"].(string)] = true
							mu.Unlock()
						}
					}
				}
			}()
			ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
			for deadline := time.Now().Add(60 * time.Second); rotations.Load() < 5 || ackedCount() < 10; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d rotations and %d awards in 60 s", rotations.Load(), ackedCount())
				}
			}
			srv.Process.Signal(syscall.SIGKILL)
			srv.Wait()
			close(stop)
			wg.Wait()
			t.Logf("killed after %d rotations and %d awards acknowledged", rotations.Load(), len(acked))

			startChild(t, port, data, vars)
			keys := c.json("GET", "/api/v1/issuers/ac-amiens/keys", nil, 200)["keys"].([]any)
			active := map[string]int{}
			for _, k := range keys {
				m := k.(map[string]any)
				if r, _ := m["retired"].(string); r == "" {
					active[m["alg"].(string)]++
				}
			}
			if len(active) != 2 {
				t.Fatalf("active keys after the restart: %v", active)
			}
			for alg, n := range active {
				if n != 1 {
					t.Fatalf("%d active %s keys", n, alg)
				}
			}
			if len(keys) < 2*int(rotations.Load())+2 {
				t.Fatalf("%d keys for %d acknowledged rotations", len(keys), rotations.Load())
			}
			// One more award, signed with the key that survived.
			c.json("POST", "/api/v1/awards", map[string]any{"achievement": ach, "recipients": []map[string]string{{"email": "after@example.org"}}}, 201)
			got := verdicts(t, c, ach)
			for id := range acked {
				if _, ok := got[id]; !ok {
					t.Errorf("%s was acknowledged before the kill and is gone", id)
				}
			}
			for id, v := range got {
				if v != "0 valid" {
					t.Errorf("%s: %s", id, v)
				}
			}
			t.Logf("%d credentials verified after the restart", len(got))
		})
	}
}

// TestPostgresRestartUnderLoad restarts PostgreSQL (INSIGNE_TEST_PG_RESTART=1,
// as CI sets) — or, without it, ends every connection the server holds,
// which it sees the same way — while clients keep awarding and reading:
// the server recovers by itself, /readyz answers 200 again, and no request
// fails once it has.
func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dsn := storetest.Postgres(t)
	app := fmt.Sprintf("insigne-fault-%d", time.Now().UnixNano())
	if strings.Contains(dsn, "?") {
		dsn += "&application_name=" + app
	} else {
		dsn += "?application_name=" + app
	}
	restart := os.Getenv("INSIGNE_TEST_PG_RESTART") == "1"
	var ctl string
	if restart {
		ctl = testenv.LookPath(t, "pg_ctlcluster")
	}
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	startChild(t, port, t.TempDir(), map[string]string{"INSIGNE_ADMIN_TOKEN": "pg-test", "INSIGNE_BASE_URL": base, "INSIGNE_DATABASE_URL": dsn})
	c := client{t: t, base: base, token: "pg-test"}
	c.json("POST", "/api/v1/issuers", map[string]string{"slug": "ac-corse", "name": "Académie de Corse"}, 201)
	ach := c.json("POST", "/api/v1/issuers/ac-corse/achievements", map[string]any{"name": "Reprise", "description": "d",
		"criteria": map[string]string{"narrative": "n"}}, 201)["id"].(string)

	type outcome struct {
		at     time.Time
		status int
	}
	var mu sync.Mutex
	var outcomes []outcome
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var s int
				var err error
				if i%2 == 0 {
					s, _, err = raw(base, "pg-test", "POST", "/api/v1/awards", map[string]any{"achievement": ach,
						"recipients": []map[string]string{{"email": fmt.Sprintf("w%d-%05d@example.org", w, i)}}})
				} else {
					s, _, err = raw(base, "pg-test", "GET", "/api/v1/credentials?limit=5&achievement="+ach, nil)
				}
				if err != nil {
					s = -1
				}
				mu.Lock()
				outcomes = append(outcomes, outcome{time.Now(), s})
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second)
	faultAt := time.Now()
	if restart {
		cluster, _ := os.ReadDir("/etc/postgresql")
		if len(cluster) == 0 {
			t.Fatal("no cluster under /etc/postgresql")
		}
		out, err := exec.Command(ctl, "--skip-systemctl-redirect", cluster[0].Name(), "main", "restart").CombinedOutput()
		if err != nil {
			t.Fatalf("pg_ctlcluster restart: %v %s", err, out)
		}
	} else {
		admin := os.Getenv(storetest.EnvURL)
		out, err := exec.Command("psql", admin, "-Atc",
			"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '"+app+"'").CombinedOutput()
		if err != nil {
			t.Fatalf("psql: %v %s", err, out)
		}
		t.Logf("ended %s server connections", strings.TrimSpace(string(out)))
	}
	// Ready again, by itself.
	var readyAt time.Time
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not come back within 60 s")
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				readyAt = time.Now()
				break
			}
		}
	}
	// Give the pool one round to replace its dead connections, then the
	// load must go through untouched.
	time.Sleep(2 * time.Second)
	settled := time.Now()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	var during, after, afterOK int
	failures := map[int]int{}
	for _, o := range outcomes {
		switch {
		case o.at.After(faultAt) && o.at.Before(settled):
			during++
			if o.status != 200 && o.status != 201 {
				failures[o.status]++
			}
		case o.at.After(settled):
			after++
			if o.status == 200 || o.status == 201 {
				afterOK++
			}
		}
	}
	t.Logf("ready again %v after the fault; %d requests around it (refused by status: %v), %d after", readyAt.Sub(faultAt).Round(time.Millisecond), during, failures, after)
	if failures[500] > 0 {
		t.Errorf("%d requests answered 500 around the fault; a database that is away is 503", failures[500])
	}
	if after == 0 || afterOK != after {
		t.Errorf("after recovery %d of %d requests succeeded", afterOK, after)
	}
}

// TestIngestionSurvivesKill kills the server (SIGKILL) while an LMS sends
// course completions as xAPI statements, starts it again and lets the LMS
// resend every batch, acknowledged or not, as it would: each learner ends
// with exactly one credential, none is missing.
func TestIngestionSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			port := freePort(t)
			base := fmt.Sprintf("http://localhost:%d", port)
			vars := map[string]string{"INSIGNE_ADMIN_TOKEN": "ingest-test", "INSIGNE_BASE_URL": base, "INSIGNE_JOB_LEASE": "1s"}
			if b.Name == "postgres" {
				vars["INSIGNE_DATABASE_URL"] = b.DSN(t)
			}
			data := t.TempDir()
			srv := startChild(t, port, data, vars)
			c := client{t: t, base: base, token: "ingest-test"}
			c.json("POST", "/api/v1/issuers", map[string]string{"slug": "versailles", "name": "Académie de Versailles"}, 201)
			ach := c.json("POST", "/api/v1/issuers/versailles/achievements", map[string]any{"name": "Parcours hybride", "description": "d",
				"criteria": map[string]string{"narrative": "n"}}, 201)["id"].(string)
			const site = "https://magistere.example/versailles"
			c.json("POST", "/api/v1/mappings", map[string]any{"activity": site + "/course/view.php?id=42", "achievement": ach}, 201)
			lms := c.json("POST", "/api/v1/lms-clients", map[string]string{"name": "Magistère", "issuer": "versailles"}, 201)
			auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(lms["key"].(string)+":"+lms["secret"].(string)))

			const n, per = 600, 20
			at := time.Date(2026, 11, 20, 14, 5, 0, 0, time.UTC)
			var batches [][]byte
			for i := 0; i < n; i += per {
				var stmts []any
				for j := i; j < i+per; j++ {
					stmts = append(stmts, xapitest.CourseCompleted(xapitest.UUID(j+1), site, 42, "Cours",
						xapitest.Learner{Email: fmt.Sprintf("ens%04d@ac-versailles.fr", j), Name: fmt.Sprintf("Enseignant %d", j)}, at))
				}
				batches = append(batches, xapitest.JSON(stmts))
			}
			send := func(body []byte) (int, error) {
				req, _ := http.NewRequest("POST", base+"/xapi/statements", bytes.NewReader(body))
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Experience-API-Version", "1.0.3")
				resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
				if err != nil {
					return 0, err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode, nil
			}
			var acked atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < len(batches); i += 2 {
						select {
						case <-stop:
							return
						default:
						}
						if s, err := send(batches[i]); err == nil && s == 200 {
							acked.Add(1)
						}
					}
				}()
			}
			for deadline := time.Now().Add(60 * time.Second); acked.Load() < 4; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no batch acknowledged in 60 s")
				}
			}
			srv.Process.Signal(syscall.SIGKILL)
			srv.Wait()
			close(stop)
			wg.Wait()
			if acked.Load() >= int64(len(batches)) {
				t.Fatal("every batch went through before the kill: nothing was tested")
			}
			t.Logf("killed with %d of %d batches acknowledged", acked.Load(), len(batches))

			startChild(t, port, data, vars)
			for i, body := range batches {
				if s, err := send(body); err != nil || s != 200 {
					t.Fatalf("resending batch %d: %d %v", i, s, err)
				}
			}
			var total float64
			for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				total = c.json("GET", "/api/v1/credentials?limit=1&achievement="+ach, nil, 200)["total"].(float64)
				if total >= n || time.Now().After(deadline) {
					break
				}
			}
			seen := map[string]int{}
			for off := 0; off < n+100; off += 500 {
				page := c.json("GET", fmt.Sprintf("/api/v1/credentials?achievement=%s&limit=500&offset=%d", ach, off), nil, 200)
				for _, x := range page["credentials"].([]any) {
					seen[x.(map[string]any)["recipient"].(map[string]any)["email"].(string)]++
				}
			}
			for j := range n {
				e := fmt.Sprintf("ens%04d@ac-versailles.fr", j)
				if seen[e] != 1 {
					t.Errorf("%s holds %d credentials, want 1", e, seen[e])
				}
			}
			if total != n || len(seen) != n {
				t.Fatalf("%v credentials for %d learners; want %d", total, len(seen), n)
			}
		})
	}
}
