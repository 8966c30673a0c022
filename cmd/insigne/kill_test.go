package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insigne/insigne/store/storetest"
)

// childEnv makes the test binary run `insigne` itself (TestMain), so that
// a test can start the real server as a process and kill it.
const childEnv = "INSIGNE_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		ctx, stop := signalContext()
		code := run(ctx, strings.Fields(args), env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startChild runs `insigne serve` as a child process and waits until it
// listens.
func startChild(t *testing.T, port int, data string, vars map[string]string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=serve --addr 127.0.0.1:%d --data %s", childEnv, port, data))
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listens on") {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("server exited: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start: %s", stderr.String())
	}
	return cmd
}

// TestBulkAwardSurvivesKill kills the server (SIGKILL) in the middle of a
// bulk award and starts it again: the job finishes with every recipient
// awarded exactly once.
func TestBulkAwardSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			port := freePort(t)
			base := fmt.Sprintf("http://localhost:%d", port)
			vars := map[string]string{"INSIGNE_ADMIN_TOKEN": "kill-test", "INSIGNE_BASE_URL": base, "INSIGNE_JOB_LEASE": "1s"}
			if b.Name == "postgres" {
				vars["INSIGNE_DATABASE_URL"] = b.DSN(t)
			}
			data := t.TempDir()
			srv := startChild(t, port, data, vars)
			c := client{t: t, base: base, token: "kill-test"}
			c.json("POST", "/api/v1/issuers", map[string]string{"slug": "ac-nice", "name": "Académie de Nice"}, 201)
			ach := c.json("POST", "/api/v1/issuers/ac-nice/achievements", map[string]any{"name": "Parcours M@gistère", "description": "d",
				"criteria": map[string]string{"narrative": "n"}}, 201)["id"].(string)
			const n = 8000
			rs := make([]map[string]string, n)
			for i := range rs {
				rs[i] = map[string]string{"email": fmt.Sprintf("p%05d@example.org", i)}
			}
			job := c.json("POST", "/api/v1/awards", map[string]any{"achievement": ach, "recipients": rs}, 202)["job"].(string)

			// Kill once some rows are committed and before the end.
			var done float64
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the job made no progress")
				}
				done = c.json("GET", job, nil, 200)["done"].(float64)
				if done > 0 {
					break
				}
			}
			srv.Process.Signal(syscall.SIGKILL)
			srv.Wait()
			if done >= n {
				t.Fatalf("the job finished before the kill (%v rows): nothing was tested", done)
			}
			t.Logf("killed with %v of %d rows committed", done, n)

			startChild(t, port, data, vars)
			var st map[string]any
			for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the job did not finish after the restart: %v", st)
				}
				st = c.json("GET", job, nil, 200)
				if st["state"] == "done" || st["state"] == "failed" {
					break
				}
			}
			if st["state"] != "done" || st["done"] != float64(n) || st["failed"] != float64(0) {
				t.Fatalf("job after restart: %v", st)
			}
			seen := map[string]bool{}
			ids := map[string]bool{}
			for off := 0; off < n+1000; off += 1000 {
				page := c.json("GET", fmt.Sprintf("/api/v1/credentials?achievement=%s&limit=1000&offset=%d", ach, off), nil, 200)
				if page["total"] != float64(n) {
					t.Fatalf("total %v, want %d", page["total"], n)
				}
				for _, x := range page["credentials"].([]any) {
					m := x.(map[string]any)
					email := m["recipient"].(map[string]any)["email"].(string)
					if seen[email] {
						t.Fatalf("%s awarded twice", email)
					}
					seen[email], ids[m["id"].(string)] = true, true
				}
			}
			if len(seen) != n || len(ids) != n {
				t.Fatalf("%d recipients, %d ids; want %d", len(seen), len(ids), n)
			}
			for i := range n {
				if !seen[fmt.Sprintf("p%05d@example.org", i)] {
					t.Fatalf("p%05d was never awarded", i)
				}
			}
			// A credential signed after the restart verifies like any other.
			page := c.json("GET", "/api/v1/credentials?achievement="+ach+"&limit=1", nil, 200)
			url := page["credentials"].([]any)[0].(map[string]any)["url"].(string)
			_, body := c.do("GET", url, nil, "application/vc+ld+json")
			code, out, _ := insigne(t, "", "verify", "--allow-private", write(t, "c.json", body))
			if code != 0 {
				t.Fatalf("verify: %d %s", code, out)
			}
		})
	}
}
