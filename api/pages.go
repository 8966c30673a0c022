package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/web"
)

// pageCSP is the policy of every page: scripts, styles and images from
// this site only, no inline script, never framed.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const langCookie = "insigne_lang"

// maxUpload caps a page's form: an evidence file or a recipients CSV.
const maxUpload = issuing.MaxEvidenceSize + 1<<20

// pageRoutes registers the web interface.
func (s *Server) pageRoutes(r *mux.Router) {
	assets := http.StripPrefix("/assets/", http.FileServerFS(web.Assets()))
	r.PathPrefix("/assets/").Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		assets.ServeHTTP(w, r)
	})).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/", s.home).Methods(http.MethodGet)
	if s.backpack != nil {
		r.HandleFunc("/backpack", s.page(s.backpackPage)).Methods(http.MethodGet)
		s.backpackPages(r)
	}
	if s.comp != nil {
		r.HandleFunc("/backpack/competencies", s.page(s.competencyMapPage)).Methods(http.MethodGet)
	}
	s.learnerDocPages(r)
	s.managePages(r)
	s.rulesPages(r)
	if s.comp != nil {
		r.HandleFunc("/statistics", s.page(s.rootStatisticsPage)).Methods(http.MethodGet)
	}
}

// pageReq is one request for a page: who asks, in which language.
type pageReq struct {
	w    http.ResponseWriter
	r    *http.Request
	p    *auth.Principal // nil when nobody is signed in
	csrf string          // the session's CSRF secret
	lang string
	csp  string // replaces pageCSP when set
}

func (pr *pageReq) t(key string, args ...any) string { return web.T(pr.lang, key, args...) }

// pageRequest reads the language and the session, if any. It never
// refuses: public pages show who is signed in too.
func (s *Server) pageRequest(w http.ResponseWriter, r *http.Request) *pageReq {
	pr := &pageReq{w: w, r: r}
	var remembered string
	if c, err := r.Cookie(langCookie); err == nil {
		remembered = c.Value
	}
	q := r.URL.Query().Get("lang")
	pr.lang = web.Lang(q, remembered, r.Header.Get("Accept-Language"))
	if q != "" && q == pr.lang && q != remembered {
		c := s.cookie(langCookie, q, 365*24*time.Hour)
		c.HttpOnly = false
		http.SetCookie(w, c)
	}
	if s.auth != nil {
		if c, err := r.Cookie(sessionCookie); err == nil {
			if p, csrf, err := s.auth.SessionPrincipal(r.Context(), c.Value); err == nil {
				pr.p, pr.csrf = p, csrf
			}
		}
	}
	return pr
}

// page wraps a page that needs someone signed in. A form sent to it must
// carry the session's CSRF token, whatever its encoding.
func (s *Server) page(h func(*pageReq)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pr := s.pageRequest(w, r)
		if pr.p == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.errorPage(pr, http.StatusForbidden, pr.t("error.csrf"))
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
			var err error
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				err = r.ParseMultipartForm(8 << 20)
			} else {
				err = r.ParseForm()
			}
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					s.errorPage(pr, http.StatusRequestEntityTooLarge, pr.t("form.toolarge"))
					return
				}
				s.errorPage(pr, http.StatusBadRequest, pr.t("form.unreadable"))
				return
			}
			if !auth.CheckCSRF(pr.csrf, r.PostFormValue("csrf_token")) {
				s.errorPage(pr, http.StatusForbidden, pr.t("error.csrf"))
				return
			}
		}
		ctx := context.WithValue(r.Context(), principalKey{}, pr.p)
		pr.r = r.WithContext(ctx)
		h(pr)
	}
}

// layout fills what every page shows around its content.
func (s *Server) layout(pr *pageReq, title string, data any) *web.Page {
	p := &web.Page{Lang: pr.lang, Title: title, Data: data, OtherLang: "en", Verify: s.att != nil}
	if pr.lang == "en" {
		p.OtherLang = "fr"
	}
	q := pr.r.URL.Query()
	q.Set("lang", p.OtherLang)
	p.SwitchURL = pr.r.URL.Path + "?" + q.Encode()
	if pr.p != nil {
		p.User = &web.User{Name: pr.p.Name, Email: pr.p.Email}
		p.CSRF = auth.CSRFToken(pr.csrf)
		p.Nav = s.mainNav(pr)
	}
	if v := q.Get("done"); v != "" && web.HasMessage(pr.lang, "flash."+v) {
		p.Flash = pr.t("flash." + v)
	}
	return p
}

func (s *Server) mainNav(pr *pageReq) []web.Link {
	path := pr.r.URL.Path
	nav := []web.Link{{Href: "/", Label: pr.t("nav.home"), Current: path == "/"}}
	if s.backpack != nil {
		nav = append(nav, web.Link{Href: "/backpack", Label: pr.t("nav.backpack"), Current: path == "/backpack"},
			web.Link{Href: "/backpack/sharing", Label: pr.t("nav.sharing"), Current: path == "/backpack/sharing"})
	}
	if s.completions != nil {
		nav = append(nav, web.Link{Href: "/backpack/parcours", Label: pr.t("nav.parcours"), Current: path == "/backpack/parcours"})
	}
	if s.comp != nil {
		nav = append(nav, web.Link{Href: "/backpack/competencies", Label: pr.t("nav.competencies"), Current: path == "/backpack/competencies"})
	}
	if s.att != nil {
		nav = append(nav, web.Link{Href: "/backpack/attestations", Label: pr.t("nav.attestations"), Current: path == "/backpack/attestations"})
	}
	if s.backpack != nil {
		nav = append(nav, web.Link{Href: "/backpack/exports", Label: pr.t("nav.exports"), Current: path == "/backpack/exports"})
	}
	if pr.p.Root && s.comp != nil {
		nav = append(nav, web.Link{Href: "/statistics", Label: pr.t("nav.statistics"), Current: path == "/statistics"})
	}
	for _, is := range s.issuersOf(pr.r.Context(), pr.p) {
		href := "/manage/" + is.Slug
		nav = append(nav, web.Link{Href: href, Label: is.Name, Current: path == href || strings.HasPrefix(path, href+"/")})
	}
	return nav
}

type issuerRole struct{ Slug, Name, Role string }

// issuersOf lists the issuers p works for, with p's role.
func (s *Server) issuersOf(ctx context.Context, p *auth.Principal) []issuerRole {
	if p == nil || s.iss == nil {
		return nil
	}
	all, err := s.iss.Issuers(ctx)
	if err != nil {
		return nil
	}
	var out []issuerRole
	for _, i := range all {
		switch {
		case p.Root:
			out = append(out, issuerRole{i.Slug, i.Name, "root"})
		case p.Roles[i.Slug].Valid():
			out = append(out, issuerRole{i.Slug, i.Name, string(p.Roles[i.Slug])})
		}
	}
	return out
}

// render writes a page with the security headers of pages.
func (s *Server) render(pr *pageReq, status int, name string, page *web.Page) {
	h := pr.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if pr.csp != "" {
		h.Set("Content-Security-Policy", pr.csp)
	} else {
		h.Set("Content-Security-Policy", pageCSP)
	}
	h.Set("Content-Language", pr.lang)
	h.Add("Vary", "Cookie, Accept-Language")
	if pr.p != nil {
		h.Set("Cache-Control", "no-store")
	}
	if s.web == nil {
		writeError(pr.w, http.StatusInternalServerError, "internal", "the pages are not available", "")
		return
	}
	pr.w.WriteHeader(status)
	if err := s.web.Render(pr.w, name, page); err != nil {
		s.log.ErrorContext(pr.r.Context(), "page", "page", name, "err", err)
	}
}

// errorPage shows an error in the layout; detail, when given, replaces
// the standard explanation.
func (s *Server) errorPage(pr *pageReq, status int, detail string) {
	key := "error." + strconv.Itoa(status)
	if !web.HasMessage(pr.lang, key+".title") {
		key = "error.400"
		if status >= 500 {
			key = "error.500"
		}
	}
	msg := pr.t(key + ".message")
	if detail != "" {
		msg = detail
	}
	page := s.layout(pr, pr.t(key+".title"), map[string]any{"Status": status, "Message": msg})
	s.render(pr, status, "error", page)
}

// pageFail answers a domain error on a page: the right error page, and
// the unexpected ones logged.
func (s *Server) pageFail(pr *pageReq, err error) {
	switch {
	case errors.Is(err, issuing.ErrNotFound), errors.Is(err, auth.ErrNotFound), errors.Is(err, competency.ErrNotFound):
		s.errorPage(pr, http.StatusNotFound, "")
	case errors.Is(err, auth.ErrForbidden):
		s.errorPage(pr, http.StatusForbidden, "")
	default:
		if pr.r.Context().Err() != nil {
			return
		}
		s.log.ErrorContext(pr.r.Context(), "page failed", "path", pr.r.URL.Path, "err", err)
		s.errorPage(pr, http.StatusInternalServerError, "")
	}
}

// formError turns a refused input into a sentence for the form, and the
// id of the field to link to.
func formError(pr *pageReq, err error) (msg, field string, ok bool) {
	var in *issuing.InputError
	var cin *competency.InputError
	switch {
	case errors.As(err, &in):
		field, msg = in.Field, in.Reason
	case errors.As(err, &cin):
		field, msg = cin.Where, cin.Error()
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrConflict), errors.Is(err, issuing.ErrConflict):
		msg = strings.TrimPrefix(strings.TrimPrefix(err.Error(), "auth: invalid argument: "), "auth: ")
	default:
		return "", "", false
	}
	if field == "" {
		return pr.t("form.invalid.any", msg), "", true
	}
	return pr.t("form.invalid", field, msg), field, true
}

// wantsHTML tells a browser (which asks for HTML first) from an API
// client.
func wantsHTML(r *http.Request) bool {
	return !strings.HasPrefix(r.URL.Path, "/api/") && negotiate(r.Header.Get("Accept")) == "html"
}

// notFound answers an unknown path: a page for browsers, JSON otherwise.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if s.web != nil && wantsHTML(r) {
		s.errorPage(s.pageRequest(w, r), http.StatusNotFound, "")
		return
	}
	writeError(w, http.StatusNotFound, "not_found", "no such resource: "+r.URL.Path, "")
}

// home is the landing page, or the signed-in person's start page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	pr := s.pageRequest(w, r)
	data := map[string]any{"Competencies": s.comp != nil, "Backpack": s.backpack != nil, "Attestations": s.att != nil}
	title := pr.t("nav.home")
	if pr.p != nil {
		data["Issuers"] = s.issuersOf(r.Context(), pr.p)
		data["Root"] = pr.p.Root && s.comp != nil
	}
	s.render(pr, http.StatusOK, "home", s.layout(pr, title, data))
}

// safeNext keeps a post-sign-in destination on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
