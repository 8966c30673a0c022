package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
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

var signInTmpl = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Se connecter – Insigne</title>
<style>body{font-family:Marianne,Arial,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#161616}
h1{color:#000091}label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;font-size:1rem}
button,.button{margin-top:1.5rem;background:#000091;color:#fff;border:0;padding:.75rem 1.5rem;font-size:1rem;text-decoration:none;display:inline-block}
.error{color:#ce0500}</style></head>
<body><main><h1>Se connecter</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .OIDC}}<p><a class="button" href="/auth/oidc/start">Se connecter avec le compte de l'académie</a></p>{{end}}
<form method="post" action="/signin">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label for="email">Adresse électronique</label><input id="email" name="email" type="email" autocomplete="email" required>
<label for="password">Mot de passe</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Se connecter</button>
</form></main></body></html>`))

// signInPage shows the password form. Login CSRF is stopped by a
// double-submitted random value: a cookie and the same value in the form.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	s.renderSignIn(w, r, http.StatusOK, "")
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomString()
	http.SetCookie(w, s.cookie("insigne_login", tok, 30*time.Minute))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	signInTmpl.Execute(w, map[string]any{"CSRF": tok, "Error": msg, "OIDC": s.oidc != nil})
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
		s.renderSignIn(w, r, http.StatusBadRequest, "Le formulaire n'a pas pu être lu.")
		return
	}
	c, err := r.Cookie("insigne_login")
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf_token"))) != 1 {
		s.renderSignIn(w, r, http.StatusForbidden, "La page a expiré : veuillez réessayer.")
		return
	}
	u, err := s.auth.PasswordSignIn(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"))
	if err != nil {
		s.log.InfoContext(r.Context(), "sign-in refused", "reason", err)
		s.renderSignIn(w, r, http.StatusUnauthorized, "Adresse ou mot de passe incorrect.")
		return
	}
	http.SetCookie(w, s.cookie("insigne_login", "", -1))
	if s.startSession(w, r, u.ID) {
		http.Redirect(w, r, s.afterSignIn(w, r), http.StatusSeeOther)
	}
}

// linkSignIn redeems a one-time sign-in link (the first administrator's,
// printed at start-up).
func (s *Server) linkSignIn(w http.ResponseWriter, r *http.Request) {
	u, err := s.auth.RedeemSignInLink(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		s.renderSignIn(w, r, http.StatusUnauthorized, "Ce lien de connexion n'est plus valable.")
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
		s.renderSignIn(w, r, http.StatusBadRequest, "La connexion a expiré ou ne vient pas de cette page : veuillez réessayer.")
		return
	}
	http.SetCookie(w, s.cookie("insigne_oidc", "", -1))
	if e := q.Get("error"); e != "" {
		s.renderSignIn(w, r, http.StatusUnauthorized, "Le fournisseur d'identité a refusé la connexion.")
		return
	}
	claims, err := s.oidc.Exchange(r.Context(), q.Get("code"), parts[2], parts[1])
	if err != nil {
		s.log.InfoContext(r.Context(), "oidc sign-in refused", "err", err)
		s.renderSignIn(w, r, http.StatusUnauthorized, "La connexion n'a pas pu être vérifiée.")
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
