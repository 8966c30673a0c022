package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/insigne/insigne/badges"
)

// verdicts verifies every credential of an achievement as a stranger
// would (fetching keys and status lists from the server) and returns each
// one's verdict by id.
func verdicts(t *testing.T, c client, ach string) map[string]string {
	t.Helper()
	out := map[string]string{}
	page := c.json("GET", "/api/v1/credentials?limit=1000&achievement="+ach, nil, 200)
	for _, x := range page["credentials"].([]any) {
		m := x.(map[string]any)
		status, body := c.do("GET", m["url"].(string), nil, "application/vc+ld+json")
		if status != 200 {
			t.Fatalf("GET %s: %d", m["url"], status)
		}
		code, stdout, stderr := insigne(t, "", "verify", "--json", "--allow-private", write(t, "c.json", body))
		var rep badges.Report
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("verify: exit %d %s %s", code, stdout, stderr)
		}
		out[m["id"].(string)] = fmt.Sprintf("%d %s", code, rep.Verdict)
	}
	return out
}

// TestBackupWhileServingThenRestore issues credentials (one revoked, one
// suspended, one with an uploaded evidence file), takes a backup while the
// server keeps awarding, restores it into a new data directory, serves
// from it, and finds every credential of the backup verifying as before,
// with the same status, and the evidence file intact.
func TestBackupWhileServingThenRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	port := freePort(t)
	base := fmt.Sprintf("http://localhost:%d", port)
	vars := map[string]string{"INSIGNE_ADMIN_TOKEN": "backup-test", "INSIGNE_BASE_URL": base}
	data := t.TempDir()
	srv := startChild(t, port, data, vars)
	c := client{t: t, base: base, token: "backup-test"}
	c.json("POST", "/api/v1/issuers", map[string]string{"slug": "ac-rennes", "name": "Académie de Rennes"}, 201)
	ach := c.json("POST", "/api/v1/issuers/ac-rennes/achievements", map[string]any{"name": "Évaluer", "description": "d",
		"criteria": map[string]string{"narrative": "n"}}, 201)["id"].(string)

	pdf := []byte("%PDF-1.4\n% compte rendu de séance\n%%EOF\n")
	req, _ := http.NewRequest("POST", base+"/api/v1/evidence?name=cr.pdf", bytes.NewReader(pdf))
	req.Header.Set("Authorization", "Bearer backup-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("evidence upload: %d %v", resp.StatusCode, ev)
	}
	rs := make([]map[string]string, 30)
	for i := range rs {
		rs[i] = map[string]string{"email": fmt.Sprintf("b%02d@example.org", i), "name": fmt.Sprintf("Personne %d", i)}
	}
	award := c.json("POST", "/api/v1/awards", map[string]any{"achievement": ach, "recipients": rs,
		"evidence": []map[string]string{{"name": "Compte rendu", "url": ev["url"].(string)}}}, 201)
	creds := award["credentials"].([]any)
	id := func(i int) string {
		return strings.TrimPrefix(creds[i].(map[string]any)["id"].(string), "urn:uuid:")
	}
	c.json("POST", "/api/v1/credentials/"+id(3)+"/revoke", map[string]string{"reason": "erreur"}, 200)
	c.json("POST", "/api/v1/credentials/"+id(4)+"/suspend", map[string]string{"reason": "enquête"}, 200)
	before := verdicts(t, c, ach)
	if before["urn:uuid:"+id(3)] != "1 invalid" || before["urn:uuid:"+id(0)] != "0 valid" {
		t.Fatalf("before the backup: %v", before)
	}

	// Back up while another client keeps awarding.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.json("POST", "/api/v1/awards", map[string]any{"achievement": ach,
				"recipients": []map[string]string{{"email": fmt.Sprintf("during%03d@example.org", i)}}}, 201)
		}
	}()
	archive := filepath.Join(t.TempDir(), "insigne.tar.gz")
	code, out, stderr := insigne(t, "", "backup", "--data", data, "--out", archive)
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d %s %s", code, out, stderr)
	}
	srv.Process.Signal(syscall.SIGKILL)
	srv.Wait()

	restored := filepath.Join(t.TempDir(), "restored")
	if code, out, stderr := insigne(t, "", "restore", "--data", restored, archive); code != 0 {
		t.Fatalf("restore: exit %d %s %s", code, out, stderr)
	}
	if code, _, stderr := insigne(t, "", "restore", "--data", restored, archive); code != 2 || !strings.Contains(stderr, "not empty") {
		t.Fatalf("restore over a restored directory: exit %d %s", code, stderr)
	}
	startChild(t, port, restored, vars)
	after := verdicts(t, c, ach)
	for id, v := range before {
		if after[id] != v {
			t.Errorf("%s: %q after the restore, %q before", id, after[id], v)
		}
	}
	// Awards made during the backup are either wholly in it or not at
	// all, and verify.
	for id, v := range after {
		if _, ok := before[id]; !ok && v != "0 valid" {
			t.Errorf("%s, awarded during the backup: %s", id, v)
		}
	}
	t.Logf("%d credentials before the backup, %d restored", len(before), len(after))
	states := map[string]string{}
	page := c.json("GET", "/api/v1/credentials?limit=1000&achievement="+ach, nil, 200)
	for _, x := range page["credentials"].([]any) {
		m := x.(map[string]any)
		states[m["id"].(string)] = m["status"].(string)
	}
	if states["urn:uuid:"+id(3)] != "revoked" || states["urn:uuid:"+id(4)] != "suspended" || states["urn:uuid:"+id(5)] != "active" {
		t.Errorf("states after the restore: %s %s %s", states["urn:uuid:"+id(3)], states["urn:uuid:"+id(4)], states["urn:uuid:"+id(5)])
	}
	resp, err = http.Get(ev["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, pdf) {
		t.Errorf("evidence after the restore: %d %q", resp.StatusCode, got)
	}
	if fi, err := os.Stat(filepath.Join(restored, "kek")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("restored key file: %v %v", fi, err)
	}
}
