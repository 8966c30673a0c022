package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/fetch"
)

// cmdServe runs the HTTP service until ctx is cancelled, then shuts down
// gracefully.
func cmdServe(ctx context.Context, args []string, e env) error {
	fs := newFlags("serve", e)
	addr := fs.String("addr", orEnv(e, "INSIGNE_ADDR", "127.0.0.1:8080"), "listen address (INSIGNE_ADDR)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{"serve takes no arguments"}
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	canon, err := newCanonicalizer()
	if err != nil {
		return err
	}
	schemas, err := badges.NewSchemas()
	if err != nil {
		return err
	}
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Docs: fetcher{fetch.New(fetch.Options{})}})
	srv := &http.Server{
		Handler:           api.New(v, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("insigne listening", "addr", ln.Addr().String())
	fmt.Fprintf(e.stdout, "Insigne listens on http://%s (POST /api/v1/verify, GET /healthz)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("insigne stopped")
	return nil
}

func orEnv(e env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}
