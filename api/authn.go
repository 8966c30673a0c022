package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/insigne/insigne/auth"
)

// sessionCookie holds a signed-in browser's session secret.
const sessionCookie = "insigne_session"

type principalKey struct{}

type csrfKey struct{}

// principalFrom returns who made the request, set by authenticate.
func principalFrom(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey{}).(*auth.Principal)
	return p
}

// authenticate finds who is asking: an API token (or the admin token) in
// Authorization: Bearer, or a session cookie. A request authenticated by
// cookie that changes something must carry the session's CSRF token
// (X-CSRF-Token header or csrf_token form field): a cookie alone is sent
// by any site's forms, a header or field is not.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return nil, "", auth.ErrUnauthenticated
		}
		p, err := s.auth.AuthenticateToken(r.Context(), strings.TrimSpace(tok))
		return p, "", err
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, "", auth.ErrUnauthenticated
	}
	p, csrf, err := s.auth.SessionPrincipal(r.Context(), c.Value)
	if err != nil {
		return nil, "", err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		submitted := r.Header.Get("X-CSRF-Token")
		if submitted == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			submitted = r.PostFormValue("csrf_token")
		}
		if !auth.CheckCSRF(csrf, submitted) {
			return nil, "", errCSRF
		}
	}
	return p, csrf, nil
}

var errCSRF = errors.New("missing or wrong CSRF token")

// authed wraps a handler that needs someone signed in.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, csrf, err := s.authenticate(r)
		if errors.Is(err, errCSRF) {
			writeError(w, http.StatusForbidden, "csrf", "this request needs the session's CSRF token (X-CSRF-Token header)", "")
			return
		}
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthenticated) {
				s.fail(w, r, err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="insigne"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "sign in, or send an API token in Authorization: Bearer", "")
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		if csrf != "" {
			ctx = context.WithValue(ctx, csrfKey{}, csrf)
		}
		h(w, r.WithContext(ctx), p)
	}
}

// allow checks a role on an issuer and, for tokens, a scope; it answers
// 403 itself when refused.
func allow(w http.ResponseWriter, p *auth.Principal, issuer string, role auth.Role, scope string) bool {
	if !p.Can(issuer, role) {
		writeError(w, http.StatusForbidden, "forbidden", "you need the "+string(role)+" role on issuer "+issuer, "")
		return false
	}
	if scope != "" && !p.HasScope(scope) {
		writeError(w, http.StatusForbidden, "forbidden", "this token lacks the scope "+scope, "")
		return false
	}
	return true
}

// actor names the principal in the audit log.
func actor(p *auth.Principal) string {
	switch p.Kind {
	case auth.KindRoot:
		return "root"
	case auth.KindToken:
		return "token:" + p.TokenID
	}
	return "user:" + p.UserID
}
