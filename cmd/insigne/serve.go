package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/fetch"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/keys"
	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/store"
)

// cmdServe runs the HTTP service until ctx is cancelled, then shuts down
// gracefully. With no configuration it keeps everything under
// ./insigne-data: the SQLite database, the key-encryption key and the
// evidence files.
func cmdServe(ctx context.Context, args []string, e env) error {
	fs := newFlags("serve", e)
	addr := fs.String("addr", orEnv(e, "INSIGNE_ADDR", "127.0.0.1:8080"), "listen address (INSIGNE_ADDR)")
	dataDir := fs.String("data", orEnv(e, "INSIGNE_DATA_DIR", "insigne-data"), "data directory (INSIGNE_DATA_DIR)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{"serve takes no arguments"}
	}
	level := slog.LevelInfo
	if e.getenv("INSIGNE_LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	base := strings.TrimRight(e.getenv("INSIGNE_BASE_URL"), "/")
	if base == "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		base = "http://localhost:" + port
	}

	dsn := e.getenv("INSIGNE_DATABASE_URL")
	if dsn == "" {
		dsn = filepath.Join(*dataDir, "insigne.db")
	}
	var maxConns int
	if v := e.getenv("INSIGNE_DATABASE_MAX_CONNS"); v != "" {
		if maxConns, err = strconv.Atoi(v); err != nil || maxConns < 1 || maxConns > 1000 {
			return usageError{"INSIGNE_DATABASE_MAX_CONNS must be a number of connections between 1 and 1000, like 8"}
		}
	}
	db, err := store.Open(ctx, dsn, store.WithMaxConns(maxConns))
	if err != nil {
		return err
	}
	defer db.Close()

	kek, err := loadKEK(e, *dataDir)
	if err != nil {
		return err
	}
	sealer, err := keys.NewSealer(kek)
	if err != nil {
		return err
	}
	canon, err := newCanonicalizer()
	if err != nil {
		return err
	}
	schemas, err := badges.NewSchemas()
	if err != nil {
		return err
	}
	var lease time.Duration
	if v := e.getenv("INSIGNE_JOB_LEASE"); v != "" {
		if lease, err = time.ParseDuration(v); err != nil || lease < time.Second {
			return usageError{"INSIGNE_JOB_LEASE must be a duration of at least 1s, like 15s"}
		}
	}
	blobs := store.DiskBlobs{Dir: filepath.Join(*dataDir, "evidence")}
	svc := issuing.New(issuing.Config{Store: db, Blobs: blobs, Sealer: sealer,
		Canon: canon, BaseURL: base, Log: log, JobLease: lease})
	var authOpts []auth.Option
	if tok := e.getenv("INSIGNE_ADMIN_TOKEN"); tok != "" {
		authOpts = append(authOpts, auth.WithRootToken(tok))
	}
	cacheTTL := auth.DefaultSessionCacheTTL
	if v := e.getenv("INSIGNE_SESSION_CACHE"); v != "" {
		if cacheTTL, err = time.ParseDuration(v); err != nil || cacheTTL < 0 || cacheTTL > time.Minute {
			return usageError{"INSIGNE_SESSION_CACHE must be a duration between 0 (no cache) and 1m, like 5s"}
		}
	}
	authOpts = append(authOpts, auth.WithSessionCache(cacheTTL))
	authSvc := auth.NewService(db, time.Now, authOpts...)

	var oidc *auth.Provider
	if iss := e.getenv("INSIGNE_OIDC_ISSUER"); iss != "" {
		oidc, err = auth.NewProvider(ctx, iss, e.getenv("INSIGNE_OIDC_CLIENT_ID"), e.getenv("INSIGNE_OIDC_CLIENT_SECRET"), base+"/auth/oidc/callback",
			// The provider is the operator's configuration, often on the
			// internal network: private addresses are allowed, the
			// timeouts and redirect limit are not lifted.
			fetch.New(fetch.Options{AllowPrivate: true}).HTTP())
		if err != nil {
			return fmt.Errorf("OpenID Connect: %w", err)
		}
	}

	// The verifier resolves this service's own documents (issuer profiles,
	// status lists) by calling the handler directly, and everything else
	// through the guarded fetcher.
	self := &selfFetcher{base: base, next: fetcher{fetch.New(fetch.Options{})}}
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Docs: self,
		Extractors: []badges.Extractor{attest.Extractor{}}})
	comp := competency.NewService(db, base, nil, log)
	if err := comp.SeedOfficial(ctx); err != nil {
		return fmt.Errorf("official frameworks: %w", err)
	}
	frameworks, err := competency.Official()
	if err != nil {
		return fmt.Errorf("official frameworks: %w", err)
	}
	oauthSvc, oauthInfo, err := oauthConfig(e, db, base)
	if err != nil {
		return err
	}
	bp, bpEvery, err := newBackpack(e, db, v, svc, base, log, authSvc.ForgetUser)
	if err != nil {
		return err
	}
	completions := completion.New(completion.Config{Store: db, Issuing: svc, Log: log})
	att := attest.New(attest.Config{Store: db, Issuing: svc,
		Verifier: v, Frameworks: frameworks, BaseURL: base, Log: log, Lease: lease})
	limits, err := rateLimits(e)
	if err != nil {
		return err
	}
	sweeper, sweepEvery, err := newSweeper(e, db, blobs, base, log, authSvc.ForgetUser)
	if err != nil {
		return err
	}
	handler := api.New(api.Config{Verifier: v, Issuing: svc, Auth: authSvc, Idempotency: db, OIDC: oidc,
		Competency: comp, BaseURL: base, OAuth: oauthSvc, OAuthInfo: oauthInfo, Backpack: bp, OBTokens: oauthSvc, RateLimits: limits,
		Completions: completions, Recorder: completions, Attest: att, Lifecycle: sweeper,
		// xAPI statements and LMS clients; Moodle sites a pull may reach
		// on the internal network (INSIGNE_MOODLE_URLS, comma-separated).
		Statements: db, MoodleBaseURLs: moodleURLList(e.getenv("INSIGNE_MOODLE_URLS")),
		Ready: db.Ping, DBStats: db.Stats, Log: log, SecureCookies: strings.HasPrefix(base, "https://")})
	self.handler = handler

	if err := firstRun(ctx, e, svc, authSvc, base); err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       120 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.Info("insigne listening", "addr", ln.Addr().String(), "base", base, "database", db.Dialect().String())
	fmt.Fprintf(e.stdout, "Insigne listens on http://%s (public base %s)\n", ln.Addr(), base)

	jobsCtx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() { svc.RunJobs(jobsCtx); close(jobsDone) }()
	bpDone := make(chan struct{})
	go func() { bp.Run(jobsCtx, bpEvery); close(bpDone) }()
	purgeDone := make(chan struct{})
	go func() { purgeOAuth(jobsCtx, oauthSvc, log); close(purgeDone) }()
	awardsDone := make(chan struct{})
	go func() { completions.RunAwards(jobsCtx); close(awardsDone) }()
	batchesDone := make(chan struct{})
	go func() { att.RunBatches(jobsCtx); close(batchesDone) }()
	sweepDone := make(chan struct{})
	go func() {
		if sweepEvery > 0 {
			sweeper.Run(jobsCtx, sweepEvery)
		}
		close(sweepDone)
	}()
	// Every background loop ends with jobsCtx; wait for all before the
	// database closes.
	defer func() {
		stopJobs()
		<-jobsDone
		<-bpDone
		<-purgeDone
		<-awardsDone
		<-batchesDone
		<-sweepDone
	}()

	if addr := e.getenv("INSIGNE_PPROF_ADDR"); addr != "" {
		// Profiles of a live node, for its operators only: a listener of
		// its own, meant for a loopback address, never the public one.
		stopProfiles, err := serveProfiles(addr)
		if err != nil {
			return fmt.Errorf("INSIGNE_PPROF_ADDR: %w", err)
		}
		defer stopProfiles()
		log.Info("profiles served", "addr", addr)
	}

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

// newBackpack builds the learners' backpacks: imports fetched through the
// guarded fetcher (INSIGNE_FETCH_ALLOW_PRIVATE=1 lets it reach private
// addresses, for issuers on an internal network), e-mail through
// INSIGNE_SMTP_* when INSIGNE_SMTP_ADDR is set, CLR records signed by
// INSIGNE_PLATFORM_ISSUER (default: demo), and a background pass every
// INSIGNE_BACKPACK_INTERVAL (default 1m) that re-verifies imports older
// than INSIGNE_REVERIFY_AFTER (default 24h) and sends notifications.
// INSIGNE_BACKPACK_MAX_IMPORTED caps each learner's imports (default 5000).
func newBackpack(e env, db *store.DB, v *badges.Verifier, svc *issuing.Service, base string, log *slog.Logger, forget func(userID string)) (*backpack.Service, time.Duration, error) {
	every, after := time.Minute, 24*time.Hour
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"INSIGNE_BACKPACK_INTERVAL", &every}, {"INSIGNE_REVERIFY_AFTER", &after}} {
		if val := e.getenv(d.name); val != "" {
			t, err := time.ParseDuration(val)
			if err != nil || t < time.Second {
				return nil, 0, usageError{d.name + " must be a duration of at least 1s, like 10m"}
			}
			*d.dst = t
		}
	}
	maxImported := 0
	if val := e.getenv("INSIGNE_BACKPACK_MAX_IMPORTED"); val != "" {
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return nil, 0, usageError{"INSIGNE_BACKPACK_MAX_IMPORTED must be a positive number of credentials, like 5000"}
		}
		maxImported = n
	}
	var mailer backpack.Mailer
	if addr := e.getenv("INSIGNE_SMTP_ADDR"); addr != "" {
		mailer = &backpack.SMTP{Addr: addr, From: orEnv(e, "INSIGNE_SMTP_FROM", "insigne@localhost"),
			Username: e.getenv("INSIGNE_SMTP_USERNAME"), Password: e.getenv("INSIGNE_SMTP_PASSWORD"),
			StartTLS: e.getenv("INSIGNE_SMTP_STARTTLS") == "1"}
	}
	f := fetch.New(fetch.Options{AllowPrivate: e.getenv("INSIGNE_FETCH_ALLOW_PRIVATE") == "1"})
	return backpack.New(backpack.Config{Store: db, Verifier: v, Fetcher: f, Mailer: mailer, Issuing: svc,
		PlatformIssuer: orEnv(e, "INSIGNE_PLATFORM_ISSUER", "demo"), BaseURL: base, Log: log, ReverifyEvery: after, MaxImported: maxImported, Forget: forget}), every, nil
}

// loadKEK reads INSIGNE_KEK, or the key file of the data directory
// (created 0600 on first start).
func loadKEK(e env, dataDir string) ([]byte, error) {
	if v := e.getenv("INSIGNE_KEK"); v != "" {
		k, err := keys.ParseKEK(v)
		if err != nil {
			return nil, fmt.Errorf("INSIGNE_KEK: %w", err)
		}
		return k, nil
	}
	return keys.LoadOrCreateKEK(filepath.Join(dataDir, "kek"))
}

// firstRun prepares an empty instance: a demonstration issuer with one
// achievement, and a first administrator who signs in with a printed
// one-time link.
func firstRun(ctx context.Context, e env, svc *issuing.Service, a *auth.Service, base string) error {
	issuers, err := svc.Issuers(ctx)
	if err != nil {
		return err
	}
	if len(issuers) == 0 {
		if _, err := svc.CreateIssuer(ctx, "system", issuing.IssuerInput{Slug: "demo", Name: "Insigne (démonstration)", URL: base}); err != nil {
			return fmt.Errorf("demonstration issuer: %w", err)
		}
		var spec issuing.AchievementSpec
		json.Unmarshal([]byte(`{"name":"Découvrir Insigne","description":"A découvert les badges numériques ouverts avec Insigne.","achievementType":"Badge","criteria":{"narrative":"Avoir suivi la visite guidée d'Insigne."}}`), &spec)
		if _, err := svc.CreateAchievement(ctx, "system", "demo", spec); err != nil {
			return fmt.Errorf("demonstration achievement: %w", err)
		}
	}
	email := orEnv(e, "INSIGNE_ADMIN_EMAIL", "admin@localhost")
	u, created, err := a.EnsureRootUser(ctx, email)
	if err != nil {
		return fmt.Errorf("first administrator: %w", err)
	}
	if created {
		link, err := a.SignInLink(ctx, u.ID, 24*time.Hour)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "First administrator %s: sign in within 24 hours at\n  %s/signin/link?token=%s\n", email, base, link)
	}
	return nil
}

// selfFetcher answers fetches of this service's own URLs in process: the
// verifier checks our credentials without going through the network
// (which the fetcher's loopback guard would rightly refuse).
type selfFetcher struct {
	base    string
	handler http.Handler
	next    fetcher
}

func (f *selfFetcher) FetchDocument(ctx context.Context, url, accept string) ([]byte, error) {
	if f.handler == nil || !strings.HasPrefix(url, f.base+"/") {
		return f.next.FetchDocument(ctx, url, accept)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimPrefix(url, f.base), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	rec := &bufferWriter{header: http.Header{}, code: http.StatusOK}
	f.handler.ServeHTTP(rec, req)
	if rec.code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", url, rec.code)
	}
	return rec.body.Bytes(), nil
}

type bufferWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) WriteHeader(code int)        { b.code = code }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func orEnv(e env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// oauthConfig builds the OAuth server of the Open Badges API from
// INSIGNE_OAUTH_ACCESS_TTL, INSIGNE_OAUTH_REFRESH_TTL,
// INSIGNE_OAUTH_LOOPBACK_REDIRECTS, INSIGNE_PRIVACY_URL and
// INSIGNE_TERMS_URL.
func oauthConfig(e env, st oauth.Store, base string) (*oauth.Service, api.OAuthInfo, error) {
	c := oauth.Config{Store: st}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"INSIGNE_OAUTH_ACCESS_TTL", &c.AccessTTL}, {"INSIGNE_OAUTH_REFRESH_TTL", &c.RefreshTTL}} {
		if v := e.getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < time.Minute {
				return nil, api.OAuthInfo{}, usageError{d.name + " must be a duration of at least 1m, like 1h"}
			}
			*d.to = t
		}
	}
	switch v := e.getenv("INSIGNE_OAUTH_LOOPBACK_REDIRECTS"); v {
	case "", "0", "false":
	case "1", "true":
		c.AllowLoopbackHTTP = true
	default:
		return nil, api.OAuthInfo{}, usageError{"INSIGNE_OAUTH_LOOPBACK_REDIRECTS must be true or false"}
	}
	info := api.OAuthInfo{PrivacyPolicyURL: orEnv(e, "INSIGNE_PRIVACY_URL", base+"/"), TermsOfServiceURL: orEnv(e, "INSIGNE_TERMS_URL", base+"/")}
	return oauth.New(c), info, nil
}

// purgeOAuth deletes expired OAuth codes, tokens and grants hourly. Every
// node may run it: the deletes are idempotent.
func purgeOAuth(ctx context.Context, svc *oauth.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := svc.Purge(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purging expired OAuth tokens failed", "err", err)
		} else if n > 0 {
			log.Info("purged expired OAuth tokens", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// moodleURLList splits a comma-separated setting, dropping empty items.
func moodleURLList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// serveProfiles serves Go's runtime profiles (net/http/pprof) on addr.
func serveProfiles(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
