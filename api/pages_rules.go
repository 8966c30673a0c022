package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/web"
)

// rulesPages are the issuer's automation pages: which completions award
// which achievement (mappings), parcours of micro-modules, and the LMS
// clients that send completions; and the learner's parcours progress.
func (s *Server) rulesPages(r *mux.Router) {
	m := "/manage/{slug}"
	if s.completions != nil {
		r.HandleFunc(m+"/rules", s.issuerPage(auth.RoleAdmin, s.rulesPage)).Methods(http.MethodGet)
		r.HandleFunc(m+"/mappings", s.issuerPage(auth.RoleAdmin, s.mappingSubmit)).Methods(http.MethodPost)
		r.HandleFunc(m+"/mappings/{id}/delete", s.issuerPage(auth.RoleAdmin, s.mappingDelete)).Methods(http.MethodPost)
		r.HandleFunc(m+"/parcours", s.issuerPage(auth.RoleAdmin, s.parcoursSubmit)).Methods(http.MethodPost)
		r.HandleFunc(m+"/parcours/{id}/delete", s.issuerPage(auth.RoleAdmin, s.parcoursDelete)).Methods(http.MethodPost)
		r.HandleFunc(m+"/completion-awards/{id}/retry", s.issuerPage(auth.RoleAdmin, s.failedAwardRetry)).Methods(http.MethodPost)
		r.HandleFunc("/backpack/parcours", s.page(s.parcoursProgressPage)).Methods(http.MethodGet)
	}
	if s.xapi != nil {
		r.HandleFunc(m+"/lms", s.issuerPage(auth.RoleAdmin, s.lmsPage)).Methods(http.MethodGet, http.MethodPost)
		r.HandleFunc(m+"/lms/{id}/revoke", s.issuerPage(auth.RoleAdmin, s.lmsRevoke)).Methods(http.MethodPost)
	}
}

type mappingView struct{ ID, Kind, Activity, Achievement string }

type parcoursView struct {
	ID, Achievement string
	Modules         []string
	Required        int
}

func (s *Server) rulesPage(ir *issuerReq) { s.renderRules(ir, http.StatusOK, "", "") }

func (s *Server) renderRules(ir *issuerReq, status int, msg, field string) {
	ctx := ir.r.Context()
	opts, err := s.achievementOptions(ir)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	names := map[string]string{}
	for _, o := range opts {
		names[o.ID] = o.Name
	}
	ms, err := s.completions.Mappings(ctx, ir.issuer.Slug)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var mv []mappingView
	for _, m := range ms {
		mv = append(mv, mappingView{ID: m.ID, Kind: m.Kind, Activity: m.Value, Achievement: names[m.AchievementID]})
	}
	ps, err := s.completions.ParcoursList(ctx, ir.issuer.Slug)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var pv []parcoursView
	for _, p := range ps {
		v := parcoursView{ID: p.ID, Achievement: names[p.AchievementID], Required: p.Required}
		if v.Required <= 0 || v.Required > len(p.Members) {
			v.Required = len(p.Members)
		}
		for _, id := range p.Members {
			v.Modules = append(v.Modules, names[id])
		}
		pv = append(pv, v)
	}
	var kinds []web.Link
	for _, k := range completion.Kinds {
		kinds = append(kinds, web.Link{Href: k, Label: ir.t("rules.kind." + k)})
	}
	failed, failedTotal, err := s.failedAwards(ir, names)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	page := s.issuerLayout(ir, ir.t("manage.rules"), map[string]any{"Mappings": mv, "Parcours": pv, "Achievements": opts, "Kinds": kinds,
		"Failed": failed, "FailedTotal": failedTotal})
	page.Error, page.ErrorField = msg, field
	s.render(ir.pageReq, status, "rules", page)
}

func (s *Server) rulesFail(ir *issuerReq, err error) {
	if msg, field, ok := formError(ir.pageReq, err); ok {
		s.renderRules(ir, http.StatusBadRequest, msg, field)
		return
	}
	s.pageFail(ir.pageReq, err)
}

func (s *Server) mappingSubmit(ir *issuerReq) {
	r := ir.r
	m, err := s.completions.NewMapping(r.Context(), completion.MappingInput{Activity: strings.TrimSpace(r.PostFormValue("activity")),
		Kind: r.PostFormValue("kind"), Achievement: r.PostFormValue("achievement")})
	if err == nil && m.Issuer != ir.issuer.Slug {
		s.renderRules(ir, http.StatusBadRequest, ir.t("form.invalid", "achievement", "choose a badge of this issuer"), "achievement")
		return
	}
	if err == nil {
		err = s.completions.SaveMapping(r.Context(), actor(ir.p), m)
	}
	if err != nil {
		s.rulesFail(ir, err)
		return
	}
	redirectDone(ir, "/rules", "mapping.created")
}

func (s *Server) mappingDelete(ir *issuerReq) {
	m, err := s.completions.Mapping(ir.r.Context(), mux.Vars(ir.r)["id"])
	if err == nil && m.Issuer != ir.issuer.Slug {
		s.errorPage(ir.pageReq, http.StatusNotFound, "")
		return
	}
	if err == nil {
		err = s.completions.DeleteMapping(ir.r.Context(), actor(ir.p), m)
	}
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	redirectDone(ir, "/rules", "mapping.deleted")
}

func (s *Server) parcoursSubmit(ir *issuerReq) {
	r := ir.r
	required, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue("required")))
	p, err := s.completions.NewParcours(r.Context(), completion.ParcoursInput{Achievement: r.PostFormValue("parcours_achievement"),
		Modules: r.PostForm["module"], Required: required})
	if err == nil && p.Issuer != ir.issuer.Slug {
		s.renderRules(ir, http.StatusBadRequest, ir.t("form.invalid", "achievement", "choose a badge of this issuer"), "parcours_achievement")
		return
	}
	if err == nil {
		err = s.completions.SaveParcours(r.Context(), actor(ir.p), p)
	}
	if err != nil {
		s.rulesFail(ir, err)
		return
	}
	redirectDone(ir, "/rules", "parcours.created")
}

func (s *Server) parcoursDelete(ir *issuerReq) {
	p, err := s.completions.Parcours(ir.r.Context(), mux.Vars(ir.r)["id"])
	if err == nil && p.Issuer != ir.issuer.Slug {
		s.errorPage(ir.pageReq, http.StatusNotFound, "")
		return
	}
	if err == nil {
		err = s.completions.DeleteParcours(ir.r.Context(), actor(ir.p), p)
	}
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	redirectDone(ir, "/rules", "parcours.deleted")
}

type lmsView struct{ ID, Name, Key, Created, Revoked string }

// lmsPage lists the issuer's LMS clients and, on POST, creates one and
// shows its secret this once.
func (s *Server) lmsPage(ir *issuerReq) {
	ctx := ir.r.Context()
	status := http.StatusOK
	var created map[string]string
	var msg string
	if ir.r.Method == http.MethodPost {
		name := strings.TrimSpace(ir.r.PostFormValue("name"))
		if name == "" {
			msg, status = ir.t("form.invalid", ir.t("field.name"), ir.t("lms.name.hint")), http.StatusBadRequest
		} else {
			c, secret, err := s.xapi.CreateClient(ctx, ir.issuer.Slug, name, actor(ir.p))
			if err != nil {
				s.pageFail(ir.pageReq, err)
				return
			}
			created = map[string]string{"Key": c.Key, "Secret": secret, "Endpoint": strings.TrimSuffix(s.baseURL, "/") + "/xapi/"}
			status = http.StatusCreated
		}
	}
	cs, err := s.xapi.Clients(ctx, ir.issuer.Slug)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var views []lmsView
	for _, c := range cs {
		v := lmsView{ID: c.ID, Name: c.Name, Key: c.Key, Created: formatDate(ir.lang, c.CreatedAt)}
		if c.RevokedAt != nil {
			v.Revoked = formatDate(ir.lang, *c.RevokedAt)
		}
		views = append(views, v)
	}
	page := s.issuerLayout(ir, ir.t("manage.lms"), map[string]any{"Clients": views, "Created": created})
	if msg != "" {
		page.Error, page.ErrorField = msg, "name"
	}
	s.render(ir.pageReq, status, "lms", page)
}

func (s *Server) lmsRevoke(ir *issuerReq) {
	if err := s.xapi.RevokeClient(ir.r.Context(), ir.issuer.Slug, mux.Vars(ir.r)["id"]); err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	redirectDone(ir, "/lms", "lms.revoked")
}

type moduleView struct {
	Name, Link string
	Held       bool
}

type progressView struct {
	Name, Issuer, Link string
	Held, Required     int
	Complete           bool
	Modules            []moduleView
}

// parcoursProgressPage shows the learner's progress toward each parcours.
func (s *Server) parcoursProgressPage(pr *pageReq) {
	ctx := pr.r.Context()
	list, err := s.completions.LearnerProgress(ctx, pr.p.Email, func(string) bool { return true })
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	name := func(url string) string {
		id, err := s.iss.AchievementIDFrom(url)
		if err != nil {
			return url
		}
		a, err := s.iss.Achievement(ctx, id)
		if err != nil {
			return url
		}
		spec, err := a.Spec()
		if err != nil {
			return url
		}
		return spec.Name
	}
	credLink := func(c string) string {
		if c == "" {
			return ""
		}
		if i := strings.LastIndex(c, "/credentials/"); i >= 0 {
			return c[i:]
		}
		return "/credentials/" + strings.TrimPrefix(c, "urn:uuid:")
	}
	var views []progressView
	for _, p := range list {
		v := progressView{Name: name(p.Achievement), Held: min(p.Held, p.Required), Required: p.Required, Complete: p.Complete, Link: credLink(p.Credential)}
		if is, err := s.iss.Issuer(ctx, p.Issuer); err == nil {
			v.Issuer = is.Name
		}
		for _, m := range p.Modules {
			v.Modules = append(v.Modules, moduleView{Name: name(m.Achievement), Held: m.Held, Link: credLink(m.Credential)})
		}
		views = append(views, v)
	}
	s.render(pr, http.StatusOK, "parcours", s.layout(pr, pr.t("parcours.title"), map[string]any{"Items": views}))
}
