package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/jsonld"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	l, err := jsonld.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	s, err := badges.NewSchemas()
	if err != nil {
		t.Fatal(err)
	}
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: s, Canon: jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)})
	srv := httptest.NewServer(api.New(api.Config{Verifier: v, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifyEndpoint(t *testing.T) {
	srv := server(t)
	examples := filepath.Join("..", "testdata", "examples", "1edtech-validator-ob30")
	for name, want := range map[string]string{"simple-json.png": "warnings", "simple-err-type.json": "invalid"} {
		b, _ := os.ReadFile(filepath.Join(examples, name))
		resp, err := http.Post(srv.URL+"/api/v1/verify", "application/octet-stream", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		var report badges.Report
		json.NewDecoder(resp.Body).Decode(&report)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(report.Verdict) != want {
			t.Errorf("%s: %d %s, want 200 %s", name, resp.StatusCode, report.Verdict, want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	srv := server(t)
	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/api/v1/verify", "{nope", 400, "unusable_input"},
		{"POST", "/api/v1/verify", strings.Repeat("a", 17<<20), 413, "too_large"},
		{"GET", "/api/v1/verify", "", 405, "method_not_allowed"},
		{"GET", "/nowhere", "", 404, "not_found"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
			t.Errorf("%s %s: %d %+v, want %d %s", tc.method, tc.path, resp.StatusCode, e, tc.status, tc.code)
		}
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
}
