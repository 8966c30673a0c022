package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
)

func (s *Server) signInRoutes(r *mux.Router) {
	r.HandleFunc("/signin", s.signInPage).Methods(http.MethodGet)
	r.HandleFunc("/signin", s.passwordSignIn).Methods(http.MethodPost)
	r.HandleFunc("/signin/link", s.linkSignIn).Methods(http.MethodGet)
	r.HandleFunc("/signout", s.authed(s.signOut)).Methods(http.MethodPost)
	r.HandleFunc("/auth/oidc/start", s.oidcStart).Methods(http.MethodGet)
	r.HandleFunc("/auth/oidc/callback", s.oidcCallback).Methods(http.MethodGet)
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) cookie(name, value string, ttl time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if ttl < 0 {
		c.MaxAge = -1
	} else if ttl > 0 {
		c.MaxAge = int(ttl.Seconds())
	}
	return c
}

// signInPage shows the password form. Login CSRF is stopped by a
// double-submitted random value: a cookie and the same value in the form.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	s.renderSignIn(w, r, http.StatusOK, "")
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, msgKey string) {
	tok := randomString()
	http.SetCookie(w, s.cookie("insigne_login", tok, 30*time.Minute))
	pr := s.pageRequest(w, r)
	pr.p = nil // the sign-in page is the same for everyone
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	if next != "" {
		next = safeNext(next)
	}
	page := s.layout(pr, pr.t("signin.title"), map[string]any{"LoginCSRF": tok, "OIDC": s.oidc != nil, "Next": next})
	if msgKey != "" {
		page.Error = pr.t(msgKey)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(pr, status, "signin", page)
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID string) bool {
	val, _, err := s.auth.NewSession(r.Context(), userID)
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	http.SetCookie(w, s.cookie(sessionCookie, val, 0))
	return true
}

func (s *Server) passwordSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderSignIn(w, r, http.StatusBadRequest, "signin.err.form")
		return
	}
	c, err := r.Cookie("insigne_login")
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf_token"))) != 1 {
		s.renderSignIn(w, r, http.StatusForbidden, "signin.err.expired")
		return
	}
	u, err := s.auth.PasswordSignIn(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"))
	if err != nil {
		s.log.InfoContext(r.Context(), "sign-in refused", "reason", err)
		s.renderSignIn(w, r, http.StatusUnauthorized, "signin.err.wrong")
		return
	}
	http.SetCookie(w, s.cookie("insigne_login", "", -1))
	if s.startSession(w, r, u.ID) {
		dest := s.afterSignIn(w, r)
		if dest == "/" {
			// A page that sent the browser to sign in (?next=).
			dest = safeNext(r.PostFormValue("next"))
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
	}
}

// linkSignIn redeems a one-time sign-in link (the first administrator's,
// printed at start-up).
func (s *Server) linkSignIn(w http.ResponseWriter, r *http.Request) {
	u, err := s.auth.RedeemSignInLink(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		s.renderSignIn(w, r, http.StatusUnauthorized, "signin.err.link")
		return
	}
	if s.startSession(w, r, u.ID) {
		http.Redirect(w, r, s.afterSignIn(w, r), http.StatusSeeOther)
	}
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.auth.EndSession(r.Context(), c.Value)
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// oidcStart sends the browser to the provider. State, nonce and the PKCE
// verifier wait in a short-lived cookie for the callback.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		writeError(w, http.StatusNotFound, "not_found", "OpenID Connect is not configured", "")
		return
	}
	state, nonce := randomString(), randomString()
	verifier, _ := auth.NewPKCE()
	http.SetCookie(w, s.cookie("insigne_oidc", state+"."+nonce+"."+verifier, 10*time.Minute))
	http.Redirect(w, r, s.oidc.AuthURL(state, nonce, verifier), http.StatusFound)
}

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		writeError(w, http.StatusNotFound, "not_found", "OpenID Connect is not configured", "")
		return
	}
	c, err := r.Cookie("insigne_oidc")
	parts := []string{}
	if err == nil {
		parts = strings.Split(c.Value, ".")
	}
	q := r.URL.Query()
	if len(parts) != 3 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 {
		s.renderSignIn(w, r, http.StatusBadRequest, "signin.err.oidcstate")
		return
	}
	http.SetCookie(w, s.cookie("insigne_oidc", "", -1))
	if e := q.Get("error"); e != "" {
		s.renderSignIn(w, r, http.StatusUnauthorized, "signin.err.oidcdenied")
		return
	}
	claims, err := s.oidc.Exchange(r.Context(), q.Get("code"), parts[2], parts[1])
	if err != nil {
		s.log.InfoContext(r.Context(), "oidc sign-in refused", "err", err)
		s.renderSignIn(w, r, http.StatusUnauthorized, "signin.err.oidcfailed")
		return
	}
	u, err := s.auth.OIDCSignIn(r.Context(), claims)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.startSession(w, r, u.ID) {
		http.Redirect(w, r, s.afterSignIn(w, r), http.StatusSeeOther)
	}
}
