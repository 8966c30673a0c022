// Package api is Insigne's HTTP interface. It is the only package that
// knows HTTP: it authenticates requests, decodes them, calls the domain
// packages and writes their answers.
package api

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/moodle"
	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/fetch"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/lifecycle"
	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/web"
)

// Verifier verifies a credential in any supported container.
type Verifier interface {
	Verify(ctx context.Context, input []byte, opts badges.Options) (*badges.Report, error)
}

// Idempotency remembers the answers to requests sent with an
// Idempotency-Key, so that a retried request is answered, not redone.
type Idempotency interface {
	// BeginIdempotent reserves key for principal and returns status 0.
	// When the key was used before, it returns the stored answer (status
	// -1 while the first request is still running), or
	// issuing.ErrConflict if the request differs.
	BeginIdempotent(ctx context.Context, principal, key, request string) (status int, body []byte, err error)
	FinishIdempotent(ctx context.Context, principal, key string, status int, body []byte) error
	AbortIdempotent(ctx context.Context, principal, key string) error
}

// Config is what the HTTP interface is built from. Issuing and Auth may
// be nil for a verify-only server.
type Config struct {
	Verifier    Verifier
	Issuing     *issuing.Service
	Auth        *auth.Service
	Idempotency Idempotency
	// OIDC, when set, offers "sign in with" that provider.
	OIDC *auth.Provider
	// Ready reports whether the service can take traffic (the database
	// answers).
	Ready func(ctx context.Context) error
	// DBStats, when set, exports the database pool's figures as metrics
	// (requests waiting for a connection show there first).
	DBStats func() sql.DBStats
	Log     *slog.Logger
	// Registry receives the HTTP metrics; a new one when nil.
	Registry *prometheus.Registry
	// SecureCookies marks cookies Secure (the service is behind TLS).
	SecureCookies bool
	// Frameworks are served read-only as CASE under /ims/case/v1p0/, with
	// ids under BaseURL.
	Frameworks []competency.Framework
	BaseURL    string
	// Competency, when set, keeps frameworks in the database: CASE serves
	// every stored framework (not Frameworks), and the framework, trainer
	// award, profile and statistics routes are on.
	Competency *competency.Service
	// OAuth, when set with Auth, serves the OAuth 2.0 authorization
	// server of the Open Badges API (api/oauth.go), described by
	// OAuthInfo in the service description document.
	OAuth     *oauth.Service
	OAuthInfo OAuthInfo
	// Backpack, when set with Auth, serves the learners' backpacks under
	// /api/v1/backpack and as an Open Badges 3.0 resource server under
	// /ims/ob/v3p0, whose access tokens OBTokens checks.
	Backpack *backpack.Service
	OBTokens OBTokens
	// Completions records completions and manages mappings and parcours;
	// nil leaves those routes out.
	Completions *completion.Service
	// Statements stores xAPI statements and LMS clients; with Auth and
	// Issuing it enables /xapi/ and the other ways completions come in.
	Statements xapi.Store
	// Recorder is the completion service every ingestion path hands its
	// completions to.
	Recorder CompletionRecorder
	// MoodleBaseURLs are Moodle sites a web-services pull may reach on a
	// private or loopback address; any other site must be public.
	MoodleBaseURLs []string
	// Attest, when set, serves training attestations and the
	// verification pages for HR (/verify, /v/{code}).
	Attest *attest.Service
	// Lifecycle, when set with Auth, lets the root delete a person on
	// request (DELETE /api/v1/people/{email}).
	Lifecycle *lifecycle.Sweeper
	// RateLimits limit each client address on the public and sign-in
	// routes (api/ratelimit.go); the zero value limits nothing.
	RateLimits RateLimits
	// Now is the clock of the caches kept here; time.Now when nil.
	Now func() time.Time
}

// Server holds what the handlers need.
type Server struct {
	verifier Verifier
	iss      *issuing.Service
	auth     *auth.Service
	idem     Idempotency
	oidc     *auth.Provider
	ready    func(ctx context.Context) error
	log      *slog.Logger
	metrics  *metrics
	registry *prometheus.Registry
	secure   bool
	comp     *competency.Service
	web      *web.Renderer

	caseMu      sync.Mutex
	cases       *caseIndex
	casesKey    string
	ob          *obOAuth
	backpack    *backpack.Service
	obTokens    OBTokens
	completions *completion.Service

	baseURL       string
	xapi          *xapi.Service
	rec           CompletionRecorder
	moodleAllowed []string
	moodlePublic  moodle.Getter
	moodleTrusted moodle.Getter
	att           *attest.Service
	limits        *rateLimiter
	shareVerdicts *verdictCache
	lifecycle     *lifecycle.Sweeper
}

// New returns the HTTP handler of the service.
func New(c Config) http.Handler {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	s := &Server{verifier: c.Verifier, iss: c.Issuing, auth: c.Auth, idem: c.Idempotency, oidc: c.OIDC,
		ready: c.Ready, log: c.Log, registry: c.Registry, secure: c.SecureCookies, comp: c.Competency,
		backpack: c.Backpack, obTokens: c.OBTokens, completions: c.Completions, att: c.Attest}
	s.metrics = newMetrics(c.Registry)
	if c.DBStats != nil {
		registerPoolMetrics(c.Registry, c.DBStats)
	}
	s.baseURL, s.rec, s.lifecycle = c.BaseURL, c.Recorder, c.Lifecycle
	if c.Statements != nil {
		s.xapi = xapi.NewService(c.Statements, c.Recorder, c.BaseURL, time.Now)
		s.moodleAllowed = c.MoodleBaseURLs
		s.moodlePublic = fetch.New(fetch.Options{Timeout: 20 * time.Second, MaxBytes: 32 << 20})
		s.moodleTrusted = fetch.New(fetch.Options{Timeout: 20 * time.Second, MaxBytes: 32 << 20, AllowPrivate: true})
	}
	s.limits = newRateLimiter(c.RateLimits)
	if c.Now == nil {
		c.Now = time.Now
	}
	s.shareVerdicts = newVerdictCache(c.Now, shareVerdictTTL, shareVerdictMax)
	if pages, err := web.New(); err != nil {
		// The templates are embedded: a parse error is a bug to see at
		// start-up; the API still serves.
		c.Log.Error("web pages not served", "err", err)
	} else {
		s.web = pages
	}
	if len(c.Frameworks) > 0 && c.Competency == nil {
		ix, err := newCASEIndex(c.Frameworks, c.BaseURL)
		if err != nil {
			// The frameworks are checked data; an export failure is a bug
			// worth seeing at start-up, not a reason to refuse service.
			c.Log.Error("CASE frameworks not served", "err", err)
		} else {
			s.cases = ix
		}
	}
	r := mux.NewRouter()
	r.Use(s.observe, s.recoverPanics, s.securityHeaders, s.rateLimit)
	r.HandleFunc("/healthz", s.health).Methods(http.MethodGet)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet)
	r.Handle("/metrics", s.metricsHandler()).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/openapi.json", serveOpenAPI).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/verify", s.verify).Methods(http.MethodPost)
	// gorilla/mux tries the routes one by one in the order they were
	// registered, a regular expression each: the busiest (public documents
	// that verifiers fetch, the learner's backpack, xAPI statements) come
	// first. No two groups match the same path, so the order changes
	// nothing else.
	if s.iss != nil && s.auth != nil {
		s.publicRoutes(r)
	}
	if s.backpack != nil && s.auth != nil {
		s.backpackRoutes(r)
	}
	if s.iss != nil && s.auth != nil && s.xapi != nil {
		s.xapiRoutes(r)
	}
	if s.cases != nil || s.comp != nil {
		s.caseRoutes(r)
	}
	if s.iss != nil && s.auth != nil {
		s.apiRoutes(r)
		s.signInRoutes(r)
		if s.web != nil {
			s.pageRoutes(r)
		}
		if s.comp != nil {
			s.competencyRoutes(r)
		}
		if s.completions != nil {
			s.completionRoutes(r)
		}
		if s.lifecycle != nil {
			s.peopleRoutes(r)
		}
	}
	if c.OAuth != nil && s.auth != nil {
		s.oauthRoutes(r, c)
	}
	if s.att != nil && s.iss != nil && s.auth != nil {
		s.attestRoutes(r)
	}
	r.NotFoundHandler = s.observe(s.securityHeaders(http.HandlerFunc(s.notFound)))
	r.MethodNotAllowedHandler = s.observe(s.securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path, "")
	})))
	return r
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			writeError(w, http.StatusServiceUnavailable, "not_ready", "the database does not answer", "")
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// securityHeaders are set on every answer. The default policy allows
// nothing (JSON needs nothing); pages replace it with what they need.
// HSTS is sent under TLS, whether this process terminates it or a proxy
// in front does (SecureCookies: the public base is https).
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		if r.TLS != nil || s.secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
