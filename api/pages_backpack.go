package api

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/oauth"
)

// backpackPages are the learner's pages over the backpack: holdings with
// their exports, imports, collections and share links.
func (s *Server) backpackPages(r *mux.Router) {
	r.HandleFunc("/backpack/import", s.page(s.backpackImport)).Methods(http.MethodPost)
	r.HandleFunc("/backpack/sharing", s.page(s.sharingPage)).Methods(http.MethodGet)
	r.HandleFunc("/backpack/share", s.page(s.backpackShare)).Methods(http.MethodPost)
	r.HandleFunc("/backpack/shares/{id}/revoke", s.page(s.backpackUnshare)).Methods(http.MethodPost)
	r.HandleFunc("/backpack/collections", s.page(s.backpackCollection)).Methods(http.MethodPost)
	r.HandleFunc("/backpack/clr", s.page(s.backpackCLR)).Methods(http.MethodPost)
}

type holdingView struct {
	ID, Name, Issuer, Issued, IssuedText, State, Verdict, Link, Kind string
}

// holdings lists the learner's backpack, newest first.
func (s *Server) holdings(pr *pageReq) ([]holdingView, error) {
	items, _, err := s.backpack.List(pr.r.Context(), pr.p.UserID, backpack.Query{Limit: backpack.MaxPage})
	if err != nil {
		return nil, err
	}
	var out []holdingView
	for _, it := range items {
		state := it.Status
		if state == "" {
			state = "active"
		}
		h := holdingView{ID: it.ID, Name: it.Name, Issuer: it.IssuerName, Issued: it.CreatedAt.UTC().Format(time.RFC3339),
			IssuedText: formatDate(pr.lang, it.CreatedAt), State: state, Verdict: it.Verdict, Kind: it.Kind}
		if it.Kind == backpack.KindIssued {
			h.Link = "/credentials/" + it.ID
		}
		out = append(out, h)
	}
	return out, nil
}

func (s *Server) backpackPageBP(pr *pageReq, status int, msg string) {
	items, err := s.holdings(pr)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	page := s.layout(pr, pr.t("backpack.title"), map[string]any{"Holdings": items, "Backpack": true})
	page.Error = msg
	s.render(pr, status, "backpack", page)
}

// backpackImport brings in a credential: a file (JSON, JWT, baked image)
// or a URL where it is hosted.
func (s *Server) backpackImport(pr *pageReq) {
	var input []byte
	if f, _, err := pr.r.FormFile("file"); err == nil {
		defer f.Close()
		input, err = io.ReadAll(io.LimitReader(f, backpack.MaxImport+1))
		if err != nil {
			s.errorPage(pr, http.StatusBadRequest, pr.t("form.unreadable"))
			return
		}
	}
	if len(input) == 0 {
		input = []byte(strings.TrimSpace(pr.r.PostFormValue("url")))
	}
	if len(input) == 0 {
		s.backpackPageBP(pr, http.StatusBadRequest, pr.t("backpack.import.missing"))
		return
	}
	if _, err := s.backpack.Import(pr.r.Context(), pr.p.UserID, input); err != nil {
		if msg, ok := backpackFormError(pr, err); ok {
			s.backpackPageBP(pr, http.StatusBadRequest, msg)
			return
		}
		s.pageFail(pr, err)
		return
	}
	http.Redirect(pr.w, pr.r, "/backpack?done=backpack.imported", http.StatusSeeOther)
}

func backpackFormError(pr *pageReq, err error) (string, bool) {
	var in *backpack.InputError
	switch {
	case errors.As(err, &in):
		return pr.t("form.invalid.any", in.Error()), true
	case errors.Is(err, backpack.ErrConflict):
		return pr.t("form.invalid.any", err.Error()), true
	}
	return "", false
}

type shareView struct {
	ID, URL, Name, Kind, Created, Expires string
	Views                                 int64
	Revoked                               bool
}

// sharingPage lists the learner's share links and collections.
func (s *Server) sharingPage(pr *pageReq) {
	s.renderSharing(pr, http.StatusOK, "")
}

func (s *Server) renderSharing(pr *pageReq, status int, msg string) {
	ctx := pr.r.Context()
	items, err := s.holdings(pr)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	names := map[string]string{}
	for _, it := range items {
		names[it.ID] = it.Name
	}
	cols, err := s.backpack.Collections(ctx, pr.p.UserID)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	for _, c := range cols {
		names[c.ID] = c.Name
	}
	shares, err := s.backpack.Shares(ctx, pr.p.UserID)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	var sv []shareView
	for _, sh := range shares {
		v := shareView{ID: sh.ID, URL: s.backpack.ShareURL(sh.ID), Name: names[sh.TargetID], Kind: sh.TargetKind,
			Created: formatDate(pr.lang, sh.CreatedAt), Views: sh.Views, Revoked: !sh.RevokedAt.IsZero()}
		if !sh.ExpiresAt.IsZero() {
			v.Expires = formatDate(pr.lang, sh.ExpiresAt)
		}
		sv = append(sv, v)
	}
	type colView struct {
		ID, Name, Description string
		Count                 int
	}
	var cv []colView
	for _, c := range cols {
		cv = append(cv, colView{c.ID, c.Name, c.Description, len(c.Items)})
	}
	page := s.layout(pr, pr.t("sharing.title"), map[string]any{"Shares": sv, "Collections": cv, "Holdings": items,
		"New": pr.r.URL.Query().Get("new")})
	page.Error = msg
	s.render(pr, status, "sharing", page)
}

// backpackShare makes a share link to a credential or a collection.
func (s *Server) backpackShare(pr *pageReq) {
	kind := pr.r.PostFormValue("kind")
	if kind != backpack.ShareCollection {
		kind = backpack.ShareCredential
	}
	var exp time.Time
	if d := pr.r.PostFormValue("days"); d != "" && d != "0" {
		if n, err := time.ParseDuration(d + "h"); err == nil && n > 0 {
			exp = time.Now().Add(24 * n)
		}
	}
	sh, err := s.backpack.CreateShare(pr.r.Context(), pr.p.UserID, kind, pr.r.PostFormValue("id"), exp)
	if err != nil {
		if msg, ok := backpackFormError(pr, err); ok {
			s.renderSharing(pr, http.StatusBadRequest, msg)
			return
		}
		if errors.Is(err, backpack.ErrNotFound) {
			s.errorPage(pr, http.StatusNotFound, "")
			return
		}
		s.pageFail(pr, err)
		return
	}
	http.Redirect(pr.w, pr.r, "/backpack/sharing?done=share.created&new="+url.QueryEscape(sh.ID), http.StatusSeeOther)
}

func (s *Server) backpackUnshare(pr *pageReq) {
	if err := s.backpack.RevokeShare(pr.r.Context(), pr.p.UserID, mux.Vars(pr.r)["id"]); err != nil {
		if errors.Is(err, backpack.ErrNotFound) {
			s.errorPage(pr, http.StatusNotFound, "")
			return
		}
		s.pageFail(pr, err)
		return
	}
	http.Redirect(pr.w, pr.r, "/backpack/sharing?done=share.revoked", http.StatusSeeOther)
}

// backpackCollection groups credentials into a named collection.
func (s *Server) backpackCollection(pr *pageReq) {
	in := backpack.CollectionInput{Name: strings.TrimSpace(pr.r.PostFormValue("name")),
		Description: strings.TrimSpace(pr.r.PostFormValue("description")), Items: pr.r.PostForm["item"]}
	if _, err := s.backpack.CreateCollection(pr.r.Context(), pr.p.UserID, in); err != nil {
		if msg, ok := backpackFormError(pr, err); ok {
			s.renderSharing(pr, http.StatusBadRequest, msg)
			return
		}
		s.pageFail(pr, err)
		return
	}
	http.Redirect(pr.w, pr.r, "/backpack/sharing?done=collection.created", http.StatusSeeOther)
}

// backpackCLR downloads the learner's whole record as a CLR 2.0, or the
// credentials ticked on the exports page.
func (s *Server) backpackCLR(pr *pageReq) {
	selected := pr.r.PostForm["credential"]
	fromExports := pr.r.PostFormValue("back") == "exports"
	if fromExports && pr.r.PostFormValue("scope") == "selection" && len(selected) == 0 {
		s.renderExports(pr, http.StatusBadRequest, pr.t("exports.clr.none"), "clr-pick")
		return
	}
	if pr.r.PostFormValue("scope") != "selection" {
		selected = nil
	}
	b, err := s.backpack.CLR(pr.r.Context(), pr.p.UserID, selected)
	if err != nil {
		if msg, ok := backpackFormError(pr, err); ok {
			if fromExports {
				s.renderExports(pr, http.StatusBadRequest, msg, "clr-pick")
				return
			}
			s.backpackPageBP(pr, http.StatusBadRequest, msg)
			return
		}
		s.pageFail(pr, err)
		return
	}
	pr.w.Header().Set("Content-Disposition", `attachment; filename="insigne-clr.json"`)
	writePrivate(pr.w, "application/vc+ld+json", http.StatusOK, b)
}

type shareCardView struct {
	Name, Description, Issuer, Issued, Criteria string
	IssuerURL, Image, CriteriaURL, LinkedIn     template.URL
	Alt, Verdict, VerdictClass, Checked         string
	Evidence, Alignments                        []shareLinkView
}

type shareLinkView struct {
	Name, Text string
	URL        template.URL
}

func shareLinks(in []shareLink) []shareLinkView {
	var out []shareLinkView
	for _, l := range in {
		out = append(out, shareLinkView{Name: l.Name, Text: l.Text, URL: safeURL(l.URL)})
	}
	return out
}

// sharePageHTML draws a share link's page in the layout. Its images may
// come from other sites (imported badges), and it may be framed by the
// learner's own site (embed=1), so its policy differs from other pages'.
func (s *Server) sharePageHTML(w http.ResponseWriter, r *http.Request, data map[string]any, cards []shareCard) {
	pr := s.pageRequest(w, r)
	pr.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; form-action 'self'; frame-ancestors *; base-uri 'none'"
	var views []shareCardView
	for _, c := range cards {
		v := shareCardView{Name: c.Name, Description: c.Description, Issuer: c.Issuer, Issued: c.Issued, Criteria: c.Criteria,
			IssuerURL: safeURL(c.IssuerURL), Image: safeURL(c.Image), CriteriaURL: safeURL(c.CriteriaURL), LinkedIn: safeURL(c.LinkedIn),
			Alt: c.Alt, Verdict: pr.t(c.VerdictKey), VerdictClass: c.VerdictClass, Checked: formatDate(pr.lang, c.CheckedAt),
			Evidence: shareLinks(c.Evidence), Alignments: shareLinks(c.Alignments)}
		if v.Alt == "" {
			v.Alt = pr.t("credential.alt", c.Name)
		}
		views = append(views, v)
	}
	title, _ := data["Title"].(string)
	if len(cards) == 0 {
		title = pr.t("share.empty.title")
	}
	desc, _ := data["Description"].(string)
	og, _ := data["OGImage"].(string)
	page := s.layout(pr, title, map[string]any{"Cards": views, "Description": desc, "URL": data["URL"], "OGImage": og})
	page.Title = title
	s.render(pr, http.StatusOK, "share", page)
}

// consentHTML is the OAuth consent page in the layout. The answer is a
// redirect to the client, so the page allows forms to lead elsewhere
// (form-action 'self' would stop the browser at that redirect).
func (s *Server) consentHTML(w http.ResponseWriter, r *http.Request, status int, p *auth.Principal, csrf string, req *oauth.Request) {
	pr := s.pageRequest(w, r)
	pr.p, pr.csrf = p, csrf
	pr.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
	var scopes []string
	for _, sc := range req.Scopes {
		for _, info := range oauth.Scopes {
			// offline_access changes nothing by itself (as renderConsent).
			if info.Scope == sc && sc != oauth.ScopeOfflineAccess {
				if pr.lang == "en" {
					scopes = append(scopes, info.English)
				} else {
					scopes = append(scopes, info.French)
				}
			}
		}
	}
	params := req.Params.Values()
	var hidden [][2]string
	for k, v := range params {
		if len(v) > 0 {
			hidden = append(hidden, [2]string{k, v[0]})
		}
	}
	data := map[string]any{"Client": req.Client.Name, "ClientURI": safeURL(req.Client.URI), "ClientHost": hostOf(req.Client.URI),
		"RedirectHost": hostOf(req.Params.RedirectURI), "Scopes": scopes, "Params": hidden,
		"Lasting": slices.Contains(req.Client.GrantTypes, "refresh_token")}
	pr.w.Header().Set("Cache-Control", "no-store")
	s.render(pr, status, "consent", s.layout(pr, pr.t("consent.title", req.Client.Name), data))
}

// messagePage shows a title and a sentence in the layout (the e-mail
// confirmation link's answer).
func (s *Server) messagePage(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	pr := s.pageRequest(w, r)
	pr.w.Header().Set("Cache-Control", "no-store")
	s.render(pr, status, "message", s.layout(pr, title, map[string]any{"Text": text, "OK": status < 300}))
}
