package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestRefusesLoopbackByDefault(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
	defer srv.Close()
	_, err := New(Options{}).Get(context.Background(), srv.URL, "")
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	// localhost resolves to loopback: refused too, after resolution.
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if _, err := New(Options{}).Get(context.Background(), u, ""); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("localhost: err = %v, want ErrForbiddenAddress", err)
	}
	r, err := New(Options{AllowPrivate: true}).Get(context.Background(), srv.URL, "application/json")
	if err != nil || string(r.Body) != "{}" {
		t.Fatalf("allowed: %v %v", r, err)
	}
}

func TestLimits(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("a", 2048)))
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("b", 1024))
		for i := 0; i < 100000; i++ { // bounded: 100 MB at most
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.org/", http.StatusFound)
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(Options{AllowPrivate: true, MaxBytes: 1024})
	ctx := context.Background()
	if _, err := c.Get(ctx, srv.URL+"/big", ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big: %v", err)
	}
	if _, err := c.Get(ctx, srv.URL+"/endless", ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless: %v", err)
	}
	if _, err := c.Get(ctx, srv.URL+"/loop", ""); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("loop: %v", err)
	}
	if _, err := c.Get(ctx, srv.URL+"/ftp", ""); err == nil {
		t.Errorf("ftp redirect followed")
	}
	r, err := c.Get(ctx, srv.URL+"/gone", "")
	if !errors.Is(err, ErrStatus) || r == nil || r.Status != http.StatusGone {
		t.Errorf("gone: %v %v", r, err)
	}
	for _, u := range []string{"file:///etc/passwd", "gopher://x", "http://", "::"} {
		if _, err := c.Get(ctx, u, ""); err == nil {
			t.Errorf("%s fetched", u)
		}
	}
}

func TestPublic(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "2a00:1450:4007:80e::200e": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::1": false,
		"fe80::1": false, "fc00::1": false, "::ffff:127.0.0.1": false, "224.0.0.1": false,
	} {
		if got := Public(netip.MustParseAddr(s)); got != want {
			t.Errorf("Public(%s) = %v, want %v", s, got, want)
		}
	}
}
